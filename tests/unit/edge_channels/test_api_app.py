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

"""The WSGI pipeline in-process (no Keystone: only what needs none)."""

import json
import os
import socket

import fixtures
import testtools
import webob
from keystoneauth1 import adapter
from keystoneauth1 import session
from oslo_config import cfg

from edge_channels import exception
from edge_channels.api import neutron
from edge_channels.api import policy
from edge_channels.api import wsgi
from edge_channels.conf import api as conf_api


def _closed_port():
    """A local port nothing listens on (bound, then closed)."""
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


class AppTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.addCleanup(policy.reset)
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.unused = 'http://127.0.0.1:%d' % _closed_port()

    def _app(self, lock_path=True):
        conf_file = os.path.join(self.dir, 'api.conf')
        with open(conf_file, 'w') as f:
            f.write('[api]\nchannel_subnets = channels\nhub_hosts = h1\n'
                    '[neutron]\nauth_type = password\n'
                    'auth_url = %s/v3\nusername = u\npassword = p\n'
                    '[keystone_authtoken]\nwww_authenticate_uri = %s/v3\n'
                    'auth_url = %s/v3\n' % (self.unused, self.unused,
                                             self.unused))
            if lock_path:
                f.write('[oslo_concurrency]\nlock_path = %s\n' % self.dir)
        return wsgi.init_application(['--config-file', conf_file],
                                     conf=cfg.ConfigOpts())

    def _call(self, app, path, method='GET', **kwargs):
        resp = webob.Request.blank(path, method=method, **kwargs).get_response(
            app)
        return resp.status_int, resp.headers, (
            json.loads(resp.body) if resp.body else None)

    def test_no_token_is_401_json(self):
        app = self._app()
        for method in ('GET', 'POST', 'DELETE'):
            status, headers, body = self._call(app, '/channels', method)
            self.assertEqual(401, status)
            self.assertEqual(['error'], list(body))
            self.assertIn('X-Auth-Token', body['error'])
            self.assertIn('WWW-Authenticate', headers)
            self.assertTrue(headers['x-openstack-request-id'].startswith(
                'req-'))

    def test_root_needs_no_token(self):
        status, _headers, body = self._call(self._app(), '/')
        self.assertEqual(200, status)
        self.assertEqual(['channels'], body['resources'])

    def test_lock_path_is_required(self):
        e = self.assertRaises(exception.ConfigInvalid, self._app,
                              lock_path=False)
        self.assertIn('lock_path', str(e))

    def test_list_opts(self):
        groups = dict(conf_api.list_opts())
        self.assertEqual({'channel_subnets', 'hub_hosts'},
                         {o.dest for o in groups['api']})
        neutron_opts = {o.dest: o for o in groups['neutron']}
        for name in ('auth_type', 'auth_url', 'password', 'timeout',
                     'region_name', 'endpoint_override'):
            self.assertIn(name, neutron_opts)
        self.assertEqual('network', neutron_opts['service_type'].default)


class NeutronClientTest(testtools.TestCase):

    def test_unreachable_neutron_is_503(self):
        # A real refused connection, not a mock.
        url = 'http://127.0.0.1:%d' % _closed_port()
        client = neutron.Client(adapter.Adapter(
            session.Session(), endpoint_override=url, raise_exc=False,
            connect_retries=0))
        e = self.assertRaises(exception.NeutronUnavailable,
                              client.list_ports)
        self.assertEqual(503, e.code)
        self.assertIn('try again later', str(e))
