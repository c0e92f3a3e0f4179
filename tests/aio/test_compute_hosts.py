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

"""Two compute hosts: one with a camera, one without.

``TestOwnEngine`` starts only a second host's Docker engine: it must
leave the machine's engine alone and keep its sandboxes where Kuryr
accepts them.  In ``TestTwoComputeHosts`` each host is a zun-compute and
a Cyborg agent of its own (host name, emulated kit, umockdev testbed,
CDI directory; the second has its own Docker engine and Kuryr too, see
aio.dockerd), in one cloud.

Zun schedules by device profile on the path of the patched series
(``aio.zun.DEFAULT_DEVICE_PATH``), which this class uses.
"""

import json
import os
import re
import shutil
import tempfile
import uuid

import testtools
from pyroute2 import IPRoute
from zunclient import exceptions as zun_exc

from aio import dockerd
from aio import rootfs
from aio import zun as aio_zun
from tests.aio import base


#: The second compute host, which has no camera.
SECOND = 'aio-nocam'
#: How many camera containers the placement test runs, one after the
#: other (the camera host has one camera).
CAMERA_RUNS = 20
#: The machine's engine's default bridge, which an engine started with
#: ``--bridge none`` deletes.
DOCKER0 = 'docker0'
#: The sandboxes kuryr-libnetwork's Join accepts (its schema).
KURYR_SANDBOX = re.compile(r'^/var/run/docker/netns/[0-9a-f]{12}$')


def _link_exists(name):
    with IPRoute() as ipr:
        return bool(ipr.link_lookup(ifname=name))


class TestOwnEngine(testtools.TestCase):
    """A second host's engine, without a cloud."""

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.skipTest('needs root for namespaces and bridges')
        self.dir = tempfile.mkdtemp(prefix='cp-aio-engine-')
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        self.had_docker0 = _link_exists(DOCKER0)
        self.engine = dockerd.Dockerd(
            os.path.join(self.dir, 'docker'),
            os.path.join(self.dir, 'dockerd.log'), 'aio-engine-test',
            dockerd.bridge_name(uuid.uuid4().hex[:8], 1))
        self.addCleanup(dockerd.Dockerd.teardown, self.engine.record)
        self.engine.setup()
        self.addCleanup(self.engine.process.stop)
        self.engine.start(lambda process: None)

    def test_it_leaves_docker0_and_keeps_sandboxes_where_kuryr_joins(self):
        bridge = self.engine.bridge
        with self.engine.client() as client:
            self.assertEqual('aio-engine-test', client.info()['Name'])
            container = client.create_container(rootfs.IMAGE,
                                                ['sleep', '600'])
            client.start(container)
            sandbox = client.inspect_container(container)[
                'NetworkSettings']['SandboxKey']
            client.remove_container(container, force=True)
        self.assertRegex(sandbox, KURYR_SANDBOX)
        # In the engine's own /run/docker, not the machine's.
        self.assertFalse(os.path.exists(sandbox))
        with IPRoute() as ipr:
            (index,) = ipr.link_lookup(ifname=bridge)
            addresses = ['%s/%d' % (a.get_attr('IFA_ADDRESS'),
                                    a['prefixlen'])
                         for a in ipr.get_addr(index=index, family=2)]
        self.assertEqual([str(next(self.engine.subnet.hosts())) + '/24'],
                         addresses)

        self.engine.process.stop()
        self.assertEqual([], dockerd.Dockerd.teardown(self.engine.record))

        self.assertEqual(self.had_docker0, _link_exists(DOCKER0))
        self.assertFalse(_link_exists(bridge))


class TestTwoComputeHosts(base.CloudTestCase):
    DB = 'sqlite'

    @classmethod
    def setUpClass(cls):
        cls.had_docker0 = _link_exists(DOCKER0)
        super().setUpClass()
        try:
            kit = cls.cloud.emulated_kit(host=SECOND)
            kit.kit.hub('1')
            sys_path = kit.serial_adapter('1.1', 'AIO2X0001')
            (cls.second_serial_node,) = kit.devices[sys_path]
            kit.gpiochip('fe200000', 0)
            cls.second = cls.cloud.add_compute_host(SECOND, kit)
            cls.second.wait_for_providers(len(kit.devices))
        except BaseException:
            cls.cloud.stop(remove_workdir=False)
            raise

    @classmethod
    def tearDownClass(cls):
        bridge = cls.second.docker.bridge
        super().tearDownClass()
        # The machine's engine keeps its bridge; the second's goes.
        problems = []
        if cls.had_docker0 and not _link_exists(DOCKER0):
            problems.append('%s is gone' % DOCKER0)
        if _link_exists(bridge):
            problems.append('the bridge %s is left' % bridge)
        if problems:
            raise AssertionError('after the two-host cloud stopped: %s'
                                 % ', '.join(problems))

    def test_the_second_engine_has_its_own_name_and_bridge(self):
        self.assertEqual(self.had_docker0, _link_exists(DOCKER0))
        with self.second.docker.client() as client:
            info = client.info()
            bridge = client.inspect_network('bridge')
        self.assertEqual(SECOND, info['Name'])
        self.assertEqual(
            [str(self.second.docker.subnet)],
            [c['Subnet'] for c in bridge['IPAM']['Config']])
        self.assertEqual(self.second.docker.bridge, bridge['Options'][
            'com.docker.network.bridge.name'])

    def test_each_host_reports_under_its_own_provider(self):
        services = json.loads(self.cloud.openstack(
            'appcontainer', 'service', 'list', '-f', 'json'))
        self.assertEqual(
            sorted([(self.cloud.host, 'up'), (SECOND, 'up')]),
            sorted((s['Host'], s['State']) for s in services
                   if s['Binary'] == 'zun-compute'))
        roots = {rp['name']: rp['uuid'] for rp in json.loads(
            self.cloud.openstack('resource', 'provider', 'list', '-f',
                                 'json'))
            if rp['uuid'] == rp['root_provider_uuid']}
        self.assertEqual({self.cloud.host, SECOND}, set(roots))
        for name, host in self.cloud.hosts.items():
            self.assertEqual(roots[name], host.provider)
            for rp in host.providers():
                self.assertEqual(host.provider, rp['parent_provider_uuid'])
                self.assertTrue(rp['name'].startswith(name + '_'))
        second = {rc for rp in self.second.providers()
                  for rc in rp['inventories']}
        self.assertEqual({base.SERIAL_RC, base.GPIO_RC}, second)
        self.assertIn(base.CAMERA_RC, {rc for rp in self.cloud.providers()
                                       for rc in rp['inventories']})

    def test_a_container_on_the_second_host_reads_its_device(self):
        profile = self.serial_profile()
        container = self.run_container(
            profile, ['sh', '-c', aio_zun.READ_DEVICES], user='admin',
            wait=(), host=SECOND)
        read = aio_zun.parse_read(self.output(container.uuid, 'admin'))
        self.assertEqual([self.second_serial_node], list(read))
        self.assertNotEqual([], read[self.second_serial_node])
        (arq,) = self.arqs(user='admin', instance=container.uuid)
        self.assertEqual((SECOND, 'Bound'), (arq['hostname'], arq['state']))
        with self.second.docker.client() as client:
            sandbox = client.inspect_container('zun-' + container.uuid)[
                'NetworkSettings']['SandboxKey']
        self.assertRegex(sandbox, KURYR_SANDBOX)
        (rp,) = self.device_allocations(container.uuid)
        self.assertIn(rp, {p['uuid'] for p in self.second.providers()})

        self.delete_container(container.uuid, 'admin')
        self.assertEqual([], self.arqs(user='admin',
                                       instance=container.uuid))
        self.assertEqual({}, self.placement(
            '/allocations/%s' % container.uuid)['allocations'])
        self.assertEqual(0, sum(n for u in self.usages(SECOND).values()
                                for n in u.values()))

    def test_camera_containers_land_on_the_camera_host(self):
        profile = self.add_profile({'resources:%s' % base.CAMERA_RC: '1'})
        (camera,) = [rp['uuid'] for rp in self.cloud.providers()
                     if base.CAMERA_RC in rp['inventories']]
        landed = []
        for _i in range(CAMERA_RUNS):
            container = self.run_container(profile, user='admin')
            landed.append((container.host, list(self.device_allocations(
                container.uuid))))
            self.delete_container(container.uuid, 'admin')
        self.assertEqual([(self.cloud.host, [camera])] * CAMERA_RUNS,
                         landed)

    def test_when_the_camera_is_busy_the_api_says_so(self):
        profile = self.add_profile({'resources:%s' % base.CAMERA_RC: '1'})
        running = self.run_container(profile)
        before = {c.uuid for c in self.zun().containers.list()}
        usages = {host: self.usages(host) for host in self.cloud.hosts}

        error = self.assertRaises(zun_exc.Conflict, self.run_container,
                                  profile)

        self.assertEqual(409, error.http_status)
        self.assertIn('No host has free devices for device profile(s) %s'
                      % profile, str(error))
        self.assertEqual(before, {c.uuid for c in
                                  self.zun().containers.list()})
        self.assertEqual([running.uuid],
                         [arq['instance_uuid'] for arq in self.arqs()])
        self.assertEqual(usages, {host: self.usages(host)
                                  for host in self.cloud.hosts})
