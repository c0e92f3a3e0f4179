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

import collections
import json
import os
import subprocess
import sys

import testtools
from testtools import content

from tests.cyborg import cyborg_db


# Modules of cyborg/tests/unit (shipped in Cyborg's wheel) that the
# series changes or that exercise the code it changes.  The API tests
# (cyborg.tests.unit.api) need WebTest, which is not installed.
MODULES = (
    'cyborg.tests.unit.common.test_nova_client',
    'cyborg.tests.unit.objects.test_attach_handle',
    'cyborg.tests.unit.objects.test_control_path',
    'cyborg.tests.unit.objects.test_device',
    'cyborg.tests.unit.objects.test_driver_device',
    'cyborg.tests.unit.objects.test_ext_arq_job',
    'cyborg.tests.unit.objects.test_extarq',
    'cyborg.tests.unit.conductor.test_manager',
    'cyborg.tests.unit.db.test_migrations',
)

# Tests that need MySQL and skip without oslo.db's openstack_citest
# account; a run where they skipped proves nothing about the series.
MUST_RUN = (
    # Cyborg's migration walk, which calls the series' _check_bfe8e22af112.
    'cyborg.tests.unit.db.test_migrations.TestCyborgMigrationsMySQL.'
    'test_walk_versions',
    'cyborg.tests.unit.objects.test_attach_handle.'
    'TestAttachHandleObjectMySQL.test_create_oci_with_long_attach_info',
)

# At least this many must pass: the modules hold 132 tests today (the
# five PostgreSQL ones skip), so a run that loads or passes fewer (a
# module that fails to import, tests that skip) fails.
MIN_PASSED = 127

# Runs the modules in a separate process (these tests set global
# configuration) and writes each test's outcome to the file argv[1].
RUNNER = '''
import json
import sys
import unittest

# Cyborg's test base needs [keystone_authtoken] registered first.
import keystonemiddleware.auth_token  # noqa: F401
import testtools

outcomes = {}
reasons = {}


def record(test, status, start_time, stop_time, tags, details):
    outcomes[test.id()] = status
    if status not in ('success', 'xfail'):
        reasons[test.id()] = ''.join(
            d.as_text() for d in details.values())[-3000:]


suite = unittest.TestLoader().loadTestsFromNames(sys.argv[2:])
result = testtools.TestByTestResult(record)
result.startTestRun()
suite.run(result)
result.stopTestRun()
with open(sys.argv[1], 'w') as f:
    json.dump({'outcomes': outcomes, 'reasons': reasons}, f)
'''


class CyborgUnitTests(testtools.TestCase):
    def test_shipped_unit_tests_pass(self):
        self.useFixture(cyborg_db.CitestAccount())
        out = os.path.join(self.useFixture(
            cyborg_db.fixtures.TempDir()).path, 'outcomes.json')
        proc = subprocess.run(
            [sys.executable, '-c', RUNNER, out] + list(MODULES),
            capture_output=True, text=True, timeout=900)
        self.assertEqual(0, proc.returncode, proc.stderr[-3000:])
        with open(out) as f:
            run = json.load(f)
        outcomes = run['outcomes']
        counts = collections.Counter(outcomes.values())
        self.addDetail('outcomes', content.text_content(
            ', '.join('%s: %d' % kv for kv in sorted(counts.items()))))

        failed = {test: run['reasons'][test]
                  for test, status in outcomes.items()
                  if status in ('fail', 'error', 'uxsuccess')}
        self.assertEqual({}, failed)
        for test in MUST_RUN:
            self.assertEqual('success', outcomes.get(test),
                             '%s did not run: %s' % (
                                 test, run['reasons'].get(test)))
        self.assertGreaterEqual(counts['success'], MIN_PASSED)
