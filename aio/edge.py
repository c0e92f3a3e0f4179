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

"""An emulated edge host that reaches the cloud only through its
control channel, and the cloud's hub agent that ends that channel.

Picture::

    root namespace (the cloud)                 edge namespace
    Keystone, Placement, RabbitMQ ... on       edge-sdk, its wireguard-go
    127.0.0.1; the hub agent and its           (ec-control), cyborg-agent
    wireguard-go (wg-<hub>)                    ...
        eu-<tag> 198.18.0.1  ---- veth ----  underlay 198.18.x.y

The edge namespace's only link is the veth "underlay" (addresses from
198.18.0.0/15, the benchmark range: nothing else on this machine uses
it), with one host route to 198.18.0.1 and no default route.  On the
cloud side, ``198.18.0.1`` is the hubs' WireGuard endpoint, and the
cloud's INPUT accepts from the underlay only WireGuard to the hubs'
ports and the *public* services the device needs before it has a
tunnel.

**Public services** (the underlay): Keystone, at
``http://198.18.0.1:<port>/v3`` (the SDK's ``OS_AUTH_URL``), the
channel API and, for an enrolled edge host, the enrollment API.  A
real device meets them on the Internet; it needs them to enroll and
get its channels, and again to repair them (new hub key or endpoint),
so they cannot be behind the tunnel they set up.

**Enrollment** (``enroll``, the cloud's ``aio.enroll.Enroll``): the
device's owner runs ``edge-sdk register`` once with their password;
the enrollment service's workers make the channels and an application
credential, which the SDK stores in its state directory; ``edge-sdk
up`` and every later command run with no ``OS_*`` variable at all.
Without ``enroll`` (the channel suites, whose cloud has no enrollment
service) ``edge-sdk up`` makes the channels itself with the owner's
password.

**Everything the edge host's services use** (the catalog's
``127.0.0.1:<port>`` of Keystone, Placement, RabbitMQ, Neutron,
Cyborg...) goes through the tunnel.  Two small pieces of netfilter
make the catalog's addresses true inside the namespace, without a
process in between:

* in the edge namespace, ``nat OUTPUT`` DNATs ``127.0.0.1:<port>`` to
  the hub's channel address (the tunnel), or for the public APIs to
  198.18.0.1 (the underlay); ``POSTROUTING`` masquerades the loopback
  source, and ``route_localnet`` lets such packets leave (the
  namespace is ours alone, so ``all``);
* on the cloud side, ``nat PREROUTING`` DNATs what comes in on the
  hub's WireGuard interface from this device's channel address (and
  what comes in on the underlay for the public ports) to 127.0.0.1,
  with ``route_localnet`` on those two interfaces only, so nothing else
  of the machine can reach its loopback.

A per-service TCP relay bound to the hub's address would do too, but
it is a process per service and port to start, watch and stop, and it
hides the peer's address from the service; DNAT is a handful of rules
that go with one chain.  With the tunnel down (the interface down, the
underlay cut, the hub gone) nothing at those addresses answers: there
is no other way in.

Every edge namespace has its own ``/run/wireguard`` (a tmpfs in a mount
namespace held by a ``sleep`` process), so that two edge hosts can
both have ``ec-control`` without sharing wireguard-go's control socket.
``stop()`` removes all ``start()`` made, also after a failed start.

    hub = HubAgent(workdir, logs, keystone, transport_url)
    hub.start(plane.track)
    edge = EdgeHost('edge-1', workdir, logs, keystone, channel_api, hub,
                    tunnelled={'keystone': keystone.port, ...},
                    enroll=enroll)
    edge.start()                    # register, then up
    edge.wait_enrolled()            # "openstack hardware show", STEADY
    edge.run(['curl', 'http://127.0.0.1:%d/' % placement.port])
    edge.call(probe)                # probe() in a thread in the namespace
    edge.stop()
"""

import configparser
import ipaddress
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid

from aio import emulated as emulated_mod
from aio import keystone as keystone_mod
from aio import netns
from aio import service
from edge_channels import naming
from edge_channels.hub import overlay as hub_overlay


#: The underlay's range; the cloud's end of every underlay.
UNDERLAY = ipaddress.ip_network('198.18.0.0/15')
CLOUD_ADDRESS = '198.18.0.1'
#: The root namespace's hub agent listens on these UDP ports.
HUB_PORT_RANGE = (51980, 51989)
HUB_HOST = 'edge-hub'
HUB_USER = 'edge-hub'
#: What an enrolled edge host says it is (``openstack hardware show``).
MACHINE_NAME = 'aio-emulated-edge-host'
CONTACT_EMAIL = 'owner@example.org'
#: The device side's interface names (``edge_sdk``).
DEVICE_PREFIX = 'ec-'
SOCKET_DIR = netns.SOCKET_DIR
TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UMOCKDEV_PRELOAD = 'libumockdev-preload.so.0'
#: hub interface -> how many edge hosts of this process set its
#: route_localnet.
_LOCALNET_USERS = {}
_LOCALNET_LOCK = threading.Lock()
#: (table, hook) of the chains an edge host makes in the root namespace.
CHAINS = (('nat', 'PREROUTING'), ('filter', 'INPUT'), ('nat', 'INPUT'))


#: A step of an edge host or hub failed; says what to look at.
EdgeFailed = netns.Failed
_run = netns.run
_links = netns.links
_kill = netns.kill


def _chain_name(tag, hook):
    return 'edge-%s-%s' % (tag, hook[:3].lower())


def _sysctl_path(interface, key):
    return '/proc/sys/net/ipv4/conf/%s/%s' % (interface, key)


def _write(path, value):
    with open(path, 'w') as f:
        f.write(value)


class Chain:
    """One iptables chain of ours in ``table`` of the root namespace,
    jumped to from the top of ``hook``; ``remove()`` leaves no trace.
    """

    def __init__(self, table, name, hook):
        self.table = table
        self.name = name
        self.hook = hook

    def _ipt(self, *args, check=True):
        return _run(['iptables', '-w', '-t', self.table] + list(args),
                    check=check)

    def create(self):
        self._ipt('-N', self.name)
        self._ipt('-I', self.hook, '1', '-j', self.name)

    def append(self, *rule):
        self._ipt('-A', self.name, *rule)

    def remove(self):
        while self._ipt('-D', self.hook, '-j', self.name,
                        check=False).returncode == 0:
            pass
        if self._ipt('-S', self.name, check=False).returncode == 0:
            self._ipt('-F', self.name)
            self._ipt('-X', self.name)


class HubAgent:
    """``edge-channels-hub-agent``, serving hub host ``host`` with
    WireGuard endpoint ``endpoint``: by default the cloud's, in the root
    namespace, at ``198.18.0.1``; or in ``namespace`` (an
    ``aio.netns.Namespace``), as tests of the agent alone run it.
    ``options``: more or other ``[hub]`` options.

    In the root namespace it runs where the cloud's services are, so
    the hub's interface can hand the tunnel's traffic to them (see the
    module).  Its full re-sync removes every ``wg-<12 hex>`` interface
    of its namespace that is not one of its hubs: ``setup`` refuses to
    start while such an interface exists there (another hub agent's).
    """

    def __init__(self, workdir, logs, keystone, transport_url,
                 host=HUB_HOST, port_range=HUB_PORT_RANGE,
                 endpoint=CLOUD_ADDRESS, namespace=None, options=None):
        self.dir = os.path.join(workdir, 'edge-hub')
        self.state_dir = os.path.join(self.dir, 'state')
        self.log = os.path.join(logs, 'edge-hub-agent.log')
        self.conf = os.path.join(self.dir, 'hub.conf')
        self.keystone = keystone
        self.transport_url = transport_url
        self.host = host
        self.port_range = port_range
        self.endpoint = endpoint
        self.namespace = namespace
        self.options = dict(options or {})
        self.process = None

    @property
    def _ns(self):
        return self.namespace.name if self.namespace else None

    def setup(self):
        for tool in ('wg', 'wireguard-go', 'iptables', 'nsenter'):
            if shutil.which(tool) is None:
                raise EdgeFailed('%s is missing: apt-get install '
                                 'wireguard-tools wireguard-go iptables '
                                 'util-linux' % tool)
        others = [n for n in _links(self._ns)
                  if naming.is_wireguard_device(n)]
        if others:
            raise EdgeFailed(
                'hub interfaces %s exist in the %s namespace: another '
                'hub agent runs there, and this one would remove them; '
                'stop it (or delete the leftovers with "ip link del")'
                % (', '.join(others), self._ns or 'root'))
        os.makedirs(self.dir)
        if HUB_USER not in self.keystone.users:
            # The service role alone: what the agent needs in Neutron.
            self.keystone.add_user(HUB_USER, 'service', ('service',))
        hub = {'host': self.host,
               'endpoint_address': self.endpoint,
               'listen_port_range': '%d-%d' % tuple(self.port_range),
               'state_dir': self.state_dir,
               'resync_interval': '300'}
        hub.update(self.options)
        service.write_conf(self.conf, {
            'DEFAULT': {'debug': 'true', 'log_file': self.log,
                        'transport_url': self.transport_url},
            'hub': hub,
            'neutron': dict(self.keystone.credentials(HUB_USER),
                            auth_type='password',
                            region_name=keystone_mod.REGION,
                            valid_interfaces='public'),
        })
        argv = [service.bin_path('edge-channels-hub-agent'),
                '--config-file', self.conf]
        if self.namespace is not None:
            argv = self.namespace.argv(argv)
        self.process = service.Process('edge-channels-hub-agent', argv,
                                       self.log + '.out')
        return self

    def start(self, on_start=None, wait=True):
        """Start (again, after ``kill``/``stop``); ``on_start(process)``
        once it runs; with ``wait``, return once its full re-sync is
        done (it hears notifications by then).
        """
        before = self.resyncs()
        self.process.start()
        if on_start is not None:
            on_start(self.process)
        if wait:
            self.wait_synced(before)

    def resyncs(self):
        """How many full re-syncs its log shows."""
        if not os.path.exists(self.log):
            return 0
        with open(self.log) as f:
            return sum('Full re-sync of' in line for line in f)

    def wait_synced(self, after=0, timeout=60):
        """Wait until its log shows more than ``after`` full re-syncs."""
        self.process.wait_until(lambda: self.resyncs() > after,
                                'a full re-sync', timeout)

    def alive(self):
        popen = self.process.popen if self.process else None
        return popen is not None and popen.poll() is None

    def kill(self):
        """SIGKILL the agent and its privsep daemon (its process group),
        as a crash would; its interfaces stay.
        """
        popen = self.process.popen if self.process else None
        if popen is None:
            return
        try:
            os.killpg(popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        popen.wait(15)
        self.process.popen = None

    def stop(self):
        """Stop the agent, and remove the interfaces it left (hubs still
        in Neutron keep theirs across an agent's restart, not across
        this); returns the problems met.
        """
        if self.process is not None:
            self.process.stop()
        return HubAgent.teardown(self.record)

    @property
    def record(self):
        """Where its hubs are known once it stopped, for ``teardown``."""
        return {'state_dir': self.state_dir, 'ns': self._ns}

    @staticmethod
    def teardown(record, progress=None):
        """Remove the interfaces (and relay) a stopped agent left, from
        ``record``; returns the problems met.
        """
        progress = progress or (lambda message: None)
        errors = []
        state_dir, namespace = record['state_dir'], record['ns']
        hubs = []
        if os.path.isdir(state_dir):
            hubs = [n[:-4] for n in os.listdir(state_dir)
                    if n.endswith('.key')]
        ns = ['-n', namespace] if namespace else []
        for hub_id in hubs:
            device = naming.wireguard_device(hub_id)
            _kill([pid for pid in _wireguard_go(device)])
            if device in _links(namespace):
                progress('removing the hub interface %s' % device)
                result = _run(['ip'] + ns + ['link', 'del', device],
                              check=False)
                if result.returncode:
                    errors.append('hub interface %s: %s'
                                  % (device, result.stderr.strip()))
            try:
                os.unlink(os.path.join(SOCKET_DIR, device + '.sock'))
            except FileNotFoundError:
                pass
        if namespace is None:
            # The overlay's relay is the agent's too; in a namespace of
            # its own it goes with the namespace.
            try:
                hub_overlay.Relay().remove_all()
            except Exception as e:
                errors.append('overlay relay: %s' % e)
        return errors


def _wireguard_go(device):
    """The pids of ``wireguard-go <device>`` (a hub's, named by its
    port: ours).
    """
    found = []
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open('/proc/%s/cmdline' % pid, 'rb') as f:
                argv = f.read().split(b'\0')
        except OSError:
            continue
        if (argv and os.path.basename(argv[0]) == b'wireguard-go' and
                device.encode() in argv[1:]):
            found.append(int(pid))
    return found


class EdgeHost:
    """Edge host ``name``: a network namespace reaching the cloud only
    through its ``channel`` (see the module).

    ``keystone``: the cloud's ``aio.keystone.Keystone``;
    ``channel_api``: its ``aio.channels.ChannelAPI`` (running);
    ``hub``: the running ``HubAgent``, host of the API's hubs;
    ``tunnelled``: ``{label: port}`` of the cloud's services on
    127.0.0.1 that the edge host reaches through the tunnel, at
    127.0.0.1:port (at most 15); ``user``: the Keystone user whose
    project owns the channel (each edge host of one project needs its
    own ``channel`` name: the SDK finds its channel by name).
    ``tenant_channel``: the name of a second channel, on the channel
    subnet ``tenant_subnet`` (name, ID or CIDR), that carries the
    tenant overlay (ML2 ``edge_bridge``); None: the control channel
    alone.  ``loopback_peers``: those of ``tunnelled``'s ports whose
    service admits clients by their address and knows only 127.0.0.1
    (MariaDB's ``root@127.0.0.1``): there the edge host's connections
    come from 127.0.0.1 (SNAT), as those of the cloud's own services.
    ``enroll``: the cloud's running ``aio.enroll.Enroll``, through
    which the edge host enrolls as hardware ``name`` of ``user``'s
    project (see the module); its channels are then ``control`` and
    ``tenant`` (the names an enrolled device can have), and the
    enrollment service's ``[channel] channel_subnets`` choose their
    subnets (``tenant_subnet`` is not used).
    """

    def __init__(self, name, workdir, logs, keystone, channel_api, hub,
                 tunnelled, user='demo', channel='control',
                 tenant_channel=None, tenant_subnet=None,
                 loopback_peers=(), enroll=None):
        if len(tunnelled) > 15:
            raise ValueError('at most 15 tunnelled ports (iptables '
                             'multiport), not %d' % len(tunnelled))
        self.name = name
        self.keystone = keystone
        self.channel_api = channel_api
        self.hub = hub
        self.tunnelled = dict(tunnelled)
        self.loopback_peers = sorted(set(loopback_peers))
        self.user = user
        self.channel_name = channel
        self.tenant_channel_name = tenant_channel
        self.tenant_subnet = tenant_subnet
        self.enroll = enroll
        #: What ``edge-sdk register --json`` answered (enrolled only).
        self.registration = None
        #: The tenant channel (the API's representation), once up.
        self.tenant_channel = None
        self.tag = uuid.uuid4().hex[:8]
        self.netns = netns.Namespace('edge-%s-%s' % (name, self.tag))
        self.ns = self.netns.name
        self.ns_path = self.netns.path
        self.veth = 'eu-' + self.tag
        self.dir = os.path.join(workdir, 'edge-%s' % name)
        self.state_dir = os.path.join(self.dir, 'sdk-state')
        self.sdk_conf = os.path.join(self.dir, 'edge-sdk.conf')
        self.sdk_log = os.path.join(logs, 'edge-sdk-%s.log' % name)
        self.address = None
        #: The channel (the API's representation), once up.
        self.channel = None
        #: The device's and the hub's channel addresses, and the hub's
        #: interface on the cloud side.
        self.channel_ip = self.hub_ip = self.hub_device = None
        self.ifname = DEVICE_PREFIX + channel
        self._holder = None
        self._nat = self._filter = None
        self._localnet = None
        #: The umockdev testbed keeper and the nodes of the plugged kit.
        self._keeper = None
        self._nodes = {}
        #: cyborg-agent in the edge host, once started.
        self.cyborg_agent = None
        self._cyborg = None
        #: Seconds: "edge-sdk register" (enrolled), "edge-sdk up".
        self.timings = {}

    @property
    def channel_names(self):
        """The SDK's channels, the control channel first."""
        return [self.channel_name] + ([self.tenant_channel_name]
                                      if self.tenant_channel_name else [])

    # -- life cycle ---------------------------------------------------------

    def start(self):
        """Make the namespace and its underlay, bring the channel up with
        ``edge-sdk up``, and route the tunnelled ports through it; on
        failure, remove what was made and raise.
        """
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self):
        os.makedirs(self.dir)
        self._make_namespace()
        self._make_underlay()
        self._start_holder()
        self._cloud_rules()
        self._edge_rules()
        self._sdk_up()
        self._tunnel_rules()

    def _make_namespace(self):
        self.netns.add()
        # The namespace is ours alone: its loopback-sourced packets may
        # leave once DNAT sends them elsewhere (module docstring).
        self.ns_run(['sysctl', '-qw', 'net.ipv4.conf.all.route_localnet=1'])

    def _make_underlay(self):
        self.address = self._free_address()
        _run(['ip', 'link', 'add', self.veth, 'type', 'veth', 'peer',
              'name', 'underlay', 'netns', self.ns])
        _run(['ip', 'addr', 'add', CLOUD_ADDRESS + '/32', 'peer',
              self.address + '/32', 'dev', self.veth])
        _write(_sysctl_path(self.veth, 'route_localnet'), '1')
        _run(['ip', 'link', 'set', self.veth, 'up'])
        self.ns_run(['ip', 'addr', 'add', self.address + '/32', 'peer',
                     CLOUD_ADDRESS + '/32', 'dev', 'underlay'])
        self.ns_run(['ip', 'link', 'set', 'underlay', 'up'])

    @staticmethod
    def _free_address():
        routes = json.loads(_run(['ip', '-j', 'route', 'show']).stdout)
        used = {r.get('dst') for r in routes}
        hosts = UNDERLAY.num_addresses - 2
        for _ in range(100):
            address = str(UNDERLAY[random.randrange(2, hosts)])  # noqa: S311
            if address not in used and address != CLOUD_ADDRESS:
                return address
        raise EdgeFailed('no free underlay address in %s' % UNDERLAY)

    def _start_holder(self):
        # A mount namespace with a /run/wireguard of its own, held by a
        # sleep: wireguard-go's control socket ec-<name>.sock is this
        # edge host's only.
        os.makedirs(SOCKET_DIR, exist_ok=True)
        self._holder = subprocess.Popen(
            self.netns.argv([
                'sh', '-c',
                'mount -t tmpfs -o mode=0700 edge-wireguard %s && '
                'echo ready && exec sleep infinity' % SOCKET_DIR]),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL, text=True, start_new_session=True)
        line = self._holder.stdout.readline()
        if line.strip() != 'ready':
            raise EdgeFailed('the mount namespace of %s did not start: %s'
                             % (self.ns, self._holder.stderr.read()))

    @property
    def public_ports(self):
        """The ports of the public services (see the module) on the
        cloud's 127.0.0.1.
        """
        ports = [self.keystone.port, self.channel_api.port]
        if self.enroll is not None:
            ports.append(self.enroll.port)
        return ports

    def _cloud_rules(self):
        public = ','.join(str(p) for p in self.public_ports)
        nat = self._nat = self._chain('nat', 'PREROUTING')
        nat.append('-i', self.veth, '-d', CLOUD_ADDRESS, '-p', 'tcp',
                   '-m', 'multiport', '--dports', public,
                   '-j', 'DNAT', '--to-destination', '127.0.0.1')
        filt = self._filter = self._chain('filter', 'INPUT')
        filt.append('-i', self.veth, '-p', 'udp', '--dport',
                    '%d:%d' % self.hub.port_range, '-j', 'ACCEPT')
        filt.append('-i', self.veth, '-m', 'conntrack', '--ctstate',
                    'DNAT,ESTABLISHED,RELATED', '-j', 'ACCEPT')
        filt.append('-i', self.veth, '-j', 'DROP')

    def _chain(self, table, hook):
        # Named by the tag alone: ``record`` knows it before it exists.
        chain = Chain(table, _chain_name(self.tag, hook), hook)
        chain.create()
        return chain

    def _edge_rules(self):
        # The catalog's URLs of the public APIs lead to the underlay
        # (Keystone's is tunnelled: the SDK uses its public URL).
        apis = ','.join(str(p) for p in self.public_ports[1:])
        self.ns_run(['iptables', '-w', '-t', 'nat', '-A', 'OUTPUT', '-d',
                     '127.0.0.1', '-p', 'tcp', '-m', 'multiport',
                     '--dports', apis, '-j', 'DNAT',
                     '--to-destination', CLOUD_ADDRESS])
        self.ns_run(['iptables', '-w', '-t', 'nat', '-A', 'POSTROUTING',
                     '-s', '127.0.0.0/8', '!', '-o', 'lo', '-j',
                     'MASQUERADE'])

    def _tunnel_rules(self):
        ports = ','.join(str(p) for p in sorted(set(
            self.tunnelled.values())))
        # Edge side: the catalog's addresses lead into the tunnel.
        self.ns_run(['iptables', '-w', '-t', 'nat', '-A', 'OUTPUT', '-d',
                     '127.0.0.1', '-p', 'tcp', '-m', 'multiport',
                     '--dports', ports, '-j', 'DNAT', '--to-destination',
                     self.hub_ip])
        # Cloud side: from this device on the hub's interface, to the
        # service on the loopback.
        self._nat.append('-i', self.hub_device, '-s', self.channel_ip,
                         '-d', self.hub_ip, '-p', 'tcp', '-m', 'multiport',
                         '--dports', ports, '-j', 'DNAT',
                         '--to-destination', '127.0.0.1')
        if self.loopback_peers:
            self._chain('nat', 'INPUT').append(
                '-s', self.channel_ip, '-d', '127.0.0.1', '-p', 'tcp', '-m',
                'multiport', '--dports', ','.join(
                    str(p) for p in self.loopback_peers),
                '-j', 'SNAT', '--to-source', '127.0.0.1')
        filt = self._filter
        filt.append('-i', self.hub_device, '-s', self.channel_ip, '-m',
                    'conntrack', '--ctstate', 'DNAT,ESTABLISHED,RELATED',
                    '-j', 'ACCEPT')
        filt.append('-i', self.hub_device, '-s', self.channel_ip, '-p',
                    'icmp', '-j', 'ACCEPT')
        filt.append('-i', self.hub_device, '-s', self.channel_ip, '-j',
                    'DROP')
        self._set_localnet()

    def _set_localnet(self):
        with _LOCALNET_LOCK:
            path = _sysctl_path(self.hub_device, 'route_localnet')
            users = _LOCALNET_USERS.setdefault(self.hub_device, 0)
            if users == 0:
                _write(path, '1')
            _LOCALNET_USERS[self.hub_device] = users + 1
            self._localnet = self.hub_device

    def _unset_localnet(self):
        with _LOCALNET_LOCK:
            device, self._localnet = self._localnet, None
            if device is None:
                return
            _LOCALNET_USERS[device] -= 1
            if _LOCALNET_USERS[device] == 0:
                del _LOCALNET_USERS[device]
                try:
                    _write(_sysctl_path(device, 'route_localnet'), '0')
                except FileNotFoundError:
                    pass  # the hub (and its interface) is gone

    # -- the Edge SDK -------------------------------------------------------

    def sdk_env(self, owner=None):
        """The environment of ``edge-sdk``: with ``owner``, the device
        owner's OS_* variables with the public Keystone; without, none
        (an enrolled device's SDK uses its stored credential).  Default:
        ``owner`` unless the edge host is enrolled.
        """
        env = {'PATH': os.environ['PATH'], 'LC_ALL': 'C.UTF-8'}
        if owner is None:
            owner = self.enroll is None
        if not owner:
            return env
        creds = self.keystone.credentials(self.user)
        creds['auth_url'] = 'http://%s:%d/v3' % (CLOUD_ADDRESS,
                                                 self.keystone.port)
        env.update({'OS_REGION_NAME': keystone_mod.REGION,
                    'OS_INTERFACE': 'public'})
        env.update({'OS_' + k.upper(): v for k, v in creds.items()})
        return env

    def sdk(self, *args, check=True, timeout=120, owner=None):
        """``edge-sdk ARGS`` in the edge host, in ``sdk_env(owner)``; its
        CompletedProcess.
        """
        return self.ns_run([service.bin_path('edge-sdk'), '--config-file',
                            self.sdk_conf, '--state-dir', self.state_dir,
                            '--log-file', self.sdk_log] + list(args),
                           env=self.sdk_env(owner), check=check,
                           timeout=timeout)

    def _sdk_up(self):
        conf = configparser.ConfigParser(interpolation=None)
        # The device's name is its channels' host (their ports'
        # device_id), which the tenant overlay binds by; enrolled, it is
        # also the hardware's name, which the compute worker takes for
        # its zun-compute's and cyborg-agent's host.
        conf['edge_sdk'] = {'channels': ','.join(self.channel_names),
                            'device_name': self.name,
                            'persistent_keepalive': '1',
                            'poll_interval': '1'}
        if self.tenant_channel_name and self.enroll is None:
            conf['edge_sdk']['channel_subnets'] = '%s:%s' % (
                self.tenant_channel_name, self.tenant_subnet)
        with open(self.sdk_conf, 'w') as f:
            conf.write(f)
        if self.enroll is not None:
            start = time.monotonic()
            # The owner's password, this once.
            self.registration = json.loads(self.sdk(
                'register', '--machine-name', MACHINE_NAME,
                '--contact-email', CONTACT_EMAIL, '--json',
                owner=True).stdout)
            self.timings['sdk_register_s'] = round(
                time.monotonic() - start, 3)
        start = time.monotonic()
        self.sdk('up')
        self.timings['sdk_up_s'] = round(time.monotonic() - start, 3)
        status = json.loads(self.sdk('status', '--json').stdout)
        self.channel = status[self.channel_name]['channel']
        if self.tenant_channel_name:
            self.tenant_channel = status[self.tenant_channel_name][
                'channel']
        self.channel_ip = self.channel['properties']['ip']
        peer = self.channel['peers'][0]
        self.hub_ip = peer['properties']['ip']
        self.hub_device = naming.wireguard_device(peer['uuid'])

    @property
    def credential_file(self):
        """Where ``edge-sdk register`` stored the credential."""
        return os.path.join(self.state_dir, 'credential.json')

    # -- its enrollment -----------------------------------------------------

    def hardware(self, *args, user=None):
        """``openstack hardware ARGS -f json`` (python-doniclient) as
        ``user`` (default: the owner); the parsed answer.
        """
        result = self.enroll.openstack('hardware', *(list(args) + [
            '-f', 'json']), user=user or self.user)
        if result.returncode != 0:
            raise EdgeFailed('openstack hardware %s: %s' % (
                ' '.join(args), result.stderr.strip()))
        return json.loads(result.stdout)

    def show(self):
        """``openstack hardware show`` of the edge host, as the owner."""
        return self.hardware('show', self.name)

    def wait_enrolled(self, profiles=(), timeout=120):
        """Wait until every worker of the edge host's hardware item is
        STEADY and its ``device_profiles`` list ``profiles``; returns
        ``openstack hardware show``.

        First ``openstack hardware sync`` (as the owner), which has the
        workers run now: the compute worker deferred while the host's
        zun-compute and agent were not up yet, with a back-off, and
        looks for new device profiles only every ``[compute]
        resync_interval``.
        """
        result = self.enroll.openstack('hardware', 'sync', self.name,
                                       user=self.user)
        if result.returncode != 0:
            raise EdgeFailed('openstack hardware sync %s: %s'
                             % (self.name, result.stderr.strip()))
        deadline = time.monotonic() + timeout
        while True:
            shown = self.show()
            states = {w['worker_type']: w['state']
                      for w in shown['workers']}
            listed = shown['properties'].get('device_profiles') or []
            if set(states.values()) == {'STEADY'} and \
                    set(profiles) <= set(listed):
                return shown
            if time.monotonic() > deadline:
                raise EdgeFailed(
                    'hardware %s not enrolled within %d s: workers %s, '
                    'device_profiles %s (%s)' % (
                        self.name, timeout, ', '.join(
                            '%s %s: %s' % (w['worker_type'], w['state'],
                                           w['state_details'].get(
                                               'last_error', ''))
                            for w in shown['workers']), listed,
                        self.enroll.worker_log))
            time.sleep(1)

    # -- its services -------------------------------------------------------

    def start_cyborg_agent(self, cyborg, kit, timeout=60):
        """cyborg-agent of host ``self.name`` inside the edge host, with
        ``kit`` (an ``aio.emulated.EmulatedKit``) plugged into an
        umockdev testbed of its own; ``cyborg`` is the cloud's
        ``aio.cyborg.Cyborg`` (its conductor running).  The agent's
        configuration is the cloud's: RabbitMQ, Keystone and Placement
        at 127.0.0.1, which here means through the tunnel.  Returns the
        agent (an ``aio.service.Process``) once it answers an RPC ping.

        Its resource provider, which zun-compute makes on a full compute
        host, must exist in Placement under the name ``self.name``.
        """
        cdi_dir = os.path.join(self.dir, 'cdi')
        os.makedirs(cdi_dir, mode=0o755, exist_ok=True)
        log = os.path.join(os.path.dirname(self.sdk_log),
                           'umockdev-%s.log' % self.name)
        with open(log, 'ab') as err:
            self._keeper = subprocess.Popen(
                ['umockdev-wrapper', sys.executable, '-m', 'aio.emulated'],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                cwd=TOP, text=True, start_new_session=True)
        root = self._keeper_answer(log)['root']
        self._nodes.update(kit.nodes)
        emulated_mod.make_nodes(kit.nodes)
        self._keeper.stdin.write(json.dumps({'plug': kit.paragraphs()}) +
                                 '\n')
        self._keeper.stdin.flush()
        self._keeper_answer(log)
        env = dict(os.environ, LD_PRELOAD=UMOCKDEV_PRELOAD,
                   UMOCKDEV_DIR=root)
        # Cyborg's own agent process, entered into the edge host.
        agent = cyborg._agent_process(self.name, cdi_dir, env)
        self.enter(agent)
        cyborg.agents[self.name] = self.cyborg_agent = agent
        self._cyborg = cyborg
        agent.start()
        agent.wait_until(lambda: cyborg._pinged('cyborg-agent', self.name),
                         'answer to an RPC ping', timeout)
        return agent

    def _keeper_answer(self, log):
        line = self._keeper.stdout.readline()
        answer = json.loads(line) if line else {
            'error': 'the testbed helper exited'}
        if 'error' in answer:
            raise service.ServiceFailed('umockdev testbed', answer['error'],
                                        log)
        return answer

    def _stop_keeper(self):
        if self._keeper is not None:
            # Its input closing has it remove the testbed directory.
            self._keeper.stdin.close()
            try:
                self._keeper.wait(15)
            except subprocess.TimeoutExpired:
                self._keeper.kill()
                self._keeper.wait()
            self._keeper.stdout.close()
            self._keeper = None
        emulated_mod.remove_nodes(list(self._nodes))
        self._nodes = {}

    # -- using it -----------------------------------------------------------

    def ns_run(self, argv, check=True, env=None, timeout=60):
        """Run ``argv`` in the edge host (its network namespace, and its
        mount namespace once that exists); a CompletedProcess.
        """
        if self._holder is None or self._holder.poll() is not None:
            return self.netns.run(argv, check=check, env=env,
                                  timeout=timeout)
        env = dict(env if env is not None else os.environ, **netns.WG_ENV)
        return _run(self.prefix() + list(argv), check=check, env=env,
                    timeout=timeout)

    def prefix(self):
        """The command prefix that runs a program in the edge host: its
        network namespace, and the mount namespace of its
        /run/wireguard (once ``start`` made it).
        """
        return ['nsenter', '-t', str(self._holder.pid), '-m', '-n', '--']

    def service_prefix(self):
        """The command prefix of the edge host's services: its network
        namespace alone (the mount namespace of ``prefix`` has a sysfs
        of its own, without the cgroup hierarchy dockerd needs).
        """
        return ['nsenter', '--net=%s' % self.ns_path, '--']

    def enter(self, process):
        """Have ``process`` (an ``aio.service.Process``, not started)
        run in the edge host as its services do; returns it.
        """
        process.argv = self.service_prefix() + process.argv
        process.name += ' in %s' % self.ns
        return process

    def popen(self, argv, **kw):
        """``subprocess.Popen`` of ``argv`` in the edge host; ``stop()``
        ends it with everything else in the namespace.
        """
        return subprocess.Popen(self.prefix() + list(argv), **kw)

    def call(self, fn, *args, **kw):
        """``fn(*args, **kw)`` in a thread inside the edge host's network
        namespace (sockets it opens are the edge host's); its result, or
        its exception raised here.
        """
        return self.netns.call(fn, *args, **kw)

    def wireguard(self):
        """``wg show <interface> dump`` fields of the device's peers."""
        out = self.ns_run(['wg', 'show', self.ifname, 'dump']).stdout
        return [line.split('\t') for line in out.splitlines()[1:]]

    def set_link(self, link, up):
        """Bring the edge host's ``link`` (its channel's interface, or
        ``underlay``) up or down.
        """
        self.ns_run(['ip', 'link', 'set', link, 'up' if up else 'down'])

    # -- removal ------------------------------------------------------------

    def _delete_channel(self):
        """Delete the channel through the API, as the device's owner (the
        channel API is public: this works whatever state the device is
        in); found by name if ``up`` failed before it was known.
        """
        if self.dir is None or not os.path.exists(self.sdk_conf):
            return  # the SDK never ran
        client = self.channel_api.client(self.user)
        known = [c for c in (self.channel, self.tenant_channel) if c]
        if len(known) == len(self.channel_names):
            ids = [c['uuid'] for c in known]
        else:
            resp = client.get('/channels')
            if resp.status_code != 200:
                raise EdgeFailed('listing answered %d' % resp.status_code)
            # The SDK names them DEVICE-CHANNEL.
            names = set(self.channel_names) | {
                '%s-%s' % (self.name, n) for n in self.channel_names}
            ids = [c['uuid'] for c in resp.json()['channels']
                   if c['name'] in names]
        for channel_id in ids:
            resp = client.delete('/channels/%s' % channel_id)
            if resp.status_code not in (204, 404):
                raise EdgeFailed('DELETE /channels/%s answered %d'
                                 % (channel_id, resp.status_code))
        self.channel = self.tenant_channel = None

    def stop(self):
        """Remove everything ``start`` made: the channel (through the
        API), processes, rules, sysctls, the namespace and its underlay.
        Returns the problems met; safe to call again.
        """
        errors = []
        try:
            self._delete_channel()
        except Exception as e:
            errors.append('channel %s of %s: %s' % (self.channel_name,
                                                    self.user, e))
        self.netns.kill_processes()
        if self.cyborg_agent is not None:
            if self.cyborg_agent.popen is not None:
                self.cyborg_agent.popen.wait(10)
            self.cyborg_agent.popen = None
            self.cyborg_agent = None
            self._cyborg.agents.pop(self.name, None)
        self._stop_keeper()
        if self._holder is not None:
            self._holder.wait(10)
            for stream in (self._holder.stdout, self._holder.stderr):
                stream.close()
            self._holder = None
        self._nat = self._filter = None
        self._unset_localnet()
        return errors + EdgeHost.teardown(self.record)

    @property
    def record(self):
        """What the edge host makes on the machine (known before
        ``start``), for ``teardown``.
        """
        return {'name': self.name, 'ns': self.ns, 'veth': self.veth,
                'chains': [[table, _chain_name(self.tag, hook), hook]
                           for table, hook in CHAINS]}

    @staticmethod
    def teardown(record, progress=None):
        """Remove what ``record`` names: the namespace with every process
        in it, the underlay, the chains; for an edge host whose process
        is gone (``stop`` does the rest).  Its channels go with Neutron's
        database.  Returns the problems met.
        """
        progress = progress or (lambda message: None)
        errors = []
        if os.path.exists(os.path.join(netns.NETNS_DIR, record['ns'])):
            progress('removing the edge host %s (namespace %s)'
                     % (record['name'], record['ns']))
        # The underlay first: the kernel removes a namespace's links in
        # the background, so its peer may vanish under "ip link del".
        if record['veth'] in _links():
            result = _run(['ip', 'link', 'del', record['veth']], check=False)
            if result.returncode and record['veth'] in _links():
                errors.append('underlay %s: %s' % (record['veth'],
                                                   result.stderr.strip()))
        errors.extend(netns.Namespace(record['ns']).remove())
        for table, name, hook in reversed(record['chains']):
            try:
                Chain(table, name, hook).remove()
            except EdgeFailed as e:
                errors.append(str(e))
        return errors

