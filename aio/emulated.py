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

"""An emulated edge kit whose device nodes are real character devices.

umockdev emulates sysfs, the udev database and uevents, so discovery
finds USB serial adapters and a GPIO chip; but a container given an
emulated node would read nothing.  Here each emulated device names, in
its udev properties, a node that exists on the real host (umockdev
passes /dev paths it does not emulate through), made with mknod with
the major:minor of a character device that Docker's default device
cgroup refuses: a container reads it only if the device was attached.
Several emulated peripherals may share one backing device.

Run as ``umockdev-wrapper python -m aio.emulated``, this module keeps a
testbed for other processes (the Cyborg agent runs with the same
``UMOCKDEV_DIR``): it prints the testbed root, then reads one JSON
command per line (``{"plug": [paragraph, ...]}`` or
``{"unplug": sys_path}``) and answers each; the testbed goes when its
input closes, or after ``{"stay": true}`` when it is terminated.
"""

import json
import os
import signal
import stat
import sys
import types

from cyborg_peripherals.emulation import kit as kit_mod
from cyborg_peripherals.emulation import testbed as testbed_mod


#: Backing character devices: readable by root, refused by Docker's
#: default device cgroup.
BACKING = {'hwrng': (10, 183), 'cpu_dma_latency': (10, 259)}


class EmulatedKit:
    """A umockdev kit plus the real nodes its devices point at."""

    def __init__(self, node_dir, bus=1, first_devnum=2, first_tty=0,
                 controller='0000:00:14.0'):
        self.kit = kit_mod.Kit(controller, bus, first_devnum)
        self.node_dir = node_dir
        #: sys_path of each plugged USB device or chip -> its real nodes
        self.devices = {}
        #: real node path -> (major, minor)
        self.nodes = {}
        self._tty = first_tty

    def _retarget(self, sys_path, name, backing):
        """Point the paragraph at ``sys_path`` to a real node."""
        major, minor = BACKING[backing]
        node = os.path.join(self.node_dir, name)
        para = next(p for p in self.kit.paragraphs if p.sys_path == sys_path)
        # No "N:" line and no "dev" attribute: umockdev would create an
        # emulated node that hides the real one, and one sysfs
        # /sys/dev/char link per major:minor, which it cannot share.
        para.node = None
        para.attrs.pop('dev', None)
        para.props.update(DEVNAME=node, MAJOR=str(major), MINOR=str(minor))
        self.nodes[node] = (major, minor)
        return node

    def serial_adapter(self, port, serial, backing='hwrng'):
        """An FTDI USB serial adapter on USB ``port``."""
        usb = self.kit.usb_device(port, '0403', '6001', 'FTDI',
                                  'FT232R USB UART', serial=serial)
        name = 'ttyUSB%d' % self._tty
        self._tty += 1
        path = self.kit.tty(usb, name, 188)
        self.devices[usb.sys_path] = [self._retarget(path, name, backing)]
        return usb.sys_path

    def gpiochip(self, address, index, backing='cpu_dma_latency'):
        """A Raspberry Pi shaped GPIO chip."""
        path = self.kit.gpiochip(address, index)
        name = 'gpiochip%d' % index
        self.devices[path] = [self._retarget(path, name, backing)]
        return path

    def paragraphs(self):
        return [vars(p) for p in self.kit.paragraphs]


def edge_kit(node_dir, serial_adapters=2):
    """The kit ``tools/aio`` shows: serial adapters and a GPIO chip."""
    kit = EmulatedKit(node_dir)
    kit.kit.hub('1')
    for i in range(serial_adapters):
        kit.serial_adapter('1.%d' % (i + 1), 'AIO%05d' % i)
    kit.gpiochip('fe200000', 0)
    return kit


def make_nodes(nodes):
    """Create the real device nodes ``{path: (major, minor)}``."""
    for path, (major, minor) in nodes.items():
        os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
        if os.path.lexists(path):
            os.unlink(path)
        os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(major, minor))


def remove_nodes(paths):
    for path in paths:
        if os.path.lexists(path):
            os.unlink(path)


def _keep():
    # Only this helper imports umockdev's Python API; it runs under
    # umockdev-wrapper.  Terminated: still remove the testbed directory.
    signal.signal(signal.SIGTERM, lambda *args: sys.exit(0))
    testbed = testbed_mod.Testbed().start()
    print(json.dumps({'root': testbed.testbed.get_root_dir()}), flush=True)
    stay = False
    for line in sys.stdin:
        command = json.loads(line)
        try:
            if 'stay' in command:
                stay = True
            elif 'plug' in command:
                testbed.plug(types.SimpleNamespace(paragraphs=[
                    kit_mod.Paragraph(**p) for p in command['plug']]))
            else:
                testbed.unplug(command['unplug'])
        except Exception as e:
            print(json.dumps({'error': str(e)}), flush=True)
        else:
            print(json.dumps({'ok': True}), flush=True)
    try:
        # The cloud outlives the process that started it (--keep).
        while stay:
            signal.pause()
    finally:
        testbed.close()


if __name__ == '__main__':
    _keep()
