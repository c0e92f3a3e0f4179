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

"""The cyborg-peripherals command, run as operators run it."""

import json
import os
import select
import subprocess
import sys

import fixtures
import testtools

from cyborg_peripherals.emulation import kit as kit_mod
from tests.functional import umockdev_fixture


CLI = [sys.executable, '-m', 'cyborg_peripherals.cmd.cli']


class TestDiscoverCommand(testtools.TestCase):

    def run_cli(self, *args, env=None):
        return subprocess.run(CLI + list(args), capture_output=True,
                              text=True, timeout=120, env=env)

    def test_emulated_json(self):
        # Re-executes itself under umockdev-wrapper when needed.
        env = {k: v for k, v in os.environ.items()
               if k not in ('LD_PRELOAD', 'UMOCKDEV_DIR')}
        out = self.run_cli('discover', '--emulated', '--format', 'json',
                           env=env)
        self.assertEqual(0, out.returncode, out.stderr)
        found = json.loads(out.stdout)
        self.assertEqual(10, len(found))
        for item in found:
            self.assertTrue({'name', 'class', 'identity', 'vendor_id',
                             'product_id', 'serial', 'nodes',
                             'resource_class', 'traits',
                             'attach_handle'} <= set(item))
            self.assertEqual('OCI', item['attach_handle']['type'])

    def test_emulated_table_shows_profile_groups(self):
        out = self.run_cli('discover', '--emulated')
        self.assertEqual(0, out.returncode, out.stderr)
        self.assertIn('CLASS', out.stdout.splitlines()[0])
        self.assertIn('/dev/video0 (81:0), /dev/video1 (81:1)', out.stdout)
        self.assertIn('"trait:CUSTOM_PERIPHERAL_MODEL_HACKRF_ONE": '
                      '"required"', out.stdout)

    def test_bad_configuration_is_one_line_error(self):
        conf = self.useFixture(fixtures.TempDir()).join('bad.conf')
        with open(conf, 'w') as f:
            f.write('[peripherals]\nenabled_classes = Bad-Name\n')
        out = self.run_cli('--config-file', conf, 'discover')
        self.assertNotEqual(0, out.returncode)
        self.assertIn('error: configuration: [peripherals] enabled_classes',
                      out.stderr)
        self.assertNotIn('Traceback', out.stderr)


class TestWatchCommand(testtools.TestCase):

    def test_prints_hotplug_changes(self):
        start = kit_mod.Kit()
        cam = start.usb_device('2', '046d', '082d', 'Logitech', 'C920',
                               serial='W1')
        start.camera(cam, 0)
        bed = self.useFixture(umockdev_fixture.Testbed(start))
        env = dict(os.environ,
                   UMOCKDEV_DIR=bed.testbed.get_root_dir())
        proc = subprocess.Popen(
            CLI + ['watch', '--format', 'json', '--max-changes', '1'],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=env)
        self.addCleanup(proc.kill)
        snapshot = json.loads(self.read_line(proc))
        self.assertEqual('snapshot', snapshot['event'])
        self.assertEqual(['camera'], [p['class'] for p in
                                      snapshot['peripherals']])
        kit = kit_mod.Kit(first_devnum=10)
        usb = kit.usb_device('3', '0403', '6001', 'FTDI', 'FT232R',
                             serial='W2')
        kit.tty(usb, 'ttyUSB0', 188)
        bed.plug(kit)
        change = json.loads(self.read_line(proc))
        self.assertEqual('change', change['event'])
        self.assertEqual(['serial'], [p['class'] for p in change['added']])
        self.assertEqual(0, proc.wait(timeout=30))

    def read_line(self, proc):
        # Bounded, so a watcher that never prints fails the test.
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        if not ready:
            self.fail('watch printed nothing; stderr: %s' % proc.stderr)
        return proc.stdout.readline()
