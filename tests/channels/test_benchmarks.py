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

"""benchmarks/channels.py runs on the real services and says what it
measured.

Tiny sizes (2 channels, a hub of 20 spokes, 2 single adds, 2 hub agent
restarts, 1 s of TCP per path): the command succeeds, prints the table
and a JSON line with every figure, the one-spoke changes touch no other
peer (two operations each, every peer before untouched, the devices
still ping) and the whole configuration is more operations; the devices
are back after each restart; the ratios are positive numbers; no
namespace, WireGuard control socket or work directory is left.  No
timings are asserted.
"""

import contextlib
import glob
import io
import json
import math
import os
import subprocess
import tempfile

from oslotest import base as oslo_base

from benchmarks import channels as bench
from tests.channels import base


def _namespaces():
    out = subprocess.run(['ip', 'netns', 'list'], capture_output=True,
                         text=True, check=True).stdout
    return {line.split()[0] for line in out.splitlines()
            if line.startswith(('cbhub-', 'cbdev-'))}


def _positive(value):
    return isinstance(value, (int, float)) and math.isfinite(value) and \
        value > 0


class ChannelsBenchmarkCommandTest(oslo_base.BaseTestCase):

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.skipTest('the benchmark makes network namespaces and '
                          'starts Neutron: run it as root '
                          '(tools/run-tests channels)')
        base.require_tools('wg', 'wireguard-go', 'ping')

    def test_tiny_run(self):
        workdirs = os.path.join(tempfile.gettempdir(), 'cp-chanbench-*')
        before = set(glob.glob(workdirs))
        namespaces = _namespaces()
        sockets = set(glob.glob(os.path.join(bench.SOCKET_DIR, 'ec-b*')))
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            status = bench.main(['--channels', '2', '--spokes', '20',
                                 '--adds', '2', '--restarts', '2',
                                 '--seconds', '1',
                                 '--rounds', '1'])
        text = out.getvalue()
        self.assertEqual(0, status, text)
        figures = json.loads(text.strip().splitlines()[-1])

        channels = figures['channels']
        self.assertEqual(2, channels['count'])
        for phase in ('API create (POST round trip)',
                      'POST -> hub applied the peer',
                      'POST -> SDK interface configured',
                      'total: POST -> first ping reply'):
            with self.subTest(phase=phase):
                self.assertIn(phase, text)
                for p in ('p50_s', 'p95_s'):
                    self.assertTrue(_positive(channels['phases'][phase][p]),
                                    channels['phases'][phase])
        self.assertTrue(_positive(channels['first_channel_with_new_hub_s']))
        self.assertIsInstance(channels['goal_met'], bool)

        hub = figures['hub']
        self.assertEqual(20, hub['spokes'])
        self.assertEqual(2, len(hub['adds']))
        for add in hub['adds']:
            # One peer and its route; every other peer as it was.
            self.assertEqual(2, add['operations'], add)
            self.assertEqual('peer_set, route_add', add['kinds'])
            self.assertEqual(add['peers before'], add['peers untouched'])
            self.assertEqual(add['peers before'] + 1, add['peers after'])
            self.assertTrue(add['devices still ping'])
        self.assertEqual(0, hub['rewritten_peers'])
        # The whole configuration: at least a peer and a route per spoke.
        self.assertGreaterEqual(hub['full']['operations'], 2 * 20)
        for ratio in ('ratio_one_to_full_agent', 'ratio_one_to_full_seen'):
            self.assertTrue(_positive(hub[ratio]), hub)

        restart = figures['restart']
        self.assertEqual(2, restart['count'])
        self.assertEqual(2, len(restart['runs_s']))
        self.assertTrue(_positive(
            restart['ratio_to_new_channel_first_ping_p50']), restart)
        self.assertIn('hub agent SIGKILLed', text)

        paths = figures['paths']
        for path in ('plain', 'tunnel'):
            self.assertTrue(_positive(paths[path]['mbit_s_median']))
            self.assertTrue(_positive(paths[path]['rtt_ms_p50']))
        for name, ratio in paths['ratio_tunnel_to_plain'].items():
            self.assertTrue(_positive(ratio), name)
        self.assertIn('ratio tunnel / plain', text)

        # Nothing left behind.
        self.assertEqual(namespaces, _namespaces())
        self.assertEqual(before, set(glob.glob(workdirs)))
        self.assertEqual(sockets, set(glob.glob(os.path.join(
            bench.SOCKET_DIR, 'ec-b*'))))
