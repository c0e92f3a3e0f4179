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

"""What happens to a container's devices after create: failed creates,
deletes during outages, hung services, and restarts after a node swap.

Real Docker, real device nodes and Zun's compute manager; Cyborg and
Placement are the loopback double of ``tests.zun.cloud``, each on its own
server so that one can be stopped or hung while the other answers.
"""

import json
import os
import shutil
import socket
import stat
import tempfile
import threading
import time

import eventlet
import fixtures
import hypothesis
import testtools
from hypothesis import strategies as st
from zun import objects
from zun.common import exception
from zun.container.docker import driver as docker_driver

from cyborg_peripherals import contract
from cyborg_peripherals.cdi import spec as cdi_spec
from cyborg_peripherals.cdi import writer
from tests.zun import base
from tests.zun import races
from zun_oci_attach import arq
from zun_oci_attach import attacher
from zun_oci_attach.conf import cyborg as cyborg_conf


#: Generous bound on a wait that the code under test should end by
#: itself; only reached when the behaviour tested is broken.
GUARD = 60


def _run_in_thread(function, *args):
    """Start ``function(*args)`` in a thread.

    The thread's ``outcome`` list gets its result or exception.
    """
    outcome = []

    def run():
        try:
            outcome.append(function(*args))
        except Exception as e:
            outcome.append(e)
    thread = threading.Thread(target=run, daemon=True)
    thread.outcome = outcome
    thread.start()
    return thread


def _network_setup_fails(before_failing=None):
    """Fault injection: Zun's network setup fails after Docker's create.

    The create must then be undone.  ``before_failing`` runs first, to
    cause a second, real fault.
    """

    def fail(*args, **kwargs):
        if before_failing:
            before_failing()
        raise exception.ZunException('network setup failed')
    return fixtures.MockPatchObject(docker_driver.DockerDriver,
                                    '_setup_network_for_container', fail)


class _SilentServer:
    """A real TCP server that accepts connections and never answers."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(16)
        self.url = 'http://127.0.0.1:%d' % self.sock.getsockname()[1]
        self.accepted = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self):
        for conn in self.accepted:
            conn.close()
        self.sock.close()


class TestFailedCreate(base.ComputeHostTestCase):

    def setUp(self):
        super().setUp()
        rc = self.add_peripherals(['hwrng'])
        self.add_profile('rng', rc)
        self.container = self.new_container('rng')

    def _docker_containers(self):
        return self.docker.containers(
            all=True, filters={'name': 'zun-' + self.container.uuid})

    def test_a_created_docker_container_is_removed_with_its_devices(self):
        self.useFixture(_network_setup_fails())
        self.assertRaises(exception.ZunException, self.create, self.container)
        container = self.reload(self.container)
        self.assertEqual('Error', container.status)
        self.assertIn('network setup failed', container.status_reason)
        self.assertTrue(container.container_id)
        self.assertEqual([], self._docker_containers())
        self.assertEqual([], self.cloud.live_arqs())
        self.assertEqual({}, self.cloud.allocations)

    def test_devices_stay_with_a_container_docker_did_not_remove(self):
        # A real fault: Docker becomes unreachable before the removal.
        gone = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'no-such-dir', 'docker.sock')
        real_url = base.CONF.docker.api_url
        self.useFixture(_network_setup_fails(lambda: self.config(
            api_url='unix://' + gone, group='docker')))
        self.assertRaises(exception.ZunException, self.create, self.container)
        self.config(api_url=real_url, group='docker')

        container = self.reload(self.container)
        self.assertEqual('Error', container.status)
        self.assertIn('network setup failed', container.status_reason)
        self.assertIn('could not be removed', container.status_reason)
        self.assertIn('devices stay reserved', container.status_reason)
        # The container lives on with its device: nobody else gets it.
        self.assertEqual(1, len(self._docker_containers()))
        self.assertEqual([(container.uuid, 'Bound')],
                         [(a['instance_uuid'], a['state'])
                          for a in self.cloud.live_arqs()])
        self.assertEqual([container.uuid], list(self.cloud.allocations))

        self.manager.driver.delete(self.context, container, True)
        self.assertEqual([], self._docker_containers())
        self.assertEqual([], self.cloud.live_arqs())
        self.assertEqual({}, self.cloud.allocations)


class TestOrphanedDevices(base.ComputeHostTestCase):
    """A container force-deleted while Cyborg is down."""

    def setUp(self):
        super().setUp()
        rc = self.add_peripherals(['hwrng', 'cpu-dma-latency'])
        self.add_profile('rng', rc)
        self.first = self.create(self.new_container('rng'))
        [self.dead] = self.cloud.allocations[self.first.uuid]['allocations']
        self.server.stop()
        # What Zun's _do_container_delete does with force (its resource
        # tracker, which needs a compute node record, left out): swallow
        # the driver's error, drop the container's allocations, forget it.
        self.assertRaises(exception.ZunException, self.manager.driver.delete,
                          self.context, self.first, True)
        self.manager.reportclient.delete_allocation_for_container(
            self.context, self.first.uuid)
        self.first.destroy(self.context)
        self.assertRaises(exception.ContainerNotFound,
                          objects.Container.get_by_uuid, self.context,
                          self.first.uuid)
        self.assertEqual({}, self.cloud.allocations)
        self.assertEqual([(self.first.uuid, self.dead)],
                         [(a['instance_uuid'], a['device_rp_uuid'])
                          for a in self.cloud.live_arqs()])

    def _device_of(self, container):
        return list(self.cloud.allocations[container.uuid]['allocations'])

    def test_later_creates_skip_the_held_device_until_it_is_released(self):
        self.server.restart()
        second = self.create(self.new_container('rng'))
        self.assertNotEqual([self.dead], self._device_of(second))
        self.manager.driver.delete(self.context, second, True)
        # Still held, so the free one is chosen again.
        third = self.create(self.new_container('rng'))
        self.assertNotEqual([self.dead], self._device_of(third))

        self.manager.sync_container_state(None)
        self.assertEqual([third.uuid], [a['instance_uuid']
                                        for a in self.cloud.live_arqs()])
        fourth = self.create(self.new_container('rng'))
        self.assertEqual([self.dead], self._device_of(fourth))
        self.assertEqual('Bound', self.cloud.live_arqs()[1]['state'])

    def test_compute_restart_releases_the_device_once_cyborg_is_back(self):
        # zun-compute restarts: nothing of the old process is left.
        manager = base.zun_manager.Manager(container_driver='docker_oci')
        # Zun runs the state sync at start; Cyborg is still down.
        manager.sync_container_state(None)
        self.assertEqual(1, len(self.cloud.live_arqs()))
        self.server.restart()
        manager.sync_container_state(None)
        self.assertEqual([], self.cloud.live_arqs())
        self.assertTrue(all(not h['in_use'] for handles in
                            self.cloud.handles.values() for h in handles))
        self.manager = manager
        both = [self.create(self.new_container('rng')) for _i in range(2)]
        self.assertEqual(['Bound', 'Bound'],
                         [a['state'] for a in self.cloud.live_arqs()])
        self.assertEqual(2, len({d for c in both
                                 for d in self._device_of(c)}))

    def test_a_container_still_in_docker_keeps_its_device(self):
        # Zun forgot it, but Docker still runs a container of that name.
        self.docker.create_container(base.IMAGE, ['true'],
                                     name='zun-' + self.first.uuid)
        self.server.restart()
        self.manager.sync_container_state(None)
        self.assertEqual([self.first.uuid],
                         [a['instance_uuid'] for a in self.cloud.live_arqs()])

    def test_a_device_held_by_a_failed_delete_is_offered_after_a_retry(self):
        second = self.create_after_restart()
        self.server.stop()
        # Without force Zun keeps the container; the user deletes again.
        self.assertRaises(exception.ZunException, self.manager.driver.delete,
                          self.context, second, True)
        self.server.restart()
        self.manager.driver.delete(self.context, second, True)
        self.manager.sync_container_state(None)
        both = [self.create(self.new_container('rng')) for _i in range(2)]
        self.assertEqual(2, len({d for c in both
                                 for d in self._device_of(c)}))

    def test_a_held_device_whose_arqs_were_deleted_is_offered_again(self):
        self.server.restart()
        # The unbind that timed out was done after all, or an operator
        # deleted the ARQs: nothing is left for the clean-up to release.
        self.manager.driver.lifecycle._cyborg.service_client() \
            .delete_for_instance(self.first.uuid)
        self.assertEqual([], self.cloud.live_arqs())
        self.manager.sync_container_state(None)
        both = [self.create(self.new_container('rng')) for _i in range(2)]
        self.assertEqual(2, len({d for c in both
                                 for d in self._device_of(c)}))

    def create_after_restart(self):
        self.server.restart()
        return self.create(self.new_container('rng'))

    def test_the_cleanup_spares_live_containers(self):
        self.server.restart()
        second = self.create(self.new_container('rng'))
        self.manager.sync_container_state(None)
        self.assertEqual([second.uuid],
                         [a['instance_uuid'] for a in self.cloud.live_arqs()])
        self.assertEqual([second.uuid], list(self.cloud.allocations))


class TestHungServices(base.ComputeHostTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(races.serialized_zun_database())
        rc = self.add_peripherals(['hwrng', 'cpu-dma-latency'])
        self.add_profile('rng', rc)

    def test_cyborg_calls_time_out_by_default(self):
        self.assertEqual(cyborg_conf.CYBORG_TIMEOUT,
                         base.CONF[cyborg_conf.CYBORG_GROUP].timeout)
        self.assertGreater(base.CONF.oci_attach.placement_timeout, 0)

    def test_a_hung_cyborg_fails_its_create_and_no_other(self):
        self.config(timeout=1, group=cyborg_conf.CYBORG_GROUP)
        silent = _SilentServer()
        self.addCleanup(silent.close)
        hung_context = self.user_context(base.PROJECT, 'hung-user',
                                         silent.url + '/accelerator')
        stuck = self.new_container('rng', context=hung_context)
        waiting = _run_in_thread(self.create, stuck, hung_context)
        fine = self.create(self.new_container('rng'))
        self.assertTrue(fine.container_id)
        waiting.join(GUARD)
        self.assertFalse(waiting.is_alive(), 'the create never timed out')
        self.assertIsInstance(waiting.outcome[0], exception.ZunException)
        reason = self.reload(stuck).status_reason
        self.assertIn('Cyborg could not be reached to create accelerator '
                      'requests for rng', reason)
        self.assertIn('timed out', reason)

    def test_a_hung_placement_call_holds_no_other_create(self):
        first = self.new_container('rng')
        second = self.new_container('rng')
        self.cloud.stall = lambda method, path: (
            method == 'PUT' and first.uuid in path)
        stuck = _run_in_thread(self.create, first)
        self.assertTrue(self.cloud.stalled.wait(GUARD))
        other = _run_in_thread(self.create, second)
        other.join(GUARD)
        self.assertFalse(other.is_alive(),
                         'a create waited for the hung Placement call of '
                         'another one')
        self.assertTrue(stuck.is_alive())
        self.cloud.unstall()
        stuck.join(GUARD)
        self.assertEqual(['Created', 'Created'],
                         [self.reload(c).status for c in (first, second)])
        self.assertEqual(2, len({rp for doc in self.cloud.allocations.values()
                                 for rp in doc['allocations']}))

    def test_arqs_whose_creation_answer_was_lost_are_deleted(self):
        self.config(timeout=1, group=cyborg_conf.CYBORG_GROUP)
        self.config(orphan_min_age=1, group='oci_attach')
        self.cloud.stall = lambda method, path: method == 'POST'
        container = self.new_container('rng')
        self.assertRaises(exception.ZunException, self.create, container)
        self.assertIn('timed out', self.reload(container).status_reason)
        # Cyborg goes on and creates the ARQs; their answer is lost.
        self.cloud.unstall()
        for _i in range(GUARD * 20):
            if self.cloud.live_arqs():
                break
            eventlet.sleep(0.05)
        [lost] = self.cloud.live_arqs()
        self.assertEqual((None, 'Initial'),
                         (lost['instance_uuid'], lost['state']))

        # Just seen: it might be a create's between creation and bind.
        self.manager.sync_container_state(None)
        self.assertEqual([lost['uuid']],
                         [a['uuid'] for a in self.cloud.live_arqs()])
        time.sleep(1)   # orphan_min_age
        self.manager.sync_container_state(None)
        self.assertEqual([], self.cloud.live_arqs())


class TestCyborgErrorsInStatusReason(base.ComputeHostTestCase):

    def setUp(self):
        super().setUp()
        rc = self.add_peripherals(['hwrng'])
        self.add_profile('rng', rc)

    def _reason_after(self, status, content_type, body):
        self.cloud.error_body = (status, content_type, body)
        container = self.new_container('rng')
        self.assertRaises(exception.ZunException, self.create, container)
        return self.reload(container).status_reason

    def test_an_html_error_page_with_a_traceback(self):
        page = ('<html><head><title>500 Internal Server Error</title>'
                '</head><body><h1>Internal Server Error</h1>'
                '<script>alert(1)</script>\x1b[31mboom\x07\u202e'
                'Traceback (most recent call last):\n  File "/usr/lib/'
                'python3/dist-packages/cyborg/api.py", line 1\n'
                'secret = "hunter2"\n' + 'x' * 100000 + '</body></html>')
        reason = self._reason_after(500, 'text/html', page.encode())
        self.assertIn('HTTP 500', reason)
        self.assertIn('Internal Server Error', reason)
        for bad in ('<', '>', '\x1b', '\x07', '\u202e', 'Traceback',
                    'hunter2', 'xxxx'):
            self.assertNotIn(bad, reason)
        self.assertLess(len(reason), 1000)

    def test_a_cyborg_fault_keeps_its_message_not_its_debuginfo(self):
        fault = {'faultcode': 'Client',
                 'faultstring': 'Device profile rng is\nbroken\u2028now',
                 'debuginfo': 'Traceback (most recent call last): secret'}
        reason = self._reason_after(
            400, 'application/json',
            json.dumps({'error_message': json.dumps(fault)}).encode())
        self.assertIn('Device profile rng is broken now', reason)
        self.assertNotIn('secret', reason)
        self.assertNotIn('faultcode', reason)



class TestServerErrors(base.ComputeHostTestCase):
    """Cyborg or Placement answering 500, as on a busy SQLite database
    when creates run concurrently (fault injection in the double).
    """

    BIND = ('PATCH', '/accelerator/v2/accelerator_requests')
    CLAIM = ('PUT', '/placement/allocations/')

    def setUp(self):
        super().setUp()
        self.rc = self.add_peripherals(['hwrng'])
        self.add_profile('rng', self.rc)
        self.container = self.new_container('rng')

    def test_a_bind_failing_once_is_done_again_with_new_arqs(self):
        self.cloud.server_errors[self.BIND] = 1
        self.create(self.container)
        container = self.reload(self.container)
        self.assertEqual('Created', container.status)
        (arq_,) = self.cloud.live_arqs()
        self.assertEqual(('Bound', container.uuid),
                         (arq_['state'], arq_['instance_uuid']))
        self.assertEqual(2, sum(1 for m, path, _t in self.cloud.requests
                                if (m, path) == ('POST',
                                                 self.BIND[1])))

    def test_a_bind_failing_every_time_fails_its_create_cleanly(self):
        self.cloud.server_errors[self.BIND] = 3
        self.assertRaises(arq.CyborgRefused, self.create, self.container)
        container = self.reload(self.container)
        self.assertEqual('Error', container.status)
        self.assertIn('Cyborg refused to bind accelerator requests '
                      '(HTTP 500)', container.status_reason)
        self.assertEqual([], self.cloud.live_arqs())
        self.assertEqual({}, self.cloud.allocations)

    def test_a_claim_failing_once_is_made_again(self):
        self.cloud.server_errors[self.CLAIM] = 1
        self.create(self.container)
        self.assertEqual('Created', self.reload(self.container).status)
        self.assertEqual([self.container.uuid], list(self.cloud.allocations))

    def test_a_claim_failing_every_time_says_so(self):
        self.cloud.server_errors[self.CLAIM] = 3
        self.assertRaises(exception.ZunException, self.create,
                          self.container)
        container = self.reload(self.container)
        self.assertEqual('Error', container.status)
        self.assertIn('Placement could not record the claim of the devices',
                      container.status_reason)
        self.assertEqual([], self.cloud.live_arqs())
        self.assertEqual({}, self.cloud.allocations)


class TestClaimRace(base.ComputeHostTestCase):
    """Another compute host claims the chosen device first."""

    def setUp(self):
        super().setUp()
        self.rc = self.add_peripherals(['hwrng', 'cpu-dma-latency'])
        self.add_profile('rng', self.rc)
        self.container = self.new_container('rng')

    def test_a_claim_losing_the_race_takes_another_free_device(self):
        # Claims are tried in the order of the provider uuids.
        taken, free = sorted(rp for rp in self.cloud.handles)
        claim = '/placement/allocations/' + self.container.uuid

        def other_host_claims_first(method, path):
            if (method, path) == ('PUT', claim) and \
                    'other' not in self.cloud.allocations:
                self.cloud.allocations['other'] = {
                    'allocations': {taken: {'resources': {self.rc: 1}}},
                    'consumer_generation': 1, 'project_id': 'p',
                    'user_id': 'u'}
            return False

        self.cloud.stall = other_host_claims_first
        self.create(self.container)
        self.assertEqual('Created', self.reload(self.container).status)
        self.assertEqual([free], list(
            self.cloud.allocations[self.container.uuid]['allocations']))
        self.assertEqual(2, sum(1 for m, path, _t in self.cloud.requests
                                if (m, path) == ('PUT', claim)))


class TestStateSync(base.ComputeHostTestCase):
    """Zun's periodic sync, for its containers then for its capsules."""

    def _listings(self):
        return sum(1 for m, path, _t in self.cloud.requests
                   if (m, path) == ('GET',
                                    '/accelerator/v2/accelerator_requests'))

    def test_the_cleanup_lists_the_arqs_of_the_cloud_once_a_sync(self):
        self.add_profile('rng', self.add_peripherals(['hwrng']))
        self.create(self.new_container('rng'))
        for syncs in range(1, 4):
            self.manager.sync_container_state(None)
            self.assertEqual(syncs, self._listings())

    def test_the_cleanup_runs_in_a_sync_of_no_containers(self):
        self.manager.sync_container_state(None)
        self.manager.sync_container_state(None)
        self.assertEqual(2, self._listings())


class TestSanitize(testtools.TestCase):

    @hypothesis.settings(max_examples=300, deadline=None)
    @hypothesis.given(st.text(max_size=3000), st.integers(10, 300))
    def test_sanitized_text_is_one_short_line_without_markup(self, text,
                                                             limit):
        clean = arq.sanitize(text, limit)
        self.assertLessEqual(len(clean), limit)
        self.assertTrue(clean.isprintable(), repr(clean))
        self.assertNotIn('<', clean)
        self.assertNotIn('>', clean)
        self.assertNotIn('Traceback (most recent call last)', clean)
        self.assertEqual(clean, clean.strip())


class TestRestartAfterNodeSwap(base.SwappableNode, base.ComputeHostTestCase):
    """A peripheral's node is replaced by another device's."""

    def setUp(self):
        super().setUp()
        self.make_node()
        rc = 'CUSTOM_PERIPHERAL_SERIAL'
        self.cloud.add_device(
            self.cn, base.CONF.host + '_usb0', rc, ['OWNER_CYBORG'],
            contract.AttachInfo.for_device('serial-usb0',
                                           'serial').to_dict())
        self.add_profile('serial', rc)
        self.container = self.create(self.new_container('serial'))
        self.container = self.start(self.container)
        self.assertEqual('Running', self.container.status)

    def assertRefused(self, status):
        container = self.reload(self.container)
        self.assertFalse(self._running())
        self.assertEqual(status, container.status)
        self.assertIn('not the devices it was given at create ('
                      '%s is c 10:259, was c 10:183)' % self.node,
                      container.status_reason)
        self.assertIn('delete the container and create it again',
                      container.status_reason)
        return container

    def test_an_unchanged_node_restarts(self):
        self._stop()
        self.start(self.container)
        self.assertTrue(self._running())

    def test_start_refuses_a_swapped_node(self):
        self._stop()
        self._swap()
        self.assertRaises(exception.ZunException, self.start, self.container)
        reason = self.assertRefused('Error').status_reason
        self.assertIn('The container was not started', reason)

    def test_reboot_stops_a_container_whose_node_was_swapped(self):
        self._swap()
        # Zun's manager records the error as an action event.
        self.manager._do_container_reboot(self.context, self.container, 1)
        reason = self.assertRefused('Stopped').status_reason
        self.assertIn('The container was stopped', reason)

    def test_compute_start_does_not_resume_a_swapped_node(self):
        # The host rebooted: Docker has the container stopped, Zun has it
        # Running and resumes it when zun-compute starts.
        self.docker.stop(self.container.container_id, timeout=1)
        self._swap()
        self.config(resume_container_state=True, group='compute')
        self.manager.init_containers(self.context)
        for _i in range(GUARD * 20):
            if self.reload(self.container).status != 'Running':
                break
            eventlet.sleep(0.05)
        self.assertRefused('Error')

    def test_state_sync_stops_a_container_docker_restarted_itself(self):
        # dockerd restarts containers without Zun (restart policies).
        self._swap()
        self.docker.restart(self.container.container_id, timeout=1)
        self.assertTrue(self._running())
        self.manager.sync_container_state(None)
        self.assertRefused('Stopped')

    def test_start_refuses_a_missing_node(self):
        self._stop()
        os.unlink(self.node)
        self.assertRaises(exception.ZunException, self.start, self.container)
        container = self.reload(self.container)
        self.assertFalse(self._running())
        self.assertEqual('Error', container.status)
        self.assertIn('%s is no such file or directory, was c 10:183'
                      % self.node, container.status_reason)

    def test_a_label_from_the_user_does_not_replace_the_record(self):
        self.manager.driver.delete(self.context, self.container, True)
        container = self.new_container('serial')
        container.labels = dict(container.labels, **{
            attacher.NODES_LABEL: json.dumps({'nodes': []})})
        container.save(self.context)
        container = self.create(container)
        labels = self.docker.inspect_container(
            container.container_id)['Config']['Labels']
        self.assertEqual({'nodes': [[self.node, 'c', 10, 183]]},
                         json.loads(labels[attacher.NODES_LABEL]))



class TestRestartWithNativeCDI(base.ComputeHostTestCase):
    """With native CDI the engine reads the spec itself at every start."""

    def test_start_refuses_when_the_spec_names_other_nodes(self):
        node_dir = tempfile.mkdtemp(prefix='zun-oci-test-', dir='/dev')
        self.addCleanup(shutil.rmtree, node_dir)
        nodes = {}
        for name, (major, minor) in (('ttyUSB0', (10, 183)),
                                     ('ttyUSB1', (10, 259))):
            nodes[name] = os.path.join(node_dir, name)
            os.mknod(nodes[name], 0o600 | stat.S_IFCHR,
                     os.makedev(major, minor))

        def publish(node, major, minor):
            writer.atomic_write(self.cdi_dir, cdi_spec.render(
                cdi_spec.build_spec(contract.CDI_KIND, [(
                    'serial-usb0', {'deviceNodes': [
                        cdi_spec.device_node_dict(node, 'c', major, minor,
                                                  permissions='rw')]})])))
        publish(nodes['ttyUSB0'], 10, 183)
        rc = 'CUSTOM_PERIPHERAL_SERIAL'
        self.cloud.add_device(
            self.cn, base.CONF.host + '_usb0', rc, ['OWNER_CYBORG'],
            contract.AttachInfo.for_device('serial-usb0',
                                           'serial').to_dict())
        self.add_profile('serial', rc)
        self.config(native_cdi=True, group='oci_attach')
        container = self.create(self.new_container('serial'))
        host_config = self.docker.inspect_container(
            container.container_id)['HostConfig']
        self.assertEqual('cdi', host_config['DeviceRequests'][0]['Driver'])

        # The spec now gives the device another node; the recorded one
        # is unchanged, but the engine would read the new spec.
        publish(nodes['ttyUSB1'], 10, 259)
        self.assertRaises(exception.ZunException, self.start, container)
        reason = self.reload(container).status_reason
        self.assertIn('the CDI spec now names %s instead of %s'
                      % (nodes['ttyUSB1'], nodes['ttyUSB0']), reason)
        self.assertIn('The container was not started', reason)
