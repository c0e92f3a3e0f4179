# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""The documentation's commands that need a cloud, run as written.

One test per page, running its commands in document order (see
``tests/doc_commands.py``), with the real ``openstack`` command and the
project's commands; the examples' placeholders are replaced by the
values of ``values()`` only.

A page that starts its own cloud with ``tools/aio`` (try-it.rst) runs
in ``TestPagesWithToolsAio``: its later commands use the ``OS_*``
settings of the ``openrc`` files ``tools/aio --keep`` wrote, as a user
who sources them.  The other pages run on the cloud of
``TestPagesOnTheTestCloud``, where ``openstack appcontainer`` talks to
the cloud's zun-api.
"""

import json
import os
import re
import shlex

import fixtures
import testtools

from aio import zun as aio_zun
from tests import doc_commands
from tests.aio import base


#: Commands the ``demo`` user runs (the others run as ``admin``).
DEMO = re.compile(r'openstack (appcontainer|accelerator arq|'
                  r'accelerator device profile list|hardware)')


def _user_env():
    """A user's shell environment: no umockdev testbed of this
    process, no ``OS_*`` settings.
    """
    return {k: v for k, v in os.environ.items()
            if k not in ('LD_PRELOAD', 'UMOCKDEV_DIR')
            and not k.startswith('OS_')}


def _check(test, command, result):
    """``command`` of the documentation worked as it is written."""
    test.assertEqual(0, result.returncode,
                     doc_commands.explain(command, result))
    if command.text.startswith('openstack'):
        # Nor may the documentation teach a deprecated form: the
        # openstack command warns that "... has been deprecated".
        test.assertNotIn('deprecated', result.stderr,
                         doc_commands.explain(command, result))


def read_openrc(path):
    """{OS_*: value} of an ``openrc`` file, as sourcing it sets them."""
    settings = {}
    with open(path) as f:
        for line in f:
            if line.startswith('export '):
                key, value = line[len('export '):].strip().split('=', 1)
                (settings[key],) = shlex.split(value)
    return settings


class TestPagesOnTheTestCloud(base.CloudTestCase):
    DB = 'sqlite'

    def setUp(self):
        super().setUp()
        self.home = self.useFixture(fixtures.TempDir()).path
        os.makedirs(os.path.join(self.home, '.zun'))
        # The host's Zun configuration, which zun-oci-attach reads.
        with open(os.path.join(self.home, '.zun', 'zun.conf'), 'w') as f:
            f.write('[oci_attach]\ncdi_spec_dir = %s\n'
                    % self.cloud.cdi_dir)

    def values(self, commands):
        """What the placeholders of ``commands`` stand for here."""
        text = ' '.join(c.text for c in commands)
        values = {
            # The one image of this machine, which no registry serves:
            # Zun must not try to pull it.
            'IMAGE': '--image-pull-policy ifnotpresent %s' % aio_zun.IMAGE,
            'CMD': 'sh -c %s' % shlex.quote(aio_zun.READ_DEVICES),
            '/etc/cyborg/cyborg.conf': self.cloud.cyborg.conf,
        }
        if 'ARQ_UUID' in text:
            # A container with a bound accelerator request.
            container = self.run_container(self.serial_profile())
            (arq,) = self.arqs(instance=container.uuid)
            values['ARQ_UUID'] = arq['uuid']
        if 'NAME' in text:
            # A serial adapter's CDI device name.
            infos = [json.loads(h['attach_info'])
                     for h in self.attach_handles().values()]
            cdi = min(i['cdi_device'] for i in infos
                      if i['class'] == 'serial')
            values['NAME'] = cdi.split('=', 1)[1]
        return values

    def profile_names(self):
        resp = self.cyborg('GET', '/device_profiles', 'admin')
        self.assertEqual(200, resp.status_code, resp.text)
        return {p['name'] for p in resp.json()['device_profiles']}

    def _delete_new_profiles(self, before):
        for name in self.profile_names() - before:
            resp = self.cyborg('DELETE', '/device_profiles?value=%s' % name,
                               'admin')
            self.assertEqual(204, resp.status_code, resp.text)

    def containers(self):
        return {c.uuid for c in self.zun().containers.list()}

    def _delete_new_containers(self, before):
        for ident in self.containers() - before:
            self.delete_container(ident)

    def run_page(self, commands):
        self.addCleanup(self._delete_new_profiles, self.profile_names())
        # Removed before the profiles they use.
        self.addCleanup(self._delete_new_containers, self.containers())
        values = self.values(commands)
        before = self.containers()
        envs = {user: dict(_user_env(), HOME=self.home,
                           **self.cloud.env(user))
                for user in ('admin', 'demo')}
        for command in commands:
            user = 'demo' if DEMO.match(command.text) else 'admin'
            result = doc_commands.run(
                doc_commands.substitute(command.text, values), envs[user])
            _check(self, command, result)
        # Each container the page ran asked for a serial adapter and
        # read it.
        for ident in self.containers() - before:
            read = list(aio_zun.parse_read(self.output(ident)))
            self.assertEqual(1, len(read), read)
            self.assertIn(read[0], self.kit.nodes.values())


class TestPagesWithToolsAio(testtools.TestCase):

    def setUp(self):
        super().setUp()
        #: The work directory of the page's example, one to be made.
        self.workdir = os.path.join(
            self.useFixture(fixtures.TempDir()).path, 'aio')

    def _teardown_left(self):
        if os.path.exists(os.path.join(self.workdir, 'state.json')):
            doc_commands.run('./tools/aio --teardown %s'
                             % shlex.quote(self.workdir), _user_env())

    def run_page(self, commands):
        self.addCleanup(self._teardown_left)
        values = {'/tmp/aio': shlex.quote(self.workdir)}
        settings = {}
        for command in commands:
            env = _user_env()
            if command.text.startswith('openstack'):
                user = 'demo' if DEMO.match(command.text) else 'admin'
                self.assertIn(user, settings, 'no openrc written before '
                              '%s:%d' % (command.path, command.line))
                env.update(settings[user])
            result = doc_commands.run(
                doc_commands.substitute(command.text, values), env)
            _check(self, command, result)
            if command.text.startswith('openstack appcontainer logs'):
                # The container read its device: a node, then bytes.
                lines = result.stdout.split()
                self.assertTrue(any(w.startswith('/dev/') for w in lines),
                                result.stdout)
                self.assertTrue(any(re.fullmatch('[0-9a-f]{2}', w)
                                    for w in lines), result.stdout)
            if '--keep' in command.text:
                # What a user gets by sourcing the files, as the page
                # says.
                settings = {
                    'admin': read_openrc(os.path.join(self.workdir,
                                                      'openrc')),
                    'demo': read_openrc(os.path.join(self.workdir,
                                                     'openrc-demo'))}
                self.assertIn('. %s/openrc-demo' % self.workdir,
                              result.stdout)
            elif '--teardown' in command.text:
                settings = {}
                self.assertFalse(os.path.exists(self.workdir))


def _add_tests():
    for page, commands in doc_commands.by_page(doc_commands.AIO).items():
        if any(re.match(r'(\./)?tools/aio', c.text) for c in commands):
            case = TestPagesWithToolsAio
        else:
            case = TestPagesOnTheTestCloud
        name = 'test_' + re.sub(r'\W+', '_', page.rsplit('.', 1)[0])
        setattr(case, name, lambda self, c=commands: self.run_page(c))


_add_tests()
