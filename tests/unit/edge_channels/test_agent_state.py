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

"""Key custody and listen ports of the hub agent's state directory."""

import os
import stat
import subprocess
import uuid

import fixtures
import testtools

from edge_channels import channel
from edge_channels.agent import state


class HubStateTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = os.path.join(self.useFixture(fixtures.TempDir()).path,
                                'hub')
        self.state = state.HubState(self.dir, range(51820, 51823))

    def test_directory_and_keys_are_private(self):
        hub = str(uuid.uuid4())
        self.state.public_key(hub)
        self.assertEqual(0o700, stat.S_IMODE(os.stat(self.dir).st_mode))
        self.assertEqual(0o600, stat.S_IMODE(
            os.stat(self.state.key_path(hub)).st_mode))
        # Nothing else: no temporary file left behind.
        self.assertEqual([hub + '.key'], os.listdir(self.dir))

    def test_same_key_after_restart(self):
        hub = str(uuid.uuid4())
        first = self.state.public_key(hub)
        again = state.HubState(self.dir, range(51820, 51823))
        self.assertEqual(first, again.public_key(hub))
        channel.validate_public_key(first)

    def test_public_key_is_wgs(self):
        if not os.path.exists('/usr/bin/wg'):
            self.skipTest('wireguard-tools is not installed')
        hub = str(uuid.uuid4())
        public = self.state.public_key(hub)
        with open(self.state.key_path(hub)) as f:
            out = subprocess.run(['wg', 'pubkey'], stdin=f, check=True,
                                 capture_output=True, text=True).stdout
        self.assertEqual(out.strip(), public)

    def test_ports_lowest_free_kept_and_exhausted(self):
        hubs = [str(uuid.uuid4()) for _ in range(4)]
        ports = []
        for hub in hubs[:3]:
            self.state.public_key(hub)
            ports.append(self.state.listen_port(hub))
        self.assertEqual([51820, 51821, 51822], ports)
        self.assertEqual(51821, self.state.listen_port(hubs[1]))
        self.state.public_key(hubs[3])
        e = self.assertRaises(RuntimeError, self.state.listen_port, hubs[3])
        self.assertIn('widen the range', str(e))
        self.state.forget(hubs[1])
        self.assertEqual(51821, self.state.listen_port(hubs[3]))
        self.assertNotIn(hubs[1], self.state.hubs())

    def test_endpoints_kept_privately_and_forgotten(self):
        hub = str(uuid.uuid4())
        self.assertEqual({}, self.state.endpoints(hub))
        endpoints = {'a' * 43 + '=': '192.0.2.5:40000'}
        self.assertTrue(self.state.keep_endpoints(hub, endpoints))
        self.assertFalse(self.state.keep_endpoints(hub, dict(endpoints)))
        again = state.HubState(self.dir, range(51820, 51823))
        self.assertEqual(endpoints, again.endpoints(hub))
        path = os.path.join(self.dir, hub + '.endpoints')
        self.assertEqual(0o600, stat.S_IMODE(os.stat(path).st_mode))
        # A damaged file is no endpoints, not a failed sync.
        with open(path, 'w') as f:
            f.write('[1, 2')
        self.assertEqual({}, self.state.endpoints(hub))
        self.state.forget(hub)
        self.assertEqual([], os.listdir(self.dir))

    def test_only_uuids_become_paths(self):
        self.assertRaises(ValueError, self.state.public_key, '../../x')
