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

"""Zun's own unit tests, shipped in its wheel, on the patched install.

Install the series first with ``tools/install-zun PYTHON``.
"""

import collections
import importlib.util
import json
import os
import subprocess
import sys

import fixtures
import testtools
from testtools import content

from tests.zun_series import zun_release


# Runs Zun's unit tests found under the given directories of the installed
# zun.tests.unit in a separate process (they set global configuration)
# and writes each test's outcome to the file argv[1].
RUNNER = '''
import json
import os
import sys
import unittest

import testtools
import zun

outcomes = {}
reasons = {}


def record(test, status, start_time, stop_time, tags, details):
    outcomes[test.id()] = status
    if status not in ('success', 'xfail'):
        reasons[test.id()] = ''.join(
            d.as_text() for d in details.values())[-3000:]


top = os.path.dirname(os.path.dirname(zun.__file__))
unit = os.path.join(top, 'zun', 'tests', 'unit')
loader = unittest.TestLoader()
suite = unittest.TestSuite(
    loader.discover(os.path.join(unit, d), top_level_dir=top)
    for d in sys.argv[2:])
result = testtools.TestByTestResult(record)
result.startTestRun()
suite.run(result)
result.stopTestRun()
with open(sys.argv[1], 'w') as f:
    json.dump({'outcomes': outcomes, 'reasons': reasons}, f)
'''


def run_zun_tests(test, dirs):
    """Run Zun's unit tests under dirs; outcome counts and failures."""
    out = os.path.join(test.useFixture(fixtures.TempDir()).path,
                       'outcomes.json')
    proc = subprocess.run(
        [sys.executable, '-c', RUNNER, out] + list(dirs),
        capture_output=True, text=True, timeout=600)
    test.assertEqual(0, proc.returncode, proc.stderr[-3000:])
    with open(out) as f:
        run = json.load(f)
    outcomes = run['outcomes']
    counts = collections.Counter(outcomes.values())
    test.addDetail('outcomes', content.text_content(
        ', '.join('%s: %d' % kv for kv in sorted(counts.items()))))
    failed = {name: run['reasons'][name]
              for name, status in outcomes.items()
              if status in ('fail', 'error', 'uxsuccess')}
    return outcomes, counts, failed


class ZunUnitTests(testtools.TestCase):

    def setUp(self):
        super().setUp()
        # Fails, rather than testing the release, if the series is not
        # installed.
        self.useFixture(zun_release.PristineZun())

    def _check(self, dirs, must_pass, min_passed):
        outcomes, counts, failed = run_zun_tests(self, dirs)
        self.assertEqual({}, failed)
        for name in must_pass:
            self.assertEqual('success', outcomes.get(name),
                             '%s did not pass' % name)
        # Zun's tests never skip here; a run that loads fewer (a module
        # that fails to import is an error, but one that is not found is
        # not) fails.
        self.assertGreaterEqual(counts['success'], min_passed)

    def test_objects_db_and_drivers(self):
        # 18.0.0 has 551 tests in these directories (objects 153, db 180,
        # container 56, compute 116, common 46); the series adds 19.
        self._check(
            ('objects', 'db', 'container', 'compute', 'common'),
            must_pass=(
                'zun.tests.unit.objects.test_objects.TestObjectVersions.'
                'test_versions',
                'zun.tests.unit.objects.test_container.'
                'TestContainerDeviceProfiles.test_device_profiles_saved',
                'zun.tests.unit.objects.test_container.'
                'TestContainerDeviceProfiles.test_compatible_refuses_profiles',
                'zun.tests.unit.container.docker.test_docker_driver.'
                'TestDockerDriver.test_create_with_accel_requests',
                'zun.tests.unit.container.docker.test_device_attacher.'
                'TestDeviceAttachers.test_from_config',
                'zun.tests.unit.common.test_cyborg.CheckDeviceProfilesTest.'
                'test_some_missing',
            ),
            min_passed=570)

    @testtools.skipUnless(importlib.util.find_spec('webtest'),
                          'Zun\'s API tests need WebTest: install it '
                          '(WebTest is in Zun\'s test-requirements.txt)')
    def test_api(self):
        # 18.0.0 has 294 API tests; the series adds 5.
        self._check(
            ('api',),
            must_pass=(
                'zun.tests.unit.api.controllers.v1.test_containers.'
                'TestContainerController.'
                'test_run_container_with_device_profiles',
                'zun.tests.unit.api.controllers.v1.test_containers.'
                'TestContainerController.'
                'test_run_container_invalid_device_profiles',
                'zun.tests.unit.api.controllers.v1.test_containers.'
                'TestContainerController.'
                'test_run_container_device_profile_not_found',
            ),
            min_passed=299)
