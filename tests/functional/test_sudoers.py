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

"""The shipped sudoers rule, judged by sudo's own policy.

sudo reads its policy file from /etc/sudo.conf; each check runs in a
private mount namespace where a sudo.conf of the test's names the rule
under test, so the host's sudo configuration is neither read nor changed.
oslo.privsep builds the command line the rule must allow, as it does in
cyborg-agent.
"""

import json
import os
import shutil
import subprocess
import sys

import fixtures
import testtools


TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
TEMPLATE = os.path.join(TOP, 'etc', 'cyborg-peripherals', 'sudoers.d',
                        'cyborg-peripherals')
HELPER = os.path.join(os.path.dirname(sys.executable), 'privsep-helper')
AGENT_CONF = '/etc/cyborg/cyborg.conf'

# What oslo.privsep runs to start our daemon in cyborg-agent, which
# calls priv_context.init(root_helper=['sudo']) and is started with
# --config-file /etc/cyborg/cyborg.conf.
HELPER_COMMAND = """
import json, sys, tempfile
from oslo_config import cfg
from oslo_privsep import priv_context
from cyborg_peripherals import privileged
cfg.CONF([], project='cyborg', default_config_files=[])
cfg.CONF.set_override('config_file', [sys.argv[1]])
priv_context.init(root_helper=['sudo'])
sock = tempfile.mkdtemp() + '/privsep.sock'
print(json.dumps(privileged.cdi_pctxt.helper_command(sock)))
"""


class TestSudoersRule(testtools.TestCase):

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0 or not shutil.which('visudo'):
            self.skipTest('needs root and sudo (tools/setup-env installs '
                          'it)')
        tmp = self.useFixture(fixtures.TempDir()).path
        # The template, for user root and this environment's helper.
        with open(TEMPLATE) as f:
            rule = f.read().replace(
                '\ncyborg ALL', '\nroot ALL').replace(
                '/usr/local/bin/privsep-helper', HELPER)
        self.sudoers = os.path.join(tmp, 'sudoers')
        with open(self.sudoers, 'w') as f:
            f.write(rule)
        os.chmod(self.sudoers, 0o440)
        self.sudo_conf = os.path.join(tmp, 'sudo.conf')
        with open(self.sudo_conf, 'w') as f:
            f.write('Plugin sudoers_policy sudoers.so sudoers_file=%s\n'
                    % self.sudoers)
        out = subprocess.run([sys.executable, '-c', HELPER_COMMAND,
                              AGENT_CONF], capture_output=True, text=True,
                             check=True)
        self.command = json.loads(out.stdout)

    def allowed(self, command):
        """Whether sudo would run ``command`` (sudo -l asks the policy)."""
        script = ('mount --bind "$1" /etc/sudo.conf && shift && '
                  'exec sudo -n -l -U root -- "$@"')
        out = subprocess.run(
            ['unshare', '--mount', '--propagation', 'private', 'sh', '-c',
             script, 'sh', self.sudo_conf] + command,
            capture_output=True, text=True, timeout=60)
        self.assertIn(out.returncode, (0, 1), out.stderr)
        return out.returncode == 0

    def test_template_is_valid_sudoers(self):
        out = subprocess.run(['visudo', '-c', '-f', TEMPLATE],
                             capture_output=True, text=True)
        self.assertEqual(0, out.returncode, out.stdout + out.stderr)

    def test_allows_our_daemon_as_privsep_starts_it(self):
        self.assertEqual(['sudo', 'privsep-helper'], self.command[:2])
        self.assertEqual(['--config-file', AGENT_CONF,
                          '--privsep_context',
                          'cyborg_peripherals.privileged.cdi_pctxt',
                          '--privsep_sock_path'], self.command[2:7])
        # sudo finds privsep-helper on its secure_path.
        self.assertTrue(self.allowed([HELPER] + self.command[2:]))

    def test_refuses_anything_else(self):
        ours = [HELPER] + self.command[2:]
        sock = ours[-1]
        for command in (
                # Another context: any code of the environment as root.
                ours[:4] + ['os_brick.privileged.default'] + ours[5:],
                # Our context with a configuration of the caller's.
                [HELPER, '--config-file', '/tmp/evil.conf'] + ours[3:],
                ours[:2] + ['/etc/cyborg/../../tmp/evil.conf'] + ours[3:],
                # Arguments after ours, which privsep-helper would obey.
                ours + ['--privsep_context', 'os_brick.privileged.default'],
                ours[:1] + ['--config-dir', '/tmp'] + ours[1:],
                ours[:-1] + [sock + ' --debug'],
                # Other programs.
                ['/bin/sh', '-c', 'id'],
        ):
            self.assertFalse(self.allowed(command), command)
