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

"""Operator match rules, HID descriptors and sysfs path parsing."""

import testtools
from hypothesis import given
from hypothesis import strategies as st

from cyborg_peripherals.discovery import classes
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
                     'ATTRS{idVendor}=1d50', 'KERNEL==a"b', ''):
            e = self.assertRaises(rules.InvalidRule, rules.Rule, text)
            self.assertIn('KERNEL, DEVTYPE, ENV{NAME}, ATTR{name} or '
                          'ATTRS{name}', str(e))

    def test_attrs_of_a_device_that_has_none_is_missing(self):
        # Without a udev device (nothing above it) no attribute exists.
        self.assertFalse(
            rules.Rule('ATTRS{idVendor}==*').matches(record()))
        self.assertTrue(
            rules.Rule('ATTRS{idVendor}!=05e0').matches(record()))


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

    def test_names_with_a_trailing_newline_are_not_usb(self):
        # sysfs names come from the kernel, but umockdev records and
        # udev databases are data: '$' would accept "1-2\n".
        base = '/sys/devices/pci0000:00/0000:00:14.0/usb1'
        self.assertEqual((None, None), records.usb_paths(base + '/1-2\n'))
        self.assertIsNone(records.interface_number(base + '/1-2/1-2:1.0\n'))


KEYBOARD = 0x00010006


class TestHIDDescriptors(testtools.TestCase):

    def usages(self, hex_text):
        return classes.hid_application_usages(bytes.fromhex(hex_text))

    def test_application_collections(self):
        # Consumer control (media keys), then a keyboard; the mouse's
        # inner physical collection is not an application.
        self.assertEqual([0x000C0001, KEYBOARD], self.usages(
            '050c0901a101c0' '05010906a101c0'))
        self.assertEqual([0x00010002], self.usages(
            '05010902a1010901a100c0c0'))

    def test_extended_usage_carries_its_page(self):
        # Usage (4 bytes) 0x00010006 under a vendor page is a keyboard.
        self.assertEqual([KEYBOARD], self.usages('06a0ff0b06000100a101c0'))

    def test_push_and_pop_restore_the_page(self):
        # Page 0x0C, Push, page 1, Pop: usage 6 is on page 0x0C again.
        self.assertEqual([0x000C0006], self.usages('050ca40501b40906a101c0'))

    def test_long_items_are_skipped(self):
        self.assertEqual([KEYBOARD],
                         self.usages('fe02aa0102' '05010906a101c0'))

    def test_malformed_descriptors_are_errors(self):
        for text in ('05', '0601', '0b060001', 'fe05aa01', 'b4'):
            self.assertRaises(ValueError, self.usages, text)

    @given(st.binary(max_size=512))
    def test_any_bytes_give_usages_or_value_error(self, data):
        try:
            usages = classes.hid_application_usages(data)
        except ValueError:
            return
        self.assertTrue(all(0 <= u < 1 << 32 for u in usages))
