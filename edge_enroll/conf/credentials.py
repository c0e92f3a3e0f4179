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

"""``[credentials]``: the Keystone user and application credential the
``credentials`` worker gives each edge host, and how it reaches Keystone
as the engine's service user (who must be allowed to create users and
role assignments in ``domain``: the admin role, or a domain manager's).
"""

from oslo_config import cfg

from edge_common import keystoneauth


GROUP = 'credentials'
SERVICE_TYPE = 'identity'
#: What the Edge SDK on the host calls: its own hardware item (read
#: it; change its keys, which the tunelo worker then gives the channels)
#: and its channels, each by the UUID the item gives.  Not the list of
#: channels (every host's of the project, keys and addresses) nor PATCH
#: on channels: that rule cannot name the host's own channels, and
#: would let one host of a project put its key on another's.
DEFAULT_ACCESS_RULES = [
    'channel:GET:/channels/*',
    'inventory:GET:/v1/hardware/{hardware_uuid}',
    'inventory:GET:/v1/hardware/{hardware_uuid}/',
    'inventory:PATCH:/v1/hardware/{hardware_uuid}',
    'inventory:PATCH:/v1/hardware/{hardware_uuid}/',
]

opts = [
    cfg.StrOpt('domain',
               default='edge_hosts',
               help='Keystone domain of the edge hosts\' users (one user '
                    '"edge-<hardware uuid>" per host); made if missing.  '
                    'Keep it for hosts only: a user found there with that '
                    'name is taken as the host\'s own.'),
    cfg.ListOpt('roles',
                default=['member'],
                help="Roles the host's user holds on the hardware's "
                     'project (and nowhere else).  The application '
                     'credential carries them, narrowed by '
                     'access_rules.'),
    cfg.ListOpt('access_rules',
                default=DEFAULT_ACCESS_RULES,
                help='What the application credential may call, each '
                     '"<service type>:<method>:<path>" (Keystone access '
                     'rules: "*" is one path segment, "**" any number); '
                     '"{hardware_uuid}" in a path is the host\'s own '
                     'hardware UUID.  Every other call with it is '
                     'refused (401) by the service\'s keystonemiddleware, '
                     'which must have [keystone_authtoken] service_type '
                     'set.  The default lets the Edge SDK read its channels '
                     'and read and change its hardware item (a new key '
                     'on rotation).'),
]


def register_opts(conf):
    keystoneauth.register_opts(conf, GROUP, SERVICE_TYPE, opts)


def list_opts():
    return [(GROUP, keystoneauth.list_opts(SERVICE_TYPE, opts))]
