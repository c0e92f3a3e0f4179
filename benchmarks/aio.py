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

"""Timings on the all-in-one cloud (SQLite): real Keystone, Placement,
Cyborg API, conductor and agent, Zun's compute manager and Docker.

1. From "run a container with a device profile" to the container
   running, over ``RUNS`` containers created one after the other (each
   deleted before the next, outside the timings), split into the steps
   of ``docker_oci``: ARQ create, device profile read, Placement claim,
   bind (PATCH), resolve (polling until Bound), translation, Docker
   create and Docker start.  The steps are timed by wrapping the
   functions of zun_oci_attach and Zun's DockerDriver from here; no
   product code changes.  Medians in ms.  Goal: the ARQ part (create to
   resolved) under 1 s on this machine.

2. From plugging a new device to its resource provider in Placement:
   ``PLUGS`` GPIO chips are plugged at evenly spread moments after a
   report of the agent, and Placement is polled (every 0.1 s) until
   each provider appears.  The agent reports from its periodic task,
   whose spacing is Cyborg's (60 s, oslo.service's default; ``[DEFAULT]
   periodic_interval`` only caps how long the task loop sleeps), so the
   latency is bounded by that spacing and, on average, half of it.

Needs root, Docker, RabbitMQ (tools/start-services)::

    umockdev-wrapper .venv/bin/python -m benchmarks.aio [RUNS]
"""

import contextlib
import statistics
import sys
import time

from zun.container.docker import driver as docker_driver

from aio import cloud as cloud_mod
from aio import zun as aio_zun
from zun_oci_attach import arq
from zun_oci_attach import driver as oci_driver
from zun_oci_attach import placement


RUNS = 10
PLUGS = 3
#: Spacing of Cyborg's periodic report task (oslo.service default).
REPORT_SPACING = 60
GOAL = 1.0

#: (label, owner, attribute), in the order of a create.
STEPS = [
    ('ARQ create (POST)', arq.CyborgClient, 'create'),
    ('device profile read', arq.CyborgClient, 'device_profile'),
    ('Placement claim', placement.DeviceClaims, 'claim'),
    ('ARQ bind (PATCH)', arq.CyborgClient, 'bind'),
    ('ARQ resolve (poll until Bound)', arq.Lifecycle, '_wait'),
    ('translation', oci_driver, '_translate'),
    ('Docker create', docker_driver.DockerDriver, 'create'),
    ('Docker start', docker_driver.DockerDriver, 'start'),
]
ARQ_PART = 'ARQ part (Lifecycle.attach)'


class Timer:
    """Wraps functions to add the time spent in them, per label."""

    def __init__(self):
        self.spent = {}

    def wrap(self, label, owner, name):
        original = owner.__dict__[name]
        timer = self

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                timer.spent[label] = timer.spent.get(label, 0.0) + \
                    time.perf_counter() - start

        if isinstance(original, staticmethod):
            original = original.__func__
            setattr(owner, name, staticmethod(timed))
        else:
            setattr(owner, name, timed)

    @contextlib.contextmanager
    def installed(self):
        saved = {(owner, name): owner.__dict__[name]
                 for _label, owner, name in STEPS}
        saved[(arq.Lifecycle, 'attach')] = arq.Lifecycle.__dict__['attach']
        for label, owner, name in STEPS:
            self.wrap(label, owner, name)
        self.wrap(ARQ_PART, arq.Lifecycle, 'attach')
        try:
            yield self
        finally:
            for (owner, name), value in saved.items():
                setattr(owner, name, value)


def create_to_running(cloud, runs):
    host = aio_zun.ComputeHost(cloud)
    context = host.context('demo')
    cloud.openstack('accelerator', 'device', 'profile', 'create',
                    'bench-serial', '--group',
                    'resources:CUSTOM_PERIPHERAL_SERIAL=1')
    rows = []
    timer = Timer()
    with timer.installed():
        for i in range(runs + 1):
            container = host.new_container(context, ['sleep', '600'],
                                           device_profiles='bench-serial',
                                           name='bench-%d' % i)
            timer.spent = {}
            start = time.perf_counter()
            created = host.create(context, container)
            host.start(context, created)
            total = time.perf_counter() - start
            host.delete(context, created)
            if i == 0:
                continue   # First use: sessions, tokens, connections.
            row = dict(timer.spent, total=total)
            rows.append(row)
    return rows


def plug_to_placement(cloud, plugs):
    """Seconds from plugging each device to its provider in Placement.

    Device ``i`` is plugged ``i * REPORT_SPACING / plugs`` seconds after
    the call; Placement is polled all along.
    """
    started = time.monotonic()
    plugged = {}    # address -> when
    latencies = {}
    while len(latencies) < plugs:
        i = len(plugged)
        if i < plugs and time.monotonic() >= \
                started + i * REPORT_SPACING / plugs:
            address = 'fe%06x' % (0x300000 + 0x1000 * i)
            kit = cloud.emulated_kit(first_devnum=20 * (i + 2),
                                     first_tty=10 * (i + 1))
            kit.gpiochip(address, 10 + i)
            plugged[address] = time.monotonic()
            cloud.plug(kit)
        names = [rp['name'] for rp in cloud.providers()]
        for address, when in plugged.items():
            if address not in latencies and \
                    any('-%s_' % address in n for n in names):
                latencies[address] = time.monotonic() - when
        time.sleep(0.1)
    return [latencies[a] for a in sorted(latencies)]


def _ms(values):
    return statistics.median(values) * 1000


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    runs = int(argv[0]) if argv else RUNS
    cloud = cloud_mod.Cloud(db='sqlite')
    kit = cloud.edge_kit(serial_adapters=1)
    try:
        cloud.start(kit=kit)
        cloud.wait_for_providers(len(kit.devices))
        reported = time.monotonic()
        rows = create_to_running(cloud, runs)
        # Start plugging a whole number of report spacings after the
        # start-up report (plus 1 s), so that the plugs meet known
        # phases of the agent's cycle.
        elapsed = time.monotonic() - reported
        time.sleep(REPORT_SPACING - elapsed % REPORT_SPACING + 1)
        latencies = plug_to_placement(cloud, PLUGS)
    except BaseException:
        cloud.stop(remove_workdir=False)
        print('logs kept in %s' % cloud.logs, file=sys.stderr)
        raise
    cloud.stop()
    print('\n1. "run with a device profile" to Running, %d runs, medians '
          '(ms):' % len(rows))
    for label, _owner, _name in STEPS:
        print('   %-34s %8.1f' % (label, _ms([r.get(label, 0.0)
                                             for r in rows])))
    arq_part = _ms([r[ARQ_PART] for r in rows])
    docker = _ms([r['Docker create'] + r['Docker start'] for r in rows])
    print('   %-34s %8.1f  (goal < %.0f ms: %s)' % (
        ARQ_PART, arq_part, GOAL * 1000,
        'met' if arq_part < GOAL * 1000 else 'NOT met'))
    print('   %-34s %8.1f' % ('Docker create + start', docker))
    print('   %-34s %8.1f' % ('total (Zun create + start)',
                              _ms([r['total'] for r in rows])))
    print('\n2. Plug to provider in Placement, %d devices plugged %.0f s '
          'apart (report spacing %d s; periodic_interval %d s):'
          % (len(latencies), REPORT_SPACING / PLUGS, REPORT_SPACING,
             cloud.periodic_interval))
    print('   ' + ', '.join('%.1f s' % t for t in latencies))
    print('   all within one report spacing: %s'
          % all(t <= REPORT_SPACING + 5 for t in latencies))
    return 0


if __name__ == '__main__':
    sys.exit(main())
