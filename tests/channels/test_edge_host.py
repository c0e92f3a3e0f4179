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

"""An edge host (``aio.edge.EdgeHost``) reaches the cloud's services only
through its control channel: Keystone, Placement and RabbitMQ, for
real, at the catalog's addresses, answer from inside its namespace
while the tunnel is up, and not while it is down; a real cyborg-agent
in the namespace reports its emulated peripherals to the conductor
through the tunnel, and they appear in Placement.

The real channel API (uWSGI, Keystone, Neutron), the real hub agent
with wireguard-go in the root namespace, and ``edge-sdk up`` in the
edge namespace.  Needs root, MariaDB, RabbitMQ, ``wg``,
``wireguard-go`` and ``iptables``.
"""

import json
import os
import socket
import subprocess
import time

import amqp
import requests

from aio import channels as channels_mod
from aio import cyborg as cyborg_mod
from aio import db as db_mod
from aio import edge as edge_mod
from aio import emulated as emulated_mod
from aio import rabbit
from tests.channels import base


CIDR = '10.234.0.0/24'
#: How long a probe may wait for an answer; a dead tunnel is "no
#: answer within this".
PROBE_TIMEOUT = 2.0
#: How soon the services must answer again once the tunnel is back.
RESTORE_SECONDS = 15.0


_wait = base.wait


def keystone_token(port, creds):
    """A token from Keystone at 127.0.0.1:``port`` (the catalog's)."""
    body = {'auth': {
        'identity': {'methods': ['password'], 'password': {'user': {
            'name': creds['username'], 'password': creds['password'],
            'domain': {'name': creds['user_domain_name']}}}},
        'scope': {'project': {'name': creds['project_name'], 'domain': {
            'name': creds['project_domain_name']}}}}}
    resp = requests.post('http://127.0.0.1:%d/v3/auth/tokens' % port,
                         json=body, timeout=PROBE_TIMEOUT)
    resp.raise_for_status()
    return resp.headers['X-Subject-Token']


def placement_providers(port, token):
    """Placement's resource providers at 127.0.0.1:``port``; the HTTP
    status if it refuses (an answer all the same).
    """
    resp = requests.get('http://127.0.0.1:%d/resource_providers' % port,
                        headers={'X-Auth-Token': token,
                                 'OpenStack-API-Version': 'placement 1.14'},
                        timeout=PROBE_TIMEOUT)
    if resp.status_code != 200:
        return resp.status_code
    return resp.json()['resource_providers']


def amqp_connect(vhost):
    """An AMQP connection to RabbitMQ at 127.0.0.1:5672, opened (login
    and virtual host) and closed; the server's product name.
    """
    conn = amqp.Connection(host='%s:%d' % (rabbit.HOST, rabbit.PORT),
                           userid='guest', password='guest',
                           virtual_host=vhost,
                           connect_timeout=PROBE_TIMEOUT,
                           read_timeout=PROBE_TIMEOUT,
                           write_timeout=PROBE_TIMEOUT)
    try:
        conn.connect()
        return conn.server_properties.get('product')
    finally:
        conn.collect()


def tcp_connect(address, port):
    with socket.create_connection((address, port), timeout=PROBE_TIMEOUT):
        return True


class EdgeHostTest(base.ChannelsTestCase):

    PLANE_OPTIONS = {'placement': True}

    @classmethod
    def setUpClass(cls):
        base.require_tools('wg', 'wireguard-go', 'iptables', 'nsenter')
        super().setUpClass()
        plane = cls.plane
        cls.api = channels_mod.ChannelAPI(
            plane.workdir, plane.logs, plane.keystone, plane.neutron,
            cidr=CIDR, hub_hosts=(edge_mod.HUB_HOST,),
            network='channels-edge')
        cls.api.setup()
        cls.api.start(plane.track)
        cls.start_root_hub_agent()
        cls.tunnelled = {'keystone': plane.keystone.port,
                         'placement': plane.placement.port,
                         'rabbitmq': rabbit.PORT}

    def setUp(self):
        super().setUp()
        self.figures = {}
        self.addCleanup(self._figures)
        names = (('edge-hub-agent.log', 'edge-channels-api.log') +
                 tuple('edge-sdk-%s.log' % n for n in ('one', 'gone', 'bad'))
                 + ('cyborg-conductor.log', 'cyborg-agent-cyb.log'))
        self.attach_on_failure(*(os.path.join(self.plane.logs, name)
                                 for name in names))

    def _figures(self):
        self.add_figures('edge host (%s)' % self.id(), self.figures)

    def edge_host(self, name, **kw):
        host = edge_mod.EdgeHost(name, self.plane.workdir, self.plane.logs,
                                 self.plane.keystone, self.api, self.hub,
                                 self.tunnelled, **kw)
        self.addCleanup(self._stop_edge, host)
        return host

    def _stop_edge(self, host):
        errors = host.stop()
        self.assertEqual([], errors)

    # -- what answers in the edge host ------------------------------------

    def probes(self, edge):
        """{service: None if it answered, else the error}, from inside
        ``edge``; each probe's seconds in ``self.last_probe``.
        """
        admin = self.plane.credentials('admin')
        keystone = self.plane.keystone.port
        placement = self.plane.placement.port
        results, seconds = {}, {}

        def probe(name, fn, *args):
            start = time.monotonic()
            try:
                value = edge.call(fn, *args)
                results[name] = None
            except (OSError, requests.RequestException,
                    amqp.exceptions.AMQPError) as e:
                value = None
                results[name] = e
            seconds[name] = round(time.monotonic() - start, 3)
            return value

        # Without a token, Placement's 401 is an answer all the same.
        token = probe('keystone', keystone_token, keystone, admin) or 'none'
        probe('placement', placement_providers, placement, token)
        probe('rabbitmq', amqp_connect, self.plane.vhost)
        self.last_probe = seconds
        return results

    def answering(self, edge):
        return not any(self.probes(edge).values())

    def rx_bytes(self, edge):
        return sum(int(peer[5]) for peer in edge.wireguard())

    # -- the proof ----------------------------------------------------------

    def test_services_only_through_the_tunnel(self):
        edge = self.edge_host('one')
        start = time.monotonic()
        edge.start()
        self.figures.update(edge.timings)
        self.figures['start_s'] = round(time.monotonic() - start, 3)
        self.figures['started_to_first_answers_s'] = _wait(
            'answers through the tunnel', lambda: self.answering(edge), 30)
        self.figures['start_to_first_answers_s'] = round(
            time.monotonic() - start, 3)
        self.figures['probe_up_s'] = dict(self.last_probe)

        # The answers came through the tunnel: its counters grew.
        before = self.rx_bytes(edge)
        self.assertTrue(self.answering(edge))
        self.assertGreater(self.rx_bytes(edge), before)
        # Keystone's token is a real one, for the admin.
        token = edge.call(keystone_token, self.plane.keystone.port,
                          self.plane.credentials('admin'))
        self.assertEqual([], edge.call(
            placement_providers, self.plane.placement.port, token))
        self.assertEqual('RabbitMQ', edge.call(amqp_connect,
                                               self.plane.vhost))

        # No other way in: the cloud's end of the underlay and the hub's
        # address give nothing but the tunnelled ports.
        for address, port in ((edge_mod.CLOUD_ADDRESS, rabbit.PORT),
                              (edge_mod.CLOUD_ADDRESS,
                               self.plane.placement.port),
                              (edge.hub_ip, self.plane.neutron.port)):
            self.assertRaises(OSError, edge.call, tcp_connect, address,
                              port)
        links = json.loads(edge.ns_run(['ip', '-j', 'link',
                                        'show']).stdout)
        self.assertEqual({'lo', 'underlay', edge.ifname},
                         {link['ifname'] for link in links})
        routes = json.loads(edge.ns_run(['ip', '-j', 'route',
                                         'show']).stdout)
        self.assertNotIn('default', [r['dst'] for r in routes])

        # The channel's interface down: nothing answers, at once.
        for link, figure in ((edge.ifname, 'channel_down'),
                             ('underlay', 'underlay_down')):
            edge.set_link(link, False)
            start = time.monotonic()
            results = self.probes(edge)
            self.figures[figure + '_detect_s'] = round(
                time.monotonic() - start, 3)
            self.figures[figure + '_probe_s'] = dict(self.last_probe)
            self.assertTrue(all(results.values()), results)
            edge.set_link(link, True)
            self.figures[figure + '_restore_s'] = _wait(
                'answers after %s is up again' % link,
                lambda: self.answering(edge), RESTORE_SECONDS)

    def test_stop_leaves_nothing(self):
        def ours(host):
            # The rules that name the edge host's chains, underlay or
            # address.
            text = subprocess.run(['iptables-save'], capture_output=True,
                                  text=True, check=True).stdout
            return [line for line in text.splitlines()
                    if host.tag in line or host.veth in line or
                    (host.address and host.address in line)]

        edge = self.edge_host('gone')
        edge.start()
        self.assertNotEqual([], ours(edge))
        hub_device = edge.hub_device
        path = '/proc/sys/net/ipv4/conf/%s/route_localnet' % hub_device
        with open(path) as f:
            self.assertEqual('1', f.read().strip())
        self.assertEqual([], edge.stop())
        self.assertNotIn(edge.ns, os.listdir('/run/netns'))
        self.assertNotIn(edge.veth, edge_mod._links())
        self.assertEqual([], ours(edge))
        self.assertEqual([], self.api.client('demo').get(
            '/channels').json()['channels'])
        # The last channel gone, the hub goes, with its interface.
        _wait('removal of the hub interface',
              lambda: hub_device not in edge_mod._links(), 10)

        # A start that fails half-way (the SDK refuses the channel name)
        # leaves nothing either.
        bad = self.edge_host('bad', channel='Not_A_Name')
        self.assertRaises(edge_mod.EdgeFailed, bad.start)
        self.assertNotIn(bad.ns, os.listdir('/run/netns'))
        self.assertNotIn(bad.veth, edge_mod._links())
        self.assertEqual([], ours(bad))

    def cyborg(self):
        """The cloud's Cyborg conductor (no API: the agent reports to the
        conductor, which writes to Placement).
        """
        plane = self.plane
        url = db_mod.Databases('sqlite', plane.id, plane.workdir).create(
            'cyborg', plane.setup_log)
        cyborg = cyborg_mod.Cyborg(
            plane.workdir, plane.logs, url, 'sqlite', plane.keystone,
            plane.transport_url, 'cloud-host',
            os.path.join(plane.workdir, 'cdi'), 5)
        self.addCleanup(cyborg.stop)
        cyborg.setup()
        cyborg.start_conductor(plane.track)
        return cyborg

    def test_cyborg_agent_reports_through_the_tunnel(self):
        cyborg = self.cyborg()
        edge = self.edge_host('cyb')
        edge.start()
        placement = self.plane.placement.client()
        # zun-compute makes the host's provider on a full compute host.
        placement.post('/resource_providers', json={'name': edge.name})
        host_rp = placement.get('/resource_providers?name=%s' % edge.name
                                ).json()['resource_providers'][0]['uuid']
        self.addCleanup(self._delete_tree, placement, host_rp)
        kit = emulated_mod.edge_kit(
            emulated_mod.NODE_DIRS + '%s-%s' % (self.plane.id, edge.tag),
            pool=emulated_mod.BackingPool())
        start = time.monotonic()
        edge.start_cyborg_agent(cyborg, kit)
        self.figures['agent_start_to_ping_s'] = round(
            time.monotonic() - start, 3)
        # The agent runs in the edge host.
        with open('/proc/%d/ns/net' % edge.cyborg_agent.pid) as f:
            self.assertEqual(os.fstat(f.fileno()).st_ino,
                             os.stat(edge.ns_path).st_ino)

        def devices():
            found = placement.get('/resource_providers?in_tree=%s'
                                  % host_rp).json()['resource_providers']
            return [rp for rp in found if rp['uuid'] != host_rp]

        _wait('device providers in Placement',
              lambda: len(devices()) == len(kit.devices), 120)
        self.figures['agent_start_to_providers_s'] = round(
            time.monotonic() - start, 3)
        self.assertEqual(len(kit.devices), len(devices()))

        # Its RPC goes through the tunnel: with the tunnel down it no
        # longer answers a ping; it does again once the tunnel is up.
        edge.set_link(edge.ifname, False)
        self.assertFalse(cyborg._pinged('cyborg-agent', edge.name))
        edge.set_link(edge.ifname, True)
        self.figures['tunnel_up_to_agent_ping_s'] = _wait(
            'the agent answering again',
            lambda: cyborg._pinged('cyborg-agent', edge.name), 60)

    @staticmethod
    def _delete_tree(placement, root):
        found = placement.get('/resource_providers?in_tree=%s'
                              % root).json()['resource_providers']
        # Children first.
        for rp in sorted(found, key=lambda rp: rp['uuid'] == root):
            placement.delete('/resource_providers/%s' % rp['uuid'],
                             raise_exc=False)
