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

"""``edge-sdk register`` against the real enrollment service (API and
worker with the tunelo and credentials workers), Keystone, Neutron and
the channel API: the device enrolls with its owner's password once,
then reads its channels with nothing but the credential it stored, and
that credential can do nothing else.

No hub agent runs: bringing the tunnels up is the end-to-end suite's
(tests/channels/test_sdk_e2e.py, aio's edge mode).
"""

import json
import os
import stat
import subprocess
import time
import uuid

import fixtures
from keystoneauth1 import adapter as ks_adapter

from aio import channels as channels_mod
from aio import db as aio_db
from aio import enroll as enroll_mod
from aio import keystone as keystone_mod
from aio import service
from edge_sdk import client as client_mod
from edge_sdk import enrollment
from edge_sdk import keys
from edge_sdk import sync
from tests.channels import base
from tests.enroll import base as enroll_base


class SdkRegisterTest(base.ChannelsTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.api = channels_mod.ChannelAPI(cls.plane.workdir, cls.plane.logs,
                                          cls.plane.keystone,
                                          cls.plane.neutron)
        cls.api.setup()
        cls.api.start(cls.plane.track)
        dbs = aio_db.Databases('mariadb', cls.plane.id, cls.plane.workdir)
        cls.plane.databases.append(dbs.name('edge_enroll'))
        db_url = dbs.create('edge_enroll', cls.plane.setup_log)
        cls.enroll = enroll_mod.Enroll(
            cls.plane.workdir, cls.plane.logs, cls.plane.keystone,
            cls.plane.transport_url, db_url,
            worker_types=('tunelo', 'credentials'),
            service_groups=('channel', 'credentials'),
            sections={'credentials': {'domain': 'edge_hosts_%s'
                                                % cls.plane.id}})
        cls.enroll.setup()
        cls.enroll.start(cls.plane.track)
        cls.enroll.start_worker(cls.plane.track)

    def setUp(self):
        super().setUp()
        self.work = self.useFixture(fixtures.TempDir()).path
        self.state = os.path.join(self.work, 'state')
        self.name = 'sdk-%s' % uuid.uuid4().hex[:8]
        self.conf = os.path.join(self.work, 'edge-sdk.conf')
        with open(self.conf, 'w') as f:
            f.write('[edge_sdk]\ndevice_name = %s\nchannels = control,'
                    'tenant\n' % self.name)
        self.log = os.path.join(self.work, 'edge-sdk.log')
        self.attach_on_failure(self.log, self.enroll.worker_log,
                               self.enroll.log)
        self.addCleanup(self._delete_hardware)
        self.owner = self.enroll.client('demo')

    def _delete_hardware(self):
        self.enroll.client('admin').delete('/v1/hardware/%s/' % self.name)

    def sdk(self, *args, owner=True, ok=True):
        """``edge-sdk ARGS``; with ``owner``, the demo user's ``OS_*``
        password, else no ``OS_*`` variable at all.
        """
        env = {k: v for k, v in os.environ.items()
               if not k.startswith('OS_')}
        if owner:
            env.update(self.plane.keystone.cli_env('demo'),
                       OS_REGION_NAME=keystone_mod.REGION)
        proc = subprocess.run(
            [service.bin_path('edge-sdk'), '--config-file', self.conf,
             '--state-dir', self.state, '--log-file', self.log]
            + list(args), env=env, capture_output=True, text=True,
            timeout=300, check=False)
        if ok:
            self.assertEqual(0, proc.returncode, proc.stderr)
        else:
            self.assertNotEqual(0, proc.returncode, proc.stdout)
        return proc

    def register(self, *extra, ok=True):
        proc = self.sdk('register', '--machine-name', 'raspberrypi4-64',
                        '--contact-email', 'owner@example.org', '--json',
                        *extra, ok=ok)
        return json.loads(proc.stdout) if ok else proc

    def show(self, ident):
        resp = self.owner.get('/v1/hardware/%s/' % ident)
        self.assertEqual(200, resp.status_code, resp.text)
        return resp.json()

    def of_name(self):
        return [hw for hw in self.owner.get('/v1/hardware/').json()[
            'hardware'] if hw['name'] == self.name]

    def public_keys(self):
        return {role: keys.ensure_key(self.state, role)[1]
                for role in ('control', 'tenant')}

    def host_adapter(self, service_type):
        record = enrollment.read_credential(self.state)
        return ks_adapter.Adapter(
            enrollment.credential_session(record),
            service_type=service_type, interface='public',
            region_name=keystone_mod.REGION, raise_exc=False)

    def test_register_then_only_the_stored_credential(self):
        start = time.monotonic()
        result = self.register()
        figures = {'register_s': round(time.monotonic() - start, 3)}
        hw = self.show(self.name)
        self.assertEqual(result['hardware_uuid'], hw['uuid'])
        self.assertEqual('device', hw['hardware_type'])
        self.assertEqual(
            {role: {'channel_type': 'wireguard', 'public_key': key}
             for role, key in self.public_keys().items()},
            hw['properties']['channels'])
        states = {w['worker_type']: w for w in hw['workers']}
        self.assertEqual('STEADY', states['tunelo']['state'])
        self.assertEqual('STEADY', states['credentials']['state'])
        # The SDK read the secret; the owner no longer sees it.
        details = states['credentials']['state_details']
        self.assertTrue(details['secret_revealed'])
        self.assertEqual(details['application_credential_id'],
                         result['application_credential_id'])
        record = enrollment.read_credential(self.state)
        self.assertNotIn(record['application_credential_secret'],
                         json.dumps(hw))
        path = result['credential_file']
        self.assertEqual(os.path.join(self.state, 'credential.json'), path)
        self.assertEqual(0o600, stat.S_IMODE(os.stat(path).st_mode))
        self.assertEqual(0o700, stat.S_IMODE(os.stat(self.state).st_mode))
        self.assertEqual(hw['uuid'], record['hardware_uuid'])
        # Without any OS_* variable: the stored credential, the channels
        # through the hardware item.
        status = json.loads(self.sdk('status', '--json',
                                     owner=False).stdout)
        keys_now = self.public_keys()
        for role in ('control', 'tenant'):
            channel = status[role]['channel']
            self.assertEqual(result['channels'][role], channel['uuid'])
            self.assertEqual('%s-%s' % (self.name, role), channel['name'])
            self.assertEqual(keys_now[role],
                             channel['properties']['public_key'])
        self.assert_nothing_else(hw['uuid'])
        # Again: the same item, credential and channels; no duplicate.
        start = time.monotonic()
        again = self.register()
        figures['register_again_s'] = round(time.monotonic() - start, 3)
        self.add_figures('edge-sdk register', figures)
        self.assertEqual(result, again)
        self.assertEqual(1, len(self.of_name()))
        channels = self.api.client('demo').get('/channels').json()[
            'channels']
        self.assertEqual(2, len([c for c in channels if c['name'].startswith(
            self.name + '-')]))

    def assert_nothing_else(self, own_uuid):
        """The stored credential reads its own item and channels and is
        refused everything else.
        """
        other = self.owner.post('/v1/hardware/', json={
            'name': 'sdk-other-%s' % uuid.uuid4().hex[:6],
            'hardware_type': 'device', 'properties': {
                'machine_name': 'x', 'contact_email': 'o@example.org'}})
        self.assertEqual(201, other.status_code, other.text)
        other_uuid = other.json()['uuid']
        self.addCleanup(self.enroll.client('admin').delete,
                        '/v1/hardware/%s/' % other_uuid)
        inventory = self.host_adapter('inventory')
        self.assertEqual(200, inventory.get(
            '/v1/hardware/%s/' % own_uuid).status_code)
        refused = [
            inventory.get('/v1/hardware/'),
            inventory.get('/v1/hardware/%s/' % other_uuid),
            inventory.post('/v1/hardware/', json={
                'name': 'sdk-x', 'hardware_type': 'device',
                'properties': {'machine_name': 'x',
                               'contact_email': 'o@example.org'}}),
            inventory.delete('/v1/hardware/%s/' % own_uuid),
            inventory.post('/v1/hardware/%s/sync' % own_uuid),
            self.host_adapter('channel').post('/channels', json={
                'channel_type': 'wireguard',
                'properties': {'public_key': enroll_base.new_key()}}),
            self.host_adapter('network').get('/v2.0/ports'),
        ]
        self.assertEqual([401] * len(refused),
                         [r.status_code for r in refused])
        # Its own channels' keys cannot be changed but through the item.
        control = self.show(own_uuid)['workers']
        [tunelo] = [w for w in control if w['worker_type'] == 'tunelo']
        channel_id = tunelo['state_details']['channels']['control']['uuid']
        self.assertEqual(401, self.host_adapter('channel').patch(
            '/channels/%s' % channel_id, json={'properties': {
                'public_key': enroll_base.new_key()}}).status_code)

    def test_a_new_key_goes_through_the_hardware_item(self):
        self.register()
        record = enrollment.read_credential(self.state)
        session = enrollment.credential_session(record)
        source = enrollment.EnrolledChannels(
            enrollment.HardwareClient(client_mod.make_adapter(
                session=session, region_name=keystone_mod.REGION,
                service_type='inventory')),
            client_mod.ChannelClient(client_mod.make_adapter(
                session=session, region_name=keystone_mod.REGION)),
            record['hardware_uuid'])
        settings = sync.Settings(self.state, device_name=self.name)
        before = source.current(settings, 'control')
        key = sync.new_key(self.state, 'control')
        channel = source.set_key(settings, 'control', True, key, wait=60)
        self.assertEqual(before['uuid'], channel['uuid'])
        self.assertEqual(key, channel['properties']['public_key'])
        # The item says so too: a later run of its worker keeps it.
        self.assertEqual(key, self.show(self.name)['properties'][
            'channels']['control']['public_key'])

    def test_secret_read_elsewhere_then_rotated(self):
        # The owner enrolled the host by hand with other keys, and read
        # the secret (the show after STEADY).
        channels = {role: {'channel_type': 'wireguard',
                           'public_key': enroll_base.new_key()}
                    for role in ('control',)}
        created = self.owner.post('/v1/hardware/', json={
            'name': self.name, 'hardware_type': 'device',
            'properties': {'machine_name': 'rpi',
                           'contact_email': 'o@example.org',
                           'channels': channels}})
        self.assertEqual(201, created.status_code, created.text)
        base.wait('STEADY credentials', lambda: all(
            w['state'] == 'STEADY' for w in self.show(self.name)['workers']),
            120, interval=0.5)
        proc = self.register(ok=False)
        self.assertIn('--take-over', proc.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.state,
                                                     'credential.json')))
        proc = self.register('--take-over', ok=False)
        self.assertIn('rotate_credential', proc.stderr)
        self.assertIn('--rotate-credential', proc.stderr)
        hw = self.show(self.name)
        old = [w for w in hw['workers'] if w['worker_type'] ==
               'credentials'][0]['state_details']['application_credential_id']
        result = self.register('--rotate-credential')
        self.assertEqual(created.json()['uuid'], result['hardware_uuid'])
        self.assertNotEqual(old, result['application_credential_id'])
        self.assertEqual(self.public_keys()['control'], self.show(
            self.name)['properties']['channels']['control']['public_key'])
        status = json.loads(self.sdk('status', '--json',
                                     owner=False).stdout)
        self.assertEqual(self.public_keys()['tenant'], status['tenant'][
            'channel']['properties']['public_key'])
