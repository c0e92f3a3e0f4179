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

"""The plumbing of the companions' WSGI APIs, WebOb with routes by hand.

keystonemiddleware's auth_token runs in front with its decision
delayed, so that an application answers a missing or invalid token
with the same JSON error body as every other error:
``{"error": "<what went wrong and what to do>"}``.
"""

import abc
import json
import sys

import webob
import webob.dec
from keystonemiddleware import auth_token
from oslo_context import context as oslo_context
from oslo_log import log as logging
from oslo_middleware import request_id
from oslo_utils import strutils


LOG = logging.getLogger(__name__)

#: Bodies larger than this are refused before they are parsed.
MAX_BODY = 64 * 1024
JSON = 'application/json'


def json_response(status, body=None, headers=None):
    resp = webob.Response(status=status, headerlist=[])
    if body is not None:
        resp.content_type = JSON
        resp.charset = None
        resp.body = json.dumps(body).encode('utf-8')
    resp.headers.update(headers or {})
    return resp


class JSONApp(abc.ABC):
    """Base of an API: ``dispatch(req)`` answers, its errors become
    JSON.  A subclass sets ``errors`` (its service's exception module,
    whose classes it raises), ``base_error`` (the base class of those),
    ``api_name`` for messages, and may widen ``media_types`` or give its
    own ``context_class``.
    """

    errors = None
    base_error = None
    api_name = None
    media_types = (JSON,)
    context_class = oslo_context.RequestContext

    @webob.dec.wsgify
    def __call__(self, req):
        try:
            return self.dispatch(req)
        except self.base_error as e:
            if e.code >= 500:
                LOG.warning('%(method)s %(path)s: %(error)s',
                            {'method': req.method, 'path': req.path,
                             'error': e.message})
            return self.error_response(e)
        except Exception:
            LOG.exception('%(method)s %(path)s failed',
                          {'method': req.method, 'path': req.path})
            return self.error_response(self.base_error())

    def error_response(self, e):
        """``e`` (a ``base_error``) as its code and JSON error body."""
        headers = {}
        if isinstance(e, self.errors.MethodNotAllowed):
            headers['Allow'] = e.kwargs['allowed']
        return json_response(e.code, {'error': e.message}, headers)

    @abc.abstractmethod
    def dispatch(self, req):
        """The response to ``req``: each service routes its own paths."""

    def body(self, req):
        """The request's JSON body, refused when too large or not
        JSON.
        """
        if req.content_length is not None and req.content_length > MAX_BODY:
            raise self.errors.RequestTooLarge(limit=MAX_BODY)
        raw = req.body_file.read(MAX_BODY + 1)
        if len(raw) > MAX_BODY:
            raise self.errors.RequestTooLarge(limit=MAX_BODY)
        if req.content_type and req.content_type not in self.media_types:
            raise self.errors.UnsupportedMediaType()
        try:
            return json.loads(raw.decode('utf-8'))
        except (UnicodeDecodeError, ValueError):
            raise self.errors.Invalid(reason='the body is not valid JSON')

    def allow(self, req, methods):
        if req.method not in methods:
            raise self.errors.MethodNotAllowed(
                method=req.method, path=self.errors.quote(req.path),
                allowed=', '.join(methods))

    def context(self, req):
        """The caller's project-scoped context, as auth_token left it
        in the environment.
        """
        if req.headers.get('X-Identity-Status') != 'Confirmed':
            raise self.errors.NotAuthenticated()
        context = self.context_class.from_environ(req.environ)
        if not context.project_id:
            raise self.errors.NotAuthenticated(
                '%s needs a project-scoped token: authenticate with a '
                'project.' % self.api_name)
        return context


    def all_projects(self, req, allowed):
        """Whether a list asks for every project's (``?all_projects=1``),
        refusing query parameters not in ``allowed``.
        """
        unknown = sorted(set(req.GET) - allowed)
        if unknown:
            raise self.errors.Invalid(
                reason='unknown query parameters %s; allowed: %s' % (
                    ', '.join(self.errors.quote(k) for k in unknown),
                    ', '.join(sorted(allowed))))
        try:
            return strutils.bool_from_string(
                req.GET.get('all_projects', 'false'), strict=True)
        except ValueError:
            raise self.errors.Invalid(reason='all_projects must be 1 or 0 '
                                             '(true or false)')


def pipeline(app, conf):
    """``app`` behind request IDs and auth_token (decision delayed)."""
    app = auth_token.AuthProtocol(app, {'oslo_config_config': conf,
                                        'delay_auth_decision': True})
    return request_id.RequestId(app)


def configure(conf, argv, project, prog, register_opts):
    """Parse ``argv`` (default: the process's arguments) into ``conf``
    with the service's options and oslo.log's, then set up logging.
    """
    logging.register_options(conf)
    register_opts(conf)
    conf(sys.argv[1:] if argv is None else argv, project=project,
         prog=prog)
    logging.setup(conf, project)
