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

"""The ML2 mechanism driver of channel ports (``edge_channel``).

It binds a channel's hub port (``channel:wireguard:hub``) to the host
in its ``binding:host_id``, where the hub agent makes the WireGuard
interface that ``vif_details["device_name"]`` names
(``naming.wireguard_device``, the function the agent calls too).  It
binds nothing else: a spoke is the device's end of the tunnel, outside
the cloud, and other ports belong to other drivers.

The hub agent does not talk RPC (Neutron here runs its API only): it
reports the interface's public key and endpoint into the hub port's
``binding:profile`` through the REST API.  ML2 binds a port again when
its profile changes, so the hub turns ACTIVE once the agent reported.

Before any channel port is stored, its ``device_owner`` and
``binding:profile`` are checked with the validators of
``edge_channels.channel``: the channel API checks them too, but a
caller with Neutron's admin rights must not store what the agent or
a device would then trip over.
"""

from neutron_lib import constants
from neutron_lib import exceptions as n_exc
from neutron_lib.api.definitions import portbindings
from neutron_lib.plugins.ml2 import api
from oslo_log import log as logging

from edge_channels import channel
from edge_channels import naming


LOG = logging.getLogger(__name__)
VIF_TYPE_WIREGUARD = 'wireguard'


class InvalidChannelPort(n_exc.InvalidInput):
    """A channel port that edge_channels would refuse (HTTP 400)."""


def _profile(port):
    profile = port.get(portbindings.PROFILE)
    # Neutron hands over an unset profile as {} or, on some paths, as
    # None or ATTR_NOT_SPECIFIED.
    if profile in (None, constants.ATTR_NOT_SPECIFIED):
        return {}
    return profile


def check_port(port):
    """Raise ``InvalidChannelPort`` unless ``port`` is a valid channel
    port or no channel port at all; return its ``ChannelOwner`` (None
    for another port).
    """
    try:
        owner = channel.parse_device_owner(port.get('device_owner'))
        if owner is not None:
            channel.validate_profile(owner.role, _profile(port))
    except ValueError as e:
        raise InvalidChannelPort(error_message=str(e))
    return owner


class ChannelMechanismDriver(api.MechanismDriver):

    def initialize(self):
        LOG.info('edge_channel binds %s ports to their host',
                 channel.DEVICE_OWNER_HUB)

    @property
    def connectivity(self):
        return portbindings.CONNECTIVITY_L3

    def create_port_precommit(self, context):
        check_port(context.current)

    def update_port_precommit(self, context):
        check_port(context.current)

    def bind_port(self, context):
        port = context.current
        # Other drivers' ports, and spokes, are never ours to bind; the
        # precommit checks refused invalid channel ports already.
        if port.get('device_owner') != channel.DEVICE_OWNER_HUB:
            return
        if not context.host:
            return
        vnic_type = port.get(portbindings.VNIC_TYPE, portbindings.VNIC_NORMAL)
        if vnic_type != portbindings.VNIC_NORMAL:
            LOG.debug('Not binding hub port %s: vnic_type %s', port['id'],
                      vnic_type)
            return
        if not context.segments_to_bind:
            LOG.debug('Not binding hub port %s: no segment', port['id'])
            return
        reported = bool(_profile(port))
        details = {
            naming.VIF_DETAILS_DEVICE_NAME: naming.wireguard_device(
                port['id']),
            # Traffic reaches a hub through its tunnel only; Neutron's
            # security groups are not enforced on it.
            portbindings.CAP_PORT_FILTER: False,
            portbindings.VIF_DETAILS_CONNECTIVITY: self.connectivity,
        }
        status = (constants.PORT_STATUS_ACTIVE if reported
                  else constants.PORT_STATUS_DOWN)
        context.set_binding(context.segments_to_bind[0][api.ID],
                            VIF_TYPE_WIREGUARD, details, status=status)
        LOG.debug('Bound hub port %s on host %s to %s (%s)', port['id'],
                  context.host, details[naming.VIF_DETAILS_DEVICE_NAME],
                  status)
