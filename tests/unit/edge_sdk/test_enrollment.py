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

"""The enrolled device's side: the stored credential file, the service's
answers (untrusted), and ``register`` against an HTTP server of the
test's own that answers as the enrollment API would, including badly.
The real service is tests/enroll/test_sdk_register.py's.
"""

import copy
import json
import os
import stat
import uuid

import fixtures
import jsonpatch
import testtools
from hypothesis import given
from hypothesis import strategies as st
from keystoneauth1 import session as ks_session

from edge_sdk import client as client_mod
from edge_sdk import enrollment
from edge_sdk import keys
from edge_sdk import sync
from tests.unit.edge_sdk import scripted


HW_UUID = 'e4f1b7a2-3c5d-4e6f-8a9b-0c1d2e3f4a5b'
CHANNEL_UUID = '0b7c7a4e-8a0b-4bb4-9a51-6f4f1d2b3c4d'
SECRET = 'Sx-9d_secret-from-keystone'


def record(**changes):
    return dict({'hardware_uuid': HW_UUID, 'hardware_name': 'cam-1',
                 'project_id': 'p' * 32,
                 'auth_url': 'http://192.0.2.1:5000/v3',
                 'application_credential_id': 'a' * 32,
                 'application_credential_secret': SECRET,
                 'region_name': 'RegionOne', 'interface': 'public'},
                **changes)


class CredentialFileTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.top = self.useFixture(fixtures.TempDir()).path
        self.state = os.path.join(self.top, 'state')

    def test_round_trip_mode_0600(self):
        enrollment.write_credential(self.state, record())
        path = enrollment.credential_path(self.state)
        self.assertEqual(0o600, stat.S_IMODE(os.stat(path).st_mode))
        self.assertEqual(0o700, stat.S_IMODE(os.stat(self.state).st_mode))
        self.assertEqual(record(), enrollment.read_credential(self.state))

    def test_none_without_making_the_directory(self):
        self.assertIsNone(enrollment.read_credential(self.state))
        self.assertFalse(os.path.exists(self.state))

    def test_readable_by_others_refused(self):
        enrollment.write_credential(self.state, record())
        path = enrollment.credential_path(self.state)
        os.chmod(path, 0o644)
        e = self.assertRaises(keys.KeyFileError,
                              enrollment.read_credential, self.state)
        self.assertIn('chmod 600', str(e))
        self.assertIn('--rotate-credential', str(e))
        self.assertNotIn(SECRET, str(e))

    def test_link_refused(self):
        enrollment.write_credential(self.state, record())
        path = enrollment.credential_path(self.state)
        os.rename(path, path + '.real')
        os.symlink(path + '.real', path)
        self.assertRaises(OSError, enrollment.read_credential, self.state)

    def test_garbage_says_what_to_do_and_never_quotes_it(self):
        keys.ensure_state_dir(self.state)
        for text in ('not json', '[]', json.dumps(record(
                application_credential_secret='a b')), json.dumps(record(
                    hardware_uuid='../../etc'))):
            keys.write_secret(enrollment.credential_path(self.state), text)
            e = self.assertRaises(keys.KeyFileError,
                                  enrollment.read_credential, self.state)
            self.assertIn('edge-sdk register', str(e))
            self.assertNotIn('a b', str(e))

    @given(st.dictionaries(
        st.sampled_from(sorted(record())),
        st.one_of(st.none(), st.integers(), st.text(max_size=80),
                  st.lists(st.text(max_size=3), max_size=2))))
    def test_hostile_records_are_refused_as_value_errors(self, changes):
        rec = record(**changes)
        try:
            enrollment.check_record(rec)
        except ValueError:
            return
        # Accepted: then it is usable as it is.
        self.assertRegex(rec['application_credential_secret'],
                         r'^[\x21-\x7e]+$')
        uuid.UUID(str(rec['hardware_uuid']))
        self.assertTrue(rec['auth_url'].startswith(('http://',
                                                    'https://')))

    def test_mask_is_no_secret(self):
        self.assertRaises(ValueError, enrollment.check_record,
                          record(application_credential_secret='******'))


_json = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=8), inner,
                                            max_size=3)),
    max_leaves=12)


class AnswersTest(testtools.TestCase):

    @given(_json)
    def test_any_answer_is_an_item_or_a_clear_error(self, answer):
        try:
            hw = enrollment.check_hardware(answer)
        except enrollment.EnrollmentAPIError:
            return
        enrollment.workers(hw)
        enrollment.declared_keys(hw)

    @given(st.dictionaries(st.sampled_from(['control', 'tenant', 'x']),
                           _json, max_size=3))
    def test_channel_ids_are_uuids_or_refused(self, channels):
        hw = {'uuid': HW_UUID, 'name': 'cam-1', 'properties': {},
              'workers': [{'worker_type': 'tunelo', 'state': 'STEADY',
                           'state_details': {'channels': channels}}]}
        try:
            found = enrollment.channel_ids(hw)
        except enrollment.EnrollmentAPIError as e:
            self.assertIn('no UUID', str(e))
            return
        for value in found.values():
            self.assertEqual(value, str(uuid.UUID(value)))

    @given(st.one_of(st.none(), st.dictionaries(
        st.sampled_from(['control', 'tenant']),
        st.one_of(st.none(), st.fixed_dictionaries({
            'channel_type': st.just('wireguard'),
            'public_key': st.sampled_from(['K1', 'K2'])})))),
        st.dictionaries(st.sampled_from(['control', 'tenant']),
                        st.sampled_from(['K1', 'K2', 'K3']), min_size=1))
    def test_key_operations_make_the_property_true(self, channels, wanted):
        props = {'machine_name': 'rpi'}
        if channels is not None:
            props['channels'] = channels
        hw = {'properties': props}
        ops = enrollment.key_operations(hw, wanted)
        after = jsonpatch.apply_patch({'properties': copy.deepcopy(props)},
                                      ops)
        self.assertEqual(wanted, {
            role: key for role, key in enrollment.declared_keys(
                after).items() if role in wanted})
        if not ops:
            self.assertEqual(wanted, {r: enrollment.declared_keys(hw)[r]
                                      for r in wanted})

    def test_settings_an_item_cannot_hold(self):
        for settings, word in (
                (sync.Settings('/x', device_name='cam_1'), 'host name'),
                (sync.Settings('/x', channels=['control', 'mgmt'],
                               device_name='cam-1'), 'mgmt')):
            e = self.assertRaises(ValueError,
                                  enrollment.check_registrable, settings)
            self.assertIn(word, str(e))


def hardware(tunelo='STEADY', credentials='STEADY', secret=SECRET,
             credential_id='a' * 32, keys_=None, **details):
    props = {'machine_name': 'rpi', 'contact_email': '******'}
    if keys_:
        props['channels'] = {r: {'channel_type': 'wireguard',
                                 'public_key': k} for r, k in keys_.items()}
    cred = {'application_credential_id': credential_id,
            'project_id': 'p' * 32,
            'auth_url': 'http://10.0.0.1:5000/v3'}
    if secret is not None:
        cred['application_credential_secret'] = secret
    cred.update(details)
    return {'uuid': HW_UUID, 'name': 'cam-1', 'hardware_type': 'device',
            'project_id': 'p' * 32, 'properties': props,
            'workers': [
                {'worker_type': 'tunelo', 'state': tunelo,
                 'state_details': dict({'channels': {'control': {
                     'uuid': CHANNEL_UUID}}}, **details)},
                {'worker_type': 'credentials', 'state': credentials,
                 'state_details': cred}]}


class RegisterTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.server = self.useFixture(scripted.Server())
        url = self.server.url
        self.hardware = enrollment.HardwareClient(client_mod.make_adapter(
            session=ks_session.Session(), endpoint_override=url,
            service_type='inventory'))
        self.state = os.path.join(self.useFixture(
            fixtures.TempDir()).path, 'state')
        self.settings = sync.Settings(self.state, channels=['control'],
                                      device_name='cam-1')

    def reply(self, status, body):
        self.server.reply(status, body)

    def registration(self):
        return enrollment.Registration(
            self.settings, self.hardware,
            auth_url='http://192.0.2.1:5000/v3', region_name='RegionOne',
            interface='public', interval=0.01)

    def public_key(self):
        return keys.ensure_key(self.state, 'control')[1]

    def test_enroll_then_store_the_secret_seen_once(self):
        self.reply(404, {'error': 'no such hardware'})
        self.reply(201, hardware('PENDING', 'PENDING', secret=None))
        self.reply(200, hardware('STEADY', 'IN_PROGRESS', secret=None))
        self.reply(200, hardware())
        reg = self.registration()
        hw = reg.run('rpi', 'o@example.org', wait=10)
        self.assertEqual(HW_UUID, hw['uuid'])
        method, path, body = self.server.requests[1]
        self.assertEqual(('POST', '/v1/hardware/'), (method, path))
        self.assertEqual({'name': 'cam-1', 'hardware_type': 'device',
                          'properties': {
                              'machine_name': 'rpi',
                              'contact_email': 'o@example.org',
                              'channels': {'control': {
                                  'channel_type': 'wireguard',
                                  'public_key': self.public_key()}}}},
                         body)
        stored = enrollment.read_credential(self.state)
        self.assertEqual(SECRET, stored['application_credential_secret'])
        # The URL this device reached Keystone at, not the service's.
        self.assertEqual('http://192.0.2.1:5000/v3', stored['auth_url'])
        self.assertEqual(HW_UUID, stored['hardware_uuid'])

    def test_rerun_adopts_and_keeps_the_stored_credential(self):
        enrollment.write_credential(self.state, record())
        key = self.public_key()
        self.reply(200, hardware(secret='******', keys_={'control': key}))
        hw = self.registration().run('rpi', 'o@example.org', wait=10)
        self.assertEqual(HW_UUID, hw['uuid'])
        self.assertEqual(['GET'], [r[0] for r in self.server.requests])
        self.assertEqual(record(), enrollment.read_credential(self.state))

    def test_secret_shown_elsewhere_says_how_to_rotate(self):
        key = self.public_key()
        self.reply(200, hardware(secret='******', keys_={'control': key}))
        e = self.assertRaises(enrollment.EnrollmentError,
                              self.registration().run, 'rpi', 'o@x.org',
                              wait=10)
        self.assertIn('rotate_credential', str(e))
        self.assertIn('--rotate-credential', str(e))
        self.assertIsNone(enrollment.read_credential(self.state))

    def test_rotate_waits_for_the_new_credential(self):
        key = self.public_key()
        self.reply(200, hardware(secret='******', keys_={'control': key}))
        self.reply(200, hardware(credentials='PENDING', secret='******',
                                 keys_={'control': key}))
        self.reply(200, hardware(secret=SECRET + 'new',
                                 credential_id='b' * 32,
                                 keys_={'control': key}))
        self.registration().run('rpi', 'o@x.org', wait=10, rotate=True)
        method, path, body = self.server.requests[1]
        self.assertEqual('PATCH', method)
        self.assertEqual('/properties/rotate_credential', body[0]['path'])
        stored = enrollment.read_credential(self.state)
        self.assertEqual('b' * 32, stored['application_credential_id'])

    def test_another_devices_item_is_not_taken_silently(self):
        self.public_key()
        self.reply(200, hardware(keys_={'control': 'OTHER'}))
        e = self.assertRaises(enrollment.EnrollmentError,
                              self.registration().run, 'rpi', 'o@x.org',
                              wait=10)
        self.assertIn('--take-over', str(e))
        self.assertEqual(1, len(self.server.requests))

    def test_worker_error_and_deferral_are_explained(self):
        self.reply(404, {'error': 'no'})
        self.reply(201, hardware(tunelo='ERROR', secret=None,
                                 last_error='no channel subnet'))
        e = self.assertRaises(enrollment.EnrollmentError,
                              self.registration().run, 'rpi', 'o@x.org',
                              wait=10)
        self.assertIn('no channel subnet', str(e))
        self.assertIn('edge-sdk register', str(e))
        self.server.requests.clear()
        key = self.public_key()
        self.reply(200, hardware(tunelo='PENDING', secret=None,
                                 keys_={'control': key},
                                 defer_reason='channel API down'))
        self.reply(200, hardware(tunelo='PENDING', secret=None,
                                 keys_={'control': key},
                                 defer_reason='channel API down'))
        e = self.assertRaises(enrollment.EnrollmentError,
                              self.registration().run, 'rpi', 'o@x.org',
                              wait=0.001)
        self.assertIn('deferred: channel API down', str(e))
        self.assertIn('--wait', str(e))

    def test_an_unusable_secret_is_never_written(self):
        self.reply(404, {'error': 'no'})
        self.reply(201, hardware(secret='two words'))
        e = self.assertRaises(enrollment.EnrollmentError,
                              self.registration().run, 'rpi', 'o@x.org',
                              wait=10)
        self.assertNotIn('two words', str(e))
        self.assertIsNone(enrollment.read_credential(self.state))

    def test_hostile_channel_id_never_reaches_a_url(self):
        hw = hardware()
        hw['workers'][0]['state_details']['channels']['control'][
            'uuid'] = '../../v3/users'
        self.reply(200, hw)
        source = enrollment.EnrolledChannels(self.hardware, None, HW_UUID)
        self.assertRaises(enrollment.EnrollmentAPIError, source.current,
                          self.settings, 'control')
        self.assertEqual(1, len(self.server.requests))

    def test_down_delete_refused_for_an_enrolled_device(self):
        source = enrollment.EnrolledChannels(self.hardware, None, HW_UUID)
        e = self.assertRaises(ValueError, sync.check_deletable, source)
        self.assertIn('openstack hardware delete %s' % HW_UUID, str(e))

    def test_run_sends_a_changed_key_through_the_item_only(self):
        key = self.public_key()
        self.reply(200, hardware(secret=None, keys_={'control': 'OLD'}))
        self.reply(200, hardware(tunelo='PENDING', secret=None,
                                 keys_={'control': key}))
        self.reply(200, {'uuid': CHANNEL_UUID, 'name': 'cam-1-control',
                         'properties': {'public_key': 'OLD'}})
        channels = client_mod.ChannelClient(client_mod.make_adapter(
            session=ks_session.Session(),
            endpoint_override=self.hardware.adapter.endpoint_override))
        runner = sync.Runner(self.settings, enrollment.EnrolledChannels(
            self.hardware, channels, HW_UUID))
        # Not applied yet: the worker has not given the channel the key.
        self.assertEqual([], runner.sync_once())
        self.assertEqual([
            ('GET', '/v1/hardware/%s/' % HW_UUID, None),
            ('PATCH', '/v1/hardware/%s/' % HW_UUID, [{
                'op': 'add', 'path': '/properties/channels/control',
                'value': {'channel_type': 'wireguard',
                          'public_key': key}}]),
            ('GET', '/channels/%s' % CHANNEL_UUID, None)],
            self.server.requests)

    def test_the_secret_shown_by_the_lookup_is_kept(self):
        # A run cut short after the create: the next one's first read
        # is the one that shows the secret.
        key = self.public_key()
        self.reply(200, hardware(keys_={'control': key}))
        self.registration().run('rpi', 'o@x.org', wait=10)
        self.assertEqual(SECRET, enrollment.read_credential(self.state)[
            'application_credential_secret'])
