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

"""The agent reports what peripheral_driver signals, between its periodic
reports.

Cyborg's own ResourceTracker (with the change reports of
tools/cyborg-patches/0090) loads peripheral_driver by its entry point, as
cyborg-agent does, and its reports go through the conductor's real
``report_data`` into a real database.  No periodic task runs here: after
the first report, which the test makes as the agent's start-up task
does, every report is one that the driver asked for.  The RPC hop from
agent to conductor is left out (the conductor's code runs in this process
and counts the reports) and Placement is stood in for (placement_stub).
"""

import threading
import time

# cyborg.tests selects oslo.service's threading backend first.
import cyborg.tests  # noqa: F401
import fixtures
import keystonemiddleware.auth_token  # noqa: F401
from cyborg.agent import resource_tracker
from cyborg.conductor import manager
from cyborg.tests import base as cyborg_base

# Registers [peripherals], as the driver's import does in cyborg-agent.
from cyborg_peripherals import conf  # noqa: F401
from cyborg_peripherals import privileged
from cyborg_peripherals.emulation import kit as kit_mod
from tests.cyborg import cyborg_db
from tests.cyborg import placement_stub
from tests.functional import umockdev_fixture


HOST = 'edge-1'
#: Bounds every wait, so that a broken agent fails instead of hanging.
TIMEOUT = 30


class CountingConductor:
    """The conductor's ``report_data``, in this process, counted."""

    def __init__(self):
        self._manager = manager.ConductorManager('cyborg-conductor', HOST)
        self._lock = threading.Lock()
        self.reports = 0
        self.closed = False

    def close(self):
        """Wait for a report under way; refuse later ones."""
        with self._lock:
            self.closed = True

    def report_data(self, context, hostname, driver_device_list):
        with self._lock:
            # A report that the agent starts as the test ends must not
            # reach the next test's database.
            if self.closed:
                return
            self.reports += 1
            self._manager.report_data(context, hostname, driver_device_list)


class EventReportingTest(cyborg_base.TestCase):

    def setUp(self):
        super().setUp()
        # A deadlock between the watcher and the agent fails the test.
        self.useFixture(fixtures.Timeout(300, gentle=True))
        self.placement = self.useFixture(
            placement_stub.CyborgWithoutPlacement(
                cyborg_db.SQLiteDatabase)).placement
        self.flags(host=HOST)
        self.flags(enabled_drivers=['peripheral_driver'], group='agent')
        self.cdi_dir = self.useFixture(fixtures.TempDir()).path
        self.flags(cdi_spec_dir=self.cdi_dir, group='peripherals')
        self.flags(removal_grace_period=0, group='peripherals')
        # The entrypoints run in this process: cyborg-agent would reach
        # them through sudo and privsep-helper, which tests do not have.
        privileged.cdi_pctxt.set_client_mode(False)
        self.addCleanup(privileged.cdi_pctxt.set_client_mode, True)
        self.bed = self.useFixture(umockdev_fixture.Testbed(
            kit_mod.edge_kit()))
        self.conductor = CountingConductor()
        # Before the database goes.
        self.addCleanup(self.conductor.close)

    def start_agent(self):
        """The agent's tracker, after its start-up report."""
        rt = resource_tracker.ResourceTracker(HOST, self.conductor)
        (drv,) = rt.acc_drivers
        # Cleanups run last first: no more signals, then no watcher.
        rt.update_usage(self.context)
        self.addCleanup(drv._watcher.stop)
        self.addCleanup(drv.set_change_callback, None)
        return rt

    def names(self):
        """Names of the device providers in Placement."""
        return {name for name, _parent in self.placement.providers.values()}

    def wait_for(self, predicate, what):
        deadline = time.monotonic() + TIMEOUT
        while not predicate():
            if time.monotonic() > deadline:
                self.fail('%s: not within %d s' % (what, TIMEOUT))
            time.sleep(0.05)

    def spec_text(self):
        with open('%s/openstack.org-peripheral.json' % self.cdi_dir) as f:
            return f.read()

    def test_plugged_device_reaches_placement_without_periodic_report(self):
        self.start_agent()
        before = self.names()
        self.assertEqual(10, len(before))
        kit = kit_mod.Kit(first_devnum=60)
        kit.minor(188)
        usb = kit.usb_device('5', '0403', '6001', 'FTDI', 'FT232R USB UART',
                             serial='NEW00001')
        kit.tty(usb, 'ttyUSB1', 188)
        self.bed.plug(kit)
        self.wait_for(lambda: len(self.names()) == 11,
                      'the plugged adapter in Placement')
        (new,) = self.names() - before
        self.assertIn('NEW00001', new)
        self.assertGreaterEqual(self.conductor.reports, 2)

    def test_nothing_reported_while_nothing_changes(self):
        self.start_agent()
        # Long enough for a report that the start-up scan or the watcher
        # would wrongly ask for.
        time.sleep(3)
        self.assertEqual(1, self.conductor.reports)

    def test_unplugged_device_leaves_placement_when_grace_ends(self):
        grace = 2
        self.flags(removal_grace_period=grace, group='peripherals')
        self.start_agent()
        self.assertIn('HackRF', ' '.join(self.names()))
        unplugged = time.monotonic()
        self.bed.unplug_usb('6089')
        self.wait_for(lambda: 'HackRF' not in ' '.join(self.names()),
                      'the unplugged HackRF gone from Placement')
        # The grace period was kept: the driver counts it from the first
        # report that missed the device, after the unplug.
        self.assertGreaterEqual(time.monotonic() - unplugged, grace)
        self.assertEqual(9, len(self.names()))

    def test_unplug_within_grace_period_costs_no_report(self):
        self.flags(removal_grace_period=3600, group='peripherals')
        self.start_agent()
        self.assertIn('HackRF', self.spec_text())
        self.bed.unplug_usb('6089')
        # The watcher has applied the unplug once the spec lost the
        # device; it signals right after.
        self.wait_for(lambda: 'HackRF' not in self.spec_text(),
                      'the unplugged HackRF gone from the CDI spec')
        time.sleep(1)
        # Cyborg would be told nothing new: the device is still reported.
        self.assertEqual(1, self.conductor.reports)
        self.assertEqual(10, len(self.names()))
