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

"""The overlay's vif_details on the host side, and who the hub's relay
lets into a VNI.
"""

import uuid

import testtools
from hypothesis import given
from hypothesis import strategies as st

from edge_channels import channel
from edge_channels.host import overlay as host_overlay
from edge_channels.hub import overlay as hub_overlay


def _details(vni, local='10.241.0.2', remote='10.241.0.1'):
    return {'bridge_name': 'ebr-0123456789a', 'vxlan_vni': vni,
            'vxlan_local': local, 'vxlan_remote': remote}


class DetailsTest(testtools.TestCase):

    def test_bridge_only_port_has_no_overlay(self):
        self.assertIsNone(host_overlay.from_details(
            {'bridge_name': 'ebr-0123456789a'}))

    @given(st.integers(1, host_overlay.VNI_MAX))
    def test_valid_vni(self, vni):
        self.assertEqual((vni, '10.241.0.2', '10.241.0.1'),
                         host_overlay.from_details(_details(vni)))

    @given(st.one_of(st.integers(max_value=0),
                     st.integers(min_value=host_overlay.VNI_MAX + 1),
                     st.booleans(), st.text(), st.floats()))
    def test_bad_vni(self, vni):
        self.assertRaises(ValueError, host_overlay.from_details,
                          _details(vni))

    def test_bad_addresses(self):
        for local, remote in (('x', '10.0.0.1'), ('10.0.0.1', None),
                              ('10.0.0.1', 'fd00::1')):
            self.assertRaises(ValueError, host_overlay.from_details,
                              _details(7, local, remote))

    @given(st.text(alphabet='0123456789abcdef', min_size=15, max_size=15))
    def test_device_name_fits_linux(self, digits):
        name = host_overlay.device_name('ebr-' + digits[4:])
        self.assertLessEqual(len(name), 15)
        self.assertTrue(name.startswith(host_overlay.DEVICE_PREFIX))


def _port(ip, project='p', **kw):
    return dict({'id': str(uuid.uuid4()), 'project_id': project,
                 'fixed_ips': [{'ip_address': ip}]}, **kw)


class PlanTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.hub = _port('10.241.0.1',
                         device_owner=channel.DEVICE_OWNER_HUB)
        self.spokes = [
            _port(ip, device_owner=channel.DEVICE_OWNER_SPOKE,
                  **{'binding:profile': {'peers': [self.hub['id']]}})
            for ip in ('10.241.0.2', '10.241.0.3')]

    def bound(self, local, vni=42, project='p', remote='10.241.0.1'):
        return _port('10.250.0.9', project=project, **{
            'binding:vif_type': 'bridge',
            'binding:vif_details': _details(vni, local, remote)})

    def test_members_of_a_vni(self):
        ports = [self.bound('10.241.0.2'), self.bound('10.241.0.3'),
                 self.bound('10.241.0.3', vni=43)]
        self.assertEqual({42: {'10.241.0.2', '10.241.0.3'},
                          43: {'10.241.0.3'}},
                         hub_overlay.plan([self.hub], self.spokes, ports))

    def test_who_does_not_belong(self):
        ports = [
            # Another project's port naming this project's spoke.
            self.bound('10.241.0.2', project='q'),
            # An address that is no spoke of the hub (deleted spoke).
            self.bound('10.241.0.9'),
            # Another hub host's hub.
            self.bound('10.241.0.2', remote='10.241.0.100'),
            # Not bound by edge_bridge, or broken details.
            dict(self.bound('10.241.0.2'), **{'binding:vif_type': 'ovs'}),
            dict(self.bound('10.241.0.2'),
                 **{'binding:vif_details': _details(0)}),
        ]
        self.assertEqual({}, hub_overlay.plan([self.hub], self.spokes,
                                              ports))

    def test_no_hub_no_relay(self):
        self.assertEqual({}, hub_overlay.plan(
            [], self.spokes, [self.bound('10.241.0.2')]))

    def test_admission_rules_as_iptables_prints_them(self):
        # The chain is rewritten only when these differ from -S.
        self.assertEqual(
            ['-s 10.241.0.2/32 -p udp -m u32 --u32 '
             '"0x0>>0x16&0x3c@0xc>>0x8=0x1092" -j ACCEPT', '-j DROP'],
            hub_overlay.Relay._canonical({4242: {'10.241.0.2'}}))
