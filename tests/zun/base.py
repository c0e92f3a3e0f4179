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

"""A Zun compute host with a Cyborg/Placement double and real Docker.

Everything runs for real (Zun's compute manager and DockerDriver, a
``zun.objects.Container`` in Zun's SQLite test database, Docker, character
devices of this host) except Neutron: ``NoNeutron`` stands in for Zun's
network driver, and the Cyborg and Placement APIs are two
``cloud.Server`` of one ``cloud.Cloud``: ``self.server`` (Cyborg) and
``self.placement``.
"""

import datetime
import os
import shutil
import stat
import tempfile

import fixtures
import zun.conf
from keystoneauth1 import loading as ks_loading
from oslo_utils import timeutils
from zun import objects
from zun.common import context as zun_context
from zun.compute import manager as zun_manager
from zun.tests.unit.container import base as zun_base

from cyborg_peripherals import contract
from cyborg_peripherals.cdi import spec as cdi_spec
from cyborg_peripherals.cdi import writer
from tests.functional import docker_fixtures
from tests.zun import cloud as cloud_double
from tests.zun import harness
from zun_oci_attach import conf as oci_conf
from zun_oci_attach.conf import cyborg as cyborg_conf


CONF = zun.conf.CONF
IMAGE = harness.IMAGE
PROJECT = 'a0a1a2a3a4a5a6a7a8a9aaabacadaeaf'
OTHER_PROJECT = 'b0b1b2b3b4b5b6b7b8b9babbbcbdbebf'
USER = 'c0c1c2c3c4c5c6c7c8c9cacbcccdcecf'

#: Real character devices Docker's default cgroup does not allow.
DEVICES = {'hwrng': ('/dev/hwrng', 10, 183),
           'cpu-dma-latency': ('/dev/cpu_dma_latency', 10, 259),
           'vga-arbiter': ('/dev/vga_arbiter', 10, 256),
           'ttyS0': ('/dev/ttyS0', 4, 64)}


def token_info(project, catalog_url):
    expires = timeutils.utcnow() + datetime.timedelta(hours=1)
    return {'token': {
        'methods': ['password'],
        'expires_at': expires.strftime('%Y-%m-%dT%H:%M:%S.000000Z'),
        'project': {'id': project, 'name': 'p',
                    'domain': {'id': 'default', 'name': 'Default'}},
        'user': {'id': USER, 'name': 'u',
                 'domain': {'id': 'default', 'name': 'Default'}},
        'roles': [{'id': 'r', 'name': 'member'}],
        'catalog': [{'type': 'accelerator', 'name': 'cyborg', 'id': 'a',
                     'endpoints': [{'id': 'e', 'interface': 'public',
                                    'region': 'RegionOne',
                                    'region_id': 'RegionOne',
                                    'url': catalog_url}]}]}}


class ComputeHostTestCase(zun_base.DriverTestCase):
    """Zun's compute manager on this host with the docker_oci driver."""

    def setUp(self):
        super().setUp()
        # Zun's API version, so the tests' own calls match the driver's.
        self.docker = self.useFixture(docker_fixtures.DockerFixture(
            CONF.docker.docker_remote_api_version)).client
        self.cloud = cloud_double.Cloud()
        self.server = cloud_double.Server(self.cloud)
        self.addCleanup(self.server.stop)
        self.placement = cloud_double.Server(self.cloud)
        self.addCleanup(self.placement.stop)
        # Before the servers stop: a stalled request holds a thread.
        self.addCleanup(self.cloud.unstall)
        self.cdi_dir = self.useFixture(fixtures.TempDir()).path
        self._configure()
        self.useFixture(fixtures.MockPatch(
            'zun.container.docker.driver.zun_network.driver',
            side_effect=lambda **kw: harness.NoNeutron()))
        self.cn = self.cloud.add_compute_node(CONF.host)
        self.context = self.user_context(PROJECT, 'user-token')
        self.manager = zun_manager.Manager(container_driver='docker_oci')

    def _configure(self):
        oci_conf.cyborg.register_opts(CONF)
        group = cyborg_conf.CYBORG_GROUP
        CONF.register_opts(ks_loading.get_auth_plugin_conf_options(
            'admin_token'), group=group)
        # Zun's service user; as the user of the clean-up its endpoint
        # is Cyborg's.
        self.config(auth_type='admin_token', token=cloud_double.SERVICE_TOKEN,
                    endpoint=self.server.url + '/accelerator', group=group)
        self.config(cdi_spec_dir=self.cdi_dir, arq_poll_interval=0.05,
                    arq_bind_timeout=5, group='oci_attach')
        # Zun's own service user, used by its Placement client.
        CONF.register_opts(ks_loading.get_auth_plugin_conf_options(
            'admin_token'), group='keystone_auth')
        self.config(auth_type='admin_token', token=cloud_double.ADMIN_TOKEN,
                    endpoint=self.placement.url + '/placement',
                    group='keystone_auth')

    def user_context(self, project, token, cyborg_url=None):
        self.cloud.add_user(token, project)
        return zun_context.RequestContext(
            auth_token=token, project_id=project, user_id=USER,
            auth_token_info=token_info(project, cyborg_url or
                                       self.server.url + '/accelerator'),
            is_admin=False)

    def add_peripherals(self, names, device_class='serial'):
        """Publish ``names`` (keys of DEVICES) in the CDI spec and Cyborg."""
        rc = 'CUSTOM_PERIPHERAL_%s' % device_class.upper()
        entries = []
        for name in names:
            path, major, minor = DEVICES[name]
            # Our CDI device names start with the device's class.
            cdi_name = '%s-%s' % (device_class, name)
            entries.append((cdi_name, {'deviceNodes': [
                cdi_spec.device_node_dict(path, 'c', major, minor,
                                          permissions='rw')]}))
            info = contract.AttachInfo.for_device(cdi_name, device_class)
            self.cloud.add_device(
                self.cn, '%s_%s' % (CONF.host, name), rc,
                ['OWNER_CYBORG', 'CUSTOM_PERIPHERAL_MODEL_%s'
                 % name.upper().replace('-', '_')], info.to_dict())
        writer.atomic_write(self.cdi_dir, cdi_spec.render(
            cdi_spec.build_spec(contract.CDI_KIND, entries)))
        return rc

    def add_profile(self, name, rc, count=1, traits=()):
        group = {'resources:%s' % rc: str(count)}
        group.update({'trait:%s' % t: 'required' for t in traits})
        self.cloud.add_profile(name, [group])

    def new_container(self, device_profiles=None, context=None,
                      field_profiles=None):
        context = context or self.context
        container = harness.new_container(
            context, ['sleep', '600'], 'dev-test', CONF.host, user_id=USER,
            device_profiles=device_profiles, field_profiles=field_profiles)
        self.addCleanup(self._remove, container)
        return container

    def _remove(self, container):
        name = 'zun-' + container.uuid
        for c in self.docker.containers(all=True, filters={'name': name}):
            self.docker.remove_container(c['Id'], force=True)

    def create(self, container, context=None):
        return self.manager._do_container_create_base(
            context or self.context, container, [{'network': 'none'}], {})

    def start(self, container, context=None):
        return self.manager._do_container_start(context or self.context,
                                                container)

    def reload(self, container):
        return objects.Container.get_by_uuid(self.context, container.uuid)


class SwappableNode:
    """A real node under /dev, ``serial-usb0`` of the CDI spec, that a
    test replaces by another device's with ``_swap``; for a
    ``ComputeHostTestCase`` whose ``self.manager`` runs the container
    ``self.container``.
    """

    def make_node(self):
        # In a scratch directory under /dev, as the policy wants host
        # nodes there.
        node_dir = tempfile.mkdtemp(prefix='zun-oci-test-', dir='/dev')
        self.addCleanup(shutil.rmtree, node_dir)
        self.node = os.path.join(node_dir, 'ttyUSB0')
        self._mknod(10, 183)                          # hwrng
        writer.atomic_write(self.cdi_dir, cdi_spec.render(cdi_spec.build_spec(
            contract.CDI_KIND, [('serial-usb0', {'deviceNodes': [
                cdi_spec.device_node_dict(self.node, 'c', 10, 183,
                                          permissions='rw')]})])))

    def _mknod(self, major, minor):
        if os.path.lexists(self.node):
            os.unlink(self.node)
        os.mknod(self.node, 0o600 | stat.S_IFCHR, os.makedev(major, minor))

    def _swap(self):
        self._mknod(10, 259)                          # cpu_dma_latency

    def _running(self):
        return self.docker.inspect_container(
            self.container.container_id)['State']['Running']

    def _stop(self):
        self.manager._do_container_stop(self.context, self.container, 1)
        self.assertFalse(self._running())

    def test_state_sync_keeps_a_container_whose_device_was_unplugged(self):
        # The device left (a re-plug gives it another name): the running
        # container's own node keeps its numbers, which nobody else has.
        os.unlink(self.node)
        self.manager.sync_container_state(None)
        self.assertTrue(self._running())
        container = self.reload(self.container)
        self.assertEqual(('Running', None),
                         (container.status, container.status_reason))
