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

"""``edge-sdk`` refuses bad command lines and configurations with a
message that says what to do, before it touches keys, network or API.
"""

import os
import subprocess
import sys

import fixtures
import testtools


def _environment(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith('OS_')}
    env.update(extra)
    return env


class CommandLineTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.top = self.useFixture(fixtures.TempDir()).path
        self.state = os.path.join(self.top, 'state')

    def edge_sdk(self, *args, config=None, env=None):
        argv = ['--config-file', os.devnull]
        if config is not None:
            path = os.path.join(self.top, 'edge-sdk.conf')
            with open(path, 'w') as f:
                f.write('[edge_sdk]\n' + config)
            argv = ['--config-file', path]
        proc = subprocess.run(
            [sys.executable, '-c',
             'import sys; from edge_sdk import cmd; sys.exit(cmd.main())']
            + argv + ['--state-dir', self.state] + list(args),
            capture_output=True, text=True, env=env or _environment(),
            timeout=60)
        return proc.returncode, proc.stderr

    def assertRefused(self, code, words, *args, **kw):
        rc, err = self.edge_sdk(*args, **kw)
        self.assertEqual(code, rc, err)
        for word in words:
            self.assertIn(word, err)
        # Nothing was made.
        self.assertFalse(os.path.exists(self.state))

    def test_no_command(self):
        self.assertRefused(2, ['up,status,rotate-key,down,run'])

    def test_unknown_command(self):
        self.assertRefused(2, ["invalid choice: 'bogus'"], 'bogus')

    def test_unknown_option(self):
        self.assertRefused(2, ['--bogus'], 'down', '--bogus')

    def test_delete_belongs_to_down(self):
        self.assertRefused(2, ['--delete'], 'up', '--delete')

    def test_bad_channel_name(self):
        self.assertRefused(2, ['bad configuration', "'Control'",
                               'lowercase letters'],
                           'status', '--local',
                           config='channels = Control,tenant\n')

    def test_bad_device_name(self):
        self.assertRefused(2, ['device_name'], 'status', '--local',
                           config='device_name = cam 1\n')

    def test_repeated_channel(self):
        self.assertRefused(2, ['repeat'], 'status', '--local',
                           config='channels = control,control\n')

    def test_subnet_of_unknown_channel(self):
        self.assertRefused(2, ['channel_subnets', 'mgmt'],
                           'status', '--local',
                           config='channel_subnets = mgmt:10.0.0.0/24\n')

    def test_bad_endpoint(self):
        self.assertRefused(2, ['Endpoint', 'IPv4:port'], 'up',
                           config='endpoint = example.org:51820\n')

    def test_bad_keepalive(self):
        self.assertRefused(2, ['persistent_keepalive'], 'up',
                           config='persistent_keepalive = -1\n')

    def test_rotate_unknown_channel(self):
        self.assertRefused(2, ['--channel mgmt', 'control, tenant'],
                           'rotate-key', '--channel', 'mgmt')

    def test_no_credentials(self):
        self.assertRefused(1, ['no Keystone credentials', 'OS_CLOUD',
                               'OS_APPLICATION_CREDENTIAL_ID'], 'up')

    def test_incomplete_application_credential(self):
        self.assertRefused(
            1, ['OS_APPLICATION_CREDENTIAL_SECRET'], 'up',
            env=_environment(OS_AUTH_URL='http://127.0.0.1:9/v3',
                             OS_APPLICATION_CREDENTIAL_ID='abc'))

    def test_unknown_cloud(self):
        rc, err = self.edge_sdk(
            'up', env=_environment(OS_CLOUD='no-such-cloud',
                                   OS_CLIENT_CONFIG_FILE=os.devnull))
        self.assertEqual(1, rc, err)
        self.assertIn('no-such-cloud', err)
        self.assertFalse(os.path.exists(self.state))

    def register(self, *extra):
        return ('register', '--machine-name', 'rpi', '--contact-email',
                'o@example.org') + extra

    def test_register_needs_the_owners_credentials(self):
        self.assertRefused(1, ["owner's credentials", 'OS_CLOUD'],
                           *self.register(), config='device_name = cam-1\n')

    def test_register_needs_a_host_name(self):
        self.assertRefused(2, ['host name', 'device_name'],
                           *self.register(), config='device_name = cam_1\n')

    def test_register_knows_two_channels_only(self):
        self.assertRefused(2, ['mgmt', 'control and tenant'],
                           *self.register(),
                           config='device_name = cam-1\n'
                                  'channels = control,mgmt\n')

    def test_register_needs_its_options(self):
        self.assertRefused(2, ['--contact-email'], 'register',
                           '--machine-name', 'rpi')

    def test_the_stored_credential_is_used_without_os_variables(self):
        from edge_sdk import enrollment
        enrollment.write_credential(self.state, {
            'hardware_uuid': 'e4f1b7a2-3c5d-4e6f-8a9b-0c1d2e3f4a5b',
            'hardware_name': 'cam-1', 'project_id': None,
            'auth_url': 'http://127.0.0.1:9/v3',
            'application_credential_id': 'a' * 32,
            'application_credential_secret': 's' * 20,
            'region_name': None, 'interface': None})
        rc, err = self.edge_sdk('status', config='device_name = cam-1\n')
        self.assertEqual(1, rc, err)
        # Keystone of the stored credential, not "no credentials".
        self.assertIn('cannot reach', err)
        self.assertNotIn('s' * 20, err)
        # Its channels are its hardware item's: refused before anything.
        rc, err = self.edge_sdk('down', '--delete',
                                config='device_name = cam-1\n')
        self.assertEqual(2, rc, err)
        self.assertIn('openstack hardware delete', err)
