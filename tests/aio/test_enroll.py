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

"""The compute worker on the all-in-one cloud: enrolling a new compute
host records its peripherals as device profiles, hot-plugs follow, and
a delete deregisters the host; the cloud's existing host cannot be
taken over.

One cloud on SQLite (``Cloud(enroll=True)``): real Keystone, Placement,
Cyborg (agent with the emulated kit), Zun, and the enrollment API and
worker (credentials and compute), driven by the real python-doniclient
as the demo user and the real ``openstack accelerator`` CLI.  One test,
so that one cloud serves it whatever the concurrency.
"""

import json

from keystoneauth1 import adapter
from oslotest import base as oslo_base

from aio import cloud as cloud_mod
from aio import keystone as keystone_mod
from aio import service


#: [compute] resync_interval here (default 30 s).
RESYNC = 3
WAIT = 120
CAMERA_RC = 'CUSTOM_PERIPHERAL_CAMERA'
SERIAL_RC = 'CUSTOM_PERIPHERAL_SERIAL'


class EnrollComputeTest(oslo_base.BaseTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cloud = cloud_mod.Cloud(
            db='sqlite', enroll=True,
            enroll_sections={'compute': {'resync_interval': RESYNC}})
        try:
            # No serial adapter yet: the test plugs one.
            kit = cls.cloud.edge_kit(serial_adapters=0)
            cls.cloud.start(kit=kit)
            cls.cloud.wait_for_providers(len(kit.devices))
        except BaseException:
            cls.cloud.stop(remove_workdir=False)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.cloud.stop_or_raise()
        super().tearDownClass()

    # -- helpers ------------------------------------------------------------

    def hw(self, *args, user='demo'):
        result = self.cloud.enroll.openstack('hardware', *args, user=user)
        self.assertEqual(0, result.returncode, result.stderr)
        return result.stdout

    def show(self, name):
        return json.loads(self.hw('show', name, '-f', 'json'))

    def task(self, name, worker='compute'):
        [task] = [w for w in self.show(name)['workers']
                  if w['worker_type'] == worker]
        return task

    def wait(self, what, predicate, timeout=WAIT):
        try:
            return service.wait_for(what, predicate, timeout, 0.5)
        except TimeoutError as e:
            # The work directory goes with the cloud: the worker's last
            # words in the message.
            with open(self.cloud.enroll.worker_log) as f:
                tail = [line for line in f if 'DEBUG' not in line][-15:]
            self.fail('%s; the worker logged:\n%s' % (e, ''.join(tail)))

    def enroll(self, name):
        self.hw('create', '--hardware_type', 'device', '--name', name,
                '--machine-name', 'aio-compute-host', '--contact-email',
                'owner@example.org')

    def profile(self, name, group):
        self.cloud.openstack('accelerator', 'device', 'profile', 'create',
                             name, '--group', group)
        self.addCleanup(self.cloud.openstack, 'accelerator', 'device',
                        'profile', 'delete', name)

    def admin(self, service_type, **kwargs):
        return adapter.Adapter(self.cloud.keystone.session('admin'),
                               service_type=service_type,
                               interface='public',
                               region_name=keystone_mod.REGION,
                               raise_exc=True, **kwargs)

    def zun_computes(self, host):
        services = self.admin('container', default_microversion='1.1').get(
            '/services').json()['services']
        return [s for s in services
                if s['host'] == host and s['binary'] == 'zun-compute']

    def providers_named(self, host):
        return self.admin('placement').get(
            '/resource_providers', params={'name': host}).json()[
            'resource_providers']

    def hardware_gone(self, name):
        return self.cloud.enroll.client('admin').get(
            '/v1/hardware/%s/' % name).status_code == 404

    # -- the test -------------------------------------------------------------

    def test_existing_host_refused_new_host_claimed_hotplug_delete(self):
        camera = 'cam-%s' % self.cloud.id
        two_cameras = 'two-cams-%s' % self.cloud.id
        serial = 'serial-%s' % self.cloud.id
        self.profile(camera, 'resources:%s=1' % CAMERA_RC)
        self.profile(two_cameras, 'resources:%s=2' % CAMERA_RC)
        self.profile(serial, 'resources:%s=1' % SERIAL_RC)

        # The cloud's own compute host, enrolled by a project member:
        # refused, and its deletion leaves the host registered.
        first = self.cloud.host
        self.enroll(first)
        error = self.wait('the existing host refused', lambda: self.task(
            first)['state_details'].get('last_error') if self.task(
            first)['state'] == 'ERROR' else None)
        self.assertIn('existing compute host', error)
        self.assertEqual([], self.show(first)['properties'].get(
            'device_profiles', []))
        self.hw('delete', first)
        self.wait('the refused hardware purged',
                  lambda: self.hardware_gone(first))
        self.assertEqual(1, len(self.zun_computes(first)))
        self.assertEqual(1, len(self.providers_named(first)))

        # A new host, enrolled before it runs: deferred, and the client
        # says why.
        host = 'new-%s' % self.cloud.id
        self.enroll(host)
        reason = self.wait('the new host deferred', lambda: self.task(host)[
            'state_details'].get('defer_reason'))
        self.assertIn('Zun has no zun-compute of host %s' % host, reason)
        self.assertEqual('PENDING', self.task(host)['state'])
        rows = json.loads(self.hw('list', '--long', '-f', 'json'))
        [row] = [r for r in rows if r['Name'] == host]
        self.assertEqual('PENDING', row['compute'])
        self.assertIn('Zun has no zun-compute', row['compute last error'])

        # It starts (no serial adapter yet): claimed, with the profiles
        # of its camera.
        kit = self.cloud.edge_kit(host=host, serial_adapters=0)
        compute = self.cloud.add_compute_host(host, kit)
        compute.wait_for_providers(len(kit.devices))
        self.wait('the compute task STEADY',
                  lambda: self.task(host)['state'] == 'STEADY')
        profiles = self.show(host)['properties']['device_profiles']
        self.assertIn(camera, profiles)
        self.assertNotIn(two_cameras, profiles)
        self.assertNotIn(serial, profiles)
        details = self.task(host)['state_details']
        self.assertEqual(compute.provider, details['compute_node'])

        # A serial adapter plugged: its profile within a resync or two.
        kit = self.cloud.emulated_kit(host=host, first_devnum=40,
                                      first_tty=10)
        kit.serial_adapter('1.3', 'AIO00077')
        compute.plug(kit)
        self.wait('the serial profile after the hot-plug', lambda: serial in
                  self.show(host)['properties']['device_profiles'])
        self.assertNotIn(two_cameras,
                         self.show(host)['properties']['device_profiles'])
        self.assertEqual('STEADY', self.task(host)['state'])

        # The host decommissioned: its services stop, its hardware is
        # deleted, its registrations go.
        tree = [compute.provider] + [rp['uuid'] for rp in
                                     compute.providers()]
        compute.agent.stop()
        compute.zun_compute.stop()
        self.assertEqual(1, len(self.zun_computes(host)))
        self.hw('delete', host)
        self.wait('the host hardware purged',
                  lambda: self.hardware_gone(host))
        self.assertEqual([], self.zun_computes(host))
        self.assertEqual([], self.providers_named(host))
        placement = self.admin('placement')
        for uuid_ in tree:
            self.assertEqual(404, placement.get(
                '/resource_providers/%s' % uuid_,
                raise_exc=False).status_code)
