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

"""``tools/aio --teardown WORKDIR`` removes a kept cloud and says what it
stops as it goes.

The cloud here is what ``state.json`` records of one: real process
groups, a real Docker container, real device nodes in nested
directories; no services are configured, so the test needs no cloud.
"""

import json
import os
import subprocess
import sys
import uuid

import docker
import fixtures
import testtools

from aio import emulated
from aio import rootfs
from aio import service


TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


class TestTeardown(testtools.TestCase):

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.skipTest('needs root for device nodes and Docker')
        self.workdir = os.path.join(
            self.useFixture(fixtures.TempDir()).path, 'cloud')
        os.makedirs(self.workdir)

    def start_group(self):
        # A shell and its child in a session of their own, as a service
        # and its workers.  Not reaped until the test ends: the leader
        # stays a zombie, as it does when the cloud's starter is gone.
        process = subprocess.Popen(['sh', '-c', 'sleep 600 & wait'],
                                   start_new_session=True)
        self.addCleanup(process.wait)
        self.addCleanup(service.stop_groups, {process.pid: 'leftover'})
        return process.pid

    def container(self):
        client = docker.APIClient()
        self.addCleanup(client.close)
        rootfs.ensure_image(client)
        name = 'cp-aio-test-%s' % uuid.uuid4().hex[:8]
        client.create_container(rootfs.IMAGE, ['sleep', '600'], name=name)
        self.addCleanup(subprocess.run, ['docker', 'rm', '-f', name],
                        capture_output=True, check=False)
        return name

    def test_teardown_says_what_it_stops(self):
        groups = {'keystone': self.start_group(),
                  'cyborg-agent': self.start_group()}
        node_dir = emulated.NODE_DIRS + 'test-' + uuid.uuid4().hex[:8]
        nodes = {os.path.join(node_dir, 'video0'): (10, 183),
                 os.path.join(node_dir, 'bus/usb/001/003'): (10, 259)}
        self.addCleanup(emulated.remove_nodes, list(nodes))
        emulated.make_nodes(nodes)
        container = self.container()
        with open(os.path.join(self.workdir, 'state.json'), 'w') as f:
            json.dump({'workdir': self.workdir, 'db': 'sqlite',
                       'databases': [], 'vhost': None,
                       'pgids': list(groups.values()),
                       'names': {str(pgid): name
                                 for name, pgid in groups.items()},
                       'nodes': sorted(nodes),
                       'containers': [container]}, f)

        result = subprocess.run(
            [sys.executable, '-m', 'aio', '--teardown', self.workdir],
            cwd=TOP, capture_output=True, text=True, check=False)

        self.assertEqual(0, result.returncode, result.stderr)
        lines = result.stdout.splitlines()
        self.assertEqual([
            'aio: removed the Docker container %s' % container,
            'aio: stopping cyborg-agent (process group %d)'
            % groups['cyborg-agent'],
            'aio: stopping keystone (process group %d)' % groups['keystone'],
            'aio: removing the device nodes under %s' % node_dir,
            'aio: removing %s' % self.workdir], lines)
        self.assertEqual(set(), service._alive(set(groups.values())))
        self.assertFalse(os.path.lexists(node_dir))
        self.assertFalse(os.path.lexists(self.workdir))
        self.assertEqual([], docker.APIClient().containers(
            all=True, filters={'name': container}))
