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

"""The channel API as a WSGI application: WebOb, routes by hand.

    GET    /                   versions (no token needed)
    GET    /channels           the project's channels (?all_projects=1)
    POST   /channels           create one
    GET    /channels/<uuid>    show one
    PATCH  /channels/<uuid>    change name, public_key, endpoint (PUT too)
    DELETE /channels/<uuid>    delete one

``edge_common.wsgi`` puts keystonemiddleware's auth_token in front and
turns errors into ``{"error": "<what went wrong and what to do>"}``.
"""

from edge_channels import exception
from edge_channels.api import channels as channels_mod
from edge_channels.api import neutron
from edge_common import wsgi


LIST_QUERY = frozenset(('all_projects',))


class ChannelApp(wsgi.JSONApp):
    """Dispatch to ``channels_mod.Channels``; errors become JSON."""

    errors = exception
    base_error = exception.EdgeChannelsException
    api_name = 'The channel API'

    def __init__(self, conf, client=None):
        self.conf = conf
        self.channels = channels_mod.Channels(
            conf, client or neutron.Client.from_conf(conf))

    def dispatch(self, req):
        parts = [p for p in req.path_info.split('/') if p]
        if not parts:
            return self.allow(req, ('GET',)) or wsgi.json_response(
                200, {'name': 'edge-channels', 'resources': ['channels']})
        if parts[0] != 'channels' or len(parts) > 2:
            raise exception.PathNotFound(path=exception.quote(req.path))
        context = self.context(req)
        if len(parts) == 1:
            self.allow(req, ('GET', 'POST'))
            if req.method == 'GET':
                return wsgi.json_response(200, {'channels': self._list(
                    context, req)})
            created = self.channels.create(context, self.body(req))
            return wsgi.json_response(
                201, created,
                {'Location': '%s/%s' % (req.path_url.rstrip('/'),
                                        created['uuid'])})
        uuid_ = parts[1]
        self.allow(req, ('GET', 'PATCH', 'PUT', 'DELETE'))
        if req.method == 'GET':
            return wsgi.json_response(200, self.channels.get(context, uuid_))
        if req.method == 'DELETE':
            self.channels.delete(context, uuid_)
            return wsgi.json_response(204)
        return wsgi.json_response(
            200, self.channels.update(context, uuid_, self.body(req)))

    def _list(self, context, req):
        return self.channels.list(
            context, all_projects=self.all_projects(req, LIST_QUERY))


def build(conf, client=None):
    """The whole pipeline: request IDs, auth_token, the application."""
    return wsgi.pipeline(ChannelApp(conf, client), conf)
