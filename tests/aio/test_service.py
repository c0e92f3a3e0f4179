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

"""The ports of the cloud's HTTP services are bound, not probed.

A port that was only found free can be taken before the service binds
it -- by another cloud starting at the same time, or by an outgoing
connection -- and the service then fails to start.  Here a "squatter"
stands for that other process: it tries the port between the moment the
cloud chose it and the moment the service answers on it.
"""

import os
import socket
import urllib.request

import fixtures
import testtools

from aio import cyborg as cyborg_mod
from aio import keystone as keystone_mod
from aio import placement as placement_mod
from aio import service
from aio import zun as zun_mod


APP = '''
import os


def application(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [os.environ['SERVICE_NAME'].encode()]
'''


class TestPorts(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path

    def assert_held(self, port):
        with socket.socket() as squatter:
            self.assertRaises(OSError, squatter.bind, ('127.0.0.1', port))

    def test_each_service_holds_its_port_from_the_start(self):
        keystone = keystone_mod.Keystone(self.dir, self.dir, 'sqlite://',
                                         'secret', {})
        placement = placement_mod.Placement(self.dir, self.dir, 'sqlite://',
                                            keystone)
        cyborg = cyborg_mod.Cyborg(self.dir, self.dir, 'sqlite://',
                                   'sqlite', keystone, 'rabbit://', 'host',
                                   self.dir, 5)
        zun = zun_mod.Zun(self.dir, self.dir, 'sqlite://', 'sqlite',
                          keystone, 'rabbit://')
        ports = [keystone.port, placement.port, cyborg.port, zun.port]
        self.assertEqual(4, len(set(ports)))
        for port in ports:
            self.assert_held(port)

    def serve(self, name):
        app = os.path.join(self.dir, 'app.py')
        with open(app, 'w') as f:
            f.write(APP)
        listener = service.listening_socket()
        port = listener.getsockname()[1]
        process = service.uwsgi(name, app, listener,
                                os.path.join(self.dir, name + '.log'),
                                env={'SERVICE_NAME': name})
        return port, process

    def test_the_service_answers_on_the_port_it_was_given(self):
        servers = [self.serve('first'), self.serve('second')]
        for port, process in servers:
            # Chosen, not started yet: nobody else can take it.
            self.assert_held(port)
        for port, process in servers:
            process.start()
            self.addCleanup(process.stop)
        for port, process in servers:
            url = 'http://127.0.0.1:%d/' % port
            process.wait_until(lambda u=url: service.http_answers(u),
                               'answer on %s' % url)
            with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310
                self.assertEqual(process.name.encode(), resp.read())
        # This process gave its copy away: if the service goes, clients
        # are refused instead of waiting on a socket nobody serves.
        port, process = servers[0]
        process.stop()
        with socket.socket() as client:
            self.assertRaises(ConnectionRefusedError, client.connect,
                              ('127.0.0.1', port))
