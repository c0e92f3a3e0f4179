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

"""The enrollment API as a WSGI application: WebOb, routes by hand.

Doni's v1 paths, with or without a trailing slash (python-doniclient
uses both)::

    GET    /                                  versions (no token)
    GET    /v1/hardware/                      the project's hardware
    POST   /v1/hardware/                      enroll
    GET    /v1/hardware/export/               public view (no token)
    GET    /v1/hardware/<uuid or name>/       show
    PATCH  /v1/hardware/<uuid or name>/       JSON-Patch
    DELETE /v1/hardware/<uuid or name>/       delete
    POST   /v1/hardware/<uuid or name>/sync   run the workers again
    GET    /v1/hardware/<uuid or name>/availability

keystonemiddleware's auth_token runs in front with its decision
delayed, so that the export needs no token and every other error has
Doni's body ``{"error": "<what went wrong and what to do>"}``.
"""

import json
from urllib import parse

import webob
import webob.dec
from keystonemiddleware import auth_token
from oslo_log import log as logging
from oslo_middleware import request_id
from oslo_utils import strutils

from edge_enroll import context as enroll_context
from edge_enroll import exception
from edge_enroll.api import hardware


LOG = logging.getLogger(__name__)

#: Bodies larger than this are refused before they are parsed.
MAX_BODY = 64 * 1024
JSON = 'application/json'
LIST_QUERY = frozenset(('all_projects', 'limit', 'marker', 'sort_key',
                        'sort_dir'))


def json_response(status, body=None, headers=None):
    resp = webob.Response(status=status, headerlist=[])
    if body is not None:
        resp.content_type = JSON
        resp.charset = None
        resp.body = json.dumps(body).encode('utf-8')
    resp.headers.update(headers or {})
    return resp


def _body(req):
    if req.content_length is not None and req.content_length > MAX_BODY:
        raise exception.RequestTooLarge(limit=MAX_BODY)
    raw = req.body_file.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise exception.RequestTooLarge(limit=MAX_BODY)
    if req.content_type and req.content_type not in (
            JSON, 'application/json-patch+json'):
        raise exception.UnsupportedMediaType()
    try:
        return json.loads(raw.decode('utf-8'))
    except (UnicodeDecodeError, ValueError):
        raise exception.Invalid(reason='the body is not valid JSON')


def _allow(req, methods):
    if req.method not in methods:
        raise exception.MethodNotAllowed(
            method=req.method, path=exception.quote(req.path),
            allowed=', '.join(methods))


def _context(req):
    if req.headers.get('X-Identity-Status') != 'Confirmed':
        raise exception.NotAuthenticated()
    context = enroll_context.RequestContext.from_environ(req.environ)
    if not context.project_id:
        raise exception.NotAuthenticated(
            'The enrollment API needs a project-scoped token: '
            'authenticate with a project.')
    return context


class EnrollApp:
    """Dispatch to ``hardware.HardwareAPI``; errors become JSON."""

    def __init__(self, conf, types, rpc):
        self.conf = conf
        self.hardware = hardware.HardwareAPI(conf, types, rpc)

    @webob.dec.wsgify
    def __call__(self, req):
        try:
            return self._dispatch(req)
        except exception.EdgeEnrollException as e:
            if e.code >= 500:
                LOG.warning('%(method)s %(path)s: %(error)s',
                            {'method': req.method, 'path': req.path,
                             'error': e.message})
            headers = {}
            if isinstance(e, exception.MethodNotAllowed):
                headers['Allow'] = e.kwargs['allowed']
            return json_response(e.code, {'error': e.message}, headers)
        except Exception:
            LOG.exception('%(method)s %(path)s failed',
                          {'method': req.method, 'path': req.path})
            return json_response(500, {'error': exception.
                                       EdgeEnrollException().message})

    def _dispatch(self, req):
        parts = [p for p in req.path_info.split('/') if p]
        if not parts:
            _allow(req, ('GET',))
            return json_response(200, {'versions': [{
                'id': 'v1', 'status': 'CURRENT',
                'links': [{'rel': 'self',
                           'href': req.application_url + '/v1/'}]}]})
        if parts[:2] != ['v1', 'hardware'] or len(parts) > 4:
            raise exception.PathNotFound(path=exception.quote(req.path))
        rest = parts[2:]
        if rest == ['export']:
            _allow(req, ('GET',))
            return json_response(200, {'hardware': self.hardware.export(
                enroll_context.get_admin_context())})
        context = _context(req)
        if not rest:
            _allow(req, ('GET', 'POST'))
            if req.method == 'GET':
                return self._list(context, req)
            created = self.hardware.create(context, _body(req))
            return json_response(
                201, created, {'Location': '%s/v1/hardware/%s/' % (
                    req.application_url, created['uuid'])})
        ident = rest[0]
        if len(rest) == 2 and rest[1] == 'sync':
            _allow(req, ('POST',))
            self.hardware.sync(context, ident)
            return json_response(204)
        if len(rest) == 2 and rest[1] == 'availability':
            _allow(req, ('GET',))
            return json_response(200, {
                'availability': self.hardware.availability(context, ident)})
        if len(rest) != 1:
            raise exception.PathNotFound(path=exception.quote(req.path))
        _allow(req, ('GET', 'PATCH', 'DELETE'))
        if req.method == 'GET':
            return json_response(200, self.hardware.get(context, ident))
        if req.method == 'DELETE':
            self.hardware.delete(context, ident)
            return json_response(204)
        return json_response(200, self.hardware.update(context, ident,
                                                       _body(req)))

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
        limit = req.GET.get('limit')
        if limit is not None:
            if not limit.isdigit() or int(limit) < 1:
                raise exception.Invalid(reason='limit must be a positive '
                                               'integer')
            limit = int(limit)
        found, limit = self.hardware.list(
            context, all_projects=all_projects, limit=limit,
            marker=req.GET.get('marker'),
            sort_key=req.GET.get('sort_key', 'created_at'),
            sort_dir=req.GET.get('sort_dir', 'asc'))
        links = []
        if len(found) == limit:
            query = dict(req.GET, marker=found[-1]['uuid'], limit=limit)
            links.append({'rel': 'next', 'href': '%s/v1/hardware/?%s' % (
                req.application_url, parse.urlencode(query))})
        return json_response(200, {'hardware': found, 'links': links})


def build(conf, types, rpc):
    """The whole pipeline: request IDs, auth_token, the application."""
    app = EnrollApp(conf, types, rpc)
    app = auth_token.AuthProtocol(app, {'oslo_config_config': conf,
                                        'delay_auth_decision': True})
    return request_id.RequestId(app)
