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

"""Operator match rules and sysfs path parsing."""

import testtools

from cyborg_peripherals.discovery import records
from cyborg_peripherals.discovery import rules


def record(sys_name='ttyUSB0', props=None):
    return records.Record('/sys/devices/x/' + sys_name, 'tty', sys_name,
                          props or {})


class TestRules(testtools.TestCase):

    def test_glob_is_whole_value_and_case_sensitive(self):
        rule = rules.Rule('ENV{ID_V4L_CAPABILITIES}==*:capture:*')
        self.assertTrue(rule.matches(record(props={
            'ID_V4L_CAPABILITIES': ':capture:video_output:'})))
        self.assertFalse(rule.matches(record(props={
            'ID_V4L_CAPABILITIES': ':CAPTURE:'})))
        exact = rules.Rule('ENV{ID_V4L_CAPABILITIES}==:capture:')
        self.assertFalse(exact.matches(record(props={
            'ID_V4L_CAPABILITIES': ':capture:video_output:'})))

    def test_missing_value_fails_equal_and_passes_not_equal(self):
        self.assertFalse(rules.Rule('ENV{ID_SERIAL}==*').matches(record()))
        self.assertTrue(rules.Rule('ENV{ID_SERIAL}!=x').matches(record()))

    def test_kernel_and_quotes(self):
        self.assertTrue(rules.Rule('KERNEL=="ttyUSB*"').matches(record()))
        self.assertFalse(rules.Rule('KERNEL!=ttyUSB?').matches(record()))

    def test_invalid_rules_say_what_is_expected(self):
        for text in ('SUBSYSTEM==tty', 'ENV{A}=b', 'RUN+="/bin/sh"',
                     'ATTRS{idVendor}==1d50', ''):
            e = self.assertRaises(rules.InvalidRule, rules.Rule, text)
            self.assertIn('KERNEL, DEVTYPE, ENV{NAME} or ATTR{name}',
                          str(e))


class TestUsbPaths(testtools.TestCase):

    def test_interface_and_device_behind_a_hub(self):
        base = '/sys/devices/pci0000:00/0000:00:14.0/usb1'
        dev, iface = records.usb_paths(
            base + '/1-1/1-1.3/1-1.3:1.0/ttyUSB0/tty/ttyUSB0')
        self.assertEqual(base + '/1-1/1-1.3', dev)
        self.assertEqual(base + '/1-1/1-1.3/1-1.3:1.0', iface)
        self.assertEqual('00', records.interface_number(iface))

    def test_usb_device_itself_and_non_usb(self):
        base = '/sys/devices/pci0000:00/0000:00:14.0/usb1'
        self.assertEqual((base + '/1-2', None),
                         records.usb_paths(base + '/1-2'))
        self.assertEqual((None, None), records.usb_paths(
            '/sys/devices/platform/soc/fe200000.gpio/gpiochip0'))
