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

"""``appcontainer run`` to Running, with a device profile and without,
on the all-in-one cloud's real services.

Keystone, Placement, Neutron with Kuryr, Cyborg (API, conductor, agent),
zun-api and zun-compute run as the cloud runs them (``aio.cloud``), on
the device path ``--path`` names (default ``aio.zun.DEFAULT_DEVICE_PATH``);
the benchmark prints which.  A container is run as
the demo user through zun-api (python-zunclient, what ``openstack
appcontainer run --device-profile`` sends), and its status is polled
every ``POLL`` s until Running; each is deleted, outside the timings,
before the next.

Each round runs, in an order that turns every round: the container
with a device profile of one serial adapter, the same container without
a profile (Zun's own path for any container: the patched Zun takes it
unchanged when no profile is asked for), and docker-py alone creating
and starting the same image with and without the device nodes the
profiled container got.  A first round, not counted, warms up tokens,
connections and caches.  Medians, p95 and the ratio profile / no profile
(goal <= ``GOAL``).

Where the time goes is read from outside the product: the round trip of
the create request (what zun-api does before it answers 202: Cyborg's
profile check and scheduling included), Zun's container action events
(``openstack appcontainer action show``: zun-compute's create and
start), Placement's log lines that carry the create's request id (the
scheduler's allocation candidates and claim, first to last), and the
time Cyborg's API spent on the ARQ requests zun-compute made during the
create (create, bind, and the polls until resolved; uWSGI's request
log).  The runs include the machine's load at the time (printed).

Needs root, Docker, MariaDB and RabbitMQ (tools/start-services)::

    umockdev-wrapper .venv/bin/python -m benchmarks.aio \
        [--path attacher|docker_oci] [--rounds N] [--db sqlite|mariadb]
"""

import argparse
import datetime
import os
import re
import statistics
import sys
import time
import uuid

import docker

from aio import cloud as cloud_mod
from aio import zun as aio_zun
from benchmarks import reporting


ROUNDS = 10
GOAL = 1.25
#: Seconds between two status reads of a starting container.
POLL = 0.1
TIMEOUT = 120
PROFILE = 'bench-serial'
SERIAL_RC = 'CUSTOM_PERIPHERAL_SERIAL'
WITH = 'with the profile'
WITHOUT = 'without a profile'
DOCKER_DEVICE = 'docker-py, the device'
DOCKER_PLAIN = 'docker-py, no device'
#: The service whose log lines carry the create's request id: what it
#: is doing for it.
PLACEMENT = 'Placement (scheduling)'
ARQ_CALLS = 'Cyborg API: ARQ create, bind, resolve'
#: "2026-12-02 06:32:09.020 27894 INFO ... [<global id> <own id> ...":
#: a service called by another logs the caller's request id first,
#: zun-compute logs zun-api's as its own.
LOG_LINE = re.compile(r'^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) \d+ \w+ '
                      r'\S+ \[(\S+) (\S+) ')


def _epoch(stamp):
    """Seconds since the epoch of a log or Zun timestamp (local time:
    the services run on this machine).
    """
    return datetime.datetime.fromisoformat(stamp).timestamp()


#: uWSGI's line of a request to Cyborg's ARQ API: when it started (to the
#: second), method, query, and how long it took.
ARQ_REQUEST = re.compile(
    r'\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\] (POST|PATCH|GET) '
    r'/accelerator/v2/accelerator_requests(\S*) => .* in (\d+) msecs')


def arq_requests(path):
    """[(start second, method, query, seconds)] of the ARQ requests
    Cyborg's API served.
    """
    found = []
    with open(path, errors='replace') as f:
        for line in f:
            match = ARQ_REQUEST.search(line)
            if match:
                when = time.mktime(time.strptime(match.group(1),
                                                 '%a %b %d %H:%M:%S %Y'))
                found.append((when, match.group(2), match.group(3),
                              int(match.group(4)) / 1000))
    return found


class LogIndex:
    """(first, last) time of the lines of each global request id in a
    service's log.
    """

    def __init__(self, path):
        self.spans = {}
        with open(path, errors='replace') as f:
            for line in f:
                match = LOG_LINE.match(line)
                if match is None:
                    continue
                when = _epoch(match.group(1))
                for ident in match.group(2, 3):
                    first, _last = self.spans.get(ident, (when, when))
                    self.spans[ident] = (first, when)


class Bench:

    def __init__(self, cloud):
        self.cloud = cloud
        self.demo = cloud.zun.client('demo')
        self.admin = cloud.zun.client('admin')
        self.docker = docker.APIClient()
        #: Per run of a Zun arm: (arm, timings).
        self.runs = []
        #: docker-py arm -> [s]
        self.direct = {DOCKER_DEVICE: [], DOCKER_PLAIN: []}
        #: What the profiled container got: docker-py create arguments.
        self.device_config = None
        #: Zun runs that ended in Error (and were run again).
        self.failed = 0
        #: Containers whose Docker container Zun's delete left behind.
        self.leaked = []

    def wait_running(self, ident):
        """When the container was seen Running; None if it failed."""
        container = aio_zun.wait_status(self.demo, ident, ('Running', 'Error'),
                                        TIMEOUT, POLL)
        if container.status == 'Error':
            print('container %s failed, not counted: %s'
                  % (ident, container.status_reason), file=sys.stderr)
            return None
        return time.time()

    def delete(self, ident):
        """Delete the container and wait until it is gone; counts it if
        Zun left its Docker container (removed, so that the next runs do
        not pay for it).
        """
        if aio_zun.delete(self.demo, ident, [self.cloud.first.docker_url],
                          TIMEOUT):
            self.leaked.append(ident)

    def zun_run(self, arm, record=True):
        """Run a container until Running through zun-api, then delete
        it; whether it ran.
        """
        fields = (self.cloud.zun.device_profile_fields([PROFILE])
                  if arm == WITH else {})
        sent = time.time()
        container = self.demo.containers.run(
            image=aio_zun.IMAGE, image_pull_policy='ifnotpresent',
            command=list(aio_zun.UNTIL_STOPPED),
            name='bench-%s' % uuid.uuid4().hex[:8], **fields)
        accepted = time.time()
        try:
            running = self.wait_running(container.uuid)
            if running is None:
                self.failed += 1
                return False
            if arm == WITH and self.device_config is None:
                host_config = self.docker.inspect_container(
                    'zun-' + container.uuid)['HostConfig']
                self.device_config = {
                    'devices': ['%(PathOnHost)s:%(PathInContainer)s:'
                                '%(CgroupPermissions)s' % d
                                for d in host_config.get('Devices') or []],
                    'device_cgroup_rules':
                        host_config.get('DeviceCgroupRules') or []}
            if record:
                request_id, events = self.events(container.uuid)
        finally:
            self.delete(container.uuid)
        if record:
            self.runs.append((arm, {
                'uuid': container.uuid, 'request_id': request_id,
                'events': events, 'sent': sent,
                'accepted': accepted, 'running': running}))
        return True

    def events(self, ident):
        """The request id of the container's create and its action
        events by name, once zun-compute has finished the start (it
        records Running just before).  Zun shows no action of a deleted
        container.
        """
        deadline = time.monotonic() + TIMEOUT
        while True:
            (action,) = [a for a in self.admin.actions.list(ident)
                         if a.action == 'create']
            events = {e['event']: e for e in self.admin.actions.get(
                ident, action.request_id).events}
            start = events.get('compute__do_container_start')
            if start and start['finish_time']:
                return action.request_id, events
            if time.monotonic() > deadline:
                raise RuntimeError('no finished start event for container '
                                   '%s: %s' % (ident, events))
            time.sleep(0.2)

    def docker_run(self, arm):
        start = time.perf_counter()
        config = self.docker.create_host_config(
            network_mode='none',
            **(self.device_config if arm == DOCKER_DEVICE else {}))
        created = self.docker.create_container(
            aio_zun.IMAGE, list(aio_zun.UNTIL_STOPPED), host_config=config)
        self.docker.start(created['Id'])
        self.direct[arm].append(time.perf_counter() - start)
        self.docker.remove_container(created['Id'], force=True)

    def rounds(self, count):
        # Warm-up, uncounted: the profiled container first, to learn
        # its devices.
        for arm in (WITH, WITHOUT):
            self._zun_arm(arm, record=False)
        arms = [lambda: self._zun_arm(WITH), lambda: self._zun_arm(WITHOUT),
                lambda: self.docker_run(DOCKER_DEVICE),
                lambda: self.docker_run(DOCKER_PLAIN)]
        for r in range(count):
            turn = r % len(arms)
            for arm in arms[turn:] + arms[:turn]:
                arm()

    def _zun_arm(self, arm, record=True, attempts=3):
        for _attempt in range(attempts):
            if self.zun_run(arm, record):
                return
        raise RuntimeError('%d containers %s failed in a row'
                           % (attempts, arm))

    def breakdown(self):
        """Per Zun arm, [{phase: s}] of each run, from the container
        actions and the services' logs.
        """
        logs = {PLACEMENT: LogIndex(os.path.join(self.cloud.logs,
                                                 'placement.log'))}
        arqs = arq_requests(os.path.join(self.cloud.logs,
                                         'cyborg-api.log'))
        found = {WITH: [], WITHOUT: []}
        for arm, run in self.runs:
            events = run['events']
            create = events['compute__do_container_create']
            start = events['compute__do_container_start']
            phases = {
                'total: run to Running': run['running'] - run['sent'],
                'API accept (POST to 202)':
                    run['accepted'] - run['sent'],
                '202 to zun-compute create':
                    _epoch(create['start_time']) - run['accepted'],
                'zun-compute create (event)':
                    _epoch(create['finish_time']) -
                    _epoch(create['start_time']),
                'zun-compute start (event)':
                    _epoch(start['finish_time']) -
                    _epoch(start['start_time']),
                'start done to Running seen':
                    run['running'] - _epoch(start['finish_time']),
            }
            for label, index in logs.items():
                first, last = index.spans.get(run['request_id'],
                                              (0.0, 0.0))
                phases['  ' + label] = last - first
            # zun-compute's calls during the create (runs do not overlap;
            # the deletes are not counted): creating the ARQs, binding
            # them, and asking until they are resolved.
            begin = int(_epoch(create['start_time']))
            end = _epoch(create['finish_time'])
            phases['  ' + ARQ_CALLS] = sum(
                spent for when, method, query, spent in arqs
                if begin <= when <= end and
                (method != 'GET' or 'instance=%s' % run['uuid'] in query))
            found[arm].append(phases)
        return found


def _ms(values, p=50):
    return 1000 * (statistics.median(values) if p == 50
                   else reporting.percentile(values, p))


def load():
    with open('/proc/loadavg') as f:
        return ' '.join(f.read().split()[:3])


def report(path, api_version, rounds, found, direct, loads, failed):
    print('appcontainer run -> Running on the all-in-one cloud, device '
          'path %r (API %s), %d interleaved rounds; ms.  Load average '
          'before / after: %s / %s; %d CPUs.'
          % (path, api_version, rounds, loads[0], loads[1],
             os.cpu_count()))
    phases = list(found[WITH][0])
    print('  %-40s %9s %9s %9s %9s' % ('', 'with p50', 'p95',
                                       'w/o p50', 'p95'))
    for phase in phases:
        cells = []
        for arm in (WITH, WITHOUT):
            values = [run[phase] for run in found[arm]]
            cells += [_ms(values), _ms(values, 95)]
        print('  %-40s %9.0f %9.0f %9.0f %9.0f' % ((phase,) + tuple(cells)))
    total = 'total: run to Running'
    ratio = (_ms([r[total] for r in found[WITH]]) /
             _ms([r[total] for r in found[WITHOUT]]))
    print('  ratio with / without, medians: %.3f (goal <= %.2f: %s)'
          % (ratio, GOAL, 'met' if ratio <= GOAL else 'NOT met'))
    print('  same-run baselines, create + start (p50 / p95):')
    for arm, values in direct.items():
        print('    %-38s %9.1f %9.1f' % (arm, _ms(values), _ms(values, 95)))
    if failed:
        print('  %d Zun runs ended in Error and were run again (see '
              'above)' % failed)
    print('  Indented rows (part of the rows above): Placement: first to '
          'last log line with the create\'s request id; Cyborg: the time '
          'its API spent on the ARQ requests of the create (uWSGI).')
    return ratio


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m benchmarks.aio',
        description=__doc__.split('\n')[0])
    parser.add_argument('--path', choices=sorted(aio_zun.DEVICE_PATHS),
                        default=aio_zun.DEFAULT_DEVICE_PATH,
                        help='device path of zun-compute (default: '
                        '%(default)s)')
    parser.add_argument('--rounds', type=int, default=ROUNDS)
    parser.add_argument('--keep-logs', action='store_true',
                        help="keep the cloud's logs (its work directory)")
    parser.add_argument('--db', choices=('sqlite', 'mariadb'),
                        default='sqlite',
                        help="the cloud's databases (Neutron's: MariaDB)")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error('--rounds must be at least 1')
    cloud = cloud_mod.Cloud(db=args.db, device_path=args.path)
    kit = cloud.edge_kit(serial_adapters=1)
    try:
        cloud.start(kit=kit)
        cloud.wait_for_providers(len(kit.devices))
        cloud.openstack('accelerator', 'device', 'profile', 'create',
                        PROFILE, '--group', 'resources:%s=1' % SERIAL_RC)
        bench = Bench(cloud)
        loads = [load()]
        bench.rounds(args.rounds)
        loads.append(load())
        found = bench.breakdown()
    except BaseException:
        cloud.stop(remove_workdir=False)
        print('logs kept in %s' % cloud.logs, file=sys.stderr)
        raise
    if bench.leaked:
        print('Zun deleted %d containers but left their Docker containers '
              '(removed by the benchmark): %s'
              % (len(bench.leaked), ', '.join(bench.leaked)),
              file=sys.stderr)
    errors = cloud.stop(remove_workdir=not args.keep_logs)
    if args.keep_logs:
        print('logs kept in %s' % cloud.logs, file=sys.stderr)
    report(args.path, cloud.zun.api_version, args.rounds, found,
           bench.direct, loads, bench.failed)
    if errors:
        print('clean-up failed: %s' % '; '.join(errors), file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
