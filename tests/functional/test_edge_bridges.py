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

"""The host program that kuryr-lib runs, on real interfaces.

Each test runs it as kuryr-lib does (a separate process, kuryr-lib's
arguments) inside a network namespace of its own, with its own
iptables: nothing here touches the host's interfaces.  Needs root.
"""

import concurrent.futures
import json
import secrets
import subprocess
import sys
import uuid

import fixtures
import testtools
from kuryr.lib import utils as kuryr_utils

from edge_channels import naming


PREFIX = 'etest-'


class Namespace(fixtures.Fixture):
    """A network namespace, removed with all it holds."""

    def _setUp(self):
        self.name = 'cp-edge-%s' % secrets.token_hex(4)
        subprocess.run(['ip', 'netns', 'add', self.name], check=True)
        self.addCleanup(subprocess.run, ['ip', 'netns', 'delete', self.name],
                        check=True)

    def run(self, *argv, check=True):
        return subprocess.run(['ip', 'netns', 'exec', self.name] +
                              list(argv), capture_output=True, text=True,
                              check=check)

    def links(self):
        """{name: master name or None} of the namespace's interfaces."""
        found = json.loads(self.run('ip', '-j', 'link', 'show').stdout)
        return {link['ifname']: link.get('master') for link in found}

    def forward_rules(self):
        return [line for line in
                self.run('iptables', '-w', '-S', 'FORWARD').stdout.splitlines()
                if line.startswith('-A')]


class BindingProgramTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.ns = self.useFixture(Namespace())
        self.lock_dir = self.useFixture(fixtures.TempDir()).path
        self.network = str(uuid.uuid4())
        self.bridge = naming.bridge_name(self.network, PREFIX)
        self.details = kuryr_utils.string_mappings(
            {'bridge_name': self.bridge, 'port_filter': False})

    def veth(self, n):
        """A veth pair as kuryr-lib makes it: ``tap<port>`` stays on the
        host, its peer goes to the container.
        """
        host = 'tap%011d' % n
        self.ns.run('ip', 'link', 'add', host, 'type', 'veth', 'peer',
                    'name', 't_c%011d' % n)
        return host

    def vif(self, command, ifname, check=True):
        args = {'bind': [ifname, 'endpoint', 'fa:16:3e:00:00:01',
                         self.network, 'project', self.details],
                'unbind': [ifname, 'endpoint', 'fa:16:3e:00:00:01',
                           self.details, self.network]}[command]
        return self.ns.run(sys.executable, '-m', 'edge_channels.host.vif',
                           '--prefix', PREFIX, '--lock-dir', self.lock_dir,
                           command, 'port-%s' % ifname, *args, check=check)

    def test_bridge_lives_while_it_has_ports(self):
        one, two = self.veth(1), self.veth(2)
        self.vif('bind', one)
        self.vif('bind', two)
        links = self.ns.links()
        self.assertEqual(self.bridge, links[one])
        self.assertEqual(self.bridge, links[two])
        self.assertEqual(1, len(self.ns.forward_rules()))
        self.assertIn('-i %s -o %s' % (self.bridge, self.bridge),
                      self.ns.forward_rules()[0])
        self.vif('unbind', one)
        links = self.ns.links()
        self.assertIsNone(links[one])
        self.assertIn(self.bridge, links)
        self.vif('unbind', two)
        self.assertNotIn(self.bridge, self.ns.links())
        self.assertEqual([], self.ns.forward_rules())

    def test_missing_interface_is_a_clear_error(self):
        result = self.vif('bind', 'tap-missing', check=False)
        self.assertEqual(1, result.returncode)
        self.assertIn('no interface tap-missing', result.stderr)

    def test_port_joining_as_the_last_leaves_keeps_its_bridge(self):
        # The bridge goes with its last port; a port binding at that
        # moment must end up on a bridge, not on one just removed.
        leaving = self.veth(0)
        self.vif('bind', leaving)
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            for n in range(1, 6):
                joining = self.veth(n)
                results = list(pool.map(
                    lambda call: self.vif(*call, check=False),
                    [('unbind', leaving), ('bind', joining)]))
                self.assertEqual([0, 0], [r.returncode for r in results],
                                 [r.stderr for r in results])
                self.assertEqual(self.bridge, self.ns.links()[joining])
                leaving = joining
        self.vif('unbind', leaving)
        self.assertNotIn(self.bridge, self.ns.links())

    def test_remove_all_takes_bridges_ports_and_rules(self):
        other = naming.bridge_name(str(uuid.uuid4()), PREFIX)
        foreign = naming.bridge_name(str(uuid.uuid4()), 'eother-')
        self.vif('bind', self.veth(1))
        self.details = kuryr_utils.string_mappings({'bridge_name': other})
        self.vif('bind', self.veth(2))
        self.details = kuryr_utils.string_mappings({'bridge_name': foreign})
        self.ns.run(sys.executable, '-m', 'edge_channels.host.vif',
                    '--prefix', 'eother-', '--lock-dir', self.lock_dir,
                    'bind', 'p', self.veth(3), 'e', 'm', self.network, 'p',
                    self.details)
        code = ('import json, sys; from edge_channels.host import bridges; '
                'print(json.dumps(bridges.Bridges(%r, %r).remove_all()))'
                % (PREFIX, self.lock_dir))
        removed = json.loads(self.ns.run(sys.executable, '-c', code).stdout)
        self.assertIn(self.bridge, removed)
        self.assertIn(other, removed)
        links = self.ns.links()
        for gone in (self.bridge, other, 'tap%011d' % 1, 'tap%011d' % 2):
            self.assertNotIn(gone, links)
        # Another deployment's bridge, port and rule stay.
        self.assertEqual(foreign, links['tap%011d' % 3])
        (rule,) = self.ns.forward_rules()
        self.assertIn(foreign, rule)
