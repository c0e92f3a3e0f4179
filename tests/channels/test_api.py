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

"""The channel API under uWSGI, on real Keystone and Neutron.

Every request goes through the catalog (service type ``channel``) with
a real token; what the API did is checked in Neutron as the admin.
"""

import base64
import ipaddress
import os
from concurrent import futures

import requests
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from aio import channels as channels_mod
from edge_channels import channel
from tests.channels import base


#: A user with only the service role, as a service such as Doni that
#: creates channels for the projects of the devices it enrols.
ENROLLER = 'channel-enroller'
HUB_HOSTS = ('hub-1', 'hub-2')
#: A second channel subnet, on a network of its own.
SECOND = ('channels-second', '10.98.0.0/24')
CHANNEL_KEYS = {'uuid', 'name', 'project_id', 'channel_type', 'status',
                'properties', 'peers'}


def new_key():
    return base64.b64encode(os.urandom(32)).decode()


class ChannelAPITest(base.ChannelsTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.plane.add_user(ENROLLER, 'service', ('service',))
        second = cls.plane.neutron.ensure_network(*SECOND, shared=False)
        cls.api = channels_mod.ChannelAPI(cls.plane.workdir, cls.plane.logs,
                                          cls.plane.keystone,
                                          cls.plane.neutron,
                                          hub_hosts=HUB_HOSTS,
                                          extra_subnets=second['subnets'])
        cls.api.setup()
        cls.api.start(cls.plane.track)
        cls.cidr = ipaddress.ip_network(cls.api.subnet['cidr'])
        cls.projects = {
            user: cls.plane.keystone.token(user)[1]['token']['project']['id']
            for user in ('demo', 'other', ENROLLER)}
        cls.clients = {user: cls.api.client(user)
                       for user in ('admin', 'demo', 'other', ENROLLER)}

    def setUp(self):
        super().setUp()
        self.addCleanup(self._remove_channel_ports)
        self.assertEqual([], self.channel_ports())

    # -- helpers --------------------------------------------------------

    def channel_ports(self):
        """Every channel port in Neutron (admin's view)."""
        ports = self.neutron.get('/ports').json()['ports']
        return [p for p in ports if channel.is_channel_port(
            p['device_owner'])]

    def _remove_channel_ports(self):
        for port in self.channel_ports():
            self.neutron.delete('/ports/%s' % port['id'])

    def port(self, port_id):
        return self.neutron.get('/ports/%s' % port_id).json()['port']

    def create(self, user='demo', expect=201, **body):
        body.setdefault('channel_type', 'wireguard')
        body.setdefault('properties', {'public_key': new_key()})
        resp = self.clients[user].post('/channels', json=body)
        self.assertEqual(expect, resp.status_code, resp.text)
        return resp.json()

    def assertError(self, resp, status, *words):
        self.assertEqual(status, resp.status_code, resp.text)
        body = resp.json()
        self.assertEqual(['error'], list(body))
        for word in words:
            self.assertIn(word, body['error'])

    def assertNothingInNeutron(self):
        self.assertEqual([], self.channel_ports())

    # -- the life of a channel --------------------------------------------

    def test_create_show_list_update_delete(self):
        key = new_key()
        created = self.create(name='cam-1', properties={
            'public_key': key, 'endpoint': '192.0.2.7:51820'})
        self.assertEqual(CHANNEL_KEYS, set(created))
        self.assertEqual('cam-1', created['name'])
        self.assertEqual('wireguard', created['channel_type'])
        # The project is the token's: the body named none.
        self.assertEqual(self.projects['demo'], created['project_id'])
        self.assertEqual({'public_key', 'endpoint', 'ip'},
                         set(created['properties']))
        self.assertEqual(key, created['properties']['public_key'])
        self.assertEqual('192.0.2.7:51820',
                         created['properties']['endpoint'])
        self.assertIn(ipaddress.ip_address(created['properties']['ip']),
                      self.cidr)
        [peer] = created['peers']
        self.assertEqual({'uuid', 'status', 'properties'}, set(peer))
        self.assertEqual({'public_key', 'endpoint', 'ip', 'subnet'},
                         set(peer['properties']))
        self.assertEqual(str(self.cidr), peer['properties']['subnet'])
        # No hub agent here: the hub has not reported a key yet.
        self.assertIsNone(peer['properties']['public_key'])

        spoke = self.port(created['uuid'])
        hub = self.port(peer['uuid'])
        self.assertEqual(channel.DEVICE_OWNER_SPOKE, spoke['device_owner'])
        self.assertEqual({'public_key': key, 'endpoint': '192.0.2.7:51820',
                          'peers': [hub['id']]}, spoke['binding:profile'])
        self.assertEqual(channel.DEVICE_OWNER_HUB, hub['device_owner'])
        self.assertEqual(self.projects['demo'], hub['project_id'])
        self.assertEqual(HUB_HOSTS[0], hub['binding:host_id'])
        self.assertEqual(peer['properties']['ip'],
                         hub['fixed_ips'][0]['ip_address'])

        demo = self.clients['demo']
        shown = demo.get('/channels/%s' % created['uuid'])
        self.assertEqual(200, shown.status_code)
        self.assertEqual(created, shown.json())
        listed = demo.get('/channels')
        self.assertEqual(200, listed.status_code)
        self.assertEqual({'channels': [created]}, listed.json())

        new = new_key()
        patched = demo.patch('/channels/%s' % created['uuid'], json={
            'name': 'cam-one', 'properties': {'public_key': new}})
        self.assertEqual(200, patched.status_code, patched.text)
        self.assertEqual('cam-one', patched.json()['name'])
        self.assertEqual(new, patched.json()['properties']['public_key'])
        self.assertEqual('192.0.2.7:51820',
                         patched.json()['properties']['endpoint'])
        # The peers stay (Chameleon's update dropped them).
        self.assertEqual([hub['id']], self.port(
            created['uuid'])['binding:profile']['peers'])
        self.assertEqual(created['peers'], patched.json()['peers'])

        put = demo.put('/channels/%s' % created['uuid'], json={
            'properties': {'endpoint': None}})
        self.assertEqual(200, put.status_code, put.text)
        self.assertIsNone(put.json()['properties']['endpoint'])
        self.assertEqual({'public_key': new, 'peers': [hub['id']]},
                         self.port(created['uuid'])['binding:profile'])

        deleted = demo.delete('/channels/%s' % created['uuid'])
        self.assertEqual(204, deleted.status_code)
        self.assertEqual(b'', deleted.content)
        self.assertError(demo.get('/channels/%s' % created['uuid']), 404,
                         'not found')
        self.assertError(demo.delete('/channels/%s' % created['uuid']),
                         404)
        self.assertEqual({'channels': []}, demo.get('/channels').json())
        # The last channel took its hub with it.
        self.assertNothingInNeutron()

    def test_channels_of_a_project_share_one_hub(self):
        first = self.create()
        second = self.create()
        self.assertEqual(first['peers'][0]['uuid'],
                         second['peers'][0]['uuid'])
        addresses = {first['properties']['ip'], second['properties']['ip'],
                     first['peers'][0]['properties']['ip']}
        self.assertEqual(3, len(addresses), 'Neutron IPAM: one each')
        # Another project gets its own hub on the same subnet.
        third = self.create('other')
        self.assertNotEqual(first['peers'][0]['uuid'],
                            third['peers'][0]['uuid'])
        self.assertEqual(5, len(self.channel_ports()))

        demo = self.clients['demo']
        self.assertEqual(204, demo.delete(
            '/channels/%s' % first['uuid']).status_code)
        hub = self.port(second['peers'][0]['uuid'])
        self.assertEqual(channel.DEVICE_OWNER_HUB, hub['device_owner'])
        self.assertEqual(204, demo.delete(
            '/channels/%s' % second['uuid']).status_code)
        self.assertEqual({third['uuid'], third['peers'][0]['uuid']},
                         {p['id'] for p in self.channel_ports()})
        self.assertEqual(204, self.clients['other'].delete(
            '/channels/%s' % third['uuid']).status_code)
        self.assertNothingInNeutron()

    def test_hubs_spread_over_the_hub_hosts(self):
        first = self.create('demo')
        second = self.create('other')
        hosts = {self.port(c['peers'][0]['uuid'])['binding:host_id']
                 for c in (first, second)}
        self.assertEqual(set(HUB_HOSTS), hosts)
        self.clients['demo'].delete('/channels/%s' % first['uuid'])
        self.clients['other'].delete('/channels/%s' % second['uuid'])
        self.assertNothingInNeutron()

    def test_concurrent_creates_and_deletes_share_one_hub(self):
        count = 6

        def create(_):
            client = self.api.client('other')
            return client.post('/channels', json={
                'channel_type': 'wireguard',
                'properties': {'public_key': new_key()}})

        with futures.ThreadPoolExecutor(count) as pool:
            answers = list(pool.map(create, range(count)))
        self.assertEqual([201] * count, [r.status_code for r in answers],
                         [r.text for r in answers])
        made = [r.json() for r in answers]
        self.assertEqual(1, len({c['peers'][0]['uuid'] for c in made}))
        self.assertEqual(count, len({c['properties']['ip'] for c in made}))
        self.assertEqual(count + 1, len(self.channel_ports()))

        def delete(created):
            client = self.api.client('other')
            return client.delete('/channels/%s' % created['uuid'])

        with futures.ThreadPoolExecutor(count) as pool:
            answers = list(pool.map(delete, made))
        self.assertEqual([204] * count, [r.status_code for r in answers])
        self.assertNothingInNeutron()

    def test_the_subnet_by_cidr_name_or_address(self):
        ip = ipaddress.ip_address
        second = ipaddress.ip_network(SECOND[1])
        by_cidr = self.create(subnet=SECOND[1])
        by_name = self.create(subnet=SECOND[0])
        by_address = self.create(channel_address=str(second[9]))
        default = self.create()
        for made in (by_cidr, by_name, by_address):
            self.assertIn(ip(made['properties']['ip']), second)
            self.assertEqual(SECOND[1],
                             made['peers'][0]['properties']['subnet'])
        self.assertEqual(str(second[9]), by_address['properties']['ip'])
        self.assertIn(ip(default['properties']['ip']), self.cidr)
        # One hub per subnet and project.
        self.assertEqual(1, len({c['peers'][0]['uuid']
                                 for c in (by_cidr, by_name, by_address)}))
        self.assertNotEqual(by_cidr['peers'][0]['uuid'],
                            default['peers'][0]['uuid'])
        for made in (by_cidr, by_name, by_address, default):
            self.assertEqual(204, self.clients['demo'].delete(
                '/channels/%s' % made['uuid']).status_code)
        self.assertNothingInNeutron()

    def test_channel_address_given(self):
        address = str(self.cidr[50])
        created = self.create(channel_address=address,
                              subnet=str(self.cidr))
        self.assertEqual(address, created['properties']['ip'])
        self.assertEqual(204, self.clients['demo'].delete(
            '/channels/%s' % created['uuid']).status_code)
        self.assertNothingInNeutron()

    # -- hostile and faulty requests --------------------------------------

    def test_address_in_use_is_409_and_leaves_no_hub(self):
        address = str(self.cidr[60])
        created = self.create(channel_address=address)
        ports = self.channel_ports()
        # Same project: its hub stays, nothing else is made.
        resp = self.clients['demo'].post('/channels', json={
            'channel_type': 'wireguard', 'channel_address': address,
            'properties': {'public_key': new_key()}})
        self.assertError(resp, 409, address, 'in use')
        self.assertEqual(sorted(p['id'] for p in ports),
                         sorted(p['id'] for p in self.channel_ports()))
        # Another project: the hub made for the request goes again.
        resp = self.clients['other'].post('/channels', json={
            'channel_type': 'wireguard', 'channel_address': address,
            'properties': {'public_key': new_key()}})
        self.assertError(resp, 409, 'in use')
        self.assertEqual(sorted(p['id'] for p in ports),
                         sorted(p['id'] for p in self.channel_ports()))
        self.clients['demo'].delete('/channels/%s' % created['uuid'])
        self.assertNothingInNeutron()

    def test_bad_requests_are_400_and_make_nothing(self):
        key = new_key()
        cases = [
            ({'properties': {'public_key': 'abc'}}, 'exactly 32 bytes'),
            ({'properties': {'public_key': base64.b64encode(
                b'k' * 31).decode()}}, 'exactly 32 bytes'),
            ({'properties': {'public_key': key, 'endpoint': '192.0.2.1'}},
             '[IPv6]:port'),
            ({'properties': {'public_key': key,
                             'endpoint': '192.0.2.1:70000'}}, '65535'),
            ({'properties': {'public_key': key,
                             'endpoint': 'hub.example:1'}}, '[IPv6]:port'),
            ({'properties': {'public_key': key}, 'peers': []},
             "unknown keys in the request body: 'peers'"),
            ({'properties': {'public_key': key, 'peers': ['x']}},
             "'peers'"),
            ({'properties': {}}, 'public_key'),
            ({'properties': {'public_key': key},
              'channel_type': 'ipsec'}, 'wireguard'),
            ({'properties': {'public_key': key},
              'subnet': '192.168.77.0/24'}, 'not a channel subnet'),
            ({'properties': {'public_key': key},
              'channel_address': '192.168.77.5',
              'subnet': str(self.cidr)}, 'is not in subnet'),
            ({'properties': {'public_key': key},
              'channel_address': 'ten'}, 'not an IP address'),
            ({'properties': {'public_key': key}, 'name': 7}, '"name"'),
        ]
        demo = self.clients['demo']
        for body, words in cases:
            body.setdefault('channel_type', 'wireguard')
            self.assertError(demo.post('/channels', json=body), 400, words)
        self.assertError(demo.post('/channels', data=b'{not json',
                                   headers={'Content-Type':
                                            'application/json'}),
                         400, 'JSON')
        self.assertError(demo.post('/channels', json=['a']), 400, 'object')
        self.assertNothingInNeutron()
        created = self.create()
        for body, words in (({'properties': {'public_key': 'x'}},
                             '32 bytes'),
                            ({'properties': {'endpoint': '::1:5'}},
                             '[IPv6]:port'),
                            ({'properties': {'peers': []}}, 'unknown'),
                            ({'project_id': 'x'}, 'unknown'),
                            ({}, 'nothing to change')):
            self.assertError(demo.patch('/channels/%s' % created['uuid'],
                                        json=body), 400, words)
        self.assertEqual(created, demo.get(
            '/channels/%s' % created['uuid']).json())

    @settings(max_examples=15, deadline=None)
    @given(key=st.one_of(
        st.text(max_size=50),
        st.binary(max_size=40).filter(lambda b: len(b) != 32).map(
            lambda b: base64.b64encode(b).decode())))
    def test_any_malformed_key_is_refused(self, key):
        resp = self.clients['demo'].post('/channels', json={
            'channel_type': 'wireguard', 'properties': {'public_key': key}})
        self.assertError(resp, 400, 'Public key')
        self.assertNothingInNeutron()

    # -- who may do what ----------------------------------------------------

    def test_other_projects_channels_are_not_found(self):
        created = self.create()
        other = self.clients['other']
        path = '/channels/%s' % created['uuid']
        self.assertError(other.get(path), 404, created['uuid'])
        self.assertError(other.patch(path, json={'name': 'mine'}), 404)
        self.assertError(other.put(path, json={'name': 'mine'}), 404)
        self.assertError(other.delete(path), 404)
        self.assertEqual({'channels': []}, other.get('/channels').json())
        # A hub's ID is no channel either, even to its owner.
        hub_path = '/channels/%s' % created['peers'][0]['uuid']
        self.assertError(self.clients['demo'].get(hub_path), 404)
        # Still there, unchanged.
        self.assertEqual(created, self.clients['demo'].get(path).json())
        # The admin sees it, and every project's with all_projects.
        self.assertEqual(200, self.clients['admin'].get(path).status_code)
        everyone = self.clients['admin'].get('/channels?all_projects=1')
        self.assertEqual([created['uuid']],
                         [c['uuid'] for c in everyone.json()['channels']])
        self.assertError(other.get('/channels?all_projects=1'), 403,
                         'channel:list:all_projects')
        self.assertError(other.get('/channels?all_projects=maybe'), 400)
        self.assertError(other.get('/channels?limit=1'), 400, "'limit'")
        self.assertEqual(204, self.clients['demo'].delete(path).status_code)
        self.assertNothingInNeutron()

    def test_acting_for_another_project_needs_the_service_role(self):
        demo_project = self.projects['demo']
        resp = self.clients['other'].post('/channels', json={
            'channel_type': 'wireguard', 'project_id': demo_project,
            'properties': {'public_key': new_key()}})
        self.assertError(resp, 403, 'channel:create:project_id')
        self.assertNothingInNeutron()
        created = self.create(ENROLLER, project_id=demo_project)
        self.assertEqual(demo_project, created['project_id'])
        self.assertEqual(demo_project,
                         self.port(created['peers'][0]['uuid'])['project_id'])
        # The enroller keeps it up for its owner: shows it, changes its
        # key (a device's key rotation, relayed).
        enroller = self.clients[ENROLLER]
        path = '/channels/%s' % created['uuid']
        self.assertEqual(created['uuid'], enroller.get(path).json()['uuid'])
        key = new_key()
        resp = enroller.patch(path, json={'properties': {'public_key': key}})
        self.assertEqual(key, resp.json()['properties']['public_key'])
        # The project's members see and manage it.
        demo = self.clients['demo']
        self.assertEqual([created['uuid']], [
            c['uuid'] for c in demo.get('/channels').json()['channels']])
        self.assertEqual(204, demo.delete(
            '/channels/%s' % created['uuid']).status_code)
        self.assertNothingInNeutron()

    def test_no_token_or_a_bad_one_is_401(self):
        url = self.api.url + '/channels'
        for headers in ({}, {'X-Auth-Token': 'not-a-token'}):
            resp = requests.get(url, headers=headers, timeout=30)
            self.assertError(resp, 401, 'X-Auth-Token')
            resp = requests.post(url, headers=headers, timeout=30, json={
                'channel_type': 'wireguard',
                'properties': {'public_key': new_key()}})
            self.assertError(resp, 401)
        self.assertNothingInNeutron()

    def test_paths_and_methods(self):
        demo = self.clients['demo']
        self.assertError(demo.get('/hubs'), 404, '/channels')
        self.assertError(demo.get('/channels/not-a-uuid'), 404)
        resp = demo.delete('/channels')
        self.assertError(resp, 405, 'GET, POST')
        self.assertEqual('GET, POST', resp.headers['Allow'])
        self.assertEqual(200, requests.get(self.api.url,
                                           timeout=30).status_code)
