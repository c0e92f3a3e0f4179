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

"""Discovery cost and hot-plug latency on 1,500 emulated peripherals.

    umockdev-wrapper .venv/bin/python -m benchmarks.discovery

1. A full discovery pass (records, stat of every node, grouping, naming)
   against a bare pyudev walk of the same udev enumerations reading every
   device's properties, alternating in one process; the ratio of medians
   is reported (goal: at most 1.5).
2. Hot-plug latency: from handing a new device to udev until the CDI
   spec on disk describes it, with the watcher following events in its
   own thread (goal: p95 under 100 ms, against Cyborg's 60 s poll).
"""

import argparse
import json
import statistics
import tempfile
import threading
import time

import pyudev

from cyborg_peripherals import conf
from cyborg_peripherals.cdi import publisher
from cyborg_peripherals.cdi import writer
from cyborg_peripherals.conf import peripherals as peripherals_conf
from cyborg_peripherals.discovery import hotplug
from cyborg_peripherals.discovery import inventory
from cyborg_peripherals.emulation import kit as kit_mod
from cyborg_peripherals.emulation import testbed as testbed_mod


PER_BUS = 100


def fleet(count):
    """``count`` peripherals: serial adapters, cameras, SDRs, HID relays."""
    kits = []
    for n in range(count):
        if n % PER_BUS == 0:
            bus = n // PER_BUS + 1
            kit = kit_mod.Kit(controller='0000:%02x:00.0' % bus, bus=bus)
            kits.append(kit)
        port = str(n % PER_BUS + 1)
        kind = n % 4
        if kind == 0:
            usb = kit.usb_device(port, '0403', '6001', 'FTDI', 'FT232R',
                                 serial='S%05d' % n)
            kit.tty(usb, 'ttyUSB%d' % n, 188)
        elif kind == 1:
            usb = kit.usb_device(port, '046d', '082d', 'Logitech', 'C920',
                                 serial='C%05d' % n)
            kit.camera(usb, 2 * n)
        elif kind == 2:
            kit.usb_device(port, '1d50', '6089', 'Great Scott Gadgets',
                           'HackRF One', serial='H%05d' % n)
        else:
            usb = kit.usb_device(port, '16c0', '05df', 'www.dcttech.com',
                                 'USBRelay2')
            kit.hidraw(usb, n)
    return kits


def bare_walk(inv, context):
    n = 0
    for enum in inv.enumerators(context):
        for device in enum:
            dict(device.properties)
            n += 1
    return n


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def discovery_ratio(inv, context, rounds):
    base, ours = [], []
    for _ in range(rounds):
        t, walked = timed(bare_walk, inv, context)
        base.append(t)
        t, found = timed(inv.scan, context)
        ours.append(t)
    return {
        'udev_devices_walked': walked,
        'peripherals': len(found),
        'bare_walk_median_s': statistics.median(base),
        'discovery_median_s': statistics.median(ours),
        'ratio': statistics.median(ours) / statistics.median(base),
    }


def hotplug_latency(bed, inv, context, events):
    cdi_dir = tempfile.mkdtemp(prefix='cp-bench-cdi-')
    pub = publisher.SpecPublisher(cdi_dir, write=writer.atomic_write,
                                  remove=writer.remove)
    watcher = hotplug.Watcher(inv, context, pub)
    seen = threading.Event()
    wanted = {}

    def on_change(change):
        for p in change.added:
            if p.serial == wanted.get('serial'):
                wanted['at'] = time.perf_counter()
                seen.set()

    watcher.start()
    watcher.on_change = on_change
    latencies = []
    try:
        for i in range(events):
            kit = kit_mod.Kit(controller='0000:7f:00.0', bus=127,
                              first_devnum=2 + i)
            for _ in range(i):
                kit.minor(188)
            usb = kit.usb_device(str(i + 1), '0403', '6001', 'FTDI',
                                 'FT232R', serial='HOT%03d' % i)
            kit.tty(usb, 'ttyUSBhot%d' % i, 188)
            # The root hub of bus 127 goes in once.
            paragraphs = kit.paragraphs[1:] if i else kit.paragraphs
            seen.clear()
            wanted['serial'] = 'HOT%03d' % i
            start = time.perf_counter()
            bed.add_from_string('\n'.join(p.text() for p in paragraphs))
            if not seen.wait(30):
                raise RuntimeError('hot-plug event %d never arrived' % i)
            latencies.append(wanted['at'] - start)
    finally:
        watcher.stop()
    latencies.sort()
    return {
        'events': events,
        'p50_ms': 1000 * statistics.median(latencies),
        'p95_ms': 1000 * latencies[int(0.95 * (len(latencies) - 1))],
        'max_ms': 1000 * latencies[-1],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--peripherals', type=int, default=1500)
    parser.add_argument('--rounds', type=int, default=7)
    parser.add_argument('--events', type=int, default=40)
    parser.add_argument('--json', help='also write results to this file')
    args = parser.parse_args()
    conf.CONF([], project='cyborg-peripherals')
    bed = testbed_mod.new_testbed()
    for kit in fleet(args.peripherals):
        testbed_mod.load(bed, kit)
    context = pyudev.Context()
    inv = inventory.Inventory(peripherals_conf.load_classes(conf.CONF),
                              'bench-host')
    results = {'discovery': discovery_ratio(inv, context, args.rounds)}
    results['hotplug'] = hotplug_latency(bed, inv, context, args.events)
    d, h = results['discovery'], results['hotplug']
    print('discovery of %d peripherals (%d udev devices): %.3f s, bare '
          'pyudev walk %.3f s, ratio %.2f (goal <= 1.5)'
          % (d['peripherals'], d['udev_devices_walked'],
             d['discovery_median_s'], d['bare_walk_median_s'], d['ratio']))
    print('hot-plug uevent -> CDI spec updated, %d events with %d '
          'peripherals present: p50 %.1f ms, p95 %.1f ms, max %.1f ms '
          '(goal p95 < 100 ms)' % (h['events'], d['peripherals'],
                                   h['p50_ms'], h['p95_ms'], h['max_ms']))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=2)


if __name__ == '__main__':
    main()
