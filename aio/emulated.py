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
finds a UVC camera, a software-defined radio, a USB serial adapter and
a GPIO chip with the udev records real ones have; but a container given
an emulated node would read nothing.  Here each emulated device names,
in its udev properties, a node that exists on the real host (umockdev
passes /dev paths it does not emulate through), made with mknod under
the cloud's node directory with the major:minor of a real character
device of this host (see ``BACKING_CANDIDATES``).  The numbers are the
one thing that is not what the real peripheral has: this host has no
video4linux (81) or usbfs (189) devices, so the camera's node is, for
example, the hardware random number generator's 10:183, and the
container reads random bytes from it.  Each emulated device gets its
own backing device while the host has unused ones; only then do two
share one.  ``EmulatedKit.backing`` says which real device backs each
node, and the report of ``tools/aio`` shows it.

Run as ``umockdev-wrapper python -m aio.emulated``, this module keeps a
testbed for other processes (the Cyborg agent runs with the same
``UMOCKDEV_DIR``): it prints the testbed root, then reads one JSON
command per line (``{"plug": [paragraph, ...]}`` or
``{"unplug": sys_path}``) and answers each; the testbed goes when its
input closes, or after ``{"stay": true}`` when it is terminated.
"""

import collections
import json
import os
import signal
import stat
import sys
import types

from cyborg_peripherals.emulation import kit as kit_mod
from cyborg_peripherals.emulation import testbed as testbed_mod


#: Where clouds make their device nodes (``NODE_DIRS + cloud id``).
NODE_DIRS = '/dev/cp-aio-'

#: Real character devices that may back emulated nodes, in the order
#: they are handed out: (path, major, minor).  Each is readable by root
#: without capabilities and without blocking, is not in Docker's default
#: device cgroup (a container reads it only if it was attached), and is
#: of no kind the Zun side's policy refuses
#: (``cyborg_peripherals.cdi.safety.NEVER_PERIPHERALS``): /dev/urandom,
#: for example, is a memory device (1:9), and CPUID (203) is refused.
#: Reading gives random bytes, the 4-byte CPU latency request, and the
#: VGA arbiter's status text.
BACKING_CANDIDATES = (('/dev/hwrng', 10, 183),
                      ('/dev/cpu_dma_latency', 10, 259),
                      ('/dev/vga_arbiter', 10, 256))


def backing_devices():
    """The candidate backing devices this host has, as described."""
    found = []
    for path, major, minor in BACKING_CANDIDATES:
        try:
            st = os.stat(path)
        except OSError:
            continue
        if stat.S_ISCHR(st.st_mode) and (os.major(st.st_rdev),
                                         os.minor(st.st_rdev)) == (major,
                                                                   minor):
            found.append((path, major, minor))
    return found


class BackingPool:
    """Hands out backing devices: the least used first, so that every
    emulated device has its own while the host has enough.
    """

    def __init__(self, devices=None):
        devices = backing_devices() if devices is None else list(devices)
        if not devices:
            raise RuntimeError(
                'this host has none of the character devices that back '
                'emulated device nodes (%s): run on a host that has one, '
                'or without --emulated on real peripherals'
                % ', '.join(c[0] for c in BACKING_CANDIDATES))
        #: The backing devices, (path, major, minor), in preference order.
        self.devices = devices
        self._uses = collections.Counter()

    def take(self):
        # min() keeps the first of equals: ties go to the earlier device.
        device = min(self.devices, key=self._uses.__getitem__)
        self._uses[device] += 1
        return device


class EmulatedKit:
    """A umockdev kit plus the real nodes its devices point at."""

    def __init__(self, node_dir, bus=1, first_devnum=2, first_tty=0,
                 controller='0000:00:14.0', pool=None, first_video=0):
        self.kit = kit_mod.Kit(controller, bus, first_devnum)
        self.node_dir = node_dir
        self.pool = pool or BackingPool()
        #: sys_path of each plugged USB device or chip -> its real nodes
        self.devices = {}
        #: real node path -> (major, minor)
        self.nodes = {}
        #: real node path -> (peripheral class, backing device path)
        self.backing = {}
        self._tty = first_tty
        self._video = first_video

    def _retarget(self, sys_path, name, device_class):
        """Point the paragraph at ``sys_path`` to a real node."""
        backing, major, minor = self.pool.take()
        node = os.path.join(self.node_dir, name)
        para = next(p for p in self.kit.paragraphs if p.sys_path == sys_path)
        # No "N:" line and no "dev" attribute: umockdev would create an
        # emulated node that hides the real one, and one sysfs
        # /sys/dev/char link per major:minor, which it cannot share.
        para.node = None
        para.attrs.pop('dev', None)
        para.props.update(DEVNAME=node, MAJOR=str(major), MINOR=str(minor))
        self.nodes[node] = (major, minor)
        self.backing[node] = (device_class, backing)
        return node

    def camera(self, port, serial):
        """A Logitech C920 UVC camera on USB ``port``: its capture node
        (video4linux, ``ID_V4L_CAPABILITIES=:capture:``).

        Without the metadata node newer kernels add: it would need a
        backing device of its own.
        """
        usb = self.kit.usb_device(port, '046d', '082d', 'Logitech',
                                  'HD Pro Webcam C920', serial=serial)
        name = 'video%d' % self._video
        (path,) = self.kit.camera(usb, self._video, metadata=False)
        self._video += 1
        self.devices[usb.sys_path] = [self._retarget(path, name, 'camera')]
        return usb.sys_path

    def sdr(self, port, serial):
        """A HackRF One software-defined radio on USB ``port``: its usbfs
        node (``bus/usb/BBB/DDD``), which SDR libraries open.
        """
        usb = self.kit.usb_device(port, '1d50', '6089',
                                  'Great Scott Gadgets', 'HackRF One',
                                  serial=serial)
        self.devices[usb.sys_path] = [
            self._retarget(usb.sys_path, usb.usbfs_node, 'sdr')]
        return usb.sys_path

    def serial_adapter(self, port, serial):
        """An FTDI USB serial adapter on USB ``port``."""
        usb = self.kit.usb_device(port, '0403', '6001', 'FTDI',
                                  'FT232R USB UART', serial=serial)
        name = 'ttyUSB%d' % self._tty
        self._tty += 1
        path = self.kit.tty(usb, name, 188)
        self.devices[usb.sys_path] = [self._retarget(path, name, 'serial')]
        return usb.sys_path

    def gpiochip(self, address, index):
        """A Raspberry Pi shaped GPIO chip."""
        path = self.kit.gpiochip(address, index)
        name = 'gpiochip%d' % index
        self.devices[path] = [self._retarget(path, name, 'gpio')]
        return path

    def paragraphs(self):
        return [vars(p) for p in self.kit.paragraphs]


def edge_kit(node_dir, serial_adapters=1, pool=None):
    """The kit ``tools/aio`` shows: a UVC camera, an SDR and serial
    adapters on a USB hub, and a GPIO chip.
    """
    kit = EmulatedKit(node_dir, pool=pool)
    kit.kit.hub('1')
    kit.camera('1.1', '9C2D5A8F')
    kit.sdr('1.2', '0000000000000000a06063c8234e925f')
    for i in range(serial_adapters):
        kit.serial_adapter('1.%d' % (i + 3), 'AIO%05d' % i)
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
    """Remove the nodes ``paths``, and the directories under
    ``NODE_DIRS`` made for them once they are empty.
    """
    for path in paths:
        if os.path.lexists(path):
            os.unlink(path)
    for path in paths:
        parent = os.path.dirname(path)
        while parent.startswith(NODE_DIRS):
            try:
                os.rmdir(parent)
            except OSError:
                break
            parent = os.path.dirname(parent)


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
