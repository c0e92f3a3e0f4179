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

"""Options of the hub agent: ``[hub]``, and ``[neutron]``, how it
reaches Neutron's API as its service user.
"""

import socket

from oslo_config import cfg
from oslo_config import types

from edge_channels.conf import neutron as conf_neutron


GROUP = 'hub'
NEUTRON_GROUP = 'neutron'
PRIVSEP_GROUP = 'edge_channels_hub_privileged'
#: Service type of Neutron in Keystone's catalog.
NEUTRON_SERVICE_TYPE = 'network'
BACKEND_AUTO = 'auto'
BACKEND_KERNEL = 'kernel'
BACKEND_USERSPACE = 'userspace'

opts = [
    cfg.StrOpt('host',
               default=socket.gethostname(),
               sample_default='<the host name>',
               help='This hub host\'s name: the agent serves the hub ports '
                    'whose binding:host_id is this.  It must be one of the '
                    'channel API\'s [api] hub_hosts.'),
    cfg.IPOpt('endpoint_address',
              help='The IP address devices reach this host\'s WireGuard '
                   'ports at (not a name: WireGuard resolves names once).  '
                   'Reported in each hub port\'s endpoint as '
                   '<address>:<port>.  Required.'),
    cfg.Opt('listen_port_range',
            type=types.Range(1, 65535, type_name='UDP port range'),
            default='51820-52819',
            help='The UDP ports hubs listen on, "first-last": each hub of '
                 'this host takes the lowest free one and keeps it across '
                 'restarts (devices keep their endpoint).'),
    cfg.StrOpt('state_dir',
               default='/var/lib/edge-channels/hub',
               help='Where each hub\'s private key (mode 0600) and listen '
                    'port are kept, in a directory of mode 0700.  The '
                    'keys never leave it; losing it changes every hub\'s '
                    'public key, and devices then have to re-sync.'),
    cfg.IntOpt('resync_interval',
               default=300,
               min=10,
               help='Seconds between two full re-syncs with Neutron.  '
                    'Changes are applied within seconds from Neutron\'s '
                    'notifications; this is the safety net for lost ones.'),
    cfg.IntOpt('endpoint_record_interval',
               default=30,
               min=1,
               help='Seconds between two records, in state_dir, of where '
                    'each device was last heard from.  An interface '
                    'rebuilt after a crash or reboot starts a handshake '
                    'to each device there, so the tunnels are back within '
                    'seconds; a device that moved since the last record '
                    'is back at its own next handshake (WireGuard retries '
                    'after 15 s of traffic unanswered, else at its rekey, '
                    'up to 2 minutes).'),
    cfg.StrOpt('wireguard_backend',
               default=BACKEND_AUTO,
               choices=[(BACKEND_AUTO, 'kernel WireGuard if the kernel '
                         'has it, else wireguard-go'),
                        (BACKEND_KERNEL, 'kernel WireGuard only'),
                        (BACKEND_USERSPACE, 'wireguard-go only')],
               help='Which WireGuard implementation makes the hubs\' '
                    'interfaces.'),
    cfg.StrOpt('notification_pool',
               sample_default='edge-channels-hub-<host>',
               help='The oslo.messaging pool (queue) this agent listens '
                    'to Neutron\'s notifications in; each hub host needs '
                    'its own.  Default: edge-channels-hub-<host>.'),
    cfg.StrOpt('notification_exchange',
               default='neutron',
               help='The exchange Neutron sends notifications to (its '
                    '[DEFAULT] control_exchange).'),
    cfg.ListOpt('notification_topics',
                default=['notifications'],
                help='Neutron\'s [oslo_messaging_notifications] topics.'),
]


def register_opts(conf):
    conf.register_opts(opts, group=GROUP)
    conf_neutron.register_opts(conf)


def list_opts():
    return [(GROUP, opts), (NEUTRON_GROUP, conf_neutron.list_opts())]
