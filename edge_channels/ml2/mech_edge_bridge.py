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
"""

from neutron_lib import constants
from neutron_lib.api.definitions import portbindings
from neutron_lib.plugins.ml2 import api
from oslo_config import cfg
from oslo_log import log as logging

from edge_channels import channel
from edge_channels import naming
from edge_channels.conf import edge_bridge as edge_bridge_conf


LOG = logging.getLogger(__name__)
#: Segments whose traffic stays on one host's bridge.  Between hosts a
#: VXLAN segment would also need a VXLAN device on each bridge and the
#: other hosts' addresses, which only an agent could report.
#: What a bridge on one host gives: a local network, or a flat one whose
#: physical network is that bridge.  Not VXLAN: without a VXLAN device
#: and the other hosts' addresses, containers of one network on two
#: hosts would not reach each other, and the port would still be ACTIVE.
NETWORK_TYPES = (constants.TYPE_LOCAL, constants.TYPE_FLAT)


class EdgeBridgeMechanismDriver(api.MechanismDriver):

    def initialize(self):
        edge_bridge_conf.register_opts(cfg.CONF)
        conf = cfg.CONF[edge_bridge_conf.GROUP]
        # A bad prefix stops neutron-server at start, not at each bind.
        self.prefix = naming.check_prefix(conf.bridge_prefix)
        self.hosts = frozenset(conf.hosts)
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
        for segment in context.segments_to_bind:
            if segment[api.NETWORK_TYPE] not in NETWORK_TYPES:
                continue
            details = {
                portbindings.VIF_DETAILS_BRIDGE_NAME: naming.bridge_name(
                    port['network_id'], self.prefix),
                # Security groups are not enforced on the bridge.
                portbindings.CAP_PORT_FILTER: False,
                portbindings.VIF_DETAILS_CONNECTIVITY: self.connectivity,
            }
            # No agent will report the port up later.  Once bound, what
            # is left is the host's plug, which kuryr makes as Docker
            # starts the container, or fails the start.
            context.set_binding(segment[api.ID], portbindings.VIF_TYPE_BRIDGE,
                                details, status=constants.PORT_STATUS_ACTIVE)
            LOG.debug('Bound port %s on host %s to bridge %s', port['id'],
                      context.host, details['bridge_name'])
            return
        LOG.debug('Not binding port %s: no segment of type %s in %s',
                  port['id'], '/'.join(NETWORK_TYPES),
                  [s[api.NETWORK_TYPE] for s in context.segments_to_bind])
