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

"""peripheral_driver.discover() on 1,500 emulated peripherals.

    umockdev-wrapper .venv/bin/python -m benchmarks.cyborg_driver

Needs the patched Cyborg (tools/install-cyborg).  Reports, in one
process:

1. the first discover() of the driver loaded by entry-point name (udev
   monitor set-up, full scan, CDI spec, Cyborg driver objects) against a
   bare pyudev walk of the same udev enumerations (goal: ratio <= 3);
2. an unchanged re-discovery, the agent's every-60-seconds case, against
   the same bare walk.
"""

import statistics
import tempfile
import time

# Selects oslo.service's threading backend before Cyborg does.
import cyborg.tests  # noqa: F401
import pyudev
from cyborg.conf import CONF
from stevedore import driver as stevedore_driver

from benchmarks import discovery
from cyborg_peripherals import conf as peripherals_conf
from cyborg_peripherals import privileged
from cyborg_peripherals.conf import peripherals as pconf
from cyborg_peripherals.discovery import inventory
from cyborg_peripherals.emulation import testbed as testbed_mod


def main():
    CONF([], project='cyborg')
    CONF.set_override('host', 'bench-host')
    peripherals_conf.CONF.set_override(
        'cdi_spec_dir', tempfile.mkdtemp(prefix='cp-bench-cdi-'),
        group='peripherals')
    # In-process writes: the agent would use sudo and privsep-helper.
    privileged.cdi_pctxt.set_client_mode(False)
    bed = testbed_mod.new_testbed()
    for kit in discovery.fleet(1500):
        testbed_mod.load(bed, kit)
    context = pyudev.Context()

    first, walks, again = [], [], []
    for _ in range(5):
        drv = stevedore_driver.DriverManager(
            namespace='cyborg.accelerator.driver', name='peripheral_driver',
            invoke_on_load=True).driver
        inv = inventory.Inventory(pconf.load_classes(peripherals_conf.CONF),
                                  'bench-host')
        t0 = time.perf_counter()
        walked = discovery.bare_walk(inv, context)
        walks.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        devices = drv.discover()
        first.append(time.perf_counter() - t0)
        for _ in range(20):
            t0 = time.perf_counter()
            drv.discover()
            again.append(time.perf_counter() - t0)
        drv._watcher.stop()
    walk = statistics.median(walks)
    print('peripheral_driver first discover(): %d DriverDevices from %d '
          'udev devices in %.3f s; bare pyudev walk %.3f s; ratio %.2f '
          '(goal <= 3)' % (len(devices), walked, statistics.median(first),
                           walk, statistics.median(first) / walk))
    print('unchanged re-discovery: median %.1f us (%.5f of a bare walk)'
          % (1e6 * statistics.median(again),
             statistics.median(again) / walk))


if __name__ == '__main__':
    main()
