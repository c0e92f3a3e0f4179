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

"""``zun-oci-attach translate`` as operators run it."""

import json
import os
import subprocess
import sys

from tests.unit.zun_oci_attach import base


class TestTranslateCommand(base.SpecTestCase):

    def setUp(self):
        super().setUp()
        self.conf = os.path.join(self.cdi_dir, 'zun.conf')
        with open(self.conf, 'w') as f:
            f.write('[oci_attach]\ncdi_spec_dir = %s\n' % self.cdi_dir)

    def run_cli(self, *args, attach_info=None):
        proc = subprocess.run(
            [sys.executable, '-m', 'zun_oci_attach.cmd.translate',
             'translate', '--config-file', self.conf, *args,
             attach_info or base.info()],
            capture_output=True, text=True, check=False)
        return proc.returncode, proc.stdout, proc.stderr

    def test_json(self):
        self.write_spec(deviceNodes=[base.NODE_A],
                        env=['PERIPHERAL_ARGS=driver=rtlsdr'])
        rc, out, err = self.run_cli('--format', 'json')
        self.assertEqual((0, ''), (rc, err))
        self.assertEqual({'devices': [base.GRANT_A],
                          'device_cgroup_rules': [], 'mounts': [],
                          'environment': {
                              'PERIPHERAL_ARGS': 'driver=rtlsdr'}},
                         json.loads(out))

    def test_table_is_the_default(self):
        self.write_spec(deviceNodes=[base.NODE_A],
                        env=['PERIPHERAL_ESC=\x1b[2J'])
        rc, out, err = self.run_cli()
        self.assertEqual(1, rc, err)
        self.assertIn('env-value', err)
        self.write_spec(deviceNodes=[base.NODE_A])
        rc, out, err = self.run_cli()
        self.assertEqual(0, rc, err)
        self.assertIn('%s -> %s (rw)' % (base.A_PATH, base.A_PATH), out)

    def test_refusal_names_the_rule(self):
        self.write_spec(deviceNodes=[base.node(base.A_PATH, base.A_MAJOR,
                                               base.A_MINOR + 1)])
        rc, out, err = self.run_cli()
        self.assertEqual((1, ''), (rc, out))
        self.assertEqual('error: refused by rule node-mismatch: %s is %d:%d, '
                         'the spec says %d:%d\n' % (
                             base.A_PATH, base.A_MAJOR, base.A_MINOR,
                             base.A_MAJOR, base.A_MINOR + 1), err)

    def test_cdi_dir_overrides_the_config(self):
        # Under a fresh directory: it surely does not exist.
        missing = os.path.join(self.cdi_dir, 'missing')
        rc, _out, err = self.run_cli('--cdi-dir', missing)
        self.assertEqual(1, rc)
        self.assertIn('spec-missing', err)
        self.assertIn(missing, err)

    def test_policy_comes_from_the_config_file(self):
        self.write_spec(deviceNodes=[base.NODE_A],
                        env=['LD_LIBRARY_PATH=/opt/vc/lib'])
        self.assertEqual(1, self.run_cli()[0])
        with open(self.conf, 'a') as f:
            f.write('allowed_env = LD_LIBRARY_PATH\n')
        self.assertEqual(0, self.run_cli()[0])

    def test_bad_config_is_an_error_not_a_traceback(self):
        with open(self.conf, 'a') as f:
            f.write('writable_mounts = /opt/vc\n')
        rc, _out, err = self.run_cli()
        self.assertEqual(1, rc)
        self.assertTrue(err.startswith('error: [oci_attach] '
                                       'writable_mounts'), err)
        self.assertNotIn('Traceback', err)

    def test_bad_attach_info(self):
        rc, _out, err = self.run_cli(attach_info='not json')
        self.assertEqual(1, rc)
        self.assertIn('refused by rule attach-info', err)
