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

"""A hub's WireGuard interface: ``edge_channels.wg`` (commands with
``no_new_privs``, CAP_NET_ADMIN at most) plus what only a hub does:
its key from a file, its peers one by one, its routes.

Only the privsep daemon (``edge_channels.privileged``) calls these,
with names and values it validated.
"""

import ipaddress
import json

from edge_channels import wg


#: Routes of ours carry this protocol, so that routes someone else
#: adds on a hub's interface are never taken for stale ones.
ROUTE_PROTO = 'static'
KERNEL = wg.KERNEL
USERSPACE = wg.USERSPACE
CommandFailed = wg.CommandFailed
links = wg.links
exists = wg.exists
delete = wg.delete
set_up = wg.set_up
dump = wg.dump
parse_dump = wg.parse_dump
addresses = wg.addresses


def run(args, check=True, detach=False):
    """stdout of ``args``, run as ``edge_channels.wg.run`` runs it."""
    return wg.run(args, check=check, detach=detach).stdout


def create(device, backend):
    """Create WireGuard interface ``device``; returns the backend that
    made it.  ``backend``: kernel, userspace or auto (kernel, else
    wireguard-go).
    """
    return wg.create(device, backend)


def configure(device, key_path, listen_port):
    run(['wg', 'set', device, 'listen-port', str(listen_port),
         'private-key', key_path])


def routes(device):
    """Our routes on ``device`` (those of protocol ROUTE_PROTO)."""
    found = []
    for family in ('-4', '-6'):
        for route in json.loads(run(['ip', '-j', family, 'route', 'show',
                                     'dev', device, 'proto', ROUTE_PROTO])
                                or '[]'):
            found.append(str(ipaddress.ip_network(route['dst'])))
    return sorted(found)


def peer_set(device, public_key, allowed_ips, endpoint=None):
    """Set the peer's allowed IPs; with ``endpoint`` (a new peer's),
    also its endpoint, and start a handshake to it.
    """
    args = ['wg', 'set', device, 'peer', public_key, 'allowed-ips',
            ','.join(allowed_ips)]
    if endpoint is None:
        run(args)
        return
    # Turning a keepalive on sends one at once (kernel and wireguard-go
    # alike), and without a session that is a handshake.  Off again
    # right after: the handshake's own retries go on, and keeping NAT
    # mappings open is the devices' keepalive's job.
    run(args + ['endpoint', endpoint, 'persistent-keepalive', '1'])
    run(['wg', 'set', device, 'peer', public_key, 'persistent-keepalive',
         'off'])


def peer_endpoints(device):
    """{peer public key: endpoint or None} of ``device``."""
    return {key: peer['endpoint']
            for key, peer in dump(device)[3].items()}


def peer_remove(device, public_key):
    run(['wg', 'set', device, 'peer', public_key, 'remove'])


def address_add(device, cidr):
    run(['ip', 'addr', 'add', cidr, 'dev', device])


def address_del(device, cidr):
    run(['ip', 'addr', 'del', cidr, 'dev', device])


def route_add(device, cidr):
    run(['ip', 'route', 'replace', cidr, 'dev', device,
         'proto', ROUTE_PROTO])


def route_del(device, cidr):
    run(['ip', 'route', 'del', cidr, 'dev', device, 'proto', ROUTE_PROTO])
