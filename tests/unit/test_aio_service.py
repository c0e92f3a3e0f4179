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

"""aio.service.wait_for: the waiting loop of the tests and benchmarks."""

import itertools

import testtools

from aio import service


class WaitForTest(testtools.TestCase):

    def test_the_first_true_value(self):
        values = iter([None, 0, [], 'ready', 'later'])
        self.assertEqual('ready', service.wait_for(
            'readiness', lambda: next(values), timeout=5, interval=0))

    def test_times_out_naming_what(self):
        calls = itertools.count()
        e = self.assertRaises(TimeoutError, service.wait_for, 'the hub',
                              lambda: next(calls) < 0, timeout=0.05,
                              interval=0.01)
        self.assertEqual('no the hub within 0 s', str(e))
        self.assertGreater(next(calls), 1)
