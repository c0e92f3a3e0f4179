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

"""What device profiles would cost Zun's scheduler in Placement.

Real Keystone and Placement of the all-in-one cloud (``aio``), on SQLite
or MariaDB, hold ``HOSTS`` compute node providers with the inventory
Zun's compute service reports (VCPU, MEMORY_MB, DISK_GB), each with the
four device providers Cyborg's conductor would nest under it for the
peripherals of an edge host: two FTDI serial adapters, a UVC camera and
a HackRF One, one unit each of ``CUSTOM_PERIPHERAL_<CLASS>``, with the
traits our driver reports (``OWNER_CYBORG``,
``CUSTOM_PERIPHERAL_USB_<VID>_<PID>``, the SDR model).

``GET /allocation_candidates`` is timed, from the client, as Zun would
send it for a container of 1 VCPU, 512 MB and 10 GB (``--disk 10``):

(a) without device profiles: as stock Zun, microversion 1.31 (its
    ``INTREE_AC_VERSION``), ``limit=1000`` (``[scheduler]
    max_placement_results``), the compute nodes of disabled services
    excluded by a forbidden trait;
(a') the same at 1.34, which tells the cost of the groups in (b) and
     (c) apart from that of the newer microversion;
(b) with a device profile of one group (a camera with that USB model),
    as the patched Zun asks (tools/zun-patches/0005): one granular
    group per profile group, requester id ``device_profile_<p>_<g>``
    (suffix ``_device_profile_0_0``), ``group_policy=none``, at 1.34
    (``MAPPINGS_AC_VERSION``: answers carry ``mappings``, which tell the
    scheduler which device provider satisfied which group);
(c) with a profile of two groups (a camera and an FTDI serial adapter).

The requests are built by Zun's own scheduler code, as zun-api builds
them: the profiles' groups by ``zun.common.cyborg.request_groups`` from
Cyborg's profile documents, the forbidden trait of disabled compute
services by Zun's request filter, the query by
``zun.scheduler.utils.resources_from_request_spec`` and the
microversion as ``SchedulerReportClient`` picks it.

Each is sent ``ROUNDS`` times, interleaved (a, a', b, c and a floor
request, the order turning every round), after one warm-up round; the
floor is an authenticated ``GET`` of one provider, which costs the same
HTTP, token and policy work without a candidate search.  Then half the
devices get consumers that hold them (and 1 VCPU, 512 MB, 10 GB on their
host, as a Zun container would), so the searches skip used providers,
and the rounds run again.  The candidates each answer holds are checked
against the expected numbers, so that a fast but empty answer cannot pass for a
result.

Reports p50/p95 of the time the client waits, in ms, and the median
CPU time the Placement process spent per request (see ``ServerClock``;
the time waited grows with whatever else this machine runs, the CPU
time much less); and, per phase, the ratios of each to (a) in the same
rounds.  Everything the run creates (services, databases, its work
directory) is removed at the end; on an error the logs are kept.

Keystone and Placement, and nothing else of the cloud, are started by
``aio.controlplane.ControlPlane``.

    .venv/bin/python -m benchmarks.scheduling [--db sqlite|mariadb]
        [--hosts N] [--rounds N]
"""

import argparse
import os
import sys
import time
import uuid
from concurrent import futures
from urllib import parse

from zun import objects as zun_objects
from zun.common import consts as zun_consts
from zun.common import cyborg as zun_cyborg
from zun.scheduler import request_filter as zun_request_filter
from zun.scheduler import utils as zun_sched_utils
from zun.scheduler.client import report as zun_report

from aio import controlplane
from aio import service
from benchmarks import reporting
from cyborg_peripherals import naming
from cyborg_peripherals.discovery import sdr


HOSTS = 50
ROUNDS = 30
#: Hosts written to Placement at once on MariaDB.
POPULATE_WORKERS = 4

#: A container of 1 VCPU, 512 MB (Zun's defaults) and ``--disk 10``.
CONTAINER = {'VCPU': 1, 'MEMORY_MB': 512, 'DISK_GB': 10}

#: What Zun's ``update_provider_tree`` reports for an 8-core host with
#: 16 GiB and 100 GB for containers; ratios are Zun's
#: ``initial_*_allocation_ratio`` defaults, reserved memory its
#: ``reserved_host_memory_mb``.
COMPUTE_INVENTORY = {
    'VCPU': {'total': 8, 'max_unit': 8, 'allocation_ratio': 16.0},
    'MEMORY_MB': {'total': 16384, 'max_unit': 16384,
                  'allocation_ratio': 1.5, 'reserved': 512},
    'DISK_GB': {'total': 100, 'max_unit': 100, 'allocation_ratio': 1.0},
}

#: The peripherals of each host: (device class, USB vendor, product).
DEVICES = (('serial', '0403', '6001'),
           ('serial', '0403', '6001'),
           ('camera', '046d', '082d'),
           ('sdr', '1d50', '6089'))

#: Device profile groups: (device class, required trait), as in
#: ``{"resources:CUSTOM_PERIPHERAL_CAMERA": "1",
#: "trait:CUSTOM_PERIPHERAL_USB_046D_082D": "required"}``.
CAMERA_GROUP = ('camera', naming.custom_trait('USB', '046d', '082d'))
SERIAL_GROUP = ('serial', naming.custom_trait('USB', '0403', '6001'))


def device_traits(device_class, vid, pid):
    """The traits our driver reports for this USB peripheral (see
    ``cyborg_peripherals.discovery.inventory``).
    """
    traits = {'OWNER_CYBORG', naming.custom_trait('USB', vid, pid)}
    model = sdr.model_for(vid, pid) if device_class == 'sdr' else None
    if model:
        traits.add(naming.custom_trait('MODEL', model))
    return sorted(traits)


def query(groups=()):
    """(microversion, ``GET /allocation_candidates`` URL) that the
    patched Zun sends for a container of ``CONTAINER`` asking for a
    device profile of ``groups`` (see CAMERA_GROUP) if any.
    """
    # What zun-api puts into the scheduler's extra specs.
    extra_spec = {'hints': None, 'pci_requests': None,
                  'availability_zone': None, 'requested_host': None}
    if groups:
        profile = {'name': 'bench', 'groups': [
            {'resources:%s' % naming.resource_class(device_class): '1',
             'trait:%s' % trait: 'required'}
            for device_class, trait in groups]}
        extra_spec['requested_resources'] = zun_cyborg.request_groups(
            [profile])
        extra_spec['group_policy'] = 'none'
    zun_request_filter.process_reqspec(None, extra_spec)
    container = zun_objects.Container(cpu=CONTAINER['VCPU'],
                                      memory=str(CONTAINER['MEMORY_MB']),
                                      disk=CONTAINER['DISK_GB'])
    resources = zun_sched_utils.resources_from_request_spec(
        None, container, extra_spec)
    version = (zun_report.MAPPINGS_AC_VERSION
               if resources.has_requester_groups()
               else zun_report.INTREE_AC_VERSION)
    return version, '/allocation_candidates?' + resources.to_querystring()


#: label -> (microversion, URL, device classes asked for).
REQUESTS = {
    '(a) no device profile': query() + ((),),
    "(a') the same, at 1.34": (zun_report.MAPPINGS_AC_VERSION,
                               query()[1], ()),
    '(b) one profile group': query([CAMERA_GROUP]) + (('camera',),),
    '(c) two profile groups': query([CAMERA_GROUP, SERIAL_GROUP]) +
    (('camera', 'serial'),),
}
FLOOR = 'floor: GET one provider'
BASE = '(a) no device profile'


def control_plane(db, progress=None):
    """Keystone and Placement of the all-in-one cloud, Placement on
    ``db``; ``stop()`` removes the processes, the MariaDB databases and
    the work directory (``cp-schedbench-*``; kept, with the logs, after
    an error).
    """
    return controlplane.ControlPlane('schedbench', db=db, placement=True,
                                     progress=progress)


class Fleet:
    """The providers this benchmark puts into Placement."""

    def __init__(self, client, hosts, workers=1):
        """``workers``: hosts written at once.  SQLite refuses some
        concurrent writes (see aio.db), so use 1 there.
        """
        self.client = client
        #: Device providers that consumers hold.
        self.held = set()
        for rc in sorted({naming.resource_class(d[0]) for d in DEVICES}):
            client.put('/resource_classes/%s' % rc)
        # Zun's scheduler makes its own traits before its first request.
        for trait in sorted({t for d in DEVICES for t in device_traits(*d)
                             if t.startswith('CUSTOM_')} |
                            set(zun_consts.CUSTOM_TRAITS)):
            client.put('/traits/%s' % trait)
        with futures.ThreadPoolExecutor(workers) as pool:
            #: Per host: (compute node uuid, {device class: [provider
            #: uuid]}).
            self.hosts = list(pool.map(self._host, ['sched-bench-%03d' % i
                                                    for i in range(hosts)]))

    def _provider(self, name, parent, inventories, traits=()):
        rp_uuid = str(uuid.uuid3(uuid.NAMESPACE_DNS, name))
        body = {'name': name, 'uuid': rp_uuid}
        if parent:
            body['parent_provider_uuid'] = parent
        self.client.post('/resource_providers', json=body)
        self.client.put('/resource_providers/%s/inventories' % rp_uuid,
                        json={'resource_provider_generation': 0,
                              'inventories': inventories})
        if traits:
            self.client.put('/resource_providers/%s/traits' % rp_uuid,
                            json={'resource_provider_generation': 1,
                                  'traits': list(traits)})
        return rp_uuid

    def _host(self, host):
        # Zun names the compute node provider after the host; Cyborg's
        # conductor seeds a device provider's uuid from its deployable
        # name, which holds the host's.
        node = self._provider(host, None, COMPUTE_INVENTORY)
        devices = {}
        for n, (device_class, vid, pid) in enumerate(DEVICES):
            name = naming.deployable_name(
                host, device_class, 'serial:BENCH_%s_%s_%d' % (vid, pid, n))
            devices.setdefault(device_class, []).append(self._provider(
                name, node,
                {naming.resource_class(device_class): {'total': 1,
                                                       'max_unit': 1}},
                device_traits(device_class, vid, pid)))
        return node, devices

    def hold_half(self):
        """Consumers holding half the devices, each with a container's
        resources on its host: the first serial adapter of every host,
        the camera of even hosts and the SDR of odd ones.
        """
        project, user = uuid.uuid4().hex, uuid.uuid4().hex
        for i, (node, devices) in enumerate(self.hosts):
            for device_class in ('serial', ('camera', 'sdr')[i % 2]):
                device = devices[device_class][0]
                rc = naming.resource_class(device_class)
                consumer = str(uuid.uuid4())
                self.client.put('/allocations/%s' % consumer, json={
                    'allocations': {node: {'resources': CONTAINER},
                                    device: {'resources': {rc: 1}}},
                    'project_id': project, 'user_id': user,
                    'consumer_generation': None})
                self.held.add(device)

    def free(self, device_class):
        """Per host, how many providers of ``device_class`` are free."""
        return [len(set(devices[device_class]) - self.held)
                for _node, devices in self.hosts]

    def expected(self, classes):
        """How many candidates a request for one device of each of
        ``classes`` has: per host, the product of its free devices.
        """
        if not classes:
            return len(self.hosts)
        total = 0
        counts = [self.free(c) for c in classes]
        for per_host in zip(*counts):
            product = 1
            for count in per_host:
                product *= count
            total += product
        return total


class ServerClock:
    """CPU time the processes of a service have used, in seconds.

    The scheduler's run time of each thread (``/proc/<pid>/task/<tid>/
    schedstat``, in ns) counts only the time on a CPU: unlike the time
    the client waits, it does not grow when other work on this machine
    holds the CPUs.
    """

    def __init__(self, pgid):
        self.pids = [pid for pid, fields in service.process_stats()
                     if int(fields[2]) == pgid]

    def now(self):
        total = 0
        for pid in self.pids:
            tasks = '/proc/%d/task' % pid
            for tid in os.listdir(tasks):
                try:
                    with open('%s/%s/schedstat' % (tasks, tid)) as f:
                        total += int(f.read().split()[0])
                except FileNotFoundError:
                    # A thread that ended since the listing.
                    continue
        return total / 1e9


def measure(client, fleet, rounds, clock):
    """label -> {'times': [s], 'cpu': [s], 'candidates': n, 'bytes': n};
    ``clock``: the ServerClock of Placement.
    """
    node = fleet.hosts[0][0]
    arms = [(label, version, url, classes)
            for label, (version, url, classes) in REQUESTS.items()]
    arms.append((FLOOR, zun_report.MAPPINGS_AC_VERSION,
                 '/resource_providers/%s' % node,
                 None))
    results = {label: {'times': [], 'cpu': []} for label, *_ in arms}
    for r in range(rounds + 1):
        turn = r % len(arms)
        for label, version, url, classes in arms[turn:] + arms[:turn]:
            cpu = clock.now()
            start = time.perf_counter()
            resp = client.get(url, microversion=version)
            elapsed = time.perf_counter() - start
            cpu = clock.now() - cpu
            if r == 0:
                # Warm-up round: tokens, connections, caches; and check
                # that each answer is the one expected.
                results[label]['bytes'] = len(resp.content)
                if classes is not None:
                    found = len(resp.json()['allocation_requests'])
                    wanted = fleet.expected(classes)
                    if found != wanted:
                        raise RuntimeError(
                            '%s: %d allocation candidates, expected %d '
                            '(%s)' % (label, found, wanted, url))
                    results[label]['candidates'] = found
                continue
            results[label]['times'].append(elapsed)
            results[label]['cpu'].append(cpu)
    return results


def _ms(values, p):
    return 1000 * reporting.percentile(values, p)


def print_phase(title, results):
    base = results[BASE]
    print(title)
    for label, result in results.items():
        figures = (_ms(result['times'], 50), _ms(result['times'], 95),
                   _ms(result['cpu'], 50))
        ratios = (figures[0] / _ms(base['times'], 50),
                  figures[1] / _ms(base['times'], 95),
                  figures[2] / _ms(base['cpu'], 50))
        version = (REQUESTS[label][0] if label in REQUESTS
                   else zun_report.MAPPINGS_AC_VERSION)
        print('  %-24s %5s %5s %6.1f %7.1f %7.1f %6.1f  %5.2f %5.2f %5.2f'
              % ((label, version, result.get('candidates', '-'),
                  result['bytes'] / 1024) + figures + ratios))


def run(db, hosts, rounds, progress=None):
    """Start Keystone and Placement, populate, measure; returns
    (empty-phase results, half-held-phase results, populate seconds).
    """
    plane = control_plane(db, progress)
    try:
        plane.start()
        client = plane.placement.client()
        start = time.monotonic()
        fleet = Fleet(client, hosts,
                      workers=POPULATE_WORKERS if db == 'mariadb' else 1)
        populated = time.monotonic() - start
        clock = ServerClock(plane.placement.process.pid)
        free = measure(client, fleet, rounds, clock)
        fleet.hold_half()
        held = measure(client, fleet, rounds, clock)
    except BaseException:
        plane.stop(keep_logs=True)
        if plane.logs:
            print('logs kept in %s' % plane.logs, file=sys.stderr)
        raise
    plane.stop_or_raise()
    return free, held, populated


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m benchmarks.scheduling',
        description=__doc__.split('\n')[0])
    parser.add_argument('--db', choices=('sqlite', 'mariadb'),
                        default='sqlite', help="Placement's database")
    parser.add_argument('--hosts', type=int, default=HOSTS,
                        help='compute nodes, each with %d devices'
                        % len(DEVICES))
    parser.add_argument('--rounds', type=int, default=ROUNDS,
                        help='timed requests of each kind per phase')
    args = parser.parse_args(argv)
    if args.hosts < 2 or args.rounds < 1:
        parser.error('--hosts must be at least 2 and --rounds at least 1')
    free, held, populated = run(args.db, args.hosts, args.rounds)
    print('GET /allocation_candidates as Zun sends it; Placement on %s, '
          '%d compute nodes x %d device providers (populated in %.0f s); '
          '%d interleaved rounds per phase.  p50/p95: as the client '
          'waits; CPU: median CPU time of the Placement process per '
          'request (on MariaDB without the database\'s).'
          % (args.db, args.hosts, len(DEVICES), populated, args.rounds))
    print('  %-24s %5s %5s %6s %7s %7s %6s  %5s %5s %5s' % (
        '', 'micro', 'cands', 'KiB', 'p50', 'p95', 'CPU', 'p50', 'p95',
        'CPU'))
    print('  %-24s %5s %5s %6s %7s %7s %6s  %17s' % (
        '', '', '', '', '(ms)', '(ms)', '(ms)', '(ratio to (a))'))
    print_phase('all devices free:', free)
    print_phase('half the devices held (%d consumers):'
                % (args.hosts * 2), held)
    print('requests:')
    for label, (version, url, _classes) in REQUESTS.items():
        print('  %s, microversion %s:\n    GET %s'
              % (label.split()[0], version, parse.unquote(url)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
