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

"""Options of the channel API (``edge-channels-api``).

``[api]``: where channels are made; ``[neutron]``: how the API reaches
Neutron as its own service user (keystoneauth session, auth and adapter
options).  ``[keystone_authtoken]`` (keystonemiddleware),
``[oslo_policy]`` and ``[oslo_concurrency]`` (its ``lock_path`` holds
the hub locks) belong to their libraries; the sample lists them too.
"""

from oslo_config import cfg

from edge_channels.conf import neutron as conf_neutron


GROUP = 'api'
NEUTRON_GROUP = conf_neutron.GROUP
NEUTRON_SERVICE_TYPE = conf_neutron.SERVICE_TYPE

opts = [
    cfg.ListOpt('channel_subnets',
                default=[],
                help='IDs (or names) of the Neutron subnets that channels '
                     'get their addresses from; the first is the one used '
                     'when a request names none.  The operator creates '
                     'them (an admin-owned network, not shared); the API '
                     'never creates subnets.  Prefer IDs: a name must '
                     'match exactly one subnet of any project in Neutron, '
                     'or no channel can be created.  A request may name '
                     'any of these by name, ID or CIDR, and no other.'),
    cfg.ListOpt('hub_hosts',
                default=[],
                help='Hosts (binding:host_id) that run the hub agent.  A '
                     'new hub goes to the one with the fewest hubs.  '
                     'Channels cannot be created while this is empty.'),
]


def register_opts(conf):
    conf.register_opts(opts, group=GROUP)
    conf_neutron.register_opts(conf)


def list_opts():
    return [(GROUP, opts), (NEUTRON_GROUP, conf_neutron.list_opts())]
