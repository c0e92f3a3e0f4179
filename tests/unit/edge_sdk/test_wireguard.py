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

"""Rendering the ``wg setconf`` configuration from untrusted channels:
whatever the channel API sends, the result is either refused or a
configuration of exactly the expected lines.
"""

import base64
import ipaddress
import uuid

import testtools
from hypothesis import given
from hypothesis import strategies as st

from edge_sdk import keys
from edge_sdk import wireguard


KEYS = st.binary(min_size=32, max_size=32).map(
    lambda raw: base64.b64encode(raw).decode('ascii'))
PORTS = st.integers(min_value=1, max_value=65535)
V4 = st.integers(min_value=1, max_value=2 ** 32 - 2).map(
    ipaddress.IPv4Address).filter(
        lambda a: not (a.is_multicast or a.is_unspecified))
ENDPOINTS = st.tuples(V4, PORTS).map(lambda t: '%s:%d' % t)
KEEPALIVE = st.integers(min_value=0, max_value=65535)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.text(max_size=8), inner, max_size=3),
    max_leaves=6)
#: Text that tries to smuggle configuration in.
HOSTILE = st.one_of(
    st.text(),
    st.builds(lambda good, extra: good + extra,
              KEYS | ENDPOINTS | st.just('10.0.0.0/24'),
              st.sampled_from(['\n[Peer]\nPublicKey = x', '\nListenPort = 1',
                               '\r\nAllowedIPs = 0.0.0.0/0', ' ', '\x00',
                               '\nPostUp = sh -c id', '#', '\u2028'])))

INTERFACE_KEYS = {'PrivateKey', 'ListenPort'}
PEER_KEYS = {'PublicKey', 'Endpoint', 'AllowedIPs', 'PersistentKeepalive'}


def parse(text):
    """(interface dict, [peer dict]) of a rendering; AssertionError for
    any line that is not one of ours.
    """
    assert text.endswith('\n') and '\r' not in text
    sections = []
    for line in text.split('\n')[:-1]:
        if line in ('[Interface]', '[Peer]'):
            sections.append((line, {}))
            continue
        if line == '':
            continue
        key, sep, value = line.partition(' = ')
        assert sep and sections, line
        allowed = (INTERFACE_KEYS if sections[-1][0] == '[Interface]'
                   else PEER_KEYS)
        assert key in allowed and key not in sections[-1][1], line
        assert value and value.isprintable() and ' ' not in value, line
        sections[-1][1][key] = value
    assert sections[0][0] == '[Interface]'
    assert all(s[0] == '[Peer]' for s in sections[1:])
    return sections[0][1], [s[1] for s in sections[1:]]


def channel(own_ip, hubs):
    return {'uuid': str(uuid.uuid4()), 'name': 'control',
            'channel_type': 'wireguard', 'status': 'ACTIVE',
            'properties': {'public_key': None, 'ip': own_ip},
            'peers': [{'uuid': str(uuid.uuid4()), 'status': 'ACTIVE',
                       'properties': props} for props in hubs]}


class RenderTest(testtools.TestCase):

    @given(KEYS, st.lists(st.tuples(KEYS, ENDPOINTS | st.none(),
                                    KEEPALIVE), max_size=4),
           st.none() | PORTS)
    def test_round_trip(self, private_key, peers, listen_port):
        made = [wireguard.make_peer(k, e, '10.1.0.0/24', ka)
                for k, e, ka in peers]
        interface, parsed = parse(wireguard.render(private_key, made,
                                                   listen_port))
        self.assertEqual(private_key, interface['PrivateKey'])
        self.assertEqual(None if listen_port is None else str(listen_port),
                         interface.get('ListenPort'))
        self.assertEqual(len(peers), len(parsed))
        for (key, endpoint, keepalive), peer in zip(peers, parsed):
            self.assertEqual(key, peer['PublicKey'])
            self.assertEqual(endpoint, peer.get('Endpoint'))
            self.assertEqual('10.1.0.0/24', peer['AllowedIPs'])
            self.assertEqual(str(keepalive) if keepalive else None,
                             peer.get('PersistentKeepalive'))

    @given(KEYS, KEYS, ENDPOINTS, st.integers(min_value=0, max_value=4),
           HOSTILE)
    def test_no_field_adds_a_line(self, private_key, hub_key, endpoint,
                                  field, hostile):
        values = [private_key, hub_key, endpoint, '10.2.0.0/16', 25]
        values[field] = hostile
        try:
            text = wireguard.render(values[0], [tuple(values[1:])])
        except (ValueError, TypeError):
            return
        interface, peers = parse(text)
        # Accepted: then it was a valid value, rendered canonically.
        self.assertEqual(1, len(peers))
        self.assertEqual({'PublicKey', 'Endpoint', 'AllowedIPs',
                          'PersistentKeepalive'}, set(peers[0]))

    @given(JSON, st.sampled_from(['ip', 'public_key', 'endpoint',
                                  'subnet', 'peers', 'properties']))
    def test_hostile_channel_values(self, value, where):
        hub = {'public_key': base64.b64encode(b'k' * 32).decode(),
               'endpoint': '192.0.2.1:51820', 'subnet': '10.3.0.0/24'}
        doc = channel('10.3.0.7', [hub])
        if where == 'ip':
            doc['properties']['ip'] = value
        elif where == 'peers':
            doc['peers'] = value
        elif where == 'properties':
            doc['peers'][0]['properties'] = value
        else:
            hub[where] = value
        try:
            tunnel = wireguard.tunnel_from_channel('control', doc, 25)
        except (ValueError, wireguard.ChannelNotReady):
            return
        interface, peers = parse(wireguard.render(
            keys.encode_private(_x25519()), tunnel.peers))
        self.assertEqual(len(tunnel.peers), len(peers))
        self.assertIn(ipaddress.ip_address('10.3.0.7'),
                      tunnel.address.network)

    @given(st.text())
    def test_hostile_ip_refused_or_canonical(self, text):
        hub = {'public_key': base64.b64encode(b'k' * 32).decode(),
               'endpoint': '192.0.2.1:51820', 'subnet': '10.3.0.0/24'}
        try:
            tunnel = wireguard.tunnel_from_channel(
                'control', channel(text, [hub]), 25)
        except ValueError:
            return
        self.assertEqual(text, str(tunnel.address.ip))


class ChannelTest(testtools.TestCase):

    HUB = {'public_key': base64.b64encode(b'h' * 32).decode(),
           'endpoint': '192.0.2.1:51820', 'subnet': '10.4.0.0/22'}

    def test_tunnel_of_a_channel(self):
        tunnel = wireguard.tunnel_from_channel(
            'control', channel('10.4.1.9', [self.HUB]), 15)
        self.assertEqual('ec-control', tunnel.ifname)
        self.assertEqual(ipaddress.ip_interface('10.4.1.9/22'),
                         tunnel.address)
        self.assertEqual(
            (wireguard.Peer(self.HUB['public_key'], '192.0.2.1:51820',
                            ipaddress.ip_network('10.4.0.0/22'), 15),),
            tunnel.peers)
        # Through the privsep wire format and back.
        self.assertEqual(tunnel, wireguard.tunnel_from_dict(
            wireguard.tunnel_to_dict(tunnel)))

    def test_hub_not_reported_yet(self):
        e = self.assertRaises(
            wireguard.ChannelNotReady, wireguard.tunnel_from_channel,
            'control', channel('10.4.1.9', [{'subnet': '10.4.0.0/22'}]),
            15)
        self.assertIn('not reported', str(e))
        self.assertRaises(wireguard.ChannelNotReady,
                          wireguard.tunnel_from_channel, 'control',
                          channel('10.4.1.9', []), 15)

    def test_address_outside_subnet(self):
        e = self.assertRaises(
            wireguard.InvalidChannel, wireguard.tunnel_from_channel,
            'control', channel('10.9.0.1', [self.HUB]), 15)
        self.assertIn('outside', str(e))

    def test_numbers_are_not_addresses(self):
        self.assertRaises(ValueError, wireguard.tunnel_from_channel,
                          'control', channel(167772161, [self.HUB]), 15)
        hub = dict(self.HUB, subnet=167772160)
        self.assertRaises(ValueError, wireguard.tunnel_from_channel,
                          'control', channel('10.0.0.1', [hub]), 15)

    def test_interface_names(self):
        self.assertEqual('ec-abcdefghijkl',
                         wireguard.interface_name('abcdefghijkl'))
        for bad in ('ec-', 'eth0', 'ec-../x', 'ec-' + 'a' * 13, None, 3):
            self.assertRaises(ValueError, wireguard.check_interface, bad)


def _x25519():
    from cryptography.hazmat.primitives.asymmetric import x25519
    return x25519.X25519PrivateKey.generate()
