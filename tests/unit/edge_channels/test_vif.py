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

"""The binding program reads what kuryr-lib passes it."""

import testtools
from kuryr.lib import utils as kuryr_utils

from edge_channels.host import vif


class VifDetailsTest(testtools.TestCase):

    def test_what_kuryr_lib_passes(self):
        details = {'bridge_name': 'ebr-0123456789a', 'port_filter': False,
                   'connectivity': 'l2', 'bound_drivers': {'0': 'edge'}}
        # kuryr-lib's own formatting of binding:vif_details.
        self.assertEqual(details,
                         vif.vif_details(kuryr_utils.string_mappings(details)))

    def test_no_details(self):
        self.assertEqual({}, vif.vif_details(''))
        self.assertEqual({}, vif.vif_details('""'))

    def test_not_a_dict(self):
        for text in ('"[1, 2]"', '"__import__(\'os\')"', '"{"'):
            self.assertRaises(ValueError, vif.vif_details, text)

    def test_port_not_bound_by_edge_bridge_is_refused(self):
        # An unbound port's details name no bridge: nothing is touched.
        status = vif.main(['--prefix', 'ebr-', '--lock-dir', '/nonexistent',
                           'bind', 'port', 'tap0', 'ep', 'fa:16:3e:0:0:1',
                           'net', 'project', '"{}"'])
        self.assertEqual(1, status)

    def test_bridge_of_another_deployment_is_refused(self):
        details = kuryr_utils.string_mappings(
            {'bridge_name': 'other0123456789'})
        status = vif.main(['--prefix', 'ebr-', '--lock-dir', '/nonexistent',
                           'unbind', 'port', 'tap0', 'ep', 'fa:16:3e:0:0:1',
                           details, 'net'])
        self.assertEqual(1, status)
