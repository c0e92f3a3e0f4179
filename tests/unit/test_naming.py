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

"""Names from untrusted identities: always valid, stable and distinct."""

import re

import testtools
from hypothesis import given
from hypothesis import strategies as st

from cyborg_peripherals import contract
from cyborg_peripherals import naming
from cyborg_peripherals.cdi import names as cdi_names


# udev values can carry any text, including lone surrogates from
# undecodable bytes (surrogateescape).
identities = st.text(min_size=0, max_size=600).map(
    lambda s: 'serial:' + s) | st.text(max_size=300)
classes = st.sampled_from(['camera', 'sdr', 'serial', 'gpio', 'a_b9'])
hosts = st.from_regex(r'[A-Za-z0-9][A-Za-z0-9.-]{0,62}', fullmatch=True)

DEPLOYABLE_RE = re.compile(r'^[A-Za-z0-9_-]{1,200}$')


class TestNames(testtools.TestCase):

    @given(hosts, classes, identities)
    def test_deployable_name_is_valid_and_stable(self, host, cls, ident):
        name = naming.deployable_name(host, cls, ident)
        self.assertRegex(name, DEPLOYABLE_RE)
        self.assertEqual(name, naming.deployable_name(host, cls, ident))

    @given(classes, identities)
    def test_cdi_name_is_valid_and_fits_attach_info(self, cls, ident):
        name = naming.cdi_device_name(cls, ident)
        self.assertTrue(cdi_names.is_valid_device_name(name), name)
        self.assertNotIn(':', name)
        self.assertTrue(name[0].isalpha())
        info = contract.AttachInfo.for_device(name, cls).encode()
        self.assertLessEqual(len(info), contract.MAX_ATTACH_INFO_LEN)

    @given(classes, identities, identities)
    def test_different_identities_get_different_names(self, cls, a, b):
        if a == b:
            return
        self.assertNotEqual(naming.cdi_device_name(cls, a),
                            naming.cdi_device_name(cls, b))
        self.assertNotEqual(naming.deployable_name('h', cls, a),
                            naming.deployable_name('h', cls, b))

    def test_lookalikes_stay_apart(self):
        # Sanitizing maps both to "a_b"; the digest keeps them apart.
        self.assertNotEqual(naming.cdi_device_name('serial', 'serial:a.b'),
                            naming.cdi_device_name('serial', 'serial:a:b'))
        self.assertNotEqual(naming.deployable_name('h', 'serial', 'x:a.b'),
                            naming.deployable_name('h', 'serial', 'x:a_b'))

    def test_host_is_part_of_the_deployable_name(self):
        self.assertNotEqual(naming.deployable_name('a', 'sdr', 'serial:1'),
                            naming.deployable_name('b', 'sdr', 'serial:1'))

    def test_readable(self):
        self.assertEqual(
            'edge-1_serial_FTDI_FT232R_A1_if00-',
            naming.deployable_name('edge-1', 'serial',
                                   'serial:FTDI_FT232R_A1:if00')[:-10])

    @given(st.text(max_size=300))
    def test_trait_fragment(self, text):
        frag = naming.trait_fragment(text)
        self.assertRegex(frag, r'^[A-Z0-9_]{0,64}$')
        trait = naming.custom_trait('MODEL', text)
        self.assertRegex(trait, r'^CUSTOM_[A-Z0-9_]+$')
        self.assertLessEqual(len(trait), naming.MAX_TRAIT_LEN)

    def test_resource_class(self):
        self.assertEqual('CUSTOM_PERIPHERAL_CAMERA',
                         naming.resource_class('camera'))
