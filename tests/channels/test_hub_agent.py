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

import configparser
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid

import fixtures
from testtools import content

from aio import service
from tests.channels import base


CLONE_NEWNET = 0x40000000
HUB_UNDERLAY = '192.168.231.1'
DEVICE_UNDERLAY = '192.168.231.2'
CIDR = '10.231.0.0/24'
PORT_RANGE = '51900-51909'
RABBIT_PORT = 5672
#: How soon a change in Neutron must be on the hub's interface.
APPLY_SECONDS = 5.0
#: How soon a device must reach the hub again after the hub's interface
#: was rebuilt: WireGuard makes a new handshake once a session has
#: gone unanswered for keepalive (10 s) + rekey (5 s) seconds.
RECONNECT_SECONDS = 30.0
SOCKET_DIR = '/var/run/wireguard'
WG_ENV = dict(os.environ, WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD='1')


def _run(*args, check=True, **kw):
    return subprocess.run(list(args), capture_output=True, text=True,
                          check=check, timeout=30, **kw)


def _wait(what, predicate, timeout, start=None):
    """Seconds from ``start`` (a ``time.monotonic()``; default now) until
    ``predicate()`` is true; fails after ``timeout``.
    """
    start = time.monotonic() if start is None else start
    while True:
        value = predicate()
        if value:
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise AssertionError('no %s within %.0f s' % (what, timeout))
        time.sleep(0.1)


def _setns(path):
    libc = ctypes.CDLL(None, use_errno=True)
    with open(path) as f:
        if libc.setns(f.fileno(), CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), 'setns(%s)' % path)


def _listen_in(ns, ports):
    """Sockets listening on 127.0.0.1:``ports`` inside namespace ``ns``
    (made by a thread that enters it; the test's threads stay out).
    """
    made = {}

    def enter():
        try:
            _setns('/run/netns/%s' % ns)
            for port in ports:
                made[port] = service.listening_socket(port)
        except Exception as e:
            made['error'] = e

    thread = threading.Thread(target=enter)
    thread.start()
    thread.join()
    if 'error' in made:
        raise made.pop('error')
    return made


class Forwarder(fixtures.Fixture):
    """Inside namespace ``ns``, 127.0.0.1:port leads to this host's
    127.0.0.1:port, for each of ``ports``.
    """

    def __init__(self, ns, ports):
        super().__init__()
        self.ns = ns
        self.ports = ports
        self.sockets = []
        self.closed = False

    def _setUp(self):
        listeners = _listen_in(self.ns, self.ports)
        self.sockets.extend(listeners.values())
        self.addCleanup(self._close)
        for port, sock in listeners.items():
            threading.Thread(target=self._accept, args=(sock, port),
                             daemon=True).start()

    def _close(self):
        self.closed = True
        for sock in list(self.sockets):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def _accept(self, listener, port):
        while not self.closed:
            try:
                inner, _ = listener.accept()
            except OSError:
                return
            try:
                outer = socket.create_connection(('127.0.0.1', port))
            except OSError:
                inner.close()
                continue
            self.sockets += [inner, outer]
            for a, b in ((inner, outer), (outer, inner)):
                threading.Thread(target=self._pipe, args=(a, b),
                                 daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass


def _pids_in(ns):
    """Processes in namespace ``ns``: only ours can be there."""
    inode = os.stat('/run/netns/%s' % ns).st_ino
    pids = []
    for pid in os.listdir('/proc'):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            if os.stat('/proc/%s/ns/net' % pid).st_ino == inode:
                pids.append(int(pid))
        except OSError:
            pass
    return pids


class Namespaces(fixtures.Fixture):
    """A hub namespace and a device namespace joined by a veth pair."""

    def _setUp(self):
        #: WireGuard interfaces made in the namespaces (by the agent or
        #: the test), whose control sockets must not outlive them.
        self.wireguard_names = set()
        tag = uuid.uuid4().hex[:6]
        self.hub = 'h3hub-' + tag
        self.dev = 'h3dev-' + tag
        for ns in (self.hub, self.dev):
            _run('ip', 'netns', 'add', ns)
            self.addCleanup(self._remove, ns)
            _run('ip', 'netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up')
        _run('ip', 'link', 'add', 'h3h' + tag, 'netns', self.hub, 'type',
             'veth', 'peer', 'name', 'h3d' + tag, 'netns', self.dev)
        for ns, link, addr in ((self.hub, 'h3h' + tag, HUB_UNDERLAY),
                               (self.dev, 'h3d' + tag, DEVICE_UNDERLAY)):
            _run('ip', 'netns', 'exec', ns, 'ip', 'addr', 'add',
                 addr + '/24', 'dev', link)
            _run('ip', 'netns', 'exec', ns, 'ip', 'link', 'set', link, 'up')

    def _remove(self, ns):
        # wireguard-go daemons (the agent's, the device's) live here:
        # stopped, they remove their sockets in /var/run/wireguard.
        pids = _pids_in(ns)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + 5
            while pids and time.monotonic() < deadline:
                time.sleep(0.1)
                pids = [p for p in pids if os.path.exists('/proc/%d' % p)]
            if not pids:
                break
        _run('ip', 'netns', 'del', ns)
        for name in self.wireguard_names:
            try:
                os.unlink(os.path.join(SOCKET_DIR, name + '.sock'))
            except FileNotFoundError:
                pass

    def in_hub(self, *args, **kw):
        return _run('ip', 'netns', 'exec', self.hub, *args, **kw)

    def in_dev(self, *args, **kw):
        return _run('ip', 'netns', 'exec', self.dev, *args, **kw)

    def pings(self, address):
        return self.in_dev('ping', '-n', '-c', '1', '-W', '1', address,
                           check=False).returncode == 0


class HubAgentProcess(fixtures.Fixture):
    """``edge-channels-hub-agent`` in the hub namespace."""

    def __init__(self, ns, conf_path, log):
        super().__init__()
        self.ns = ns
        self.conf_path = conf_path
        self.log = log
        self.popen = None

    def _setUp(self):
        self.start()
        self.addCleanup(self.stop)

    def start(self):
        with open(self.log + '.out', 'ab') as out:
            self.popen = subprocess.Popen(
                ['ip', 'netns', 'exec', self.ns,
                 service.bin_path('edge-channels-hub-agent'),
                 '--config-file', self.conf_path],
                stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)

    def kill(self, sig=signal.SIGKILL):
        """Kill the agent and its privsep daemon (its session)."""
        if self.popen is None:
            return
        try:
            os.killpg(self.popen.pid, sig)
        except ProcessLookupError:
            pass
        try:
            self.popen.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(15)
        self.popen = None

    def stop(self):
        self.kill(signal.SIGTERM)

    def alive(self):
        return self.popen is not None and self.popen.poll() is None


class HubAgentTest(base.ChannelsTestCase):

    PLANE_OPTIONS = {'users': {
        # The service role alone: what the agent's user needs.
        'edge-hub': ('service', ('service',))}}

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
        for tool in ('wg', 'wireguard-go'):
            if shutil.which(tool) is None:
                self.skipTest('%s is missing: apt-get install '
                              'wireguard-tools wireguard-go' % tool)
        self.work = self.useFixture(fixtures.TempDir()).path
        self.host = 'hub-%s' % uuid.uuid4().hex[:8]
        self.nets = self.useFixture(Namespaces())
        self.useFixture(Forwarder(self.nets.hub, [
            self.plane.keystone.port, self.plane.neutron.port,
            RABBIT_PORT]))
        self.state_dir = os.path.join(self.work, 'state')
        self.log = os.path.join(self.work, 'hub-agent.log')
        self.addCleanup(self._keep_logs)
        self.conf = self._write_conf()
        self.ports = []
        self.addCleanup(self._delete_ports)
        self.agent = self.useFixture(HubAgentProcess(
            self.nets.hub, self.conf, self.log))

    def _keep_logs(self):
        # Read now: the directory goes with the test.
        for path in (self.log, self.log + '.out'):
            if os.path.exists(path):
                self.addDetail(os.path.basename(path),
                               content.content_from_file(path,
                                                         buffer_now=True))

    def _write_conf(self):
        conf = configparser.ConfigParser(interpolation=None)
        conf['DEFAULT'] = {'debug': 'true', 'log_file': self.log,
                           'transport_url': self.plane.transport_url}
        conf['hub'] = {'host': self.host,
                       'endpoint_address': HUB_UNDERLAY,
                       'listen_port_range': PORT_RANGE,
                       'state_dir': self.state_dir,
                       # Only notifications can make the changes quick.
                       'resync_interval': '3600',
                       'wireguard_backend': 'auto'}
        conf['neutron'] = dict(self.plane.credentials('edge-hub'),
                               auth_type='password',
                               valid_interfaces='public')
        path = os.path.join(self.work, 'hub.conf')
        with open(path, 'w') as f:
            conf.write(f)
        return path

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
        out = self.nets.in_hub('wg', 'show', device, 'dump', check=False,
                               env=WG_ENV)
        if out.returncode != 0:
            return None
        lines = out.stdout.splitlines()
        peers = {}
        for line in lines[1:]:
            fields = line.split('\t')
            peers[fields[0]] = (fields[3], int(fields[5]))
        return peers

    def _interface_key(self, device):
        out = self.nets.in_hub('wg', 'show', device, 'public-key',
                               check=False, env=WG_ENV)
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

    def _device_tunnel(self, key_path, spoke, hub):
        ifname = 'h3s-' + uuid.uuid4().hex[:6]
        self.nets.wireguard_names.add(ifname)
        self.nets.in_dev('wireguard-go', ifname, env=WG_ENV)
        profile = hub['binding:profile']
        self.nets.in_dev('wg', 'set', ifname, 'private-key', key_path,
                         'peer', profile['public_key'], 'endpoint',
                         profile['endpoint'], 'allowed-ips', CIDR,
                         'persistent-keepalive', '1', env=WG_ENV)
        self.nets.in_dev('ip', 'addr', 'add', '%s/24' % (
            spoke['fixed_ips'][0]['ip_address']), 'dev', ifname)
        self.nets.in_dev('ip', 'link', 'set', ifname, 'up')
        return ifname

    def _log_lines(self, text):
        with open(self.log) as f:
            return [line for line in f if text in line]

    # -- the proof ----------------------------------------------------------

    def _wait_started(self):
        # The first full re-sync done: the agent listens by then.
        _wait('agent start', lambda: os.path.exists(self.log) and
              self._log_lines('Full re-sync of'), 60)

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

        figures['hub create -> key+endpoint in Neutron'] = _wait(
            'report of the hub', report, 60, start)
        # ML2 binds the port again once the profile is stored.
        _wait('hub port ACTIVE',
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
        figures['spoke create -> peer on hub (1st)'] = _wait(
            'peer of spoke 1', lambda: pub1 in (self._peers(device) or {}),
            APPLY_SECONDS, start)
        self.assertEqual(ip1 + '/32', self._peers(device)[pub1][0])
        self._device_tunnel(key1, spoke1, reported)
        figures['device up -> first ping'] = _wait(
            'ping through the tunnel', lambda: self.nets.pings(hub_ip), 15)

        # One more spoke: only its peer is touched.
        rx_before = self._peers(device)[pub1][1]
        applied_before = len(self._log_lines('applied'))
        _key2, pub2 = self._device_key('two')
        start = time.monotonic()
        spoke2_id = self._spoke(hub, pub2)['id']
        figures['spoke create -> peer on hub (2nd)'] = _wait(
            'peer of spoke 2', lambda: pub2 in (self._peers(device) or {}),
            APPLY_SECONDS, start)
        peers = self._peers(device)
        self.assertEqual({pub1, pub2}, set(peers))
        # Spoke 1's peer kept its session and counters.
        self.assertGreaterEqual(peers[pub1][1], rx_before)
        self.assertTrue(self.nets.pings(hub_ip))
        # The agent logs a change once privsep returns: after it shows.
        _wait('log of the change', lambda: len(
            self._log_lines('applied')) > applied_before, APPLY_SECONDS)
        applied = self._log_lines('applied')[applied_before:]
        self.assertEqual(1, len(applied), applied)
        self.assertIn('applied 2 operations (peer_set, route_add)',
                      applied[0])

        # A deleted spoke's peer goes within seconds.
        start = time.monotonic()
        self._delete(spoke2_id)
        figures['spoke delete -> peer gone'] = _wait(
            'removal of spoke 2', lambda: pub2 not in self._peers(device),
            APPLY_SECONDS, start)
        self.assertEqual({pub1}, set(self._peers(device)))

        # A second hub, deleted while the agent is down.
        gone = self._hub()
        gone_device = self._device(gone)
        self.nets.wireguard_names.add(gone_device)
        _wait('second hub', lambda: self._peers(gone_device) is not None,
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
        self.agent.start()
        figures['agent restart -> interface rebuilt'] = _wait(
            'rebuilt interface', lambda: pub1 in (self._peers(device) or {}),
            30)
        _wait('removal of the hub deleted meanwhile',
              lambda: self._peers(gone_device) is None, APPLY_SECONDS)
        _wait('removal of its key', lambda: not os.path.exists(gone_key),
              APPLY_SECONDS)
        self.assertEqual(hub_key, self._interface_key(device))
        self.assertEqual(reported['binding:profile'],
                         self._show(hub['id'])['binding:profile'])
        figures['rebuilt -> device pings again'] = _wait(
            'ping after the rebuild', lambda: self.nets.pings(hub_ip),
            RECONNECT_SECONDS)

        # The hub deleted: its interface and key go.
        start = time.monotonic()
        self._delete(hub['id'])
        figures['hub delete -> interface gone'] = _wait(
            'removal of the interface',
            lambda: self._peers(device) is None, APPLY_SECONDS, start)
        _wait('removal of the key', lambda: not os.path.exists(key_file),
              APPLY_SECONDS)
        self.assertTrue(self.agent.alive())
        self.addDetail('figures', content.text_content('\n'.join(
            '%s: %.3f s' % item for item in figures.items())))
        print('\n'.join('%s: %.3f s' % item for item in figures.items()))
