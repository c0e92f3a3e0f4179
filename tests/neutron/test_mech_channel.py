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

"""The edge_channel mechanism driver, beside edge_bridge as deployed,
in Neutron's real ML2 plugin (its own API through WebTest, on an
in-memory database), as Neutron tests its in-tree drivers.
"""

import base64
import os

import fixtures
from neutron.conf.plugins.ml2.drivers import driver_type
from neutron.tests.unit.plugins.ml2 import test_plugin
from neutron_lib import constants
from neutron_lib.api.definitions import portbindings
from neutron_lib.api.definitions import provider_net
from oslo_config import cfg

from edge_channels import channel
from edge_channels import naming
from edge_channels.conf import edge_bridge as edge_bridge_conf
from edge_channels.ml2 import mech_channel


HUB_HOST = 'hub-1'


def public_key():
    return base64.b64encode(os.urandom(32)).decode()


class _ChannelBase(test_plugin.Ml2PluginV2TestCase):
    # As deployed: edge_bridge first, serving every host.
    _mechanism_drivers = ['edge_bridge', 'edge_channel']

    def setUp(self):
        self.useFixture(fixtures.FakeLogger())
        edge_bridge_conf.register_opts(cfg.CONF)
        driver_type.register_ml2_drivers_flat_opts()
        cfg.CONF.set_override('hosts', [], group='edge_bridge')
        cfg.CONF.set_override('flat_networks', ['*'], group='ml2_type_flat')
        super().setUp()
        # A flat network, which edge_bridge would bind ports of.
        args = {provider_net.NETWORK_TYPE: constants.TYPE_FLAT,
                provider_net.PHYSICAL_NETWORK: 'channels'}
        net = self._make_network(self.fmt, 'channels', True, as_admin=True,
                                 arg_list=tuple(args), **args)['network']
        self._make_subnet(self.fmt, {'network': net}, '10.7.0.1',
                          '10.7.0.0/24', as_admin=True)
        self.net = net

    def _create(self, owner, host=None, profile=None, **kwargs):
        args = dict(kwargs, device_owner=owner)
        if host is not None:
            args[portbindings.HOST_ID] = host
        if profile is not None:
            args[portbindings.PROFILE] = profile
        # binding:profile and binding:host_id are the service role's,
        # as for the channel API and the hub agent.
        return self._create_port(self.fmt, self.net['id'], is_service=True,
                                 arg_list=tuple(args), **args)

    def _port(self, owner, host=None, profile=None, **kwargs):
        res = self._create(owner, host, profile, **kwargs)
        self.assertEqual(201, res.status_int, res.body)
        return self.deserialize(self.fmt, res)['port']

    def _hub(self, host=HUB_HOST, profile=None):
        return self._port(channel.DEVICE_OWNER_HUB, host, profile)

    def _spoke(self, hub, host=None):
        return self._port(channel.DEVICE_OWNER_SPOKE, host, {
            'public_key': public_key(), 'peers': [hub['id']]})

    def _update(self, port, **attrs):
        return super()._update('ports', port['id'], {'port': attrs},
                               as_service=True)['port']

    def _update_status(self, port, **attrs):
        req = self.new_update_request('ports', {'port': attrs}, port['id'],
                                      as_service=True)
        return req.get_response(self.api)

    def assertHubBound(self, port, status):
        self.assertEqual(mech_channel.VIF_TYPE_WIREGUARD,
                         port[portbindings.VIF_TYPE])
        self.assertEqual(
            {naming.VIF_DETAILS_DEVICE_NAME:
             naming.wireguard_device(port['id']),
             portbindings.CAP_PORT_FILTER: False,
             portbindings.VIF_DETAILS_CONNECTIVITY:
             portbindings.CONNECTIVITY_L3,
             'bound_drivers': {'0': 'edge_channel'}},
            port[portbindings.VIF_DETAILS])
        self.assertEqual(status, port['status'])

    def assertRefused(self, res, *words):
        self.assertEqual(400, res.status_int, res.body)
        message = self.deserialize(self.fmt, res)['NeutronError']['message']
        for word in words:
            self.assertIn(word, message)


class BindTestCase(_ChannelBase):

    def test_hub_with_a_host_is_bound_to_its_interface(self):
        hub = self._hub()
        self.assertHubBound(hub, constants.PORT_STATUS_DOWN)
        self.assertHubBound(self._show('ports', hub['id'],
                                       as_admin=True)['port'],
                            constants.PORT_STATUS_DOWN)

    def test_hub_turns_active_once_its_agent_reported(self):
        hub = self._hub()
        reported = self._update(hub, **{portbindings.PROFILE: {
            'public_key': public_key(), 'endpoint': '192.0.2.1:51820'}})
        self.assertHubBound(reported, constants.PORT_STATUS_ACTIVE)
        self.assertHubBound(self._show('ports', hub['id'],
                                       as_admin=True)['port'],
                            constants.PORT_STATUS_ACTIVE)

    def test_hub_without_host_stays_unbound(self):
        hub = self._port(channel.DEVICE_OWNER_HUB)
        self.assertEqual(portbindings.VIF_TYPE_UNBOUND,
                         hub[portbindings.VIF_TYPE])

    def test_hub_moved_to_another_host_is_bound_there(self):
        hub = self._hub()
        moved = self._update(hub, **{portbindings.HOST_ID: 'hub-2'})
        self.assertHubBound(moved, constants.PORT_STATUS_DOWN)
        self.assertEqual('hub-2', moved[portbindings.HOST_ID])

    def test_spoke_is_never_bound_by_either_driver(self):
        spoke = self._spoke(self._hub(), host=HUB_HOST)
        # edge_bridge serves every host here and would have made it a
        # bridge port: it leaves channel ports to edge_channel.
        self.assertEqual(portbindings.VIF_TYPE_BINDING_FAILED,
                         spoke[portbindings.VIF_TYPE])

    def test_other_ports_are_left_to_edge_bridge(self):
        port = self._port('compute:kuryr', HUB_HOST)
        self.assertEqual(portbindings.VIF_TYPE_BRIDGE,
                         port[portbindings.VIF_TYPE])
        self.assertEqual({'0': 'edge_bridge'},
                         port[portbindings.VIF_DETAILS]['bound_drivers'])

    def test_direct_vnic_hub_is_not_bound(self):
        hub = self._port(channel.DEVICE_OWNER_HUB, HUB_HOST, **{
            portbindings.VNIC_TYPE: portbindings.VNIC_DIRECT})
        self.assertEqual(portbindings.VIF_TYPE_BINDING_FAILED,
                         hub[portbindings.VIF_TYPE])


class PrecommitTestCase(_ChannelBase):

    def test_valid_spoke_is_stored_canonically(self):
        hub = self._hub()
        key = public_key()
        spoke = self._port(channel.DEVICE_OWNER_SPOKE, profile={
            'public_key': key, 'peers': [hub['id']],
            'endpoint': '198.51.100.7:4500'})
        self.assertEqual(key, spoke[portbindings.PROFILE]['public_key'])

    def test_spoke_with_bad_key_is_refused(self):
        hub = self._hub()
        res = self._create(channel.DEVICE_OWNER_SPOKE, profile={
            'public_key': 'bm90IGEga2V5', 'peers': [hub['id']]})
        self.assertRefused(res, 'public key')
        self.assertEqual([], self._list(
            'ports', query_params='device_owner=%s'
            % channel.DEVICE_OWNER_SPOKE)['ports'])

    def test_spoke_without_peers_is_refused(self):
        res = self._create(channel.DEVICE_OWNER_SPOKE, profile={
            'public_key': public_key()})
        self.assertRefused(res, 'peers')

    def test_spoke_with_bad_endpoint_is_refused(self):
        hub = self._hub()
        res = self._create(channel.DEVICE_OWNER_SPOKE, profile={
            'public_key': public_key(), 'peers': [hub['id']],
            'endpoint': '10.0.0.1:70000'})
        self.assertRefused(res, 'Endpoint', '70000')

    def test_hub_with_half_a_report_is_refused(self):
        res = self._create(channel.DEVICE_OWNER_HUB, HUB_HOST,
                           {'public_key': public_key()})
        self.assertRefused(res, 'both public_key and endpoint')

    def test_unknown_channel_owner_is_refused(self):
        res = self._create('channel:openvpn:hub', HUB_HOST)
        self.assertRefused(res, 'openvpn')

    def test_update_to_a_bad_profile_is_refused_and_changes_nothing(self):
        hub = self._hub()
        spoke = self._spoke(hub)
        res = self._update_status(spoke, **{portbindings.PROFILE: {
            'public_key': public_key(), 'peers': [], 'x': 1}})
        self.assertRefused(res, 'unknown keys')
        stored = self._show('ports', spoke['id'], as_admin=True)['port']
        self.assertEqual(spoke[portbindings.PROFILE],
                         stored[portbindings.PROFILE])

    def test_other_ports_profiles_are_not_ours_to_check(self):
        port = self._port('compute:kuryr', profile={'anything': 'goes'})
        self.assertEqual({'anything': 'goes'}, port[portbindings.PROFILE])
