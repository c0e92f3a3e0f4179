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

"""``tools/aio --keep`` leaves a cloud a user can source and use, and
``tools/aio --teardown`` removes all of it.

One cloud, one test: the cloud is started the way a user starts it
(``python -m aio``, what tools/aio runs after its set-up).
"""

import json
import os
import subprocess
import sys

import docker
import fixtures
import sqlalchemy
import testtools

from aio import emulated
from aio import kuryr
from aio import service


TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def _aio(*args):
    return subprocess.run([sys.executable, '-m', 'aio'] + list(args),
                          cwd=TOP, capture_output=True, text=True,
                          check=False, env=_user_env())


def _user_env():
    return {k: v for k, v in os.environ.items()
            if k not in ('LD_PRELOAD', 'UMOCKDEV_DIR')
            and not k.startswith('OS_')}


def _shell(script):
    """Run ``script`` with bash as a user would, the venv first on
    PATH.
    """
    env = _user_env()
    env['PATH'] = service.VENV_BIN + os.pathsep + env.get('PATH', '')
    return subprocess.run(['bash', '-e', '-c', script], env=env,
                          capture_output=True, text=True, check=False)


class TestKeepThenTeardown(testtools.TestCase):

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.skipTest('needs root for device nodes and Docker')
        self.workdir = os.path.join(
            self.useFixture(fixtures.TempDir()).path, 'aio')
        self.addCleanup(self._teardown_left)

    def _teardown_left(self):
        if os.path.exists(os.path.join(self.workdir, 'state.json')):
            _aio('--teardown', self.workdir)

    def zun_docker_ids(self, url):
        """The Docker containers and networks Zun's database names."""
        engine = sqlalchemy.create_engine(url)
        try:
            with engine.connect() as conn:
                return [row[0] for query in (
                    'SELECT container_id FROM container',
                    'SELECT network_id FROM network')
                    for row in conn.execute(sqlalchemy.text(query))]
        finally:
            engine.dispose()

    def test_keep_openrc_then_teardown_leaves_nothing(self):
        kept = _aio('--emulated', '--keep', '--workdir', self.workdir)
        self.assertEqual(0, kept.returncode, kept.stderr[-3000:])
        for name in ('openrc', 'openrc-demo'):
            path = os.path.join(self.workdir, name)
            self.assertIn('. %s' % path, kept.stdout)
            self.assertEqual(0o600, os.stat(path).st_mode & 0o777)

        # The demo user reaches zun-api; tools/aio deleted the
        # container it ran as them, so that theirs get the devices.
        listed = _shell('. %s/openrc-demo\n'
                        'openstack appcontainer list -f json'
                        % self.workdir)
        self.assertEqual(0, listed.returncode, listed.stderr)
        self.assertEqual([], json.loads(listed.stdout))
        # The admin sees the host's resource provider (osc-placement).
        providers = _shell('. %s/openrc\n'
                           'openstack resource provider list -f json'
                           % self.workdir)
        self.assertEqual(0, providers.returncode, providers.stderr)
        self.assertIn(os.uname().nodename,
                      [rp['name'] for rp in json.loads(providers.stdout)])

        with open(os.path.join(self.workdir, 'state.json')) as f:
            state = json.load(f)
        cloud_id = state['vhost'][len('cp-aio-'):]
        in_docker = self.zun_docker_ids(state['zun_db'])
        self.assertNotEqual([], in_docker)

        removed = _aio('--teardown', self.workdir)

        self.assertEqual(0, removed.returncode, removed.stderr)
        self.assertFalse(os.path.exists(self.workdir))
        self.assertEqual(set(), service._alive(set(state['pgids'])))
        client = docker.APIClient()
        self.addCleanup(client.close)
        for ident in in_docker:
            self.assertEqual([], client.containers(
                all=True, filters={'id': ident}))
            self.assertEqual([], client.networks(ids=[ident]))
        self.assertEqual([], kuryr.docker_networks(
            kuryr.plugin_name(cloud_id)))
        self.assertFalse(os.path.lexists(state['kuryr']['socket']))
        self.assertFalse(os.path.lexists(emulated.NODE_DIRS + cloud_id))
        databases = subprocess.run(
            ['mariadb', '--host=127.0.0.1', '--user=root', '-N', '-e',
             'SHOW DATABASES'], capture_output=True, text=True, check=True)
        self.assertEqual([], [d for d in databases.stdout.split()
                              if d.startswith('aio_%s' % cloud_id)])
        self.assertTrue(state['databases'])
        self.assertTrue(all(d.startswith('aio_%s' % cloud_id)
                            for d in state['databases']))
        vhosts = subprocess.run(['rabbitmqctl', '-q', 'list_vhosts'],
                                capture_output=True, text=True, check=True)
        self.assertNotIn(state['vhost'], vhosts.stdout.split())
