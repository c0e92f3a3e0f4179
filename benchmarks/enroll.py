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

"""Enrollment of edge hosts: how soon every worker is STEADY, and what
listing 1,000 hosts costs against showing one.

Keystone (on MariaDB, as deployed: on SQLite, its one writer makes
concurrent credentials meet "database is locked" and defer), RabbitMQ
and Neutron (ML2 ``edge_bridge`` and ``edge_channel``) are started by
``aio.controlplane``, the channel API
under uWSGI by ``aio.channels``, the enrollment API under uWSGI and
``edge-enroll-worker`` by ``aio.enroll``, on a MariaDB database: the
services and the real ``tunelo`` and ``credentials`` workers as the
``enroll`` test suite runs them.  The engine keeps the product's
``[worker] poll_interval`` and ``task_concurrency`` (their defaults):
what makes a host STEADY in seconds is the API's RPC cast, not the
poll.

1. **Enrollment -> every worker STEADY.**  ``--hosts`` hosts are
   enrolled through the API as the demo user (``POST /v1/hardware/``,
   the body ``openstack hardware create`` sends, with a control and a
   tenant channel), first one at a time (each after the previous one is
   STEADY), then all at once (one thread each, tokens fetched
   beforehand).  A first host, not counted, warms up the services.  Per
   host, from the POST: when each worker recorded STEADY (its line
   "Worker <type> done with hardware <uuid>" in the worker's log, the
   last one if it ran more than once) and when the owner saw every
   worker STEADY in ``GET /v1/hardware/`` (polled every ``POLL`` s, the
   poll's delay included).  p50 / p95 / max; the most tasks seen
   IN_PROGRESS at once against ``task_concurrency``; runs beyond one a
   task (defers, retries, re-runs); where the workers' time goes: the
   server time (uWSGI's request logs) of the channel API's and
   Keystone's calls they make (``CALLS``).  Each host's channels are then
   counted in the channel API.  Then every host is deleted at once,
   timed until the engine purged it (every worker cleaned up: its line
   "Purged deleted hardware"); the channels and Keystone users left are
   counted.

2. **List of ``--items`` against show of one.**  The worker is stopped
   and ``--items`` hosts are enrolled through the API, ``CREATORS`` at a
   time: the items and their tasks are exactly what the API makes,
   while 1,000 channels and Keystone users, which a list never reads,
   would cost minutes.  Their tasks are then set STEADY with the state
   details of a host of item 1 (one SQL UPDATE per worker type), so
   that each listed item is the size of a real enrolled host's.  Then,
   interleaved, ``--rounds`` times each after one warm-up: ``GET
   /v1/hardware/`` as python-doniclient's ``hardware list`` sends it (no
   ``limit``, no ``marker``: it reads ``hardware`` and ignores
   ``links``) and ``GET /v1/hardware/<uuid>/`` (``hardware show``).
   Client and server (uWSGI's request log) medians in ms, the ratio,
   the answer's size; how the list pages (``[api] max_limit``, the
   ``next`` link, a walk of the same items in pages of ``PAGE``); and
   ``CLI_ROUNDS`` runs of ``openstack hardware list`` and ``show``
   (CLI start included) with the rows the client shows.

Everything it makes (services, databases, the virtual host, the work
directory) is removed at the end, also after a failure (the logs are
then kept).  The machine's load is printed: the figures include it.
Needs MariaDB and RabbitMQ (tools/start-services)::

    .venv/bin/python -m benchmarks.enroll [--hosts 20] [--items 1000]
        [--rounds 10] [--keep-logs] [--json]

Measured 2026-12-03 on the 2-CPU development machine while other
helpers ran clouds (load average 7.7 before, 10.7 after), defaults
(20 hosts, 1,000 items, 10 rounds):

* One at a time: POST -> every worker STEADY p50 5.7 s, p95 8.3 s,
  max 8.6 s (tunelo alone p50 1.6 s; the owner saw it 0.2 s later);
  the POST answered in 69 ms (p50).  Seconds, not a 60 s tick: the
  cast wakes the engine at once (``poll_interval`` 10 s never came
  into play).  No task ran twice.
* All 20 at once: p50 70 s, p95 104 s, max 105 s; the POSTs took 6.2 s
  (p50; the API spent 1.3 to 3.5 s on each, mostly waiting for
  Keystone to validate the 20 new tokens at once, 1.0 to 2.9 s each).
  The engine held 8 tasks IN_PROGRESS (its ``task_concurrency``), no
  task was lost or run twice, 82 of 82 channels and 41 of 41 users
  were made.  The machine is the limit: the last of the 20 was done
  after 105 s, about 5 s a host, and Keystone's work for the
  credentials worker dominates (three bcrypt operations a host; server
  medians over both runs: PATCH /v3/users/<id>, the password, 3.0 s;
  POST .../application_credentials 2.0 s; POST /v3/auth/tokens 1.1 s;
  against POST /channels 0.76 s; one bcrypt hash at Keystone's 12
  rounds took 0.6 s on this machine then).
* 41 hosts deleted at once -> purged: p50 53 s, p95 76 s; no channel
  or user left.
* 1,000 items: list 742 ms (server 737 ms, 1.43 MB), show 32 ms
  (server 25 ms): ratio 23.  The list returned all 1,000 (``[api]
  max_limit`` 1000) with a ``next`` link to an empty page; in pages of
  100, 11 requests took 1.1 s.  ``openstack hardware list`` 8.1 s
  (1,000 rows) against ``show`` 6.4 s.  The list has no N+1 query
  (two queries a page) and one policy check; profiled in-process,
  about half its time builds the 3,000 oslo.versionedobjects (1,000
  hardware, 2,000 tasks), a fifth is PyMySQL reading the rows, the
  rest the representation and the JSON.
* python-doniclient 1.0.4's ``hardware list`` sends no ``limit`` and
  reads only ``hardware``: a project with more than ``max_limit``
  hosts sees the first 1,000 and no sign of the rest.
"""

import argparse
import base64
import concurrent.futures
import datetime
import json
import os
import re
import statistics
import sys
import time
import uuid

import sqlalchemy as sa

from aio import channels as channels_mod
from aio import controlplane
from aio import db as aio_db
from aio import enroll as enroll_mod
from aio import service
from benchmarks import reporting
from edge_enroll.conf import api as conf_api
from edge_enroll.conf import worker as conf_worker
from edge_enroll.db import models


HOSTS = 20
ITEMS = 1000
ROUNDS = 10
CLI_ROUNDS = 3
#: Seconds between two reads of the owner's list while waiting.
POLL = 0.2
#: Seconds a host may take to be STEADY, or purged, before the run
#: gives up.
TIMEOUT = 300
#: Threads enrolling the items of item 2 (the API's uWSGI threads).
CREATORS = 8
#: Page size of the paged walk of item 2.
PAGE = 100
WORKERS = ('tunelo', 'credentials')
#: The channel subnet: room for 2 channels a host of many hosts.
CIDR = '10.240.0.0/22'
ROLES = ('control', 'tenant')
STEADY = 'STEADY'
IN_PROGRESS = 'IN_PROGRESS'
#: "2026-12-02 10:08:25.123 4242 INFO module [-] message"
LOG_LINE = re.compile(r'^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) \d+ \w+ '
                      r'\S+ (?:\[[^\]]*\] )?(.*)$')
DONE = re.compile(r'^Worker (\S+) done with hardware (\S+)$')
PURGED = re.compile(r'^Purged deleted hardware (\S+):')
#: A run that did not end STEADY: deferred, or failed (then retried).
AGAIN = re.compile(r'^Worker (\S+) (?:deferred|failed on) hardware (\S+)')
#: uWSGI's request log: when (to the second), method, path, status,
#: bytes, milliseconds.
REQUEST = re.compile(r'\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\] '
                     r'(GET|POST|PUT|PATCH|DELETE) (\S+) => generated (\d+) '
                     r'bytes in (\d+) msecs \(HTTP/[\d.]+ (\d+)\)')
#: IDs in a path: Keystone's (32 hex digits) and UUIDs.
IDENT = re.compile(r'/(?:[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-'
                   r'[0-9a-f]{4}-[0-9a-f]{12})(?=/|$)')
#: The calls of the workers that take the time, (log, method, path), as
#: the breakdown shows them: the channel API's create, and Keystone's
#: calls of the credentials worker (the user made and given its role;
#: a password set, a token got with it and the credential made: a
#: bcrypt hash or check each).
CALLS = (('edge-channels-api.log', 'POST', '/channels'),
         ('keystone.log', 'POST', '/v3/users'),
         ('keystone.log', 'PUT', '/v3/projects/<id>/users/<id>/roles/<id>'),
         ('keystone.log', 'PATCH', '/v3/users/<id>'),
         ('keystone.log', 'POST', '/v3/auth/tokens'),
         ('keystone.log', 'POST', '/v3/users/<id>/application_credentials'))


def _default(opts, name):
    return [o.default for o in opts if o.name == name][0]


#: The product's defaults, kept by the benchmark.
POLL_INTERVAL = _default(conf_worker.opts, 'poll_interval')
TASK_CONCURRENCY = _default(conf_worker.opts, 'task_concurrency')
MAX_LIMIT = _default(conf_api.opts, 'max_limit')


def _epoch(stamp):
    """Seconds since the epoch of a log timestamp (local time)."""
    return datetime.datetime.fromisoformat(stamp).timestamp()


def _wait(what, predicate, timeout=TIMEOUT, interval=POLL):
    return service.wait_for(what, predicate, timeout, interval)


def new_key():
    """A WireGuard public key's form (32 random bytes, base64)."""
    return base64.b64encode(os.urandom(32)).decode('ascii')


def load():
    with open('/proc/loadavg') as f:
        return ' '.join(f.read().split()[:3])


def stats(values):
    """p50 / p95 / max of ``values`` (nearest-rank p95)."""
    return {'p50': statistics.median(values),
            'p95': reporting.percentile(values, 95),
            'max': max(values), 'count': len(values)}


def _ms(values):
    return 1000 * statistics.median(values)


class WorkerLog:
    """What ``edge-enroll-worker``'s log says of each hardware item."""

    def __init__(self, path):
        self.path = path

    def lines(self):
        found = []
        with open(self.path, errors='replace') as f:
            for line in f:
                match = LOG_LINE.match(line)
                if match:
                    found.append((_epoch(match.group(1)), match.group(2)))
        return found

    def read(self):
        """``done``: {(hardware, worker): [epoch]}; ``purged``:
        {hardware: epoch}; ``again``: {hardware: runs that did not end
        STEADY}.
        """
        done, purged, again = {}, {}, {}
        for when, message in self.lines():
            match = DONE.match(message)
            if match:
                done.setdefault((match.group(2), match.group(1)),
                                []).append(when)
                continue
            match = PURGED.match(message)
            if match:
                purged[match.group(1)] = when
                continue
            match = AGAIN.match(message)
            if match:
                again[match.group(2)] = again.get(match.group(2), 0) + 1
        return done, purged, again


def requests_served(path):
    """[(epoch second, method, path with <id>s and no query, status,
    bytes, ms)] of uWSGI's request log at ``path``.
    """
    found = []
    with open(path, errors='replace') as f:
        for line in f:
            match = REQUEST.search(line)
            if match is None:
                continue
            when, method, url, size, msecs, status = match.groups()
            found.append((
                time.mktime(time.strptime(when, '%a %b %d %H:%M:%S %Y')),
                method, IDENT.sub('/<id>', url.split('?')[0]),
                int(status), int(size), int(msecs)))
    return found


def server_times(path, kind, count):
    """Milliseconds of the last ``count`` 200 answers to a list
    (``kind`` 'list', no query) or a show ('show') in uWSGI's log.
    """
    paths = {'list': ('/v1/hardware/', '/v1/hardware'),
             'show': ('/v1/hardware/<id>/', '/v1/hardware/<id>')}[kind]
    return [msecs for _w, method, url, status, _s, msecs in
            requests_served(path) if method == 'GET' and status == 200
            and url in paths][-count:]


def breakdown(logs, begin, end):
    """{"<method> <path>": {median ms, count}} of ``CALLS`` answered
    between ``begin`` and ``end`` (epoch seconds).
    """
    found = {}
    served = {}
    for log, method, path in CALLS:
        if log not in served:
            served[log] = requests_served(os.path.join(logs, log))
        msecs = [m for when, meth, url, status, _s, m in served[log]
                 if meth == method and url == path and status < 400 and
                 int(begin) <= when <= end]
        if msecs:
            found['%s %s' % (method, path)] = {
                'median_ms': statistics.median(msecs),
                'count': len(msecs)}
    return found


class Bench:
    """The runs, on a control plane with the channel API and the
    enrollment service running.
    """

    def __init__(self, plane, channel_api, enroll, db_url):
        self.plane = plane
        self.channel_api = channel_api
        self.enroll = enroll
        self.db_url = db_url
        self.log = WorkerLog(enroll.worker_log)
        self.owner = enroll.client('demo')
        self.tag = uuid.uuid4().hex[:6]
        self.count = 0
        #: Every host of item 1, by UUID: its name.
        self.hosts = {}

    # -- enrolling --------------------------------------------------------

    def body(self):
        """What ``openstack hardware create --hardware_type device ...
        --channels`` sends.
        """
        self.count += 1
        return {'name': 'bench-%s-%d' % (self.tag, self.count),
                'hardware_type': 'device',
                'properties': {
                    'machine_name': 'raspberrypi4-64',
                    'contact_email': 'owner@example.org',
                    'channels': {role: {'channel_type': 'wireguard',
                                        'public_key': new_key()}
                                 for role in ROLES}}}

    def client(self):
        """The API as the demo user, with its token already fetched."""
        client = self.enroll.client('demo')
        client.get_token()
        return client

    @staticmethod
    def create(client, body):
        """POST it; (uuid, wall-clock time sent, round trip in s)."""
        sent = time.time()
        start = time.perf_counter()
        resp = client.post('/v1/hardware/', json=body)
        spent = time.perf_counter() - start
        if resp.status_code != 201:
            raise RuntimeError('enrolling %s: %d %s' % (
                body['name'], resp.status_code, resp.text))
        return resp.json()['uuid'], sent, spent

    def listed(self):
        """The owner's hosts as ``GET /v1/hardware/`` shows them."""
        resp = self.owner.get('/v1/hardware/')
        if resp.status_code != 200:
            raise RuntimeError('list: %d %s' % (resp.status_code, resp.text))
        return resp.json()['hardware']

    def wait_steady(self, uuids):
        """{uuid: wall-clock time the owner first saw every worker
        STEADY}, and the most tasks seen IN_PROGRESS at once.
        """
        seen, most = {}, 0
        deadline = time.monotonic() + TIMEOUT
        while len(seen) < len(uuids):
            items = self.listed()
            now = time.time()
            states = [w['state'] for hw in items for w in hw['workers']]
            most = max(most, states.count(IN_PROGRESS))
            for hw in items:
                if hw['uuid'] in uuids and hw['uuid'] not in seen and \
                        sorted(w['worker_type'] for w in hw['workers']) == \
                        sorted(WORKERS) and \
                        all(w['state'] == STEADY for w in hw['workers']):
                    seen[hw['uuid']] = now
            errors = ['%s %s: %s' % (hw['uuid'], w['worker_type'],
                                     w['state_details'].get('last_error'))
                      for hw in items if hw['uuid'] in uuids
                      for w in hw['workers'] if w['state'] == 'ERROR']
            if errors:
                raise RuntimeError('workers in ERROR: %s (see %s)' % (
                    '; '.join(errors), self.log.path))
            if time.monotonic() > deadline:
                raise RuntimeError('%d hosts not STEADY within %d s (see '
                                   '%s)' % (len(uuids) - len(seen), TIMEOUT,
                                            self.log.path))
            time.sleep(POLL)
        return seen, most

    def one_at_a_time(self, count):
        """Hosts enrolled one after the other; [(uuid, sent, post_s,
        seen)] and the most tasks seen IN_PROGRESS.
        """
        client = self.client()
        records, most = [], 0
        for _n in range(count):
            body = self.body()
            ident, sent, spent = self.create(client, body)
            self.hosts[ident] = body['name']
            seen, busy = self.wait_steady({ident})
            most = max(most, busy)
            records.append((ident, sent, spent, seen[ident]))
        return records, most

    def at_once(self, count):
        """Hosts enrolled at the same time, one thread each."""
        clients = [self.client() for _n in range(count)]
        bodies = [self.body() for _n in range(count)]
        with concurrent.futures.ThreadPoolExecutor(count) as pool:
            created = list(pool.map(self.create, clients, bodies))
        for (ident, _sent, _spent), body in zip(created, bodies):
            self.hosts[ident] = body['name']
        seen, most = self.wait_steady({c[0] for c in created})
        return [c + (seen[c[0]],) for c in created], most

    def rows(self, records):
        """{phase: s} per host, from the worker's log."""
        done, _purged, again = self.log.read()
        rows, extra = [], 0
        for ident, sent, spent, seen in records:
            steady = {w: done[(ident, w)][-1] - sent for w in WORKERS}
            extra += again.get(ident, 0) + sum(
                len(done[(ident, w)]) - 1 for w in WORKERS)
            row = {'API create (POST round trip)': spent}
            for worker in WORKERS:
                row['POST -> %s STEADY' % worker] = steady[worker]
            row['total: POST -> every worker STEADY'] = max(steady.values())
            row['POST -> the owner sees it STEADY'] = seen - sent
            rows.append(row)
        return rows, extra

    def channels_of_hosts(self):
        """How many channels of the demo project belong to the hosts."""
        names = {'%s-%s' % (name, role) for name in self.hosts.values()
                 for role in ROLES}
        found = self.channel_api.client('demo').get('/channels').json()
        return len([c for c in found['channels'] if c['name'] in names])

    def users_of_hosts(self):
        """How many Keystone users of the hosts exist."""
        admin = self.plane.session('admin')
        users = admin.get(self.plane.keystone.url + '/users').json()['users']
        names = {'edge-%s' % ident for ident in self.hosts}
        return len([u for u in users if u['name'] in names])

    def delete_all(self):
        """Every host deleted at once; [s from DELETE to purged]."""
        idents = list(self.hosts)
        clients = [self.client() for _ident in idents]

        def delete(client, ident):
            sent = time.time()
            resp = client.delete('/v1/hardware/%s/' % ident)
            if resp.status_code != 204:
                raise RuntimeError('deleting %s: %d %s' % (
                    ident, resp.status_code, resp.text))
            return sent

        with concurrent.futures.ThreadPoolExecutor(len(idents)) as pool:
            sent = dict(zip(idents, pool.map(delete, clients, idents)))
        purged = _wait('every host purged', lambda: (
            lambda p: p if set(idents) <= set(p) else None)(
                self.log.read()[1]))
        return [purged[ident] - sent[ident] for ident in idents]

    # -- many items ---------------------------------------------------------

    def make_items(self, count, details):
        """``count`` hosts enrolled through the API (the worker
        stopped), their tasks then set STEADY with ``details`` ({worker
        type: state details}); seconds it took to enroll them.
        """
        clients = [self.client() for _n in range(CREATORS)]
        bodies = [self.body() for _n in range(count)]
        start = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(CREATORS) as pool:
            list(pool.map(self.create,
                          [clients[n % CREATORS] for n in range(count)],
                          bodies))
        spent = time.monotonic() - start
        engine = sa.create_engine(self.db_url)
        try:
            table = models.WorkerTask.__table__
            with engine.begin() as conn:
                for worker, state_details in details.items():
                    conn.execute(table.update().where(
                        table.c.worker_type == worker).values(
                        state=STEADY, state_details=state_details))
        finally:
            engine.dispose()
        return spent

    def list_vs_show(self, rounds, show_ident):
        """Client-side seconds of ``rounds`` lists and shows,
        interleaved after one warm-up each; the last list's answer.
        """
        timings = {'list': [], 'show': []}
        answer = None
        for n in range(rounds + 1):
            for kind in ('list', 'show') if n % 2 else ('show', 'list'):
                path = ('/v1/hardware/' if kind == 'list'
                        else '/v1/hardware/%s/' % show_ident)
                start = time.perf_counter()
                resp = self.owner.get(path)
                spent = time.perf_counter() - start
                if resp.status_code != 200:
                    raise RuntimeError('%s: %d %s' % (
                        path, resp.status_code, resp.text))
                if n:
                    timings[kind].append(spent)
                if kind == 'list':
                    answer = resp
        return timings, answer

    def walk(self, page):
        """The owner's items in pages of ``page``, following the
        ``next`` links: (items, requests, seconds).
        """
        url = '/v1/hardware/?limit=%d' % page
        items = requests = 0
        start = time.perf_counter()
        while url:
            body = self.owner.get(url).json()
            requests += 1
            items += len(body['hardware'])
            links = [link['href'] for link in body['links']
                     if link['rel'] == 'next']
            url = links[0] if links else None
        return items, requests, time.perf_counter() - start

    def cli(self, rounds, show_ident):
        """Medians (s) of ``openstack hardware list -f json`` and ``show``
        and the rows the list shows.
        """
        timings = {'list': [], 'show': []}
        rows = None
        for _n in range(rounds):
            for kind, args in (('list', ('list', '-f', 'json')),
                               ('show', ('show', show_ident, '-f', 'json'))):
                start = time.perf_counter()
                result = self.enroll.openstack('hardware', *args,
                                               user='demo')
                timings[kind].append(time.perf_counter() - start)
                if result.returncode != 0:
                    raise RuntimeError('openstack hardware %s: %s' % (
                        ' '.join(args), result.stderr))
                if kind == 'list':
                    rows = len(json.loads(result.stdout))
        return ({k: statistics.median(v) for k, v in timings.items()},
                rows)


def enrollment(bench, hosts):
    """Item 1 as a JSON-able dict; also the state details of a STEADY
    host ({worker type: details}) for item 2.
    """
    warm, _most = bench.one_at_a_time(1)
    warm_rows, _extra = bench.rows(warm)
    begin = time.time()
    phases = {}
    details = None
    for label, run in (('one at a time', bench.one_at_a_time),
                       ('all at once', bench.at_once)):
        records, most = run(hosts)
        rows, extra = bench.rows(records)
        phases[label] = {
            'hosts': len(rows),
            'phases': {phase: stats([r[phase] for r in rows])
                       for phase in rows[0]},
            'most_in_progress_seen': most,
            'runs_beyond_one': extra}
        if details is None:
            shown = bench.owner.get('/v1/hardware/%s/' % records[-1][0])
            details = {w['worker_type']: w['state_details']
                       for w in shown.json()['workers']}
    calls = breakdown(bench.plane.logs, begin, time.time())
    made = bench.channels_of_hosts()
    users = bench.users_of_hosts()
    deleted = bench.delete_all()
    figures = {
        'warm_up_host_s': warm_rows[0]['total: POST -> every worker STEADY'],
        'phases': phases, 'server_calls': calls,
        'channels_made': made, 'channels_expected': len(ROLES) * len(
            bench.hosts),
        'users_made': users, 'users_expected': len(bench.hosts),
        'delete': {'hosts': len(deleted),
                   'delete_to_purged_s': stats(deleted),
                   'channels_left': bench.channels_of_hosts(),
                   'users_left': bench.users_of_hosts()}}
    return figures, details


def listing(bench, items, rounds, details):
    """Item 2 as a JSON-able dict."""
    made_s = bench.make_items(items, details)
    everything = bench.listed()
    show_ident = everything[len(everything) // 2]['uuid']
    timings, answer = bench.list_vs_show(rounds, show_ident)
    body = answer.json()
    server = {kind: server_times(bench.enroll.log, kind, rounds)
              for kind in ('list', 'show')}
    walked, requests, walk_s = bench.walk(PAGE)
    cli, cli_rows = bench.cli(CLI_ROUNDS, show_ident)
    figures = {
        'items': items, 'enroll_items_s': made_s,
        'items_per_s': items / made_s,
        'list_ms': _ms(timings['list']), 'show_ms': _ms(timings['show']),
        'ratio_list_to_show': (statistics.median(timings['list']) /
                               statistics.median(timings['show'])),
        'list_items_returned': len(body['hardware']),
        'list_bytes': len(answer.content),
        'show_bytes': len(json.dumps(body['hardware'][0])),
        'list_next_link': bool([link for link in body['links']
                                if link['rel'] == 'next']),
        'max_limit': MAX_LIMIT,
        'paged': {'page': PAGE, 'items': walked, 'requests': requests,
                  'total_ms': 1000 * walk_s},
        'cli': {'rounds': CLI_ROUNDS, 'list_s': cli['list'],
                'show_s': cli['show'], 'list_rows': cli_rows}}
    if all(len(server[k]) == rounds for k in server):
        figures['server_list_ms'] = statistics.median(server['list'])
        figures['server_show_ms'] = statistics.median(server['show'])
    return figures


def run(args):
    # Keystone on MariaDB, as deployed: on SQLite (one writer) the
    # credentials worker's concurrent calls meet "database is locked"
    # and Keystone drops the connection (the worker defers and retries).
    plane = controlplane.ControlPlane(
        'enrollbench', db='mariadb', neutron=True,
        mechanism_drivers=('edge_bridge', 'edge_channel'))
    ok = False
    try:
        plane.start()
        channel_api = channels_mod.ChannelAPI(
            plane.workdir, plane.logs, plane.keystone, plane.neutron,
            cidr=CIDR)
        channel_api.setup()
        channel_api.start(plane.track)
        dbs = aio_db.Databases('mariadb', plane.id, plane.workdir)
        # Named before it exists: a failed create is dropped too.
        plane.databases.append(dbs.name('edge_enroll'))
        db_url = dbs.create('edge_enroll', plane.setup_log)
        enroll = enroll_mod.Enroll(
            plane.workdir, plane.logs, plane.keystone, plane.transport_url,
            db_url, worker_types=WORKERS,
            service_groups=('channel', 'credentials'),
            sections={'credentials': {'domain': 'edge_hosts_%s' % plane.id},
                      # The product's, over aio.enroll's 1 s: a host
                      # STEADY in seconds is the RPC cast's doing.
                      'worker': {'poll_interval': str(POLL_INTERVAL)}})
        enroll.setup()
        enroll.start(plane.track)
        enroll.start_worker(plane.track)
        _wait('the worker running', lambda: os.path.exists(
            enroll.worker_log) and any(
            'running workers' in m for _w, m in WorkerLog(
                enroll.worker_log).lines()), 60)
        bench = Bench(plane, channel_api, enroll, db_url)
        loads = [load()]
        enrolled, details = enrollment(bench, args.hosts)
        enroll.worker.stop()
        listed = listing(bench, args.items, args.rounds, details)
        loads.append(load())
        ok = True
    finally:
        errors = plane.stop(keep_logs=args.keep_logs or not ok)
        if (args.keep_logs or not ok) and plane.logs:
            print('logs kept in %s' % plane.logs, file=sys.stderr)
    if errors:
        print('clean-up failed: %s' % '; '.join(errors), file=sys.stderr)
        return None
    return {'load_before_after': loads, 'cpus': os.cpu_count(),
            'task_concurrency': TASK_CONCURRENCY,
            'poll_interval_s': POLL_INTERVAL,
            'enrollment': enrolled, 'list': listed}


def report(figures):
    e = figures['enrollment']
    print('Enrollment on real Keystone, RabbitMQ, Neutron, the channel API '
          'and the enrollment API and worker (tunelo, credentials; '
          'MariaDB); load average before / after: %s / %s; %d CPUs.'
          % (figures['load_before_after'][0],
             figures['load_before_after'][1], figures['cpus']))
    print('1. POST /v1/hardware/ -> every worker STEADY; engine '
          'task_concurrency %d, poll_interval %.0f s; s:'
          % (figures['task_concurrency'], figures['poll_interval_s']))
    for label, f in e['phases'].items():
        print('  %d hosts %s (most tasks IN_PROGRESS seen: %d; runs beyond '
              'one a task: %d)' % (f['hosts'], label,
                                   f['most_in_progress_seen'],
                                   f['runs_beyond_one']))
        print('    %-44s %7s %7s %7s' % ('', 'p50', 'p95', 'max'))
        for phase, s in f['phases'].items():
            print('    %-44s %7.3f %7.3f %7.3f' % (phase, s['p50'], s['p95'],
                                                  s['max']))
    print('  where the workers\' time goes: server time of their calls '
          '(uWSGI), medians over both runs:')
    for call, f in e['server_calls'].items():
        print('    %-56s %6.0f ms (%d)' % (call, f['median_ms'], f['count']))
    d = e['delete']
    print('  the first host (not counted) took %.3f s; channels made %d of '
          '%d, Keystone users %d of %d'
          % (e['warm_up_host_s'], e['channels_made'], e['channels_expected'],
             e['users_made'], e['users_expected']))
    s = d['delete_to_purged_s']
    print('  %d hosts deleted at once -> purged (every worker cleaned up): '
          'p50 %.3f s, p95 %.3f s, max %.3f s; channels left %d, users '
          'left %d' % (d['hosts'], s['p50'], s['p95'], s['max'],
                       d['channels_left'], d['users_left']))
    m = figures['list']
    print('2. %d hosts (enrolled through the API, worker stopped, in %.1f s: '
          '%.0f/s; tasks set STEADY with a real host\'s details)'
          % (m['items'], m['enroll_items_s'], m['items_per_s']))
    print('  %-36s %10s %10s %10s' % ('', 'client ms', 'server ms',
                                      'bytes'))
    for kind in ('list', 'show'):
        print('  %-36s %10.1f %10s %10d' % (
            'GET /v1/hardware/' if kind == 'list'
            else 'GET /v1/hardware/<uuid>/',
            m['%s_ms' % kind],
            '%.1f' % m['server_%s_ms' % kind]
            if 'server_%s_ms' % kind in m else '-',
            m['%s_bytes' % kind]))
    print('  ratio list / show (client medians): %.1f' % (
        m['ratio_list_to_show']))
    p = m['paged']
    print('  the list returned %d items (max_limit %d), next link: %s; '
          'python-doniclient sends no limit and ignores links.  Paged by '
          '%d: %d items in %d requests, %.1f ms'
          % (m['list_items_returned'], m['max_limit'],
             'yes' if m['list_next_link'] else 'no', p['page'], p['items'],
             p['requests'], p['total_ms']))
    c = m['cli']
    print('  openstack hardware list: %.2f s (%d rows), show: %.2f s '
          '(medians of %d, CLI start included)'
          % (c['list_s'], c['list_rows'], c['show_s'], c['rounds']))


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m benchmarks.enroll',
        description=__doc__.split('\n')[0])
    parser.add_argument('--hosts', type=int, default=HOSTS,
                        help='hosts enrolled one at a time, then as many '
                             'at once (default %(default)s)')
    parser.add_argument('--items', type=int, default=ITEMS,
                        help='hosts listed against a show of one '
                             '(default %(default)s)')
    parser.add_argument('--rounds', type=int, default=ROUNDS,
                        help='timed lists and shows (default '
                             '%(default)s)')
    parser.add_argument('--keep-logs', action='store_true',
                        help="keep the services' logs (the work "
                             'directory; the databases are dropped)')
    parser.add_argument('--json', action='store_true',
                        help='print the figures as one JSON line only')
    args = parser.parse_args(argv)
    if args.hosts < 1 or args.items < 1 or args.rounds < 1:
        parser.error('--hosts, --items and --rounds must be at least 1')
    figures = run(args)
    if figures is None:
        return 1
    if args.json:
        print(json.dumps(figures, sort_keys=True))
    else:
        report(figures)
    return 0


if __name__ == '__main__':
    sys.exit(main())
