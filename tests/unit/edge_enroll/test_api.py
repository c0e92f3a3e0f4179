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

"""The enrollment application in-process on a real SQLite database.

keystonemiddleware is not in front here (tests/enroll runs it with real
Keystone): requests carry the identity headers it sets.  The worker is
woken through oslo.messaging's in-memory transport (``fake://``).
"""

import base64
import json
import socket

import fixtures
import hypothesis
import testtools
import webob
from hypothesis import strategies as st
from oslo_messaging import conffixture as messaging_fixture

from edge_enroll import hardware_types
from edge_enroll import objects
from edge_enroll import rpcapi
from edge_enroll.api import app as app_mod
from edge_enroll.api import policy
from edge_enroll.api import schema
from tests.unit.edge_enroll import base


KEY = base64.b64encode(b'k' * 32).decode()
KEY2 = base64.b64encode(b'j' * 32).decode()
OWNER = {'X-Project-Id': 'p-owner', 'X-User-Id': 'u1',
         'X-Roles': 'member,reader'}
OTHER = {'X-Project-Id': 'p-other', 'X-User-Id': 'u2',
         'X-Roles': 'member,reader'}
ADMIN = {'X-Project-Id': 'p-admin', 'X-User-Id': 'u3', 'X-Roles': 'admin'}
READER = {'X-Project-Id': 'p-owner', 'X-User-Id': 'u4', 'X-Roles': 'reader'}


def _props(**extra):
    props = {'machine_name': 'raspberrypi4-64',
             'contact_email': 'owner@example.org',
             'channels': {'control': {'channel_type': 'wireguard',
                                      'public_key': KEY}}}
    props.update(extra)
    return props


class AppTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        db = self.useFixture(base.Database())
        self.conf = db.conf
        self.ctx = db.context
        # Registers oslo.messaging's options; transport_url fake:/.
        self.useFixture(messaging_fixture.ConfFixture(self.conf))
        self.conf.set_override('enabled_worker_types', [], group='worker')
        self.addCleanup(policy.reset)
        policy.get_enforcer(self.conf)
        self.app = app_mod.EnrollApp(
            self.conf, hardware_types.load(self.conf),
            rpcapi.WorkerAPI(self.conf))

    def call(self, method, path, body=None, who=OWNER, status=None):
        headers = {'X-Identity-Status': 'Confirmed'} if who else {}
        headers.update(who or {})
        req = webob.Request.blank(path, method=method, headers=headers)
        if body is not None:
            req.content_type = 'application/json'
            req.body = json.dumps(body).encode()
        resp = req.get_response(self.app)
        if status is not None:
            self.assertEqual(status, resp.status_int, resp.text)
        return resp

    def create(self, name='edge-1', who=OWNER, **props):
        return self.call('POST', '/v1/hardware/', {
            'name': name, 'hardware_type': 'device',
            'properties': _props(**props)}, who=who, status=201).json

    def test_create_show_and_private_fields(self):
        hw = self.create()
        self.assertEqual('p-owner', hw['project_id'])
        self.assertEqual(_props(), hw['properties'])
        shown = self.call('GET', '/v1/hardware/%s' % hw['uuid'],
                          status=200).json
        self.assertEqual(hw['uuid'], shown['uuid'])
        by_name = self.call('GET', '/v1/hardware/edge-1/', status=200).json
        self.assertEqual(hw['uuid'], by_name['uuid'])
        export = self.call('GET', '/v1/hardware/export/', who=None,
                           status=200).json['hardware']
        self.assertEqual([{'machine_name': 'raspberrypi4-64'}],
                         [h['properties'] for h in export])
        self.assertNotIn('workers', export[0])

    def test_other_project_is_told_nothing_exists(self):
        hw = self.create()
        for method, suffix, body in (('GET', '', None),
                                     ('PATCH', '', [{'op': 'add', 'path':
                                                     '/name', 'value': 'x'}]),
                                     ('DELETE', '', None),
                                     ('POST', 'sync', None),
                                     ('GET', 'availability', None)):
            resp = self.call(method, '/v1/hardware/%s/%s' % (hw['uuid'],
                                                             suffix),
                             body, who=OTHER, status=404)
            self.assertIn('openstack hardware list', resp.json['error'])
        self.assertEqual([], self.call('GET', '/v1/hardware/', who=OTHER,
                                       status=200).json['hardware'])
        self.assertEqual(1, len(self.call(
            'GET', '/v1/hardware/?all_projects=1', who=ADMIN,
            status=200).json['hardware']))
        self.call('GET', '/v1/hardware/?all_projects=1', who=OWNER,
                  status=403)

    def test_a_reader_cannot_enroll(self):
        resp = self.call('POST', '/v1/hardware/', {
            'name': 'edge-1', 'hardware_type': 'device',
            'properties': _props()}, who=READER, status=403)
        self.assertIn('hardware:create', resp.json['error'])

    def test_no_token_is_401_with_what_to_do(self):
        resp = self.call('GET', '/v1/hardware/', who=None, status=401)
        self.assertIn('X-Auth-Token', resp.json['error'])

    def test_patch_is_validated_again_and_changes_nothing_when_bad(self):
        hw = self.create()
        path = '/v1/hardware/%s/' % hw['uuid']
        for patch, words in (
                ([{'op': 'add', 'path': '/properties/contact_email',
                   'value': 'not-an-email'}], 'contact_email'),
                ([{'op': 'remove', 'path': '/properties/machine_name',
                   'value': True}], 'machine_name'),
                ([{'op': 'add', 'path': '/properties/unknown',
                   'value': 1}], 'unknown'),
                ([{'op': 'add', 'path': '/properties/channels/control/'
                   'public_key', 'value': 'abc'}], 'wg pubkey'),
                ([{'op': 'add', 'path': '/properties/device_profiles',
                   'value': ['cam']}], 'device_profiles'),
                ([{'op': 'add', 'path': '/hardware_type',
                   'value': 'x'}], 'hardware_type'),
                ([{'op': 'add', 'path': '/name', 'value': 'a_b'}],
                 'host name')):
            resp = self.call('PATCH', path, patch, status=400)
            self.assertIn(words, resp.json['error'])
        self.assertEqual(hw['properties'], self.call(
            'GET', path, status=200).json['properties'])

    def test_patch_and_unset_as_the_client_sends_them(self):
        hw = self.create()
        path = '/v1/hardware/%s/' % hw['uuid']
        changed = self.call('PATCH', path, [
            {'op': 'add', 'path': '/properties/channels',
             'value': {'tenant': {'channel_type': 'wireguard',
                                  'public_key': KEY2}}},
            {'op': 'add', 'path': '/name', 'value': 'edge-2'}],
            status=200).json
        self.assertEqual('edge-2', changed['name'])
        self.assertEqual(KEY2, changed['properties']['channels']['tenant'][
            'public_key'])
        unset = self.call('PATCH', path, [
            {'op': 'remove', 'path': '/properties/channels', 'value': True}],
            status=200).json
        self.assertNotIn('channels', unset['properties'])

    def test_patch_racing_a_worker_write_keeps_both(self):
        hw = self.create()
        path = '/v1/hardware/%s/' % hw['uuid']
        apply_patch = schema.apply_patch
        raced = []

        def worker_writes_first(*args):
            # A fault that cannot be timed for real: the compute worker
            # records device profiles between this PATCH's read and its
            # write.
            if not raced:
                raced.append(True)
                current = objects.Hardware.get_by_uuid(self.ctx, hw['uuid'])
                current.properties = dict(current.properties,
                                          device_profiles=['camera'])
                current.save()
            return apply_patch(*args)

        self.useFixture(fixtures.MonkeyPatch(
            'edge_enroll.api.schema.apply_patch', worker_writes_first))
        changed = self.call('PATCH', path, [
            {'op': 'replace', 'path': '/properties/machine_name',
             'value': 'jetson-nano'}], status=200).json
        self.assertEqual('jetson-nano', changed['properties']['machine_name'])
        self.assertEqual(['camera'], changed['properties']['device_profiles'])

    def test_availability_windows_as_the_client_changes_them(self):
        hw = self.create()
        path = '/v1/hardware/%s/' % hw['uuid']
        window = {'start': '2026-12-03T10:00:00+00:00',
                  'end': '2026-12-04T10:00:00+00:00'}
        self.call('PATCH', path, [{'op': 'add', 'path': '/availability/-',
                                   'value': window}], status=200)
        [got] = self.call('GET', path + 'availability',
                          status=200).json['availability']
        self.assertEqual(('2026-12-03T10:00:00+00:00',
                          '2026-12-04T10:00:00+00:00'),
                         (got['start'], got['end']))
        one = path.rstrip('/')
        for patch, status, words in (
                ([{'op': 'replace', 'path': '/availability/%s/end'
                   % got['uuid'], 'value': '2026-12-01T00:00:00Z'}], 400,
                 'end after it starts'),
                ([{'op': 'replace', 'path': '/availability/%s/end'
                   % got['uuid'], 'value': 'tomorrow'}], 400, 'ISO 8601'),
                ([{'op': 'remove', 'path': '/availability/%s'
                   % hw['uuid']}], 404, 'availability list')):
            resp = self.call('PATCH', one, patch, status=status)
            self.assertIn(words, resp.json['error'])
        self.call('PATCH', one, [
            {'op': 'replace', 'path': '/availability/%s/end' % got['uuid'],
             'value': '2026-12-05T10:00:00Z'}], status=200)
        [got] = self.call('GET', path + 'availability',
                          status=200).json['availability']
        self.assertEqual('2026-12-05T10:00:00+00:00', got['end'])
        self.call('PATCH', one, [{'op': 'remove', 'path': '/availability/%s'
                                  % got['uuid']}], status=200)
        self.assertEqual([], self.call('GET', path + 'availability',
                                       status=200).json['availability'])

    def test_create_refuses_bad_bodies_by_name(self):
        for body, words in (
                ({'name': 'h', 'hardware_type': 'baremetal',
                  'properties': {}}, 'device'),
                ({'name': 'h', 'hardware_type': 'device',
                  'properties': _props(), 'extra': 1}, 'extra'),
                ({'name': 'h', 'hardware_type': 'device',
                  'properties': _props(device_profiles=['x'])},
                 'set by the service'),
                ({'name': '-h', 'hardware_type': 'device',
                  'properties': _props()}, 'host name')):
            resp = self.call('POST', '/v1/hardware/', body, status=400)
            self.assertIn(words, resp.json['error'])
        self.create()
        resp = self.call('POST', '/v1/hardware/', {
            'name': 'edge-1', 'hardware_type': 'device',
            'properties': _props()}, status=409)
        self.assertIn('choose another name', resp.json['error'])

    def test_list_pages_with_links(self):
        for i in range(3):
            self.create('edge-%d' % i)
        first = self.call('GET', '/v1/hardware/?limit=2', status=200).json
        self.assertEqual(['edge-0', 'edge-1'],
                         [h['name'] for h in first['hardware']])
        [link] = first['links']
        nxt = self.call('GET', link['href'], status=200).json
        self.assertEqual(['edge-2'], [h['name'] for h in nxt['hardware']])
        self.call('GET', '/v1/hardware/?bogus=1', status=400)
        self.call('GET', '/v1/hardware/?sort_key=properties', status=400)

    def test_delete_then_name_is_free_and_tasks_pending(self):
        hw = self.create()
        self.call('DELETE', '/v1/hardware/%s' % hw['uuid'], status=204)
        self.call('GET', '/v1/hardware/%s' % hw['uuid'], status=404)
        self.assertTrue(objects.Hardware.get_by_uuid(
            self.ctx, hw['uuid'], deleted=True).deleted)
        self.create()

    def test_methods_and_paths_say_what_to_use(self):
        resp = self.call('PUT', '/v1/hardware/', status=405)
        self.assertEqual('GET, POST', resp.headers['Allow'])
        resp = self.call('GET', '/v2/things', status=404)
        self.assertIn('/v1/hardware/', resp.json['error'])
        self.assertEqual('v1', self.call('GET', '/', who=None,
                                         status=200).json['versions'][0][
            'id'])


class TaskTest(AppTest):
    """With a worker type enabled: tasks are made and re-queued."""

    def setUp(self):
        super().setUp()
        # The tunelo worker's class (its fields only; nothing runs).
        self.conf.set_override('enabled_worker_types', ['tunelo'],
                               group='worker')
        self.app = app_mod.EnrollApp(
            self.conf, hardware_types.load(self.conf),
            rpcapi.WorkerAPI(self.conf))

    def test_tasks_follow_the_hardware(self):
        hw = self.create()
        self.assertEqual([('tunelo', 'PENDING')], [
            (w['worker_type'], w['state']) for w in hw['workers']])
        [task] = objects.WorkerTask.claim_due(self.ctx, 'w', 1)
        task.finish('STEADY', {'channels': {}})
        self.call('POST', '/v1/hardware/%s/sync' % hw['uuid'], status=204)
        [task] = objects.WorkerTask.list_for_hardware(self.ctx, hw['uuid'])
        self.assertEqual('PENDING', task.state)


class LostCastTest(AppTest):
    """RabbitMQ cannot be reached (a closed port): every test of
    AppTest passes all the same, and a task waits in the database for
    the worker's poll.
    """

    def setUp(self):
        super().setUp()
        sock = socket.socket()
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
        sock.close()
        self.conf.set_override('transport_url',
                               'rabbit://guest:guest@127.0.0.1:%d/' % port)
        self.conf.set_override('enabled_worker_types', ['tunelo'],
                               group='worker')
        self.logs = self.useFixture(fixtures.FakeLogger(
            name='edge_enroll.rpcapi'))
        self.app = app_mod.EnrollApp(
            self.conf, hardware_types.load(self.conf),
            rpcapi.WorkerAPI(self.conf))

    def test_create_succeeds_and_the_task_waits(self):
        hw = self.create()
        self.assertEqual(['PENDING'], [w['state'] for w in hw['workers']])
        self.assertIn('its poll will process it', self.logs.output)


class PatchFuzzTest(testtools.TestCase):
    """Whatever a PATCH holds, the answer is a result that passes the
    schema or a 400, never another error, and a refused one changes
    nothing.
    """

    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=8),
        lambda inner: st.lists(inner, max_size=3) |
        st.dictionaries(st.text(max_size=8), inner, max_size=3),
        max_leaves=6)
    paths = st.sampled_from([
        '/name', '/properties', '/properties/machine_name',
        '/properties/contact_email', '/properties/channels',
        '/properties/channels/control', '/properties/channels/tenant',
        '/properties/channels/control/public_key', '/properties/x',
        '/uuid', '/properties/device_profiles', '']) | st.text(max_size=12)
    ops = st.lists(st.fixed_dictionaries(
        {'op': st.sampled_from(['add', 'replace', 'remove', 'move', 'x']),
         'path': paths}, optional={'value': json_values}), max_size=4)

    @hypothesis.settings(max_examples=150, deadline=None,
                         suppress_health_check=[
                             hypothesis.HealthCheck.too_slow])
    @hypothesis.given(patch=ops | json_values)
    def test_patch_never_breaks(self, patch):
        from edge_enroll import exception
        from edge_enroll.api import schema
        hw_type = hardware_types.EdgeHost({})
        before = _props()
        try:
            name, props = schema.apply_patch(hw_type, 'edge-1', before,
                                             patch)
        except exception.Invalid as e:
            self.assertEqual(400, e.code)
            self.assertEqual(_props(), before)
            return
        hw_type.validate(props, old=before)
        hardware_types.validate_name(name)
        self.assertNotIn('device_profiles', props)

