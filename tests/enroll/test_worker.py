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

"""The tunelo and credentials workers on real Keystone, Neutron and the
channel API (under uWSGI), as the engine's service user.

What each worker did is checked in the services themselves: channels
as the owner sees them, the host's credential by using it.  A service
down is stopped for real and started again on its port.
"""

import base64
import os
import uuid

from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3
from oslo_config import cfg

from aio import channels as channels_mod
from aio import keystone as keystone_mod
from aio import service
from edge_enroll import context as context_mod
from edge_enroll import objects
from edge_enroll.worker import base as worker_base
from edge_enroll.worker import credentials
from edge_enroll.worker import tunelo
from tests.channels import base


#: The engine's Keystone user: acts for other projects in the channel
#: API (service) and makes users in Keystone (admin).
ENGINE_USER = 'edge-enroll'
ENGINE_ROLES = ('service', 'admin')


def new_key():
    return base64.b64encode(os.urandom(32)).decode()


class WorkerServices(base.ChannelsTestCase):
    """Keystone, Neutron and the channel API for a class's tests, and
    the engine's configuration (``cls.conf_file``, ``make_conf``).
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.plane.add_user(ENGINE_USER, 'service', ENGINE_ROLES)
        cls.api = channels_mod.ChannelAPI(cls.plane.workdir, cls.plane.logs,
                             cls.plane.keystone, cls.plane.neutron)
        cls.api.setup()
        cls.api.start(cls.plane.track)
        cls.projects = {
            user: cls.plane.keystone.token(user)[1]['token']['project']['id']
            for user in ('demo', 'other')}
        engine = dict(cls.plane.credentials(ENGINE_USER),
                      auth_type='password', region_name=keystone_mod.REGION,
                      valid_interfaces='public')
        cls.conf_file = service.write_conf(
            os.path.join(cls.plane.workdir, 'edge-enroll-worker.conf'),
            {'channel': engine,
             'credentials': dict(engine, domain='edge_hosts_%s'
                                 % cls.plane.id)})

    def make_conf(self, *modules):
        conf = cfg.ConfigOpts()
        for module in modules:
            module.register_opts(conf)
        conf(['--config-file', self.conf_file], project='edge-enroll',
             default_config_files=[])
        return conf

    def hardware(self, owner='demo', channels=None, **properties):
        """An enrolled host of ``owner``'s project, as the engine reads
        it (never saved: the workers only read it).
        """
        name = 'h-%s' % uuid.uuid4().hex[:8]
        props = dict(machine_name='rpi', contact_email='o@example.com',
                     **properties)
        if channels is not None:
            props['channels'] = channels
        return objects.Hardware(
            context_mod.get_admin_context(), uuid=str(uuid.uuid4()),
            name=name, project_id=self.projects[owner],
            hardware_type='device', properties=props, deleted=False)

    def channels_of(self, user='demo'):
        """The channels ``user`` sees, by name."""
        return {c['name']: c for c in
                self.api.client(user).get('/channels').json()['channels']}


class TuneloWorkerTest(WorkerServices):

    def setUp(self):
        super().setUp()
        conf = self.make_conf(tunelo.TuneloWorker)
        self.worker = tunelo.TuneloWorker(conf)
        self.ctx = context_mod.get_admin_context()

    def process(self, hw, details):
        result = self.worker.process(self.ctx, hw, [], details)
        self.assertIsInstance(result, worker_base.WorkerResult.Success)
        return result.payload

    def test_channels_owned_by_the_project_found_by_the_sdks_names(self):
        keys = {'control': new_key(), 'tenant': new_key()}
        hw = self.hardware(channels={
            role: {'channel_type': 'wireguard', 'public_key': key}
            for role, key in keys.items()})
        details = self.process(hw, {})
        seen = self.channels_of('demo')
        for role, key in keys.items():
            name = '%s-%s' % (hw.name, role)
            self.assertIn(name, seen)
            channel = seen[name]
            self.assertEqual(self.projects['demo'], channel['project_id'])
            self.assertEqual(key, channel['properties']['public_key'])
            self.assertEqual(channel['uuid'],
                             details['channels'][role]['uuid'])
            self.assertEqual(channel['properties']['ip'],
                             details['channels'][role]['ip'])
            # The spoke serves host <hardware name> (edge_bridge finds
            # the host's tenant channel by it).
            port = self.neutron.get('/ports/%s' % channel['uuid']).json()
            self.assertEqual(hw.name, port['port']['device_id'])
        self.assertNotIn('%s-control' % hw.name, self.channels_of('other'))
        # Run again, and again with the state lost (a run cut short
        # before the engine recorded it): the same channels, no more.
        self.assertEqual(details, self.process(hw, details))
        self.assertEqual(details, self.process(hw, {}))
        self.assertEqual(2, len([n for n in self.channels_of('demo')
                                 if n.startswith(hw.name + '-')]))

    def test_key_change_updates_and_a_dropped_role_is_deleted(self):
        hw = self.hardware(channels={
            'control': {'channel_type': 'wireguard',
                        'public_key': new_key()},
            'tenant': {'channel_type': 'wireguard',
                       'public_key': new_key()}})
        details = self.process(hw, {})
        key = new_key()
        hw.properties = dict(hw.properties, channels={
            'control': {'channel_type': 'wireguard', 'public_key': key}})
        after = self.process(hw, details)
        seen = self.channels_of('demo')
        control = seen['%s-control' % hw.name]
        self.assertEqual(key, control['properties']['public_key'])
        self.assertEqual(details['channels']['control']['uuid'],
                         control['uuid'])
        self.assertNotIn('%s-tenant' % hw.name, seen)
        self.assertEqual(['control'], sorted(after['channels']))

    def test_cleanup_deletes_every_channel_of_the_host(self):
        hw = self.hardware(channels={
            'control': {'channel_type': 'wireguard',
                        'public_key': new_key()},
            'tenant': {'channel_type': 'wireguard',
                       'public_key': new_key()}})
        details = self.process(hw, {})
        result = self.worker.cleanup(self.ctx, hw, details)
        self.assertIsInstance(result, worker_base.WorkerResult.Success)
        self.assertEqual({'channels': None}, result.payload)
        self.assertFalse([n for n in self.channels_of('demo')
                          if n.startswith(hw.name + '-')])
        # Again (the engine retries a cleanup cut short): nothing left
        # to do, no error.
        self.worker.cleanup(self.ctx, hw, details)

    def test_channel_api_down_is_unavailable_then_done_once(self):
        hw = self.hardware(channels={
            'control': {'channel_type': 'wireguard',
                        'public_key': new_key()}})
        self.api.process.stop()
        try:
            e = self.assertRaises(worker_base.Unavailable,
                                  self.worker.process, self.ctx, hw, [], {})
            self.assertIn('channel API', str(e))
        finally:
            self.api.restart(self.plane.track)
        details = self.process(hw, {})
        self.assertEqual(1, len([n for n in self.channels_of('demo')
                                 if n.startswith(hw.name + '-')]))
        self.assertIn('control', details['channels'])


class CredentialsWorkerTest(WorkerServices):

    def setUp(self):
        super().setUp()
        conf = self.make_conf(credentials.CredentialsWorker)
        self.worker = credentials.CredentialsWorker(conf)
        self.ctx = context_mod.get_admin_context()
        self.keystone = ks_adapter.Adapter(
            self.plane.session(), service_type='identity',
            interface='public', raise_exc=False)

    def process(self, hw, details):
        result = self.worker.process(self.ctx, hw, [], details)
        self.assertIsInstance(result, worker_base.WorkerResult.Success)
        return dict(details, **result.payload)

    def host_session(self, details):
        return ks_session.Session(auth=v3.ApplicationCredential(
            auth_url=self.plane.keystone.url,
            application_credential_id=details['application_credential_id'],
            application_credential_secret=details[
                credentials.SECRET]))

    def assertRevoked(self, details):
        # Keystone answers 404 for a credential it does not know.
        e = self.assertRaises(ks_exc.HttpError,
                              self.host_session(details).get_token)
        self.assertIn(e.http_status, (401, 404))

    def host_client(self, details, service_type):
        return ks_adapter.Adapter(self.host_session(details),
                                  service_type=service_type,
                                  interface='public', raise_exc=False)

    def test_credential_allows_its_rules_and_nothing_else(self):
        hw = self.hardware()
        details = self.process(hw, {})
        self.assertFalse(details['secret_revealed'])
        user = self.keystone.get('/users/%s' % details['user_id']).json()
        self.assertEqual('edge-%s' % hw.uuid, user['user']['name'])
        # Its roles: [credentials] roles, on the hardware's project only.
        assignments = self.keystone.get('/role_assignments', params={
            'user.id': details['user_id'], 'include_names': 1}
        ).json()['role_assignments']
        self.assertEqual([('member', self.projects['demo'])],
                         [(a['role']['name'], a['scope']['project']['id'])
                          for a in assignments])
        channel_api = self.host_client(details, 'channel')
        # A channel by its UUID passes the rules (none of that UUID).
        self.assertEqual(404, channel_api.get(
            '/channels/%s' % uuid.uuid4()).status_code)
        # Refused by the access rules: the project's list of channels
        # (other hosts' keys), another method, another service.
        self.assertEqual(401, channel_api.get('/channels').status_code)
        self.assertEqual(401, channel_api.post('/channels', json={
            'channel_type': 'wireguard',
            'properties': {'public_key': new_key()}}).status_code)
        network = self.host_client(details, 'network')
        self.assertEqual(401, network.get('/v2.0/ports').status_code)

    def test_same_credential_until_rotated_then_the_old_one_is_gone(self):
        hw = self.hardware()
        first = self.process(hw, {})
        # The API removes the secret once shown; nothing new is issued.
        shown = dict(first)
        del shown[credentials.SECRET]
        again = self.worker.process(self.ctx, hw, [], shown)
        self.assertEqual({}, again.payload)
        hw.properties = dict(hw.properties, rotate_credential='2026-12-02')
        second = self.process(hw, shown)
        self.assertNotEqual(first['application_credential_id'],
                            second['application_credential_id'])
        self.assertEqual(404, self.keystone.get(
            '/users/%s/application_credentials/%s' % (
                first['user_id'], first['application_credential_id'])
        ).status_code)
        self.assertTrue(self.host_session(second).get_token())
        self.assertRevoked(first)

    def test_cleanup_revokes_the_credential(self):
        hw = self.hardware()
        details = self.process(hw, {})
        self.assertTrue(self.host_session(details).get_token())
        result = self.worker.cleanup(self.ctx, hw, details)
        self.assertIsInstance(result, worker_base.WorkerResult.Success)
        self.assertEqual(404, self.keystone.get(
            '/users/%s' % details['user_id']).status_code)
        self.assertRevoked(details)
        # A cleanup without the state (cut short) finds nothing: done.
        self.worker.cleanup(self.ctx, hw, {})

    def test_keystone_down_is_unavailable_then_done_once(self):
        hw = self.hardware()
        self.plane.keystone.process.stop()
        try:
            e = self.assertRaises(worker_base.Unavailable,
                                  self.worker.process, self.ctx, hw, [], {})
            self.assertIn('Keystone', str(e))
        finally:
            self.plane.keystone.restart(self.plane.track)
        details = self.process(hw, {})
        users = self.keystone.get('/users', params={
            'name': 'edge-%s' % hw.uuid}).json()['users']
        self.assertEqual([details['user_id']], [u['id'] for u in users])
        creds = self.keystone.get('/users/%s/application_credentials'
                                  % details['user_id']).json()
        self.assertEqual(1, len(creds['application_credentials']))
