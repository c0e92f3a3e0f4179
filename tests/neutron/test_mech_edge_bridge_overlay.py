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

"""edge_bridge binds VXLAN ports only on hosts with a tenant channel of
the port's project, in Neutron's real ML2 plugin.
"""

from neutron_lib import constants
from neutron_lib.api.definitions import portbindings

from edge_channels import channel
from edge_channels.hub import overlay as hub_overlay
from tests.neutron import test_mech_edge_bridge as base


SERVED = base.SERVED
OTHER = base.ALSO_SERVED
OTHER_PROJECT = 'another-project'


class _OverlayBase(base._EdgeBridgeBase):

    tenant_networks = None

    def setUp(self):
        super().setUp()
        self.tenant_net = self._channel_network('tenant-channels',
                                                '10.241.0')
        self.control_net = self._channel_network('control-channels',
                                                 '10.240.0')
        base.cfg.CONF.set_override(
            'tenant_channel_networks',
            self.tenant_networks or [self.tenant_net['id']],
            group='edge_bridge')
        # The driver read its options at start: read them again.
        self.driver = self.plugin.mechanism_manager.mech_drivers[
            'edge_bridge'].obj
        self.driver.initialize()
        self.vxlan = self._network(constants.TYPE_VXLAN)

    def _channel_network(self, name, prefix):
        net = self._make_network(self.fmt, name, True, as_admin=True,
                                 arg_list=('provider:network_type',),
                                 **{'provider:network_type':
                                    constants.TYPE_LOCAL})['network']
        self._make_subnet(self.fmt, {'network': net}, prefix + '.254',
                          prefix + '.0/24', as_admin=True)
        return net

    def _channel_port(self, net, owner, **kwargs):
        args = dict(kwargs, device_owner=owner)
        # binding:profile is the service role's (as the channel API).
        res = self._create_port(self.fmt, net['id'], is_service=True,
                                arg_list=tuple(args), **args)
        self.assertEqual(201, res.status_int, res.body)
        return self.deserialize(self.fmt, res)['port']

    def channel(self, host, net=None, project=None):
        """A hub and a spoke of ``project`` whose device is ``host``;
        returns (spoke IP, hub IP).
        """
        net = net or self.tenant_net
        extra = {'project_id': project} if project else {}
        hub = self._channel_port(net, channel.DEVICE_OWNER_HUB, **extra)
        spoke = self._channel_port(
            net, channel.DEVICE_OWNER_SPOKE, device_id=host,
            **{portbindings.PROFILE: {channel.PROFILE_PEERS: [hub['id']]}},
            **extra)
        return (spoke['fixed_ips'][0]['ip_address'],
                hub['fixed_ips'][0]['ip_address'])

    def vni(self):
        return self._show('networks', self.vxlan['id'], as_admin=True)[
            'network']['provider:segmentation_id']

    def assertOverlay(self, port, local, remote):
        details = port[portbindings.VIF_DETAILS]
        self.assertEqual(portbindings.VIF_TYPE_BRIDGE,
                         port[portbindings.VIF_TYPE])
        self.assertEqual(constants.PORT_STATUS_ACTIVE, port['status'])
        self.assertEqual((self.vni(), local, remote),
                         (details['vxlan_vni'], details['vxlan_local'],
                          details['vxlan_remote']))


class TenantOverlayTestCase(_OverlayBase):

    def test_vxlan_port_on_host_with_tenant_channel_is_bound(self):
        local, remote = self.channel(SERVED)
        port = self._port(self.vxlan, SERVED)
        self.assertOverlay(port, local, remote)
        self.assertOverlay(self._show('ports', port['id'], as_admin=True)[
            'port'], local, remote)

    def test_no_tenant_channel_on_the_host_no_binding(self):
        # The review finding: ACTIVE and cut off is worse than unbound.
        self.channel(OTHER)
        self.assertNotBound(self._port(self.vxlan, SERVED))

    def test_control_channel_does_not_carry_the_overlay(self):
        self.channel(SERVED, net=self.control_net)
        self.assertNotBound(self._port(self.vxlan, SERVED))

    def test_another_projects_channel_does_not_count(self):
        self.channel(SERVED, project=OTHER_PROJECT)
        self.assertNotBound(self._port(self.vxlan, SERVED))

    def test_spoke_without_hub_does_not_count(self):
        self._channel_port(self.tenant_net, channel.DEVICE_OWNER_SPOKE,
                           device_id=SERVED)
        self.assertNotBound(self._port(self.vxlan, SERVED))

    def test_port_moving_to_a_host_without_channel_is_unbound(self):
        local, remote = self.channel(SERVED)
        port = self._port(self.vxlan, SERVED)
        self.assertNotBound(self._bind(port, OTHER))
        self.assertOverlay(self._bind(port, SERVED), local, remote)

    def test_local_network_binds_without_overlay(self):
        self.channel(SERVED)
        net = self._network(constants.TYPE_LOCAL)
        self.assertBoundTo(net, self._port(net, SERVED))

    def test_two_hosts_one_hub_make_one_relay(self):
        # What the hub's relay reads back from these bindings.
        a, hub_ip = self.channel(SERVED)
        b, hub_ip_b = self.channel(OTHER)
        ports = [self._port(self.vxlan, host) for host in (SERVED, OTHER)]
        hubs = self._list('ports', as_admin=True, query_params=(
            'device_owner=' + channel.DEVICE_OWNER_HUB))['ports']
        spokes = self._list('ports', as_admin=True, query_params=(
            'device_owner=' + channel.DEVICE_OWNER_SPOKE))['ports']
        want = hub_overlay.plan(hubs, spokes, ports)
        self.assertEqual({self.vni(): frozenset({a, b})}, want)
        # A hub host with only the first hub relays only its spoke.
        first = [h for h in hubs if h['fixed_ips'][0]['ip_address'] ==
                 hub_ip]
        self.assertEqual({self.vni(): frozenset({a})},
                         hub_overlay.plan(first, spokes, ports))


class TenantNetworkByNameTestCase(_OverlayBase):

    tenant_networks = ['tenant-channels']

    def test_named_tenant_channel_network(self):
        local, remote = self.channel(SERVED)
        self.assertOverlay(self._port(self.vxlan, SERVED), local, remote)


class NoTenantNetworksTestCase(_OverlayBase):
    """The option empty: VXLAN is never bound, channel or not."""

    def setUp(self):
        super().setUp()
        base.cfg.CONF.set_override('tenant_channel_networks', [],
                                   group='edge_bridge')
        self.driver.initialize()

    def test_vxlan_not_bound(self):
        self.channel(SERVED)
        self.assertNotBound(self._port(self.vxlan, SERVED))
