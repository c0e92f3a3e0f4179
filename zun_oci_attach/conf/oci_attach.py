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

"""Translation and security-policy options for ``OCI`` attach handles.

doc/source/admin/oci-attach-policy.rst describes every rule these options
relax.
"""

from oslo_config import cfg


GROUP = 'oci_attach'

opts = [
    cfg.StrOpt('cdi_spec_dir',
               default='/var/run/cdi',
               help='Directory holding the CDI spec of the host\'s '
                    'peripherals (openstack.org-peripheral.json). It must '
                    'be the same directory as [peripherals] cdi_spec_dir of '
                    'the Cyborg agent on this host. The spec file and the '
                    'directory must be owned by root (or by the user Zun '
                    'runs as) and not be writable by group or others.'),
    cfg.ListOpt('mount_allowlist',
                default=[],
                help='Host paths that a CDI spec may bind-mount into '
                     'containers; a mount source must be one of these '
                     'paths or lie below one of them (after resolving '
                     'symbolic links). Empty by default, so specs with '
                     'mounts are refused.'),
    cfg.ListOpt('writable_mounts',
                default=[],
                help='Entries of mount_allowlist whose mounts (and mounts '
                     'below them) may be read-write when the spec asks for '
                     'it. Every other mount is made read-only. Each entry '
                     'must also be in mount_allowlist.'),
    cfg.ListOpt('allowed_env',
                default=[],
                help='Environment variable names a CDI spec may set in '
                     'addition to PERIPHERAL_*: upper-case names or '
                     'patterns with * and ? (for example SDR_*). Every '
                     'other name is refused, so list only names you trust '
                     'every spec writer with; never loader, interpreter or '
                     'shell variables such as LD_PRELOAD or PATH.'),
    cfg.IntOpt('max_env_value_length',
               default=1024, min=1,
               help='Longest environment variable value, in characters, '
                    'a CDI spec may set.'),
    cfg.ListOpt('allowed_device_majors',
                default=[],
                help='Device majors, as TYPE:MAJOR (for example b:179 for '
                     'SD cards), whose nodes containers may get although '
                     'the policy refuses them by default: block devices '
                     'and the kinds of node that are never peripherals '
                     '(memory devices, consoles, kvm, fuse, loop, '
                     'device-mapper, ...). Each entry allows every node of '
                     'that major. Set the same value in [peripherals] '
                     'allowed_device_majors of the Cyborg agent.'),
    cfg.BoolOpt('native_cdi',
                default=False,
                help='Pass the CDI device name to the container engine '
                     '(a "cdi" device request) instead of translating the '
                     'spec into devices, mounts and environment. Needs '
                     'Docker 25 or later with CDI enabled and '
                     '[docker] docker_remote_api_version 1.40 or later. '
                     'The spec is still checked against this policy at '
                     'attach time, but the engine reads it again itself.'),
]


def register_opts(conf):
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return opts
