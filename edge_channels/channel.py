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

"""What a channel is in Neutron: the contract every side imports.

A channel is a WireGuard tunnel between a device (the *spoke*) and a
cloud-side *hub*.  Both ends are Neutron ports told apart by their
``device_owner``; their ``binding:profile`` holds the WireGuard facts:

* hub:   ``{"public_key": .., "endpoint": "ip:port"}``, written by the hub
  agent once its interface exists (empty until then);
* spoke: ``{"public_key": .., "endpoint"?: "ip:port", "peers": [hub ID]}``,
  written by the channel API in the one create of the spoke port.

The channel API, the ML2 mechanism driver, the hub agent and the Edge
SDK all validate with these functions, so that none of them accepts
what another would refuse.  Only the standard library and
``edge_channels.exception`` are imported.
"""

import base64
import binascii
import collections
import ipaddress
import re
import uuid

from edge_channels import exception


CHANNEL_TYPE_WIREGUARD = 'wireguard'
CHANNEL_TYPES = (CHANNEL_TYPE_WIREGUARD,)

ROLE_HUB = 'hub'
ROLE_SPOKE = 'spoke'
ROLES = (ROLE_HUB, ROLE_SPOKE)

DEVICE_OWNER_PREFIX = 'channel:'
DEVICE_OWNER_HUB = 'channel:wireguard:hub'
DEVICE_OWNER_SPOKE = 'channel:wireguard:spoke'

#: Keys of ``binding:profile``.
PROFILE_PUBLIC_KEY = 'public_key'
PROFILE_ENDPOINT = 'endpoint'
PROFILE_PEERS = 'peers'
HUB_PROFILE_KEYS = frozenset((PROFILE_PUBLIC_KEY, PROFILE_ENDPOINT))
SPOKE_PROFILE_KEYS = frozenset(
    (PROFILE_PUBLIC_KEY, PROFILE_ENDPOINT, PROFILE_PEERS))

#: A WireGuard key (Curve25519) is 32 bytes; base64 of it is 44 chars.
KEY_BYTES = 32
KEY_BASE64_LEN = 44
PORT_MIN = 1
PORT_MAX = 65535

ChannelOwner = collections.namedtuple('ChannelOwner', 'channel_type role')

_ENDPOINT = re.compile(
    r'(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<v4>[0-9.]+)):(?P<port>[0-9]{1,5})')


def device_owner(role, channel_type=CHANNEL_TYPE_WIREGUARD):
    """The ``device_owner`` of a channel port of ``role``."""
    if channel_type not in CHANNEL_TYPES:
        raise exception.InvalidChannelType(
            channel_type=exception.quote(channel_type),
            types=', '.join(CHANNEL_TYPES))
    if role not in ROLES:
        raise ValueError('role %r: one of %s' % (role, ', '.join(ROLES)))
    return '%s%s:%s' % (DEVICE_OWNER_PREFIX, channel_type, role)


def is_channel_port(owner):
    """Whether ``owner`` (a port's ``device_owner``) claims a channel
    port, valid or not.
    """
    return isinstance(owner, str) and owner.startswith(DEVICE_OWNER_PREFIX)


def parse_device_owner(owner):
    """``ChannelOwner(channel_type, role)`` of a channel port's
    ``device_owner``; ``None`` for a port that is not a channel's.

    Raises ``InvalidDeviceOwner`` for an owner that starts with
    ``channel:`` but names no known type and role, so that such a port
    is refused rather than silently treated as a foreign one.
    """
    if not is_channel_port(owner):
        return None
    parts = owner.split(':')
    if len(parts) != 3:
        reason = 'expected three parts separated by ":"'
    elif parts[1] not in CHANNEL_TYPES:
        reason = 'unknown channel type %s' % exception.quote(parts[1])
    elif parts[2] not in ROLES:
        reason = 'unknown role %s' % exception.quote(parts[2])
    else:
        return ChannelOwner(parts[1], parts[2])
    raise exception.InvalidDeviceOwner(
        owner=exception.quote(owner), reason=reason,
        types=', '.join(CHANNEL_TYPES))


def validate_public_key(key):
    """``key`` if it is a WireGuard public key as ``wg pubkey`` prints
    it: standard (not URL-safe) base64, padded, of exactly 32 bytes, in
    its one canonical spelling (``wg`` refuses keys whose unused low
    bits are set; so do we).

    Raises ``InvalidPublicKey`` (a ``ValueError``) otherwise.
    """
    def refuse(reason):
        raise exception.InvalidPublicKey(key=exception.quote(key),
                                         reason=reason)

    if not isinstance(key, str):
        refuse('not a string')
    try:
        raw = base64.b64decode(key.encode('ascii'), validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        refuse('not standard base64')
    if len(raw) != KEY_BYTES:
        refuse('decodes to %d bytes, not %d' % (len(raw), KEY_BYTES))
    if base64.b64encode(raw).decode('ascii') != key:
        refuse('not the canonical base64 of its 32 bytes')
    return key


def parse_endpoint(endpoint):
    """``(ipaddress.IPv4Address | IPv6Address, port)`` of an endpoint
    ``"ip:port"`` or ``"[v6]:port"``.

    Host names are refused (WireGuard resolves them once, at
    configuration time, which is not what a hub that moves needs), and
    so are IPv6 zone IDs, which mean nothing on another host.
    Raises ``InvalidEndpoint`` (a ``ValueError``).
    """
    def refuse(reason):
        raise exception.InvalidEndpoint(
            endpoint=exception.quote(endpoint), reason=reason)

    if not isinstance(endpoint, str):
        refuse('not a string')
    match = _ENDPOINT.fullmatch(endpoint)
    if not match:
        refuse('not "IPv4:port" or "[IPv6]:port"')
    port = int(match.group('port'))
    if not PORT_MIN <= port <= PORT_MAX:
        refuse('port %d is outside %d-%d' % (port, PORT_MIN, PORT_MAX))
    if match.group('port') != str(port):
        refuse('port has leading zeros')
    try:
        if match.group('v6') is not None:
            address = ipaddress.IPv6Address(match.group('v6'))
        else:
            address = ipaddress.IPv4Address(match.group('v4'))
    except ValueError:
        refuse('not an IP address')
    if address.is_unspecified or address.is_multicast:
        refuse('%s cannot be the address of a peer' % address)
    return address, port


def format_endpoint(address, port):
    """The endpoint string of ``address`` and ``port``."""
    address = ipaddress.ip_address(address)
    if address.version == 6:
        return '[%s]:%d' % (address, port)
    return '%s:%d' % (address, port)


def validate_endpoint(endpoint):
    """The canonical spelling of a valid endpoint (IPv6 compressed and
    lower case); raises ``InvalidEndpoint`` for an invalid one.
    """
    return format_endpoint(*parse_endpoint(endpoint))


def validate_peers(peers):
    """``peers`` (hub port IDs of a spoke) as a list of lower-case UUID
    strings; it must not be empty: a spoke without a hub is no channel.
    """
    if not isinstance(peers, list) or not peers:
        raise exception.InvalidProfile(
            role=ROLE_SPOKE,
            reason='"peers" must be a non-empty list of hub port IDs')
    result = []
    for peer in peers:
        try:
            result.append(str(uuid.UUID(peer)))
        except (TypeError, ValueError, AttributeError):
            raise exception.InvalidProfile(
                role=ROLE_SPOKE,
                reason='peer %s is not a port ID' % exception.quote(peer))
    return result


def validate_profile(role, profile):
    """The canonical ``binding:profile`` of a channel port of ``role``.

    A hub's may be empty (its agent has not reported yet) or hold both
    ``public_key`` and ``endpoint``.  A spoke's holds ``public_key`` and
    ``peers``, and optionally ``endpoint`` (a device behind NAT has
    none).  Any other key is refused.  Raises ``Invalid`` subclasses.
    """
    if not isinstance(profile, dict):
        raise exception.InvalidProfile(role=role, reason='not an object')
    allowed = HUB_PROFILE_KEYS if role == ROLE_HUB else SPOKE_PROFILE_KEYS
    unknown = sorted(set(profile) - allowed)
    if unknown:
        raise exception.InvalidProfile(
            role=role, reason='unknown keys %s; allowed: %s' % (
                ', '.join(exception.quote(k) for k in unknown),
                ', '.join(sorted(allowed))))
    result = {}
    if role == ROLE_HUB:
        if profile and set(profile) != HUB_PROFILE_KEYS:
            raise exception.InvalidProfile(
                role=role,
                reason='a hub reports both public_key and endpoint')
    elif role == ROLE_SPOKE:
        missing = sorted({PROFILE_PUBLIC_KEY, PROFILE_PEERS} - set(profile))
        if missing:
            raise exception.InvalidProfile(
                role=role, reason='missing %s' % ', '.join(missing))
        result[PROFILE_PEERS] = validate_peers(profile[PROFILE_PEERS])
    else:
        raise ValueError('role %r: one of %s' % (role, ', '.join(ROLES)))
    if PROFILE_PUBLIC_KEY in profile:
        result[PROFILE_PUBLIC_KEY] = validate_public_key(
            profile[PROFILE_PUBLIC_KEY])
    if PROFILE_ENDPOINT in profile:
        result[PROFILE_ENDPOINT] = validate_endpoint(
            profile[PROFILE_ENDPOINT])
    return result
