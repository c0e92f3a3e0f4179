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

import ast
import base64
import binascii
import inspect
import ipaddress
import uuid

import testtools
from hypothesis import assume
from hypothesis import given
from hypothesis import strategies as st

from edge_channels import channel
from edge_channels import exception
from edge_common import exception as common_exception


KEYS = st.binary(min_size=32, max_size=32).map(
    lambda raw: base64.b64encode(raw).decode('ascii'))
PORTS = st.integers(min_value=1, max_value=65535)


def _decodes_to_32(text):
    try:
        return len(base64.b64decode(text, validate=True)) == 32
    except (binascii.Error, ValueError):
        return False


class PublicKeyTest(testtools.TestCase):

    @given(KEYS)
    def test_valid_keys_round_trip(self, key):
        self.assertEqual(key, channel.validate_public_key(key))

    @given(st.binary(max_size=64).filter(lambda raw: len(raw) != 32))
    def test_other_lengths_refused(self, raw):
        key = base64.b64encode(raw).decode('ascii')
        e = self.assertRaises(exception.InvalidPublicKey,
                              channel.validate_public_key, key)
        self.assertIn('exactly 32 bytes', str(e))
        self.assertEqual(400, e.code)

    @given(st.text(max_size=60))
    def test_text_not_decoding_to_32_bytes_refused(self, text):
        assume(not _decodes_to_32(text))
        self.assertRaises(ValueError, channel.validate_public_key, text)

    @given(KEYS, st.sampled_from(['-', '_']))
    def test_url_safe_alphabet_refused(self, key, char):
        bad = key.replace('+', char).replace('/', char)
        assume(bad != key)
        self.assertRaises(ValueError, channel.validate_public_key, bad)

    @given(KEYS)
    def test_unpadded_or_spaced_refused(self, key):
        for bad in (key.rstrip('='), ' ' + key, key + '\n', key + '=='):
            self.assertRaises(ValueError, channel.validate_public_key, bad)

    def test_noncanonical_trailing_bits_refused(self):
        # 'AB=' style: the last character carries bits beyond the key.
        key = 'A' * 42 + 'B='
        self.assertEqual(32, len(base64.b64decode(key)))
        e = self.assertRaises(ValueError, channel.validate_public_key, key)
        self.assertIn('canonical', str(e))

    def test_non_strings_refused(self):
        for bad in (None, 32, b'A' * 44, ['x'], {'k': 'v'}):
            self.assertRaises(ValueError, channel.validate_public_key, bad)

    def test_long_input_is_not_echoed_whole(self):
        bad = 'x' * 10000
        e = self.assertRaises(ValueError, channel.validate_public_key, bad)
        self.assertLess(len(str(e)), 400)


class EndpointTest(testtools.TestCase):

    @given(st.ip_addresses(v=4), PORTS)
    def test_ipv4_round_trips(self, address, port):
        assume(not address.is_unspecified and not address.is_multicast)
        text = '%s:%d' % (address, port)
        self.assertEqual(text, channel.validate_endpoint(text))
        self.assertEqual((address, port), channel.parse_endpoint(text))

    @given(st.ip_addresses(v=6), PORTS)
    def test_ipv6_in_brackets_round_trips(self, address, port):
        assume(not address.is_unspecified and not address.is_multicast)
        text = '[%s]:%d' % (address.exploded.upper(), port)
        self.assertEqual('[%s]:%d' % (address, port),
                         channel.validate_endpoint(text))

    @given(st.ip_addresses(v=6), PORTS)
    def test_ipv6_without_brackets_refused(self, address, port):
        self.assertRaises(exception.InvalidEndpoint,
                          channel.validate_endpoint,
                          '%s:%d' % (address, port))

    @given(st.ip_addresses(), st.integers().filter(
        lambda p: not 1 <= p <= 65535))
    def test_ports_outside_range_refused(self, address, port):
        text = channel.format_endpoint(address, 1).rsplit(':', 1)[0]
        self.assertRaises(exception.InvalidEndpoint,
                          channel.validate_endpoint, '%s:%d' % (text, port))

    @given(st.text(max_size=40))
    def test_arbitrary_text_is_valid_only_when_it_parses(self, text):
        try:
            canonical = channel.validate_endpoint(text)
        except exception.InvalidEndpoint as e:
            self.assertIn('Endpoint', str(e))
            return
        host, port = canonical.rsplit(':', 1)
        ipaddress.ip_address(host.strip('[]'))
        self.assertTrue(1 <= int(port) <= 65535)

    def test_refused_examples(self):
        for bad in ('192.0.2.1', '192.0.2.1:', ':51820', 'hub.example:51820',
                    '192.0.2.1:0', '192.0.2.1:65536', '192.0.2.1:051820',
                    '192.0.2.256:1', '0.0.0.0:51820', '224.0.0.1:1',
                    '[::]:1', '[fe80::1%eth0]:1', '[192.0.2.1]:1',
                    '192.0.2.1:1 ', '192.0.2.1:+1', None, 51820):
            e = self.assertRaises(exception.InvalidEndpoint,
                                  channel.validate_endpoint, bad)
            self.assertEqual(400, e.code)
            self.assertIn('[IPv6]:port', str(e))


class DeviceOwnerTest(testtools.TestCase):

    def test_constants_are_what_device_owner_builds(self):
        self.assertEqual(channel.DEVICE_OWNER_HUB,
                         channel.device_owner(channel.ROLE_HUB))
        self.assertEqual(channel.DEVICE_OWNER_SPOKE,
                         channel.device_owner(channel.ROLE_SPOKE))

    @given(st.sampled_from(channel.CHANNEL_TYPES),
           st.sampled_from(channel.ROLES))
    def test_parse_inverts_device_owner(self, channel_type, role):
        owner = channel.device_owner(role, channel_type)
        self.assertEqual((channel_type, role),
                         channel.parse_device_owner(owner))

    @given(st.text().filter(lambda s: not s.startswith('channel:')))
    def test_other_owners_are_not_channels(self, owner):
        self.assertIsNone(channel.parse_device_owner(owner))
        self.assertFalse(channel.is_channel_port(owner))

    def test_non_string_owners_are_not_channels(self):
        self.assertIsNone(channel.parse_device_owner(None))

    def test_malformed_channel_owners_refused(self):
        for bad in ('channel:', 'channel:wireguard', 'channel:ipsec:hub',
                    'channel:wireguard:relay', 'channel:wireguard:hub:x'):
            e = self.assertRaises(exception.InvalidDeviceOwner,
                                  channel.parse_device_owner, bad)
            self.assertIn('channel:<type>:hub', str(e))

    def test_unknown_type_refused_when_building(self):
        self.assertRaises(exception.InvalidChannelType,
                          channel.device_owner, 'hub', 'ipsec')


class ProfileTest(testtools.TestCase):

    @given(KEYS, st.lists(st.uuids(), min_size=1, max_size=3))
    def test_spoke_profile_canonical(self, key, peers):
        profile = {'public_key': key,
                   'peers': [str(p).upper() for p in peers]}
        self.assertEqual({'public_key': key,
                          'peers': [str(p) for p in peers]},
                         channel.validate_profile('spoke', profile))

    def test_spoke_without_peers_refused(self):
        key = base64.b64encode(b'k' * 32).decode()
        for profile in ({'public_key': key},
                        {'public_key': key, 'peers': []},
                        {'public_key': key, 'peers': 'abc'},
                        {'public_key': key, 'peers': ['not-a-uuid']}):
            self.assertRaises(exception.InvalidProfile,
                              channel.validate_profile, 'spoke', profile)

    def test_hub_profile_empty_or_complete(self):
        key = base64.b64encode(b'k' * 32).decode()
        self.assertEqual({}, channel.validate_profile('hub', {}))
        full = {'public_key': key, 'endpoint': '192.0.2.1:51820'}
        self.assertEqual(full, channel.validate_profile('hub', full))
        self.assertRaises(exception.InvalidProfile, channel.validate_profile,
                          'hub', {'public_key': key})
        self.assertRaises(exception.InvalidProfile, channel.validate_profile,
                          'hub', dict(full, peers=[str(uuid.uuid4())]))

    def test_unknown_keys_refused_by_name(self):
        e = self.assertRaises(exception.InvalidProfile,
                              channel.validate_profile, 'hub',
                              {'root_device': False})
        self.assertIn("'root_device'", str(e))


class DependencyFreeTest(testtools.TestCase):
    """The hub agent and the SDK import channel.py: stdlib only, with
    the error classes (edge_channels' and edge_common's).
    """

    def test_imports_only_stdlib_and_exception(self):
        stdlib = ('base64', 'binascii', 'collections', 'ipaddress', 're',
                  'uuid')
        ours = ('edge_channels.exception', 'edge_common.exception')
        for module in (channel, exception, common_exception):
            tree = ast.parse(inspect.getsource(module))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom):
                    names = ['%s.%s' % (node.module, a.name)
                             for a in node.names]
                else:
                    continue
                for name in names:
                    self.assertTrue(name.split('.')[0] in stdlib or
                                    name in ours, name)
