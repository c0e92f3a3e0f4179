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

"""benchmarks/scheduling.py asks real Placement what it claims to ask.

On real Keystone and Placement (SQLite) with a small fleet: the request
without profiles is the one Zun's own scheduler code builds; the
profile requests are answered with device providers of the asked class
and trait, mapped to their groups; once half the devices are held, no
candidate offers a held one.  Then the benchmark's command runs on two
hosts and one round, and must leave nothing behind.  No timings are
asserted.
"""

import contextlib
import glob
import io
import os
import tempfile
from urllib import parse

from oslotest import base as oslo_base
from zun import objects
from zun.scheduler import utils as zun_sched_utils
from zun.scheduler.client import report as zun_report

from benchmarks import scheduling


HOSTS = 3


class SchedulingBenchmarkTest(oslo_base.BaseTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.plane = scheduling.ControlPlane('sqlite')
        try:
            cls.plane.start()
            cls.client = cls.plane.placement.client()
            cls.fleet = scheduling.Fleet(cls.client, HOSTS)
        except BaseException:
            cls.plane.stop(keep_logs=True)
            raise

    @classmethod
    def tearDownClass(cls):
        errors = cls.plane.stop()
        super().tearDownClass()
        if errors:
            raise RuntimeError('clean-up failed: %s' % errors)

    def _candidates(self, label):
        version, url, _classes = scheduling.REQUESTS[label]
        return self.client.get(url, microversion=version).json()

    def _device_traits(self, rp_uuid):
        return set(self.client.get('/resource_providers/%s/traits'
                                   % rp_uuid).json()['traits'])

    def _check_profile_answer(self, label, held=()):
        """Every candidate maps each group to a free device provider of
        its class with its trait, on the candidate's compute node.
        """
        version, url, classes = scheduling.REQUESTS[label]
        query = parse.parse_qs(url.split('?', 1)[1])
        suffixes = sorted(k[len('resources'):] for k in query
                          if k.startswith('resources_'))
        self.assertEqual(len(classes), len(suffixes))
        answer = self._candidates(label)
        self.assertEqual(self.fleet.expected(classes),
                         len(answer['allocation_requests']))
        nodes = {node: devices for node, devices in self.fleet.hosts}
        for candidate in answer['allocation_requests']:
            (node,) = [rp for rp in candidate['allocations'] if rp in nodes]
            for suffix, device_class in zip(suffixes, classes):
                (device,) = candidate['mappings'][suffix]
                self.assertIn(device, nodes[node][device_class])
                self.assertNotIn(device, held)
                (trait,) = query['required' + suffix]
                self.assertIn(trait, self._device_traits(device))
                self.assertEqual(
                    {scheduling.naming.resource_class(device_class): 1},
                    candidate['allocations'][device]['resources'])

    def test_plain_request_is_zuns_own(self):
        # What Zun's scheduler builds for a container of 1 CPU, 512 MB
        # and 10 GB with no extra specs.
        container = objects.Container(cpu=1.0, memory='512', disk=10)
        zun_query = zun_sched_utils.resources_from_request_spec(
            None, container, {}).to_querystring()
        version, url, _classes = scheduling.REQUESTS[scheduling.BASE]
        self.assertEqual('/allocation_candidates?' + zun_query, url)
        self.assertEqual(zun_report.INTREE_AC_VERSION, version)
        answer = self._candidates(scheduling.BASE)
        self.assertEqual(
            sorted(node for node, _devices in self.fleet.hosts),
            sorted(rp for c in answer['allocation_requests']
                   for rp in c['allocations']))

    def test_profiles_map_to_free_devices(self):
        for label in ('(b) one profile group', '(c) two profile groups'):
            with self.subTest(label=label):
                self._check_profile_answer(label)
        self.fleet.hold_half()
        self.assertEqual(2 * HOSTS, len(self.fleet.held))
        for label in ('(b) one profile group', '(c) two profile groups'):
            with self.subTest(label=label, held=True):
                self._check_profile_answer(label, held=self.fleet.held)


class SchedulingBenchmarkCommandTest(oslo_base.BaseTestCase):

    def test_runs_and_cleans_up(self):
        pattern = os.path.join(tempfile.gettempdir(), 'cp-schedbench-*')
        before = set(glob.glob(pattern))
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            status = scheduling.main(['--hosts', '2', '--rounds', '1'])
        self.assertEqual(0, status)
        table = out.getvalue()
        for label in list(scheduling.REQUESTS) + [scheduling.FLOOR]:
            self.assertEqual(2, table.count(label + ' '), table)
        self.assertIn('half the devices held (4 consumers):', table)
        self.assertEqual(before, set(glob.glob(pattern)))
