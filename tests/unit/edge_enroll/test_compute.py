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

"""The compute worker's matching of Cyborg's device profiles against a
host's device providers, on what Cyborg and Placement answer (and on
anything else: the services' answers are not trusted); the engine's
resync of a worker's STEADY tasks, on SQLite.
"""

import datetime
import time

import hypothesis
import testtools
from hypothesis import strategies as st
from oslo_utils import timeutils

from edge_enroll import exception
from edge_enroll import objects
from edge_enroll.worker import base
from edge_enroll.worker import compute
from edge_enroll.worker import manager as manager_mod
from tests.unit.edge_enroll import base as db_base


CAMERA = 'CUSTOM_PERIPHERAL_CAMERA'
SERIAL = 'CUSTOM_PERIPHERAL_SERIAL'
UVC = 'CUSTOM_PERIPHERAL_USB_046D_0825'


def provider(name, inventories, traits=('OWNER_CYBORG',)):
    """A provider as Placement answers it: the listing's entry, its
    inventories and its traits.
    """
    return compute.parse_provider(
        {'uuid': 'uuid-%s' % name, 'name': name,
         'parent_provider_uuid': 'root'},
        {rc: {'total': total, 'reserved': 0, 'min_unit': 1,
              'max_unit': total, 'step_size': 1, 'allocation_ratio': 1.0}
         for rc, total in inventories.items()},
        list(traits))


def profile(name, *groups):
    return {'name': name, 'uuid': 'u-%s' % name, 'description': '',
            'groups': list(groups)}


HOST = [provider('cam', {CAMERA: 1}, ('OWNER_CYBORG', UVC)),
        provider('tty', {SERIAL: 1})]


class MatchingTest(testtools.TestCase):

    def names(self, *profiles, providers=HOST):
        names, skipped = compute.satisfiable(list(profiles), providers)
        self.assertEqual([], skipped)
        return names

    def test_a_profile_the_host_can_serve(self):
        self.assertEqual(['camera'], self.names(
            profile('camera', {'resources:%s' % CAMERA: '1'})))

    def test_more_than_a_device_has_is_not_served(self):
        self.assertEqual([], self.names(
            profile('two', {'resources:%s' % CAMERA: '2'})))

    def test_a_group_is_one_provider(self):
        # Camera and serial in one group: no single device has both.
        self.assertEqual([], self.names(profile(
            'both', {'resources:%s' % CAMERA: '1',
                     'resources:%s' % SERIAL: '1'})))
        self.assertEqual(['pair'], self.names(profile(
            'pair', {'resources:%s' % CAMERA: '1'},
            {'resources:%s' % SERIAL: '1'})))

    def test_traits_required_and_forbidden(self):
        self.assertEqual(['logitech'], self.names(
            profile('logitech', {'resources:%s' % CAMERA: '1',
                                 'trait:%s' % UVC: 'required'}),
            profile('not-logitech', {'resources:%s' % CAMERA: '1',
                                     'trait:%s' % UVC: 'forbidden'}),
            profile('other', {'resources:%s' % CAMERA: '1',
                              'trait:CUSTOM_OTHER': 'required'})))

    def test_accel_keys_are_not_placement_s(self):
        self.assertEqual(['fpga-like'], self.names(profile(
            'fpga-like', {'resources:%s' % SERIAL: 1,
                          'accel:bitstream_id': 'x'})))

    def test_capability_not_free_capacity(self):
        # Reserved units are never usable; used ones (allocations) are
        # not looked at.
        rp = compute.parse_provider(
            {'uuid': 'u', 'name': 'cam'},
            {CAMERA: {'total': 2, 'reserved': 1, 'max_unit': 2}}, [])
        self.assertEqual(['one'], self.names(
            profile('one', {'resources:%s' % CAMERA: '1'}),
            profile('two', {'resources:%s' % CAMERA: '2'}),
            providers=[rp]))

    def test_sorted_and_unique(self):
        self.assertEqual(['a', 'b'], self.names(
            profile('b', {'resources:%s' % SERIAL: '1'}),
            profile('a', {'resources:%s' % SERIAL: '1'}),
            profile('b', {'resources:%s' % SERIAL: '1'})))

    def test_malformed_profiles_are_skipped_and_named(self):
        names, skipped = compute.satisfiable([
            profile('good', {'resources:%s' % SERIAL: '1'}),
            profile('bad-amount', {'resources:%s' % SERIAL: 'one'}),
            profile('bad-trait', {'trait:%s' % UVC: 'maybe'}),
            profile('bad-key', {'color': 'red'}),
            profile('no-groups'),
            {'groups': [{}]},
            'not a profile',
        ], HOST)
        self.assertEqual(['good'], names)
        self.assertEqual(['a device profile', 'a device profile',
                          'bad-amount', 'bad-key', 'bad-trait', 'no-groups'],
                         sorted(what for what, _ in skipped))

    def test_not_a_list(self):
        names, skipped = compute.satisfiable({'device_profiles': []}, HOST)
        self.assertEqual([], names)
        self.assertEqual(1, len(skipped))

    def test_malformed_providers_are_refused(self):
        for rp, inv, traits in (
                ('x', {}, []),
                ({'uuid': 'u'}, {CAMERA: 'many'}, []),
                ({'uuid': 'u'}, {CAMERA: {'total': 'x'}}, []),
                ({'uuid': 'u'}, {CAMERA: {'total': 1,
                                          'allocation_ratio': 'x'}}, []),
                ({'uuid': 'u'}, {CAMERA: {'total': 1}}, [1]),
                ({'uuid': 'u'}, [], []),
                ({'uuid': None}, {}, [])):
            self.assertRaises(compute.Malformed, compute.parse_provider,
                              rp, inv, traits)

    def test_children_first(self):
        tree = [{'uuid': 'root', 'parent_provider_uuid': None},
                {'uuid': 'dev', 'parent_provider_uuid': 'root'},
                {'uuid': 'sub', 'parent_provider_uuid': 'dev'}]
        self.assertEqual(['sub', 'dev', 'root'],
                         compute._children_first(tree))


#: Any JSON value: what a service might answer.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.text(max_size=8), inner, max_size=4),
    max_leaves=12)
#: Values shaped like Cyborg's groups, often almost right.
group_keys = st.sampled_from(['resources:%s' % CAMERA,
                              'resources:%s' % SERIAL, 'resources:',
                              'trait:%s' % UVC, 'trait:', 'accel:x',
                              'other']) | st.text(max_size=12)
group_values = st.sampled_from(['1', '2', '0', '-1', ' 1 ', '١', 'required',
                                'forbidden']) | json_values
groups = st.dictionaries(group_keys, group_values, max_size=4)
profiles = st.lists(
    st.fixed_dictionaries({'name': st.text(max_size=6) | json_values,
                           'groups': st.lists(groups, max_size=3) |
                           json_values}) | json_values, max_size=5)
inventories = st.dictionaries(
    st.sampled_from([CAMERA, SERIAL]) | st.text(max_size=6),
    st.fixed_dictionaries({'total': st.integers(-2, 4) | json_values},
                          optional={'reserved': st.integers(-1, 3),
                                    'max_unit': st.integers(-1, 4),
                                    'min_unit': st.integers(-1, 3),
                                    'step_size': st.integers(-1, 3),
                                    'allocation_ratio': st.floats()})
    | json_values, max_size=3)


class UntrustedInputTest(testtools.TestCase):

    @hypothesis.given(profiles=profiles | json_values)
    def test_any_profiles_never_raise(self, profiles):
        names, skipped = compute.satisfiable(profiles, HOST)
        self.assertEqual(sorted(set(names)), names)
        listed = [p.get('name') for p in profiles
                  if isinstance(p, dict)] if isinstance(profiles,
                                                        list) else []
        for name in names:
            self.assertIn(name, listed)
        for what, why in skipped:
            self.assertIsInstance(what, str)
            self.assertIsInstance(why, str)

    @hypothesis.given(inv=inventories, traits=json_values |
                      st.lists(st.sampled_from([UVC, 'OWNER_CYBORG'])),
                      profiles=profiles)
    def test_any_provider_is_read_or_refused(self, inv, traits, profiles):
        try:
            rp = compute.parse_provider({'uuid': 'u', 'name': 'n'}, inv,
                                        traits)
        except compute.Malformed:
            return
        compute.satisfiable(profiles, [rp])


class BindingTest(testtools.TestCase):
    """An enrollment claims only a host Zun registered after it."""

    def setUp(self):
        super().setUp()
        self.hw = objects.Hardware(name='edge1',
                                   created_at=timeutils.utcnow())

    def svc(self, delta):
        # As Zun's services API writes it (zun.common.utils.strtime).
        when = timeutils.normalize_time(self.hw.created_at) + delta
        return {'created_at': when.strftime('%Y-%m-%dT%H:%M:%S.%f')}

    def test_a_host_registered_after_the_enrollment_is_claimed(self):
        compute._check_registered_after(
            self.hw, self.svc(datetime.timedelta(seconds=5)))

    def test_an_existing_compute_host_is_refused_and_explained(self):
        e = self.assertRaises(
            base.WorkerError, compute._check_registered_after, self.hw,
            self.svc(-datetime.timedelta(days=1)))
        self.assertIn('existing compute host', str(e))
        self.assertIn('new name', str(e))

    @hypothesis.given(st.one_of(st.none(), st.integers(), st.text(),
                                st.lists(st.text())))
    def test_any_created_at_is_read_or_refused(self, created_at):
        try:
            compute._check_registered_after(self.hw,
                                            {'created_at': created_at})
        except base.WorkerError:
            pass


class ResyncTest(testtools.TestCase):
    """``WorkerTask.resync``: only the worker's STEADY tasks that old,
    of live hardware.
    """

    def setUp(self):
        super().setUp()
        self.db = self.useFixture(db_base.Database('sqlite'))
        self.ctx = self.db.context

    def hardware(self, name):
        hw = objects.Hardware(self.ctx, project_id='p', hardware_type='device',
                              name=name, properties={})
        hw.create()
        objects.WorkerTask.ensure_for_hardware(self.ctx, hw,
                                               ['tunelo', 'compute'])
        for task in objects.WorkerTask.claim_due(self.ctx, 'e', 10):
            task.finish(objects.WorkerState.STEADY, {})
        return hw

    def states(self, hw):
        return {t.worker_type: t.state for t in
                objects.WorkerTask.list_for_hardware(self.ctx, hw.uuid)}

    def test_resync_moves_only_old_steady_tasks_of_the_worker(self):
        live = self.hardware('live')
        gone = self.hardware('gone')
        gone.soft_delete()
        now = timeutils.utcnow()
        self.assertEqual(0, objects.WorkerTask.resync(
            self.ctx, 'compute', now - datetime.timedelta(seconds=60)))
        self.assertEqual(1, objects.WorkerTask.resync(
            self.ctx, 'compute', now + datetime.timedelta(seconds=1)))
        self.assertEqual({'tunelo': 'STEADY', 'compute': 'PENDING'},
                         self.states(live))
        self.assertEqual({'tunelo': 'STEADY', 'compute': 'STEADY'},
                         self.states(gone))
        # A PENDING task is not counted again.
        self.assertEqual(0, objects.WorkerTask.resync(
            self.ctx, 'compute', now + datetime.timedelta(seconds=1)))


class EngineTest(testtools.TestCase):
    """The engine with the compute worker, Zun's port closed (a real
    refused connection): the deferral and its reason where the client
    shows it, and the resync of a STEADY task.
    """

    def setUp(self):
        super().setUp()
        self.db = self.useFixture(db_base.Database('sqlite'))
        self.ctx = self.db.context
        conf = self.db.conf
        conf.set_override('enabled_worker_types', ['compute'], 'worker')
        self.engine = manager_mod.WorkerManager(conf)
        self.addCleanup(self.engine.stop)
        # Nothing listens on the discard port.
        conf.set_override('endpoint_override', 'http://127.0.0.1:9/v1',
                          'zun')
        conf.set_override('resync_interval', 0.001, 'compute')
        self.hw = objects.Hardware(
            self.ctx, project_id='p', hardware_type='device', name='edge1',
            properties={'machine_name': 'm',
                        'contact_email': 'o@example.org'})
        self.hw.create()
        self.engine.ensure_tasks(self.hw)

    def task(self):
        [task] = objects.WorkerTask.list_for_hardware(self.ctx, self.hw.uuid)
        return task

    def test_deferral_reason_is_also_last_error(self):
        [claimed] = objects.WorkerTask.claim_due(self.ctx, 'e', 10)
        self.engine.run_task(claimed)
        task = self.task()
        self.assertEqual(objects.WorkerState.PENDING, task.state)
        reason = task.state_details['defer_reason']
        self.assertIn('Zun unreachable', reason)
        self.assertEqual('Deferred: %s' % reason,
                         task.state_details['last_error'])

    def test_a_host_never_claimed_is_left_alone_on_delete(self):
        # Zun cannot be reached: a cleanup that called it would defer.
        self.hw.soft_delete()
        [claimed] = objects.WorkerTask.claim_due(self.ctx, 'e', 10)
        self.engine.run_task(claimed)
        # Cleaned up at once, and purged.
        self.assertRaises(exception.HardwareNotFound,
                          objects.Hardware.get_by_uuid, self.ctx,
                          self.hw.uuid, deleted=True)

    def test_a_claimed_host_is_deregistered_after_its_channels(self):
        objects.WorkerTask.ensure_for_hardware(self.ctx, self.hw,
                                               ['tunelo', 'compute'])
        for claimed in objects.WorkerTask.claim_due(self.ctx, 'e', 10):
            claimed.finish(objects.WorkerState.STEADY, {compute.BOUND: True})
        # What the API's delete does: every task runs again; tunelo's
        # clean-up has not finished yet.
        self.hw.soft_delete()
        objects.WorkerTask.mark_pending(self.ctx, self.hw.uuid)
        [claimed] = [t for t in objects.WorkerTask.claim_due(
            self.ctx, 'e', 10) if t.worker_type == 'compute']
        self.engine.run_task(claimed)
        [task] = [t for t in objects.WorkerTask.list_for_hardware(
            self.ctx, self.hw.uuid) if t.worker_type == 'compute']
        self.assertEqual(objects.WorkerState.PENDING, task.state)
        self.assertIn('once the tunelo worker has removed its channels',
                      task.state_details['defer_reason'])

    def test_resync_runs_only_the_steady_task_again(self):
        [claimed] = objects.WorkerTask.claim_due(self.ctx, 'e', 10)
        claimed.finish(objects.WorkerState.STEADY, {'device_profiles': []})
        time.sleep(0.01)
        self.assertEqual(1, self.engine.resync())
        self.assertEqual(objects.WorkerState.PENDING, self.task().state)
        self.assertEqual(0, self.engine.resync())
