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

"""Creating containers with peripherals through Zun and the docker_oci
driver, against real Docker and a Cyborg/Placement double."""

import fixtures
from zun.common import exception

from tests.zun import base
from tests.zun import races


class TestCreateWithDevices(base.ComputeHostTestCase):

    def test_container_can_open_its_device_and_nothing_else(self):
        rc = self.add_peripherals(['hwrng', 'cpu-dma-latency'])
        self.add_profile('rng', rc, traits=['CUSTOM_PERIPHERAL_MODEL_HWRNG'])
        container = self.new_container('rng')

        created = self.create(container)

        self.docker.start(created.container_id)
        run = self.docker.exec_create(
            created.container_id,
            ['sh', '-c', 'head -c 8 /dev/hwrng | od -An -tx1 && '
                         'test ! -e /dev/cpu_dma_latency && echo ok'])
        out = self.docker.exec_start(run).decode()
        self.assertEqual(0, self.docker.exec_inspect(run['Id'])['ExitCode'],
                         out)
        self.assertIn('ok', out)
        host_config = self.docker.inspect_container(
            created.container_id)['HostConfig']
        self.assertEqual(['/dev/hwrng'],
                         [d['PathOnHost'] for d in host_config['Devices']])
        arqs = self.cloud.live_arqs()
        self.assertEqual(['Bound'], [a['state'] for a in arqs])
        self.assertEqual(container.uuid, arqs[0]['instance_uuid'])

    def test_delete_releases_the_device_for_the_next_container(self):
        rc = self.add_peripherals(['hwrng'])
        self.add_profile('rng', rc)
        first = self.create(self.new_container('rng'))

        second = self.new_container('rng')
        self.assertRaises(exception.ZunException, self.create, second)
        self.assertIn('No free device', self.reload(second).status_reason)

        self.manager.driver.delete(self.context, first, True)
        self.assertEqual([], self.cloud.live_arqs())
        self.assertEqual({}, self.cloud.allocations)
        third = self.create(self.new_container('rng'))
        self.assertTrue(third.container_id)

    def test_creates_share_one_connection_to_cyborg(self):
        rc = self.add_peripherals(['hwrng', 'cpu-dma-latency'])
        self.add_profile('rng', rc)
        first = self.create(self.new_container('rng'))
        second = self.create(self.new_container('rng'))
        self.manager.driver.delete(self.context, first, True)
        self.manager.driver.delete(self.context, second, True)
        self.assertEqual(1, len(self.cloud.cyborg_peers))

    def test_placement_is_asked_once_per_kind_of_device(self):
        rc = self.add_peripherals(['hwrng', 'cpu-dma-latency', 'ttyS0'])
        no_rng = {'resources:%s' % rc: '2',
                  'trait:CUSTOM_PERIPHERAL_MODEL_HWRNG': 'forbidden'}
        self.cloud.add_profile('pair', [no_rng])
        self.add_profile('rng', rc, traits=['CUSTOM_PERIPHERAL_MODEL_HWRNG'])
        first = self.create(self.new_container('pair rng'))
        self.manager.driver.delete(self.context, first, True)
        self.create(self.new_container('pair'))
        lookups = [p.split('?', 1)[1] for m, p, _t in self.cloud.requests
                   if p.startswith('/placement/resource_providers')]
        # The compute node once, then one query per distinct group.
        self.assertEqual(['name=' + base.CONF.host], lookups[:1])
        self.assertEqual(4, len(lookups), lookups)

    def test_two_containers_race_for_one_device(self):
        self.useFixture(races.serialized_zun_database())
        rc = self.add_peripherals(['hwrng'])
        self.add_profile('rng', rc)
        # Binding takes a few polls, so the loser's claim meets the
        # winner's allocation rather than a finished create.
        self.cloud.resolve_after = 2
        contexts = [self.user_context(base.PROJECT, 'user-token')
                    for _i in range(2)]
        containers = [self.new_container('rng', context=c) for c in contexts]

        def run(container, context):
            try:
                self.start(self.create(container, context), context)
            except exception.ZunException:
                pass   # The container's status says why.

        races.run_together(run, list(zip(containers, contexts)))

        loser, winner = sorted((self.reload(c) for c in containers),
                               key=lambda c: c.status)
        self.assertEqual(('Error', 'Running'), (loser.status, winner.status))
        self.assertIn('No free device', loser.status_reason)
        # Both got ARQs; only the winner's remain, and only its claim.
        self.assertEqual(2, sum(1 for m, p, _t in self.cloud.requests
                                if m == 'POST'))
        self.assertEqual([winner.uuid], [a['instance_uuid']
                                         for a in self.cloud.live_arqs()])
        self.assertEqual([winner.uuid], list(self.cloud.allocations))
        self.assertEqual([], self.docker.containers(
            all=True, filters={'name': 'zun-' + loser.uuid}))
        self.manager.driver.delete(self.context, winner, True)
        self.assertEqual([], self.cloud.live_arqs())
        self.assertEqual({}, self.cloud.allocations)

    def test_container_without_profiles_is_plain_zun(self):
        created = self.create(self.new_container())
        host_config = self.docker.inspect_container(
            created.container_id)['HostConfig']
        self.assertFalse(host_config['Devices'])
        self.assertEqual([], self.cloud.requests)


class TestFailuresLeaveNothing(base.ComputeHostTestCase):
    """After each failure: no ARQ, no claim, container in Error."""

    def setUp(self):
        super().setUp()
        rc = self.add_peripherals(['hwrng'])
        self.add_profile('rng', rc)
        self.container = self.new_container('rng')

    def assertFailedCleanly(self, reason_part):
        self.assertRaises(exception.ZunException, self.create, self.container)
        container = self.reload(self.container)
        self.assertEqual('Error', container.status)
        self.assertIn(reason_part, container.status_reason)
        self.assertEqual([], self.cloud.live_arqs())
        self.assertEqual({}, self.cloud.allocations)
        self.assertEqual([], self.docker.containers(
            all=True, filters={'name': 'zun-' + self.container.uuid}))
        return container.status_reason

    def test_cyborg_unreachable(self):
        self.server.stop()
        self.cloud.allocations.clear()
        self.assertRaises(exception.ZunException, self.create, self.container)
        container = self.reload(self.container)
        self.assertEqual('Error', container.status)
        self.assertIn('Cyborg could not be reached', container.status_reason)
        self.assertNotIn('Releasing the devices also failed',
                         container.status_reason)
        self.assertFalse(container.container_id)

    def test_bind_fails_when_cyborg_has_no_free_handle(self):
        for handles in self.cloud.handles.values():
            handles[0]['in_use'] = True
        reason = self.assertFailedCleanly('could not bind device profile '
                                          'rng')
        self.assertIn('BindFailed', reason)

    def test_arqs_never_resolve(self):
        self.config(arq_bind_timeout=1, group='oci_attach')
        self.cloud.never_resolve = True
        self.assertFailedCleanly('did not resolve the accelerator requests '
                                 'within 1 seconds')

    def test_translation_refuses_a_non_oci_handle(self):
        for handles in self.cloud.handles.values():
            handles[0]['type'] = 'PCI'
        self.assertFailedCleanly('attach-type')

    def test_device_unplugged_between_bind_and_create(self):
        real_progress = base.cloud_double._Cyborg._progress

        def unplug_when_bound(cyborg, arq):
            real_progress(cyborg, arq)
            if arq['state'] == 'Bound':
                self.add_peripherals(['cpu-dma-latency'])
        self.useFixture(fixtures.MockPatchObject(
            base.cloud_double._Cyborg, '_progress', unplug_when_bound))
        reason = self.assertFailedCleanly('device-unknown')
        self.assertIn('Create the container again', reason)

    def test_docker_api_version_too_old_for_the_devices(self):
        # CDI device requests need API 1.40.
        self.config(docker_remote_api_version='1.26', group='docker')
        self.config(native_cdi=True, group='oci_attach')
        self.assertFailedCleanly('docker_remote_api_version = 1.40 or '
                                 'higher')

    def test_docker_create_fails(self):
        # A name clash is a real Docker refusal of the create call.
        self.docker.create_container(
            base.IMAGE, ['true'],
            name='zun-' + self.container.uuid)
        self.assertRaises(exception.ZunException, self.create, self.container)
        container = self.reload(self.container)
        self.assertEqual('Error', container.status)
        self.assertIn('Conflict', container.status_reason)
        self.assertEqual([], self.cloud.live_arqs())
        self.assertEqual({}, self.cloud.allocations)

    def test_arqs_of_another_project_are_not_used(self):
        # The container belongs to PROJECT; the token sent is another
        # project's, so Cyborg records the ARQs there.
        other = self.user_context(base.OTHER_PROJECT, 'other-token')
        self.assertRaises(exception.ZunException,
                          self.manager._do_container_create_base,
                          other, self.container, [{'network': 'none'}], {})
        container = self.reload(self.container)
        self.assertEqual('Error', container.status)
        self.assertIn('belongs to project %s' % base.OTHER_PROJECT,
                      container.status_reason)
        self.assertEqual([], self.cloud.live_arqs())

    def test_bind_and_delete_carry_the_service_token(self):
        created = self.create(self.container)
        self.manager.driver.delete(self.context, created, True)
        privileged = [(m, t) for m, p, t in self.cloud.requests
                      if m == 'PATCH' or (m == 'DELETE' and
                                          'instance=' in p)]
        self.assertEqual([('PATCH', base.cloud_double.SERVICE_TOKEN),
                          ('DELETE', base.cloud_double.SERVICE_TOKEN)],
                         privileged)

