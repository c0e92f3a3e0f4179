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

"""Hot-plug to Placement with change reports, on the all-in-one cloud.

Real Keystone, Placement, Cyborg API, conductor and agent (Cyborg with
tools/cyborg-patches/0090: the agent reports when ``peripheral_driver``
signals a change) on loopback, SQLite; umockdev sends the udev events of
an emulated kit.  The agent runs with ``[agent] report_interval = 3600``
so that no periodic report falls into the figures, and with ``[agent]
min_report_interval`` at its default.

1. Plug to provider with inventory in Placement: ``PLUGS`` devices
   (alternately a USB serial adapter and a GPIO chip), one at a time,
   each with a new identity; Placement is polled every ``POLL`` s.
2. Unplug to provider gone: each device is unplugged after it appeared.
   ``[peripherals] removal_grace_period`` is shortened to ``GRACE`` s for
   the benchmark (default 30); the figure is the latency minus it.
3. A burst: ``BURST`` GPIO chips plugged at once, until all are in
   Placement.
4. Reports while idle, over ``IDLE`` s.

Reports are counted in the conductor's log (``Cyborg.reports()``).
Goals: plug p95 < 2 s; unplug p95 < grace + 2 s; no report while
nothing changes.  The periodic-only baseline is modelled from Cyborg's
60 s report spacing (a change waits for the next report, uniformly 0 to
60 s; an unplug is seen by one report and removed by the first report
after the grace period) rather than measured, which would take a minute
a sample; measured before change reports existed, plugs 0, 20 and 40 s
into the agent's cycle reached Placement after 60.4, 40.3 and 20.1 s.

Needs root, RabbitMQ (tools/start-services)::

    .venv/bin/python -m benchmarks.reporting [PLUGS]
"""

import math
import statistics
import sys
import time

from aio import cloud as cloud_mod


PLUGS = 20
GRACE = 5
BURST = 5
IDLE = 60
POLL = 0.05
#: Between one step's end and the next step: longer than the agent's
#: min_report_interval (1 s), so that each step starts a report at once.
PAUSE = 2.0
TIMEOUT = 120
#: Cyborg's periodic report spacing without change reports.
SPACING = 60
GOAL = 2.0


class Watch:
    """Polls the device providers of the cloud's compute node."""

    def __init__(self, cloud):
        self.cloud = cloud
        self.client = cloud.placement.client()

    def providers(self):
        found = self.client.get('/resource_providers?in_tree=%s'
                                % self.cloud.compute_node).json()
        return {rp['uuid'] for rp in found['resource_providers']
                if rp['uuid'] != self.cloud.compute_node}

    def with_inventory(self, uuids):
        """Those of ``uuids`` whose inventory Placement has."""
        ready = set()
        for uuid in uuids:
            resp = self.client.get('/resource_providers/%s/inventories'
                                   % uuid, raise_exc=False)
            if resp.status_code == 200 and resp.json()['inventories']:
                ready.add(uuid)
        return ready

    def until(self, predicate, what):
        """Seconds until ``predicate()`` holds; polls every POLL s."""
        start = time.monotonic()
        while not predicate():
            if time.monotonic() - start > TIMEOUT:
                raise RuntimeError('%s: not within %d s (read %s)'
                                   % (what, TIMEOUT,
                                      self.cloud.cyborg.log('agent')))
            time.sleep(POLL)
        return time.monotonic() - start

    def plugged(self, before, count):
        """Seconds until ``count`` new providers have inventories."""
        return self.until(
            lambda: len(self.with_inventory(self.providers() - before)) ==
            count, 'plugged device in Placement')


def new_device(cloud, i):
    """A kit with device ``i``; returns (kit, sys_path)."""
    kit = cloud.emulated_kit(first_devnum=40 + i, first_tty=10 + i)
    if i % 2:
        sys_path = kit.gpiochip('fe%06x' % (0x300000 + 0x1000 * i), 10 + i)
    else:
        sys_path = kit.serial_adapter(str(10 + i), 'BENCH%04d' % i)
    return kit, sys_path


def plug_and_unplug(cloud, watch, plugs):
    """Per device: (plug s, unplug s minus GRACE, reports each)."""
    rows = []
    for i in range(plugs):
        before = watch.providers()
        reports = cloud.cyborg.reports()
        kit, sys_path = new_device(cloud, i)
        start = time.monotonic()
        cloud.plug(kit)
        plug = time.monotonic() - start + watch.plugged(before, 1)
        (uuid,) = watch.providers() - before
        time.sleep(PAUSE)
        plug_reports = cloud.cyborg.reports() - reports
        reports += plug_reports
        start = time.monotonic()
        cloud.unplug(sys_path)
        unplug = time.monotonic() - start + watch.until(
            lambda: uuid not in watch.providers(),
            'unplugged device gone from Placement')
        time.sleep(PAUSE)
        rows.append((plug, unplug - GRACE, plug_reports,
                     cloud.cyborg.reports() - reports))
    return rows


def burst(cloud, watch, count):
    """Seconds until ``count`` chips plugged at once are all in
    Placement, and the reports it took.
    """
    before = watch.providers()
    reports = cloud.cyborg.reports()
    kit = cloud.emulated_kit(first_devnum=100, first_tty=100)
    for i in range(count):
        kit.gpiochip('fe%06x' % (0x500000 + 0x1000 * i), 100 + i)
    start = time.monotonic()
    cloud.plug(kit)
    took = time.monotonic() - start + watch.plugged(before, count)
    time.sleep(PAUSE)
    return took, cloud.cyborg.reports() - reports


def idle(cloud, seconds):
    reports = cloud.cyborg.reports()
    time.sleep(seconds)
    return cloud.cyborg.reports() - reports


def percentile(values, p):
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def baseline(grace):
    """Modelled periodic-only p50 and p95 (plug, unplug minus grace)."""
    # Plug: the wait for the next report, uniform over the spacing.
    plug = (0.5 * SPACING, 0.95 * SPACING)
    # Unplug: seen missing by the next report, removed by the first
    # report at least ``grace`` later.
    extra = math.ceil(grace / SPACING) * SPACING - grace
    return plug, (plug[0] + extra, plug[1] + extra)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    plugs = int(argv[0]) if argv else PLUGS
    cloud = cloud_mod.Cloud(db='sqlite')
    kit = cloud.edge_kit()
    try:
        cloud.start(kit=kit)
        cloud.wait_for_providers(len(kit.devices))
        cloud.cyborg.configure({
            'agent': {'report_interval': 3600},
            'peripherals': {'removal_grace_period': GRACE}})
        cloud.restart_agent()
        cloud.wait_for_providers(len(kit.devices))
        time.sleep(PAUSE)
        watch = Watch(cloud)
        rows = plug_and_unplug(cloud, watch, plugs)
        burst_s, burst_reports = burst(cloud, watch, BURST)
        idle_reports = idle(cloud, IDLE)
    except BaseException:
        cloud.stop(remove_workdir=False)
        print('logs kept in %s' % cloud.logs, file=sys.stderr)
        raise
    cloud.stop()

    plug = [r[0] for r in rows]
    unplug = [r[1] for r in rows]
    (base_plug, base_unplug) = baseline(30)
    print('Change reports, all-in-one cloud (SQLite), %d devices plugged '
          'and unplugged one at a time; grace period %d s for the '
          'benchmark (default 30):' % (len(rows), GRACE))
    print('   %-30s %7s %7s %7s   %s' % ('', 'p50 s', 'p95 s', 'max s',
                                         'periodic-only p50/p95, ratio'))
    for label, values, base in (
            ('plug -> inventory in Placement', plug, base_plug),
            ('unplug -> gone, minus grace', unplug, base_unplug)):
        p50, p95 = statistics.median(values), percentile(values, 95)
        print('   %-30s %7.2f %7.2f %7.2f   %.0f/%.0f s, %.0fx/%.0fx' % (
            label, p50, p95, max(values), base[0], base[1],
            base[0] / p50, base[1] / p95))
    print('   goals (p95): plug < %.0f s: %s; unplug < grace + %.0f s: %s'
          % (GOAL, 'met' if percentile(plug, 95) < GOAL else 'NOT met',
             GOAL, 'met' if percentile(unplug, 95) < GOAL else 'NOT met'))
    print('   conductor reports per plug: %s; per unplug: %s'
          % (sorted({r[2] for r in rows}), sorted({r[3] for r in rows})))
    print('   %d devices plugged at once: all in Placement after %.2f s, '
          '%d reports' % (BURST, burst_s, burst_reports))
    print('   reports while idle for %d s: %d (periodic-only: %d)'
          % (IDLE, idle_reports, IDLE // SPACING))
    return 0


if __name__ == '__main__':
    sys.exit(main())
