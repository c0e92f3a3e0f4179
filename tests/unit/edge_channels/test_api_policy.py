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

import uuid
from importlib import metadata

import testtools
from oslo_config import cfg
from oslo_context import context as oslo_context

from edge_channels import exception
from edge_channels.api import policy


#: Members of the channel's project, admins, and the service role that
#: made the channel for its owner.
MANAGED_RULES = ('channel:get', 'channel:update', 'channel:delete')
OWNER_RULES = ('channel:list', 'channel:create') + MANAGED_RULES
ACTING_RULES = ('channel:list:all_projects', 'channel:create:project_id')


def ctx(project, *roles):
    return oslo_context.RequestContext(project_id=project,
                                       roles=list(roles))


class PolicyTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        conf = cfg.ConfigOpts()
        conf([], default_config_files=[])
        policy.get_enforcer(conf)
        self.addCleanup(policy.reset)
        self.mine = uuid.uuid4().hex
        self.theirs = uuid.uuid4().hex

    def test_the_rules_of_the_design(self):
        rules = {r.name: r.check_str for r in policy.list_rules()}
        self.assertEqual(set(OWNER_RULES + ACTING_RULES), set(rules))
        for name in ('channel:list', 'channel:create'):
            self.assertEqual('role:admin or project_id:%(project_id)s',
                             rules[name])
        for name in MANAGED_RULES:
            self.assertEqual('role:admin or role:service or '
                             'project_id:%(project_id)s', rules[name])
        for name in ACTING_RULES:
            self.assertEqual('role:admin or role:service', rules[name])

    def test_entry_point_lists_them(self):
        [ep] = [ep for ep in metadata.entry_points(
            group='oslo.policy.policies') if ep.name == 'edge_channels']
        self.assertIs(policy.list_rules, ep.load())

    def test_members_use_their_own_project_only(self):
        member = ctx(self.mine, 'member', 'reader')
        for rule in OWNER_RULES:
            self.assertTrue(policy.check(member, rule,
                                         {'project_id': self.mine}))
            self.assertFalse(policy.check(member, rule,
                                          {'project_id': self.theirs}))
            e = self.assertRaises(exception.Forbidden, policy.authorize,
                                  member, rule, {'project_id': self.theirs})
            self.assertEqual(403, e.code)
            self.assertIn(rule, str(e))
        for rule in ACTING_RULES:
            self.assertFalse(policy.check(member, rule,
                                          {'project_id': self.mine}))

    def test_admin_and_service_act_for_others(self):
        for roles in (('admin',), ('service',)):
            caller = ctx(self.mine, *roles)
            for rule in ACTING_RULES:
                self.assertTrue(policy.check(caller, rule,
                                             {'project_id': self.theirs}))
        admin = ctx(self.mine, 'admin')
        for rule in OWNER_RULES:
            self.assertTrue(policy.check(admin, rule,
                                         {'project_id': self.theirs}))
        # The service role keeps up the channels it made for owners (a
        # Doni worker updates keys and deletes them), but lists only with
        # all_projects and creates only for a named project.
        service = ctx(self.mine, 'service')
        for rule in MANAGED_RULES:
            self.assertTrue(policy.check(service, rule,
                                         {'project_id': self.theirs}))
