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

``edge_common.wsgi`` puts keystonemiddleware's auth_token in front with
its decision delayed, so that the export needs no token and every other
error has Doni's body ``{"error": "<what went wrong and what to do>"}``.
"""

from urllib import parse

from edge_common import wsgi
from edge_enroll import context as enroll_context
from edge_enroll import exception
from edge_enroll.api import hardware


LIST_QUERY = frozenset(('all_projects', 'limit', 'marker', 'sort_key',
                        'sort_dir'))


class EnrollApp(wsgi.JSONApp):
    """Dispatch to ``hardware.HardwareAPI``; errors become JSON."""

    errors = exception
    base_error = exception.EdgeEnrollException
    api_name = 'The enrollment API'
    # PATCH bodies are JSON-Patch.
    media_types = (wsgi.JSON, 'application/json-patch+json')
    context_class = enroll_context.RequestContext

    def __init__(self, conf, types, rpc):
        self.conf = conf
        self.hardware = hardware.HardwareAPI(conf, types, rpc)

    def dispatch(self, req):
        parts = [p for p in req.path_info.split('/') if p]
        if not parts:
            self.allow(req, ('GET',))
            return wsgi.json_response(200, {'versions': [{
                'id': 'v1', 'status': 'CURRENT',
                'links': [{'rel': 'self',
                           'href': req.application_url + '/v1/'}]}]})
        if parts[:2] != ['v1', 'hardware'] or len(parts) > 4:
            raise exception.PathNotFound(path=exception.quote(req.path))
        rest = parts[2:]
        if rest == ['export']:
            self.allow(req, ('GET',))
            return wsgi.json_response(200, {
                'hardware': self.hardware.export(
                    enroll_context.get_admin_context())})
        context = self.context(req)
        if not rest:
            self.allow(req, ('GET', 'POST'))
            if req.method == 'GET':
                return self._list(context, req)
            created = self.hardware.create(context, self.body(req))
            return wsgi.json_response(
                201, created, {'Location': '%s/v1/hardware/%s/' % (
                    req.application_url, created['uuid'])})
        ident = rest[0]
        if len(rest) == 2 and rest[1] == 'sync':
            self.allow(req, ('POST',))
            self.hardware.sync(context, ident)
            return wsgi.json_response(204)
        if len(rest) == 2 and rest[1] == 'availability':
            self.allow(req, ('GET',))
            return wsgi.json_response(200, {
                'availability': self.hardware.availability(context, ident)})
        if len(rest) != 1:
            raise exception.PathNotFound(path=exception.quote(req.path))
        self.allow(req, ('GET', 'PATCH', 'DELETE'))
        if req.method == 'GET':
            return wsgi.json_response(200, self.hardware.get(context, ident))
        if req.method == 'DELETE':
            self.hardware.delete(context, ident)
            return wsgi.json_response(204)
        return wsgi.json_response(
            200, self.hardware.update(context, ident, self.body(req)))

    def _list(self, context, req):
        all_projects = self.all_projects(req, LIST_QUERY)
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
        return wsgi.json_response(200, {'hardware': found, 'links': links})


def build(conf, types, rpc):
    """The whole pipeline: request IDs, auth_token, the application."""
    return wsgi.pipeline(EnrollApp(conf, types, rpc), conf)
