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

"""``[compute]``: the ``compute`` worker, which records an edge host's
peripherals from what Cyborg reported; ``[placement]``, ``[cyborg]``
and ``[zun]``: how it reaches those services as the engine's service
user, who needs their admin role (Placement's and Zun's service
listings and deletions, Cyborg's deployables are admin-only by
default).
"""

from oslo_config import cfg

from edge_common import keystoneauth


GROUP = 'compute'
#: Service groups: group -> the service type its adapter defaults to.
SERVICES = {'placement': 'placement',
            'cyborg': 'accelerator',
            'zun': 'container'}

opts = [
    cfg.FloatOpt('resync_interval',
                 default=30.0, min=0.0,
                 help='Seconds after which the engine runs a host\'s '
                      'STEADY compute task again, so that its '
                      'device_profiles follow peripherals plugged or '
                      'unplugged later (Cyborg reports them; nothing '
                      'tells this service).  0 turns it off: the '
                      'profiles are then only read when the hardware '
                      'changes or is synced.'),
]


def register_opts(conf):
    conf.register_opts(opts, group=GROUP)
    for group, service_type in SERVICES.items():
        keystoneauth.register_opts(conf, group, service_type)


def list_opts():
    return [(GROUP, opts)] + [
        (group, keystoneauth.list_opts(service_type))
        for group, service_type in SERVICES.items()]
