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

"""A Cyborg v2 and Placement test double: a real HTTP server on loopback.

Until a real Cyborg runs in these tests, this server enforces the rules of
Cyborg 17.0.0 the driver depends on (cyborg/api/controllers/v2/arqs.py):
ARQs are created in the caller's project and listed per project; binding
and deleting by instance need a service token (CVE-2026-40214); a second
bind for one instance is refused; ``bind_state=resolved`` answers 423
while any ARQ is unresolved; binding takes the first free attach handle
of the deployable whose provider was named, and fails when none is free.
Placement is reduced to what the driver uses: providers in a tree
filtered by free capacity and traits, and consumer allocations with
generations and capacity checks.  Tokens are checked against a table, as
keystonemiddleware would after asking Keystone; Zun's service user has
Cyborg's admin role, so it sees and deletes the ARQs of every project.

Each half can be served by its own :class:`Server`, so that stopping the
Cyborg one is a real Cyborg outage (connections refused) while Placement
keeps answering.  ``Cloud.stall`` makes the server hold a matching request
without answering until ``Cloud.unstall()``: a hung service, seen by the
client as a real socket that never answers.
"""

import http.server
import json
import socket
import sys
import threading
import urllib.parse
import uuid


SERVICE_TOKEN = 'zun-service-token'
SERVICE_PROJECT = 'e0e1e2e3e4e5e6e7e8e9eaebecedeeef'
ADMIN_TOKEN = 'placement-admin-token'
RESOLVED = ('Bound', 'BindFailed', 'Deleting')


class Cloud:
    """State shared by the Cyborg and Placement halves."""

    def __init__(self):
        self.lock = threading.Lock()
        self.user_tokens = {SERVICE_TOKEN: SERVICE_PROJECT}
        self.admin_tokens = {SERVICE_TOKEN}
        self.profiles = {}             # name -> profile
        self.arqs = {}                 # uuid -> arq
        self.providers = {}            # uuid -> provider
        self.handles = {}              # rp uuid -> [handle]
        self.allocations = {}          # consumer -> doc
        self.resolve_after = 1         # 423 answers before resolving
        self.never_resolve = False
        self.requests = []
        self.cyborg_peers = set()      # (host, port) of Cyborg clients
        self.stall = None              # (method, path) -> hold it?
        self.stalled = threading.Event()
        self._unstalled = threading.Event()
        self.error_body = None         # (status, content type, bytes)
        # Fault injection: (method, path prefix) -> how many of the next
        # such requests get an HTTP 500, as from a busy database.
        self.server_errors = {}

    def server_error(self, method, path):
        """Whether to fail this request (see ``server_errors``)."""
        with self.lock:
            for (m, prefix), left in self.server_errors.items():
                if m == method and path.startswith(prefix) and left:
                    self.server_errors[m, prefix] = left - 1
                    return True
        return False

    def unstall(self):
        self.stall = None
        self._unstalled.set()

    # Setup helpers ------------------------------------------------------

    def add_user(self, token, project):
        self.user_tokens[token] = project

    def add_compute_node(self, name):
        rp = str(uuid.uuid4())
        self.providers[rp] = {'uuid': rp, 'name': name, 'root': rp,
                              'inventory': {}, 'traits': set(),
                              'generation': 0}
        return rp

    def add_device(self, root, name, resource_class, traits, attach_info):
        rp = str(uuid.uuid3(uuid.NAMESPACE_DNS, name))
        self.providers[rp] = {'uuid': rp, 'name': name, 'root': root,
                              'inventory': {resource_class: 1},
                              'traits': set(traits), 'generation': 0}
        self.handles[rp] = [{'type': 'OCI', 'info': attach_info,
                             'in_use': False, 'uuid': str(uuid.uuid4())}]
        return rp

    def add_profile(self, name, groups):
        self.profiles[name] = {'name': name, 'uuid': str(uuid.uuid4()),
                               'groups': groups, 'description': ''}

    def usage(self, rp):
        return sum(doc['allocations'].get(rp, {}).get('resources', {})
                   .get(rc, 0) for doc in self.allocations.values()
                   for rc in self.providers[rp]['inventory'])

    def live_arqs(self):
        return list(self.arqs.values())


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    # The headers and the body leave in two writes; with Nagle's algorithm
    # the body waits for the client's delayed ACK, adding about 40 ms to
    # each answer on keep-alive connections, which the WSGI servers in
    # front of Cyborg and Placement do not.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        self.server.connections.add(self.connection)

    def finish(self):
        super().finish()
        self.server.connections.discard(self.connection)

    def _reply(self, status, body=None):
        data = b'' if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status, detail, code='placement.undefined_code'):
        self._reply(status, {'errors': [{'status': status, 'code': code,
                                         'detail': detail}],
                             'error_message': detail})

    def _handle(self, method):
        cloud = self.server.cloud
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        length = int(self.headers.get('Content-Length') or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        cloud.requests.append((method, self.path,
                               self.headers.get('X-Service-Token')))
        stall = cloud.stall
        if stall is not None and stall(method, self.path):
            cloud.stalled.set()
            cloud._unstalled.wait()
        if cloud.server_error(method, url.path):
            return self._error(500, 'database is locked (fault injection)')
        if cloud.error_body and url.path.startswith('/accelerator/v2/'):
            status, ctype, data = cloud.error_body
            self.send_response(status)
            self.send_header('Content-Type', ctype)
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        with cloud.lock:
            if url.path.startswith('/accelerator/v2/'):
                cloud.cyborg_peers.add(self.client_address)
                project = cloud.user_tokens.get(
                    self.headers.get('X-Auth-Token'))
                if project is None:
                    return self._error(401, 'unknown token')
                service = self.headers.get('X-Service-Token') == \
                    SERVICE_TOKEN
                admin = self.headers.get('X-Auth-Token') in cloud.admin_tokens
                return _Cyborg(self, cloud, project, service, admin).dispatch(
                    method, url.path[len('/accelerator/v2'):], query, body)
            if url.path.startswith('/placement/'):
                if self.headers.get('X-Auth-Token') != ADMIN_TOKEN:
                    return self._error(401, 'unknown token')
                return _Placement(self, cloud).dispatch(
                    method, url.path[len('/placement'):], query, body)
            return self._error(404, 'no such service')

    def do_GET(self):
        self._handle('GET')

    def do_POST(self):
        self._handle('POST')

    def do_PUT(self):
        self._handle('PUT')

    def do_PATCH(self):
        self._handle('PATCH')

    def do_DELETE(self):
        self._handle('DELETE')


class _Cyborg:
    def __init__(self, handler, cloud, project, service, admin):
        self.h = handler
        self.cloud = cloud
        self.project = project
        self.service = service
        self.admin = admin

    def _mine(self):
        # Cyborg lists every project's ARQs to an admin.
        return [a for a in self.cloud.arqs.values()
                if self.admin or a['project_id'] == self.project]

    def dispatch(self, method, path, query, body):
        if path == '/device_profiles' and method == 'GET':
            names = query.get('name', '').split(',')
            return self.h._reply(200, {'device_profiles': [
                p for n, p in self.cloud.profiles.items()
                if 'name' not in query or n in names]})
        if path != '/accelerator_requests':
            return self.h._error(404, 'not found')
        return getattr(self, method.lower())(query, body)

    def post(self, query, body):
        profile = self.cloud.profiles.get(body.get('device_profile_name'))
        if profile is None:
            return self.h._error(404, 'Device Profile not found')
        arqs = []
        for group_id, group in enumerate(profile['groups']):
            for key, value in group.items():
                for _i in range(int(value) if key.startswith(
                        'resources:') else 0):
                    arq = {'uuid': str(uuid.uuid4()), 'state': 'Initial',
                           'device_profile_name': profile['name'],
                           'device_profile_group_id': group_id,
                           'hostname': None, 'device_rp_uuid': None,
                           'instance_uuid': None,
                           'project_id': self.project,
                           'attach_handle_type': '',
                           'attach_handle_info': {}, 'polls': 0}
                    self.cloud.arqs[arq['uuid']] = arq
                    arqs.append(arq)
        return self.h._reply(201, {'arqs': [_public(a) for a in arqs]})

    def patch(self, query, body):
        ops = [op['op'] for patch in body.values() for op in patch]
        if set(ops) != {'add'}:
            return self.h._error(400, 'Every op must be add or remove')
        if not self.service:
            return self.h._error(403, 'This operation requires a service '
                                      'token.')
        fields = {uuid_: {op['path'].lstrip('/'): op['value']
                          for op in patch} for uuid_, patch in body.items()}
        instance = next(iter(fields.values()))['instance_uuid']
        if any(a['instance_uuid'] == instance for a in self._mine()):
            return self.h._error(400, 'Instance %s already has accelerator '
                                      'requests.' % instance)
        for arq_uuid, values in fields.items():
            arq = self.cloud.arqs.get(arq_uuid)
            if arq is None or arq['project_id'] != self.project:
                return self.h._error(404, 'ARQ %s not found' % arq_uuid)
            arq.update(values)
            arq['state'] = 'BindStarted'
        return self.h._reply(202)

    def get(self, query, body):
        arqs = self._mine()
        instance = query.get('instance')
        if instance:
            arqs = [a for a in arqs if a['instance_uuid'] == instance]
            if query.get('bind_state') == 'resolved':
                for arq in arqs:
                    self._progress(arq)
                if any(a['state'] not in RESOLVED for a in arqs):
                    return self.h._reply(423)
        return self.h._reply(200, {'arqs': [_public(a) for a in arqs]})

    def _progress(self, arq):
        """The conductor's bind job, done after a few polls."""
        if arq['state'] != 'BindStarted' or self.cloud.never_resolve:
            return
        arq['polls'] += 1
        if arq['polls'] <= self.cloud.resolve_after:
            return
        free = [h for h in self.cloud.handles.get(arq['device_rp_uuid'], [])
                if not h['in_use']]
        if not free:
            arq['state'] = 'BindFailed'
            return
        free[0]['in_use'] = True
        arq.update(state='Bound', attach_handle_type=free[0]['type'],
                   attach_handle_info=dict(free[0]['info']),
                   handle=free[0]['uuid'])

    def _destroy(self, arq):
        for handles in self.cloud.handles.values():
            for handle in handles:
                if handle['uuid'] == arq.get('handle'):
                    handle['in_use'] = False
        del self.cloud.arqs[arq['uuid']]

    def delete(self, query, body):
        if 'instance' in query:
            if not self.service:
                return self.h._error(403, 'This operation requires a '
                                          'service token.')
            for arq in [a for a in self._mine()
                        if a['instance_uuid'] == query['instance']]:
                self._destroy(arq)
            return self.h._reply(204)
        for arq_uuid in query.get('arqs', '').split(','):
            arq = self.cloud.arqs.get(arq_uuid)
            if arq is None or arq not in self._mine():
                return self.h._error(404, 'ARQ %s not found' % arq_uuid)
            if arq['instance_uuid'] and not self.service:
                return self.h._error(403, 'ARQ %s is bound' % arq_uuid)
            self._destroy(arq)
        return self.h._reply(204)


def _public(arq):
    return {k: v for k, v in arq.items() if k not in ('polls', 'handle')}


class _Placement:
    def __init__(self, handler, cloud):
        self.h = handler
        self.cloud = cloud

    def dispatch(self, method, path, query, body):
        if path == '/resource_providers' and method == 'GET':
            return self.providers(query)
        if path.startswith('/allocations/'):
            consumer = path.rsplit('/', 1)[1]
            return getattr(self, 'allocations_' + method.lower())(
                consumer, body)
        return self.h._error(404, 'not found')

    def providers(self, query):
        rps = list(self.cloud.providers.values())
        if 'name' in query:
            rps = [rp for rp in rps if rp['name'] == query['name']]
        if 'in_tree' in query:
            root = self.cloud.providers[query['in_tree']]['root']
            rps = [rp for rp in rps if rp['root'] == root]
        if 'resources' in query:
            for item in query['resources'].split(','):
                rc, amount = item.split(':')
                rps = [rp for rp in rps if rp['inventory'].get(rc, 0) -
                       self.cloud.usage(rp['uuid']) >= int(amount)]
        for trait in filter(None, query.get('required', '').split(',')):
            if trait.startswith('!'):
                rps = [rp for rp in rps if trait[1:] not in rp['traits']]
            else:
                rps = [rp for rp in rps if trait in rp['traits']]
        return self.h._reply(200, {'resource_providers': [
            {'uuid': rp['uuid'], 'name': rp['name'],
             'generation': rp['generation'],
             'root_provider_uuid': rp['root']} for rp in rps]})

    def allocations_get(self, consumer, body):
        doc = self.cloud.allocations.get(consumer)
        if doc is None:
            return self.h._reply(200, {'allocations': {}})
        return self.h._reply(200, doc)

    def allocations_put(self, consumer, body):
        doc = self.cloud.allocations.get(consumer)
        generation = doc['consumer_generation'] if doc else None
        if body.get('consumer_generation') != generation:
            return self.h._error(409, 'consumer generation conflict',
                                 'placement.concurrent_update')
        for rp, alloc in body['allocations'].items():
            provider = self.cloud.providers.get(rp)
            if provider is None:
                return self.h._error(400, 'no provider %s' % rp)
            mine = (doc or {'allocations': {}})['allocations'].get(
                rp, {}).get('resources', {})
            for rc, amount in alloc['resources'].items():
                used = self.cloud.usage(rp) - mine.get(rc, 0)
                if used + amount > provider['inventory'].get(rc, 0):
                    return self.h._error(409, 'Unable to allocate: '
                                              'capacity exceeded')
        if not body['allocations']:
            self.cloud.allocations.pop(consumer, None)
            return self.h._reply(204)
        self.cloud.allocations[consumer] = {
            'allocations': body['allocations'],
            'consumer_generation': (generation or 0) + 1,
            'project_id': body['project_id'], 'user_id': body['user_id']}
        return self.h._reply(204)

    def allocations_delete(self, consumer, body):
        if self.cloud.allocations.pop(consumer, None) is None:
            return self.h._error(404, 'no allocations')
        return self.h._reply(204)


class _HTTPServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A client that gave up on a held request closed its socket.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Server:
    """Serves a :class:`Cloud` on 127.0.0.1 in a thread.

    ``port`` brings a stopped server back on its old port.
    """

    def __init__(self, cloud, port=0):
        self.cloud = cloud
        self.httpd = _HTTPServer(('127.0.0.1', port), _Handler)
        self.port = self.httpd.server_port
        self.httpd.cloud = cloud
        self.httpd.connections = set()
        self.url = 'http://127.0.0.1:%d' % self.httpd.server_port
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)
        self.thread.start()

    def stop(self):
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            # Keep-alive connections die with a real service too.
            for conn in list(self.httpd.connections):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.httpd = None

    def restart(self):
        """Serve again on the same port, as a restarted service would."""
        self.stop()
        self.__init__(self.cloud, self.port)
