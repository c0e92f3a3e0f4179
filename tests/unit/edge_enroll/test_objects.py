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

"""Objects on a real database: SQLite, and MariaDB (its own database)."""

import concurrent.futures
import datetime

import testtools
from oslo_utils import timeutils
from oslo_utils import uuidutils

from edge_enroll import exception
from edge_enroll import objects
from edge_enroll.objects import WorkerState
from tests.unit.edge_enroll import base


class ObjectsTest(testtools.TestCase):
    KIND = 'sqlite'

    def setUp(self):
        super().setUp()
        self.ctx = self.useFixture(base.Database(self.KIND)).context

    def _hardware(self, name='edge-1', project_id='p1', **props):
        hw = objects.Hardware(self.ctx, project_id=project_id,
                              hardware_type='device', name=name,
                              properties=props or {'machine_name': 'pi'})
        hw.create()
        return hw

    def _tasks(self, hw, types=('tunelo', 'credentials')):
        return objects.WorkerTask.ensure_for_hardware(self.ctx, hw, types)

    # -- hardware ---------------------------------------------------------

    def test_in_place_property_change_is_saved(self):
        hw = self._hardware(channels={'control': {'public_key': 'a'}})
        hw.properties['channels']['control']['public_key'] = 'b'
        self.assertIn('properties', hw.obj_what_changed())
        hw.save()
        self.assertEqual(
            'b', objects.Hardware.get_by_uuid(self.ctx, hw.uuid)
            .properties['channels']['control']['public_key'])
        self.assertEqual(set(), hw.obj_what_changed())

    def test_save_from_a_stale_read_is_refused_not_lost(self):
        hw = self._hardware()
        stale = objects.Hardware.get_by_uuid(self.ctx, hw.uuid)
        hw.properties['device_profiles'] = ['camera']
        hw.save()
        stale.properties['machine_name'] = 'jetson-nano'
        self.assertRaises(exception.HardwareChanged, stale.save)
        fresh = objects.Hardware.get_by_uuid(self.ctx, hw.uuid)
        self.assertEqual({'machine_name': 'pi', 'device_profiles':
                          ['camera']}, fresh.properties)
        fresh.properties['machine_name'] = 'jetson-nano'
        fresh.save()
        self.assertEqual(2, fresh.version)

    def test_name_is_reusable_after_soft_delete_only(self):
        hw = self._hardware()
        self.assertRaises(exception.HardwareNameInUse, self._hardware)
        hw.soft_delete()
        self.assertTrue(hw.deleted)
        again = self._hardware()
        self.assertNotEqual(hw.uuid, again.uuid)
        self.assertRaises(exception.HardwareNotFound,
                          objects.Hardware.get_by_uuid, self.ctx, hw.uuid)
        found = objects.Hardware.get_by_uuid(self.ctx, hw.uuid,
                                             deleted=True)
        self.assertTrue(found.deleted)
        self.assertEqual([again.uuid],
                         [h.uuid for h in objects.Hardware.list(self.ctx)])

    def test_purge_removes_tasks_too(self):
        hw = self._hardware()
        self._tasks(hw)
        hw.soft_delete()
        hw.purge()
        self.assertEqual([], objects.WorkerTask.list_for_hardware(
            self.ctx, hw.uuid))
        self.assertEqual([], objects.Hardware.list(self.ctx, deleted=True))

    def test_purge_refuses_live_hardware(self):
        hw = self._hardware()
        self.assertRaises(exception.HardwareNotFound, hw.purge)

    def test_list_pages_by_marker_and_project(self):
        names = ['h%d' % i for i in range(5)]
        for name in names:
            self._hardware(name)
        self._hardware('other', project_id='p2')
        first = objects.Hardware.list(self.ctx, project_id='p1', limit=2)
        rest = objects.Hardware.list(self.ctx, project_id='p1',
                                     marker=first[-1].uuid)
        self.assertEqual(names, [h.name for h in first + rest])
        self.assertEqual(['h4', 'h3'], [h.name for h in objects.Hardware.list(
            self.ctx, project_id='p1', sort_key='name', sort_dir='desc',
            limit=2)])
        self.assertRaises(exception.Invalid, objects.Hardware.list,
                          self.ctx, marker=uuidutils.generate_uuid())

    # -- worker tasks -----------------------------------------------------

    def test_ensure_makes_one_task_per_worker_type(self):
        hw = self._hardware()
        self._tasks(hw, ('tunelo',))
        tasks = self._tasks(hw)
        self.assertEqual(['tunelo', 'credentials'],
                         [t.worker_type for t in tasks])
        self.assertEqual({WorkerState.PENDING}, {t.state for t in tasks})

    def test_claim_finish_and_requeue(self):
        hw = self._hardware()
        self._tasks(hw)
        claimed = objects.WorkerTask.claim_due(self.ctx, 'w1', 10)
        self.assertEqual(2, len(claimed))
        self.assertEqual({('IN_PROGRESS', 'w1')},
                         {(t.state, t.claimed_by) for t in claimed})
        self.assertEqual([], objects.WorkerTask.claim_due(self.ctx, 'w2',
                                                          10))
        # A change while the first runs: it runs again after.
        objects.WorkerTask.mark_pending(self.ctx, hw.uuid)
        first, second = claimed
        first.finish(WorkerState.STEADY, {'done': 1})
        self.assertEqual(WorkerState.PENDING, first.state)
        self.assertFalse(first.requeue)
        self.assertEqual({'done': 1}, first.state_details)
        second.finish(WorkerState.ERROR, {'last_error': 'x'})
        self.assertEqual(WorkerState.PENDING, second.state)
        again = objects.WorkerTask.claim_due(self.ctx, 'w1', 10)
        self.assertEqual({first.uuid, second.uuid},
                         {t.uuid for t in again})
        for task in again:
            task.finish(WorkerState.STEADY, {})
        self.assertEqual({WorkerState.STEADY}, {
            t.state for t in objects.WorkerTask.list_for_hardware(
                self.ctx, hw.uuid)})

    def test_deferred_task_waits_for_not_before(self):
        hw = self._hardware()
        self._tasks(hw, ('tunelo',))
        [task] = objects.WorkerTask.claim_due(self.ctx, 'w1', 1)
        later = timeutils.utcnow(True) + datetime.timedelta(hours=1)
        task.finish(WorkerState.PENDING, {'defer_reason': 'down'},
                    not_before=later, attempts=3)
        self.assertEqual(3, task.attempts)
        self.assertEqual([], objects.WorkerTask.claim_due(self.ctx, 'w1', 1))
        # A sync: due now, attempts start over.
        objects.WorkerTask.mark_pending(self.ctx, hw.uuid)
        [task] = objects.WorkerTask.claim_due(self.ctx, 'w1', 1)
        self.assertEqual(0, task.attempts)
        self.assertIsNone(task.not_before)

    def test_transitions_outside_the_state_machine_are_refused(self):
        hw = self._hardware()
        [task] = self._tasks(hw, ('tunelo',))
        # PENDING -> STEADY skips IN_PROGRESS.
        self.assertRaises(exception.InvalidStateTransition, task.finish,
                          WorkerState.STEADY, {})
        [task] = objects.WorkerTask.claim_due(self.ctx, 'w1', 1)
        task.finish(WorkerState.ERROR, {'last_error': 'fix it'})
        self.assertRaises(exception.InvalidStateTransition, task.finish,
                          WorkerState.STEADY, {})
        objects.WorkerTask.mark_pending(self.ctx, hw.uuid)
        [task] = objects.WorkerTask.list_for_hardware(self.ctx, hw.uuid)
        self.assertEqual(WorkerState.PENDING, task.state)

    def test_a_released_task_cannot_be_finished_by_its_old_holder(self):
        hw = self._hardware()
        self._tasks(hw, ('tunelo',))
        [task] = objects.WorkerTask.claim_due(self.ctx, 'w1', 1)
        self.assertEqual(0, objects.WorkerTask.release_claims(self.ctx,
                                                              'w2'))
        self.assertEqual(1, objects.WorkerTask.release_claims(self.ctx,
                                                              'w1'))
        self.assertRaises(exception.InvalidStateTransition, task.finish,
                          WorkerState.STEADY, {})
        [task] = objects.WorkerTask.claim_due(self.ctx, 'w2', 1)
        self.assertEqual('w2', task.claimed_by)

    def test_a_one_time_secret_is_revealed_once(self):
        hw = self._hardware()
        self._tasks(hw, ('credentials',))
        [task] = objects.WorkerTask.claim_due(self.ctx, 'w1', 1)
        self.assertEqual({}, task.reveal_once(['secret']))
        task.finish(WorkerState.STEADY, {'secret': 's3', 'id': 'c1'})
        [reader1] = objects.WorkerTask.list_for_hardware(self.ctx, hw.uuid)
        [reader2] = objects.WorkerTask.list_for_hardware(self.ctx, hw.uuid)
        self.assertEqual({'secret': 's3'}, reader1.reveal_once(['secret']))
        # Read before the reveal, too late to get it.
        self.assertEqual({}, reader2.reveal_once(['secret']))
        [task] = objects.WorkerTask.list_for_hardware(self.ctx, hw.uuid)
        self.assertEqual({'id': 'c1', 'secret_revealed': True},
                         task.state_details)


class MariaDBObjectsTest(ObjectsTest):
    KIND = 'mariadb'

    def test_concurrent_claims_never_share_a_task(self):
        uuids = set()
        for i in range(20):
            hw = self._hardware('h%d' % i)
            uuids |= {t.uuid for t in self._tasks(hw)}

        def claim(host):
            got = []
            while True:
                tasks = objects.WorkerTask.claim_due(self.ctx, host, 3)
                if not tasks:
                    return got
                got.extend(t.uuid for t in tasks)

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            results = list(pool.map(claim, ['w%d' % i for i in range(4)]))
        claimed = [u for got in results for u in got]
        self.assertEqual(len(claimed), len(set(claimed)))
        self.assertEqual(uuids, set(claimed))
