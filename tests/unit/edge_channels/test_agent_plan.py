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

"""The hub agent's plan: Neutron's ports -> the interface it wants,
and the fewest operations from what the interface has.
"""

import base64
import uuid

import fixtures
import testtools
from hypothesis import given
from hypothesis import strategies as st

from edge_channels import channel
from edge_channels import wg
from edge_channels.agent import plan


KEYS = st.binary(min_size=32, max_size=32).map(
    lambda b: base64.b64encode(b).decode())
HOSTS = st.integers(1, 254).map(lambda i: '10.9.0.%d/32' % i)
PEERS = st.dictionaries(KEYS, st.frozensets(HOSTS, min_size=1, max_size=3),
                        max_size=12)
STATES = st.builds(plan.Actual, addresses=st.frozensets(HOSTS, max_size=2),
                   peers=PEERS, routes=st.frozensets(HOSTS, max_size=8))


ENDPOINTS = st.builds('192.0.2.{}:{}'.format, st.integers(1, 254),
                      st.integers(1, 65535))


def _desired(state, endpoints=None):
    return plan.Desired(state.addresses, state.peers, state.routes,
                        endpoints or {})


def _port(owner, ips, **profile):
    return {'id': str(uuid.uuid4()), 'device_owner': owner,
            'fixed_ips': [{'ip_address': ip} for ip in ips],
            'binding:profile': profile}


def _key():
    return base64.b64encode(uuid.uuid4().bytes * 2).decode()


class PlanTest(testtools.TestCase):

    @given(STATES, STATES)
    def test_applying_the_plan_gives_what_is_wanted(self, want, have):
        after = plan.apply_to(have, plan.plan(_desired(want), have))
        self.assertEqual(want.addresses, after.addresses)
        self.assertEqual(want.peers, after.peers)
        self.assertEqual(want.routes, after.routes)

    @given(STATES)
    def test_nothing_to_do_when_it_matches(self, state):
        self.assertEqual([], plan.plan(_desired(state), state))

    @given(STATES, STATES)
    def test_the_plan_is_minimal(self, want, have):
        ops = plan.plan(_desired(want), have)
        # Each operation changes something, and only once.
        self.assertEqual(len(ops), len(set(op[:2] for op in ops)))
        for op in ops:
            if op[0] == plan.PEER_SET:
                self.assertNotEqual(have.peers.get(op[1]), frozenset(op[2]))
            elif op[0] == plan.PEER_REMOVE:
                self.assertIn(op[1], have.peers)
                self.assertNotIn(op[1], want.peers)
        self.assertEqual(
            len(set(want.peers) ^ set(have.peers)) +
            sum(1 for k in set(want.peers) & set(have.peers)
                if want.peers[k] != have.peers[k]) +
            len(want.routes ^ have.routes) +
            len(want.addresses ^ have.addresses), len(ops))

    @given(STATES, KEYS, st.frozensets(HOSTS, min_size=1, max_size=2))
    def test_one_added_spoke_touches_only_its_peer(self, state, key, ips):
        if key in state.peers:
            return
        peers = dict(state.peers, **{key: ips})
        want = plan.Desired(state.addresses, peers,
                            state.routes | ips, {})
        ops = plan.plan(want, state)
        self.assertEqual([(plan.PEER_SET, key, tuple(sorted(ips)), None)],
                         [op for op in ops if op[0] != plan.ROUTE_ADD])
        self.assertEqual(sorted(ips - state.routes),
                         [op[1] for op in ops if op[0] == plan.ROUTE_ADD])

    @given(STATES)
    def test_operations_come_in_order(self, state):
        ops = plan.plan(plan.Desired(frozenset(), {}, frozenset(), {}),
                        state)
        ranks = [plan.ORDER.index(op[0]) for op in ops]
        self.assertEqual(sorted(ranks), ranks)

    @given(STATES, STATES, st.data())
    def test_only_new_peers_get_an_endpoint(self, want, have, data):
        endpoints = data.draw(st.dictionaries(
            st.sampled_from(sorted(want.peers) or ['-']), ENDPOINTS))
        for op in plan.plan(_desired(want, endpoints), have):
            if op[0] != plan.PEER_SET:
                continue
            if op[1] in have.peers:
                # WireGuard follows a device that roams; a kept
                # endpoint would only send it back where it was.
                self.assertIsNone(op[3])
            else:
                self.assertEqual(endpoints.get(op[1]), op[3])


class DesiredTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.logger = self.useFixture(fixtures.FakeLogger())
        self.hub = _port(channel.DEVICE_OWNER_HUB, ['10.9.0.1'])

    def _spoke(self, ips, key=None, peers=None):
        return _port(channel.DEVICE_OWNER_SPOKE, ips,
                     public_key=key or _key(),
                     peers=peers or [self.hub['id']])

    def test_hub_address_and_one_peer_per_spoke(self):
        one = self._spoke(['10.9.0.5'])
        two = self._spoke(['10.9.0.6', 'fd00::6'])
        want = plan.desired(self.hub, [one, two])
        self.assertEqual({'10.9.0.1/32'}, want.addresses)
        self.assertEqual(
            {one['binding:profile']['public_key']: {'10.9.0.5/32'},
             two['binding:profile']['public_key']:
             {'10.9.0.6/32', 'fd00::6/128'}}, want.peers)
        self.assertEqual({'10.9.0.5/32', '10.9.0.6/32', 'fd00::6/128'},
                         want.routes)

    def test_spokes_of_other_hubs_and_other_ports_are_not_peers(self):
        mine = self._spoke(['10.9.0.5'])
        other = self._spoke(['10.9.0.7'], peers=[str(uuid.uuid4())])
        vm = _port('compute:nova', ['10.9.0.8'])
        self.assertEqual([mine], plan.spokes_of(
            self.hub['id'], [mine, other, vm, self.hub]))

    def test_bad_spokes_are_skipped_and_logged(self):
        good = self._spoke(['10.9.0.5'])
        bad_key = self._spoke(['10.9.0.6'], key='bm90IGEga2V5')
        no_ip = self._spoke([])
        hubs_key = self._spoke(['10.9.0.7'], key=_key())
        want = plan.desired(self.hub, [good, bad_key, no_ip, hubs_key],
                            hub_public_key=hubs_key['binding:profile'][
                                'public_key'])
        self.assertEqual([good['binding:profile']['public_key']],
                         list(want.peers))
        for spoke in (bad_key, no_ip, hubs_key):
            self.assertIn(spoke['id'], self.logger.output)

    def test_endpoints_learned_first_then_declared(self):
        heard = self._spoke(['10.9.0.5'])
        declared = self._spoke(['10.9.0.6'])
        declared['binding:profile']['endpoint'] = '198.51.100.6:51820'
        both = self._spoke(['10.9.0.7'])
        both['binding:profile']['endpoint'] = '198.51.100.7:51820'
        bad = self._spoke(['10.9.0.8'])
        bad['binding:profile']['endpoint'] = 'device.example:51820'
        unknown = self._spoke(['10.9.0.9'])
        key = {s['id']: s['binding:profile']['public_key']
               for s in (heard, declared, both, bad, unknown)}
        want = plan.desired(self.hub, [heard, declared, both, bad,
                                       unknown])
        self.assertEqual({key[declared['id']]: '198.51.100.6:51820',
                          key[both['id']]: '198.51.100.7:51820'},
                         want.endpoints)
        gone = _key()
        learned = {key[heard['id']]: '203.0.113.5:40000',
                   key[both['id']]: '[2001:db8::7]:40001',
                   gone: '203.0.113.9:40000'}
        want = plan.with_learned(want, learned)
        self.assertEqual({key[heard['id']]: '203.0.113.5:40000',
                          key[declared['id']]: '198.51.100.6:51820',
                          key[both['id']]: '[2001:db8::7]:40001'},
                         want.endpoints)

    def test_learned_endpoints_seen_now_else_kept(self):
        moved, quiet, new, gone = (_key() for _ in range(4))
        kept = {moved: '203.0.113.1:1000', quiet: '203.0.113.2:2000',
                gone: '203.0.113.4:4000', new: 'not an endpoint'}
        seen = {moved: '203.0.113.9:9000', quiet: None, new: None,
                gone: '203.0.113.4:4000'}
        self.assertEqual(
            {moved: '203.0.113.9:9000', quiet: '203.0.113.2:2000'},
            plan.learned_endpoints(kept, seen, {moved, quiet, new}))
        # wg shows IPv6 endpoints as the validator spells them.
        self.assertEqual({new: '[fd00::1]:51820'}, plan.learned_endpoints(
            {}, {new: '[FD00::1]:51820'}, {new}))

    def test_spokes_sharing_a_key_share_a_peer(self):
        key = _key()
        one = self._spoke(['10.9.0.5'], key=key)
        two = self._spoke(['10.9.0.6'], key=key)
        want = plan.desired(self.hub, [one, two])
        self.assertEqual({key: {'10.9.0.5/32', '10.9.0.6/32'}}, want.peers)


class ParseDumpTest(testtools.TestCase):
    """``wg show dump`` as the agent reads it (the interface's state)."""

    def test_interface_and_peers(self):
        keys = [_key() for _ in range(4)]
        text = '\n'.join([
            '\t'.join([keys[0], keys[1], '51900', 'off']),
            '\t'.join([keys[2], '(none)', '192.0.2.7:40001',
                       '10.9.0.5/32,fd00::5/128', '1764668000', '92',
                       '180', 'off']),
            '\t'.join([keys[3], '(none)', '(none)', '(none)', '0', '0',
                       '0', 'off']),
        ]) + '\n'
        private, public, port, peers = wg.parse_dump(text)
        self.assertEqual((keys[0], keys[1], 51900), (private, public, port))
        self.assertEqual({
            keys[2]: {'allowed_ips': ['10.9.0.5/32', 'fd00::5/128'],
                      'endpoint': '192.0.2.7:40001',
                      'latest_handshake': 1764668000, 'rx_bytes': 92,
                      'tx_bytes': 180, 'keepalive': 0},
            keys[3]: {'allowed_ips': [], 'endpoint': None,
                      'latest_handshake': 0, 'rx_bytes': 0, 'tx_bytes': 0,
                      'keepalive': 0}}, peers)
