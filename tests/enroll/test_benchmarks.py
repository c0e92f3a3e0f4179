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

"""benchmarks/enroll.py runs on the real services and says what it
measured.

Tiny sizes (3 hosts, 50 items, 2 rounds): the command succeeds and
prints one JSON line with every figure; every host of item 1 got its
two channels and its Keystone user, and the delete left none; the list
returned every item (fewer than ``[api] max_limit``, so no next link)
and so did the client; the paged walk found them all.  Its work
directory is removed.  No timings are asserted.
"""

import contextlib
import glob
import io
import json
import math
import os
import tempfile

from oslotest import base as oslo_base

from benchmarks import enroll as bench


def _positive(value):
    return isinstance(value, (int, float)) and math.isfinite(value) and \
        value > 0


class EnrollBenchmarkCommandTest(oslo_base.BaseTestCase):

    def test_tiny_run(self):
        workdirs = os.path.join(tempfile.gettempdir(), 'cp-enrollbench-*')
        before = set(glob.glob(workdirs))
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            status = bench.main(['--hosts', '3', '--items', '50',
                                 '--rounds', '2', '--json'])
        text = out.getvalue()
        self.assertEqual(0, status, text)
        figures = json.loads(text.strip().splitlines()[-1])
        self.assertEqual(bench.TASK_CONCURRENCY,
                         figures['task_concurrency'])

        enrollment = figures['enrollment']
        self.assertTrue(_positive(enrollment['warm_up_host_s']))
        self.assertEqual({'one at a time', 'all at once'},
                         set(enrollment['phases']))
        for label, phase in enrollment['phases'].items():
            with self.subTest(phase=label):
                self.assertEqual(3, phase['hosts'])
                self.assertIn('total: POST -> every worker STEADY',
                              phase['phases'])
                for worker in bench.WORKERS:
                    self.assertIn('POST -> %s STEADY' % worker,
                                  phase['phases'])
                for name, s in phase['phases'].items():
                    self.assertEqual(3, s['count'], name)
                    for p in ('p50', 'p95', 'max'):
                        self.assertTrue(_positive(s[p]), (name, s))
                self.assertGreaterEqual(phase['most_in_progress_seen'], 0)
                self.assertGreaterEqual(phase['runs_beyond_one'], 0)
        # The warm-up host and 3 + 3 hosts: two channels and a user each,
        # all gone after the delete.
        self.assertEqual(2 * 7, enrollment['channels_expected'])
        self.assertEqual(enrollment['channels_expected'],
                         enrollment['channels_made'])
        self.assertEqual(7, enrollment['users_expected'])
        self.assertEqual(7, enrollment['users_made'])
        delete = enrollment['delete']
        self.assertEqual(7, delete['hosts'])
        self.assertTrue(_positive(delete['delete_to_purged_s']['p95']))
        self.assertEqual(0, delete['channels_left'])
        self.assertEqual(0, delete['users_left'])

        listed = figures['list']
        self.assertEqual(50, listed['items'])
        self.assertEqual(50, listed['list_items_returned'])
        self.assertFalse(listed['list_next_link'])
        for key in ('list_ms', 'show_ms', 'ratio_list_to_show',
                    'server_list_ms', 'list_bytes', 'show_bytes',
                    'items_per_s'):
            self.assertTrue(_positive(listed[key]), key)
        # uWSGI logs whole milliseconds: a show may take less than one.
        self.assertGreaterEqual(listed['server_show_ms'], 0)
        self.assertGreater(listed['list_bytes'], listed['show_bytes'])
        self.assertEqual(50, listed['paged']['items'])
        self.assertEqual(1, listed['paged']['requests'])
        self.assertEqual(50, listed['cli']['list_rows'])
        self.assertTrue(_positive(listed['cli']['list_s']))

        self.assertEqual(before, set(glob.glob(workdirs)))
