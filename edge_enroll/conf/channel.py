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

"""``[channel]``: how the ``tunelo`` worker reaches the channel API
(edge_channels) as the engine's service user, who needs the ``service``
role there to make channels owned by the hardware's project.
"""

from oslo_config import cfg

from edge_common import keystoneauth


GROUP = 'channel'
SERVICE_TYPE = 'channel'

opts = [
    cfg.DictOpt('channel_subnets',
                default={},
                help='Channel role -> subnet (name, ID or CIDR of one of '
                     "the channel API's channel_subnets) of the channels "
                     'made for hosts, e.g. "control:ctl-net,tenant:'
                     'tenant-net".  A role not listed gets the API\'s '
                     'default subnet.'),
]


def register_opts(conf):
    keystoneauth.register_opts(conf, GROUP, SERVICE_TYPE, opts)


def list_opts():
    return [(GROUP, keystoneauth.list_opts(SERVICE_TYPE, opts))]
