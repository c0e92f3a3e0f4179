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

"""Hot-plug: udev events from umockdev keep peripherals and spec current."""

import os
import threading

import fixtures

from cyborg_peripherals import conf
from cyborg_peripherals.cdi import publisher
from cyborg_peripherals.cdi import spec
from cyborg_peripherals.cdi import writer
from cyborg_peripherals.conf import peripherals as peripherals_conf
from cyborg_peripherals.discovery import hotplug
from cyborg_peripherals.discovery import inventory
from cyborg_peripherals.emulation import kit as kit_mod
from tests import base
from tests.functional import umockdev_fixture


def ftdi(port, tty, devnum, minor):
    """An FTDI adapter; umockdev cannot reuse a node name or number."""
    kit = kit_mod.Kit(first_devnum=devnum)
    for _ in range(minor):
        kit.minor(188)
    usb = kit.usb_device(port, '0403', '6001', 'FTDI', 'FT232R USB UART',
                         serial='A10K5Z3B')
    kit.tty(usb, tty, 188)
    return kit, usb


class TestHotplug(base.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.FakeLogger())
        self.cdi_dir = self.useFixture(fixtures.TempDir()).path
        start = kit_mod.Kit()
        self.camera = start.usb_device('2', '046d', '082d', 'Logitech',
                                       'C920', serial='9C2D5A8F')
        start.camera(self.camera, 0)
        self.bed = self.useFixture(umockdev_fixture.Testbed(start))
        inv = inventory.Inventory(peripherals_conf.load_classes(conf.CONF),
                                  'edge-1')
        # In-process writes: the privsep daemon has its own test.
        pub = publisher.SpecPublisher(
            self.cdi_dir, write=writer.atomic_write,
            remove=lambda d: writer.remove(d))
        self.watcher = hotplug.Watcher(inv, self.bed.context(), pub)
        self.watcher.start()
        self.addCleanup(self.watcher.stop)
        self.changes = []
        self.event = threading.Event()
        self.watcher.on_change = self._on_change

    def _on_change(self, change):
        self.changes.append(change)
        self.event.set()

    def wait_for_change(self):
        # A bound so a broken watcher fails the test instead of hanging.
        self.assertTrue(self.event.wait(10), 'no hot-plug change seen')
        self.event.clear()
        return self.changes[-1]

    def spec_nodes(self, cdi_name):
        doc = spec.parse(writer.read(self.cdi_dir))
        return [n.path for n in doc.device(cdi_name).edits.device_nodes]

    def test_initial_scan_writes_spec(self):
        (cam,) = self.watcher.peripherals
        self.assertEqual(['/dev/video0', '/dev/video1'],
                         self.spec_nodes(cam.cdi_name))
        st = os.stat(writer.spec_path(self.cdi_dir))
        self.assertEqual(0o644, st.st_mode & 0o777)

    def test_add_remove_and_replug_under_new_kernel_names(self):
        kit, usb = ftdi('3', 'ttyUSB0', 10, 0)
        self.bed.plug(kit)
        change = self.wait_for_change()
        (added,) = change.added
        self.assertEqual('serial', added.device_class)
        info = added.attach_info.encode()
        self.assertEqual(['/dev/ttyUSB0'], self.spec_nodes(added.cdi_name))

        self.bed.unplug(usb.sys_path)
        change = self.wait_for_change()
        self.assertEqual([added.name], [p.name for p in change.removed])
        doc = spec.parse(writer.read(self.cdi_dir))
        self.assertIsNone(doc.device(added.cdi_name))

        # Back in the same port: new kernel name and usbfs number.
        kit, _usb = ftdi('3', 'ttyUSB1', 11, 1)
        self.bed.plug(kit)
        change = self.wait_for_change()
        (again,) = change.added
        self.assertEqual(added.name, again.name)
        self.assertEqual(added.identity, again.identity)
        self.assertEqual(info, again.attach_info.encode())
        self.assertEqual(['/dev/ttyUSB1'], self.spec_nodes(again.cdi_name))

    def test_replug_into_another_port_keeps_serial_identity(self):
        kit, usb = ftdi('3', 'ttyUSB0', 10, 0)
        self.bed.plug(kit)
        (first,) = self.wait_for_change().added
        self.bed.unplug(usb.sys_path)
        self.wait_for_change()
        kit, _usb = ftdi('4', 'ttyUSB1', 11, 1)
        self.bed.plug(kit)
        (moved,) = self.wait_for_change().added
        self.assertEqual(first.attach_info, moved.attach_info)

    def test_unrelated_events_do_not_rewrite_the_spec(self):
        path = writer.spec_path(self.cdi_dir)
        before = os.stat(path)
        kit = kit_mod.Kit(first_devnum=20)
        kit.usb_disk('5')
        self.bed.plug(kit)
        # Drain the disk's events through the watcher, one by one.
        while self.watcher.poll_once(0.5) is not None:
            pass
        after = os.stat(path)
        self.assertEqual((before.st_ino, before.st_mtime_ns),
                         (after.st_ino, after.st_mtime_ns))
        self.assertEqual([], self.changes)

    def test_last_peripheral_gone_removes_the_spec(self):
        self.bed.unplug(self.camera.sys_path)
        change = self.wait_for_change()
        self.assertEqual(1, len(change.removed))
        self.assertIsNone(writer.read(self.cdi_dir))
