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

"""The tenant overlay end to end, with the real cloud side: Neutron (ML2
with ``edge_bridge`` and ``edge_channel``, VXLAN tenant networks over
the tenant channels, ``aio.neutron``'s overlay options), the channel
API, the hub agent (which runs the relay) and two edge hosts
(``aio.edge.EdgeHost``) whose Edge SDK brought up a tenant channel
naming the host (``host``, kept as the spoke's ``device_id``).

Ports of a VXLAN network are bound to each edge host (``binding:host_id``
the host's name, as zun-compute and kuryr set it) and plugged by the
real host program (``edge_channels.host.vif``) into a "container"
namespace on each edge host; the container on A pings the one on B,
through the hub: its WireGuard peers' counters carry the pings.  A port
deleted in Neutron leaves the relay at its notification.

Needs root, MariaDB, RabbitMQ, ``wg``, ``wireguard-go``, ``iptables``,
``bridge`` and ``ping``.
"""

import os
import re
import subprocess
import sys
import uuid

from aio import channels as channels_mod
from aio import edge as edge_mod
from edge_channels.conf import edge_bridge as edge_bridge_conf
from edge_channels.hub import overlay as hub_overlay
from tests.channels import base


#: The tenant channels' network (the channel API's only subnet here).
TENANT_CHANNELS = 'channels-tenant'
CHANNEL_CIDR = '10.238.0.0/24'
CONTAINER_CIDR = '10.239.0.0/24'
WG_MTU = 1420
PINGS = 10
PAYLOAD = 1000


def _run(argv, check=True):
    result = subprocess.run(argv, capture_output=True, text=True,
                            timeout=60)
    if check and result.returncode:
        raise AssertionError('%s: %s' % (' '.join(argv), result.stderr))
    return result


def _wait(what, predicate, timeout):
    return base.wait(what, predicate, timeout, interval=0.2)


def _rtt(out):
    """(min, avg, max) ms of ping's summary."""
    match = re.search(r'= ([0-9.]+)/([0-9.]+)/([0-9.]+)', out)
    return tuple(float(x) for x in match.groups()) if match else None


class OverlayCloudTest(base.ChannelsTestCase):

    PLANE_OPTIONS = {'tenant_channel_networks': (TENANT_CHANNELS,)}

    @classmethod
    def setUpClass(cls):
        base.require_tools('wg', 'wireguard-go', 'iptables', 'nsenter',
                           'bridge', 'ping')
        super().setUpClass()
        plane = cls.plane
        cls.api = channels_mod.ChannelAPI(
            plane.workdir, plane.logs, plane.keystone, plane.neutron,
            cidr=CHANNEL_CIDR, hub_hosts=(edge_mod.HUB_HOST,),
            network=TENANT_CHANNELS)
        cls.api.setup()
        cls.api.start(plane.track)
        cls.start_root_hub_agent()

    def setUp(self):
        super().setUp()
        self.figures = {}
        self.addCleanup(lambda: self.add_figures('overlay cloud',
                                                 self.figures))
        self.attach_on_failure(*(
            os.path.join(self.plane.logs, name)
            for name in ('edge-hub-agent.log', 'edge-channels-api.log',
                         'neutron.log', 'edge-sdk-ovl-a.log',
                         'edge-sdk-ovl-b.log')))
        self.lock_dir = os.path.join(self.plane.workdir, 'vif-locks-%s'
                                     % uuid.uuid4().hex[:6])
        os.makedirs(self.lock_dir)

    # -- the pieces ---------------------------------------------------------

    def edge_host(self, name):
        host = edge_mod.EdgeHost(
            name, self.plane.workdir, self.plane.logs, self.plane.keystone,
            self.api, self.hub, {'keystone': self.plane.keystone.port},
            channel='tenant')
        self.addCleanup(self._stop_edge, host)
        host.start()
        return host

    def _stop_edge(self, host):
        self.assertEqual([], host.stop())

    def container_port(self, network, edge):
        """A port of ``network`` bound to ``edge``, as kuryr makes it
        (its service user sets binding:host_id).
        """
        admin = self.plane.neutron.client()
        port = admin.post('/ports', json={'port': {
            'network_id': network['id'],
            'project_id': network['project_id'],
            'device_owner': 'compute:kuryr',
            'device_id': str(uuid.uuid4()),
            'binding:host_id': edge.name}}).json()['port']
        self.addCleanup(admin.delete, '/ports/%s' % port['id'],
                        raise_exc=False)
        return port

    def container(self, edge, port, mtu):
        """A namespace on a veth whose host end the ``bridge`` program
        plugs in the edge host, as kuryr-lib does; its name.
        """
        ns = 'ovc-%s-%s' % (edge.name, edge.tag)
        _run(['ip', 'netns', 'add', ns])
        self.addCleanup(_run, ['ip', 'netns', 'del', ns], False)
        tap, inner = 'tap' + port['id'][:11], 't_c' + port['id'][:11]
        _run(['ip', 'link', 'add', tap, 'netns', edge.ns, 'type', 'veth',
              'peer', 'name', inner, 'netns', ns])
        address = port['fixed_ips'][0]['ip_address']
        for args in (['link', 'set', inner, 'address', port['mac_address'],
                      'mtu', str(mtu)],
                     ['addr', 'add', address + '/24', 'dev', inner],
                     ['link', 'set', inner, 'up'],
                     ['link', 'set', 'lo', 'up']):
            _run(['ip', '-n', ns] + args)
        edge.ns_run([sys.executable, '-m', 'edge_channels.host.vif',
                     '--prefix', self.prefix, '--lock-dir', self.lock_dir,
                     'bind', port['id'], tap, 'ep', port['mac_address'],
                     port['network_id'], port['project_id'],
                     '"%s"' % port['binding:vif_details']])
        return ns

    def ping(self, ns, address, count=1, size=56, check=False):
        return _run(['ip', 'netns', 'exec', ns, 'ping', '-n', '-q', '-c',
                     str(count), '-i', '0.2', '-W', '1', '-M', 'do', '-s',
                     str(size), address], check=check)

    def transfer(self, edges):
        """{edge name: (rx, tx)} of its spoke's peer on the hub."""
        out = _run(['wg', 'show', edges[0].hub_device, 'transfer']).stdout
        by_key = {line.split('\t')[0]: tuple(map(int,
                                                 line.split('\t')[1:3]))
                  for line in out.splitlines()}
        return {e.name: by_key[e.channel['properties']['public_key']]
                for e in edges}

    @property
    def prefix(self):
        return (self.plane.neutron.bridge_prefix or
                edge_bridge_conf.opts[1].default)

    # -- the proof ----------------------------------------------------------

    def test_containers_on_two_edge_hosts_ping_through_the_hub(self):
        edges = [self.edge_host('ovl-a'), self.edge_host('ovl-b')]
        # The channels name their hosts; both end at one tenant hub.
        admin = self.plane.neutron.client()
        for edge in edges:
            spoke = admin.get('/ports/%s' % edge.channel['uuid']).json()[
                'port']
            self.assertEqual(edge.name, spoke['device_id'])
        self.assertEqual(edges[0].hub_ip, edges[1].hub_ip)

        # A project network: VXLAN (tenant_network_types), MTU the
        # tunnels' minus VXLAN's 50 (path_mtu).
        demo = self.plane.neutron.client('demo')
        network = demo.post('/networks', json={'network': {
            'name': 'overlay-%s' % uuid.uuid4().hex[:6]}}).json()['network']
        self.addCleanup(demo.delete, '/networks/%s' % network['id'],
                        raise_exc=False)
        demo.post('/subnets', json={'subnet': {
            'network_id': network['id'], 'ip_version': 4,
            'cidr': CONTAINER_CIDR, 'enable_dhcp': False}})
        seen = admin.get('/networks/%s' % network['id']).json()['network']
        self.assertEqual('vxlan', seen['provider:network_type'])
        self.assertEqual(WG_MTU - 50, seen['mtu'])
        vni = seen['provider:segmentation_id']

        ports, containers = {}, {}
        for edge in edges:
            port = ports[edge.name] = self.container_port(network, edge)
            details = port['binding:vif_details']
            self.assertEqual('bridge', port['binding:vif_type'])
            self.assertEqual((vni, edge.channel_ip, edge.hub_ip),
                             (details['vxlan_vni'], details['vxlan_local'],
                              details['vxlan_remote']))
            containers[edge.name] = self.container(edge, port,
                                                   seen['mtu'])
        a, b = edges
        address_b = ports[b.name]['fixed_ips'][0]['ip_address']

        # The hub agent made the relay from the ports' notifications.
        relay = hub_overlay.Relay()
        want = {vni: frozenset((a.channel_ip, b.channel_ip))}
        self.figures['relay_s'] = _wait(
            'the relay of VNI %d' % vni,
            lambda: relay.actual().get(vni) == want[vni], 30)
        self.figures['first_ping_s'] = _wait(
            'container a pinging container b', lambda: self.ping(
                containers[a.name], address_b).returncode == 0, 20)

        # Through the hub: both spokes' peers carried every ping both
        # ways (requests in from a and out to b, replies back).
        before = self.transfer(edges)
        out = self.ping(containers[a.name], address_b, count=PINGS,
                        size=PAYLOAD, check=True).stdout
        after = self.transfer(edges)
        for edge in edges:
            rx = after[edge.name][0] - before[edge.name][0]
            tx = after[edge.name][1] - before[edge.name][1]
            self.assertGreaterEqual(rx, PINGS * PAYLOAD, edge.name)
            self.assertGreaterEqual(tx, PINGS * PAYLOAD, edge.name)
            self.figures['hub_rx_bytes_per_ping_%s' % edge.name] = \
                rx // PINGS
        self.figures['rtt_ms_1000B_a_to_b'] = _rtt(out)
        # The largest packet the network's MTU allows crosses whole.
        self.ping(containers[a.name], address_b, count=2,
                  size=seen['mtu'] - 28, check=True)
        self.figures['rtt_ms_56B_a_to_b'] = _rtt(self.ping(
            containers[a.name], address_b, count=20, check=True).stdout)

        # B's port deleted in Neutron: its notification takes b out of
        # the VNI, and a no longer reaches b's container.
        admin.delete('/ports/%s' % ports[b.name]['id'])
        self.figures['port_delete_to_relay_s'] = _wait(
            'b out of the relay', lambda: relay.actual().get(vni) ==
            frozenset((a.channel_ip,)), 30)
        self.assertNotEqual(0, self.ping(containers[a.name], address_b,
                                         count=3).returncode)

