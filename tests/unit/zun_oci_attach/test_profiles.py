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

import types

import testtools
from hypothesis import given
from hypothesis import strategies as st

from zun_oci_attach import profiles


def container(labels=None, device_profiles=None):
    return types.SimpleNamespace(labels=labels,
                                 device_profiles=device_profiles)


class TestRequested(testtools.TestCase):

    def test_label_and_field_merge_in_order(self):
        self.assertEqual(
            ['cam', 'sdr', 'gpio'],
            profiles.requested(container({profiles.LABEL: 'cam, sdr'},
                                         ['sdr', 'gpio'])))

    def test_name_with_a_trailing_newline_is_refused(self):
        # The field is a list and is not split on white space, so the
        # name reaches the pattern whole.
        e = self.assertRaises(profiles.InvalidDeviceProfiles,
                              profiles.requested,
                              container(device_profiles=['ftdi\n']))
        self.assertIn("'ftdi\\n' is not a valid name", str(e))

    @given(st.text(min_size=1, max_size=20))
    def test_only_cyborg_names_pass(self, name):
        valid = all(c.isascii() and (c.isalnum() or c in '-_')
                    for c in name)
        try:
            self.assertEqual([name], profiles.requested(
                container(device_profiles=[name])))
        except profiles.InvalidDeviceProfiles:
            self.assertFalse(valid, name)
        else:
            self.assertTrue(valid, name)


class TestSources(testtools.TestCase):
    """The label is docker_oci's to claim, the field Zun's."""

    def test_each_source_alone(self):
        c = container({profiles.LABEL: 'cam sdr'}, ['gpio'])
        self.assertEqual(['cam', 'sdr'], profiles.from_label(c))
        self.assertEqual(['gpio'], profiles.from_field(c))

    def test_stock_zun_has_no_field(self):
        c = types.SimpleNamespace(labels={profiles.LABEL: 'cam'})
        self.assertEqual([], profiles.from_field(c))
        self.assertEqual(['cam'], profiles.requested(c))
