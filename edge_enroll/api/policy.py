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

"""Who may do what with hardware: oslo.policy rules in code.

Any member of a project may enroll hardware for it: that is the point
of the service, which then does the privileged work with its own
credentials (Chameleon's Doni asks for admin and its deployment opens
it to everyone).  Hardware belongs to its project: its members and
admins see and change it; others are told it does not exist.
"""

from oslo_policy import policy

from edge_common import policy as common_policy
from edge_enroll import exception


MEMBER = 'role:member or role:admin'
ADMIN_OR_OWNER = 'role:admin or project_id:%(project_id)s'
ADMIN = 'role:admin'
SCOPE = ['project']

_ALL = '/v1/hardware/'
_ONE = '/v1/hardware/{hardware_uuid}/'

rules = [
    policy.DocumentedRuleDefault(
        name='hardware:create', check_str=MEMBER, scope_types=SCOPE,
        description='Enroll hardware in the project.',
        operations=[{'path': _ALL, 'method': 'POST'}]),
    policy.DocumentedRuleDefault(
        name='hardware:get', check_str=ADMIN_OR_OWNER, scope_types=SCOPE,
        description="Show hardware of the project, with its private "
                    "properties and its workers' state; list the "
                    "project's.",
        operations=[{'path': _ONE, 'method': 'GET'},
                    {'path': _ALL, 'method': 'GET'},
                    {'path': _ONE + 'availability', 'method': 'GET'}]),
    policy.DocumentedRuleDefault(
        name='hardware:list:all_projects', check_str=ADMIN,
        scope_types=SCOPE,
        description="List every project's hardware (?all_projects=1).",
        operations=[{'path': _ALL + '?all_projects=1', 'method': 'GET'}]),
    policy.DocumentedRuleDefault(
        name='hardware:update', check_str=ADMIN_OR_OWNER, scope_types=SCOPE,
        description="Change hardware's name or properties (JSON-Patch).",
        operations=[{'path': _ONE, 'method': 'PATCH'}]),
    policy.DocumentedRuleDefault(
        name='hardware:sync', check_str=ADMIN_OR_OWNER, scope_types=SCOPE,
        description="Run the hardware's workers again.",
        operations=[{'path': _ONE + 'sync', 'method': 'POST'}]),
    policy.DocumentedRuleDefault(
        name='hardware:delete', check_str=ADMIN_OR_OWNER, scope_types=SCOPE,
        description='Delete hardware; its workers undo what they did.',
        operations=[{'path': _ONE, 'method': 'DELETE'}]),
]

_RULES = common_policy.Rules(rules, exception.Forbidden)
list_rules = _RULES.list_rules
get_enforcer = _RULES.get_enforcer
reset = _RULES.reset
check = _RULES.check
authorize = _RULES.authorize
