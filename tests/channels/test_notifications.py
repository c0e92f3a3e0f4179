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

"""The contract the hub agent relies on: Neutron of the control plane
tells the plane's virtual host of each port created, updated and
deleted through its REST API, with the port in the payload.
"""

from tests.channels import base


class PortNotificationsTest(base.ChannelsTestCase):

    def test_port_changes_are_notified(self):
        events = self.useFixture(base.PortEvents(self.plane))
        net = self.plane.neutron.ensure_network('notified', '10.99.0.0/24')
        demo = self.plane.neutron.client('demo')
        port = demo.post('/ports', json={'port': {
            'network_id': net['id'], 'name': 'spoke'}}).json()['port']
        payload = events.wait_for('port.create.end', port['id'])
        self.assertEqual(port['project_id'], payload['port']['project_id'])
        self.assertEqual(port['fixed_ips'], payload['port']['fixed_ips'])
        demo.put('/ports/%s' % port['id'],
                 json={'port': {'name': 'renamed'}})
        payload = events.wait_for('port.update.end', port['id'])
        self.assertEqual('renamed', payload['port']['name'])
        demo.delete('/ports/%s' % port['id'])
        payload = events.wait_for('port.delete.end', port['id'])
        self.assertEqual(port['id'], payload['port_id'])
