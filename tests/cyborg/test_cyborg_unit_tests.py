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

import testtools

from tests import upstream_units
from tests.cyborg import cyborg_db


# Modules of cyborg/tests/unit (shipped in Cyborg's wheel) that the
# series changes or that exercise the code it changes (the API tests need
# WebTest, from our test-requirements.txt).
MODULES = (
    'cyborg.tests.unit.api.controllers.v2.test_arqs',
    'cyborg.tests.unit.api.controllers.v2.test_microversion',
    'cyborg.tests.unit.accelerator.drivers.test_driver',
    'cyborg.tests.unit.agent.test_manager',
    'cyborg.tests.unit.agent.test_resource_tracker',
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
# account, and one test of each series change that a broken loader could
# lose: a run where they did not pass proves nothing about the series.
MUST_RUN = (
    # Cyborg's migration walk, which calls the series' _check_bfe8e22af112.
    'cyborg.tests.unit.db.test_migrations.TestCyborgMigrationsMySQL.'
    'test_walk_versions',
    'cyborg.tests.unit.objects.test_attach_handle.'
    'TestAttachHandleObjectMySQL.test_create_oci_with_long_attach_info',
    'cyborg.tests.unit.api.controllers.v2.test_arqs.TestARQsController.'
    'test_apply_patch_consumer_type_needs_2_4',
    'cyborg.tests.unit.agent.test_resource_tracker.TestChangeReporting.'
    'test_signals_during_a_report_coalesce',
)

# At least this many must pass: the modules hold 205 tests today (the
# five PostgreSQL ones skip), so a run that loads or passes fewer (a
# module that fails to import, tests that skip) fails.
MIN_PASSED = 200


class CyborgUnitTests(testtools.TestCase):
    def test_shipped_unit_tests_pass(self):
        self.useFixture(cyborg_db.CitestAccount())
        # Cyborg's test base needs [keystone_authtoken] registered first.
        upstream_units.check(
            self, ('import:keystonemiddleware.auth_token',) + MODULES,
            MUST_RUN, MIN_PASSED)
