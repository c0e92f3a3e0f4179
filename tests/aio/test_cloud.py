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

"""The whole path on the all-in-one cloud, on SQLite and on MariaDB.

Real Keystone, Placement, Neutron with Kuryr, Cyborg API, conductor and
agent (with peripheral_driver on an emulated kit whose nodes are real
character devices), zun-api and zun-compute (the class's ``DEVICE_PATH``
says how it attaches devices), and Docker.  Containers are run through
zun-api, as their users, with python-zunclient or the ``openstack``
CLI.  Nothing is mocked.
"""

import json
import os
import threading
import time
import uuid

from zunclient import exceptions as zun_exc

from aio import zun as aio_zun
from cyborg_peripherals import contract
from cyborg_peripherals.cdi import writer
from tests.aio import base
from zun_oci_attach import profiles


#: How long the tests wait for the agent to notice something; a bound on
#: waiting, not a performance assertion.  The agent reports every 60 s
#: (the spacing of Cyborg's periodic report task, whatever
#: ``periodic_interval`` says), so a test that must see a report after
#: an event waits up to two of them.
PATIENCE = 180


def _skip_on_sqlite(test):
    """Concurrent writers to one SQLite database fail.

    oslo.db begins each transaction with a deferred BEGIN, so a
    transaction that reads and then writes must upgrade its lock; SQLite
    refuses the upgrade at once ('database is locked') when another
    writer holds the lock, whatever the busy timeout.  Zun's api and
    compute processes and Cyborg's api and conductor each write one
    database, so concurrent creates fail there (seen: Cyborg's bind,
    zun-compute's compute-node update).  This is upstream's stance too:
    SQLite is for tests and one user at a time.
    """
    if test.DB == 'sqlite':
        test.skipTest('concurrent writers: SQLite refuses lock upgrades '
                      "('database is locked'); see _skip_on_sqlite")


class CloudTests:
    """The tests; mixed into one class per database."""

    # -- helpers --------------------------------------------------------------

    def serial_providers(self):
        return {rp['uuid']: rp for rp in self.cloud.providers()
                if base.SERIAL_RC in rp['inventories']}

    def wait_for(self, what, condition):
        deadline = time.monotonic() + PATIENCE
        while not condition():
            if time.monotonic() > deadline:
                self.fail('%s did not happen within %d seconds'
                          % (what, PATIENCE))
            time.sleep(0.2)

    def spec_nodes(self):
        """The device nodes the host's CDI spec names."""
        with open(writer.spec_path(self.cloud.cdi_dir)) as f:
            spec = json.load(f)
        return {node['path'] for device in spec['devices']
                for node in device['containerEdits']['deviceNodes']}

    def observe_a_report(self):
        """Return once the agent has reported to the conductor since the
        call: plug a new GPIO chip, wait for its provider, unplug it and
        wait until it is gone again.
        """
        kit = self.kit.later_kit()
        n = self.kit._later
        sys_path = kit.gpiochip('fe%06x' % (0x300000 + 0x1000 * n), 10 + n)
        self.cloud.plug(kit)
        self.cloud.wait_for_providers(self.device_count + 1, PATIENCE)
        self.cloud.unplug(sys_path)
        self.cloud.wait_for_providers(self.device_count, PATIENCE)

    def identities(self):
        """Everything Cyborg and Placement identify the devices by."""
        return {
            'providers': {rp['uuid']: (rp['name'],
                                       rp['parent_provider_uuid'])
                          for rp in self.cloud.providers()},
            'deployables': {u: (d['name'], d['rp_uuid'])
                            for u, d in self.deployables().items()},
            'handles': {u: (h['deployable_id'], h['attach_info'],
                            bool(h['in_use']))
                        for u, h in self.attach_handles().items()},
        }

    def bind_patch(self, arq_uuid, rp_uuid, instance):
        return {arq_uuid: [
            {'op': 'add', 'path': '/hostname', 'value': self.cloud.host},
            {'op': 'add', 'path': '/device_rp_uuid', 'value': rp_uuid},
            {'op': 'add', 'path': '/instance_uuid', 'value': instance}]}

    def create_arq(self, profile, user='demo'):
        resp = self.cyborg('POST', '/accelerator_requests', user,
                           json={'device_profile_name': profile})
        self.assertEqual(201, resp.status_code, resp.text)
        (arq,) = resp.json()['arqs']
        self.addCleanup(self._delete_unbound_arq, arq['uuid'])
        return arq

    def _delete_unbound_arq(self, arq_uuid):
        resp = self.cyborg('DELETE', '/accelerator_requests?arqs=%s'
                           % arq_uuid)
        self.assertIn(resp.status_code, (204, 404), resp.text)

    def get_arq(self, arq_uuid, user='demo'):
        return self.cyborg('GET', '/accelerator_requests/%s' % arq_uuid,
                           user)

    # -- the tests ----------------------------------------------------------

    def test_each_peripheral_is_a_nested_provider(self):
        providers = self.cloud.providers()
        self.assertEqual(self.device_count, len(providers))
        serial = [rp for rp in providers
                  if base.SERIAL_RC in rp['inventories']]
        gpio = [rp for rp in providers if base.GPIO_RC in rp['inventories']]
        (camera,) = [rp for rp in providers
                     if base.CAMERA_RC in rp['inventories']]
        (sdr,) = [rp for rp in providers if base.SDR_RC in rp['inventories']]
        self.assertEqual(base.SERIAL_ADAPTERS, len(serial))
        self.assertEqual(1, len(gpio))
        self.assertEqual(['CUSTOM_PERIPHERAL_USB_046D_082D', 'OWNER_CYBORG'],
                         sorted(camera['traits']))
        self.assertEqual(['CUSTOM_PERIPHERAL_MODEL_HACKRF_ONE',
                          'CUSTOM_PERIPHERAL_USB_1D50_6089', 'OWNER_CYBORG'],
                         sorted(sdr['traits']))
        self.assertEqual(sorted(self.kit.ports),
                         sorted(self.serial_of(rp['name']) for rp in serial))
        deployables = {d['rp_uuid']: d for d in self.deployables().values()}
        for rp in providers:
            self.assertEqual(self.cloud.compute_node,
                             rp['parent_provider_uuid'], rp['name'])
            self.assertEqual(self.cloud.compute_node,
                             rp['root_provider_uuid'], rp['name'])
            self.assertTrue(rp['name'].startswith(self.cloud.host + '_'))
            (inventory,) = rp['inventories'].values()
            self.assertEqual((1, 0, 1, 1, 1),
                             (inventory['total'], inventory['reserved'],
                              inventory['min_unit'], inventory['max_unit'],
                              inventory['step_size']), rp['name'])
            self.assertEqual(rp['name'], deployables[rp['uuid']]['name'])
            self.assertEqual(1, deployables[rp['uuid']]['num_accelerators'])
        for rp in serial:
            self.assertEqual(['CUSTOM_PERIPHERAL_USB_0403_6001',
                              'OWNER_CYBORG'], sorted(rp['traits']))
        self.assertEqual(['OWNER_CYBORG'], gpio[0]['traits'])
        handles = self.attach_handles().values()
        self.assertEqual(self.device_count, len(handles))
        self.assertFalse(any(h['in_use'] for h in handles))

    def test_profile_to_running_container_and_back(self):
        profile = self.serial_profile()
        # Cyborg binds only with a service token: the user's own token
        # is refused, and the request stays unbound.
        arq = self.create_arq(profile)
        self.assertEqual('Initial', arq['state'])
        rp = sorted(self.serial_providers())[0]
        resp = self.cyborg('PATCH', '/accelerator_requests',
                           json=self.bind_patch(arq['uuid'], rp,
                                                str(uuid.uuid4())))
        self.assertEqual(403, resp.status_code, resp.text)
        self.assertIn('service token', resp.text)
        unbound = self.get_arq(arq['uuid']).json()
        self.assertEqual(('Initial', None),
                         (unbound['state'], unbound['instance_uuid']))
        self._delete_unbound_arq(arq['uuid'])

        # Zun binds with its service token.
        container = self.run_container(
            profile, ['sh', '-c', aio_zun.READ_DEVICES], wait=())
        out = self.output(container.uuid)
        (bound,) = self.arqs(instance=container.uuid)
        self.assertEqual('Bound', bound['state'])
        self.assertEqual(self.cloud.host, bound['hostname'])
        self.assertEqual(container.project_id, bound['project_id'])
        self.assertEqual(contract.ATTACH_TYPE, bound['attach_handle_type'])
        providers = self.serial_providers()
        self.assertIn(bound['device_rp_uuid'], providers)
        self.assertEqual({bound['device_rp_uuid']: {base.SERIAL_RC: 1}},
                         self.device_allocations(container.uuid))
        self.assertEqual(1, self.used())
        handle = self.attach_handles()[bound['attach_handle_uuid']]
        self.assertTrue(handle['in_use'])

        # The container read the device the bound handle names.
        serial = self.serial_of(providers[bound['device_rp_uuid']]['name'])
        (line,) = out.strip().splitlines()
        node, read = line.split(':', 1)
        self.assertEqual(self.kit.nodes[serial], node)
        self.assertNotEqual([], read.split(), line)

        self.delete_container(container.uuid)
        self.assertEqual([], self.arqs(instance=container.uuid))
        self.assertEqual([], self.arqs())
        self.assertEqual({}, self.placement(
            '/allocations/%s' % container.uuid)['allocations'])
        self.assertEqual(0, self.used())
        self.assertFalse(self.attach_handles()[
            bound['attach_handle_uuid']]['in_use'])
        self.assertEqual([], self.docker.containers(
            all=True, filters={'name': 'zun-' + container.uuid}))

    def test_replug_of_an_attached_device(self):
        """What doc/source/admin/hotplug.rst promises for a re-plug: the
        device keeps its deployable, provider and attach handle (which
        stays in use, with its ARQ bound); only the kernel node in the
        CDI spec changes; the running container keeps the node it was
        created with and still reads the device through it.

        The emulated adapter leaves and comes back (umockdev uevents);
        the kernel device behind its nodes stays.
        """
        container = self.run_container(self.serial_profile())
        (arq,) = self.arqs(instance=container.uuid)
        provider = self.serial_providers()[arq['device_rp_uuid']]
        serial = self.serial_of(provider['name'])
        old_node = self.kit.nodes[serial]
        before = self.identities()
        self.assertTrue(before['handles'][arq['attach_handle_uuid']][2])

        new_node = self.kit.replug(serial)

        self.assertNotEqual(old_node, new_node)
        self.wait_for('the CDI spec naming %s' % new_node,
                      lambda: new_node in self.spec_nodes())
        self.assertNotIn(old_node, self.spec_nodes())
        self.observe_a_report()
        self.assertEqual(before, self.identities())
        (after,) = self.arqs(instance=container.uuid)
        self.assertEqual(
            ('Bound', arq['attach_handle_uuid'], arq['device_rp_uuid']),
            (after['state'], after['attach_handle_uuid'],
             after['device_rp_uuid']))
        self.assertEqual(1, self.usages()[arq['device_rp_uuid']][
            base.SERIAL_RC])
        status, read = self.docker_read(container.uuid, old_node)
        self.assertEqual(0, status, read)
        self.assertNotEqual([], read)
        status, _read = self.docker_read(container.uuid, new_node)
        self.assertNotEqual(0, status)

    def read_what_a_profile_gives(self, resource_class):
        """Run a container asking for one device of ``resource_class``;
        the device class of its attach handle and what it read:
        ``{node: bytes read}``.
        """
        profile = self.add_profile({'resources:%s' % resource_class: '1'})
        container = self.run_container(
            profile, ['sh', '-c', aio_zun.READ_DEVICES], wait=())
        out = self.output(container.uuid)
        (arq,) = self.arqs(instance=container.uuid)
        info = json.loads(self.attach_handles()[arq['attach_handle_uuid']][
            'attach_info'])
        return info['class'], aio_zun.parse_read(out)

    def test_a_container_reads_the_camera(self):
        """What tools/aio shows, through the openstack CLI as the demo
        user: a container run with --device-profile gets the camera's
        node (a real character device) and reads bytes from it;
        deleted, it leaves no accelerator request and no allocation.
        """
        profile = self.add_profile({'resources:%s' % base.CAMERA_RC: '1'})
        name = 'aio-cli-%s' % uuid.uuid4().hex[:8]
        ident = json.loads(self.cloud.openstack(
            'appcontainer', 'run', '--image-pull-policy', 'ifnotpresent',
            '--device-profile', profile, '--name', name, '-f', 'json',
            aio_zun.IMAGE, 'sh', '-c', aio_zun.READ_DEVICES,
            user='demo'))['uuid']
        self.addCleanup(self.delete_container, ident)
        self.wait_status(ident, ('Stopped',))
        read = aio_zun.parse_read(self.cloud.openstack(
            'appcontainer', 'logs', name, user='demo'))
        self.assertEqual([self.kit.camera_node], list(read))
        self.assertNotEqual([], read[self.kit.camera_node])
        (arq,) = self.arqs(instance=ident)
        info = json.loads(self.attach_handles()[arq['attach_handle_uuid']][
            'attach_info'])
        self.assertEqual('camera', info['class'])
        shown = json.loads(self.cloud.openstack(
            'appcontainer', 'show', name, '-f', 'json', user='demo'))
        if self.cloud.zun.api_version == aio_zun.DEVICE_PROFILES_VERSION:
            self.assertEqual([profile], shown['device_profiles'])
        else:
            # Stock Zun: --device-profile sets the label docker_oci reads.
            self.assertEqual(profile, shown['labels'][profiles.LABEL])
        self.assertEqual({arq['device_rp_uuid']: {base.CAMERA_RC: 1}},
                         self.device_allocations(ident))

        self.cloud.openstack('appcontainer', 'delete', name, user='demo')
        self.delete_container(ident)
        self.assertEqual([], json.loads(self.cloud.openstack(
            'accelerator', 'arq', 'list', '-f', 'json', user='demo')))
        self.assertEqual([], json.loads(self.cloud.openstack(
            'resource', 'provider', 'allocation', 'show', ident, '-f',
            'json')))
        # Placement's usages of every device provider, and the handle.
        self.assertEqual(0, self.used())
        self.assertFalse(self.attach_handles()[
            arq['attach_handle_uuid']]['in_use'])

    def test_a_container_reads_the_radio(self):
        device_class, read = self.read_what_a_profile_gives(base.SDR_RC)
        self.assertEqual('sdr', device_class)
        self.assertEqual([self.kit.sdr_node], list(read))
        self.assertNotEqual([], read[self.kit.sdr_node])

    def test_each_device_has_its_own_backing_device_while_there_are_some(
            self):
        backing = self.cloud.backing
        kinds = {os.stat(node).st_rdev for node in backing}
        self.assertEqual(min(len(backing), len(self.cloud.backings.devices)),
                         len(kinds))

    def test_agent_restart_changes_no_uuid(self):
        container = self.run_container(self.serial_profile())
        (arq,) = self.arqs(instance=container.uuid)
        before = self.identities()

        self.cloud.restart_agent()
        self.observe_a_report()

        self.assertEqual(before, self.identities())
        self.assertEqual([arq], self.arqs(instance=container.uuid))

    def test_contention_for_identical_devices(self):
        """10 users' containers at once for 4 identical devices: 4 run,
        6 are refused by zun-api with the scheduler's message saying
        why, none is given a device another holds, and the refused leave
        nothing behind: no container, accelerator request or allocation.
        """
        _skip_on_sqlite(self)
        profile = self.serial_profile()
        created, refused = [], {}
        start = threading.Barrier(10)

        def run(i):
            start.wait()
            try:
                created.append(self.run_container(profile, wait=()))
            except zun_exc.ClientException as e:
                refused[i] = e

        threads = [threading.Thread(target=run, args=(i,))
                   for i in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        running = [self.wait_status(c.uuid, ('Running',)) for c in created]
        self.assertEqual((4, 6), (len(running), len(refused)),
                         {i: str(e) for i, e in refused.items()})
        for error in refused.values():
            self.assertIsInstance(error, zun_exc.Conflict)
            self.assertIn('No host has free devices for device profile(s) '
                          '%s' % profile, str(error))
        # The refused left no container behind.
        self.assertEqual(sorted(c.uuid for c in created),
                         sorted(c.uuid for c in self.zun().containers.list()
                                if c.name.startswith('aio-test-')))
        # One device each, none given twice.
        arqs = self.arqs()
        self.assertEqual(sorted(c.uuid for c in running),
                         sorted(a['instance_uuid'] for a in arqs))
        self.assertEqual(['Bound'] * 4, [a['state'] for a in arqs])
        self.assertEqual(sorted(self.serial_providers()),
                         sorted(a['device_rp_uuid'] for a in arqs))
        self.assertEqual(4, len({a['attach_handle_uuid'] for a in arqs}))
        nodes = [d['PathOnHost'] for c in running
                 for d in self.docker.inspect_container(
                     'zun-' + c.uuid)['HostConfig']['Devices']]
        self.assertEqual(sorted(self.kit.nodes.values()), sorted(nodes))
        self.assertEqual({rp: {base.SERIAL_RC: 1}
                          for rp in self.serial_providers()},
                         {rp: {rc: n for rc, n in u.items() if n}
                          for rp, u in self.usages().items()
                          if any(u.values())})

        for container in created:
            self.delete_container(container.uuid)
        self.assertEqual([], self.arqs())
        self.assertEqual(0, self.used())

    def test_concurrent_creates_of_different_devices(self):
        """Four users' containers at once, each for a device of its own
        class: the scheduler claims each in zun-api, and zun-compute
        creates, binds and starts them side by side; deleted, they
        leave nothing.
        """
        _skip_on_sqlite(self)
        profiles = [self.add_profile({'resources:%s' % rc: '1'})
                    for rc in (base.SERIAL_RC, base.CAMERA_RC,
                               base.SDR_RC, base.GPIO_RC)]
        created, errors = [], []
        start = threading.Barrier(len(profiles))

        def run(profile):
            start.wait()
            try:
                created.append(self.run_container(profile, wait=()))
            except Exception as e:
                errors.append(e)

        threads = [threading.Thread(target=run, args=(profile,))
                   for profile in profiles]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual([], [str(e) for e in errors])
        for container in created:
            self.wait_status(container.uuid, ('Running',))
        arqs = self.arqs()
        self.assertEqual(sorted(c.uuid for c in created),
                         sorted(a['instance_uuid'] for a in arqs))
        self.assertEqual(['Bound'] * 4, [a['state'] for a in arqs])
        self.assertEqual(4, self.used())

        for container in created:
            self.delete_container(container.uuid)
        self.assertEqual([], self.arqs())
        self.assertEqual(0, self.used())

    def test_another_project_cannot_get_or_bind_our_arqs(self):
        profile = self.serial_profile()
        unbound = self.create_arq(profile)
        container = self.run_container(profile)
        (bound,) = self.arqs(instance=container.uuid)

        # Zun shows the other project neither the container (nor lets
        # it delete the container, which would release the device)...
        self.assertRaises((zun_exc.NotFound, zun_exc.Forbidden),
                          self.zun('other').containers.get, container.uuid)
        self.assertRaises((zun_exc.NotFound, zun_exc.Forbidden),
                          self.zun('other').containers.delete,
                          container.uuid, stop=True)
        # ...nor Cyborg its accelerator requests.
        for arq in (unbound, bound):
            resp = self.get_arq(arq['uuid'], user='other')
            self.assertEqual(404, resp.status_code, resp.text)
        self.assertEqual([], self.arqs(user='other'))
        self.assertEqual([], self.arqs(user='other',
                                       instance=container.uuid))

        # Even through a service that holds a service token.
        rp = next(rp for rp in self.serial_providers()
                  if rp != bound['device_rp_uuid'])
        resp = self.cyborg('PATCH', '/accelerator_requests', 'other',
                           service=True,
                           json=self.bind_patch(unbound['uuid'], rp,
                                                str(uuid.uuid4())))
        self.assertEqual(404, resp.status_code, resp.text)
        resp = self.cyborg('DELETE', '/accelerator_requests?arqs=%s'
                           % unbound['uuid'], 'other')
        self.assertEqual(404, resp.status_code, resp.text)
        resp = self.cyborg('DELETE', '/accelerator_requests?instance=%s'
                           % container.uuid, 'other', service=True)
        self.assertEqual(204, resp.status_code, resp.text)

        still = self.get_arq(unbound['uuid']).json()
        self.assertEqual(('Initial', None),
                         (still['state'], still['instance_uuid']))
        self.assertEqual([bound], self.arqs(instance=container.uuid))
        self.assertEqual({rp: 0}, {rp: self.usages()[rp].get(
            base.SERIAL_RC, 0)})
        self.assertEqual('Running',
                         self.zun().containers.get(container.uuid).status)
        self.assertEqual({bound['device_rp_uuid']: {base.SERIAL_RC: 1}},
                         self.device_allocations(container.uuid))


class TestOnSQLite(CloudTests, base.CloudTestCase):
    DB = 'sqlite'


class TestOnMariaDB(CloudTests, base.CloudTestCase):
    DB = 'mariadb'


class TestStockZun(base.CloudTestCase):
    """The path of sites that cannot patch Zun (``docker_oci``, which
    claims the devices itself and reads the profiles from the label
    that python-zunclient sets below API 1.41), on real services once:
    tests/zun covers the rest of docker_oci against a real Docker
    engine.
    """

    DB = 'sqlite'
    DEVICE_PATH = 'docker_oci'

    test_a_container_reads_the_camera = (
        CloudTests.test_a_container_reads_the_camera)
