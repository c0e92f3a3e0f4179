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

"""The edge_bridge mechanism driver in Neutron's real ML2 plugin (its
own API through WebTest, on an in-memory database), as Neutron tests
its in-tree drivers.
"""

import fixtures
from neutron.conf.plugins.ml2.drivers import driver_type
from neutron.tests.unit.plugins.ml2 import test_plugin
from neutron_lib import constants
from neutron_lib.api.definitions import portbindings
from neutron_lib.api.definitions import provider_net
from oslo_config import cfg

from edge_channels import naming
from edge_channels.conf import edge_bridge as edge_bridge_conf
from edge_channels.ml2 import mech_edge_bridge


SERVED = 'edge-1'
ALSO_SERVED = 'edge-2'


class _EdgeBridgeBase(test_plugin.Ml2PluginV2TestCase):
    _mechanism_drivers = ['edge_bridge']
    prefix = 'eb1234-'
    hosts = [SERVED, ALSO_SERVED]

    def setUp(self):
        # ML2 logs refused bindings as errors: keep them with the test,
        # not on the run's output.
        self.useFixture(fixtures.FakeLogger())
        edge_bridge_conf.register_opts(cfg.CONF)
        driver_type.register_ml2_drivers_vxlan_opts()
        driver_type.register_ml2_drivers_flat_opts()
        cfg.CONF.set_override('hosts', self.hosts, group='edge_bridge')
        cfg.CONF.set_override('bridge_prefix', self.prefix,
                              group='edge_bridge')
        cfg.CONF.set_override('vni_ranges', ['1:100'], group='ml2_type_vxlan')
        cfg.CONF.set_override('flat_networks', ['*'], group='ml2_type_flat')
        super().setUp()

    def _network(self, network_type, **provider):
        args = dict(provider, **{provider_net.NETWORK_TYPE: network_type})
        net = self._make_network(self.fmt, 'net', True, as_admin=True,
                                 arg_list=tuple(args), **args)['network']
        self._make_subnet(self.fmt, {'network': net}, '10.0.0.1',
                          '10.0.0.0/24', as_admin=True)
        return net

    def _port(self, net, host, **kwargs):
        args = dict(kwargs, **{portbindings.HOST_ID: host})
        res = self._create_port(self.fmt, net['id'], is_admin=True,
                                arg_list=tuple(args), **args)
        self.assertEqual(201, res.status_int, res.body)
        return self.deserialize(self.fmt, res)['port']

    def _bind(self, port, host):
        return self._update('ports', port['id'],
                            {'port': {portbindings.HOST_ID: host}},
                            as_admin=True)['port']

    def assertBoundTo(self, net, port):
        self.assertEqual(portbindings.VIF_TYPE_BRIDGE,
                         port[portbindings.VIF_TYPE])
        self.assertEqual(
            {portbindings.VIF_DETAILS_BRIDGE_NAME:
             naming.bridge_name(net['id'], self.prefix),
             portbindings.CAP_PORT_FILTER: False,
             portbindings.VIF_DETAILS_CONNECTIVITY:
             portbindings.CONNECTIVITY_L2,
             # ML2 records which driver bound the port.
             'bound_drivers': {'0': 'edge_bridge'}},
            port[portbindings.VIF_DETAILS])
        self.assertEqual(constants.PORT_STATUS_ACTIVE, port['status'])

    def assertNotBound(self, port):
        self.assertEqual(portbindings.VIF_TYPE_BINDING_FAILED,
                         port[portbindings.VIF_TYPE])
        self.assertEqual(constants.PORT_STATUS_DOWN, port['status'])


class EdgeBridgeTestCase(_EdgeBridgeBase):

    def test_local_port_on_served_host_is_bound_to_its_bridge(self):
        net = self._network(constants.TYPE_LOCAL)
        port = self._port(net, SERVED)
        self.assertBoundTo(net, port)
        # What Neutron stored, not only what the create answered.
        self.assertBoundTo(net, self._show('ports', port['id'],
                                           as_admin=True)['port'])

    def test_flat_port_is_bound(self):
        net = self._network(constants.TYPE_FLAT,
                            **{provider_net.PHYSICAL_NETWORK: 'edge'})
        self.assertBoundTo(net, self._port(net, SERVED))

    def test_ports_of_one_network_share_a_bridge_other_networks_not(self):
        one, two = (self._network(constants.TYPE_LOCAL) for _ in range(2))
        first = self._port(one, SERVED)
        second = self._port(one, ALSO_SERVED)
        third = self._port(two, SERVED)
        name = portbindings.VIF_DETAILS_BRIDGE_NAME
        self.assertEqual(first[portbindings.VIF_DETAILS][name],
                         second[portbindings.VIF_DETAILS][name])
        self.assertNotEqual(first[portbindings.VIF_DETAILS][name],
                            third[portbindings.VIF_DETAILS][name])

    def test_vlan_port_is_not_bound(self):
        net = self._network(constants.TYPE_VLAN,
                            **{provider_net.PHYSICAL_NETWORK: self.physnet,
                               provider_net.SEGMENTATION_ID: 7})
        self.assertNotBound(self._port(net, SERVED))

    def test_vxlan_port_is_not_bound(self):
        # A bridge on one host is no VXLAN segment: bound, the port would
        # be ACTIVE while containers on other hosts cannot reach it.
        self.assertNotBound(self._port(self._network(constants.TYPE_VXLAN),
                                       SERVED))

    def test_port_on_other_host_is_not_bound(self):
        net = self._network(constants.TYPE_LOCAL)
        self.assertNotBound(self._port(net, 'elsewhere'))

    def test_direct_vnic_is_not_bound(self):
        net = self._network(constants.TYPE_LOCAL)
        port = self._port(net, SERVED, **{
            portbindings.VNIC_TYPE: portbindings.VNIC_DIRECT})
        self.assertNotBound(port)

    def test_port_without_host_stays_unbound(self):
        net = self._network(constants.TYPE_LOCAL)
        res = self._create_port(self.fmt, net['id'], is_admin=True)
        port = self.deserialize(self.fmt, res)['port']
        self.assertEqual(portbindings.VIF_TYPE_UNBOUND,
                         port[portbindings.VIF_TYPE])

    def test_port_moved_between_hosts(self):
        # kuryr-libnetwork sets binding:host_id to its own host name
        # when it takes over the port Zun created.
        net = self._network(constants.TYPE_LOCAL)
        port = self._port(net, SERVED)
        self.assertBoundTo(net, self._bind(port, ALSO_SERVED))
        self.assertEqual(portbindings.VIF_TYPE_BINDING_FAILED,
                         self._bind(port, 'elsewhere')[portbindings.VIF_TYPE])
        self.assertBoundTo(net, self._bind(port, SERVED))


class EveryHostTestCase(_EdgeBridgeBase):
    """No hosts configured: the driver binds on every host."""

    hosts = []

    def test_port_on_any_host_is_bound(self):
        net = self._network(constants.TYPE_LOCAL)
        self.assertBoundTo(net, self._port(net, 'anywhere'))


class InitializeTestCase(test_plugin.Ml2PluginV2TestCase):
    """A wrong prefix stops Neutron at start, with the reason."""

    _mechanism_drivers = []

    def test_bad_prefix(self):
        edge_bridge_conf.register_opts(cfg.CONF)
        cfg.CONF.set_override('bridge_prefix', 'Br_', group='edge_bridge')
        driver = mech_edge_bridge.EdgeBridgeMechanismDriver()
        e = self.assertRaises(ValueError, driver.initialize)
        self.assertIn("bridge prefix 'Br_'", str(e))
