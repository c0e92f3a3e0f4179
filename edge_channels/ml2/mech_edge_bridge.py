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

"""An ML2 mechanism driver that binds ports to a Linux bridge per
network, without an agent.

No upstream driver binds ports on an edge host that has neither an Open
vSwitch datapath nor a Linux bridge agent.  This one binds a port on a
host it serves (``[edge_bridge] hosts``) with ``vif_type`` "bridge"
and the bridge's name in ``vif_details``; on the host, kuryr-lib runs
the "bridge" program of its binding directory, which is
``edge_channels.host.vif``: it creates that bridge and plugs the
container's veth into it.  See specs/container-networking.rst.

A VXLAN segment is bound only on a host that has a tenant channel of
the port's project (``[edge_bridge] tenant_channel_networks``): a
spoke port of that project on such a network whose ``device_id`` is
the host.  ``vif_details`` then also carry the VNI and both ends of
the channel (``edge_channels.host.overlay``), and the hub relays the
VNI between the project's edge hosts (``edge_channels.hub.overlay``).
Without a tenant channel the port stays unbound: bound, it would be
ACTIVE and reach nothing.
"""

import ipaddress

from neutron_lib import constants
from neutron_lib.api.definitions import portbindings
from neutron_lib.plugins import directory
from neutron_lib.plugins.ml2 import api
from oslo_config import cfg
from oslo_log import log as logging

from edge_channels import channel
from edge_channels import naming
from edge_channels.conf import edge_bridge as edge_bridge_conf
from edge_channels.host import overlay


LOG = logging.getLogger(__name__)
#: What a bridge on one host gives: a local network, or a flat one whose
#: physical network is that bridge.
NETWORK_TYPES = (constants.TYPE_LOCAL, constants.TYPE_FLAT)
#: Bound only on a host with a tenant channel, which carries them to the
#: hub: elsewhere containers of one network on two hosts would not reach
#: each other, and the port would still be ACTIVE.
OVERLAY_TYPES = (constants.TYPE_VXLAN,)


class EdgeBridgeMechanismDriver(api.MechanismDriver):

    def initialize(self):
        edge_bridge_conf.register_opts(cfg.CONF)
        conf = cfg.CONF[edge_bridge_conf.GROUP]
        # A bad prefix stops neutron-server at start, not at each bind.
        self.prefix = naming.check_prefix(conf.bridge_prefix)
        self.hosts = frozenset(conf.hosts)
        self.tenant_networks = frozenset(conf.tenant_channel_networks)
        LOG.info('edge_bridge binds %s network ports on %s, bridges %s*',
                 '/'.join(NETWORK_TYPES),
                 ', '.join(sorted(self.hosts)) or 'every host', self.prefix)

    @property
    def connectivity(self):
        return portbindings.CONNECTIVITY_L2

    def responsible_for_host(self, host):
        return not self.hosts or host in self.hosts

    def bind_port(self, context):
        port = context.current
        if channel.is_channel_port(port.get('device_owner')):
            return  # edge_channel's: a tunnel end, not a bridge port.
        vnic_type = port.get(portbindings.VNIC_TYPE, portbindings.VNIC_NORMAL)
        if vnic_type != portbindings.VNIC_NORMAL:
            LOG.debug('Not binding port %s: vnic_type %s', port['id'],
                      vnic_type)
            return
        if not self.responsible_for_host(context.host):
            LOG.debug('Not binding port %s: host %s is not served',
                      port['id'], context.host)
            return
        tunnel = None
        for segment in context.segments_to_bind:
            network_type = segment[api.NETWORK_TYPE]
            if network_type in OVERLAY_TYPES:
                if tunnel is None:
                    tunnel = self.tenant_channel(context) or ()
                if not tunnel:
                    continue
            elif network_type not in NETWORK_TYPES:
                continue
            details = {
                portbindings.VIF_DETAILS_BRIDGE_NAME: naming.bridge_name(
                    port['network_id'], self.prefix),
                # Security groups are not enforced on the bridge.
                portbindings.CAP_PORT_FILTER: False,
                portbindings.VIF_DETAILS_CONNECTIVITY: self.connectivity,
            }
            if network_type in OVERLAY_TYPES:
                details.update({
                    overlay.KEY_VNI: segment[api.SEGMENTATION_ID],
                    overlay.KEY_LOCAL: tunnel[0],
                    overlay.KEY_REMOTE: tunnel[1]})
            # No agent will report the port up later.  Once bound, what
            # is left is the host's plug, which kuryr makes as Docker
            # starts the container, or fails the start.
            context.set_binding(segment[api.ID], portbindings.VIF_TYPE_BRIDGE,
                                details, status=constants.PORT_STATUS_ACTIVE)
            LOG.debug('Bound port %s on host %s to bridge %s', port['id'],
                      context.host, details['bridge_name'])
            return
        LOG.debug('Not binding port %s: no segment of type %s in %s (%s '
                  'only over a tenant channel of host %s, which %s)',
                  port['id'], '/'.join(NETWORK_TYPES),
                  [s[api.NETWORK_TYPE] for s in context.segments_to_bind],
                  '/'.join(OVERLAY_TYPES), context.host,
                  'it has' if tunnel else 'it has not')

    def tenant_channel(self, context):
        """(spoke address, hub address) of the tenant channel of the
        port's project on the port's host, or None.

        The channel is a spoke port of the project on one of
        ``[edge_bridge] tenant_channel_networks`` whose ``device_id``
        is the host, with a hub peer; the first by ID if several.
        """
        if not self.tenant_networks:
            return None
        port = context.current
        plugin = directory.get_plugin()
        admin = context.plugin_context.elevated()
        spokes = plugin.get_ports(admin, filters={
            'device_owner': [channel.DEVICE_OWNER_SPOKE],
            'device_id': [context.host],
            'project_id': [port['project_id']]})
        names = {}
        for spoke in sorted(spokes, key=lambda p: p['id']):
            net_id = spoke['network_id']
            if net_id not in names:
                names[net_id] = plugin.get_network(
                    admin, net_id, fields=['name']).get('name')
            if not {net_id, names[net_id]} & self.tenant_networks:
                continue
            peers = (spoke.get(portbindings.PROFILE) or {}).get(
                channel.PROFILE_PEERS) or []
            hubs = plugin.get_ports(admin, filters={
                'id': list(peers)[:1],
                'device_owner': [channel.DEVICE_OWNER_HUB]}) if peers \
                else []
            local = _ipv4(spoke)
            remote = _ipv4(hubs[0]) if hubs else None
            if local and remote:
                return local, remote
        return None


def _ipv4(port):
    """The first IPv4 fixed IP of ``port`` (the hub's VXLAN admission
    reads IPv4 headers), or None.
    """
    for ip in port.get('fixed_ips') or ():
        if ipaddress.ip_address(ip['ip_address']).version == 4:
            return ip['ip_address']
    return None
