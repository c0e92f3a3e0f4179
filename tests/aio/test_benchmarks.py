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

"""benchmarks/aio.py runs on the cloud's real services and says where
the time goes.

One round on the device path of the series (``attacher``): the command
succeeds, prints every phase for both arms with figures read from Zun's
container actions and the services' logs (the create's request id is
found in Placement's log; Cyborg's API served ARQ requests for the
profiled container only), and removes its cloud.  No timings are asserted.
"""

import contextlib
import io

from oslotest import base as oslo_base

from benchmarks import aio as aio_bench


class AioBenchmarkCommandTest(oslo_base.BaseTestCase):

    def test_one_round(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            status = aio_bench.main(['--path', 'attacher', '--rounds', '1'])
        table = out.getvalue()
        self.assertEqual(0, status, table)
        self.assertIn("device path 'attacher' (API 1.41)", table)
        rows = {}
        for line in table.splitlines():
            fields = line.rsplit(None, 4)
            if len(fields) == 5 and fields[1].isdigit():
                rows[fields[0].strip()] = [int(f) for f in fields[1:]]
        for phase in ('total: run to Running', 'API accept (POST to 202)',
                      'zun-compute create (event)',
                      'zun-compute start (event)'):
            with self.subTest(phase=phase):
                with_p50, _p95, without_p50, _p95 = rows[phase]
                self.assertGreater(with_p50, 0)
                self.assertGreater(without_p50, 0)
        # The scheduler's claim and the ARQs of the profiled container
        # are found under its create's request id; a container without
        # a profile makes no ARQ.
        placement = rows['Placement (scheduling)']
        cyborg = rows[aio_bench.ARQ_CALLS]
        self.assertGreater(placement[0], 0)
        self.assertGreater(placement[2], 0)
        self.assertGreater(cyborg[0], 0)
        self.assertEqual(0, cyborg[2])
        self.assertIn('ratio with / without, medians:', table)
        for arm in (aio_bench.DOCKER_DEVICE, aio_bench.DOCKER_PLAIN):
            self.assertIn(arm, table)
