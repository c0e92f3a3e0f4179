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

"""The ``oci`` device attacher in Zun's own Docker driver (our series).

Zun's ``DockerDriver``, with ``[docker] device_attachers = oci`` and
Docker's client as Zun made it (no ``docker_oci`` wrapper), creates real
containers from bound accelerator requests: handed to
``DockerDriver.create`` directly, and bound by Zun's compute manager
(the series' ARQ lifecycle) against the Cyborg double, and refuses to
run them again once another device is behind their paths.
"""

import json
import os
import uuid

import fixtures
from zun.common import cyborg as zun_cyborg
from zun.common import exception
from zun.common import utils as zun_utils
from zun.compute import manager as zun_manager
from zun.container.docker import driver as docker_driver
from zun.container.docker import utils as docker_utils

from cyborg_peripherals import contract
from cyborg_peripherals.cdi import spec as cdi_spec
from cyborg_peripherals.cdi import writer
from tests.zun import base
from zun_oci_attach import attacher
from zun_oci_attach import driver as oci_driver


def bound_arq(cdi_name, device_class='serial', profile='rng',
              handle_type='OCI'):
    """A bound ARQ as Cyborg's API returns it to zun-compute."""
    return {'uuid': str(uuid.uuid4()), 'state': 'Bound',
            'device_profile_name': profile, 'device_profile_group_id': 0,
            'hostname': base.CONF.host, 'instance_uuid': None,
            'attach_handle_type': handle_type,
            'attach_handle_info': contract.AttachInfo.for_device(
                cdi_name, device_class).to_dict()}


class AttacherTestCase(base.ComputeHostTestCase):

    def setUp(self):
        super().setUp()
        # Zun's client as Zun made it, even where a docker_oci driver of
        # another test of this process wrapped it.
        original = getattr(docker_utils.docker_client,
                           'zun_oci_attach_wrapped', None)
        if original is not None:
            self.useFixture(fixtures.MonkeyPatch(
                'zun.container.docker.utils.docker_client', original))
        self.config(device_attachers=['oci'], group='docker')
        self.add_peripherals(['hwrng', 'cpu-dma-latency'])

    def zun_driver(self):
        return docker_driver.DockerDriver()

    def create(self, driver, container, accel_requests):
        repo, tag = zun_utils.parse_image_name(container.image, 'docker')
        image = {'repo': repo, 'tag': tag, 'path': None, 'driver': 'docker'}
        return driver.create(self.context, container, image,
                             [{'network': 'none'}], {},
                             accel_requests=accel_requests)

    def assertNoDockerContainer(self, container):
        self.assertEqual([], self.docker.containers(
            all=True, filters={'name': 'zun-' + container.uuid}))


class TestZunDockerDriver(AttacherTestCase):

    def test_container_gets_the_device_of_its_bound_arq(self):
        container = self.new_container(field_profiles=['rng'])

        created = self.create(self.zun_driver(), container,
                              [bound_arq('serial-hwrng')])

        info = self.docker.inspect_container(created.container_id)
        self.assertEqual(
            [{'PathOnHost': '/dev/hwrng', 'PathInContainer': '/dev/hwrng',
              'CgroupPermissions': 'rw'}], info['HostConfig']['Devices'])
        self.assertEqual(
            {'nodes': [['/dev/hwrng', 'c', 10, 183]]},
            json.loads(info['Config']['Labels'][attacher.NODES_LABEL]))
        self.docker.start(created.container_id)
        run = self.docker.exec_create(
            created.container_id,
            ['sh', '-c', 'head -c 8 /dev/hwrng | od -An -tx1 && '
                         'test ! -e /dev/cpu_dma_latency && echo ok'])
        out = self.docker.exec_start(run).decode()
        self.assertEqual(0, self.docker.exec_inspect(run['Id'])['ExitCode'],
                         out)
        # The attacher only translates: Zun owns the ARQs and claims.
        self.assertEqual([], self.cloud.requests)

    def test_two_profiles_in_one_container(self):
        container = self.new_container(field_profiles=['rng', 'latency'])
        created = self.create(self.zun_driver(), container, [
            bound_arq('serial-hwrng'),
            bound_arq('serial-cpu-dma-latency', profile='latency')])
        devices = self.docker.inspect_container(
            created.container_id)['HostConfig']['Devices']
        self.assertEqual(['/dev/cpu_dma_latency', '/dev/hwrng'],
                         sorted(d['PathOnHost'] for d in devices))

    def test_a_handle_type_no_attacher_handles(self):
        container = self.new_container(field_profiles=['gpu'])
        e = self.assertRaises(
            exception.DeviceAttachFailed, self.create, self.zun_driver(),
            container, [bound_arq('serial-hwrng', profile='gpu',
                                  handle_type='PCI')])
        self.assertIn('type PCI', str(e))
        self.assertIn('device profile gpu', str(e))
        self.assertIn('[docker] device_attachers', str(e))
        self.assertNoDockerContainer(container)

    def test_a_device_the_spec_does_not_have(self):
        container = self.new_container(field_profiles=['rng'])
        e = self.assertRaises(
            attacher.DeviceRefused, self.create, self.zun_driver(),
            container, [bound_arq('serial-ttyS0')])
        self.assertIn('device-unknown', str(e))
        self.assertIn('Create the container again', str(e))
        self.assertNoDockerContainer(container)

    def test_the_policy_refuses_a_spec_setting_a_loader_variable(self):
        writer.atomic_write(self.cdi_dir, cdi_spec.render(
            cdi_spec.build_spec(contract.CDI_KIND, [('serial-hwrng', {
                'deviceNodes': [cdi_spec.device_node_dict(
                    '/dev/hwrng', 'c', 10, 183)],
                'env': ['LD_PRELOAD=/tmp/evil.so']})])))
        container = self.new_container(field_profiles=['rng'])
        e = self.assertRaises(
            attacher.DeviceRefused, self.create, self.zun_driver(),
            container, [bound_arq('serial-hwrng')])
        self.assertIn('device profile rng', str(e))
        self.assertIn('LD_PRELOAD', str(e))
        self.assertNoDockerContainer(container)

    def test_an_attach_info_of_another_class(self):
        container = self.new_container(field_profiles=['rng'])
        e = self.assertRaises(
            attacher.DeviceRefused, self.create, self.zun_driver(),
            container, [bound_arq('serial-hwrng', device_class='camera')])
        self.assertIn('class-mismatch', str(e))
        self.assertNoDockerContainer(container)

    def test_docker_api_too_old_for_native_cdi(self):
        self.config(docker_remote_api_version='1.26', group='docker')
        self.config(native_cdi=True, group='oci_attach')
        container = self.new_container(field_profiles=['rng'])
        e = self.assertRaises(
            attacher.DockerAPITooOld, self.create, self.zun_driver(),
            container, [bound_arq('serial-hwrng')])
        self.assertIn('docker_remote_api_version = 1.40 or higher', str(e))
        self.assertNoDockerContainer(container)


class TestZunComputeBindsTheAttacherTranslates(AttacherTestCase):
    """Zun's compute manager with the series owns the ARQs.

    The scheduler's choice arrives as ``device_rps``; Cyborg is the
    double of ``tests.zun.cloud``.
    """

    def setUp(self):
        super().setUp()
        self.add_profile('rng', 'CUSTOM_PERIPHERAL_SERIAL')
        # Zun's service user, whose token Cyborg requires for binding.
        self.config(token=base.cloud_double.SERVICE_TOKEN,
                    group='keystone_auth')
        self.manager = zun_manager.Manager(container_driver='docker')

    def test_the_container_gets_the_device_zun_bound(self):
        container = self.new_container(field_profiles=['rng'])
        rp = str(uuid.uuid3(uuid.NAMESPACE_DNS, base.CONF.host + '_hwrng'))

        created = self.manager._do_container_create_base(
            self.context, container, [{'network': 'none'}], {},
            device_rps={zun_cyborg.requester_id(0, 0): rp})

        devices = self.docker.inspect_container(
            created.container_id)['HostConfig']['Devices']
        self.assertEqual(['/dev/hwrng'], [d['PathOnHost'] for d in devices])
        arqs = self.cloud.live_arqs()
        self.assertEqual([('Bound', container.uuid, rp)],
                         [(a['state'], a['instance_uuid'],
                           a['device_rp_uuid']) for a in arqs])
        # Zun claimed through its scheduler: nothing here asks Placement.
        self.assertFalse([p for _m, p, _t in self.cloud.requests
                          if p.startswith('/placement')])

    def test_a_refused_device_fails_the_create_and_frees_the_arq(self):
        container = self.new_container(field_profiles=['rng'])
        # The spec no longer has the device Cyborg binds.
        self.add_peripherals(['cpu-dma-latency'])
        rp = str(uuid.uuid3(uuid.NAMESPACE_DNS, base.CONF.host + '_hwrng'))

        self.assertRaises(
            attacher.DeviceRefused, self.manager._do_container_create_base,
            self.context, container, [{'network': 'none'}], {},
            device_rps={zun_cyborg.requester_id(0, 0): rp})

        reloaded = self.reload(container)
        self.assertEqual('Error', reloaded.status)
        self.assertIn('device-unknown', reloaded.status_reason)
        self.assertNoDockerContainer(container)
        self.assertEqual([], self.cloud.live_arqs())


class TestDockerOCIOnPatchedZun(AttacherTestCase):
    """docker_oci leaves the devices of the field to Zun."""

    def test_zun_arqs_go_to_zuns_attachers_and_are_not_claimed_again(self):
        driver = oci_driver.DockerOCIDriver()
        container = self.new_container(field_profiles=['rng'])

        created = self.create(driver, container,
                              [bound_arq('serial-hwrng')])
        devices = self.docker.inspect_container(
            created.container_id)['HostConfig']['Devices']
        self.assertEqual(['/dev/hwrng'], [d['PathOnHost'] for d in devices])

        driver.delete(self.context, created, True)
        self.assertNoDockerContainer(container)
        # Neither ARQs nor Placement were touched: they are Zun's.
        self.assertEqual([], self.cloud.requests)

    def test_field_profiles_zun_did_not_bind_are_refused(self):
        driver = oci_driver.DockerOCIDriver()
        container = self.new_container(field_profiles=['rng'])
        e = self.assertRaises(oci_driver.ProfilesUnbound, self.create,
                              driver, container, None)
        self.assertIn('rng', str(e))
        self.assertIn('tools/install-zun', str(e))
        self.assertEqual([], self.cloud.requests)
        self.assertNoDockerContainer(container)

    def test_profiles_in_both_the_field_and_the_label_are_refused(self):
        driver = oci_driver.DockerOCIDriver()
        container = self.new_container('rng', field_profiles=['rng'])
        e = self.assertRaises(exception.Invalid, self.create, driver,
                              container, [bound_arq('serial-hwrng')])
        self.assertIn('not in both', str(e))
        self.assertEqual([], self.cloud.requests)
        self.assertNoDockerContainer(container)


class TestZunRefusesASwappedNode(base.SwappableNode, AttacherTestCase):
    """Zun's DockerDriver asks the attacher before a container runs again.

    Docker resolves device paths at every start; a peripheral replaced
    under the same path must not reach the container.
    """

    def setUp(self):
        super().setUp()
        self.make_node()
        self.manager = zun_manager.Manager(container_driver='docker')
        self.container = self.create(
            self.manager.driver, self.new_container(field_profiles=['rng']),
            [bound_arq('serial-usb0')])
        self.container.save(self.context)
        self.manager._do_container_start(self.context, self.container)
        self.assertTrue(self._running())

    def assertRefused(self, status, action):
        container = self.reload(self.container)
        self.assertFalse(self._running())
        self.assertEqual(status, container.status)
        self.assertIn('not the devices it was given at create (%s is c '
                      '10:259, was c 10:183)' % self.node,
                      container.status_reason)
        self.assertIn(action, container.status_reason)
        self.assertIn('delete the container and create it again',
                      container.status_reason)

    def test_an_unchanged_node_starts_again(self):
        self._stop()
        self.manager._do_container_start(self.context, self.container)
        self.assertTrue(self._running())
        self.assertEqual('Running', self.reload(self.container).status)

    def test_start_refuses_a_swapped_node(self):
        self._stop()
        self._swap()
        self.assertRaises(attacher.DeviceChanged,
                          self.manager._do_container_start, self.context,
                          self.container)
        self.assertRefused('Error', 'The container was not started')

    def test_reboot_stops_a_container_whose_node_was_swapped(self):
        self._swap()
        # Zun's manager records the error as an action event.
        self.manager._do_container_reboot(self.context, self.container, 1)
        self.assertRefused('Stopped', 'The container was stopped')

    def test_state_sync_stops_a_container_docker_restarted_itself(self):
        # dockerd restarts containers without Zun (restart policies).
        self._swap()
        self.docker.restart(self.container.container_id, timeout=1)
        self.assertTrue(self._running())
        self.manager.sync_container_state(None)
        self.assertRefused('Stopped', 'The container was stopped')

    def test_reboot_refuses_a_missing_node(self):
        os.unlink(self.node)
        self.manager._do_container_reboot(self.context, self.container, 1)
        container = self.reload(self.container)
        self.assertFalse(self._running())
        self.assertEqual('Stopped', container.status)
        self.assertIn('%s is no such file or directory, was c 10:183'
                      % self.node, container.status_reason)

    def test_start_refuses_a_missing_node(self):
        self._stop()
        os.unlink(self.node)
        self.assertRaises(attacher.DeviceChanged,
                          self.manager._do_container_start, self.context,
                          self.container)
        container = self.reload(self.container)
        self.assertFalse(self._running())
        self.assertIn('%s is no such file or directory, was c 10:183'
                      % self.node, container.status_reason)
        self.assertIn('The container was not started',
                      container.status_reason)
