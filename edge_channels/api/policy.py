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

"""Who may do what with channels: oslo.policy rules in code.

A channel belongs to a project; its members and admins may use it.
Acting for another project (creating a channel owned by it, listing
every project's) needs admin or the ``service`` role, which a service
such as Doni enrolling devices holds; that role may then also show,
update and delete the channels it made for their owners.
"""

from oslo_policy import policy

from edge_channels import exception
from edge_common import policy as common_policy


ADMIN_OR_OWNER = 'role:admin or project_id:%(project_id)s'
ADMIN_OR_SERVICE = 'role:admin or role:service'
#: A channel the service role made for an owner is one it must keep up.
ADMIN_SERVICE_OR_OWNER = ('role:admin or role:service or '
                          'project_id:%(project_id)s')
SCOPE = ['project']

_CHANNEL = '/channels'
_ONE = '/channels/{channel_uuid}'

rules = [
    policy.DocumentedRuleDefault(
        name='channel:get', check_str=ADMIN_SERVICE_OR_OWNER,
        scope_types=SCOPE,
        description='Show a channel of the project.',
        operations=[{'path': _ONE, 'method': 'GET'}]),
    policy.DocumentedRuleDefault(
        name='channel:list', check_str=ADMIN_OR_OWNER,
        scope_types=SCOPE,
        description="List the project's channels.",
        operations=[{'path': _CHANNEL, 'method': 'GET'}]),
    policy.DocumentedRuleDefault(
        name='channel:list:all_projects', check_str=ADMIN_OR_SERVICE,
        scope_types=SCOPE,
        description="List every project's channels (?all_projects=1).",
        operations=[{'path': _CHANNEL + '?all_projects=1',
                     'method': 'GET'}]),
    policy.DocumentedRuleDefault(
        name='channel:create', check_str=ADMIN_OR_OWNER,
        scope_types=SCOPE,
        description='Create a channel in the project.',
        operations=[{'path': _CHANNEL, 'method': 'POST'}]),
    policy.DocumentedRuleDefault(
        name='channel:create:project_id', check_str=ADMIN_OR_SERVICE,
        scope_types=SCOPE,
        description='Create a channel owned by another project than the '
                    "token's (project_id in the request body).",
        operations=[{'path': _CHANNEL, 'method': 'POST'}]),
    policy.DocumentedRuleDefault(
        name='channel:update', check_str=ADMIN_SERVICE_OR_OWNER,
        scope_types=SCOPE,
        description="Change a channel's name, public key or endpoint.",
        operations=[{'path': _ONE, 'method': 'PATCH'},
                    {'path': _ONE, 'method': 'PUT'}]),
    policy.DocumentedRuleDefault(
        name='channel:delete', check_str=ADMIN_SERVICE_OR_OWNER,
        scope_types=SCOPE,
        description='Delete a channel (and its hub when it was the last '
                    'channel there).',
        operations=[{'path': _ONE, 'method': 'DELETE'}]),
]

_RULES = common_policy.Rules(rules, exception.Forbidden)
list_rules = _RULES.list_rules
get_enforcer = _RULES.get_enforcer
reset = _RULES.reset
check = _RULES.check
authorize = _RULES.authorize
