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

"""The enrollment API and a real worker (``edge-enroll-worker`` running
the credentials worker) on real Keystone, RabbitMQ and MariaDB, driven
by the real python-doniclient: the states the client shows, the secret
shown once, the clean-up after a delete.
"""

import json
import time

from keystoneauth1 import adapter as ks_adapter
from testtools import content

from aio import service
from tests.enroll import base


class EnrollWorkerTest(base.EnrollTestCase):

    START_WORKER = True
    SERVICE_GROUPS = ('credentials',)

    @staticmethod
    def SECTIONS(cls):  # noqa: N802 (a class attribute the base calls)
        return {'credentials': {'domain': 'edge_hosts_%s' % cls.plane.id}}

    def wait_for(self, what, predicate, timeout=120):
        try:
            return service.wait_for(what, predicate, timeout, 0.5)
        except TimeoutError as e:
            self.fail('%s (read %s)' % (e, self.enroll.worker_log))

    def steady_row(self, uuid):
        """The host's row of ``hardware list --long`` once its task is
        STEADY.
        """
        long = json.loads(self.hw('list', '--long', '-f', 'json').stdout)
        [row] = [r for r in long if r['UUID'] == uuid]
        return row if row['credentials'] == 'STEADY' else None

    def keystone_user_exists(self, name):
        """Whether Keystone has a user ``name`` (in any domain)."""
        admin = ks_adapter.Adapter(self.plane.session('admin'),
                                   service_type='identity',
                                   interface='public')
        return bool(admin.get('/users', params={'name': name}).json()[
            'users'])

    def test_secret_shown_once_and_revoked_on_delete(self):
        start = time.monotonic()
        hw = self.enroll_host()
        row = self.wait_for('STEADY credentials task',
                            lambda: self.steady_row(hw['uuid']))
        self.addDetail('enroll-to-steady', self._seconds(start))
        self.assertEqual('-', row['credentials last error'])
        # The first read by the owner after the credential exists (the
        # show after the create, if the worker was that quick, or this
        # list) shows the secret; every later one does not.
        revealed = [w['state_details'] for w in hw['workers'] + row[
            'Workers'] if 'application_credential_secret' in
            w['state_details']]
        [details] = revealed
        secret = details['application_credential_secret']
        self.assertNotEqual('******', secret)
        self.assertTrue(details['secret_revealed'])
        for user in ('demo', 'demo2'):
            [worker] = self.show(hw['uuid'], user=user)['workers']
            self.assertNotIn(secret, json.dumps(worker))
            self.assertTrue(worker['state_details']['secret_revealed'])
        user = 'edge-%s' % hw['uuid']
        self.assertTrue(self.keystone_user_exists(user))
        self.hw('delete', hw['uuid'])
        self.wait_for('the host user removed',
                      lambda: not self.keystone_user_exists(user))
        admin = self.enroll.client('admin')
        self.wait_for('the hardware gone', lambda: admin.get(
            '/v1/hardware/%s/' % hw['uuid']).status_code == 404)

    @staticmethod
    def _seconds(start):
        return content.text_content('%.1f s' % (time.monotonic() - start))
