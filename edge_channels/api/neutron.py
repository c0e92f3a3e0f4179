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

"""Neutron's REST API as the channel API's service user.

Raw calls through a keystoneauth Adapter (``[neutron]`` options,
service type ``network``).  The service user needs the ``service``
role: Neutron lets only it set ``binding:profile`` and
``binding:host_id``, create ports for other projects and see every
project's ports.  Errors become ``edge_channels.exception`` classes.
"""

from keystoneauth1 import exceptions as ks_exc
from oslo_log import log as logging

from edge_channels import exception
from edge_channels.conf import neutron as conf_neutron


LOG = logging.getLogger(__name__)
PREFIX = '/v2.0'


class NotFound(Exception):
    """Neutron answered 404 (handled by callers, never shown as is)."""


class PreconditionFailed(Exception):
    """Neutron answered 412: the revision given in If-Match is stale."""


class Refused(Exception):
    """Neutron answered 400 or 409; ``kind`` is its error type (e.g.
    ``IpAddressAlreadyAllocated``), for the caller to explain.
    """

    def __init__(self, status, kind, message):
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message


def _neutron_error(resp):
    """(type, message) of a Neutron error response."""
    try:
        body = resp.json().get('NeutronError') or {}
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {'message': str(body)}
    return body.get('type', ''), body.get('message', resp.text[:200])


class Client:
    """Ports and subnets of Neutron, as dicts."""

    def __init__(self, adapter):
        self.adapter = adapter

    @classmethod
    def from_conf(cls, conf):
        return cls(conf_neutron.adapter(conf, raise_exc=False))

    def _request(self, method, path, action, expect=(200,), **kwargs):
        try:
            resp = self.adapter.request(PREFIX + path, method, **kwargs)
        except ks_exc.ClientException as e:
            LOG.warning('Neutron %(method)s %(path)s failed: %(error)s',
                        {'method': method, 'path': path, 'error': e})
            raise exception.NeutronUnavailable(reason=type(e).__name__)
        if resp.status_code in expect:
            return resp.json() if resp.content else None
        kind, message = _neutron_error(resp)
        if resp.status_code == 404:
            raise NotFound(message)
        if resp.status_code == 412:
            raise PreconditionFailed(message)
        LOG.warning('Neutron refused %(action)s: %(status)s %(kind)s '
                    '%(message)s', {'action': action,
                                    'status': resp.status_code,
                                    'kind': kind, 'message': message})
        if resp.status_code in (400, 409):
            raise Refused(resp.status_code, kind, message)
        if resp.status_code >= 500 or resp.status_code == 401:
            raise exception.NeutronUnavailable(
                reason='%s answered %d' % (action, resp.status_code))
        raise exception.NeutronError(action=action, status=resp.status_code,
                                     reason=kind or message)

    # -- ports ----------------------------------------------------------

    def list_ports(self, **filters):
        return self._request('GET', '/ports', 'listing ports',
                             params=filters)['ports']

    def get_port(self, port_id):
        """The port, or None when Neutron has none of this ID."""
        try:
            return self._request('GET', '/ports/%s' % port_id,
                                 'reading a port')['port']
        except NotFound:
            return None

    def create_port(self, port):
        return self._request('POST', '/ports', 'creating a port',
                             expect=(201,), json={'port': port})['port']

    def update_port(self, port_id, changes, revision=None):
        """Raises ``NotFound``, or ``PreconditionFailed`` when the port
        is no longer at ``revision`` (its ``revision_number``).
        """
        headers = ({'If-Match': 'revision_number=%d' % revision}
                   if revision is not None else None)
        return self._request('PUT', '/ports/%s' % port_id,
                             'updating a port', json={'port': changes},
                             headers=headers)['port']

    def delete_port(self, port_id):
        """True if deleted, False if it was already gone."""
        try:
            self._request('DELETE', '/ports/%s' % port_id,
                          'deleting a port', expect=(204,))
        except NotFound:
            return False
        return True

    # -- subnets --------------------------------------------------------

    def list_subnets(self, **filters):
        return self._request('GET', '/subnets', 'listing subnets',
                             params=filters)['subnets']
