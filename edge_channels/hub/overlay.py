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
CAP_NET_ADMIN).
"""

import argparse
import collections
import ipaddress
import json
import subprocess
import sys
import time

from edge_channels import channel
from edge_channels.host import overlay as host_overlay


VXLAN_PREFIX = 'ehv-'
BRIDGE_PREFIX = 'ehb-'
FLOOD_MAC = '00:00:00:00:00:00'
CHAIN = 'EDGE-OVERLAY'
#: The VNI: the 32 bits 4 bytes into the VXLAN header (8 bytes into
#: UDP's), shifted past the reserved byte.
VNI_MATCH = '0>>22&0x3C@12>>8=%d'
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


def _run(*args, check=True):
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
    """The relay devices in this network namespace."""

    def actual(self):
        """``{VNI: frozenset(flood addresses)}`` now here."""
        found = {}
        for link in json.loads(_run('ip', '-d', '-j', 'link', 'show')
                               or '[]'):
            name = link['ifname']
            data = link.get('linkinfo', {})
            if not name.startswith(VXLAN_PREFIX) or \
                    data.get('info_kind') != 'vxlan':
                continue
            vni = data.get('info_data', {}).get('id')
            found[vni] = frozenset(self._floods(name))
        return found

    @staticmethod
    def _fdb(name):
        return json.loads(_run('bridge', '-j', 'fdb', 'show', 'dev', name)
                          or '[]')

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
        rewritten only when it differs.  Returns 1 if changed.
        """
        ipt = ('iptables', '-w')
        jump = ['INPUT', '-p', 'udp', '--dport',
                str(host_overlay.VXLAN_PORT), '-j', CHAIN]
        if _run(*ipt, '-n', '-L', CHAIN, check=False) == '':
            _run(*ipt, '-N', CHAIN)
        if subprocess.run(['iptables', '-w', '-C'] + jump,  # noqa: S603
                          capture_output=True, check=False).returncode:
            _run(*ipt, '-I', *jump)
        expected = ['-N %s' % CHAIN] + [
            '-A %s %s' % (CHAIN, line) for line in self._canonical(want)]
        have = _run(*ipt, '-S', CHAIN).splitlines()
        if have == expected:
            return 0
        _run(*ipt, '-F', CHAIN)
        for rule in self._rules(want) + [['-j', 'DROP']]:
            _run(*ipt, '-A', CHAIN, *rule)
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
            _run('ip', 'link', 'del', 'dev', vxlan_device(vni))
            _run('ip', 'link', 'del', 'dev', bridge_device(vni),
                 check=False)
            changes += 1
        for vni in sorted(want):
            if vni not in have:
                self._create(vni)
                have[vni] = frozenset()
                changes += 1
            name = vxlan_device(vni)
            for ip in sorted(want[vni] - have[vni]):
                _run('bridge', 'fdb', 'append', FLOOD_MAC, 'dev', name,
                     'dst', ip)
                changes += 1
            gone = have[vni] - want[vni]
            # Flood entries and what the device learnt behind them.
            for entry in self._fdb(name) if gone else ():
                if entry.get('dst') in gone:
                    _run('bridge', 'fdb', 'del', entry['mac'], 'dev', name,
                         'dst', entry['dst'], check=False)
                    changes += 1
        return changes

    @staticmethod
    def _create(vni):
        bridge, vxlan = bridge_device(vni), vxlan_device(vni)
        _run('ip', 'link', 'add', bridge, 'type', 'bridge',
             'forward_delay', '0', 'stp_state', '0')
        _run('ip', 'link', 'add', vxlan, 'type', 'vxlan', 'id', str(vni),
             'dstport', str(host_overlay.VXLAN_PORT))
        _run('ip', 'link', 'set', 'dev', vxlan, 'master', bridge)
        # Back out of the port it came in: the relay itself.
        _run('ip', 'link', 'set', 'dev', vxlan, 'type', 'bridge_slave',
             'hairpin', 'on')
        _run('ip', 'link', 'set', 'dev', bridge, 'up')
        _run('ip', 'link', 'set', 'dev', vxlan, 'up')

    def remove_all(self):
        """Remove the relay's devices and its iptables chain."""
        changes = self.apply({})
        ipt = ('iptables', '-w')
        _run(*ipt, '-D', 'INPUT', '-p', 'udp', '--dport',
             str(host_overlay.VXLAN_PORT), '-j', CHAIN, check=False)
        _run(*ipt, '-F', CHAIN, check=False)
        _run(*ipt, '-X', CHAIN, check=False)
        return changes


def _ports(client, **filters):
    params = dict(filters, fields=list(PORT_FIELDS))
    return client.adapter.get('/v2.0/ports', params=params).json()['ports']


def sync(client, host, relay=None):
    """One sync of this host's relay with Neutron (``client``: an
    ``edge_channels.agent.neutron.Client``).  Returns (plan, changes).
    """
    relay = relay or Relay()
    hubs = client.hubs(host)
    spokes = []
    for network_id in sorted({h['network_id'] for h in hubs}):
        spokes.extend(client.spokes(network_id))
    want = plan(hubs, spokes, _ports(client) if hubs else [])
    return want, relay.apply(want)


def main(argv=None):
    """``python -m edge_channels.hub.overlay --config-file hub.conf``:
    sync the relay every ``--interval`` seconds (``--once``: once).
    """
    from oslo_config import cfg
    from oslo_log import log as logging

    from edge_channels.agent import neutron
    from edge_channels.conf import hub as hub_conf

    parser = argparse.ArgumentParser(prog='edge-channels-hub-overlay')
    parser.add_argument('--once', action='store_true')
    parser.add_argument('--interval', type=float, default=5.0)
    args, rest = parser.parse_known_args(
        sys.argv[1:] if argv is None else argv)
    conf = cfg.ConfigOpts()
    logging.register_options(conf)
    hub_conf.register_opts(conf)
    conf(rest, project='edge-channels', prog='edge-channels-hub-overlay')
    logging.setup(conf, 'edge-channels-hub-overlay')
    log = logging.getLogger(__name__)
    client = neutron.Client.from_conf(conf)
    while True:
        try:
            want, changes = sync(client, conf.hub.host)
            if changes:
                log.info('Overlay relay: %d changes; VNIs %s', changes,
                         {k: sorted(v) for k, v in want.items()})
        except Exception:
            if args.once:
                raise
            log.exception('Overlay relay sync failed; retrying')
        if args.once:
            return 0
        time.sleep(args.interval)


if __name__ == '__main__':
    sys.exit(main())
