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

"""The channel client against a real HTTP server of the test's own:
the request shapes of the design, and errors that say what to do.
"""

import socket

import testtools
from keystoneauth1 import access
from keystoneauth1 import fixture as ks_fixture
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import access as access_plugin

from edge_sdk import client as client_mod
from tests.unit.edge_sdk import scripted


CHANNEL_ID = '0b7c7a4e-8a0b-4bb4-9a51-6f4f1d2b3c4d'


class ClientTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.server = self.useFixture(scripted.Server())
        url = self.server.url
        self.client = client_mod.ChannelClient(client_mod.make_adapter(
            session=ks_session.Session(), endpoint_override=url))

    def reply(self, status, body):
        self.server.reply(status, body)

    def test_request_shapes(self):
        channel = {'uuid': CHANNEL_ID, 'name': 'control'}
        self.reply(201, channel)
        self.assertEqual(channel, self.client.create(
            'control', 'KEY', subnet='10.0.0.0/24', endpoint='192.0.2.1:1'))
        self.reply(200, {'channels': [channel]})
        self.assertEqual(channel, self.client.find('control'))
        self.reply(200, channel)
        self.client.update(CHANNEL_ID, public_key='NEW')
        self.reply(204, b'')
        self.assertIsNone(self.client.delete(CHANNEL_ID))
        self.assertEqual([
            ('POST', '/channels', {
                'channel_type': 'wireguard', 'name': 'control',
                'subnet': '10.0.0.0/24',
                'properties': {'public_key': 'KEY',
                               'endpoint': '192.0.2.1:1'}}),
            ('GET', '/channels', None),
            ('PATCH', '/channels/' + CHANNEL_ID,
             {'properties': {'public_key': 'NEW'}}),
            ('DELETE', '/channels/' + CHANNEL_ID, None)],
            self.server.requests)

    def test_errors_carry_the_message_and_what_to_do(self):
        for status, words in ((400, ['fix the request']),
                              (401, ['credentials']),
                              (403, ['role']),
                              (404, ['edge-sdk up']),
                              (409, ['another address']),
                              (503, ['try again later']),
                              (500, ['channel API log'])):
            self.reply(status, {'error': 'the API says %d' % status})
            e = self.assertRaises(client_mod.ChannelAPIError,
                                  self.client.get, CHANNEL_ID)
            self.assertEqual(status, e.status)
            self.assertIn('the API says %d' % status, str(e))
            for word in words:
                self.assertIn(word, str(e))

    def test_not_json(self):
        self.reply(200, b'<html>hello</html>')
        e = self.assertRaises(client_mod.ChannelAPIError, self.client.list)
        self.assertIn('no JSON', str(e))
        self.reply(200, {'something': 'else'})
        e = self.assertRaises(client_mod.ChannelAPIError, self.client.list)
        self.assertIn('"channels" list', str(e))

    def test_two_channels_of_one_name(self):
        self.reply(200, {'channels': [{'uuid': CHANNEL_ID, 'name': 'c'},
                                      {'uuid': CHANNEL_ID, 'name': 'c'}]})
        e = self.assertRaises(client_mod.ChannelAPIError,
                              self.client.find, 'c')
        self.assertIn('delete all but one', str(e))

    def test_hostile_channel_id_never_reaches_a_url(self):
        for bad in ('../tokens', CHANNEL_ID + '/x', '', None, '%2e%2e'):
            self.assertRaises(client_mod.ChannelAPIError, self.client.get,
                              bad)
        self.assertEqual([], self.server.requests)

    def test_unreachable(self):
        sock = socket.socket()
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
        sock.close()
        client = client_mod.ChannelClient(client_mod.make_adapter(
            session=ks_session.Session(),
            endpoint_override='http://127.0.0.1:%d' % port))
        e = self.assertRaises(client_mod.ChannelAPIError, client.list)
        self.assertIn('cannot reach', str(e))

    def test_no_channel_service_in_the_catalog(self):
        # A token whose catalog has no "channel" service.
        token = ks_fixture.V3Token()
        token.add_service('identity').add_standard_endpoints(
            public='http://127.0.0.1:1/v3')
        auth = access_plugin.AccessInfoPlugin(
            access.create(body=token, auth_token='t'))
        client = client_mod.ChannelClient(client_mod.make_adapter(
            session=ks_session.Session(auth=auth)))
        e = self.assertRaises(client_mod.ChannelAPIError, client.list)
        self.assertIn('service type "channel"', str(e))
        self.assertIn('OS_REGION_NAME', str(e))
