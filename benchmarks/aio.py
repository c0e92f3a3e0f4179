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
2. Baselines in the same rounds, in alternating order: the same
   container through Zun's stock DockerDriver without a profile, and
   docker-py alone with and without the device docker_oci gave; with
   the ratios of docker_oci to each.

How fast a plugged device reaches Placement is measured by
benchmarks/reporting.py.

Needs root, Docker, RabbitMQ (tools/start-services)::

    umockdev-wrapper .venv/bin/python -m benchmarks.aio [RUNS]
"""

import contextlib
import statistics
import sys
import time

from zun.compute import manager as zun_manager
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
    """Rows of step times of docker_oci creates, and same-run baselines.

    Each round also times, in alternating order, the same container
    through Zun's stock DockerDriver without a profile, and docker-py
    alone with and without the device docker_oci gave: what Zun costs
    any container, and what the device costs Docker.
    """
    host = aio_zun.ComputeHost(cloud)
    stock = zun_manager.Manager(container_driver='docker')
    context = host.context('demo')
    cloud.openstack('accelerator', 'device', 'profile', 'create',
                    'bench-serial', '--group',
                    'resources:CUSTOM_PERIPHERAL_SERIAL=1')
    rows = []
    baselines = {'stock Zun, no device': [], 'docker-py, the device': [],
                 'docker-py, no device': []}
    timer = Timer()
    devices = []

    def ours(i):
        container = host.new_container(context, ['sleep', '600'],
                                       device_profiles='bench-serial',
                                       name='bench-%d' % i)
        timer.spent = {}
        start = time.perf_counter()
        created = host.create(context, container)
        host.start(context, created)
        row = dict(timer.spent, total=time.perf_counter() - start)
        devices[:] = [
            '%(PathOnHost)s:%(PathInContainer)s:%(CgroupPermissions)s' % d
            for d in host.docker.inspect_container(
                created.container_id)['HostConfig']['Devices']]
        host.delete(context, created)
        return row

    def zun_stock(i):
        container = host.new_container(context, ['sleep', '600'],
                                       name='bench-stock-%d' % i)
        start = time.perf_counter()
        created = stock._do_container_create_base(
            context, container, [{'network': 'none'}], {})
        stock._do_container_start(context, created)
        elapsed = time.perf_counter() - start
        stock.driver.delete(context, created, True)
        created.destroy(context)
        return elapsed

    def docker_py(with_devices):
        start = time.perf_counter()
        config = host.docker.create_host_config(
            devices=devices if with_devices else [], network_mode='none')
        created = host.docker.create_container(
            aio_zun.IMAGE, ['sleep', '600'], host_config=config)
        host.docker.start(created['Id'])
        elapsed = time.perf_counter() - start
        host.docker.remove_container(created['Id'], force=True)
        return elapsed

    with timer.installed():
        for i in range(runs + 1):
            arms = [('ours', ours),
                    ('stock Zun, no device', zun_stock),
                    ('docker-py, the device', lambda i: docker_py(True)),
                    ('docker-py, no device', lambda i: docker_py(False))]
            if i % 2:
                # Neither always meets a Docker busy with the other's
                # removal.
                arms.reverse()
            if i == 0:
                # First use: sessions, tokens, connections; and ours
                # first, to learn the device.
                for _name, arm in sorted(arms, key=lambda a: a[0] != 'ours'):
                    arm(i)
                continue
            for name, arm in arms:
                result = arm(i)
                if name == 'ours':
                    rows.append(result)
                else:
                    baselines[name].append(result)
    return rows, baselines


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
        rows, baselines = create_to_running(cloud, runs)
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
    total = _ms([r['total'] for r in rows])
    print('   %-34s %8.1f' % ('total (Zun create + start)', total))
    base = {name: _ms(values) for name, values in baselines.items()}
    print('\n2. Same-run baselines, create + start, medians (ms):')
    for name, value in base.items():
        print('   %-34s %8.1f' % (name, value))
    print('   docker_oci / stock Zun            %8.3f' % (
        total / base['stock Zun, no device']))
    print('   docker_oci / docker-py, device    %8.3f' % (
        total / base['docker-py, the device']))
    print('   stock Zun / docker-py, no device  %8.3f  (Zun\'s own cost)'
          % (base['stock Zun, no device'] / base['docker-py, no device']))
    return 0


if __name__ == '__main__':
    sys.exit(main())
