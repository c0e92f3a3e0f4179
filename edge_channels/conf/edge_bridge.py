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

"""Options of the ``edge_bridge`` mechanism driver (``[edge_bridge]``)."""

from oslo_config import cfg

from edge_channels import naming


GROUP = 'edge_bridge'

opts = [
    cfg.ListOpt('hosts',
                default=[],
                help='The hosts (binding:host_id) whose ports this driver '
                     'binds: those that run the host side of edge_channels '
                     '(kuryr-libnetwork with its bridge binding).  Empty: '
                     'every host, for a deployment where this is the only '
                     'mechanism driver.'),
    cfg.StrOpt('bridge_prefix',
               default='ebr-',
               max_length=naming.PREFIX_MAX,
               help='The start of the name of every Linux bridge this '
                    'driver names; the host side manages only bridges '
                    'with this prefix.  Give each deployment sharing a '
                    'host its own.'),
    cfg.ListOpt('tenant_channel_networks',
                default=[],
                help='The channel networks (IDs or names) whose channels '
                     'are tenant channels: on a host with a tenant channel '
                     'of the port\'s project (a spoke port whose device_id '
                     'is the host name), ports of VXLAN networks are bound '
                     'and carried over that channel to its hub, which '
                     'relays them to the project\'s other edge hosts.  '
                     'Empty: VXLAN networks are never bound.'),
]


def register_opts(conf):
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return [(GROUP, opts)]
