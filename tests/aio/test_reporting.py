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

"""Hot-plugs reach Placement by change reports, on the all-in-one cloud.

Real Keystone, Placement and Cyborg (API, conductor, and the agent with
``peripheral_driver`` and the change reports of
tools/cyborg-patches/0090) on SQLite; umockdev sends the udev events.
The agent's periodic report is set to an hour (``[agent]
report_interval``), so after its start-up report every report is one
that the driver asked for, and every wait is bounded well under the
60 s that the periodic report would take by default.  No timings are
asserted: benchmarks/reporting.py measures them.
"""

import time

from oslotest import base as oslo_base

from aio import cloud as cloud_mod


#: [peripherals] removal_grace_period here (default 30 s).
GRACE = 3
#: Bounds each wait; under the default periodic spacing (60 s).
WAIT = 30


class ChangeReportTest(oslo_base.BaseTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cloud = cloud_mod.Cloud(db='sqlite')
        try:
            kit = cls.cloud.edge_kit()
            cls.cloud.start(kit=kit)
            cls.cloud.wait_for_providers(len(kit.devices))
            cls.cloud.cyborg.configure({
                'agent': {'report_interval': 3600},
                'peripherals': {'removal_grace_period': GRACE}})
            reports = cls.cloud.cyborg.reports()
            cls.cloud.restart_agent()
            # The restarted agent's start-up report.
            cls.wait(lambda: cls.cloud.cyborg.reports() > reports,
                     'the start-up report of the restarted agent')
        except BaseException:
            # Keep the logs for the error report.
            cls.cloud.stop(remove_workdir=False)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.cloud.stop_or_raise()
        super().tearDownClass()

    @classmethod
    def wait(cls, predicate, what, timeout=WAIT):
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError('%s: not within %d s (read %s)' % (
                    what, timeout, cls.cloud.cyborg.log('agent')))
            time.sleep(0.2)

    def providers(self):
        """Device providers that have their inventory: {name: rp}."""
        return {rp['name']: rp for rp in self.cloud.providers()
                if rp['inventories']}

    def test_hotplugs_are_reported_and_nothing_else(self):
        # One test, so that one cloud serves it whatever the concurrency.
        before = set(self.providers())
        kit = self.cloud.emulated_kit(first_devnum=90, first_tty=90)
        sys_path = kit.gpiochip('fe7f0000', 90)
        self.cloud.plug(kit)
        self.wait(lambda: set(self.providers()) - before,
                  'the plugged GPIO chip in Placement')
        (name,) = set(self.providers()) - before
        self.assertIn('fe7f0000', name)
        self.cloud.unplug(sys_path)
        self.wait(lambda: name not in self.providers(),
                  'the unplugged GPIO chip gone from Placement',
                  timeout=GRACE + WAIT)
        self.assertEqual(before, set(self.providers()))
        # Then nothing changes, and nothing is reported.
        reports = self.cloud.cyborg.reports()
        time.sleep(10)
        self.assertEqual(reports, self.cloud.cyborg.reports())
