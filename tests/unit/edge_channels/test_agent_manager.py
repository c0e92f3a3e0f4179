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

"""The hub agent's bookkeeping: which hubs a notification names, and
what a sync asks of the interface and of Neutron.

Neutron and the privileged layer are in-memory fakes here, which keep
what they were given; tests/channels/test_hub_agent.py runs the agent
with the real ones.
"""

import base64
import os
import uuid

import fixtures
import testtools
from oslo_config import cfg

from edge_channels import channel
from edge_channels import naming
from edge_channels.agent import manager
from edge_channels.agent import plan
from edge_channels.conf import hub as hub_conf


HOST = 'hub-1'


def _key():
    return base64.b64encode(os.urandom(32)).decode()


class FakeNeutron:
    def __init__(self):
        self.ports = {}
        self.reports = []

    def add(self, owner, ip, host=None, profile=None):
        port = {'id': str(uuid.uuid4()), 'device_owner': owner,
                'network_id': 'net', 'binding:host_id': host or '',
                'fixed_ips': [{'ip_address': ip}],
                'binding:profile': profile or {}}
        self.ports[port['id']] = port
        return port

    def hubs(self, host):
        return [p for p in self.ports.values()
                if p['device_owner'] == channel.DEVICE_OWNER_HUB and
                p['binding:host_id'] == host]

    def spokes(self, network_id):
        return [p for p in self.ports.values()
                if p['device_owner'] == channel.DEVICE_OWNER_SPOKE]

    def port(self, port_id):
        return self.ports.get(port_id)

    def list_ports(self, fields=None):
        return list(self.ports.values())

    def report(self, hub_id, public_key, endpoint):
        self.reports.append(hub_id)
        self.ports[hub_id]['binding:profile'] = {
            'public_key': public_key, 'endpoint': endpoint}


class FakeInterfaces:
    """The privileged entrypoints over a dict of interfaces."""

    def __init__(self, state):
        self.state = state
        self.devices = {}
        #: {hub ID: {peer key: endpoint}}: where WireGuard would send.
        self.endpoints = {}
        self.applied = []
        #: The relay's plan as the privileged daemon gets it.
        self.overlay = []

    def ensure_device(self, hub_id, listen_port):
        created = hub_id not in self.devices
        if created:
            self.devices[hub_id] = plan.Actual(frozenset(), {}, frozenset())
            self.endpoints[hub_id] = {}
        return created, 'userspace', self.state.public_key(hub_id)

    def device_state(self, hub_id):
        have = self.devices[hub_id]
        return {'addresses': sorted(have.addresses),
                'routes': sorted(have.routes),
                'peers': {k: {'allowed_ips': sorted(v),
                              'endpoint': self.endpoints[hub_id].get(k)}
                          for k, v in have.peers.items()}}

    def peer_endpoints(self, hub_id):
        if hub_id not in self.devices:
            return None
        return {k: self.endpoints[hub_id].get(k)
                for k in self.devices[hub_id].peers}

    def apply(self, hub_id, ops):
        self.applied.append((hub_id, list(ops)))
        self.devices[hub_id] = plan.apply_to(self.devices[hub_id], ops)
        for op in ops:
            if op[0] == plan.PEER_SET and op[3]:
                self.endpoints[hub_id][op[1]] = op[3]

    def list_devices(self):
        return [naming.wireguard_device(h) for h in self.devices]

    def apply_overlay(self, want):
        changed = want != self.overlay
        self.overlay = want
        return int(changed)

    def delete_device(self, name):
        for hub_id in list(self.devices):
            if naming.wireguard_device(hub_id) == name:
                del self.devices[hub_id]
                del self.endpoints[hub_id]


class HubAgentTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.logger = self.useFixture(fixtures.FakeLogger())
        conf = cfg.ConfigOpts()
        hub_conf.register_opts(conf)
        conf([], default_config_files=[])
        self.conf = conf
        conf.set_override('host', HOST, group='hub')
        conf.set_override('endpoint_address', '192.0.2.1', group='hub')
        conf.set_override('state_dir', os.path.join(
            self.useFixture(fixtures.TempDir()).path, 'state'), group='hub')
        self.neutron = FakeNeutron()
        self.agent = manager.HubAgent(conf, self.neutron, None)
        self.priv = self.agent.priv = FakeInterfaces(self.agent.state)
        self.hub = self.neutron.add(channel.DEVICE_OWNER_HUB, '10.0.0.1',
                                    host=HOST)

    def _spoke(self, ip, hub=None):
        return self.neutron.add(channel.DEVICE_OWNER_SPOKE, ip, profile={
            'public_key': _key(), 'peers': [(hub or self.hub)['id']]})

    def test_full_sync_builds_and_reports_once(self):
        spoke = self._spoke('10.0.0.5')
        self.agent.sync_all()
        have = self.priv.devices[self.hub['id']]
        self.assertEqual({spoke['binding:profile']['public_key']:
                          {'10.0.0.5/32'}}, have.peers)
        self.assertEqual({'10.0.0.1/32'}, have.addresses)
        self.assertEqual('192.0.2.1:51820', self.neutron.ports[
            self.hub['id']]['binding:profile']['endpoint'])
        self.agent.sync_all()
        # Nothing changed: nothing applied, nothing reported again.
        self.assertEqual(1, len(self.priv.applied))
        self.assertEqual([self.hub['id']], self.neutron.reports)

    def test_a_rebuilt_interface_calls_its_devices_back(self):
        heard = self._spoke('10.0.0.5')
        declared = self._spoke('10.0.0.6')
        declared['binding:profile']['endpoint'] = '198.51.100.6:51820'
        key = {s['id']: s['binding:profile']['public_key']
               for s in (heard, declared)}
        hub_id = self.hub['id']
        self.agent.sync_all()
        # The device was heard from (WireGuard learns the endpoint of
        # an authenticated packet), then recorded.
        self.priv.endpoints[hub_id][key[heard['id']]] = '203.0.113.5:40000'
        self.agent.record_endpoints()
        path = os.path.join(self.conf.hub.state_dir, hub_id + '.endpoints')
        self.assertEqual(0o600, os.stat(path).st_mode & 0o777)
        # Killed and restarted, its interface gone (a reboot): the
        # rebuilt peers get the endpoints and the hub calls them.
        self.priv.delete_device(naming.wireguard_device(hub_id))
        agent = manager.HubAgent(self.conf, self.neutron, self.priv)
        agent.sync_all()
        sets = {op[1]: op[3] for op in self.priv.applied[-1][1]
                if op[0] == plan.PEER_SET}
        self.assertEqual({key[heard['id']]: '203.0.113.5:40000',
                          key[declared['id']]: '198.51.100.6:51820'}, sets)
        self.assertIn('started handshakes to 2 devices',
                      self.logger.output)
        # A spoke gone: its endpoint is no longer kept.
        del self.neutron.ports[heard['id']]
        agent.sync_hub(hub_id)
        self.assertEqual({key[declared['id']]: '198.51.100.6:51820'},
                         agent.state.endpoints(hub_id))

    def test_hub_gone_or_moved_is_torn_down_with_its_key(self):
        other = self.neutron.add(channel.DEVICE_OWNER_HUB, '10.0.0.2',
                                 host=HOST)
        self.agent.sync_all()
        key = self.agent.state.key_path(other['id'])
        self.assertTrue(os.path.exists(key))
        self.neutron.ports[other['id']]['binding:host_id'] = 'hub-2'
        self.agent.sync_hub(other['id'])
        self.assertNotIn(other['id'], self.priv.devices)
        self.assertFalse(os.path.exists(key))
        del self.neutron.ports[self.hub['id']]
        self.agent.sync_all()
        self.assertEqual({}, self.priv.devices)
        self.assertEqual([], self.agent.state.hubs())

    def test_notifications_name_the_hubs_they_change(self):
        spoke = self._spoke('10.0.0.5')
        self.agent.sync_all()
        hub_id = self.hub['id']
        # A spoke's create or update names its peers.
        self.assertEqual({hub_id}, self.agent.hubs_of_event(
            'port.create.end', {'port': spoke}))
        # A delete says only the ID: the agent knows the spoke's hub.
        self.assertEqual({hub_id}, self.agent.hubs_of_event(
            'port.delete.end', {'port_id': spoke['id']}))
        self.assertEqual({hub_id}, self.agent.hubs_of_event(
            'port.delete.end', {'port_id': hub_id}))
        # A spoke moved to another hub: the old one loses it.
        moved = dict(spoke, **{'binding:profile': dict(
            spoke['binding:profile'], peers=[str(uuid.uuid4())])})
        self.assertIn(hub_id, self.agent.hubs_of_event(
            'port.update.end', {'port': moved}))
        # A bulk create is one notification for all its ports.
        other = self._spoke('10.0.0.6')
        vm = self.neutron.add('compute:nova', '10.0.0.9')
        self.assertEqual({hub_id}, self.agent.hubs_of_event(
            'port.create.end', {'ports': [vm, other]}))
        # Other ports name nothing.
        self.assertEqual(set(), self.agent.hubs_of_event(
            'port.create.end', {'port': vm}))
        self.assertEqual(set(), self.agent.hubs_of_event(
            'port.create.end', {'ports': [vm]}))
        self.assertEqual(set(), self.agent.hubs_of_event(
            'port.delete.end', {'port_id': vm['id']}))

    def test_a_deleted_spoke_removes_only_its_peer(self):
        one = self._spoke('10.0.0.5')
        two = self._spoke('10.0.0.6')
        self.agent.sync_all()
        del self.neutron.ports[two['id']]
        self.agent.sync_hub(self.hub['id'])
        self.assertEqual(
            [(plan.PEER_REMOVE, two['binding:profile']['public_key']),
             (plan.ROUTE_DEL, '10.0.0.6/32')], self.priv.applied[-1][1])
        self.assertEqual({one['binding:profile']['public_key']},
                         set(self.priv.devices[self.hub['id']].peers))

    def test_overlay_relay_follows_the_bound_vxlan_ports(self):
        spoke = self._spoke('10.0.0.5')
        spoke['project_id'] = 'p1'
        container = self.neutron.add('compute:kuryr', '10.9.0.5')
        container.update({
            'project_id': 'p1', 'binding:vif_type': 'bridge',
            'binding:vif_details': {'bridge_name': 'ebr-1',
                                    'vxlan_vni': 7,
                                    'vxlan_local': '10.0.0.5',
                                    'vxlan_remote': '10.0.0.1'}})
        self.agent.sync_all()
        # The full sync synced the relay: VNI 7 carries the spoke.
        self.assertEqual([[7, ['10.0.0.5']]], self.priv.overlay)
        # A bound port's notification asks for the relay; its delete
        # (the ID alone) too, since the last sync saw it; others not.
        self.assertTrue(self.agent.overlay_of_event(
            'port.update.end', {'port': container}))
        self.assertTrue(self.agent.overlay_of_event(
            'port.delete.end', {'port_id': container['id']}))
        vm = self.neutron.add('compute:nova', '10.0.0.9')
        self.assertFalse(self.agent.overlay_of_event(
            'port.create.end', {'port': vm}))
        self.assertFalse(self.agent.overlay_of_event(
            'port.delete.end', {'port_id': vm['id']}))
        # The spoke gone, a hub sync leaves the relay empty.
        del self.neutron.ports[spoke['id']]
        self.agent.sync_hub(self.hub['id'])
        self.agent.sync_overlay()
        self.assertEqual([], self.priv.overlay)
