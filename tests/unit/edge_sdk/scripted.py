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

"""An HTTP server on 127.0.0.1 that answers from a script: the SDK's
clients against answers no real service would give.
"""

import http.server
import json
import threading

import fixtures


class _Handler(http.server.BaseHTTPRequestHandler):

    def _answer(self):
        length = int(self.headers.get('Content-Length') or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        self.server.requests.append((self.command, self.path, body))
        status, reply = self.server.replies.pop(0)
        data = (reply if isinstance(reply, bytes)
                else json.dumps(reply).encode())
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_DELETE = _answer

    def log_message(self, *args):
        pass


class Server(fixtures.Fixture):
    """``url``; ``reply(status, body)`` queues an answer (``body``: JSON,
    or bytes sent as they are); ``requests``: ``(method, path, body)``
    of each request received.
    """

    def _setUp(self):
        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
                                                      _Handler)
        self.server.requests = []
        self.server.replies = []
        thread = threading.Thread(target=self.server.serve_forever)
        thread.start()
        self.addCleanup(thread.join)
        self.addCleanup(self.server.shutdown)
        self.addCleanup(self.server.server_close)
        self.url = 'http://127.0.0.1:%d' % self.server.server_address[1]

    @property
    def requests(self):
        return self.server.requests

    def reply(self, status, body):
        self.server.replies.append((status, body))
