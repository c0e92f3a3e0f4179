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

"""The Edge SDK's privileged bring-up, for real, without a channel API.

Two network namespaces of the test's own, joined by a veth pair: in
one a hub WireGuard interface made by hand with ``wg`` (what the hub
agent does in the cloud), in the other the SDK, fed channel
representations as the channel API would send them, brings up
``ec-control`` through its privsep daemon (CAP_NET_ADMIN only) and
pings the hub through the tunnel.  Then the hub's key and endpoint
change and the SDK's re-sync restores the tunnel; then the device
rotates its key and the tunnel is back within seconds once the hub has
the new key.

The device side runs in a child process inside the device namespace
(``python -m tests.channels.test_sdk_tunnel``), driven with one JSON
request per line, as ``edge-sdk run`` would hold its daemon.
Needs root, ``wg`` and kernel WireGuard or ``wireguard-go``.
"""

import json
import os
import random
import subprocess
import sys
import threading
import time
import uuid

import fixtures
import testtools
from testtools import content

from aio import netns
from tests.channels import base


TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
NAME = 'control'
IFNAME = 'ec-control'
HUB_PORT = 51820
#: How soon a changed tunnel must carry pings again.
RESTORE_SECONDS = 5.0
#: [edge_sdk] handshake_wait of the device.
HANDSHAKE_WAIT = 10.0
WG_ENV = dict(os.environ, WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD='1')
SOCKET_DIR = '/var/run/wireguard'


def _run(*args, check=True, **kw):
    return subprocess.run(list(args), capture_output=True, text=True,
                          check=check, timeout=30, **kw)


def _status(pid):
    with open('/proc/%d/status' % pid) as f:
        return dict(line.split(':', 1) for line in f.read().splitlines())


class Namespaces(fixtures.Fixture):
    """A hub and a device namespace joined by a veth pair; all removed
    with every interface and process in them.
    """

    def _setUp(self):
        tag = uuid.uuid4().hex[:6]
        self.n = random.randint(0, 255)
        self.hub, self.dev = 'esdk-h-' + tag, 'esdk-d-' + tag
        self.hub_if = 'eshub' + tag
        self.underlay = '198.18.%d.' % self.n
        self.subnet = '100.64.%d.0/24' % self.n
        self.hub_ip = '100.64.%d.1' % self.n
        self.dev_ip = '100.64.%d.5' % self.n
        for ns in (self.hub, self.dev):
            namespace = netns.Namespace(ns)
            self.addCleanup(self._remove, namespace)
            namespace.add()
        _run('ip', 'link', 'add', 'esh' + tag, 'netns', self.hub, 'type',
             'veth', 'peer', 'name', 'esd' + tag, 'netns', self.dev)
        for ns, ifname, host in ((self.hub, 'esh' + tag, 1),
                                 (self.dev, 'esd' + tag, 2)):
            _run('ip', '-n', ns, 'address', 'add',
                 '%s%d/24' % (self.underlay, host), 'dev', ifname)
            _run('ip', '-n', ns, 'link', 'set', ifname, 'up')

    @staticmethod
    def _remove(namespace):
        # Interfaces first: wireguard-go exits with its TUN device.
        ns = namespace.name
        links = json.loads(_run('ip', '-n', ns, '-j', 'link', 'show',
                                check=False).stdout or '[]')
        for link in links:
            if link['ifname'] != 'lo':
                _run('ip', '-n', ns, 'link', 'del', link['ifname'],
                     check=False)
        errors = namespace.remove()
        if errors:
            raise RuntimeError('; '.join(errors))

    def in_hub(self, *args, **kw):
        return _run('ip', 'netns', 'exec', self.hub, *args, **kw)

    def ping(self, timeout):
        """Seconds until the device first pings the hub through the
        tunnel, or None.
        """
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if not _run('ip', 'netns', 'exec', self.dev, 'ping', '-n',
                        '-c1', '-W1', self.hub_ip, check=False).returncode:
                return time.monotonic() - start
        return None


class Hub(fixtures.Fixture):
    """The cloud side, by hand: one WireGuard interface with one peer."""

    def __init__(self, nets, key_dir):
        super().__init__()
        self.nets = nets
        self.key_dir = key_dir
        self.port = HUB_PORT

    def _setUp(self):
        ifname = self.nets.hub_if
        if self.nets.in_hub('ip', 'link', 'add', ifname, 'type',
                            'wireguard', check=False).returncode:
            self.nets.in_hub('wireguard-go', ifname, env=WG_ENV)
        self.new_key()
        self.nets.in_hub('ip', 'address', 'add',
                         '%s/24' % self.nets.hub_ip, 'dev', ifname)
        self.nets.in_hub('ip', 'link', 'set', ifname, 'up')

    def new_key(self):
        key = _run('wg', 'genkey').stdout.strip()
        path = os.path.join(self.key_dir, 'hub.key')
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, 'w') as f:
            f.write(key + '\n')
        self.nets.in_hub('wg', 'set', self.nets.hub_if, 'private-key', path,
                         'listen-port', str(self.port))
        self.public_key = _run('wg', 'pubkey', input=key).stdout.strip()

    def move(self, port):
        self.port = port
        self.nets.in_hub('wg', 'set', self.nets.hub_if, 'listen-port',
                         str(port))

    def set_spoke(self, public_key, old=None):
        args = ['wg', 'set', self.nets.hub_if, 'peer', public_key,
                'allowed-ips', '%s/32' % self.nets.dev_ip]
        if old:
            args += ['peer', old, 'remove']
        self.nets.in_hub(*args)

    def channel(self, device_key):
        """The channel as ``GET /channels/<uuid>`` shows it."""
        return {
            'uuid': str(uuid.uuid4()), 'name': NAME,
            'project_id': uuid.uuid4().hex, 'channel_type': 'wireguard',
            'status': 'ACTIVE',
            'properties': {'public_key': device_key, 'endpoint': None,
                           'ip': self.nets.dev_ip},
            'peers': [{'uuid': str(uuid.uuid4()), 'status': 'ACTIVE',
                       'properties': {
                           'public_key': self.public_key,
                           'endpoint': '%s1:%d' % (self.nets.underlay,
                                                   self.port),
                           'ip': self.nets.hub_ip,
                           'subnet': self.nets.subnet}}]}


class Device(fixtures.Fixture):
    """The SDK in the device namespace: a child process holding a
    ``sync.Runner`` and its privsep daemon.
    """

    def __init__(self, nets, state_dir, log_path, keepalive=1):
        super().__init__()
        self.args = ['ip', 'netns', 'exec', nets.dev, sys.executable, '-m',
                     'tests.channels.test_sdk_tunnel', state_dir,
                     str(keepalive)]
        self.log_path = log_path

    def _setUp(self):
        self.log = open(self.log_path, 'w')
        self.addCleanup(self.log.close)
        self.proc = subprocess.Popen(
            self.args, cwd=TOP, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.addCleanup(self._stop)

    def _stop(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def call(self, op, **args):
        self.proc.stdin.write(json.dumps(dict(args, op=op)) + '\n')
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError('the device process died: see %s'
                                 % self.log_path)
        reply = json.loads(line)
        if 'error' in reply:
            raise DeviceError(reply['error'], reply.get('type'))
        return reply


class DeviceError(Exception):
    def __init__(self, message, kind):
        super().__init__(message)
        self.kind = kind


class TestSdkTunnel(testtools.TestCase):

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.skipTest('needs root: namespaces and a privsep daemon')
        base.require_tools('ip', 'wg', 'ping')
        if os.path.exists(os.path.join(SOCKET_DIR, IFNAME + '.sock')):
            self.skipTest('%s/%s.sock exists: another wireguard-go %s runs '
                          'on this machine (its socket path is shared by '
                          'all namespaces)' % (SOCKET_DIR, IFNAME, IFNAME))
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.nets = self.useFixture(Namespaces())
        self.hub = self.useFixture(Hub(self.nets, self.tmp))
        self.state = os.path.join(self.tmp, 'state')
        log_path = os.path.join(self.tmp, 'device.log')
        self.addOnException(lambda exc_info: self.addDetail(
            'device.log', content.content_from_file(log_path)))
        self.device = self.useFixture(Device(self.nets, self.state,
                                             log_path))
        self.device_key = self.device.call('public_key')['public_key']
        self.hub.set_spoke(self.device_key)
        self.figures = {}
        self.addCleanup(lambda: self.addDetail(
            'figures', content.text_content(json.dumps(self.figures))))

    def bring_up(self):
        start = time.monotonic()
        reply = self.device.call('reconcile',
                                 channel=self.hub.channel(self.device_key))
        self.assertTrue(reply['changed'])
        seconds = self.nets.ping(10)
        self.assertIsNotNone(seconds, 'no ping through the tunnel')
        self.figures['up_to_first_ping_s'] = round(
            time.monotonic() - start, 3)
        self.figures['apply_s'] = reply['seconds']
        return reply

    def assertBroken(self):
        # Three lost pings in a row: the change did cut the tunnel.
        self.assertIsNone(self.nets.ping(3),
                          'the tunnel still carries pings')

    def test_bring_up_and_ping(self):
        reply = self.bring_up()
        links = json.loads(_run('ip', '-n', self.nets.dev, '-d', '-j',
                                'link', 'show', IFNAME).stdout)
        kind = links[0]['linkinfo']['info_kind']
        self.assertIn(kind, ('wireguard', 'tun'))
        addresses = json.loads(_run('ip', '-n', self.nets.dev, '-j',
                                    'address', 'show', IFNAME).stdout)
        self.assertEqual(
            ['%s/24' % self.nets.dev_ip],
            ['%s/%d' % (a['local'], a['prefixlen'])
             for a in addresses[0]['addr_info'] if a['family'] == 'inet'])
        shown = self.device.call('show')['show']
        self.assertEqual(self.device_key, shown['public_key'])
        peer, = shown['peers']
        self.assertEqual(self.hub.public_key, peer['public_key'])
        self.assertEqual([self.nets.subnet], peer['allowed_ips'])
        self.assertEqual(1, peer['keepalive'])
        self.assertNotIn('private', json.dumps(reply) + json.dumps(shown))
        if kind == 'tun':
            # wireguard-go was started with no_new_privs: it has the
            # daemon's CAP_NET_ADMIN and nothing more.
            pids = [pid for pid in netns.pids_in(
                os.path.join(netns.NETNS_DIR, self.nets.dev))
                    if _status(pid)['Name'].strip() == 'wireguard-go']
            self.assertEqual(1, len(pids))
            status = _status(pids[0])
            self.assertEqual('0000000000001000', status['CapEff'].strip())
            self.assertEqual('0000000000001000', status['CapPrm'].strip())
            self.assertEqual('1', status['NoNewPrivs'].strip())
        # The same channel again changes nothing; nor does it for a new
        # runner (edge-sdk run after up): the sessions stay.
        ifindex = self._ifindex()
        handshake = self.device.call('show')['show']['peers'][0][
            'latest_handshake']
        self.assertNotEqual(0, handshake)
        self.assertFalse(self.device.call(
            'reconcile', channel=self.hub.channel(self.device_key))
            ['changed'])
        self.device.call('forget')
        self.assertFalse(self.device.call(
            'reconcile', channel=self.hub.channel(self.device_key))
            ['changed'])
        self.assertEqual(ifindex, self._ifindex())
        self.assertEqual(handshake, self.device.call('show')['show'][
            'peers'][0]['latest_handshake'])
        # A link set down is brought up again.
        _run('ip', '-n', self.nets.dev, 'link', 'set', IFNAME, 'down')
        self.device.call('forget')
        self.assertTrue(self.device.call(
            'reconcile', channel=self.hub.channel(self.device_key))
            ['changed'])
        self.assertIsNotNone(self.nets.ping(RESTORE_SECONDS))
        self.device.call('down')
        self.assertEqual([], self.device.call('interfaces')['interfaces'])

    def test_hub_key_and_endpoint_change(self):
        self.bring_up()
        ifindex = self._ifindex()
        self.hub.new_key()
        self.hub.set_spoke(self.device_key)
        self.assertBroken()
        start = time.monotonic()
        self.assertTrue(self.device.call(
            'reconcile', channel=self.hub.channel(self.device_key))
            ['changed'])
        seconds = self.nets.ping(RESTORE_SECONDS)
        self.assertIsNotNone(seconds, 'the re-sync did not restore the '
                             'tunnel after the hub key changed')
        self.figures['hub_key_resync_s'] = round(
            time.monotonic() - start, 3)
        # The hub moves to another port.
        self.hub.move(HUB_PORT + 1)
        self.assertBroken()
        start = time.monotonic()
        self.device.call('reconcile',
                         channel=self.hub.channel(self.device_key))
        self.assertIsNotNone(self.nets.ping(RESTORE_SECONDS))
        self.figures['hub_endpoint_resync_s'] = round(
            time.monotonic() - start, 3)
        # Re-applied in place: the interface was not made again.
        self.assertEqual(ifindex, self._ifindex())

    def test_rotate_key(self):
        self.bring_up()
        old = self.device_key
        start = time.monotonic()
        new = self.device.call('rotate')['public_key']
        self.assertNotEqual(old, new)
        # What the channel API and the hub agent do on the PATCH.
        self.hub.set_spoke(new, old=old)
        self.assertTrue(self.device.call(
            'reconcile', channel=self.hub.channel(new))['changed'])
        seconds = self.nets.ping(RESTORE_SECONDS)
        self.assertIsNotNone(seconds, 'no tunnel after the key rotation')
        self.figures['rotate_to_ping_s'] = round(time.monotonic() - start,
                                                 3)
        self.assertEqual(new, self.device.call('show')['show']
                         ['public_key'])
        key_file = os.path.join(self.state, NAME + '.key')
        self.assertEqual(0o600, os.stat(key_file).st_mode & 0o777)
        self.assertEqual([NAME + '.key'], os.listdir(self.state))

    def test_rotate_key_hub_learns_it_later(self):
        # As with the real API: the device applies its new key before
        # the hub agent has it.  The SDK applies its configuration again
        # every second until the hub answers, so the tunnel is back
        # about a second after the hub learns the key, not at
        # WireGuard's next retry 5 s later.
        self.bring_up()
        old = self.device_key
        new = self.device.call('rotate')['public_key']
        late = 2.0
        timer = threading.Timer(late, self.hub.set_spoke, (new, old))
        timer.start()
        self.addCleanup(timer.cancel)
        reply = self.device.call('reconcile', channel=self.hub.channel(new))
        timer.join()
        self.assertTrue(reply['changed'])
        self.figures['hub_late_by_s'] = late
        self.figures['reconcile_with_late_hub_s'] = reply['seconds']
        self.assertLess(reply['seconds'], late + 2.0)
        self.assertIsNotNone(self.nets.ping(1))

    def test_hostile_channel_changes_nothing(self):
        self.bring_up()
        channel = self.hub.channel(self.device_key)
        hub = channel['peers'][0]['properties']
        for field, value in (
                ('endpoint', hub['endpoint'] + '\nListenPort = 1'),
                ('public_key', self.hub.public_key + '\n[Peer]'),
                ('subnet', '0.0.0.0/0\nPostUp = id'),
                ('endpoint', 'evil.example:51820')):
            bad = json.loads(json.dumps(channel))
            bad['peers'][0]['properties'][field] = value
            e = self.assertRaises(DeviceError, self.device.call,
                                  'reconcile', channel=bad)
            self.assertEqual('InvalidChannel', e.kind, str(e))
        # The tunnel was not touched.
        self.assertIsNotNone(self.nets.ping(2))
        shown = self.device.call('show')['show']
        self.assertEqual([self.nets.subnet],
                         shown['peers'][0]['allowed_ips'])

    def _ifindex(self):
        return json.loads(_run('ip', '-n', self.nets.dev, '-j', 'link',
                               'show', IFNAME).stdout)[0]['ifindex']


def _device_main(state_dir, keepalive):
    """The device side: JSON requests on stdin, answers on stdout."""
    from oslo_config import cfg
    from oslo_privsep import priv_context

    from edge_sdk import conf
    from edge_sdk import keys
    from edge_sdk import privileged
    from edge_sdk import sync
    from edge_sdk import wireguard

    conf.register_opts(cfg.CONF)
    cfg.CONF([], project='edge-sdk', default_config_files=[])
    privileged.context.start(method=priv_context.Method.FORK)
    settings = sync.Settings(state_dir, channels=[NAME],
                             persistent_keepalive=keepalive,
                             handshake_wait=HANDSHAKE_WAIT)
    runner = sync.Runner(settings, client=None)
    out = sys.stdout
    for line in sys.stdin:
        request = json.loads(line)
        op = request['op']
        try:
            if op == 'public_key':
                reply = {'public_key': keys.ensure_key(state_dir, NAME)[1]}
            elif op == 'reconcile':
                start = time.monotonic()
                changed = runner.reconcile(NAME, request['channel'])
                reply = {'changed': changed,
                         'seconds': round(time.monotonic() - start, 3)}
            elif op == 'forget':
                runner.applied.clear()
                reply = {}
            elif op == 'rotate':
                reply = {'public_key': sync.new_key(state_dir, NAME)}
            elif op == 'show':
                reply = {'show': privileged.show(
                    wireguard.interface_name(NAME))}
            elif op == 'down':
                sync.down(settings)
                reply = {}
            elif op == 'interfaces':
                reply = {'interfaces': list(privileged.list_interfaces())}
            else:
                reply = {'error': 'unknown op %s' % op, 'type': 'op'}
        except Exception as e:
            reply = {'error': str(e), 'type': type(e).__name__}
        out.write(json.dumps(reply, default=list) + '\n')
        out.flush()


if __name__ == '__main__':
    _device_main(sys.argv[1], int(sys.argv[2]))
