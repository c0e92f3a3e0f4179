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

"""What a hub's interface should be, from its Neutron ports, and the
fewest operations that make it so.  Pure: no Neutron, no kernel.

A hub's interface has the hub's fixed IPs as host addresses (/32,
/128), one peer per spoke with AllowedIPs = the spoke's fixed IPs as
host prefixes, and a host route per spoke address.  Host prefixes only:
two hubs of different projects on one subnet then never claim each
other's spokes.

A peer that is new on the interface gets the spoke's last known
endpoint, if any, and the hub starts a handshake to it (``linux``): an
interface rebuilt from Neutron (a reboot, wireguard-go gone) has lost
its sessions, and a device that only sends keepalives would otherwise
not make a new one before its own rekey, up to two minutes later.  An
existing peer's endpoint is never set: WireGuard follows a roaming
device by itself.
"""

import collections
import ipaddress

from oslo_log import log as logging

from edge_channels import channel


LOG = logging.getLogger(__name__)

#: Operations, in the order ``plan`` returns them: the hub's address
#: first, peers before their routes, removals before additions.
ADDRESS_ADD = 'address_add'
PEER_REMOVE = 'peer_remove'
ROUTE_DEL = 'route_del'
PEER_SET = 'peer_set'
ROUTE_ADD = 'route_add'
ADDRESS_DEL = 'address_del'
ORDER = (ADDRESS_ADD, PEER_REMOVE, ROUTE_DEL, PEER_SET, ROUTE_ADD,
         ADDRESS_DEL)

#: ``endpoints``: {public key: the best endpoint known}, for new peers.
Desired = collections.namedtuple('Desired',
                                 'addresses peers routes endpoints')
Actual = collections.namedtuple('Actual', 'addresses peers routes')


def host_prefix(address):
    address = ipaddress.ip_address(address)
    return str(ipaddress.ip_network(address))


def _fixed_ips(port):
    return sorted({host_prefix(ip['ip_address'])
                   for ip in port.get('fixed_ips') or ()})


def spokes_of(hub_id, ports):
    """The spokes among ``ports`` whose profile names ``hub_id`` as a
    peer.
    """
    found = []
    for port in ports:
        if port.get('device_owner') != channel.DEVICE_OWNER_SPOKE:
            continue
        profile = port.get('binding:profile') or {}
        peers = profile.get(channel.PROFILE_PEERS)
        if isinstance(peers, list) and hub_id in peers:
            found.append(port)
    return found


def desired(hub, spokes, hub_public_key=None):
    """``Desired`` of hub port ``hub`` and its ``spokes`` (ports).

    Spokes with an invalid key or no address are skipped (with a
    warning: Neutron's validation should have refused them).  Spokes
    sharing a public key share its peer: WireGuard keys a peer by its
    key, and only the holder of the private key can use any of them.
    Endpoints are those the spokes declare (``endpoint`` in their
    profile); ``with_learned`` puts where the devices were heard from
    first.
    """
    peers = {}
    endpoints = {}
    for spoke in sorted(spokes, key=lambda p: p['id']):
        profile = spoke.get('binding:profile') or {}
        try:
            key = channel.validate_public_key(
                profile.get(channel.PROFILE_PUBLIC_KEY))
        except ValueError as e:
            LOG.warning('Hub %(hub)s: spoke %(spoke)s skipped: %(e)s',
                        {'hub': hub['id'], 'spoke': spoke['id'], 'e': e})
            continue
        if key == hub_public_key:
            LOG.warning('Hub %(hub)s: spoke %(spoke)s skipped: it has '
                        'the hub\'s own public key',
                        {'hub': hub['id'], 'spoke': spoke['id']})
            continue
        ips = _fixed_ips(spoke)
        if not ips:
            LOG.warning('Hub %(hub)s: spoke %(spoke)s skipped: no fixed IP',
                        {'hub': hub['id'], 'spoke': spoke['id']})
            continue
        if key in peers:
            LOG.warning('Hub %(hub)s: spoke %(spoke)s shares its public key '
                        'with another spoke; one peer serves both',
                        {'hub': hub['id'], 'spoke': spoke['id']})
        peers[key] = frozenset(peers.get(key, frozenset()) | set(ips))
        endpoint = _valid_endpoint(profile.get(channel.PROFILE_ENDPOINT))
        if endpoint:
            endpoints.setdefault(key, endpoint)
    routes = frozenset(ip for ips in peers.values() for ip in ips)
    return Desired(addresses=frozenset(_interfaces(hub)),
                   peers={k: frozenset(v) for k, v in peers.items()},
                   routes=routes, endpoints=endpoints)


def _valid_endpoint(endpoint):
    """``endpoint`` in its canonical spelling, or None if it is none or
    invalid (a hint only: a bad one is no reason to fail a sync).
    """
    if not endpoint:
        return None
    try:
        return channel.validate_endpoint(endpoint)
    except ValueError:
        return None


def learned_endpoints(kept, seen, keys):
    """Where the hub last heard each device of peers ``keys`` from:
    the endpoint ``seen`` on the interface now ({public key: endpoint
    or None}, as ``wg`` shows them), else the one ``kept`` before (a
    device not heard from since the interface was rebuilt keeps its
    old one).  Invalid ones are dropped.
    """
    found = {}
    for key in keys:
        endpoint = (_valid_endpoint(seen.get(key)) or
                    _valid_endpoint(kept.get(key)))
        if endpoint:
            found[key] = endpoint
    return found


def with_learned(want, learned):
    """``want`` (``Desired``) with the ``learned`` endpoints first."""
    return want._replace(endpoints={**want.endpoints, **{
        k: v for k, v in learned.items() if k in want.peers}})


def _interfaces(port):
    return {str(ipaddress.ip_interface(ip['ip_address']))
            for ip in port.get('fixed_ips') or ()}


def plan(want, have):
    """The operations from ``have`` (``Actual``) to ``want``
    (``Desired``): a list of ``(op, argument...)`` tuples in ``ORDER``.
    What already matches is not touched.  ``PEER_SET`` carries the
    peer's endpoint only when the peer is new (else None).
    """
    ops = []
    for cidr in sorted(set(want.addresses) - set(have.addresses)):
        ops.append((ADDRESS_ADD, cidr))
    for key in sorted(set(have.peers) - set(want.peers)):
        ops.append((PEER_REMOVE, key))
    for cidr in sorted(set(have.routes) - set(want.routes)):
        ops.append((ROUTE_DEL, cidr))
    for key in sorted(want.peers):
        allowed = sorted(want.peers[key])
        if key not in have.peers:
            ops.append((PEER_SET, key, tuple(allowed),
                        want.endpoints.get(key)))
        elif sorted(have.peers[key]) != allowed:
            ops.append((PEER_SET, key, tuple(allowed), None))
    for cidr in sorted(set(want.routes) - set(have.routes)):
        ops.append((ROUTE_ADD, cidr))
    for cidr in sorted(set(have.addresses) - set(want.addresses)):
        ops.append((ADDRESS_DEL, cidr))
    return ops


def apply_to(have, ops):
    """``have`` after ``ops``: what the interface would then be (the
    model the unit tests check ``plan`` against).
    """
    addresses = set(have.addresses)
    peers = {k: frozenset(v) for k, v in have.peers.items()}
    routes = set(have.routes)
    for op in ops:
        if op[0] == ADDRESS_ADD:
            addresses.add(op[1])
        elif op[0] == ADDRESS_DEL:
            addresses.discard(op[1])
        elif op[0] == PEER_REMOVE:
            peers.pop(op[1], None)
        elif op[0] == PEER_SET:
            peers[op[1]] = frozenset(op[2])
        elif op[0] == ROUTE_ADD:
            routes.add(op[1])
        elif op[0] == ROUTE_DEL:
            routes.discard(op[1])
        else:
            raise ValueError('unknown operation %r' % (op[0],))
    return Actual(addresses=frozenset(addresses), peers=peers,
                  routes=frozenset(routes))
