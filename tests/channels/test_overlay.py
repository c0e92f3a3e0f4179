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

"""The tenant overlay for real: a hub namespace with a wireguard-go
tenant hub, two edge-host namespaces each with a tenant tunnel to it
(``wg`` by hand, as the Edge SDK configures it: the subnet as
AllowedIPs), and on each edge host a container namespace on a veth
plugged by ``edge_channels.host.vif`` with the VXLAN ``vif_details``
that ``edge_bridge`` gives.  The hub's relay is
``edge_channels.hub.overlay`` in the hub namespace.

Needs root, ``wg``, ``wireguard-go``, ``bridge`` and ``ping``; no
cloud (the binding decision is tested in Neutron's ML2 plugin, in
tests/neutron/test_mech_edge_bridge.py).
"""

import json
import os
import re
import subprocess
import sys
import unittest
import uuid

import fixtures
from oslotest import base as oslo_base
from testtools import content

from aio import netns
from edge_channels import naming
from edge_channels.host import overlay as host_overlay
from edge_channels.hub import overlay as hub_overlay
from tests.channels import base


TENANT_CIDR = '10.241.0.0/24'
HUB_IP = '10.241.0.1'
SPOKE_IPS = {'a': '10.241.0.2', 'b': '10.241.0.3'}
UNDERLAY = {'a': ('192.168.241.1', '192.168.241.2'),
            'b': ('192.168.242.1', '192.168.242.2')}
CONTAINER_IPS = {'a': '10.250.0.11', 'b': '10.250.0.12',
                 'a2': '10.250.0.13'}
HUB_PORT = 51990
VNI = 4242
WG_MTU = 1420
PREFIX = 'h9br-'
NETWORK_ID = str(uuid.uuid4())
#: Bytes of ICMP payload the counters must show per ping.
PAYLOAD = 1000
PINGS = 10


#: wireguard-go's environment: the userspace daemon, on purpose.
WG_ENV = dict(os.environ, **netns.WG_ENV)


def _run(*args, check=True, **kw):
    return subprocess.run(list(args), capture_output=True, text=True,
                          check=check, timeout=30, **kw)


def _rtt(out):
    match = re.search(r'= [0-9.]+/([0-9.]+)/', out)
    return float(match.group(1)) if match else None


class Topology(fixtures.Fixture):
    """Hub, edge hosts a and b, containers a, a2 (on a) and b."""

    def _setUp(self):
        tag = uuid.uuid4().hex[:5]
        self.tag = tag
        self.ns = {name: 'h9%s-%s' % (name, tag)
                   for name in ('hub', 'a', 'b', 'ca', 'ca2', 'cb')}
        self.wireguard = {}
        self.device = {}
        for ns in self.ns.values():
            _run('ip', 'netns', 'add', ns)
            self.addCleanup(self._remove, ns)
            self.ip(ns, 'link', 'set', 'lo', 'up')
        self.work = self.useFixture(fixtures.TempDir()).path
        keys = {}
        for name in ('hub', 'a', 'b'):
            private = _run('wg', 'genkey').stdout.strip()
            public = _run('wg', 'pubkey', input=private).stdout.strip()
            path = os.path.join(self.work, name + '.key')
            with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600),
                      'w') as f:
                f.write(private)
            keys[name] = (path, public)
        hub = self.ns['hub']
        self.hub_wg = naming.wireguard_device(uuid.uuid4())
        self._wireguard(hub, self.hub_wg, keys['hub'][0], HUB_PORT)
        self.ip(hub, 'addr', 'add', HUB_IP + '/32', 'dev', self.hub_wg)
        self.ip(hub, 'link', 'set', self.hub_wg, 'mtu', str(WG_MTU), 'up')
        for edge in ('a', 'b'):
            ns = self.ns[edge]
            hub_side, edge_side = UNDERLAY[edge]
            hub_link, edge_link = 'h9u%s%s' % (edge, tag), 'h9e%s%s' % (
                edge, tag)
            _run('ip', 'link', 'add', hub_link, 'netns', hub, 'type', 'veth',
                 'peer', 'name', edge_link, 'netns', ns)
            self.ip(hub, 'addr', 'add', hub_side + '/24', 'dev', hub_link)
            self.ip(hub, 'link', 'set', hub_link, 'up')
            self.ip(ns, 'addr', 'add', edge_side + '/24', 'dev', edge_link)
            self.ip(ns, 'link', 'set', edge_link, 'up')
            # The hub: one peer per spoke, AllowedIPs its /32, a route.
            self.wg(hub, 'set', self.hub_wg, 'peer', keys[edge][1],
                    'allowed-ips', SPOKE_IPS[edge] + '/32')
            self.ip(hub, 'route', 'add', SPOKE_IPS[edge] + '/32', 'dev',
                    self.hub_wg)
            # The device, as the Edge SDK sets it up.
            device = self.device[edge] = 'ec-t%s%s' % (edge, tag)
            self._wireguard(ns, device, keys[edge][0], None)
            self.wg(ns, 'set', device, 'peer', keys['hub'][1],
                    'allowed-ips', TENANT_CIDR, 'endpoint',
                    '%s:%d' % (hub_side, HUB_PORT),
                    'persistent-keepalive', '1')
            self.ip(ns, 'addr', 'add', SPOKE_IPS[edge] + '/24', 'dev',
                    device)
            self.ip(ns, 'link', 'set', device, 'mtu', str(WG_MTU), 'up')
            self.spoke_key = getattr(self, 'spoke_key', {})
            self.spoke_key[edge] = keys[edge][1]
        self.lock_dir = os.path.join(self.work, 'locks')
        os.mkdir(self.lock_dir)

    def _wireguard(self, ns, name, key, port):
        _run('ip', 'netns', 'exec', ns, 'wireguard-go', name,
             env=WG_ENV)
        self.wireguard.setdefault(ns, set()).add(name)
        args = ['set', name, 'private-key', key]
        if port:
            args += ['listen-port', str(port)]
        self.wg(ns, *args)

    def _remove(self, ns):
        # wireguard-go daemons (ours only) live in it; stopped, they
        # remove their control sockets.
        remover = netns.Namespace(ns)
        remover.wireguard_names = self.wireguard.get(ns, set())
        errors = remover.remove()
        if errors:
            raise RuntimeError('; '.join(errors))

    def ip(self, ns, *args, check=True):
        return _run('ip', 'netns', 'exec', ns, 'ip', *args, check=check)

    def wg(self, ns, *args):
        return _run('ip', 'netns', 'exec', ns, 'wg', *args,
                    env=WG_ENV)

    def python(self, ns, code, check=True):
        return _run('ip', 'netns', 'exec', ns, sys.executable, '-c', code,
                    check=check, cwd=os.getcwd())

    # -- containers, as kuryr-lib plugs them --------------------------

    def container(self, edge, name, details):
        """A container namespace on a veth whose host end the "bridge"
        program plugs into the network's bridge of ``edge``.
        """
        ns, cns = self.ns[edge], self.ns['c' + name]
        port_id = str(uuid.uuid4())
        tap, inner = 'tap' + port_id[:11], 't_c' + port_id[:11]
        _run('ip', 'link', 'add', tap, 'netns', ns, 'type', 'veth', 'peer',
             'name', inner, 'netns', cns)
        # Neutron's MTU of a VXLAN network with path_mtu = the tunnel's.
        mtu = WG_MTU - host_overlay.OVERHEAD[4]
        self.ip(cns, 'link', 'set', inner, 'mtu', str(mtu))
        self.ip(cns, 'addr', 'add', CONTAINER_IPS[name] + '/24', 'dev',
                inner)
        self.ip(cns, 'link', 'set', inner, 'up')
        out = self.vif(ns, 'bind', port_id, tap, 'ep', '00:00:00:00:00:00',
                       NETWORK_ID, 'project', '"%s"' % details)
        return port_id, tap, out

    def vif(self, ns, *args):
        return _run('ip', 'netns', 'exec', ns, sys.executable, '-m',
                    'edge_channels.host.vif', '--prefix', PREFIX,
                    '--lock-dir', self.lock_dir, *args, cwd=os.getcwd())

    def ping(self, name, address, count=1, size=56, interval='0.2',
             check=False):
        return _run('ip', 'netns', 'exec', self.ns[name], 'ping', '-n',
                    '-q', '-c', str(count), '-i', interval, '-W', '1',
                    '-M', 'do', '-s', str(size), address, check=check)

    def transfer(self):
        """{edge: (rx, tx) bytes} of each spoke's peer on the hub."""
        out = self.wg(self.ns['hub'], 'show', self.hub_wg,
                      'transfer').stdout
        by_key = {line.split('\t')[0]: tuple(map(int,
                                                 line.split('\t')[1:3]))
                  for line in out.splitlines()}
        return {edge: by_key[key] for edge, key in self.spoke_key.items()}

    def links(self, ns):
        return [link['ifname'] for link in json.loads(
            self.ip(ns, '-j', 'link', 'show').stdout)]


class OverlayTest(oslo_base.BaseTestCase):

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            raise unittest.SkipTest('needs root (namespaces, wireguard-go)')
        base.require_tools('wg', 'wireguard-go', 'ping', 'bridge')
        self.net = self.useFixture(Topology())
        self.figures = {}
        self.addCleanup(self._figures)

    def _figures(self):
        text = json.dumps(self.figures, sort_keys=True)
        self.addDetail('figures', content.text_content(text))
        print('overlay figures: %s' % text)

    def relay(self, want):
        code = ('from edge_channels.hub import overlay; '
                'print(overlay.Relay().apply(%r))' % (want,))
        return int(self.net.python(self.net.ns['hub'], code).stdout)

    def test_containers_on_two_edge_hosts_talk_through_the_hub(self):
        net = self.net
        bridge = naming.bridge_name(NETWORK_ID, PREFIX)
        details = {}
        for edge in ('a', 'b'):
            details[edge] = {
                'bridge_name': bridge, 'port_filter': False,
                'connectivity': 'l2', host_overlay.KEY_VNI: VNI,
                host_overlay.KEY_LOCAL: SPOKE_IPS[edge],
                host_overlay.KEY_REMOTE: HUB_IP}
        net.container('a', 'a', details['a'])
        net.container('a', 'a2', details['a'])
        port_b, tap_b, _ = net.container('b', 'b', details['b'])
        vxlan = host_overlay.device_name(bridge)
        for edge in ('a', 'b'):
            info = json.loads(net.ip(net.ns[edge], '-d', '-j', 'link',
                                     'show', vxlan).stdout)[0]
            data = info['linkinfo']['info_data']
            self.assertEqual((VNI, SPOKE_IPS[edge], HUB_IP),
                             (data['id'], data['local'], data['remote']))
            self.assertEqual(WG_MTU - 50, info['mtu'])
            self.assertEqual(bridge, info['master'])

        # Tunnels up: each spoke reaches the hub.
        for edge in ('a', 'b'):
            base.wait('tunnel of %s' % edge, lambda: _run(
                'ip', 'netns', 'exec', net.ns[edge], 'ping', '-c1', '-W1',
                HUB_IP, check=False).returncode == 0, 20)

        # No relay yet: A's container cannot reach B's.
        self.assertNotEqual(0, net.ping('ca', CONTAINER_IPS['b'],
                                        count=2).returncode)

        # The relay, as plan() gives it for these bindings.
        self.assertGreater(self.relay({VNI: {SPOKE_IPS['a'],
                                             SPOKE_IPS['b']}}), 0)
        self.assertEqual(0, self.relay({VNI: {SPOKE_IPS['a'],
                                              SPOKE_IPS['b']}}))
        base.wait('container a pings container b', lambda: net.ping(
            'ca', CONTAINER_IPS['b']).returncode == 0, 15)

        # Through the hub: its peers carried the pings both ways.
        before = net.transfer()
        out = net.ping('ca', CONTAINER_IPS['b'], count=PINGS,
                       size=PAYLOAD, check=True).stdout
        after = net.transfer()
        for edge in ('a', 'b'):
            rx = after[edge][0] - before[edge][0]
            tx = after[edge][1] - before[edge][1]
            # Requests come in from a and go out to b, replies the
            # other way: each tunnel carried every ping both ways.
            self.assertGreaterEqual(rx, PINGS * PAYLOAD, edge)
            self.assertGreaterEqual(tx, PINGS * PAYLOAD, edge)
        self.figures['hub_bytes_per_ping_a_rx'] = (
            after['a'][0] - before['a'][0]) // PINGS

        # The largest frame the container MTU allows crosses whole.
        mtu_payload = WG_MTU - 50 - 28
        net.ping('ca', CONTAINER_IPS['b'], count=2, size=mtu_payload,
                 check=True)

        # Figures: through the hub vs. the same bridge on one host.
        through = net.ping('ca', CONTAINER_IPS['b'], count=20,
                           check=True).stdout
        local = net.ping('ca', CONTAINER_IPS['a2'], count=20,
                         check=True).stdout
        self.figures['rtt_ms_via_hub'] = _rtt(through)
        self.figures['rtt_ms_same_bridge'] = _rtt(local)
        self.figures['rtt_ms_1000B_via_hub'] = _rtt(out)

        # The relay gone, the containers are cut off: nothing else
        # carries their frames.
        self.relay({})
        self.assertEqual([], [n for n in net.links(net.ns['hub'])
                              if n.startswith(('ehv-', 'ehb-'))])
        self.assertNotEqual(0, net.ping('ca', CONTAINER_IPS['b'],
                                        count=3).returncode)

        # Back with the relay; a spoke removed from it is cut off alone.
        self.relay({VNI: {SPOKE_IPS['a'], SPOKE_IPS['b']}})
        base.wait('ping with the relay back', lambda: net.ping(
            'ca', CONTAINER_IPS['b']).returncode == 0, 15)
        # b's frames are refused at the hub's door, so the hub cannot
        # learn b's container back either.
        self.relay({VNI: {SPOKE_IPS['a']}})
        for _ in range(3):
            self.assertNotEqual(0, net.ping('ca', CONTAINER_IPS['b'],
                                            count=3).returncode)
            self.assertNotEqual(0, net.ping('cb', CONTAINER_IPS['a'],
                                            count=2).returncode)
        self.assertEqual(0, net.ping('ca', CONTAINER_IPS['a2']).returncode)

        # The last port leaving takes the VXLAN device and the bridge.
        net.vif(net.ns['b'], 'unbind', port_b, tap_b, 'ep',
                '00:00:00:00:00:00', '"%s"' % details['b'], NETWORK_ID)
        self.assertEqual([], [n for n in net.links(net.ns['b'])
                              if n in (bridge, vxlan)])
        self.assertEqual({}, json.loads(net.python(
            net.ns['hub'], 'import json; from edge_channels.hub import '
            'overlay; r = overlay.Relay(); r.remove_all(); '
            'print(json.dumps(r.actual()))').stdout))
        self.assertNotIn(hub_overlay.CHAIN, _run(
            'ip', 'netns', 'exec', net.ns['hub'], 'iptables', '-w',
            '-S').stdout)

    def test_bind_without_tenant_channel_fails(self):
        # The VXLAN details on a host whose tenant channel is down: the
        # plug fails and says what to do, and leaves no VXLAN device.
        net = self.net
        _run('ip', 'netns', 'exec', net.ns['a'], 'ip', 'link', 'del',
             net.device['a'])
        bridge = naming.bridge_name(NETWORK_ID, PREFIX)
        details = {'bridge_name': bridge, host_overlay.KEY_VNI: VNI,
                   host_overlay.KEY_LOCAL: SPOKE_IPS['a'],
                   host_overlay.KEY_REMOTE: HUB_IP}
        e = self.assertRaises(subprocess.CalledProcessError, net.container,
                              'a', 'a', details)
        self.assertIn('bring the tenant channel up', e.stderr)
        self.assertNotIn(host_overlay.device_name(bridge),
                         net.links(net.ns['a']))
