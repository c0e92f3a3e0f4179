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

import uuid

import testtools
from hypothesis import given
from hypothesis import strategies as st
from neutron_lib.api.definitions import portbindings

from edge_channels import naming


PREFIXES = st.from_regex(r'[a-z][a-z0-9-]{0,8}', fullmatch=True)


class BridgeNameTest(testtools.TestCase):

    @given(PREFIXES, st.uuids())
    def test_a_valid_interface_name_of_this_prefix(self, prefix, net):
        name = naming.bridge_name(str(net), prefix)
        self.assertLessEqual(len(name), naming.IFNAME_MAX)
        self.assertTrue(name.startswith(prefix))
        self.assertTrue(naming.is_bridge_name(name, prefix))

    def test_same_network_same_name_either_spelling(self):
        net = uuid.uuid4()
        self.assertEqual(naming.bridge_name(str(net), 'ebr-'),
                         naming.bridge_name(net.hex.upper(), 'ebr-'))

    def test_other_prefix_other_name(self):
        net = str(uuid.uuid4())
        one = naming.bridge_name(net, 'ebr-')
        self.assertFalse(naming.is_bridge_name(one, 'ebx-'))
        self.assertFalse(naming.is_bridge_name(one, 'eb'))

    def test_foreign_interfaces_are_not_ours(self):
        for name in ('eth0', 'docker0', 'brq1234567890a', 'ebr-', 'ebr-xyz',
                     'ebr-0123456789a-'):
            self.assertFalse(naming.is_bridge_name(name, 'ebr-'), name)

    def test_bad_prefixes_are_refused(self):
        for prefix in ('', 'Br', '1br', 'br_', 'abcdefghij', 'a b', None):
            e = self.assertRaises(ValueError, naming.check_prefix, prefix)
            self.assertIn('bridge prefix', str(e))

    def test_network_must_be_a_uuid(self):
        e = self.assertRaises(ValueError, naming.bridge_name,
                              '../../etc', 'ebr-')
        self.assertIn('not a UUID', str(e))


class ContractTest(testtools.TestCase):

    def test_bridge_name_key_is_neutron_libs(self):
        self.assertEqual(portbindings.VIF_DETAILS_BRIDGE_NAME,
                         naming.VIF_DETAILS_BRIDGE_NAME)
