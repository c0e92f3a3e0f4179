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

"""The network plumbing of a device's channels: ``edge_channels.wg``
(``ip``, ``wg`` and, when the kernel has no WireGuard, ``wireguard-go``,
each with ``no_new_privs``: no more than CAP_NET_ADMIN) plus what only
a device does: its whole configuration at once, its one address.

These functions run inside the privsep daemon (``edge_sdk.privileged``),
which keeps only CAP_NET_ADMIN.  Only interfaces named ``ec-*`` are
touched, and every argument is validated before it reaches a command
line.
"""

from edge_channels import wg
from edge_sdk import wireguard


KIND_KERNEL = 'wireguard'
KIND_USERSPACE = 'wireguard-go'
_KINDS = {wg.KERNEL: KIND_KERNEL, wg.USERSPACE: KIND_USERSPACE}
CommandFailed = wg.CommandFailed
run = wg.run
addresses = wg.addresses
set_up = wg.set_up


def link_kind(ifname):
    """``wireguard`` (kernel), ``tun`` (wireguard-go), another kind, or
    None when there is no such interface.
    """
    return wg.link_kind(wireguard.check_interface(ifname))


def list_interfaces():
    """Names of the SDK's interfaces (``ec-*``) in this namespace."""
    return sorted(name for name in wg.links()
                  if name.startswith(wireguard.IFNAME_PREFIX))


def create(ifname):
    """Make WireGuard interface ``ifname`` unless it exists: kernel
    WireGuard when the kernel has it, else wireguard-go.  Returns which.
    """
    return _KINDS[wg.create(ifname)]


def configure(tunnel, private_key, listen_port=None):
    """Replace the WireGuard configuration of ``tunnel.ifname``."""
    text = wireguard.render(private_key, tunnel.peers, listen_port)
    args = ['wg', 'setconf', tunnel.ifname, '/dev/stdin']
    try:
        run(args, stdin=text)
    except CommandFailed as e:
        # wg quotes lines it cannot parse: never let one carry the key.
        raise CommandFailed(args, e.returncode,
                            e.stderr.replace(private_key, '<private key>'))


def set_address(ifname, address):
    """Make ``address`` (an ``ip_interface``) the interface's only
    address.
    """
    if addresses(ifname) == [str(address)]:
        return
    run(['ip', 'address', 'flush', 'dev', ifname, 'scope', 'global'])
    run(['ip', 'address', 'add', str(address), 'dev', ifname])


def delete(ifname):
    """Remove ``ifname``; wireguard-go exits with its TUN device."""
    if link_kind(ifname) is not None:
        wg.delete(ifname)


def show(ifname):
    """Public facts of the interface (never its private key)."""
    link = wg.link(wireguard.check_interface(ifname))
    if link is None:
        return None
    proc = run(['wg', 'show', ifname, 'dump'])
    if not proc.stdout.strip():
        return None
    _private, public, port, peers = wg.parse_dump(proc.stdout)
    return {'public_key': public,
            'listen_port': port,
            'addresses': addresses(ifname),
            'up': 'UP' in link.get('flags', ()),
            'peers': [dict(peers[key], public_key=key) for key in peers]}
