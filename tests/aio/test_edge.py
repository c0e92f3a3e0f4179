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

"""An edge host of the cloud (``Cloud.add_edge_host``), from its
enrollment to its removal: a network namespace whose Edge SDK enrolled
it with the owner's password (``edge-sdk register``), then brought up
its control and tenant channels with the application credential the
enrollment service made (``edge-sdk up``, no ``OS_*``), and in it the
host's Docker engine, Kuryr, zun-compute and Cyborg agent, which reach
RabbitMQ, Keystone, MariaDB, Placement, Neutron and Cyborg only
through the control channel.  ``openstack hardware show`` (the real
python-doniclient, as the owner) shows the host's hardware item with
every worker STEADY and the camera's device profile.

The camera of the emulated kit is on the edge host alone (the cloud's
first host has no device): the demo user's container asking for it
with ``openstack appcontainer run --device-profile`` lands there, on a
Neutron port that ``edge_bridge`` binds over the tenant channel
(VXLAN), and reads the camera.  With the control channel down, the
edge host's zun-compute and agent answer no RPC, and nothing of the
cloud answers in the namespace; they come back with the channel.

The last test (``test_zz_...``: the class's tests run in name order)
deletes the hardware with ``openstack hardware delete``: the channels,
the application credential and the host's registrations in Zun and
Placement go with it.

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
import requests
from keystoneauth1 import adapter
from oslo_config import cfg
from testtools import content

from aio import __main__ as aio_main
from aio import cloud as cloud_mod
from aio import edge as edge_mod
from aio import keystone as keystone_mod
from aio import netns
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
            # Before the host enrolls: the compute worker lists it in
            # the host's device_profiles once the host has reported.
            cls.cloud.openstack('accelerator', 'device', 'profile',
                                'create', aio_main.CAMERA_PROFILE,
                                '--group', 'resources:%s=1'
                                % base.CAMERA_RC)
            kit = cls.cloud.edge_kit(host=EDGE)
            cls.camera_node = next(
                n for n, (c, _b) in kit.backing.items() if c == 'camera')
            cls.device_count = len(kit.devices)
            cls.host = cls.cloud.add_edge_host(EDGE, kit)
            cls.edge = cls.cloud.edge_hosts[EDGE]
            cls.host.wait_for_providers(cls.device_count)
            cls.edge.wait_enrolled([aio_main.CAMERA_PROFILE])
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
                 'edge-enroll-worker.log', 'edge-enroll-api.log',
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

    def admin(self, service_type, **kwargs):
        """``service_type``'s API as the administrator (raises on
        nothing: the tests look at the status codes).
        """
        return adapter.Adapter(self.cloud.keystone.session('admin'),
                               service_type=service_type,
                               interface='public',
                               region_name=keystone_mod.REGION,
                               raise_exc=False, **kwargs)

    def zun_computes(self):
        resp = self.admin('container', default_microversion='1.1').get(
            '/services')
        self.assertEqual(200, resp.status_code, resp.text)
        return [s for s in resp.json()['services']
                if s['host'] == EDGE and s['binary'] == 'zun-compute']

    def credential_token(self, record):
        """What Keystone answers the stored application credential."""
        return requests.post(
            self.cloud.keystone.url + '/auth/tokens', timeout=30,
            json={'auth': {'identity': {
                'methods': ['application_credential'],
                'application_credential': {
                    'id': record['application_credential_id'],
                    'secret': record['application_credential_secret']}}}})

    def credential(self):
        with open(self.edge.credential_file) as f:
            return json.load(f)

    # -- the proof ----------------------------------------------------------

    def test_enrolled_as_hardware_of_the_owners_project(self):
        # The owner's view, with the real python-doniclient.
        shown = self.edge.show()
        self.assertEqual(EDGE, shown['name'])
        self.assertEqual('device', shown['hardware_type'])
        _token, body = self.cloud.token('demo')
        self.assertEqual(body['token']['project']['id'],
                         shown['project_id'])
        self.assertEqual({'tunelo': 'STEADY', 'credentials': 'STEADY',
                          'compute': 'STEADY'},
                         {w['worker_type']: w['state']
                          for w in shown['workers']})
        self.assertIn(aio_main.CAMERA_PROFILE,
                      shown['properties']['device_profiles'])
        self.assertEqual(edge_mod.MACHINE_NAME,
                         shown['properties']['machine_name'])
        [compute] = [w for w in shown['workers']
                     if w['worker_type'] == 'compute']
        self.assertEqual(self.host.provider,
                         compute['state_details']['compute_node'])
        # The channels the SDK brought up are those the worker made.
        self.assertEqual(
            {'control': self.edge.channel['uuid'],
             'tenant': self.edge.tenant_channel['uuid']},
            self.edge.registration['channels'])
        rows = self.edge.hardware('list', '--long')
        [row] = [r for r in rows if r['Name'] == EDGE]
        self.assertEqual(('STEADY',) * 3, (row['tunelo'],
                                           row['credentials'],
                                           row['compute']))

    def test_the_edge_sdk_keeps_no_password(self):
        record = self.credential()
        self.assertEqual(0o600, os.stat(
            self.edge.credential_file).st_mode & 0o777)
        self.assertEqual(self.edge.registration['application_credential_id'],
                         record['application_credential_id'])
        self.assertEqual(201, self.credential_token(record).status_code)
        # Every edge-sdk command after register runs without OS_*, and
        # the SDK still reads its channels.
        self.assertEqual([], [k for k in self.edge.sdk_env()
                              if k.startswith('OS_')])
        status = json.loads(self.edge.sdk('status', '--json').stdout)
        self.assertEqual(self.edge.channel['uuid'],
                         status['control']['channel']['uuid'])
        # Nothing in the edge host holds the owner's password: not its
        # files, not a process's environment or command line.
        password = self.cloud.keystone.passwords['demo'].encode()
        for top, _dirs, files in os.walk(self.edge.dir):
            for name in files:
                with open(os.path.join(top, name), 'rb') as f:
                    self.assertNotIn(password, f.read(), name)
        pids = netns.pids_in(self.edge.ns_path)
        self.assertNotEqual([], pids)
        for pid in pids:
            for what in ('environ', 'cmdline'):
                try:
                    with open('/proc/%d/%s' % (pid, what), 'rb') as f:
                        data = f.read()
                except OSError:
                    continue  # gone meanwhile
                self.assertNotIn(b'OS_PASSWORD=', data, pid)
                self.assertNotIn(password, data, pid)


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
        # The profile setUpClass made, which the host's hardware lists.
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

    # Last (name order): the host is gone afterwards.
    def test_zz_deleting_the_hardware_removes_the_host(self):
        record = self.credential()
        channels = {self.edge.channel['uuid'],
                    self.edge.tenant_channel['uuid']}
        tree = [self.host.provider] + [rp['uuid']
                                       for rp in self.host.providers()]
        self.assertEqual(1, len(self.zun_computes()))
        result = self.cloud.enroll.openstack('hardware', 'delete', EDGE,
                                             user='demo')
        self.assertEqual(0, result.returncode, result.stderr)
        inventory = self.cloud.enroll.client('admin')
        self.assertEqual(404, inventory.get(
            '/v1/hardware/%s/' % EDGE).status_code)
        # The workers clean up side by side (the compute worker once the
        # channels are gone): each effect within the wait.
        channel_api = self.cloud.channel_api.client('admin')

        def channels_left():
            resp = channel_api.get('/channels', params={'all_projects': 1})
            self.assertEqual(200, resp.status_code, resp.text)
            return [c for c in resp.json()['channels']
                    if c['uuid'] in channels or c.get('host') == EDGE]

        _wait('its channels deleted', lambda: not channels_left())
        # Its application credential: refused, Keystone no longer knows
        # it (404 for an unknown credential; 401 is for a wrong secret).
        _wait('its credential deleted', lambda: self.credential_token(
            record).status_code == 404)
        # Its registrations in Zun and Placement.
        _wait('its zun-compute deregistered', lambda: not self.zun_computes())
        placement = self.admin('placement')
        _wait('its providers deleted', lambda: not placement.get(
            '/resource_providers', params={'name': EDGE}).json()[
            'resource_providers'])
        self.assertEqual({rp: 404 for rp in tree},
                         {rp: placement.get('/resource_providers/%s'
                                            % rp).status_code
                          for rp in tree})
        # Without channels the host reaches nothing of the cloud (once
        # the hub agent has heard of their deletion).
        _wait('the edge host cut off', lambda: not self.edge.call(
            _connects, self.cloud.zun.port))


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
