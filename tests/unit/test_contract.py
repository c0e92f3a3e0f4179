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

"""The attach-handle contract: canonical, strict, small."""

import json

import testtools
from hypothesis import given
from hypothesis import strategies as st

from cyborg_peripherals import contract


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.text(max_size=12), inner, max_size=4), max_leaves=12)


class TestAttachInfo(testtools.TestCase):

    def test_canonical_encoding(self):
        info = contract.AttachInfo.for_device('camera-x-0123456789',
                                              'camera')
        self.assertEqual(
            '{"cdi_device":"openstack.org/peripheral=camera-x-0123456789",'
            '"class":"camera","version":"1"}', info.encode())

    def test_decodes_cyborgs_dict_form(self):
        info = contract.AttachInfo.for_device('sdr-a', 'sdr')
        self.assertEqual(info, contract.AttachInfo.decode(info.to_dict()))
        self.assertEqual(info, contract.AttachInfo.decode(info.encode()))
        self.assertEqual('sdr-a', info.cdi_name)

    def test_refuses_other_kinds_extra_keys_and_versions(self):
        good = contract.AttachInfo.for_device('sdr-a', 'sdr').to_dict()
        for bad in (dict(good, cdi_device='nvidia.com/gpu=0'),
                    dict(good, extra='1'),
                    {k: v for k, v in good.items() if k != 'class'},
                    dict(good, version='2'),
                    dict(good, cdi_device='openstack.org/peripheral=-x'),
                    dict(good, **{'class': 'Camera!'}),
                    dict(good, version=1),
                    '[]', 'not json', '{"a":', 'x' * 5000):
            self.assertRaises(contract.InvalidAttachInfo,
                              contract.AttachInfo.decode, bad)

    @given(json_values)
    def test_hostile_input_only_raises_invalid_attach_info(self, value):
        for form in (value, json.dumps(value)):
            try:
                contract.AttachInfo.decode(form)
            except contract.InvalidAttachInfo:
                pass

    def test_trailing_newlines_are_not_names(self):
        # A regex "$" matches before a final newline; names must match as
        # a whole.
        good = contract.AttachInfo.for_device('sdr-a', 'sdr').to_dict()
        for bad in (dict(good, cdi_device=good['cdi_device'] + '\n'),
                    dict(good, cdi_device='openstack.org/peripheral\n='
                                          'sdr-a'),
                    dict(good, **{'class': 'sdr\n'})):
            self.assertRaises(contract.InvalidAttachInfo,
                              contract.AttachInfo.decode, bad)

    def test_deep_nesting_is_invalid_not_a_recursion_error(self):
        # Within the length allowed, deeper than Python's recursion limit.
        for text in ('[' * 2048 + ']' * 2048,
                     '{"class":' + '[' * 2000 + ']' * 2000 + '}'):
            e = self.assertRaises(contract.InvalidAttachInfo,
                                  contract.AttachInfo.decode, text)
            self.assertIn('nested too deeply', str(e))


class TestDeviceClass(testtools.TestCase):

    def test_class_is_the_start_of_the_name(self):
        for name, device_class in (('camera-x-0123456789', 'camera'),
                                   ('usb_serial-ftdi-1-abc', 'usb_serial'),
                                   ('sdr0', None), ('Camera-x', None),
                                   ('-x', None), ('serial', None)):
            self.assertEqual(device_class, contract.device_class_of(name))
