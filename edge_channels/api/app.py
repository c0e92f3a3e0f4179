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

keystonemiddleware's auth_token runs in front with its decision
delayed, so that this application answers a missing or invalid token
with the same JSON error body as every other error:
``{"error": "<what went wrong and what to do>"}``.
"""

import json

import webob
from keystonemiddleware import auth_token
from oslo_context import context as oslo_context
from oslo_log import log as logging
from oslo_middleware import request_id
from oslo_utils import strutils

from edge_channels import exception
from edge_channels.api import channels as channels_mod
from edge_channels.api import neutron


LOG = logging.getLogger(__name__)

#: Bodies larger than this are refused before they are parsed.
MAX_BODY = 64 * 1024
JSON = 'application/json'
LIST_QUERY = frozenset(('all_projects',))


def _json_response(status, body=None, headers=None):
    resp = webob.Response(status=status, headerlist=[])
    if body is not None:
        resp.content_type = JSON
        resp.charset = None
        resp.body = json.dumps(body).encode('utf-8')
    for key, value in (headers or {}).items():
        resp.headers[key] = value
    return resp


def error_response(e):
    headers = {}
    if isinstance(e, exception.MethodNotAllowed):
        headers['Allow'] = e.kwargs['allowed']
    return _json_response(e.code, {'error': e.message}, headers)


def _body(req):
    if req.content_length is not None and req.content_length > MAX_BODY:
        raise exception.RequestTooLarge(limit=MAX_BODY)
    raw = req.body_file.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise exception.RequestTooLarge(limit=MAX_BODY)
    if req.content_type and req.content_type != JSON:
        raise exception.UnsupportedMediaType()
    try:
        return json.loads(raw.decode('utf-8'))
    except (UnicodeDecodeError, ValueError):
        raise exception.Invalid(reason='the body is not valid JSON')


class ChannelApp:
    """Dispatch to ``channels_mod.Channels``; errors become JSON."""

    def __init__(self, conf, client=None):
        self.conf = conf
        self.channels = channels_mod.Channels(
            conf, client or neutron.Client.from_conf(conf))

    @webob.dec.wsgify
    def __call__(self, req):
        try:
            return self._dispatch(req)
        except exception.EdgeChannelsException as e:
            if e.code >= 500:
                LOG.warning('%(method)s %(path)s: %(error)s',
                            {'method': req.method, 'path': req.path,
                             'error': e.message})
            return error_response(e)
        except Exception:
            LOG.exception('%(method)s %(path)s failed',
                          {'method': req.method, 'path': req.path})
            return error_response(exception.EdgeChannelsException())

    def _dispatch(self, req):
        parts = [p for p in req.path_info.split('/') if p]
        if not parts:
            return self._allow(req, ('GET',)) or _json_response(
                200, {'name': 'edge-channels', 'resources': ['channels']})
        if parts[0] != 'channels' or len(parts) > 2:
            raise exception.PathNotFound(path=exception.quote(req.path))
        context = self._context(req)
        if len(parts) == 1:
            self._allow(req, ('GET', 'POST'))
            if req.method == 'GET':
                return _json_response(200, {'channels': self._list(
                    context, req)})
            created = self.channels.create(context, _body(req))
            return _json_response(
                201, created,
                {'Location': '%s/%s' % (req.path_url.rstrip('/'),
                                        created['uuid'])})
        uuid_ = parts[1]
        self._allow(req, ('GET', 'PATCH', 'PUT', 'DELETE'))
        if req.method == 'GET':
            return _json_response(200, self.channels.get(context, uuid_))
        if req.method == 'DELETE':
            self.channels.delete(context, uuid_)
            return _json_response(204)
        return _json_response(
            200, self.channels.update(context, uuid_, _body(req)))

    @staticmethod
    def _allow(req, methods):
        if req.method not in methods:
            raise exception.MethodNotAllowed(
                method=req.method, path=exception.quote(req.path),
                allowed=', '.join(methods))

    @staticmethod
    def _context(req):
        if req.headers.get('X-Identity-Status') != 'Confirmed':
            raise exception.NotAuthenticated()
        context = oslo_context.RequestContext.from_environ(req.environ)
        if not context.project_id:
            raise exception.NotAuthenticated(
                'The channel API needs a project-scoped token: '
                'authenticate with a project.')
        return context

    def _list(self, context, req):
        unknown = sorted(set(req.GET) - LIST_QUERY)
        if unknown:
            raise exception.Invalid(
                reason='unknown query parameters %s; allowed: %s' % (
                    ', '.join(exception.quote(k) for k in unknown),
                    ', '.join(sorted(LIST_QUERY))))
        try:
            all_projects = strutils.bool_from_string(
                req.GET.get('all_projects', 'false'), strict=True)
        except ValueError:
            raise exception.Invalid(reason='all_projects must be 1 or 0 '
                                           '(true or false)')
        return self.channels.list(context, all_projects=all_projects)


def build(conf, client=None):
    """The whole pipeline: request IDs, auth_token, the application."""
    app = ChannelApp(conf, client)
    app = auth_token.AuthProtocol(app, {'oslo_config_config': conf,
                                        'delay_auth_decision': True})
    return request_id.RequestId(app)
