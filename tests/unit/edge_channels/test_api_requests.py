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

"""Request bodies and the representation of the channel API."""

import base64
import ipaddress
import uuid

import testtools
from hypothesis import given
from hypothesis import strategies as st

from edge_channels import channel
from edge_channels import exception
from edge_channels.api import schema


KEYS = st.binary(min_size=32, max_size=32).map(
    lambda raw: base64.b64encode(raw).decode())
ENDPOINTS = st.tuples(st.ip_addresses(v=4).filter(
    lambda a: not a.is_unspecified and not a.is_multicast),
    st.integers(1, 65535)).map(lambda t: '%s:%d' % t)
NAMES = st.text(max_size=255)


class CreateBodyTest(testtools.TestCase):

    @given(KEYS, st.one_of(st.none(), ENDPOINTS), st.one_of(st.none(),
                                                            NAMES))
    def test_valid_bodies_pass(self, key, endpoint, name):
        props = {'public_key': key}
        if endpoint is not None:
            props['endpoint'] = endpoint
        body = {'channel_type': 'wireguard', 'properties': props}
        if name is not None:
            body['name'] = name
        fields = schema.parse_create(body)
        self.assertEqual(props, fields['properties'])
        self.assertEqual(name, fields['name'])
        self.assertIsNone(fields['project_id'])

    @given(st.text(min_size=1).filter(
        lambda k: k not in schema.CREATE_KEYS), KEYS)
    def test_unknown_keys_are_named(self, extra, key):
        body = {'channel_type': 'wireguard',
                'properties': {'public_key': key}, extra: 1}
        e = self.assertRaises(exception.Invalid, schema.parse_create, body)
        self.assertIn('unknown keys', str(e))
        self.assertIn(exception.quote(extra)[:20], str(e))

    @given(st.text(min_size=1).filter(
        lambda k: k not in ('public_key', 'endpoint')), KEYS)
    def test_unknown_properties_are_refused(self, extra, key):
        body = {'channel_type': 'wireguard',
                'properties': {'public_key': key, extra: 'x'}}
        self.assertRaises(exception.Invalid, schema.parse_create, body)

    def test_required_and_typed(self):
        key = base64.b64encode(b'k' * 32).decode()
        for body in ({}, {'channel_type': 'wireguard'},
                     {'properties': {'public_key': key}},
                     {'channel_type': 'wireguard', 'properties': key},
                     {'channel_type': 'wireguard', 'properties': {}},
                     {'channel_type': 'wireguard',
                      'properties': {'public_key': key},
                      'channel_address': '10.0.0.300'},
                     {'channel_type': 'wireguard',
                      'properties': {'public_key': key}, 'subnet': 5},
                     {'channel_type': 'wireguard',
                      'properties': {'public_key': key}, 'project_id': ''},
                     [], 'channel', None):
            e = self.assertRaises(exception.Invalid, schema.parse_create,
                                  body)
            self.assertEqual(400, e.code)

    def test_address_is_parsed(self):
        key = base64.b64encode(b'k' * 32).decode()
        fields = schema.parse_create({
            'channel_type': 'wireguard', 'properties': {'public_key': key},
            'channel_address': '2001:db8::5'})
        self.assertEqual(ipaddress.ip_address('2001:db8::5'),
                         fields['channel_address'])


class UpdateBodyTest(testtools.TestCase):

    def test_endpoint_null_clears(self):
        fields = schema.parse_update({'properties': {'endpoint': None}})
        self.assertEqual({'endpoint': None}, fields['properties'])

    def test_nothing_to_change(self):
        for body in ({}, {'properties': {}}):
            e = self.assertRaises(exception.Invalid, schema.parse_update,
                                  body)
            self.assertIn('nothing to change', str(e))

    def test_peers_and_project_cannot_be_changed(self):
        for body in ({'properties': {'peers': []}},
                     {'project_id': uuid.uuid4().hex},
                     {'channel_type': 'wireguard'}):
            self.assertRaises(exception.Invalid, schema.parse_update, body)


class RepresentationTest(testtools.TestCase):

    def _port(self, owner, profile, ip, subnet_id):
        return {'id': str(uuid.uuid4()), 'name': 'n',
                'project_id': uuid.uuid4().hex, 'device_owner': owner,
                'status': 'DOWN', 'binding:profile': profile,
                'fixed_ips': [{'subnet_id': subnet_id, 'ip_address': ip}]}

    def test_chameleon_keys_and_ours(self):
        subnet = str(uuid.uuid4())
        hub = self._port(channel.DEVICE_OWNER_HUB,
                         {'public_key': 'H', 'endpoint': '192.0.2.1:5'},
                         '10.0.0.2', subnet)
        spoke = self._port(channel.DEVICE_OWNER_SPOKE,
                           {'public_key': 'S', 'peers': [hub['id']]},
                           '10.0.0.3', subnet)
        rep = schema.channel_repr(spoke, [hub], {subnet: '10.0.0.0/24'})
        # Chameleon's create_channel_representation, and name/project_id.
        self.assertEqual({'uuid', 'channel_type', 'peers', 'status',
                          'properties', 'name', 'project_id'}, set(rep))
        self.assertEqual({'public_key': 'S', 'endpoint': None,
                          'ip': '10.0.0.3'}, rep['properties'])
        self.assertEqual([{'uuid': hub['id'], 'status': 'DOWN',
                           'properties': {'public_key': 'H',
                                          'endpoint': '192.0.2.1:5',
                                          'ip': '10.0.0.2',
                                          'subnet': '10.0.0.0/24'}}],
                         rep['peers'])
        self.assertEqual('wireguard', rep['channel_type'])


HOSTS = st.from_regex(r'[A-Za-z0-9][A-Za-z0-9._-]{0,254}', fullmatch=True)


class HostTest(testtools.TestCase):
    """``host``: the edge host a channel serves, an optional key."""

    def _body(self, **extra):
        key = base64.b64encode(b'k' * 32).decode()
        return dict({'channel_type': 'wireguard',
                     'properties': {'public_key': key}}, **extra)

    @given(HOSTS)
    def test_host_names_pass(self, host):
        self.assertEqual(host, schema.parse_create(
            self._body(host=host))['host'])

    def test_absent_is_none(self):
        self.assertIsNone(schema.parse_create(self._body())['host'])

    @given(st.one_of(
        st.text().filter(lambda h: not schema.HOST.fullmatch(h)),
        st.integers(), st.lists(st.text(), max_size=2),
        st.just('h' * 256)))
    def test_anything_else_is_refused_and_explained(self, host):
        e = self.assertRaises(exception.Invalid, schema.parse_create,
                              self._body(host=host))
        self.assertEqual(400, e.code)
        self.assertIn("edge host's name", str(e))

    def test_not_changed_by_an_update(self):
        # The representation does not show it; a create sets it once.
        self.assertRaises(exception.Invalid, schema.parse_update,
                          {'host': 'edge-1'})
