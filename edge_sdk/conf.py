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

"""Options of the Edge SDK (``[edge_sdk]`` of ``edge-sdk.conf``).

Credentials are not options here: the SDK takes them from the standard
``OS_*`` environment variables or ``clouds.yaml`` (``OS_CLOUD``), as
every OpenStack client does.
"""

import socket

from oslo_config import cfg


GROUP = 'edge_sdk'
#: The privsep daemon's own group (its helper command and user).
PRIVILEGED_GROUP = 'edge_sdk_privileged'

opts = [
    cfg.StrOpt('state_dir',
               default='/var/lib/edge-sdk',
               help='Directory of the private keys of this device, one '
                    'per channel. Created mode 0700; each key file is '
                    'mode 0600 and never leaves the device.'),
    cfg.StrOpt('device_name',
               default=socket.gethostname(),
               sample_default='<the host name>',
               regex=r'^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$',
               help='This device\'s name, unique in its project: in the '
                    'channel API its channels are named "DEVICE-CHANNEL" '
                    '(for example "cam-1-control"), so that the devices '
                    'of one project never take over each other\'s '
                    'channels. It is also the channels\' host, by which '
                    'the tenant overlay finds the channel of a '
                    'container\'s host: keep it equal to the host name '
                    'zun-compute reports. 1 to 63 letters, digits, ".", '
                    '"-" or "_".'),
    cfg.ListOpt('channels',
                default=['control', 'tenant'],
                help='Names of the channels this device keeps, in the '
                     'order they are brought up. Each name is 1 to 12 '
                     'lowercase letters, digits or "-"; the interface of '
                     'channel NAME is "ec-NAME".'),
    cfg.DictOpt('channel_subnets',
                default={},
                help='The channel subnet (name, ID or CIDR among those '
                     'the channel API offers) of each channel, as '
                     'NAME:SUBNET pairs. A channel not listed gets the '
                     "API's default subnet."),
    cfg.IntOpt('persistent_keepalive',
               default=25,
               min=0,
               max=65535,
               help='Seconds between keepalive packets to each hub, which '
                    'keep NAT mappings open so that the hub can reach a '
                    'device behind NAT. 0 sends none.'),
    cfg.FloatOpt('poll_interval',
                 default=10.0,
                 min=0.5,
                 help='Seconds between two reads of the channels by '
                      '"edge-sdk run", which re-applies a channel when '
                      "its hub's key or endpoint changed."),
    cfg.FloatOpt('handshake_wait',
                 default=10.0,
                 min=0,
                 help='Seconds to wait, after applying a channel, for a '
                      'handshake with its hub, applying the configuration '
                      'again every second meanwhile: a hub that learns '
                      "the device's new key a moment later then answers "
                      "at once instead of after WireGuard's own 5 s retry. "
                      'A channel whose hub stays silent is left '
                      'configured, with a warning. 0: do not wait. '
                      'Needs persistent_keepalive.'),
    cfg.StrOpt('endpoint',
               help='The "ip:port" at which the hubs can reach this '
                    'device, when it has one. Unset for a device behind '
                    'NAT: the device then initiates the tunnels.'),
]


def register_opts(conf):
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return [(GROUP, opts)]
