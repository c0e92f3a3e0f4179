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

"""An edge host of the cloud (``Cloud.add_edge_host``): a network
namespace whose Edge SDK brought up a control and a tenant channel, and
in it the host's Docker engine, Kuryr, zun-compute and Cyborg agent,
which reach RabbitMQ, Keystone, MariaDB, Placement, Neutron and Cyborg
only through the control channel.

The camera of the emulated kit is on the edge host alone (the cloud's
first host has no device): the demo user's container asking for it
with ``openstack appcontainer run --device-profile`` lands there, on a
Neutron port that ``edge_bridge`` binds over the tenant channel
(VXLAN), and reads the camera.  With the control channel down, the
edge host's zun-compute and agent answer no RPC, and nothing of the
cloud answers in the namespace; they come back with the channel.

One cloud (MariaDB: Zun's database is reached through the tunnel too),
started once for the class.  Needs root, MariaDB, RabbitMQ, Docker,
``wg``, ``wireguard-go`` and ``iptables``.
"""

import json
import os
import socket
import subprocess
import time

import docker
import oslo_messaging as messaging
from oslo_config import cfg
from testtools import content

from aio import __main__ as aio_main
from aio import cloud as cloud_mod
from aio import edge as edge_mod
from aio import zun as aio_zun
from tests.aio import base


EDGE = 'aio-edge-1'
#: Bounds the waits; none is a performance figure.
TIMEOUT = 120


def _wait(what, predicate, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError('no %s within %d s' % (what, timeout))
        time.sleep(0.5)


def _connects(port):
    """Whether 127.0.0.1:``port`` accepts a connection (from where the
    calling thread's network namespace is).
    """
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=2):
            return True
    except OSError:
        return False


class TestEdgeHost(base.CloudTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cloud = cloud_mod.Cloud(db='mariadb', edge=True)
        try:
            cls.cloud.start()
            kit = cls.cloud.edge_kit(host=EDGE)
            cls.camera_node = next(
                n for n, (c, _b) in kit.backing.items() if c == 'camera')
            cls.device_count = len(kit.devices)
            cls.host = cls.cloud.add_edge_host(EDGE, kit)
            cls.edge = cls.cloud.edge_hosts[EDGE]
            cls.host.wait_for_providers(cls.device_count)
            cls.docker = docker.APIClient()
        except BaseException:
            cls.cloud.stop(remove_workdir=False)
            raise
        cls.transport = messaging.get_rpc_transport(
            cfg.CONF, url=cls.cloud.transport_url)

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, 'transport', None) is not None:
            cls.transport.cleanup()
        cloud, cls.cloud = cls.cloud, None
        if cloud is not None:
            cls.docker.close()
            # Removed as "./tools/aio --teardown WORKDIR" removes a cloud
            # kept with --keep: from its state.json alone.
            cloud.detach()
            errors = cloud_mod.Cloud.teardown(cloud.workdir)
            errors += _left_on_the_machine(cls.edge)
            if errors:
                raise AssertionError('edge cloud teardown: %s'
                                     % '; '.join(errors))
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.addOnException(self.attach_logs)

    def attach_logs(self, exc_info):
        logs = self.cloud.logs
        names = ['zun-compute-%s.log' % EDGE, 'cyborg-agent-%s.log' % EDGE,
                 'kuryr-%s.log' % EDGE, 'dockerd-%s.log' % EDGE,
                 'edge-sdk-%s.log' % EDGE, 'edge-hub-agent.log',
                 'neutron.log']
        for name in names:
            path = os.path.join(logs, name)
            if os.path.exists(path):
                self.addDetail(name, content.content_from_file(
                    path, buffer_now=True))

    def zun_compute_pinged(self):
        """Whether the edge host's zun-compute answers an RPC call.

        Zun's RPC server cannot take oslo.messaging's ping endpoint (it
        runs every endpoint's periodic tasks): a method it does not
        have is called instead, and its error reply is the answer.
        """
        client = messaging.get_rpc_client(
            self.transport, messaging.Target(exchange='zun',
                                             topic='zun-compute',
                                             server=EDGE), timeout=2)
        try:
            client.call({}, 'aio_edge_probe')
        except messaging.MessagingTimeout:
            return False
        except Exception:  # noqa: BLE001 - the remote error: an answer
            return True
        return True

    def agent_pinged(self):
        return self.cloud.cyborg._pinged('cyborg-agent', EDGE)

    def in_edge_namespace(self, process):
        with open('/proc/%d/ns/net' % process.pid) as f:
            return os.fstat(f.fileno()).st_ino == os.stat(
                self.edge.ns_path).st_ino

    # -- the proof ----------------------------------------------------------

    def test_the_edge_host_reports_through_the_tunnel(self):
        for process in (self.host.zun_compute, self.host.agent,
                        self.host.docker.process, self.host.kuryr.process):
            self.assertTrue(self.in_edge_namespace(process), process.name)
        hosts = json.loads(self.cloud.openstack(
            'appcontainer', 'host', 'list', '-f', 'json'))
        self.assertIn(EDGE, [h['hostname'] for h in hosts])
        (root,) = [rp for rp in json.loads(self.cloud.openstack(
            'resource', 'provider', 'list', '--name', EDGE, '-f', 'json'))]
        self.assertEqual(self.host.provider, root['uuid'])
        devices = self.host.providers()
        self.assertEqual(self.device_count, len(devices))
        for rp in devices:
            self.assertEqual(root['uuid'], rp['parent_provider_uuid'])
        self.assertIn(base.CAMERA_RC, {rc for rp in devices
                                       for rc in rp['inventories']})
        # The first host has no device: the camera is the edge host's.
        self.assertEqual([], self.cloud.providers())
        # Their connections come from the control channel's address:
        # RabbitMQ sees them there.
        peers = subprocess.run(
            ['rabbitmqctl', '--quiet', 'list_connections', '-p',
             self.cloud.vhost, 'peer_host'], capture_output=True, text=True,
            check=True).stdout.split()
        self.assertIn(self.edge.channel_ip, peers)
        self.assertTrue(self.zun_compute_pinged())
        self.assertTrue(self.agent_pinged())
        # ... and crossed it: the device's end counted what came back.
        received = int(self.edge.wireguard()[0][5])
        self.assertGreater(received, 0)

    def test_a_container_on_the_edge_host_reads_its_camera(self):
        self.cloud.openstack('accelerator', 'device', 'profile', 'create',
                             aio_main.CAMERA_PROFILE, '--group',
                             'resources:%s=1' % base.CAMERA_RC)
        self.addCleanup(self.cloud.openstack, 'accelerator', 'device',
                        'profile', 'delete', aio_main.CAMERA_PROFILE)
        ident = json.loads(self.cloud.openstack(
            *aio_main.run_command(aio_main.CAMERA_PROFILE,
                                  name='aio-edge-test'),
            user='demo'))['uuid']
        self.addCleanup(self.delete_container, ident)
        self.wait_status(ident, ('Stopped',))
        # Where it ran: the administrator's view.
        self.assertEqual(EDGE, self.zun('admin').containers.get(ident).host)
        logs = self.cloud.openstack('appcontainer', 'logs', ident,
                                    user='demo')
        read = aio_zun.parse_read(logs)
        self.assertEqual([self.camera_node], list(read))
        self.assertNotEqual([], read[self.camera_node])
        # It started, so Kuryr on the edge host plugged its port: a port
        # of the (VXLAN) network is bound only on a host with a tenant
        # channel (edge_bridge), and Kuryr unbinds it once the
        # container stopped, so the binding itself is not seen here.
        self.delete_container(ident)
        arqs, allocations = aio_main.leftovers(self.cloud, ident)
        self.assertEqual(([], []), (arqs, allocations))

    def test_with_the_tunnel_down_nothing_of_the_cloud_answers(self):
        ports = self.cloud.tunnelled()
        self.assertTrue(self.zun_compute_pinged())
        self.assertTrue(self.agent_pinged())
        self.assertEqual({}, {k: p for k, p in ports.items()
                              if not self.edge.call(_connects, p)})
        self.edge.set_link(self.edge.ifname, False)
        try:
            self.assertEqual(ports, {k: p for k, p in ports.items()
                                     if not self.edge.call(_connects, p)})
            self.assertFalse(self.zun_compute_pinged())
            self.assertFalse(self.agent_pinged())
        finally:
            self.edge.set_link(self.edge.ifname, True)
        _wait('zun-compute answering again', self.zun_compute_pinged)
        _wait('the Cyborg agent answering again', self.agent_pinged)


def _left_on_the_machine(edge):
    """What of ``edge`` and the hub is still on the machine."""
    left = []
    if os.path.exists(edge.ns_path):
        left.append('namespace %s' % edge.ns)
    links = edge_mod._links()
    left += ['interface %s' % n for n in (edge.veth, edge.hub_device)
             if n in links]
    if edge_mod._wireguard_go(edge.hub_device):
        left.append('wireguard-go %s' % edge.hub_device)
    rules = subprocess.run(['iptables-save'], capture_output=True,
                           text=True, check=True).stdout
    left += ['iptables: %s' % line for line in rules.splitlines()
             if edge.tag in line or edge.veth in line]
    return left
