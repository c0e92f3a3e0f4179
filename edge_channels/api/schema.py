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

"""The channel API's request bodies and its representation of channels.

The keys are those of Chameleon's Tunelo (its ``schema.py`` and
``utils.create_channel_representation``), so that its clients keep
working, with ``name``, ``project_id`` and each peer's subnet CIDR
added.  Unlike Tunelo's, every key is checked: unknown ones are
refused by name, keys and endpoints with the validators of
``edge_channels.channel``.

A create may also say ``host``: the name of the edge host the channel
serves (its ``binding:host_id``, as zun-compute and kuryr set it on
the containers' ports), kept as the spoke port's ``device_id``; the
``edge_bridge`` driver finds a host's tenant channel by it.
"""

import ipaddress
import re

from edge_channels import channel
from edge_channels import exception


CREATE_KEYS = frozenset(('channel_type', 'properties', 'name', 'subnet',
                         'channel_address', 'project_id', 'host'))
UPDATE_KEYS = frozenset(('name', 'properties'))
PROPERTY_KEYS = frozenset((channel.PROFILE_PUBLIC_KEY,
                           channel.PROFILE_ENDPOINT))
#: Neutron's limit on port names and project IDs.
NAME_MAX = 255
#: A host name as Neutron's ``binding:host_id`` holds it (at most 255
#: characters, Neutron's limit on ``device_id`` too).
HOST = re.compile(r'[A-Za-z0-9][A-Za-z0-9._-]{0,254}')


# -- the representation (Chameleon Tunelo's keys) ---------------------------

def _ip(port):
    fixed = port.get('fixed_ips') or []
    return fixed[0]['ip_address'] if fixed else None


def _properties(port):
    profile = port.get('binding:profile') or {}
    return {'public_key': profile.get(channel.PROFILE_PUBLIC_KEY),
            'endpoint': profile.get(channel.PROFILE_ENDPOINT),
            'ip': _ip(port)}


def peer_repr(hub, cidrs):
    """A hub as a spoke's peer; ``cidrs``: subnet ID -> CIDR."""
    properties = _properties(hub)
    fixed = hub.get('fixed_ips') or []
    properties['subnet'] = (cidrs.get(fixed[0]['subnet_id'])
                            if fixed else None)
    return {'uuid': hub['id'], 'status': hub['status'],
            'properties': properties}


def channel_repr(spoke, hubs, cidrs):
    """The channel of spoke port ``spoke``; ``hubs``: its peers' ports."""
    owner = channel.parse_device_owner(spoke['device_owner'])
    return {'uuid': spoke['id'],
            'name': spoke.get('name') or '',
            'project_id': spoke['project_id'],
            'channel_type': owner.channel_type,
            'status': spoke['status'],
            'properties': _properties(spoke),
            'peers': [peer_repr(hub, cidrs) for hub in hubs]}


# -- validation of request bodies --------------------------------------------

def _object(value, what):
    if not isinstance(value, dict):
        raise exception.Invalid(reason='%s must be a JSON object' % what)
    return value


def _no_unknown_keys(body, allowed, what):
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise exception.Invalid(
            reason='unknown keys in %s: %s; allowed: %s' % (
                what, ', '.join(exception.quote(k) for k in unknown),
                ', '.join(sorted(allowed))))


def _string(body, key, required=False, limit=NAME_MAX):
    value = body.get(key)
    if value is None:
        if required:
            raise exception.Invalid(reason='"%s" is required' % key)
        return None
    if not isinstance(value, str) or not value or len(value) > limit:
        raise exception.Invalid(
            reason='"%s" must be a string of 1 to %d characters'
                   % (key, limit))
    return value


def _name(body):
    name = body.get('name')
    if name is None:
        return None
    if not isinstance(name, str) or len(name) > NAME_MAX:
        raise exception.Invalid(
            reason='"name" must be a string of at most %d characters'
                   % NAME_MAX)
    return name


def _host(body):
    host = body.get('host')
    if host is None:
        return None
    if not isinstance(host, str) or not HOST.fullmatch(host):
        raise exception.Invalid(
            reason='"host" must be the edge host\'s name (its '
                   'binding:host_id): 1 to 255 letters, digits, ".", "-" '
                   'or "_", starting with a letter or digit')
    return host


def _properties_of(body, create):
    """Validated ``properties`` of a create or update body."""
    if 'properties' not in body:
        if create:
            raise exception.Invalid(
                reason='"properties" with the device\'s "public_key" is '
                       'required')
        return {}
    props = _object(body['properties'], '"properties"')
    _no_unknown_keys(props, PROPERTY_KEYS, '"properties"')
    result = {}
    if channel.PROFILE_PUBLIC_KEY in props:
        result[channel.PROFILE_PUBLIC_KEY] = channel.validate_public_key(
            props[channel.PROFILE_PUBLIC_KEY])
    elif create:
        raise exception.Invalid(reason='"properties" needs "public_key"')
    if channel.PROFILE_ENDPOINT in props:
        endpoint = props[channel.PROFILE_ENDPOINT]
        # null (or "") clears an endpoint: the device is behind NAT.
        result[channel.PROFILE_ENDPOINT] = (
            channel.validate_endpoint(endpoint) if endpoint else None)
    return result


def parse_create(body):
    """The validated fields of a create request body."""
    body = _object(body, 'the request body')
    _no_unknown_keys(body, CREATE_KEYS, 'the request body')
    channel_type = body.get('channel_type')
    if channel_type is None:
        raise exception.Invalid(reason='"channel_type" is required: '
                                       '"wireguard"')
    if channel_type not in channel.CHANNEL_TYPES:
        raise exception.InvalidChannelType(
            channel_type=exception.quote(channel_type),
            types=', '.join(channel.CHANNEL_TYPES))
    fields = {'channel_type': channel_type,
              'properties': _properties_of(body, create=True),
              'name': _name(body),
              'subnet': _string(body, 'subnet'),
              'project_id': _string(body, 'project_id'),
              'host': _host(body),
              'channel_address': None}
    if fields['properties'].get(channel.PROFILE_ENDPOINT) is None:
        fields['properties'].pop(channel.PROFILE_ENDPOINT, None)
    address = _string(body, 'channel_address')
    if address is not None:
        try:
            fields['channel_address'] = ipaddress.ip_address(address)
        except ValueError:
            raise exception.Invalid(
                reason='channel_address %s is not an IP address'
                       % exception.quote(address))
    return fields


def parse_update(body):
    body = _object(body, 'the request body')
    _no_unknown_keys(body, UPDATE_KEYS, 'the request body')
    fields = {'name': _name(body),
              'properties': _properties_of(body, create=False)}
    if fields['name'] is None and not fields['properties']:
        raise exception.Invalid(
            reason='nothing to change: give "name" or "properties" '
                   '("public_key", "endpoint")')
    return fields
