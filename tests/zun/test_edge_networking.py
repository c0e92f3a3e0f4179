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

"""Containers on Neutron networks the way Zun makes them, for real.

Keystone, Neutron (ML2 with ``edge_bridge``, on MariaDB) and
kuryr-libnetwork run as the all-in-one cloud runs them
(``aio.controlplane``); Zun's own ``kuryr`` network driver, loaded as
zun-compute loads it, creates the Docker network and the ports, and
Docker starts the containers through Kuryr.  Needs root, MariaDB,
RabbitMQ and Docker (tools/start-services).
"""

import os
import socket
import subprocess
import tempfile
import uuid

import docker
import zun.conf
from keystoneauth1 import loading as ks_loading
from zun import objects
from zun.common import context as zun_context
from zun.common import utils as zun_utils
from zun.network import network as zun_network
from zun.tests.unit.container import base as zun_base

from aio import controlplane
from aio import kuryr as kuryr_mod
from edge_channels import naming
from edge_channels.host import bridges as bridges_mod
from tests.functional import docker_fixtures


CONF = zun.conf.CONF
NETWORK = 'edge-net'
CIDR = '10.98.0.0/24'
HOSTNAME = socket.gethostname()


class ZunKuryrNetworkTest(zun_base.DriverTestCase):
    """Two containers of the demo project through Zun's kuryr driver."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Kuryr hands ports over to this machine's host name.
        cls.net = controlplane.ControlPlane(
            'edge-net', neutron=True, kuryr=True, edge_hosts=[HOSTNAME])
        # start() removes what it made if it fails.
        cls.net.start()
        cls.addClassCleanup(cls._stop_and_check)
        cls.network = cls.net.neutron.ensure_network(NETWORK, CIDR)

    @classmethod
    def _stop_and_check(cls):
        record = cls.net.kuryr.record
        errors = cls.net.stop()
        if errors:
            raise RuntimeError('edge network teardown: %s (logs in %s)'
                               % ('; '.join(errors), cls.net.logs))
        # Nothing of the cloud is left on the host.
        left = bridges_mod.Bridges(record['bridge_prefix'],
                                   tempfile.gettempdir()).names()
        networks = kuryr_mod.docker_networks(record['plugin'])
        if left or networks or os.path.exists(record['socket']):
            raise AssertionError(
                'left behind: bridges %s, Docker networks %s, socket %s'
                % (left, networks, os.path.exists(record['socket'])))

    def setUp(self):
        super().setUp()
        self.docker = self.useFixture(docker_fixtures.DockerFixture(
            CONF.docker.docker_remote_api_version)).client
        # zun-compute's configuration in the all-in-one cloud.
        self.config(host=HOSTNAME)
        self.config(driver='kuryr', driver_name=self.net.kuryr.name,
                    group='network')
        password_opts = ks_loading.get_auth_plugin_conf_options('password')
        CONF.register_opts(password_opts, group='keystone_auth')
        # auth_url is required: left registered, it would fail every
        # later test of this process that parses Zun's configuration.
        self.addCleanup(_unregister, password_opts, 'keystone_auth')
        self.config(auth_type='password', group='keystone_auth')
        # Zun's service user: its admin client creates the ports.
        for key, value in self.net.keystone.credentials('zun').items():
            self.config(group='keystone_auth', **{key: value})
        token, body = self.net.keystone.token('demo')
        self.context = zun_context.RequestContext(
            auth_token=token, auth_token_info=body,
            project_id=body['token']['project']['id'],
            user_id=body['token']['user']['id'], is_admin=False)
        self.neutron = self.net.neutron.client()

    def _run(self, driver, requested, name):
        """What DockerDriver.create does with the network driver."""
        container = objects.Container(
            self.context, uuid=str(uuid.uuid4()), name=name,
            host=CONF.host, project_id=self.context.project_id,
            user_id=self.context.user_id, addresses={})
        driver.get_or_create_network(self.context, requested['network'])
        host_config = {}
        kwargs = {'name': 'zun-' + container.uuid,
                  'command': ['sleep', '300']}
        driver.process_networking_config(container, requested, host_config,
                                         kwargs, self.docker,
                                         security_group_ids=None)
        created = self.docker.create_container(
            docker_fixtures.IMAGE,
            host_config=self.docker.create_host_config(**host_config),
            **kwargs)
        container.container_id = created['Id']
        self.addCleanup(_remove_container, self.docker, created['Id'])
        self.docker.start(created['Id'])
        return container

    def _delete(self, driver, container):
        """What DockerDriver.delete does with the network driver."""
        self.docker.stop(container.container_id, timeout=1)
        for network_id in container.addresses:
            driver.disconnect_container_from_network(container, network_id)
        self.docker.remove_container(container.container_id, force=True)

    def _exec(self, container, command):
        run = self.docker.exec_create(container.container_id, command)
        out = self.docker.exec_start(run['Id']).decode()
        return self.docker.exec_inspect(run['Id'])['ExitCode'], out

    def _port(self, container):
        (address,) = container.addresses[self.network['id']]
        return self.neutron.get('/ports/%s' % address['port']).json()['port']

    def test_two_containers_get_their_ports_and_ping(self):
        # zun-api's choice for a container given no network: the
        # shared network of the cloud.
        (requested,) = zun_utils.build_requested_networks(self.context, [])
        self.assertEqual(self.network['id'], requested['network'])
        driver = zun_network.driver(context=self.context,
                                    docker_api=self.docker)
        containers = [self._run(driver, requested, 'edge-%d' % i)
                      for i in range(2)]
        bridge = naming.bridge_name(self.network['id'],
                                    self.net.kuryr.bridge_prefix)
        ports = [self._port(c) for c in containers]
        for container, port in zip(containers, ports):
            self.assertEqual('bridge', port['binding:vif_type'])
            self.assertEqual(bridge,
                             port['binding:vif_details']['bridge_name'])
            self.assertEqual(HOSTNAME, port['binding:host_id'])
            self.assertEqual('ACTIVE', port['status'])
            (fixed,) = port['fixed_ips']
            status, out = self._exec(container,
                                     ['busybox', 'ip', '-o', 'addr', 'show',
                                      'eth0'])
            self.assertEqual(0, status, out)
            self.assertIn('inet %s/24 ' % fixed['ip_address'], out)
            status, out = self._exec(container,
                                     ['busybox', 'ip', '-o', 'link', 'show',
                                      'eth0'])
            self.assertIn('link/ether %s ' % port['mac_address'], out)
        self.assertEqual(
            [bridge],
            bridges_mod.Bridges(self.net.kuryr.bridge_prefix,
                                self.net.kuryr.lock_dir).names())
        for one, other in ((0, 1), (1, 0)):
            address = ports[other]['fixed_ips'][0]['ip_address']
            status, out = self._exec(containers[one],
                                     ['busybox', 'ping', '-c', '2', '-W', '3',
                                      address])
            self.assertEqual(0, status, out)
        for container, port in zip(containers, ports):
            self._delete(driver, container)
            self.assertEqual(404, self.neutron.get(
                '/ports/%s' % port['id'], raise_exc=False).status_code)
            # kuryr-lib names a port's host veth "tap" + its ID.
            self.assertNotIn('tap' + port['id'][:11], _links())
        # The bridge goes with its last port.
        self.assertNotIn(bridge, _links())


def _unregister(opts, group):
    # oslo.config unregisters only options of a reset configuration.
    CONF.reset()
    CONF.unregister_opts(opts, group=group)


def _remove_container(client, container_id):
    try:
        client.remove_container(container_id, force=True)
    except docker.errors.NotFound:
        pass


def _links():
    out = subprocess.run(['ip', '-o', 'link', 'show'], capture_output=True,
                         text=True, check=True).stdout
    return [line.split(':')[1].strip().split('@')[0]
            for line in out.splitlines()]
