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

"""The hub agent killed (SIGKILL) and restarted, for real: Keystone,
Neutron, the agent in a namespace of the test's own, wireguard-go, and
a device made by hand with the Edge SDK's default keepalive.

Killed alone, the agent leaves the interface (wireguard-go runs on):
the device's session goes on untouched.  Killed with its interface
gone (a reboot, wireguard-go killed), the agent rebuilds it from
Neutron with the same key and port and starts a handshake to where it
last heard the device from: the device, which sends only keepalives,
is back without sending anything.
"""

import json
import os
import time

from tests.channels import base
from tests.channels import test_hub_agent


#: The Edge SDK's default [edge_sdk] persistent_keepalive.
DEVICE_KEEPALIVE = 25
#: The earliest a device makes a new handshake by itself: 15 s after it
#: sent data that got no answer (keepalive 10 s + rekey 5 s timeouts);
#: one that sends only keepalives, not before its session is 120 s old.
#: A handshake sooner, with the device idle, was started by the hub.
DEVICE_RETRY_SECONDS = 15.0


class HubRestartTest(test_hub_agent.HubAgentTestBase):

    AGENT_OPTIONS = {'endpoint_record_interval': '1'}

    def _kept(self, hub_id):
        path = os.path.join(self.state_dir, hub_id + '.endpoints')
        if not os.path.exists(path):
            return None
        with open(path) as f:
            return json.load(f)

    def test_spokes_reconnect_after_a_restart(self):
        figures = {}
        self._wait_started()
        hub = self._hub()
        device = self._device(hub)
        self.nets.wireguard_names.add(device)
        reported = None

        def report():
            nonlocal reported
            reported = self._reported(hub['id'])
            return reported

        base.wait('report of the hub', report, 60)
        hub_ip = hub['fixed_ips'][0]['ip_address']
        hub_key = reported['binding:profile']['public_key']
        key, pub = self._device_key('one')
        spoke = self._spoke(hub, pub)
        base.wait('peer of the spoke',
                  lambda: pub in (self._peers(device) or {}),
                  test_hub_agent.APPLY_SECONDS)
        start = time.monotonic()
        ifname = self._device_tunnel(key, spoke, reported,
                                     keepalive=DEVICE_KEEPALIVE)
        figures['device up -> first ping'] = base.wait(
            'ping through the tunnel', lambda: self.nets.pings(hub_ip), 15,
            start)

        # The agent keeps where it heard the device from, privately.
        endpoint = self._peer(device, pub)['endpoint']
        self.assertEqual(base.HubAndDevice.DEVICE_UNDERLAY,
                         endpoint.rsplit(':', 1)[0])
        base.wait('the endpoint kept',
                  lambda: self._kept(hub['id']) == {pub: endpoint}, 30)
        self.assertEqual(0o600, os.stat(os.path.join(
            self.state_dir, hub['id'] + '.endpoints')).st_mode & 0o777)

        # Killed alone: the tunnel carries on without the agent, and the
        # restarted agent leaves the session alone.
        handshake = self._peer(device, pub)['latest_handshake']
        resyncs = self.agent.resyncs()
        self.agent.kill()
        self.assertTrue(self.nets.pings(hub_ip))
        start = time.monotonic()
        self.agent.start(wait=False)
        self.agent.wait_synced(resyncs)
        figures['kill, interface kept: agent start -> synced'] = round(
            time.monotonic() - start, 3)
        self.assertEqual(handshake,
                         self._peer(device, pub)['latest_handshake'])
        self.assertTrue(self.nets.pings(hub_ip))

        # A fresh session on the device (the hub as a new peer): its own
        # rekey is two minutes away, so only the hub can make the next
        # handshake soon.
        self.nets.in_dev('wg', 'set', ifname, 'peer', hub_key, 'remove')
        self._device_peer(ifname, reported, DEVICE_KEEPALIVE)
        base.wait('the device\'s new handshake',
                  lambda: self._peer(device, pub)['latest_handshake'] >
                  handshake, 15)

        # Killed with its interface gone (as after a reboot): rebuilt
        # with the same key and port, the peer with the kept endpoint,
        # and the hub calls the device, which sends nothing meanwhile.
        resyncs = self.agent.resyncs()
        self.agent.kill()
        self.nets.in_hub('ip', 'link', 'del', device)
        start = time.monotonic()
        self.agent.start(wait=False)
        figures['kill, interface gone: agent start -> rebuilt'] = base.wait(
            'the rebuilt peer', lambda: pub in (self._peers(device) or {}),
            60, start)
        rebuilt = time.monotonic()
        self.assertEqual(hub_key, self._interface_key(device))
        self.assertEqual(endpoint, self._peer(device, pub)['endpoint'])
        figures['rebuilt -> handshake, device idle'] = base.wait(
            'a handshake the hub started',
            lambda: self._peer(device, pub)['latest_handshake'] > 0,
            DEVICE_RETRY_SECONDS, rebuilt)
        self.assertTrue(self.nets.pings(hub_ip))
        figures['kill, interface gone: agent start -> ping'] = round(
            time.monotonic() - start, 3)
        self.agent.wait_synced(resyncs)
        self.assertEqual(1, len(self._log_lines(
            'started handshakes to 1 devices')))
        self.assertEqual(reported['binding:profile'],
                         self._show(hub['id'])['binding:profile'])
        self.assertTrue(self.agent.alive())
        self.add_figures('hub restart', figures)
