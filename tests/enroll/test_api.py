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

"""The enrollment API under uWSGI on real Keystone, RabbitMQ and
MariaDB, driven by the real python-doniclient (``openstack hardware``).

The worker does not run here (tests/enroll/test_api_worker.py runs it):
the tasks stay PENDING, which ``hardware list --long`` shows.
"""

import json

import requests

from tests.enroll import base


class EnrollAPITest(base.EnrollTestCase):

    # -- the life of a hardware item --------------------------------------

    def test_create_list_show_with_the_client(self):
        hw = self.enroll_host()
        self.assertEqual('device', hw['hardware_type'])
        self.assertEqual('owner@example.org',
                         hw['properties']['contact_email'])
        listed = json.loads(self.hw('list', '-f', 'json').stdout)
        self.assertIn(hw['name'], [r['Name'] for r in listed
                                   if r['UUID'] == hw['uuid']])
        long = json.loads(self.hw('list', '--long', '-f', 'json').stdout)
        [row] = [r for r in long if r['UUID'] == hw['uuid']]
        # One column per worker with its state (no worker runs here).
        self.assertEqual('PENDING', row['credentials'])
        self.assertEqual('-', row['credentials last error'])
        self.assertEqual({'machine_name', 'contact_email', 'channels'},
                         set(row['Properties']))
        # Another member of the project sees it too; by name as well.
        self.assertEqual(hw['uuid'], self.show(hw['name'],
                                               user='demo2')['uuid'])

    def test_another_project_gets_404_everywhere(self):
        hw = self.enroll_host()
        other = self.enroll.client('other')
        path = '/v1/hardware/%s/' % hw['uuid']
        for method, suffix, body in (
                ('GET', '', None), ('DELETE', '', None),
                ('PATCH', '', [{'op': 'add', 'path': '/name',
                                'value': 'mine'}]),
                ('POST', 'sync', None), ('GET', 'availability', None)):
            resp = other.request(path + suffix, method, json=body)
            self.assertEqual(404, resp.status_code, resp.text)
            self.assertIn('openstack hardware list', resp.json()['error'])
        for args in (('show', hw['uuid']), ('delete', hw['uuid']),
                     ('set', hw['uuid'], '--hardware_type', 'device',
                      '--contact-email', 'thief@example.org')):
            self.hw(*args, user='other', ok=False)
        self.assertEqual([], json.loads(self.hw(
            'list', '-f', 'json', user='other').stdout))
        self.assertEqual(hw['properties'], self.show(hw['uuid'])[
            'properties'])
        # The admin sees it in every project's list.
        listed = self.enroll.client('admin').get(
            '/v1/hardware/?all_projects=1').json()['hardware']
        self.assertIn(hw['uuid'], [h['uuid'] for h in listed])

    def test_export_shows_public_fields_without_a_token(self):
        hw = self.enroll_host()
        resp = requests.get(self.enroll.url + '/v1/hardware/export/',
                            timeout=30)
        self.assertEqual(200, resp.status_code, resp.text)
        [exported] = [h for h in resp.json()['hardware']
                      if h['uuid'] == hw['uuid']]
        self.assertEqual({'machine_name': 'raspberrypi4-64'},
                         exported['properties'])
        self.assertNotIn('workers', exported)
        # Everything else needs a token.
        resp = requests.get(self.enroll.url + '/v1/hardware/', timeout=30)
        self.assertEqual(401, resp.status_code)
        self.assertIn('X-Auth-Token', resp.json()['error'])

    def test_set_and_unset_are_validated_again(self):
        hw = self.enroll_host()
        bad = self.hw('set', hw['uuid'], '--hardware_type', 'device',
                      '--contact-email', 'not-an-email', ok=False)
        self.assertIn('contact_email', bad.stderr)
        bad = self.hw('unset', hw['uuid'], '--hardware_type', 'device',
                      '--machine-name', ok=False)
        self.assertIn("'machine_name' is a required property", bad.stderr)
        bad = self.hw('set', hw['uuid'], '--hardware_type', 'device',
                      '--channels', json.dumps({'control': {
                          'channel_type': 'wireguard',
                          'public_key': 'not-a-key'}}), ok=False)
        self.assertIn('wg pubkey', bad.stderr)
        self.assertEqual(hw['properties'], self.show(hw['uuid'])[
            'properties'])
        self.hw('set', hw['uuid'], '--hardware_type', 'device',
                '--contact-email', 'new@example.org')
        self.hw('unset', hw['uuid'], '--hardware_type', 'device',
                '--channels')
        props = self.show(hw['uuid'])['properties']
        self.assertEqual('new@example.org', props['contact_email'])
        self.assertNotIn('channels', props)

    def test_a_reader_cannot_enroll(self):
        result = self.hw('create', '--hardware_type', 'device', '--name',
                         'edge-reader', '--machine-name', 'pi',
                         '--contact-email', 'r@example.org',
                         user='watcher', ok=False)
        self.assertIn('hardware:create', result.stderr)

    def test_sync_and_delete(self):
        hw = self.enroll_host()
        self.hw('sync', hw['uuid'])
        self.hw('delete', hw['uuid'])
        self.hw('show', hw['uuid'], ok=False)
        self.assertNotIn(hw['uuid'], [h['UUID'] for h in json.loads(
            self.hw('list', '-f', 'json').stdout)])
        # The name is free again: it was the host's, the host is gone.
        self.hw('create', '--hardware_type', 'device', '--name',
                hw['name'], '--machine-name', 'pi', '--contact-email',
                'o@example.org')


