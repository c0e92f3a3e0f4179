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

"""Cyborg's own unit tests for the code our patch series touches."""

import subprocess
import sys

import testtools


# Modules of cyborg/tests/unit (shipped in Cyborg's wheel) that the
# series changes or that exercise the code it changes.
MODULES = (
    'cyborg.tests.unit.objects.test_attach_handle',
    'cyborg.tests.unit.objects.test_control_path',
    'cyborg.tests.unit.objects.test_device',
    'cyborg.tests.unit.objects.test_driver_device',
    'cyborg.tests.unit.objects.test_ext_arq_job',
    'cyborg.tests.unit.objects.test_extarq',
    'cyborg.tests.unit.conductor.test_manager',
    'cyborg.tests.unit.db.test_migrations',
)

# Cyborg's test base needs [keystone_authtoken] registered first.
RUNNER = '''
import sys
import keystonemiddleware.auth_token
from testtools import run
run.main(sys.argv, sys.stdout)
'''


class CyborgUnitTests(testtools.TestCase):
    def test_shipped_unit_tests_pass(self):
        # A separate process: these tests set global configuration.
        proc = subprocess.run(
            [sys.executable, '-c', RUNNER] + list(MODULES),
            capture_output=True, text=True, timeout=300)
        self.assertEqual(0, proc.returncode,
                         proc.stdout[-6000:] + proc.stderr[-3000:])
        self.assertIn('OK', proc.stdout)
