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

"""The hub's relay of the tenant overlay: edge hosts' VXLAN traffic
goes hub-and-spoke, never host to host.

Every edge host's VXLAN device sends to its tenant hub's address (see
``edge_channels.host.overlay``).  For each VNI that ports bound on
edge hosts of this hub host carry, the hub has one VXLAN device
(``ehv-<VNI>``) with a flood entry per member spoke, alone on a bridge
(``ehb-<VNI>``) in hairpin mode: a frame from one spoke goes up the
bridge and back out of the same VXLAN device, to the spoke that has
the destination address (the VXLAN device learns which spoke sent
which address) or, for broadcasts and unknown addresses, to every
member spoke.

Who belongs comes from Neutron alone: a spoke is a member of VNI N
when a port bound by ``edge_bridge`` has ``vxlan_vni`` N,
``vxlan_remote`` one of this host's hub addresses and ``vxlan_local``
the address of a spoke of that hub of the port's project.  The
mechanism driver decided that at binding; the relay re-checks it
against the spokes Neutron has now, so that a deleted spoke leaves
the VNI at the next sync.

A VXLAN device takes packets of its VNI from any sender, and learns
addresses from them.  So the hub accepts VXLAN (UDP 4789) only from a
member spoke and only for the VNIs it is a member of: iptables chain
``EDGE-OVERLAY``, one rule per (spoke, VNI) matching the VNI in the
VXLAN header (``u32``), then DROP.  A device of another project cannot
inject frames into a network, nor make the hub learn its addresses
there; a spoke taken out of a VNI is cut off at once.  IPv4 underlay
only (the rule reads the IPv4 header length).

``plan`` is pure; ``Relay`` applies with ``ip``, ``bridge`` and
``iptables`` in the network namespace it runs in (it needs
CAP_NET_ADMIN).  The hub agent calls ``sync`` after its full sync,
after hub syncs and on notifications of ports bound with VXLAN
details, and applies through its privileged daemon
(``edge_channels.privileged.apply_overlay``).
"""

import collections
import ipaddress
import json
import subprocess

from edge_channels import channel
from edge_channels.host import overlay as host_overlay


VXLAN_PREFIX = 'ehv-'
BRIDGE_PREFIX = 'ehb-'
FLOOD_MAC = '00:00:00:00:00:00'
CHAIN = 'EDGE-OVERLAY'
#: The VNI: the 32 bits 4 bytes into the VXLAN header (8 bytes into
#: UDP's), shifted past the reserved byte.
VNI_MATCH = '0>>22&0x3C@12>>8=%d'
#: Frames the relay's bridges carry pass iptables FORWARD when
#: br_netfilter is loaded (Docker loads it, and sets the policy to DROP).
FORWARD_RULE = ('-i', BRIDGE_PREFIX + '+', '-o', BRIDGE_PREFIX + '+',
                '-j', 'ACCEPT')
PORT_FIELDS = ('id', 'project_id', 'network_id', 'device_owner',
               'fixed_ips', 'binding:host_id', 'binding:vif_type',
               'binding:vif_details', 'binding:profile')


def _ips(port):
    return {str(ipaddress.ip_address(ip['ip_address']))
            for ip in port.get('fixed_ips') or ()}


def plan(hubs, spokes, ports):
    """``{VNI: frozenset(spoke addresses)}`` the relay should carry.

    ``hubs``: this host's hub ports; ``spokes``: spoke ports (any);
    ``ports``: ports that may be bound by edge_bridge with VXLAN.
    """
    hub_of_address = {}
    for hub in hubs:
        for ip in _ips(hub):
            hub_of_address[ip] = hub
    # (hub ID, spoke address) -> the spoke's project.
    spoke_project = {}
    for spoke in spokes:
        if spoke.get('device_owner') != channel.DEVICE_OWNER_SPOKE:
            continue
        peers = (spoke.get('binding:profile') or {}).get(
            channel.PROFILE_PEERS)
        if not isinstance(peers, list):
            continue
        for hub_id in peers:
            for ip in _ips(spoke):
                spoke_project[(hub_id, ip)] = spoke.get('project_id')
    members = collections.defaultdict(set)
    for port in ports:
        if port.get('binding:vif_type') != 'bridge':
            continue
        try:
            found = host_overlay.from_details(
                port.get('binding:vif_details') or {})
        except ValueError:
            continue
        if found is None or found.remote not in hub_of_address:
            continue
        hub = hub_of_address[found.remote]
        if spoke_project.get((hub['id'], found.local)) != \
                port.get('project_id'):
            continue
        members[found.vni].add(found.local)
    return {vni: frozenset(ips) for vni, ips in members.items()}


class RelayError(RuntimeError):
    pass


def run_command(args, check=True):
    """stdout of ``args`` (a list); raises ``RelayError`` if it fails
    and ``check``.
    """
    proc = subprocess.run(list(args), capture_output=True,  # noqa: S603
                          text=True, check=False, timeout=30)
    if check and proc.returncode != 0:
        raise RelayError('%s: %s' % (' '.join(args), proc.stderr.strip()))
    return proc.stdout


def vxlan_device(vni):
    return '%s%d' % (VXLAN_PREFIX, vni)


def bridge_device(vni):
    return '%s%d' % (BRIDGE_PREFIX, vni)


class Relay:
    """The relay devices in this network namespace.

    ``run(args, check=True)``: how commands run, returning their stdout
    (default ``run_command``; the hub agent's privileged daemon passes
    its own, which gives the commands no more than its capabilities).
    """

    def __init__(self, run=None):
        self._command = run or run_command

    def _run(self, *args, check=True):
        return self._command(list(args), check=check)

    def actual(self):
        """``{VNI: frozenset(flood addresses)}`` now here."""
        found = {}
        for link in json.loads(self._run('ip', '-d', '-j', 'link', 'show')
                               or '[]'):
            name = link['ifname']
            data = link.get('linkinfo', {})
            if not name.startswith(VXLAN_PREFIX) or \
                    data.get('info_kind') != 'vxlan':
                continue
            vni = data.get('info_data', {}).get('id')
            found[vni] = frozenset(self._floods(name))
        return found

    def _fdb(self, name):
        return json.loads(self._run('bridge', '-j', 'fdb', 'show', 'dev',
                                    name) or '[]')

    def _floods(self, name):
        return {e['dst'] for e in self._fdb(name)
                if e.get('mac') == FLOOD_MAC and e.get('dst')}

    @staticmethod
    def _rules(want):
        rules = []
        for vni in sorted(want):
            for ip in sorted(want[vni]):
                rules.append(['-s', '%s/32' % ip, '-p', 'udp', '-m', 'u32',
                              '--u32', VNI_MATCH % vni, '-j', 'ACCEPT'])
        return rules

    def _filter(self, want):
        """The chain admitting exactly ``want``'s (spoke, VNI) pairs;
        rewritten only when it differs.  Returns 1 if changed.  Nothing
        to admit and no chain yet: nothing is made.
        """
        ipt = ('iptables', '-w')
        jump = ['-p', 'udp', '-m', 'udp', '--dport',
                str(host_overlay.VXLAN_PORT), '-j', CHAIN]
        exists = self._run(*ipt, '-S', CHAIN, check=False) != ''
        if not want and not exists:
            return 0
        if not exists:
            self._run(*ipt, '-N', CHAIN)
        for hook, rule in (('INPUT', jump), ('FORWARD', FORWARD_RULE)):
            if ' '.join(('-A', hook) + tuple(rule)) not in self._run(
                    *ipt, '-S', hook).splitlines():
                self._run(*ipt, '-I', hook, *rule)
        expected = ['-N %s' % CHAIN] + [
            '-A %s %s' % (CHAIN, line) for line in self._canonical(want)]
        have = self._run(*ipt, '-S', CHAIN).splitlines()
        if have == expected:
            return 0
        self._run(*ipt, '-F', CHAIN)
        for rule in self._rules(want) + [['-j', 'DROP']]:
            self._run(*ipt, '-A', CHAIN, *rule)
        return 1

    @staticmethod
    def _canonical(want):
        # As iptables -S prints the rules back.
        lines = []
        for vni in sorted(want):
            for ip in sorted(want[vni]):
                lines.append('-s %s/32 -p udp -m u32 --u32 '
                             '"0x0>>0x16&0x3c@0xc>>0x8=0x%x" -j ACCEPT'
                             % (ip, vni))
        return lines + ['-j DROP']

    def apply(self, want):
        """Make the relay ``want`` (``plan``'s); returns the number of
        changes.
        """
        # Admission first: a spoke leaving is cut off before its
        # entries go.
        changes = self._filter(want)
        have = self.actual()
        for vni in sorted(set(have) - set(want)):
            self._run('ip', 'link', 'del', 'dev', vxlan_device(vni))
            self._run('ip', 'link', 'del', 'dev', bridge_device(vni),
                      check=False)
            changes += 1
        for vni in sorted(want):
            if vni not in have:
                self._create(vni)
                have[vni] = frozenset()
                changes += 1
            name = vxlan_device(vni)
            for ip in sorted(want[vni] - have[vni]):
                self._run('bridge', 'fdb', 'append', FLOOD_MAC, 'dev',
                          name, 'dst', ip)
                changes += 1
            gone = have[vni] - want[vni]
            # Flood entries and what the device learnt behind them.
            for entry in self._fdb(name) if gone else ():
                if entry.get('dst') in gone:
                    self._run('bridge', 'fdb', 'del', entry['mac'], 'dev',
                              name, 'dst', entry['dst'], check=False)
                    changes += 1
        return changes

    def _create(self, vni):
        bridge, vxlan = bridge_device(vni), vxlan_device(vni)
        self._run('ip', 'link', 'add', bridge, 'type', 'bridge',
                  'forward_delay', '0', 'stp_state', '0')
        self._run('ip', 'link', 'add', vxlan, 'type', 'vxlan', 'id',
                  str(vni), 'dstport', str(host_overlay.VXLAN_PORT))
        self._run('ip', 'link', 'set', 'dev', vxlan, 'master', bridge)
        # Back out of the port it came in: the relay itself.
        self._run('ip', 'link', 'set', 'dev', vxlan, 'type',
                  'bridge_slave', 'hairpin', 'on')
        self._run('ip', 'link', 'set', 'dev', bridge, 'up')
        self._run('ip', 'link', 'set', 'dev', vxlan, 'up')

    def remove_all(self):
        """Remove the relay's devices and its iptables chain."""
        changes = self.apply({})
        ipt = ('iptables', '-w')
        self._run(*ipt, '-D', 'INPUT', '-p', 'udp', '-m', 'udp',
                  '--dport', str(host_overlay.VXLAN_PORT), '-j', CHAIN,
                  check=False)
        self._run(*ipt, '-D', 'FORWARD', *FORWARD_RULE, check=False)
        self._run(*ipt, '-F', CHAIN, check=False)
        self._run(*ipt, '-X', CHAIN, check=False)
        return changes


def _ports(client, **filters):
    return client.list_ports(fields=list(PORT_FIELDS), **filters)


def sync(client, host, apply=None, seen=None):
    """One sync of this host's relay with Neutron (``client``: an
    ``edge_channels.agent.neutron.Client``).  ``apply(want)`` makes the
    relay ``want`` and returns its changes (default: a ``Relay`` here);
    ``seen``, a set, gets the IDs of the ports bound with VXLAN details
    (whose deletion changes the relay).  Returns (plan, changes).
    """
    apply = apply or Relay().apply
    hubs = client.hubs(host)
    spokes = []
    for network_id in sorted({h['network_id'] for h in hubs}):
        spokes.extend(client.spokes(network_id))
    ports = _ports(client) if hubs else []
    if seen is not None:
        seen.update(p['id'] for p in ports if is_overlay_port(p))
    want = plan(hubs, spokes, ports)
    return want, apply(want)


def is_overlay_port(port):
    """Whether ``port`` (its binding, as Neutron gives it) carries the
    overlay's VXLAN details.
    """
    details = port.get('binding:vif_details')
    return isinstance(details, dict) and host_overlay.KEY_VNI in details
