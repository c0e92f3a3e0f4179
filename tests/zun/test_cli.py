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

"""``--device-profile`` through the real ``openstack`` command.

python-openstackclient and the installed python-zunclient (5.5.0, or
with our series from tools/install-zunclient) run in a subprocess; a
loopback HTTP server stands in for the Zun API, offering microversions
up to ``max_version``, and records what the command sends.  Auth is
keystoneauth's ``admin_token`` plugin.
"""

import http.server
import json
import os
import subprocess
import sys
import threading

import testtools
from zunclient.v1 import containers

from zun_oci_attach import profiles


#: Whether the installed python-zunclient carries our series.
PATCHED_CLIENT = 'device_profiles' in containers.CREATION_ATTRIBUTES


class _ZunAPI(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _reply(self):
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length) if length else b''
        self.server.seen.append((self.command, self.path, body))
        if self.path.rstrip('/') == '':
            # Version discovery, as zun-api answers it.
            doc = {'versions': [{
                'id': 'v1', 'status': 'CURRENT', 'min_version': '1.1',
                'max_version': self.server.max_version,
                'links': []}]}
        else:
            doc = {'uuid': 'c1', 'name': 'n', 'status': 'Creating'}
        data = json.dumps(doc).encode()
        self.send_response(202 if self.command == 'POST' else 200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _reply


class TestDeviceProfileOption(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.httpd = http.server.HTTPServer(('127.0.0.1', 0), _ZunAPI)
        self.httpd.seen = []
        self.httpd.max_version = '1.40'
        thread = threading.Thread(target=self.httpd.serve_forever,
                                  daemon=True)
        thread.start()
        self.addCleanup(self.httpd.server_close)
        self.addCleanup(self.httpd.shutdown)

    def openstack(self, *args):
        cmd = [os.path.join(os.path.dirname(sys.executable), 'openstack'),
               '--os-auth-type', 'admin_token', '--os-token', 'token',
               '--os-endpoint', 'http://127.0.0.1:%d/v1'
               % self.httpd.server_port] + list(args)
        return subprocess.run(cmd, capture_output=True, text=True,
                              timeout=120, check=False)

    def created(self):
        posts = [json.loads(body) for method, path, body in self.httpd.seen
                 if method == 'POST' and path.startswith('/v1/containers')]
        self.assertEqual(1, len(posts), self.httpd.seen)
        return posts[0]

    def test_run_sends_the_profiles_as_a_label(self):
        result = self.openstack(
            'appcontainer', 'run', '--device-profile', 'camera',
            '--device-profile', 'hackrf-one', '--label', 'team=edge',
            'busybox', 'sleep', '1')
        self.assertEqual(0, result.returncode, result.stderr)
        body = self.created()
        self.assertEqual({'team': 'edge',
                          profiles.LABEL: 'camera hackrf-one'},
                         body['labels'])
        self.assertNotIn('device_profiles', body)

    def test_create_sends_the_label_the_driver_reads(self):
        result = self.openstack('appcontainer', 'create',
                                '--device-profile', 'camera',
                                '--device-profile', 'serial_1', 'busybox')
        self.assertEqual(0, result.returncode, result.stderr)
        value = self.created()['labels'][profiles.LABEL]

        class Container:
            labels = {profiles.LABEL: value}
        self.assertEqual(['camera', 'serial_1'],
                         profiles.requested(Container()))

    def test_invalid_name_is_refused_before_any_request(self):
        result = self.openstack('appcontainer', 'run', '--device-profile',
                                'cam era', 'busybox')
        self.assertNotEqual(0, result.returncode)
        self.assertIn('Invalid device profiles', result.stderr)
        self.assertEqual([], [s for s in self.httpd.seen
                              if s[0] == 'POST'])

    def test_label_and_option_together_are_refused(self):
        result = self.openstack(
            'appcontainer', 'run', '--device-profile', 'camera',
            '--label', '%s=sdr' % profiles.LABEL, 'busybox')
        self.assertNotEqual(0, result.returncode)
        self.assertIn('not both', result.stderr)
        self.assertEqual([], [s for s in self.httpd.seen
                              if s[0] == 'POST'])

    def test_a_server_with_1_41_gets_the_field_from_a_patched_client(self):
        self.httpd.max_version = '1.41'
        result = self.openstack(
            'appcontainer', 'run', '--device-profile', 'camera',
            '--device-profile', 'hackrf-one', 'busybox')
        self.assertEqual(0, result.returncode, result.stderr)
        body = self.created()
        if PATCHED_CLIENT:
            self.assertEqual(['camera', 'hackrf-one'],
                             body['device_profiles'])
            self.assertNotIn(profiles.LABEL, body.get('labels') or {})
        else:
            # python-zunclient 5.5.0 stops at 1.40 and knows no field.
            self.assertEqual({profiles.LABEL: 'camera hackrf-one'},
                             body['labels'])
            self.assertNotIn('device_profiles', body)

    def test_an_explicit_older_version_gets_the_label(self):
        self.httpd.max_version = '1.41'
        result = self.openstack(
            '--os-container-api-version', '1.40', 'appcontainer', 'create',
            '--device-profile', 'camera', 'busybox')
        self.assertEqual(0, result.returncode, result.stderr)
        body = self.created()
        self.assertEqual({profiles.LABEL: 'camera'}, body['labels'])
        self.assertNotIn('device_profiles', body)

    def test_help_lists_the_option_once(self):
        result = self.openstack('help', 'appcontainer', 'run')
        # Once in the usage line, once among the options.
        self.assertEqual(2, result.stdout.count(
            '--device-profile <device-profile>'), result.stdout)
