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

"""Services that stop at the wrong moment, on the all-in-one cloud."""

import time

from zunclient import exceptions as zun_exc

from tests.aio import base


#: Bounds the wait for zun-compute's clean-up, which takes up to two
#: state syncs (60 s apart); not a performance assertion.
PATIENCE = 180


class TestOutages(base.CloudTestCase):
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

    def _restart_zun_compute(self):
        """Restart the first host's zun-compute; it syncs the state of
        its containers as it starts (Zun's periodic state sync runs at
        once), as after a crash.
        """
        process = self.cloud.zun.computes[self.cloud.host]
        process.stop()
        self.cloud._started(process.start())

    def wait(self, what, condition):
        deadline = time.monotonic() + PATIENCE
        while not condition():
            if time.monotonic() > deadline:
                self.fail('%s: not within %d seconds' % (what, PATIENCE))
            time.sleep(0.5)

    def test_the_device_of_a_forced_delete_comes_back(self):
        profile = self.serial_profile()
        first = self.run_container(profile)
        dead = self._provider_of(first)

        # The admin forces the delete while Cyborg cannot release the
        # device: Zun forgets the container and its allocations, Cyborg
        # keeps the accelerator request bound and the handle in use.
        self._stop_cyborg_api()
        self.zun('admin').containers.delete(first.uuid, force=True)
        self.wait('the forced delete', lambda: self._gone(first.uuid))
        self._start_cyborg_api()
        self.assertEqual([first.uuid],
                         [a['instance_uuid'] for a in self.arqs()])
        self.assertEqual({}, self.device_allocations(first.uuid))

        # zun-compute's state sync deletes the request of the container
        # Zun no longer knows once it has seen it for
        # [cyborg_client] orphan_arq_min_age (Zun patch 0008).
        self.wait('the release of the forced delete\'s device',
                  lambda: self.arqs() == [])
        self.assertFalse(any(h['in_use'] for h in
                             self.attach_handles().values()))

        # Every device can be had again, the released one included.
        running = [self.run_container(profile)
                   for _i in range(base.SERIAL_ADAPTERS)]
        self.assertIn(dead, [self._provider_of(c) for c in running])
        self.assertEqual(base.SERIAL_ADAPTERS, self.used())

    def _gone(self, ident):
        try:
            self.zun('admin').containers.get(ident)
        except zun_exc.NotFound:
            return True
        return False

    def test_restart_of_zun_compute_mid_create_leaks_nothing(self):
        """zun-compute stops while a container asking for a device is
        being created; once it is back and the container deleted, no
        accelerator request or allocation is left.
        """
        profile = self.serial_profile()
        container = self.run_container(profile, wait=())
        self._restart_zun_compute()
        final = self.wait_status(container.uuid,
                                 ('Running', 'Error', 'Created', 'Stopped'))
        self.delete_container(container.uuid, user='admin'
                              if final.status == 'Error' else 'demo')
        self.wait('no accelerator request of the deleted container',
                  lambda: self.arqs(instance=container.uuid) == [])
        self.assertEqual({}, self.device_allocations(container.uuid))
        self.assertEqual(0, self.used())
        self.assertFalse(any(h['in_use'] for h in
                             self.attach_handles().values()))
