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

"""The hub agent for real: Keystone and Neutron (edge_bridge and
edge_channel, notifications on), the agent as its own process in a
network namespace of the test's own, wireguard-go, and a device made by
hand with ``wg`` in a second namespace.

Ports are created in Neutron directly, as the channel API would.  The
hub namespace reaches Keystone, Neutron and RabbitMQ (on this host's
loopback) through forwarders the test listens with inside it: the
agent sees them on its own 127.0.0.1.  Needs root, MariaDB, RabbitMQ,
``wg`` and ``wireguard-go``.
"""

import os
import subprocess
import time
import uuid

import fixtures
from testtools import content

from edge_channels import wg
from tests.channels import base


HUB_UNDERLAY = base.HubAndDevice.HUB_UNDERLAY
CIDR = '10.231.0.0/24'
PORT_RANGE = (51900, 51909)
RABBIT_PORT = 5672
#: How soon a change in Neutron must be on the hub's interface.
APPLY_SECONDS = 5.0
#: How soon a device must reach the hub again after the hub's interface
#: was rebuilt: the hub starts the handshake (test_hub_restart), before
#: the device would, 15 s after its traffic went unanswered.
RECONNECT_SECONDS = 10.0


def _run(*args, check=True, **kw):
    return subprocess.run(list(args), capture_output=True, text=True,
                          check=check, timeout=30, **kw)


class HubAgentTestBase(base.ChannelsTestCase):
    """A hub agent of the test's own in a hub namespace, Neutron's ports
    as the channel API makes them, and devices made by hand.
    """

    PLANE_OPTIONS = {'users': {
        # The service role alone: what the agent's user needs.
        'edge-hub': ('service', ('service',))}}
    #: More [hub] options of the agent.
    AGENT_OPTIONS = {}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        net = cls.plane.neutron.ensure_network('channels-h3', CIDR,
                                               shared=False)
        cls.network_id = net['id']
        cls.subnet_id = net['subnets'][0]
        # Ports are made as the channel API makes them: as a user with
        # the service role (binding:profile and binding:host_id).
        cls.api = cls.plane.neutron.client('neutron')

    def setUp(self):
        super().setUp()
        base.require_tools('wg', 'wireguard-go')
        self.work = self.useFixture(fixtures.TempDir()).path
        self.host = 'hub-%s' % uuid.uuid4().hex[:8]
        self.nets = self.useFixture(base.HubAndDevice())
        base.forward(self, self.nets.hub_ns, [
            self.plane.keystone.port, self.plane.neutron.port,
            RABBIT_PORT])
        self.ports = []
        self.addCleanup(self._delete_ports)
        self.addCleanup(self._keep_logs)
        # Only notifications can make the changes quick.
        self.agent = base.hub_agent(
            self, self.plane, self.work, self.nets.hub_ns, self.host,
            PORT_RANGE, **dict(resync_interval='3600',
                               wireguard_backend='auto',
                               **self.AGENT_OPTIONS))
        self.log = self.agent.log
        self.state_dir = self.agent.state_dir

    def _keep_logs(self):
        # Read now: the directory goes with the test.
        for path in (self.log, self.log + '.out'):
            if os.path.exists(path):
                self.addDetail(os.path.basename(path),
                               content.content_from_file(path,
                                                         buffer_now=True))

    # -- Neutron, as the channel API would use it -------------------------

    def _create(self, owner, **attrs):
        body = dict(attrs, network_id=self.network_id, device_owner=owner,
                    fixed_ips=[{'subnet_id': self.subnet_id}])
        port = self.api.post('/ports', json={'port': body}).json()[
            'port']
        self.ports.append(port['id'])
        return port

    def _hub(self):
        return self._create('channel:wireguard:hub',
                            **{'binding:host_id': self.host})

    def _spoke(self, hub, public_key):
        return self._create('channel:wireguard:spoke', **{
            'binding:profile': {'public_key': public_key,
                                'peers': [hub['id']]}})

    def _show(self, port_id):
        return self.api.get('/ports/%s' % port_id).json()['port']

    def _delete(self, port_id):
        self.api.delete('/ports/%s' % port_id)
        self.ports.remove(port_id)

    def _delete_ports(self):
        for port_id in self.ports:
            self.api.delete('/ports/%s' % port_id, raise_exc=False)

    # -- the hub's interface ----------------------------------------------

    def _device(self, hub):
        return hub['binding:vif_details']['device_name']

    def _peers(self, device):
        """{public key: (allowed IPs, rx bytes)} of the hub's interface;
        None while it does not exist.
        """
        out = self.nets.in_hub('wg', 'show', device, 'dump', check=False)
        if out.returncode != 0:
            return None
        lines = out.stdout.splitlines()
        peers = {}
        for line in lines[1:]:
            fields = line.split('\t')
            peers[fields[0]] = (fields[3], int(fields[5]))
        return peers

    def _peer(self, device, public_key):
        """``edge_channels.wg.parse_dump``'s details of the hub's peer
        ``public_key`` (endpoint, latest handshake ...); None while there
        is no such peer or interface.
        """
        out = self.nets.in_hub('wg', 'show', device, 'dump', check=False)
        if out.returncode != 0:
            return None
        return wg.parse_dump(out.stdout)[3].get(public_key)

    def _interface_key(self, device):
        out = self.nets.in_hub('wg', 'show', device, 'public-key',
                               check=False)
        return out.stdout.strip() if out.returncode == 0 else None

    def _reported(self, hub_id):
        port = self._show(hub_id)
        profile = port['binding:profile']
        return port if profile.get('public_key') else None

    # -- the device, by hand ----------------------------------------------

    def _device_key(self, name):
        private = _run('wg', 'genkey').stdout.strip()
        path = os.path.join(self.work, name + '.key')
        with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), 'w') as f:
            f.write(private + '\n')
        public = _run('wg', 'pubkey', input=private).stdout.strip()
        return path, public

    def _device_tunnel(self, key_path, spoke, hub, keepalive=1):
        ifname = 'h3s-' + uuid.uuid4().hex[:6]
        self.nets.wireguard_names.add(ifname)
        self.nets.in_dev('wireguard-go', ifname)
        self.nets.in_dev('wg', 'set', ifname, 'private-key', key_path)
        self.nets.in_dev('ip', 'addr', 'add', '%s/24' % (
            spoke['fixed_ips'][0]['ip_address']), 'dev', ifname)
        self.nets.in_dev('ip', 'link', 'set', ifname, 'up')
        self._device_peer(ifname, hub, keepalive)
        return ifname

    def _device_peer(self, ifname, hub, keepalive):
        """Set the hub as the peer of device interface ``ifname`` (up):
        with a keepalive, a handshake starts at once.
        """
        profile = hub['binding:profile']
        self.nets.in_dev('wg', 'set', ifname, 'peer', profile['public_key'],
                         'endpoint', profile['endpoint'], 'allowed-ips',
                         CIDR, 'persistent-keepalive', str(keepalive))

    def _log_lines(self, text):
        with open(self.log) as f:
            return [line for line in f if text in line]

    # -- the proof ----------------------------------------------------------

    def _wait_started(self):
        # The first full re-sync done: the agent listens by then.
        base.wait('agent start', lambda: self.agent.resyncs(), 60)


class HubAgentTest(HubAgentTestBase):

    def test_hub_life_cycle(self):
        figures = {}
        self._wait_started()
        start = time.monotonic()
        hub = self._hub()
        hub_ip = hub['fixed_ips'][0]['ip_address']
        device = self._device(hub)
        self.nets.wireguard_names.add(device)
        reported = None

        def report():
            nonlocal reported
            reported = self._reported(hub['id'])
            return reported

        figures['hub create -> key+endpoint in Neutron'] = base.wait(
            'report of the hub', report, 60, start)
        # ML2 binds the port again once the profile is stored.
        base.wait('hub port ACTIVE',
              lambda: self._show(hub['id'])['status'] == 'ACTIVE',
              APPLY_SECONDS)
        reported = self._show(hub['id'])
        self.assertEqual('wireguard', reported['binding:vif_type'])
        endpoint = reported['binding:profile']['endpoint']
        self.assertTrue(endpoint.startswith(HUB_UNDERLAY + ':51900'),
                        endpoint)
        hub_key = reported['binding:profile']['public_key']
        self.assertEqual(hub_key, self._interface_key(device))
        key_file = os.path.join(self.state_dir, hub['id'] + '.key')
        self.assertEqual(0o600, os.stat(key_file).st_mode & 0o777)
        self.assertEqual(0o700, os.stat(self.state_dir).st_mode & 0o777)

        # A device's spoke: applied within seconds, then it pings.
        key1, pub1 = self._device_key('one')
        start = time.monotonic()
        spoke1 = self._spoke(hub, pub1)
        ip1 = spoke1['fixed_ips'][0]['ip_address']
        figures['spoke create -> peer on hub (1st)'] = base.wait(
            'peer of spoke 1', lambda: pub1 in (self._peers(device) or {}),
            APPLY_SECONDS, start)
        self.assertEqual(ip1 + '/32', self._peers(device)[pub1][0])
        self._device_tunnel(key1, spoke1, reported)
        figures['device up -> first ping'] = base.wait(
            'ping through the tunnel', lambda: self.nets.pings(hub_ip), 15)

        # One more spoke: only its peer is touched.
        rx_before = self._peers(device)[pub1][1]
        applied_before = len(self._log_lines('applied'))
        _key2, pub2 = self._device_key('two')
        start = time.monotonic()
        spoke2_id = self._spoke(hub, pub2)['id']
        figures['spoke create -> peer on hub (2nd)'] = base.wait(
            'peer of spoke 2', lambda: pub2 in (self._peers(device) or {}),
            APPLY_SECONDS, start)
        peers = self._peers(device)
        self.assertEqual({pub1, pub2}, set(peers))
        # Spoke 1's peer kept its session and counters.
        self.assertGreaterEqual(peers[pub1][1], rx_before)
        self.assertTrue(self.nets.pings(hub_ip))
        # The agent logs a change once privsep returns: after it shows.
        base.wait('log of the change', lambda: len(
            self._log_lines('applied')) > applied_before, APPLY_SECONDS)
        applied = self._log_lines('applied')[applied_before:]
        self.assertEqual(1, len(applied), applied)
        self.assertIn('applied 2 operations (peer_set, route_add)',
                      applied[0])

        # A deleted spoke's peer goes within seconds.
        start = time.monotonic()
        self._delete(spoke2_id)
        figures['spoke delete -> peer gone'] = base.wait(
            'removal of spoke 2', lambda: pub2 not in self._peers(device),
            APPLY_SECONDS, start)
        self.assertEqual({pub1}, set(self._peers(device)))

        # A second hub, deleted while the agent is down.
        gone = self._hub()
        gone_device = self._device(gone)
        self.nets.wireguard_names.add(gone_device)
        base.wait('second hub', lambda: self._peers(gone_device) is not None,
              APPLY_SECONDS)
        gone_key = os.path.join(self.state_dir, gone['id'] + '.key')
        self.assertTrue(os.path.exists(gone_key))

        # The agent killed, its interface gone (as after a reboot): the
        # agent restarted rebuilds it with the same key and port, and
        # the device reconnects.  The hub deleted meanwhile is cleaned
        # up by the first full re-sync.
        self.agent.kill()
        self.nets.in_hub('ip', 'link', 'del', device)
        self._delete(gone['id'])
        self.assertFalse(self.nets.pings(hub_ip))
        self.agent.start(wait=False)
        figures['agent restart -> interface rebuilt'] = base.wait(
            'rebuilt interface', lambda: pub1 in (self._peers(device) or {}),
            30)
        base.wait('removal of the hub deleted meanwhile',
              lambda: self._peers(gone_device) is None, APPLY_SECONDS)
        base.wait('removal of its key', lambda: not os.path.exists(gone_key),
              APPLY_SECONDS)
        self.assertEqual(hub_key, self._interface_key(device))
        self.assertEqual(reported['binding:profile'],
                         self._show(hub['id'])['binding:profile'])
        figures['rebuilt -> device pings again'] = base.wait(
            'ping after the rebuild', lambda: self.nets.pings(hub_ip),
            RECONNECT_SECONDS)

        # The hub deleted: its interface and key go.
        start = time.monotonic()
        self._delete(hub['id'])
        figures['hub delete -> interface gone'] = base.wait(
            'removal of the interface',
            lambda: self._peers(device) is None, APPLY_SECONDS, start)
        base.wait('removal of the key', lambda: not os.path.exists(key_file),
              APPLY_SECONDS)
        self.assertTrue(self.agent.alive())
        self.addDetail('figures', content.text_content('\n'.join(
            '%s: %.3f s' % item for item in figures.items())))
        print('\n'.join('%s: %.3f s' % item for item in figures.items()))
