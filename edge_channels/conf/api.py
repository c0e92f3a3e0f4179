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

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg


GROUP = 'api'
NEUTRON_GROUP = 'neutron'
#: Service type of Neutron in Keystone's catalog.
NEUTRON_SERVICE_TYPE = 'network'

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
    ks_loading.register_session_conf_options(conf, NEUTRON_GROUP)
    ks_loading.register_auth_conf_options(conf, NEUTRON_GROUP)
    ks_loading.register_adapter_conf_options(conf, NEUTRON_GROUP,
                                             include_deprecated=False)
    conf.set_default('service_type', NEUTRON_SERVICE_TYPE,
                     group=NEUTRON_GROUP)
    conf.set_default('valid_interfaces', ['internal', 'public'],
                     group=NEUTRON_GROUP)


def _neutron_opts():
    opts = (ks_loading.get_session_conf_options() +
            ks_loading.get_auth_common_conf_options() +
            ks_loading.get_auth_plugin_conf_options('password') +
            ks_loading.get_adapter_conf_options(include_deprecated=False))
    seen = set()
    unique = []
    for opt in opts:
        if opt.dest not in seen:
            seen.add(opt.dest)
            unique.append(opt)
    for opt in unique:
        if opt.dest == 'service_type':
            opt.default = NEUTRON_SERVICE_TYPE
        elif opt.dest == 'valid_interfaces':
            opt.default = ['internal', 'public']
    return unique


def list_opts():
    return [(GROUP, opts), (NEUTRON_GROUP, _neutron_opts())]
