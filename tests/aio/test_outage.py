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

"""A container force-deleted while the real Cyborg API is down."""


from zun import objects
from zun.common import exception

from tests.aio import base


class TestCyborgOutage(base.CloudTestCase):
    DB = 'sqlite'

    def _stop_cyborg_api(self):
        self.cloud.cyborg.api.stop()
        self.addCleanup(self._start_cyborg_api)

    def _start_cyborg_api(self):
        if self.cloud.cyborg.api.popen is None:
            self.cloud.restart_cyborg_api()

    def _provider_of(self, container):
        (arq,) = self.arqs(instance=container.uuid)
        return arq['device_rp_uuid']

    def test_the_device_of_a_forced_delete_comes_back(self):
        profile = self.serial_profile()
        context = self.host.context('demo')
        first = self.new_container(context, profile)
        self.host.create(context, first)
        dead = self._provider_of(first)

        self._stop_cyborg_api()
        # What Zun's _do_container_delete does with force (its resource
        # tracker left out): swallow the driver's error, drop the
        # container's allocations, forget the container.
        self.assertRaises(exception.ZunException,
                          self.host.manager.driver.delete, context, first,
                          True)
        self.host.manager.reportclient.delete_allocation_for_container(
            context, first.uuid)
        first.destroy(context)
        self._start_cyborg_api()
        self.assertEqual([first.uuid],
                         [a['instance_uuid'] for a in self.arqs()])

        # Placement says the device is free; Cyborg still binds it.
        second = self.new_container(context, profile)
        self.host.create(context, second)
        self.assertNotEqual(dead, self._provider_of(second))

        # Zun's periodic state sync, also run when zun-compute starts.
        self.host.manager.sync_container_state(None)
        self.assertEqual([second.uuid],
                         [a['instance_uuid'] for a in self.arqs()])
        self.assertEqual(1, sum(h['in_use'] for h in
                                self.attach_handles().values()))
        self.assertRaises(exception.ContainerNotFound,
                          objects.Container.get_by_uuid, context,
                          first.uuid)
