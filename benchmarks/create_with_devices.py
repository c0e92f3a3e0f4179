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

"""Container create+start with 4 devices: docker_oci vs docker-py alone.

Each round times four container create+starts, each pair in alternating
order, and prints medians over 20 rounds:

(a) docker_oci, 4 devices: Zun's compute manager creates and starts the
    container (``_do_container_create_base`` then ``_do_container_start``,
    as ``container_create`` with ``run`` does): task-state and object
    saves in Zun's SQLite test database, the image check, and
    ``DockerOCIDriver.create`` and ``start``, which add the ARQ lifecycle
    (create, Placement claim, bind, resolve) against the loopback
    Cyborg/Placement double of tests/zun and the translation of the
    attach handles.  Against docker-py creating and starting the same
    image and command with the same ``devices`` flags on one kept
    connection.  This is the ratio the issue asks for (goal <= 1.05).
(b) Zun's stock ``DockerDriver``, no device profile, through the same
    manager calls, against docker-py without devices: what Zun costs for
    any container, the floor docker_oci inherits.
(c) The hook alone: (a) minus (b) in ms, and docker_oci / stock driver.
    It includes Docker's own cost of creating 4 device nodes, shown
    separately as docker-py with devices minus docker-py without.

Not included: the network round trips to a real Cyborg and Placement
(the double answers on loopback; the requests per create are printed,
multiply them by the round-trip time of a deployment) and the time a
real Cyborg takes to bind (the double resolves at the first poll; a
real one adds up to ``[oci_attach] arq_poll_interval``).  Deleting the
containers is outside the timings.  Needs root and Docker, like
tests/zun:

    .venv/bin/python -m benchmarks.create_with_devices
"""

import statistics
import sys
import time
import unittest

from zun.compute import manager as zun_manager

from tests.zun import base


ROUNDS = 20
GOAL = 1.05
NAMES = ('hwrng', 'cpu-dma-latency', 'vcs', 'tty2')


class CreateWithDevices(base.ComputeHostTestCase):

    def setUp(self):
        super().setUp()
        self.stock = zun_manager.Manager(container_driver='docker')
        self.devices = ['%s:%s:rw' % (base.DEVICES[name][0],
                                      base.DEVICES[name][0])
                        for name in NAMES]

    def _zun(self, manager, device_profiles):
        container = self.new_container(device_profiles)
        before = len(self.cloud.requests)
        start = time.perf_counter()
        created = manager._do_container_create_base(
            self.context, container, [{'network': 'none'}], {})
        started = manager._do_container_start(self.context, created)
        elapsed = time.perf_counter() - start
        self.last_requests = self.cloud.requests[before:]
        if started.status != 'Running':
            raise AssertionError('%s: %s' % (started.status,
                                             started.status_reason))
        manager.driver.delete(self.context, started, True)
        return elapsed

    def _docker_py(self, devices):
        start = time.perf_counter()
        host_config = self.docker.create_host_config(devices=devices,
                                                     network_mode='none')
        response = self.docker.create_container(
            base.IMAGE, ['sleep', '600'],
            host_config=host_config)
        self.docker.start(response['Id'])
        elapsed = time.perf_counter() - start
        self.docker.remove_container(response['Id'], force=True)
        return elapsed

    def _pair(self, n, zun, direct):
        # Alternate who goes first, so that neither always meets a
        # Docker still busy with the other's removal.
        if n % 2:
            return tuple(reversed((direct(), zun())))
        return zun(), direct()

    def test_ratio(self):
        rc = self.add_peripherals(NAMES)
        self.add_profile('four', rc, count=len(NAMES))
        self.cloud.resolve_after = 0
        arms = {
            'ours': lambda: self._zun(self.manager, 'four'),
            'stock': lambda: self._zun(self.stock, None),
            'direct_devices': lambda: self._docker_py(self.devices),
            'direct_plain': lambda: self._docker_py([]),
        }
        for arm in arms.values():
            arm()
        arms['ours']()
        requests = self.last_requests
        times = {name: [] for name in arms}
        for n in range(ROUNDS):
            for zun, direct in (('ours', 'direct_devices'),
                                ('stock', 'direct_plain')):
                tz, td = self._pair(n, arms[zun], arms[direct])
                times[zun].append(tz)
                times[direct].append(td)
        report(
            {name: statistics.median(t) * 1000 for name, t in times.items()},
            requests)


def report(ms, requests):
    a = ms['ours'] / ms['direct_devices']
    b = ms['stock'] / ms['direct_plain']
    hook = ms['ours'] - ms['stock']
    devices = ms['direct_devices'] - ms['direct_plain']
    cyborg = sum(1 for _m, p, _t in requests if p.startswith('/accel'))
    placement = len(requests) - cyborg
    print('Medians of %d rounds, create+start, ms:' % ROUNDS)
    print('(a) docker_oci + 4 devices %7.1f  docker-py + 4 devices %7.1f  '
          'ratio %.3f (goal <= %.2f)'
          % (ms['ours'], ms['direct_devices'], a, GOAL))
    print('(b) stock DockerDriver     %7.1f  docker-py            %7.1f  '
          'ratio %.3f  (Zun\'s own overhead)'
          % (ms['stock'], ms['direct_plain'], b))
    print('(c) hook = (a) - (b)       %7.1f ms, docker_oci / stock driver '
          '%.3f' % (hook, ms['ours'] / ms['stock']))
    print('    of which Docker creating 4 device nodes: %.1f ms (docker-py '
          'with minus without devices; differences of medians, a few ms '
          'are noise)' % devices)
    print('    Cyborg requests per create: %d, Placement requests: %d '
          '(loopback double; add a round trip each for a real cloud)'
          % (cyborg, placement))
    if a <= GOAL:
        print('Goal met.')
    elif b > GOAL:
        print('Goal not met, and not reachable by any driver built on '
              'Zun\'s DockerDriver: Zun alone is %.3f times docker-py '
              '(%.1f ms more).  With Zun\'s overhead taken out, docker-py '
              '+ hook would be %.3f times docker-py.'
              % (b, ms['stock'] - ms['direct_plain'],
                 (ms['direct_devices'] + hook) / ms['direct_devices']))
    else:
        print('Goal not met by the hook itself.')


def main():
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(
        CreateWithDevices)
    result = unittest.TextTestRunner(stream=sys.stderr).run(suite)
    return 0 if result.wasSuccessful() else 1


if __name__ == '__main__':
    sys.exit(main())
