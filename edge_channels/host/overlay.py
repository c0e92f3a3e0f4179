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

"""The edge host's end of the tenant overlay: a VXLAN device on a
network's bridge, carried by the host's tenant channel.

``edge_bridge`` binds a port of a VXLAN network on a host that has a
tenant channel with three more ``vif_details``: the segment's VNI, the
host's address on its tenant channel (``vxlan_local``) and the hub's
(``vxlan_remote``).  The VXLAN device sends every frame to the hub
only; its underlay is whichever interface holds ``vxlan_local`` (the
channel's WireGuard interface, whatever the Edge SDK named it), and
its MTU is that interface's minus the VXLAN encapsulation.

The hub sends a broadcast back to the host it came from too (its
VXLAN device floods to every spoke), so the bridge does not learn
addresses on the VXLAN port: a container's own frame coming back must
not move the container's address away from its veth.  Frames to
other hosts' containers are then flooded on the host's bridge, which
carries one network only.
"""

import collections
import ipaddress
import json
import subprocess


KEY_VNI = 'vxlan_vni'
KEY_LOCAL = 'vxlan_local'
KEY_REMOTE = 'vxlan_remote'
#: IANA's VXLAN port; the hub listens on it too.
VXLAN_PORT = 4789
VNI_MAX = 2 ** 24 - 1
#: Outer IP + UDP + VXLAN + inner Ethernet headers.
OVERHEAD = {4: 20 + 8 + 8 + 14, 6: 40 + 8 + 8 + 14}
DEVICE_PREFIX = 'vx-'

Overlay = collections.namedtuple('Overlay', 'vni local remote')


class OverlayError(RuntimeError):
    """The VXLAN device of a bridge could not be set up."""


def from_details(details):
    """The ``Overlay`` of a port's ``vif_details``, or None for a port
    of a bridge that stays on the host.  Raises ValueError for details
    that are there but wrong.
    """
    if details.get(KEY_VNI) is None:
        return None
    vni = details[KEY_VNI]
    if isinstance(vni, bool) or not isinstance(vni, int) or \
            not 1 <= vni <= VNI_MAX:
        raise ValueError('VXLAN VNI %r: an integer from 1 to %d'
                         % (vni, VNI_MAX))
    try:
        local = ipaddress.ip_address(details.get(KEY_LOCAL))
        remote = ipaddress.ip_address(details.get(KEY_REMOTE))
    except ValueError as e:
        raise ValueError('VXLAN addresses %r, %r: %s' % (
            details.get(KEY_LOCAL), details.get(KEY_REMOTE), e)) from e
    if local.version != remote.version:
        raise ValueError('VXLAN local %s and remote %s are of different '
                         'IP versions' % (local, remote))
    return Overlay(vni, str(local), str(remote))


def device_name(bridge):
    """The VXLAN device on ``bridge`` (a name of ``naming``)."""
    return DEVICE_PREFIX + bridge[-12:]


def _run(*args):
    # Fixed programs; arguments are validated addresses, numbers and
    # names of naming/this module.
    proc = subprocess.run(list(args), capture_output=True,  # noqa: S603
                          text=True, check=False, timeout=30)
    if proc.returncode != 0:
        raise OverlayError('%s: %s' % (' '.join(args), proc.stderr.strip()))
    return proc.stdout


def _links():
    return json.loads(_run('ip', '-d', '-j', 'link', 'show') or '[]')


def _underlay(address):
    """(name, MTU) of the interface holding ``address``."""
    for link in json.loads(_run('ip', '-j', 'addr', 'show') or '[]'):
        for info in link.get('addr_info', ()):
            if info.get('local') == address:
                return link['ifname'], link['mtu']
    raise OverlayError(
        'no interface here has address %s, the tenant channel\'s: bring '
        'the tenant channel up (edge-sdk up) before starting containers '
        'on this network' % address)


def _current(name):
    for link in _links():
        if link['ifname'] == name:
            data = link.get('linkinfo', {}).get('info_data', {})
            return Overlay(data.get('id'), data.get('local'),
                           data.get('remote'))
    return None


def ensure(bridge, overlay):
    """Make ``bridge``'s VXLAN device for ``overlay`` if missing or
    different, on the bridge, up, learning off.  The caller holds the
    bridges' lock and has made the bridge.
    """
    name = device_name(bridge)
    have = _current(name)
    if have == overlay:
        return name
    if have is not None:
        _run('ip', 'link', 'del', 'dev', name)
    underlay, mtu = _underlay(overlay.local)
    version = ipaddress.ip_address(overlay.local).version
    _run('ip', 'link', 'add', name, 'type', 'vxlan', 'id', str(overlay.vni),
         'local', overlay.local, 'remote', overlay.remote, 'dev', underlay,
         'dstport', str(VXLAN_PORT))
    _run('ip', 'link', 'set', 'dev', name, 'mtu',
         str(mtu - OVERHEAD[version]), 'master', bridge)
    _run('ip', 'link', 'set', 'dev', name, 'type', 'bridge_slave',
         'learning', 'off')
    _run('ip', 'link', 'set', 'dev', name, 'up')
    return name


def remove(bridge):
    """Remove ``bridge``'s VXLAN device if there is one."""
    name = device_name(bridge)
    if _current(name) is not None:
        _run('ip', 'link', 'del', 'dev', name)
