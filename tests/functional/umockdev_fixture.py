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

"""A umockdev testbed as a test fixture: real libudev, emulated devices."""

import fixtures
import pyudev

from cyborg_peripherals.emulation import testbed as testbed_mod


class Testbed(fixtures.Fixture, testbed_mod.Testbed):
    """Emulated /sys, /dev and udev events for one test (see
    ``cyborg_peripherals.emulation.testbed.Testbed``).
    """

    def __init__(self, kit=None):
        fixtures.Fixture.__init__(self)
        testbed_mod.Testbed.__init__(self)
        self.kit = kit

    def _setUp(self):
        # Fails, rather than skips, outside umockdev-wrapper: a suite
        # that silently skipped its device tests would prove nothing.
        self.start()
        self.addCleanup(self.close)
        if self.kit is not None:
            self.plug(self.kit)

    def context(self):
        return pyudev.Context()
