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

On real Keystone and Placement (SQLite) with a small fleet: the requests
are named as the patched Zun names them (tools/zun-patches/0005: stock
Zun's request without profiles, one ``_device_profile_<p>_<g>`` group
per profile group at 1.34); the profile requests are answered with
device providers of the asked class and trait, mapped to their groups;
once half the devices are held, no candidate offers a held one.  Then
the benchmark's command runs on two hosts and one round, and must leave
nothing behind.  No timings are asserted.
"""

import contextlib
import glob
import io
import os
import tempfile
from urllib import parse

from oslotest import base as oslo_base

from benchmarks import scheduling


HOSTS = 3


class SchedulingBenchmarkTest(oslo_base.BaseTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.plane = scheduling.control_plane('sqlite')
        try:
            cls.plane.start()
            cls.client = cls.plane.placement.client()
            cls.fleet = scheduling.Fleet(cls.client, HOSTS)
        except BaseException:
            cls.plane.stop(keep_logs=True)
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.plane.stop_or_raise()
        finally:
            super().tearDownClass()

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
        # What stock Zun's scheduler asks for a container of 1 CPU,
        # 512 MB and 10 GB with no extra specs, on enabled hosts only.
        version, url, _classes = scheduling.REQUESTS[scheduling.BASE]
        self.assertEqual('1.31', version)
        self.assertEqual(
            {'limit': ['1000'],
             'required': ['!CUSTOM_ZUN_COMPUTE_STATUS_DISABLED'],
             'resources': ['DISK_GB:10,MEMORY_MB:512,VCPU:1']},
            parse.parse_qs(url.split('?', 1)[1]))
        answer = self._candidates(scheduling.BASE)
        self.assertEqual(
            sorted(node for node, _devices in self.fleet.hosts),
            sorted(rp for c in answer['allocation_requests']
                   for rp in c['allocations']))

    def test_profile_groups_are_named_as_zun_names_them(self):
        # Requester id device_profile_<profile>_<group>, at 1.34.
        for label, suffixes in (
                ('(b) one profile group', ['_device_profile_0_0']),
                ('(c) two profile groups', ['_device_profile_0_0',
                                            '_device_profile_0_1'])):
            version, url, _classes = scheduling.REQUESTS[label]
            query = parse.parse_qs(url.split('?', 1)[1])
            self.assertEqual('1.34', version)
            self.assertEqual(['none'], query['group_policy'])
            self.assertEqual(suffixes, sorted(
                k[len('resources'):] for k in query
                if k.startswith('resources_')))
            answer = self._candidates(label)
            self.assertEqual(
                sorted(suffixes + ['']),
                sorted(answer['allocation_requests'][0]['mappings']))

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
