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
settings that ``tools/aio --keep`` printed, as a user pastes them.
The other pages run on the cloud of ``TestPagesOnTheTestCloud``.

Zun's API does not run in the all-in-one cloud yet, only Zun's compute
side.  So ``openstack appcontainer`` talks, through a ``container``
endpoint in Keystone's catalog, to ``_ZunAPI``: a stand-in for zun-api
that checks the user's token with Keystone and hands the container to
the cloud's Zun compute manager, as zun-api would through RPC.
Everything behind it (Cyborg, Placement, Docker) is real.
"""

import http.server
import json
import os
import re
import shlex
import threading

import fixtures
import requests
import testtools
from zun.common import context as zun_context

from aio import zun as aio_zun
from tests import doc_commands
from tests.aio import base
from zun_oci_attach import profiles


#: Commands the ``demo`` user runs (the others run as ``admin``).
DEMO = re.compile(r'openstack (appcontainer|accelerator arq|'
                  r'accelerator device profile list)')
#: Zun's API versions, as Zun 18.0.0 announces them.
ZUN_VERSIONS = {'versions': [{'id': 'v1', 'status': 'CURRENT',
                              'min_version': '1.1', 'max_version': '1.40',
                              'links': []}]}


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


class _ZunAPI(http.server.BaseHTTPRequestHandler):
    """Container create and run, and version discovery; see the module
    docstring.  ``server.test`` is the test case.
    """

    def log_message(self, *args):
        pass

    def _reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path.rstrip('/') in ('', '/v1'):
            self._reply(200, ZUN_VERSIONS)
        else:
            self._reply(404, {'message': 'not in this stand-in'})

    def do_POST(self):
        if not self.path.startswith('/v1/containers'):
            self._reply(404, {'message': 'not in this stand-in'})
            return
        length = int(self.headers.get('Content-Length') or 0)
        body = json.loads(self.rfile.read(length))
        try:
            container = self.server.test.zun_create(
                self.headers['X-Auth-Token'], body,
                run='run=true' in self.path)
        except Exception as e:
            self.server.test.zun_errors.append(e)
            self._reply(500, {'message': str(e)})
            return
        self._reply(202, {'uuid': container.uuid, 'name': container.name,
                          'image': container.image,
                          'command': container.command,
                          'labels': container.labels,
                          'status': container.status,
                          'status_reason': container.status_reason})


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
        self.zun_created = []
        self.zun_errors = []

    # -- the stand-in for zun-api ---------------------------------------

    def zun_api(self):
        """Start the stand-in and list it in Keystone's catalog."""
        httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _ZunAPI)
        httpd.test = self
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        self.addCleanup(httpd.server_close)
        self.addCleanup(httpd.shutdown)
        service_id = self.cloud.openstack(
            'service', 'create', '--name', 'zun', '-f', 'value', '-c', 'id',
            'container').strip()
        self.addCleanup(self.cloud.openstack, 'service', 'delete',
                        service_id)
        self.cloud.openstack(
            'endpoint', 'create', '--region',
            self.cloud.env()['OS_REGION_NAME'], service_id, 'public',
            'http://127.0.0.1:%d/v1' % httpd.server_port)

    def zun_create(self, token, body, run):
        """What zun-api and zun-compute do for a container create."""
        resp = requests.get(
            self.cloud.env()['OS_AUTH_URL'] + '/auth/tokens',
            headers={'X-Auth-Token': self.tokens['admin'],
                     'X-Subject-Token': token}, timeout=30)
        resp.raise_for_status()
        info = resp.json()
        context = zun_context.RequestContext(
            auth_token=token, auth_token_info=info,
            project_id=info['token']['project']['id'],
            user_id=info['token']['user']['id'], is_admin=False)
        # The one image of this machine (the placeholder's value).
        self.assertEqual(aio_zun.IMAGE, body['image'])
        container = self.host.new_container(
            context, body['command'],
            device_profiles=body['labels'][profiles.LABEL],
            name=body.get('name') or 'doc-container')
        self.zun_created.append((context, container))
        self.addCleanup(self._remove, context, container)
        container = self.host.create(context, container)
        if run:
            self.host.start(context, container)
        return container

    def _remove(self, context, container):
        self.host.delete(context, self.reload(context, container))

    # -- the pages ------------------------------------------------------

    def values(self, commands):
        """What the placeholders of ``commands`` stand for here."""
        text = ' '.join(c.text for c in commands)
        values = {
            'IMAGE': aio_zun.IMAGE,
            'CMD': 'sh -c %s' % shlex.quote(aio_zun.READ_DEVICES),
            '/etc/cyborg/cyborg.conf': self.cloud.cyborg.conf,
        }
        if 'ARQ_UUID' in text:
            # A container with a bound accelerator request.
            context, container = self.run_container(self.serial_profile())
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

    def run_page(self, commands):
        if any(c.text.startswith('openstack appcontainer')
               for c in commands):
            self.zun_api()
        self.addCleanup(self._delete_new_profiles, self.profile_names())
        values = self.values(commands)
        envs = {user: dict(_user_env(), HOME=self.home,
                           **self.cloud.env(user))
                for user in ('admin', 'demo')}
        for command in commands:
            user = 'demo' if DEMO.match(command.text) else 'admin'
            result = doc_commands.run(
                doc_commands.substitute(command.text, values), envs[user])
            _check(self, command, result)
            self.assertEqual([], self.zun_errors,
                             doc_commands.explain(command, result))
        # Each container asked for a serial adapter and read it.
        for _context, container in self.zun_created:
            status, out = self.host.output(container)
            self.assertEqual(0, status, out)
            read = list(aio_zun.parse_read(out))
            self.assertEqual(1, len(read), out)
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

    @staticmethod
    def printed_settings(out):
        """{user: {OS_*: value}} from what ``tools/aio --keep`` printed."""
        settings, user = {}, None
        for line in out.splitlines():
            heading = re.match(r'# As (\w+):$', line)
            if heading:
                user = heading.group(1)
                settings[user] = {}
            elif user and line.startswith('export '):
                key, value = line[len('export '):].split('=', 1)
                (settings[user][key],) = shlex.split(value)
        return settings

    def run_page(self, commands):
        self.addCleanup(self._teardown_left)
        values = {'/tmp/aio': shlex.quote(self.workdir)}
        settings = {}
        for command in commands:
            env = _user_env()
            if command.text.startswith('openstack'):
                user = 'demo' if DEMO.match(command.text) else 'admin'
                self.assertIn(user, settings, 'no OS_* settings printed '
                              'before %s:%d' % (command.path, command.line))
                env.update(settings[user])
            result = doc_commands.run(
                doc_commands.substitute(command.text, values), env)
            _check(self, command, result)
            if '--keep' in command.text:
                settings = self.printed_settings(result.stdout)
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
