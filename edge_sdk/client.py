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

"""The channel API as the device sees it (service type ``channel``).

Any Keystone credentials do: a password or an application credential,
from the standard ``OS_*`` environment variables, or a cloud of
``clouds.yaml`` named by ``OS_CLOUD`` (read with openstacksdk's
``openstack.config`` when it is installed).  Requests and answers have
the shapes of Chameleon's Tunelo.  Every failure becomes a
``ChannelAPIError`` whose message says what to do.
"""

import argparse
import os
import uuid

from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading


SERVICE_TYPE = 'channel'
CHANNEL_TYPE = 'wireguard'

_HINTS = {
    400: 'fix the request as the message says',
    401: 'check the credentials (OS_* variables or OS_CLOUD)',
    403: 'ask an administrator of the cloud for the role this needs',
    404: 'the channel is gone or belongs to another project: run '
         '"edge-sdk up" to create it again',
    409: 'choose another address, or delete the channel that holds it',
    503: 'the cloud cannot reach Neutron now: try again later',
}


class ChannelAPIError(Exception):
    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


def _auth_type():
    if os.environ.get('OS_AUTH_TYPE'):
        return os.environ['OS_AUTH_TYPE']
    if os.environ.get('OS_APPLICATION_CREDENTIAL_ID') or \
            os.environ.get('OS_APPLICATION_CREDENTIAL_NAME'):
        return 'v3applicationcredential'
    return 'password'


def _environment_session():
    parser = argparse.ArgumentParser(add_help=False)
    ks_loading.register_session_argparse_arguments(parser)
    ks_loading.register_auth_argparse_arguments(parser, [],
                                                default=_auth_type())
    args = parser.parse_args([])
    if not args.os_auth_url:
        raise ChannelAPIError(
            'no Keystone credentials: set OS_CLOUD to a cloud of '
            'clouds.yaml, or OS_AUTH_URL with OS_USERNAME/OS_PASSWORD/'
            'OS_PROJECT_NAME (and domains), or OS_AUTH_URL with '
            'OS_APPLICATION_CREDENTIAL_ID and '
            'OS_APPLICATION_CREDENTIAL_SECRET; or enroll this device '
            'once with "edge-sdk register" and the owner\'s credentials')
    try:
        auth = ks_loading.load_auth_from_argparse_arguments(args)
    except ks_exc.MissingRequiredOptions as e:
        raise ChannelAPIError(
            'incomplete Keystone credentials: set %s' % ', '.join(
                'OS_' + o.dest.upper() for o in e.options))
    except ks_exc.OptionError as e:
        raise ChannelAPIError(
            'incomplete Keystone credentials (%s): for an application '
            'credential set OS_APPLICATION_CREDENTIAL_ID and '
            'OS_APPLICATION_CREDENTIAL_SECRET; for a password, '
            'OS_USERNAME and OS_PASSWORD' % e)
    return ks_loading.load_session_from_argparse_arguments(args, auth=auth)


def _cloud_session(cloud):
    try:
        from openstack import config as os_config
    except ImportError:
        raise ChannelAPIError(
            'reading clouds.yaml (OS_CLOUD=%s) needs openstacksdk: '
            '"pip install openstacksdk", or unset OS_CLOUD and give the '
            'OS_AUTH_URL and credential variables instead' % cloud)
    try:
        region = os_config.OpenStackConfig().get_one(cloud=cloud)
    except Exception as e:
        raise ChannelAPIError('cloud %r of clouds.yaml cannot be used: '
                              '%s' % (cloud, e))
    return region.get_session(), region.get_interface(), region.region_name


def credentials_given(cloud=None):
    """Whether Keystone credentials come from the command line or the
    environment (``--os-cloud``, ``OS_CLOUD`` or ``OS_AUTH_URL``), as
    opposed to the application credential ``edge-sdk register`` stored.
    """
    return bool(cloud or os.environ.get('OS_CLOUD') or
                os.environ.get('OS_AUTH_URL'))


def make_session(cloud=None):
    """``(session, interface, region_name)`` of the credentials of
    ``cloud`` of clouds.yaml, else of the ``OS_*`` variables; interface
    and region may be None (the ``OS_*`` variables then decide).
    """
    cloud = cloud or os.environ.get('OS_CLOUD')
    if cloud:
        return _cloud_session(cloud)
    return _environment_session(), None, None


def make_adapter(cloud=None, session=None, interface=None,
                 region_name=None, endpoint_override=None,
                 service_type=SERVICE_TYPE):
    """A keystoneauth ``Adapter`` for the channel API (or another
    service of ``service_type`` with the same credentials).
    """
    if session is None:
        session, interface, region_name = make_session(cloud)
    interface = interface or os.environ.get('OS_INTERFACE') or 'public'
    region_name = region_name or os.environ.get('OS_REGION_NAME')
    return ks_adapter.Adapter(
        session, service_type=service_type, interface=interface,
        region_name=region_name, endpoint_override=endpoint_override)


class APIClient:
    """Requests to one service through a keystoneauth ``Adapter``;
    every failure becomes ``error`` with a message saying what to do
    (``hints`` by HTTP status).
    """

    #: The service as messages name it, and its catalog type.
    service_name = 'channel API'
    catalog_hint = ('"channel") for this region and interface: check '
                    'OS_REGION_NAME and OS_INTERFACE, or ask the operator '
                    'to register edge-channels-api')
    hints = _HINTS
    error = ChannelAPIError

    def __init__(self, adapter):
        self.adapter = adapter

    def _request(self, method, path, body=None):
        try:
            resp = self.adapter.request(path, method, json=body,
                                        raise_exc=False)
        except ks_exc.EndpointNotFound:
            raise self.error(
                "the cloud's catalog has no %s (service type %s"
                % (self.service_name, self.catalog_hint))
        except ks_exc.Unauthorized:
            raise self.error(
                'Keystone refused the credentials: check the OS_* '
                'variables or the cloud of clouds.yaml', 401)
        except ks_exc.ConnectionError as e:
            raise self.error(
                'cannot reach the cloud (%s): check the network path to '
                'Keystone and the %s, and OS_AUTH_URL'
                % (e, self.service_name))
        except ks_exc.ClientException as e:
            raise self.error('the %s call failed: %s'
                             % (self.service_name, e))
        if resp.status_code >= 400:
            try:
                message = resp.json().get('error') or resp.text
            except (ValueError, AttributeError):
                message = resp.text
            hint = self.hints.get(resp.status_code,
                                  'see the %s log for details'
                                  % self.service_name)
            raise self.error(
                '%s: %s %s answered %d: %s (%s)' % (
                    self.service_name, method, path, resp.status_code,
                    str(message)[:300].strip(), hint),
                resp.status_code)
        if resp.status_code == 204 or not resp.content:
            return None
        try:
            return resp.json()
        except ValueError:
            raise self.error('%s: %s %s answered with no JSON: check the '
                             'service catalog' % (self.service_name,
                                                  method, path))


class ChannelClient(APIClient):
    """``GET/POST/PATCH/DELETE /channels`` with clear errors."""

    def list(self):
        body = self._request('GET', '/channels')
        channels = body.get('channels') if isinstance(body, dict) else None
        if not isinstance(channels, list):
            raise ChannelAPIError('channel API: GET /channels answered '
                                  'without a "channels" list')
        return channels

    def get(self, channel_id):
        return self._request('GET', '/channels/%s' % _uuid(channel_id))

    def find(self, name, channels=None):
        """The caller's channel named ``name`` (among ``channels``, a
        list already read, if given), or None.
        """
        found = [c for c in (self.list() if channels is None else channels)
                 if isinstance(c, dict) and c.get('name') == name]
        if len(found) > 1:
            raise ChannelAPIError(
                'the project has %d channels named %r: delete all but '
                'one ("edge-sdk down --delete" removes them all)'
                % (len(found), name))
        return found[0] if found else None

    def find_all(self, name):
        return [c for c in self.list()
                if isinstance(c, dict) and c.get('name') == name]

    def create(self, name, public_key, subnet=None, endpoint=None,
               host=None):
        """``host``: the edge host the channel serves (its
        ``binding:host_id``), which the cloud binds tenant ports by.
        """
        properties = {'public_key': public_key}
        if endpoint:
            properties['endpoint'] = endpoint
        body = {'channel_type': CHANNEL_TYPE, 'name': name,
                'properties': properties}
        if subnet:
            body['subnet'] = subnet
        if host:
            body['host'] = host
        return self._request('POST', '/channels', body)

    def update(self, channel_id, public_key=None, endpoint=None):
        properties = {}
        if public_key:
            properties['public_key'] = public_key
        if endpoint:
            properties['endpoint'] = endpoint
        return self._request('PATCH', '/channels/%s' % _uuid(channel_id),
                             {'properties': properties})

    def delete(self, channel_id):
        self._request('DELETE', '/channels/%s' % _uuid(channel_id))


def _uuid(value):
    # The UUID ends up in a URL: refuse anything else (it came from the
    # API, which the device does not trust).
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise ChannelAPIError('the channel API gave %r as a channel ID, '
                              'which is no UUID' % (value,))
