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

"""Which real devices back the emulated kit of ``tools/aio``."""

import testtools

from aio import emulated
from cyborg_peripherals.cdi import safety


HWRNG = ('/dev/hwrng', 10, 183)
LATENCY = ('/dev/cpu_dma_latency', 10, 259)
VGA = ('/dev/vga_arbiter', 10, 256)


class TestBackingPool(testtools.TestCase):

    def test_each_device_gets_its_own_while_the_host_has_some(self):
        pool = emulated.BackingPool([HWRNG, LATENCY, VGA])
        taken = [pool.take() for _i in range(7)]
        self.assertEqual([HWRNG, LATENCY, VGA], taken[:3])
        self.assertEqual([HWRNG, LATENCY, VGA, HWRNG], taken[3:])

    def test_a_host_without_any_gets_a_clear_error(self):
        e = self.assertRaises(RuntimeError, emulated.BackingPool, [])
        self.assertIn('/dev/hwrng', str(e))
        self.assertIn('without --emulated', str(e))

    def test_the_kit_is_what_tools_aio_promises(self):
        kit = emulated.edge_kit('/dev/cp-aio-x',
                                pool=emulated.BackingPool([HWRNG, LATENCY,
                                                           VGA]))
        self.assertEqual(
            {'/dev/cp-aio-x/video0': ('camera', '/dev/hwrng'),
             '/dev/cp-aio-x/bus/usb/001/004': ('sdr',
                                               '/dev/cpu_dma_latency'),
             '/dev/cp-aio-x/ttyUSB0': ('serial', '/dev/vga_arbiter'),
             '/dev/cp-aio-x/gpiochip0': ('gpio', '/dev/hwrng')},
            kit.backing)

    def test_no_candidate_is_a_kind_the_policy_refuses(self):
        for path, major, minor in emulated.BACKING_CANDIDATES:
            self.assertFalse(
                [kind.what for kind in safety.NEVER_PERIPHERALS
                 if kind.matches('c', major, minor, path)], path)
