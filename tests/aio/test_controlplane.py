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

"""aio.controlplane: what it starts answers, and nothing of it stays.

Real Keystone on MariaDB with a RabbitMQ virtual host; a user and a
catalog entry added once it runs, as a new service's fixture adds its
own; then ``stop()`` must leave no process, database, virtual host or
work directory.  A Neutron that cannot start (an unknown mechanism
driver) must leave nothing either, but its logs.  Needs MariaDB and
RabbitMQ (tools/start-services).
"""

import os
import shutil
import subprocess

import requests
import testtools
from keystoneauth1 import adapter

from aio import controlplane
from aio import service


def _vhosts():
    out = subprocess.run(['rabbitmqctl', 'list_vhosts', '-q'],
                         capture_output=True, text=True, check=True).stdout
    return set(out.split())


def _databases(plane_id):
    out = subprocess.run(['mariadb', '--host=127.0.0.1', '--user=root',
                          '-N', '-e', 'SHOW DATABASES'],
                         capture_output=True, text=True, check=True).stdout
    return {name for name in out.split()
            if name.startswith('aio_%s_' % plane_id)}


def _groups_alive(pgids):
    return {int(fields[2]) for _pid, fields in service.process_stats()
            if fields[0] != 'Z' and int(fields[2]) in pgids}


class ControlPlaneTest(testtools.TestCase):

    def _start(self, plane):
        self.addCleanup(plane.stop)
        return plane.start()

    def test_added_user_and_endpoint_then_nothing_left(self):
        plane = self._start(controlplane.ControlPlane(
            'cptest', db='mariadb', rabbit=True))
        self.assertIn(plane.vhost, _vhosts())
        self.assertEqual({'aio_%s_keystone' % plane.id},
                         _databases(plane.id))
        self.assertTrue(plane.transport_url.endswith('/' + plane.vhost))
        creds = plane.add_user('channel', roles=('service',))
        self.assertEqual('service', creds['project_name'])
        plane.add_endpoint('channel', 'edge-channels',
                           'http://127.0.0.1:9/channels')
        session = plane.session('channel')
        found = adapter.Adapter(session, service_type='channel',
                                interface='public').get_endpoint()
        self.assertEqual('http://127.0.0.1:9/channels', found)
        _token, body = plane.keystone.token('channel')
        self.assertEqual(['service'],
                         [r['name'] for r in body['token']['roles']])
        pgids = {p.pid for p in plane.processes}
        self.assertEqual(1, len(pgids))
        url, workdir = plane.keystone.url, plane.workdir

        self.assertEqual([], plane.stop())
        self.assertEqual(set(), _groups_alive(pgids))
        self.assertRaises(requests.ConnectionError, requests.get, url,
                          timeout=5)
        self.assertNotIn('cp-cptest-%s' % plane.id, _vhosts())
        self.assertEqual(set(), _databases(plane.id))
        self.assertFalse(os.path.exists(workdir))
        # Stopping again finds nothing to do.
        self.assertEqual([], plane.stop())

    def test_failed_start_removes_all_but_the_logs(self):
        messages = []
        plane = controlplane.ControlPlane(
            'cptest', neutron=True, mechanism_drivers=('no_such_driver',),
            progress=messages.append)
        self.addCleanup(lambda: shutil.rmtree(plane.workdir or '/nonexistent',
                                              ignore_errors=True))
        error = self.assertRaises(service.ServiceFailed, plane.start)
        self.assertEqual(plane.neutron.log, error.log)
        with open(error.log) as f:
            self.assertIn('no_such_driver', f.read())
        self.assertEqual([], plane.processes)
        self.assertNotIn('cp-cptest-%s' % plane.id, _vhosts())
        self.assertEqual(set(), _databases(plane.id))
        stopped = {int(m.rsplit(' ', 1)[1].rstrip(')')) for m in messages
                   if m.startswith('stopping ')}
        # Keystone stopped; Neutron's uWSGI exited on its own.
        self.assertTrue([m for m in messages
                         if m.startswith('stopping keystone ')], messages)
        self.assertEqual(set(), _groups_alive(stopped))
        self.assertIsNone(plane.neutron.process.popen)
