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

"""A Docker engine of its own for a second compute host.

Each zun-compute takes every container of its Docker engine for its
own: its state sync moves a container it finds there to its host (Zun's
``DockerDriver.update_containers_states``).  And it manages a node only
if the engine's name (``docker info``, the daemon's host name) is its
``[DEFAULT] host``.  Two compute hosts on one machine therefore need two
engines.

The second one runs in namespaces of its own, mount and UTS (its host
name), but in the machine's network namespace: Kuryr plugs the veths of
its containers into bridges there.  In its mount namespace a private
tmpfs covers /run/docker, so that its exec-root is Docker's default,
/var/run/docker: kuryr-libnetwork accepts only sandboxes under
/var/run/docker/netns (its Join schema), and the machine's engine keeps
its own there.  Docker finds network plugins in /run/docker/plugins,
which inside is ``plugin_dir`` of the host's directory: the host's own
Kuryr (``aio.kuryr.Kuryr`` with ``engine``) answers there, in the same
namespaces (``enter()``).  Mounts of the namespace go with its last
process.

Its default bridge network is a bridge made for it (``record``), with
a /24 of ``BRIDGE_POOL``, no iptables rules and no masquerading: a
daemon told ``--bridge none`` deletes the machine's ``docker0``, which
breaks the machine's engine.  ``teardown(record)`` removes the bridge.

An edge host's engine (``netns``, ``enter``: an ``aio.edge.EdgeHost``'s
namespace and command prefix) runs in the edge host's network
namespace instead, with its bridge there: its containers' traffic and
Kuryr's plugs stay on the edge host.
"""

import ipaddress
import json
import os
import zlib

import docker
from pyroute2 import IPRoute
from pyroute2 import NetlinkError
from pyroute2 import NetNS

from aio import rootfs
from aio import service


#: Where the bridges of extra engines get their /24: private space clear
#: of Docker's default pools (172.17.0.0/16 to 172.31.0.0/16,
#: 192.168.0.0/16), of the cloud's Neutron subnet (aio.cloud.SUBNET,
#: 10.97.0.0/24) and of Podman's 10.88.0.0/16.
BRIDGE_POOL = ipaddress.ip_network('10.98.0.0/16')
#: Docker's exec-root by default, whose netns/ kuryr-libnetwork accepts.
EXEC_ROOT = '/var/run/docker'
#: Where Docker looks for network plugins' sockets.
PLUGIN_DIR = '/run/docker/plugins'
#: Covered by a tmpfs in the engine's mount namespace (both names, in
#: case /var/run is not a link to /run).
PRIVATE_DIRS = ('/run/docker', EXEC_ROOT)

#: Run in the new namespaces, before dockerd: "$1" host name, "$2" the
#: host directory to show as PLUGIN_DIR, "$3..." directories to cover.
_SETUP = '''set -e
hostname "$1"
plugins=$2
shift 2
while [ "$1" != -- ]; do
    mkdir -p "$1"
    mount -t tmpfs -o mode=0711 docker-private "$1"
    shift
done
shift
mkdir -p %(plugins)s
mount --bind "$plugins" %(plugins)s
exec "$@"
''' % {'plugins': PLUGIN_DIR}


def _netlink(netns):
    """pyroute2's netlink socket of namespace ``netns`` (None: ours)."""
    return NetNS(netns) if netns else IPRoute()


def bridge_name(cloud_id, index):
    """The bridge of the cloud's ``index``-th extra engine.

    Not of the cloud's Kuryr prefix ('e' and its ID), whose bridges
    Kuryr's teardown removes.
    """
    return 'dk%s%d' % (cloud_id, index)


def _networks_in_use():
    """IPv4 networks of the machine's addresses and routes."""
    found = set()
    with IPRoute() as ipr:
        for addr in ipr.get_addr(family=2):
            found.add(ipaddress.ip_network('%s/%d' % (
                addr.get_attr('IFA_ADDRESS'), addr['prefixlen']),
                strict=False))
        for route in ipr.get_routes(family=2, table=254):
            dst = route.get_attr('RTA_DST')
            if dst is not None:
                found.add(ipaddress.ip_network('%s/%d' % (
                    dst, route['dst_len']), strict=False))
    return found


def free_subnet(name):
    """A /24 of ``BRIDGE_POOL`` that nothing on the machine uses; the
    search starts at one derived from ``name``, so that clouds side by
    side start apart.
    """
    candidates = list(BRIDGE_POOL.subnets(new_prefix=24))
    used = _networks_in_use()
    first = zlib.crc32(name.encode()) % len(candidates)
    for subnet in candidates[first:] + candidates[:first]:
        if not any(subnet.overlaps(net) for net in used):
            return subnet
    raise RuntimeError('no free /24 left in %s for the bridge %s'
                       % (BRIDGE_POOL, name))


class Dockerd:
    """The engine of host ``hostname``, keeping its data, socket, pid
    file and plugin directory in ``directory``, with bridge ``bridge``;
    in the network namespace ``netns`` (a name), entered with the
    command prefix ``enter``, if given.
    """

    def __init__(self, directory, log, hostname, bridge, netns=None,
                 enter=()):
        self.dir = directory
        self.hostname = hostname
        self.log = log
        self.bridge = bridge
        self.netns = netns
        self._enter = list(enter)
        self.socket = os.path.join(directory, 'docker.sock')
        self.url = 'unix://' + self.socket
        #: Shown to the engine as PLUGIN_DIR.
        self.plugin_dir = os.path.join(directory, 'plugins')
        self.subnet = None
        self.process = None

    @property
    def record(self):
        """What this engine leaves on the machine, for ``teardown``."""
        return {'bridge': self.bridge, 'netns': self.netns}

    def setup(self):
        os.makedirs(self.dir, mode=0o700)
        os.makedirs(self.plugin_dir, mode=0o700)
        config = os.path.join(self.dir, 'daemon.json')
        with open(config, 'w') as f:
            # Not the machine's /etc/docker/daemon.json, which may name
            # the machine's socket or data directory.
            json.dump({}, f)
        self.subnet = free_subnet(self.bridge)
        gateway = next(self.subnet.hosts())
        with _netlink(self.netns) as ipr:
            ipr.link('add', ifname=self.bridge, kind='bridge')
            (index,) = ipr.link_lookup(ifname=self.bridge)
            # dockerd takes the bridge's address as its network's.
            ipr.addr('add', index=index, address=str(gateway),
                     prefixlen=self.subnet.prefixlen)
        private = sorted({os.path.realpath(d) for d in PRIVATE_DIRS})
        self.process = service.Process('dockerd (%s)' % self.hostname, [
            *self._enter,
            # Slave: the machine's later unmounts (its engine's) reach
            # the namespace, which holds no copies of them.
            'unshare', '--mount', '--uts', '--propagation', 'slave', '--',
            'sh', '-c', _SETUP, 'sh', self.hostname, self.plugin_dir,
            *private, '--',
            'dockerd', '--config-file', config, '--host', self.url,
            '--data-root', os.path.join(self.dir, 'data'),
            '--exec-root', EXEC_ROOT,
            '--pidfile', os.path.join(self.dir, 'docker.pid'),
            '--bridge', self.bridge, '--iptables=false',
            '--ip-masq=false'],
            self.log)

    def enter(self):
        """The command prefix that runs a program in the engine's
        namespaces (once it runs).
        """
        return ['nsenter', '--target', str(self.process.pid), '--mount',
                '--uts', '--net', '--']

    def client(self):
        return docker.APIClient(base_url=self.url)

    def _answers(self):
        if not os.path.exists(self.socket):
            return False
        try:
            with self.client() as client:
                client.ping()
        except docker.errors.DockerException:
            return False
        except OSError:
            return False
        return True

    def start(self, on_start):
        """Start; ``on_start(process)`` once it runs, before it answers.

        It gets the containers' image, as the machine's engine has.
        """
        on_start(self.process.start())
        self.process.wait_until(self._answers, 'answer on %s' % self.url)
        with self.client() as client:
            rootfs.ensure_image(client)

    @staticmethod
    def teardown(record, progress=None):
        """Remove what ``record`` (``Dockerd.record``) names, once the
        engine is stopped: its bridge.  Returns the problems met.
        """
        progress = progress or (lambda message: None)
        name, namespace = record['bridge'], record.get('netns')
        if namespace and not os.path.exists('/run/netns/' + namespace):
            return []  # it went with its namespace
        with _netlink(namespace) as ipr:
            links = ipr.link_lookup(ifname=name)
            if not links:
                return []
            try:
                ipr.link('del', index=links[0])
            except NetlinkError as e:
                return ['bridge %s: %s' % (name, e)]
        progress('removed the bridge %s' % name)
        return []
