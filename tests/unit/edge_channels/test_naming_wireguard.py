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

"""The WireGuard interface name both the ML2 driver and the hub agent
compute for a hub port.
"""

import re
import uuid

import testtools
from hypothesis import given
from hypothesis import strategies as st

from edge_channels import naming


#: What the kernel accepts as an interface name (dev_valid_name), and
#: what ``ip`` takes without quoting.
IFNAME = re.compile(r'[A-Za-z0-9_.-]{1,15}')


class WireguardDeviceTest(testtools.TestCase):

    @given(st.uuids())
    def test_a_valid_interface_name_of_ours(self, port):
        name = naming.wireguard_device(str(port))
        self.assertLessEqual(len(name), naming.IFNAME_MAX)
        self.assertTrue(IFNAME.fullmatch(name), name)
        self.assertNotIn(name, ('.', '..'))
        self.assertTrue(name.startswith(naming.WIREGUARD_PREFIX))
        self.assertTrue(naming.is_wireguard_device(name))

    @given(st.uuids())
    def test_every_spelling_of_a_port_gives_one_name(self, port):
        name = naming.wireguard_device(str(port))
        for spelling in (port.hex, port.hex.upper(), str(port).upper()):
            self.assertEqual(name, naming.wireguard_device(spelling))

    @given(st.lists(st.uuids(), min_size=2, max_size=500, unique=True))
    def test_distinct_ports_distinct_names(self, ports):
        # 48 bits of random UUIDs: a clash among a host's hubs is as
        # likely as one among 500 draws of 2**48 (about 4e-10).
        names = {naming.wireguard_device(str(p)) for p in ports}
        self.assertEqual(len(ports), len(names))

    def test_chameleons_disagreement_cannot_happen(self):
        # networking-wireguard's agent cut "wg-<id>" at 15 characters
        # and its driver hashed it: a real port ID got two names.  Ours
        # is one function of the ID; its digits are the ID's first.
        port = '4b1c3e1f-0a9d-4c3e-9f55-6a1d2b3c4d5e'
        self.assertEqual('wg-4b1c3e1f0a9d', naming.wireguard_device(port))

    @given(st.text(max_size=40))
    def test_anything_but_a_uuid_is_refused(self, text):
        try:
            uuid_ok = str(uuid.UUID(text)) == text.lower() or (
                uuid.UUID(text).hex == text.lower())
        except ValueError:
            uuid_ok = False
        if uuid_ok:
            return
        e = self.assertRaises(ValueError, naming.wireguard_device, text)
        self.assertIn('not a UUID', str(e))

    def test_hostile_ids_are_refused(self):
        for bad in ('../../etc/passwd', '', None, 'wg-0',
                    '{%s}' % uuid.uuid4(), 'urn:uuid:%s' % uuid.uuid4(),
                    str(uuid.uuid4()) + '\n',
                    '0123-4567-89ab-cdef-0123456789abcdef'):
            self.assertRaises(ValueError, naming.wireguard_device, bad)

    def test_foreign_interfaces_are_not_ours(self):
        for name in ('wg0', 'wg-', 'wg-0123456789a', 'wg-0123456789abc',
                     'wg-0123456789AB', 'ebr-0123456789a', 'eth0', '',
                     None):
            self.assertFalse(naming.is_wireguard_device(name), name)
