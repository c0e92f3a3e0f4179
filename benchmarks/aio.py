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

How fast a plugged device reaches Placement is measured by
benchmarks/reporting.py.

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
        rows = create_to_running(cloud, runs)
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
    return 0


if __name__ == '__main__':
    sys.exit(main())
