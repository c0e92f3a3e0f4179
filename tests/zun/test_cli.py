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

python-openstackclient and python-zunclient run unmodified in a
subprocess; a loopback HTTP server stands in for the Zun API and records
what the command sends.  Auth is keystoneauth's ``admin_token`` plugin.
"""

import http.server
import json
import os
import subprocess
import sys
import threading

import testtools

from zun_oci_attach import profiles


class _ZunAPI(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _reply(self):
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length) if length else b''
        self.server.seen.append((self.command, self.path, body))
        data = json.dumps({'uuid': 'c1', 'name': 'n',
                           'status': 'Creating'}).encode()
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

    def test_help_lists_the_option(self):
        result = self.openstack('help', 'appcontainer', 'run')
        self.assertIn('--device-profile <device-profile>', result.stdout)
