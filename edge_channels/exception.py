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

Only the standard library is imported here: the hub agent and the SDK
import this module too.
"""

#: Longest part of a caller's input quoted back in a message.
QUOTE_MAX = 64


def quote(value):
    """``repr`` of a caller's input, cut short: messages quote what was
    refused without echoing a whole hostile body.
    """
    text = repr(value)
    if len(text) > QUOTE_MAX:
        text = text[:QUOTE_MAX - 3] + '...'
    return text


class EdgeChannelsException(Exception):
    """Base class: ``_msg_fmt`` is %-formatted with the keyword
    arguments; ``code`` is the HTTP status the channel API answers with.
    """

    _msg_fmt = 'An unexpected error occurred.'
    code = 500

    def __init__(self, message=None, **kwargs):
        self.kwargs = kwargs
        if not message:
            # A KeyError here is a bug in the caller: the template and
            # its arguments disagree.  Unit tests format every class.
            message = self._msg_fmt % kwargs
        self.message = str(message)
        super().__init__(self.message)


class Invalid(EdgeChannelsException, ValueError):
    _msg_fmt = 'Invalid request: %(reason)s'
    code = 400


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


class NotAuthenticated(EdgeChannelsException):
    _msg_fmt = ('Authentication required: send a valid Keystone token in '
                'the X-Auth-Token header.')
    code = 401


class Forbidden(EdgeChannelsException):
    _msg_fmt = ('Policy does not allow %(action)s; ask an administrator '
                'for a role that allows it.')
    code = 403


class NotFound(EdgeChannelsException):
    _msg_fmt = 'Resource could not be found.'
    code = 404


class ChannelNotFound(NotFound):
    _msg_fmt = ('Channel %(uuid)s was not found in your project; list '
                'yours with GET /channels.')


class PathNotFound(NotFound):
    _msg_fmt = ('No resource at %(path)s; the channel API serves '
                '/channels and /channels/<uuid>.')


class MethodNotAllowed(EdgeChannelsException):
    _msg_fmt = '%(method)s is not allowed on %(path)s; use %(allowed)s.'
    code = 405


class Conflict(EdgeChannelsException):
    _msg_fmt = 'Conflict: %(reason)s'
    code = 409


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


class UnsupportedMediaType(EdgeChannelsException):
    _msg_fmt = ('The request body must be JSON: send it with '
                '"Content-Type: application/json".')
    code = 415


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


class ConfigInvalid(EdgeChannelsException):
    _msg_fmt = 'Invalid configuration: %(reason)s'
    code = 500
