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

"""Every error of edge_channels, each with its message and HTTP code.

The channel API turns an ``EdgeChannelsException`` into a response with
``code`` and ``{"error": message}``; the mechanism driver, the hub agent
and the Edge SDK raise and catch the same classes.  Errors of bad input
are also ``ValueError``, so that code which only validates can catch
``ValueError`` without knowing this module.

Only the standard library and ``edge_common.exception`` (itself
stdlib-only) are imported here: the hub agent and the SDK import this
module too.
"""

from edge_common import exception as common


quote = common.quote


class EdgeChannelsException(common.EdgeException):
    """Base class of edge_channels' errors (``edge_common`` holds the
    formatting and the messages shared with edge_enroll).
    """


class Invalid(EdgeChannelsException, common.Invalid):
    pass


class InvalidPublicKey(Invalid):
    _msg_fmt = ('Public key %(key)s is not valid: %(reason)s. Give the '
                'WireGuard public key as "wg pubkey" prints it: standard '
                'base64 of exactly 32 bytes (44 characters ending in "=").')


class InvalidEndpoint(Invalid):
    _msg_fmt = ('Endpoint %(endpoint)s is not valid: %(reason)s. Give '
                '"IPv4:port" or "[IPv6]:port" with a port from 1 to 65535, '
                'for example "192.0.2.10:51820" or "[2001:db8::1]:51820".')


class InvalidDeviceOwner(Invalid):
    _msg_fmt = ('Device owner %(owner)s is not a channel port: %(reason)s. '
                'Channel ports are owned by "channel:<type>:hub" or '
                '"channel:<type>:spoke" with type %(types)s.')


class InvalidProfile(Invalid):
    _msg_fmt = 'binding:profile of a channel %(role)s: %(reason)s'


class InvalidChannelType(Invalid):
    _msg_fmt = ('Channel type %(channel_type)s is not supported; use one '
                'of %(types)s.')


class UnknownSubnet(Invalid):
    _msg_fmt = ('Subnet %(subnet)s is not a channel subnet; give the name, '
                'ID or CIDR of one of %(allowed)s, or leave "subnet" out '
                'to use %(default)s.')


class AddressOutsideSubnet(Invalid):
    _msg_fmt = ('channel_address %(address)s is not in subnet %(cidr)s; '
                'give an address of that subnet or leave it out and '
                'Neutron picks one.')


class NotAuthenticated(EdgeChannelsException, common.NotAuthenticated):
    pass


class Forbidden(EdgeChannelsException, common.Forbidden):
    pass


class NotFound(EdgeChannelsException, common.NotFound):
    pass


class ChannelNotFound(NotFound):
    _msg_fmt = ('Channel %(uuid)s was not found in your project; list '
                'yours with GET /channels.')


class PathNotFound(NotFound):
    _msg_fmt = ('No resource at %(path)s; the channel API serves '
                '/channels and /channels/<uuid>.')


class MethodNotAllowed(EdgeChannelsException, common.MethodNotAllowed):
    pass


class Conflict(EdgeChannelsException, common.Conflict):
    pass


class SubnetFull(Conflict):
    _msg_fmt = ('Subnet %(subnet)s has no free address left; delete '
                'unused channels or ask the operator for another channel '
                'subnet.')


class ChannelChanged(Conflict):
    _msg_fmt = ('Channel %(uuid)s changed while this request changed it; '
                'read it again and retry.')


class AddressInUse(Conflict):
    _msg_fmt = ('Address %(address)s is already in use in subnet '
                '%(subnet)s; give another channel_address or leave it out '
                'and Neutron picks a free one.')


class RequestTooLarge(EdgeChannelsException):
    _msg_fmt = ('The request body is larger than %(limit)s bytes; a '
                'channel request is much smaller.')
    code = 413


class UnsupportedMediaType(EdgeChannelsException, common.UnsupportedMediaType):
    pass


class ServiceUnavailable(EdgeChannelsException):
    _msg_fmt = 'Service unavailable: %(reason)s'
    code = 503


class NeutronUnavailable(ServiceUnavailable):
    _msg_fmt = ('Neutron could not be reached (%(reason)s); try again '
                'later, and if it persists ask the operator to check '
                'Neutron and the [neutron] options of the channel API.')


class ChannelSubnetMissing(ServiceUnavailable):
    _msg_fmt = ('Channel subnet %(subnet)s of [api] channel_subnets does '
                'not exist in Neutron, so channels cannot be made there; '
                'the operator creates it or corrects the option.')


class NoChannelSubnet(ServiceUnavailable):
    _msg_fmt = ('No channel subnet is configured, so channels have no '
                'addresses; the operator sets [api] channel_subnets.')


class NoHubHost(ServiceUnavailable):
    _msg_fmt = ('No hub host is configured, so a channel has nowhere to '
                'end; the operator sets [api] hub_hosts.')


class NeutronError(EdgeChannelsException):
    _msg_fmt = ('Neutron refused %(action)s with %(status)s: %(reason)s')
    code = 500


class ConfigInvalid(EdgeChannelsException, common.ConfigInvalid):
    pass
