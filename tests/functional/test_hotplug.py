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

import json
import logging
import os
import select
import subprocess
import sys
import threading
import time

import fixtures

from cyborg_peripherals import conf
from cyborg_peripherals import privileged
from cyborg_peripherals.cdi import publisher
from cyborg_peripherals.cdi import spec
from cyborg_peripherals.cdi import writer
from cyborg_peripherals.conf import peripherals as peripherals_conf
from cyborg_peripherals.discovery import hotplug
from cyborg_peripherals.discovery import inventory
from cyborg_peripherals.emulation import kit as kit_mod
from tests import base
from tests.functional import umockdev_fixture


def ftdi(port, tty, devnum, minor, serial='A10K5Z3B'):
    """An FTDI adapter; umockdev cannot reuse a node name or number."""
    kit = kit_mod.Kit(first_devnum=devnum)
    for _ in range(minor):
        kit.minor(188)
    usb = kit.usb_device(port, '0403', '6001', 'FTDI', 'FT232R USB UART',
                         serial=serial)
    kit.tty(usb, tty, 188)
    return kit, usb


class TestHotplug(base.TestCase):

    def setUp(self):
        super().setUp()
        self.log = self.useFixture(fixtures.FakeLogger())
        self.cdi_dir = self.useFixture(fixtures.TempDir()).path
        self.writes = 0
        self.check_as_privsep = False
        start = kit_mod.Kit()
        self.camera = start.usb_device('2', '046d', '082d', 'Logitech',
                                       'C920', serial='9C2D5A8F')
        start.camera(self.camera, 0)
        self.bed = self.useFixture(umockdev_fixture.Testbed(start))
        inv = inventory.Inventory(peripherals_conf.load_classes(conf.CONF),
                                  'edge-1')
        # In-process writes: the privsep daemon has its own test.
        pub = publisher.SpecPublisher(
            self.cdi_dir, write=self._write,
            remove=lambda d: writer.remove(d))
        self.watcher = hotplug.Watcher(inv, self.bed.context(), pub)
        self.watcher.start()
        self.addCleanup(self.watcher.stop)
        self.changes = []
        self.event = threading.Event()
        self.watcher.on_change = self._on_change

    def _write(self, directory, content):
        self.writes += 1
        if self.check_as_privsep:
            # What the privileged writer checks, against the testbed's
            # nodes (the daemon would see the host's).
            privileged.check_content(content)
        writer.atomic_write(directory, content)

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

    def test_listen_neither_misses_nor_repeats_a_change(self):
        kit, _usb = ftdi('3', 'ttyUSB0', 10, 0)
        self.bed.plug(kit)
        (first,) = self.wait_for_change().added
        heard = []
        # What "peripherals watch" does: the snapshot then the changes.
        snapshot = self.watcher.listen(heard.append)
        self.assertIn(first.name, [p.name for p in snapshot])
        kit, _usb = ftdi('4', 'ttyUSB1', 11, 1, serial='B20L6A4C')
        self.bed.plug(kit)
        deadline = time.monotonic() + 10
        while not heard and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual([['serial']],
                         [[p.device_class for p in c.added] for c in heard])
        self.assertNotIn(first.name, [p.name for p in heard[0].added])

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
        writes = self.writes
        kit = kit_mod.Kit(first_devnum=20)
        kit.usb_disk('5')
        self.bed.plug(kit)
        # The watcher's thread owns the monitor; a serial adapter plugged
        # after the disk is handled after it, so its change marks the
        # point where every event of the disk has been handled.
        kit, _usb = ftdi('6', 'ttyUSB0', 30, 0)
        self.bed.plug(kit)
        (added,) = self.wait_for_change().added
        self.assertEqual('serial', added.device_class)
        self.assertEqual(1, len(self.changes))
        self.assertEqual(writes + 1, self.writes)

    def test_last_peripheral_gone_removes_the_spec(self):
        self.bed.unplug(self.camera.sys_path)
        change = self.wait_for_change()
        self.assertEqual(1, len(change.removed))
        self.assertIsNone(writer.read(self.cdi_dir))

    def break_cdi_dir(self):
        """Put a file where the CDI directory is: every write fails."""
        away = self.cdi_dir + '.away'
        os.rename(self.cdi_dir, away)
        open(self.cdi_dir, 'w').close()

        def repair():
            os.unlink(self.cdi_dir)
            os.rename(away, self.cdi_dir)
        return repair

    def wait_for_log(self, text):
        deadline = time.monotonic() + 10
        while text not in self.log.output:
            if time.monotonic() > deadline:
                self.fail('never logged %r' % text)
            time.sleep(0.05)

    def test_failed_publish_keeps_state_and_is_retried(self):
        kit, usb = ftdi('3', 'ttyUSB0', 10, 0)
        self.bed.plug(kit)
        (added,) = self.wait_for_change().added
        repair = self.break_cdi_dir()
        self.bed.unplug(usb.sys_path)
        self.wait_for_log('Could not update the CDI spec (attempt 1)')
        # The spec still lists the adapter, and so does the watcher.
        self.assertIn(added.name, [p.name for p in self.watcher.peripherals])
        self.assertFalse(self.event.is_set())
        repair()
        self.assertEqual(['/dev/ttyUSB0'], self.spec_nodes(added.cdi_name))
        # No further udev event: the retry alone fixes the spec.
        change = self.wait_for_change()
        self.assertEqual([added.name], [p.name for p in change.removed])
        doc = spec.parse(writer.read(self.cdi_dir))
        self.assertIsNone(doc.device(added.cdi_name))
        self.assertNotIn(added.name,
                         [p.name for p in self.watcher.peripherals])

    def test_retry_rescans_nodes_changed_without_an_event(self):
        self.check_as_privsep = True
        (cam,) = self.watcher.peripherals
        # chmod sends no uevent: the camera's node no longer matches
        # the mode read when it was added, so that spec is refused.
        video0 = os.path.join(self.bed.testbed.get_root_dir(), 'dev/video0')
        os.chmod(video0, 0o660)
        kit, _usb = ftdi('3', 'ttyUSB0', 10, 0)
        self.bed.plug(kit)
        self.wait_for_log('Could not update the CDI spec (attempt 1)')
        self.assertIn('/dev/video0 has file mode', self.log.output)
        # The retry reads the node again instead of resending.
        change = self.wait_for_change()
        (added,) = change.added
        self.assertEqual('serial', added.device_class)
        self.assertEqual([cam.name], [p.name for p in change.updated])
        self.assertEqual(['/dev/ttyUSB0'], self.spec_nodes(added.cdi_name))
        self.assertEqual(['/dev/video0', '/dev/video1'],
                         self.spec_nodes(cam.cdi_name))

    def test_start_with_a_failing_spec_write_reports_nothing_yet(self):
        self.watcher.stop()
        writer.remove(self.cdi_dir)
        repair = self.break_cdi_dir()
        pub = publisher.SpecPublisher(self.cdi_dir, write=self._write,
                                      remove=writer.remove)
        watcher = hotplug.Watcher(self.watcher.inventory, self.bed.context(),
                                  pub, self._on_change)
        watcher.start()
        self.addCleanup(watcher.stop)
        self.assertEqual([], watcher.peripherals)
        repair()
        (cam,) = self.wait_for_change().added
        self.assertEqual([cam], watcher.peripherals)
        self.assertEqual(['/dev/video0', '/dev/video1'],
                         self.spec_nodes(cam.cdi_name))

    def test_persistent_error_is_retried_with_backoff(self):
        records = []
        handler = logging.Handler()
        handler.emit = records.append
        logger = logging.getLogger(hotplug.__name__)
        logger.addHandler(handler)
        self.addCleanup(logger.removeHandler, handler)
        # Turn the monitor's socket into /dev/null: always readable, and
        # every receive fails (ENOTSOCK) for as long as the test runs.
        fd = os.open(os.devnull, os.O_RDONLY)
        os.dup2(fd, self.watcher._monitor.fileno())
        os.close(fd)
        time.sleep(3 * hotplug.FIRST_RETRY * 2)
        # Backoff 0.5, 1, 2 s: at most four attempts in three seconds
        # (without backoff, thousands).
        self.assertLessEqual(len(records), 4)
        self.assertGreaterEqual(len(records), 2)
        self.assertTrue(self.watcher.running)


# Runs in a child process: eventlet's monkey patching cannot be undone.
EVENTLET_WATCHER = """
import eventlet
eventlet.monkey_patch()

import json
import sys
import threading

from cyborg_peripherals import conf
from cyborg_peripherals import privileged
from cyborg_peripherals.cdi import publisher
from cyborg_peripherals.cdi import writer
from cyborg_peripherals.conf import peripherals as peripherals_conf
from cyborg_peripherals.discovery import hotplug
from cyborg_peripherals.discovery import inventory


def emit(**kw):
    print(json.dumps(kw), flush=True)


conf.CONF([], default_config_files=[])
done = threading.Event()
changes = []


def on_change(change):
    emit(added=[p.device_class for p in change.added],
         removed=[p.device_class for p in change.removed])
    changes.append(change)
    if len(changes) == 2:
        done.set()


inv = inventory.Inventory(peripherals_conf.load_classes(conf.CONF), 'e1')
pub = publisher.SpecPublisher(sys.argv[1], write=writer.atomic_write,
                              remove=writer.remove)
watcher = hotplug.Watcher(inv, publisher=pub)
watcher.start()
emit(started=[p.device_class for p in watcher.peripherals])
watcher.on_change = on_change
done.wait(60)
watcher.stop()
emit(stopped=True)
"""


class TestHotplugUnderEventlet(base.TestCase):
    """The watcher in a process patched as Cyborg agents before 17 are."""

    def test_events_are_seen_with_monkey_patching(self):
        start = kit_mod.Kit()
        cam = start.usb_device('2', '046d', '082d', 'Logitech', 'C920',
                               serial='E1')
        start.camera(cam, 0)
        bed = self.useFixture(umockdev_fixture.Testbed(start))
        cdi_dir = self.useFixture(fixtures.TempDir()).path
        env = dict(os.environ, UMOCKDEV_DIR=bed.testbed.get_root_dir())
        proc = subprocess.Popen(
            [sys.executable, '-c', EVENTLET_WATCHER, cdi_dir],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=env)
        self.addCleanup(proc.kill)
        self.addCleanup(proc.stderr.close)
        self.addCleanup(proc.stdout.close)
        # start() returns, having scanned.
        self.assertEqual({'started': ['camera']}, self.read_event(proc))
        kit, usb = ftdi('3', 'ttyUSB0', 10, 0)
        bed.plug(kit)
        self.assertEqual({'added': ['serial'], 'removed': []},
                         self.read_event(proc))
        self.assertIn('/dev/ttyUSB0', writer.read(cdi_dir).decode())
        bed.unplug(usb.sys_path)
        self.assertEqual({'added': [], 'removed': ['serial']},
                         self.read_event(proc))
        self.assertEqual({'stopped': True}, self.read_event(proc))
        self.assertEqual(0, proc.wait(timeout=30))
        # Nothing went wrong on the way (a failing loop logs at once).
        self.assertNotIn('Traceback', proc.stderr.read())

    def read_event(self, proc):
        # Bounded, so a watcher that never reports fails the test.
        ready, _w, _x = select.select([proc.stdout], [], [], 30)
        if not ready:
            proc.kill()
            self.fail('no event from the watcher; stderr: %s'
                      % proc.stderr.read()[-2000:])
        return json.loads(proc.stdout.readline())
