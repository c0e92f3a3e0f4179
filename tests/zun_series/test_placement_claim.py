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

"""The patched scheduler claims devices in a real Placement.

Install the series first with ``tools/install-zun PYTHON``.  Placement
(the installed release, on SQLite, without Keystone) and Zun run in
processes of their own (``placement_claim.py``).
"""

import json
import os
import subprocess
import sys
import uuid

import fixtures
import requests
import testtools


HELPER = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                      'placement_claim.py')
PROFILES = [
    {'name': 'camera', 'groups': [{'resources:CUSTOM_CAMERA': '1',
                                   'trait:CUSTOM_USB': 'required'}]},
    {'name': 'serial', 'groups': [{'resources:CUSTOM_SERIAL': '1'}]},
]


class PlacementClaimTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        server = subprocess.Popen(
            [sys.executable, HELPER, 'serve',
             os.path.join(self.tmp, 'placement.db')],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.addCleanup(server.wait, timeout=30)
        self.addCleanup(server.terminate)
        port = server.stdout.readline().strip()
        self.assertTrue(port.isdigit(), 'Placement did not start')
        self.url = 'http://127.0.0.1:%s' % port

    def _placement(self, method, path, body=None):
        resp = requests.request(
            method, self.url + path, json=body, timeout=30,
            headers={'X-Auth-Token': 'admin',
                     'OpenStack-API-Version': 'placement 1.34'})
        if resp.status_code >= 400:
            self.fail('Placement answered %s to %s %s: %s'
                      % (resp.status_code, method, path, resp.text))

    def _provider(self, name, inventory, parent=None, traits=()):
        rp = str(uuid.uuid4())
        self._placement('POST', '/resource_providers', {
            'name': name, 'uuid': rp, 'parent_provider_uuid': parent})
        self._placement('PUT', '/resource_providers/%s/inventories' % rp, {
            'resource_provider_generation': 0,
            'inventories': {rc: {'total': n} for rc, n in inventory.items()}})
        if traits:
            self._placement('PUT', '/resource_providers/%s/traits' % rp, {
                'resource_provider_generation': 1, 'traits': list(traits)})
        return rp

    def test_devices_claimed_with_the_container(self):
        for rc in ('CUSTOM_CAMERA', 'CUSTOM_SERIAL'):
            self._placement('PUT', '/resource_classes/%s' % rc)
        self._placement('PUT', '/traits/CUSTOM_USB')
        node = self._provider('compute1', {'VCPU': 8, 'MEMORY_MB': 4096})
        camera = self._provider('compute1_camera', {'CUSTOM_CAMERA': 1},
                                parent=node, traits=['CUSTOM_USB'])
        serial = self._provider('compute1_serial', {'CUSTOM_SERIAL': 1},
                                parent=node)
        # A camera without the required trait is never chosen.
        self._provider('compute1_camera2', {'CUSTOM_CAMERA': 1},
                       parent=node)
        conf = os.path.join(self.tmp, 'zun.conf')
        with open(conf, 'w') as f:
            f.write('[keystone_auth]\nauth_type = admin_token\n'
                    'endpoint = %s\ntoken = admin\n' % self.url)

        proc = subprocess.run(
            [sys.executable, HELPER, 'claim', conf],
            input=json.dumps(PROFILES), capture_output=True, text=True,
            timeout=120)
        self.assertEqual(0, proc.returncode, proc.stderr[-3000:])
        result = json.loads(proc.stdout.splitlines()[-1])

        self.assertEqual('1.34', result['version'])
        self.assertEqual(1, result['candidates'])
        # The mappings name each profile group's device provider.
        self.assertEqual({'': [node],
                          '_device_profile_0_0': [camera],
                          '_device_profile_1_0': [serial]},
                         result['mappings'])
        self.assertTrue(result['claimed'])
        # The scheduler's claim holds the devices with the container's
        # CPU and memory, in one allocation.
        self.assertEqual({node: {'VCPU': 1, 'MEMORY_MB': 512},
                          camera: {'CUSTOM_CAMERA': 1},
                          serial: {'CUSTOM_SERIAL': 1}},
                         result['allocation'])
        # No device is free for another container: zun-api answers 409.
        self.assertEqual(0, result['candidates_while_claimed'])
        # Zun's delete path releases the devices with the rest.
        self.assertEqual({}, result['after_delete'])
        self.assertEqual(1, result['candidates_after_delete'])
