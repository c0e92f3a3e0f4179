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

"""From a channel of the channel API to a WireGuard configuration.

Everything in a channel representation is untrusted input: it comes
over the network from a service the device does not control.  Each
value is validated with ``edge_channels.channel`` (the validators the
API, the ML2 driver and the hub agent use) and rendered from the parsed
value, never copied as text, so that no field can add a line to the
configuration ``wg setconf`` reads.
"""

import collections
import ipaddress

from edge_channels import channel as channel_contract
from edge_sdk import keys


IFNAME_PREFIX = 'ec-'

#: What a channel needs on the device: interface name, own address
#: (``ipaddress.IPv4Interface``/``IPv6Interface`` with the subnet's
#: prefix length) and its peers.
Tunnel = collections.namedtuple('Tunnel', 'ifname address peers')
#: One hub: public key, "ip:port" endpoint (or None), AllowedIPs (a
#: network) and keepalive seconds (0: none).
Peer = collections.namedtuple('Peer',
                              'public_key endpoint allowed_ips keepalive')


class ChannelNotReady(Exception):
    """The channel exists but cannot be configured yet (its hub has not
    reported a key and endpoint).  Try again later.
    """


class InvalidChannel(ValueError):
    """The channel API answered with something that is no channel."""


def interface_name(channel_name):
    """``ec-<name>``: at most 15 characters, as Linux requires."""
    return IFNAME_PREFIX + keys.check_name(channel_name)


def check_interface(ifname):
    """``ifname`` if it is an interface the SDK may manage."""
    if not isinstance(ifname, str) or not ifname.startswith(IFNAME_PREFIX):
        raise ValueError('interface %r is not one of the Edge SDK (%s*)'
                         % (ifname, IFNAME_PREFIX))
    keys.check_name(ifname[len(IFNAME_PREFIX):])
    return ifname


def make_peer(public_key, endpoint, allowed_ips, keepalive):
    """A ``Peer`` of validated values; raises ``ValueError``."""
    public_key = channel_contract.validate_public_key(public_key)
    if endpoint is not None:
        endpoint = channel_contract.validate_endpoint(endpoint)
    allowed_ips = ipaddress.ip_network(allowed_ips, strict=True)
    if isinstance(keepalive, bool) or not isinstance(keepalive, int) \
            or not 0 <= keepalive <= 65535:
        raise ValueError('keepalive %r: an integer from 0 to 65535'
                         % (keepalive,))
    return Peer(public_key, endpoint, allowed_ips, keepalive)


def _field(obj, key, what):
    if not isinstance(obj, dict) or key not in obj:
        raise InvalidChannel('%s has no "%s"' % (what, key))
    return obj[key]


def _text(value):
    # JSON numbers would make valid addresses for ipaddress.
    if not isinstance(value, str):
        raise TypeError('%r is not a string' % (value,))
    return value


def parse_address(text):
    """An interface address ``"ip/prefix"`` given as text."""
    return ipaddress.ip_interface(_text(text))


def tunnel_from_channel(channel_name, channel, keepalive):
    """The ``Tunnel`` of ``channel`` (a representation as ``GET
    /channels/<uuid>`` returns it).

    Raises ``InvalidChannel`` (a ``ValueError``) for a malformed or
    hostile representation and ``ChannelNotReady`` while the hub has not
    reported its key and endpoint.
    """
    ifname = interface_name(channel_name)
    what = 'channel %s' % channel_name
    props = _field(channel, 'properties', what)
    try:
        own_ip = ipaddress.ip_address(_text(_field(props, 'ip', what)))
    except (TypeError, ValueError) as e:
        raise InvalidChannel('%s: bad address: %s' % (what, e))
    hubs = _field(channel, 'peers', what)
    if not isinstance(hubs, list) or not hubs:
        raise ChannelNotReady('%s has no hub yet' % what)
    address = None
    peers = []
    for hub in hubs:
        hub_props = _field(hub, 'properties', what + ' peer')
        if not isinstance(hub_props, dict):
            raise InvalidChannel('%s: a hub without properties' % what)
        if not hub_props.get('public_key') or \
                not hub_props.get('endpoint'):
            raise ChannelNotReady(
                '%s: its hub has not reported its key and endpoint yet'
                % what)
        try:
            peer = make_peer(
                hub_props['public_key'], hub_props['endpoint'],
                _text(_field(hub_props, 'subnet', what + ' peer')),
                keepalive)
        except (TypeError, ValueError) as e:
            raise InvalidChannel('%s: bad hub: %s' % (what, e))
        if own_ip not in peer.allowed_ips:
            raise InvalidChannel('%s: address %s is outside the subnet %s'
                                 % (what, own_ip, peer.allowed_ips))
        if address is None:
            address = ipaddress.ip_interface(
                '%s/%d' % (own_ip, peer.allowed_ips.prefixlen))
        peers.append(peer)
    keys_seen = [p.public_key for p in peers]
    if len(set(keys_seen)) != len(keys_seen):
        raise InvalidChannel('%s: two hubs with one public key' % what)
    return Tunnel(ifname, address, tuple(peers))


def tunnel_to_dict(tunnel):
    """Plain types, to cross the privsep channel."""
    return {'ifname': tunnel.ifname, 'address': str(tunnel.address),
            'peers': [{'public_key': p.public_key, 'endpoint': p.endpoint,
                       'allowed_ips': str(p.allowed_ips),
                       'keepalive': p.keepalive} for p in tunnel.peers]}


def tunnel_from_dict(data):
    """The inverse of ``tunnel_to_dict``, validating every value."""
    if not isinstance(data, dict):
        raise ValueError('a tunnel is a dict')
    peers = data.get('peers')
    if not isinstance(peers, (list, tuple)):
        raise ValueError('a tunnel has a list of peers')
    return Tunnel(
        check_interface(data.get('ifname')),
        parse_address(data.get('address')),
        tuple(make_peer(p['public_key'], p['endpoint'],
                        _text(p['allowed_ips']), p['keepalive'])
              for p in peers))


def render(private_key, peers, listen_port=None):
    """The text ``wg setconf`` reads: the interface's private key and
    listen port, then one ``[Peer]`` per hub.

    Every value is validated again here (so rendering a hand-made
    ``Peer`` is as safe as one from ``tunnel_from_channel``) and written
    in its canonical form.
    """
    lines = ['[Interface]',
             'PrivateKey = %s' % keys.check_private(private_key)]
    if listen_port is not None:
        if isinstance(listen_port, bool) or \
                not isinstance(listen_port, int) or \
                not 1 <= listen_port <= 65535:
            raise ValueError('listen port %r: 1 to 65535' % (listen_port,))
        lines.append('ListenPort = %d' % listen_port)
    for peer in peers:
        peer = make_peer(*peer)
        lines += ['', '[Peer]', 'PublicKey = %s' % peer.public_key]
        if peer.endpoint:
            lines.append('Endpoint = %s' % peer.endpoint)
        lines.append('AllowedIPs = %s' % peer.allowed_ips)
        if peer.keepalive:
            lines.append('PersistentKeepalive = %d' % peer.keepalive)
    return '\n'.join(lines) + '\n'
