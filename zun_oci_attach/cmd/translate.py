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

"""``zun-oci-attach translate``: what a container would get, or why not.

Runs the same translation and policy as the Zun driver, with the
``[oci_attach]`` options of Zun's configuration files, so operators can
see why an attachment is refused.
"""

import argparse
import json
import sys

from oslo_config import cfg

from cyborg_peripherals import contract
from zun_oci_attach import translation
from zun_oci_attach.conf import oci_attach


def _parser():
    parser = argparse.ArgumentParser(
        prog='zun-oci-attach',
        description='Inspect how OCI attach handles of cyborg-peripherals '
                    'become container settings.')
    commands = parser.add_subparsers(dest='command', required=True)
    cmd = commands.add_parser(
        'translate',
        help='print what a container would get for an attach info',
        description='Translate an OCI attach info with the [oci_attach] '
                    'policy of this host; exit 1 with the rule that '
                    'refused it otherwise.')
    cmd.add_argument('attach_info', metavar='ATTACH_INFO_JSON',
                     help='the attach_info of the attach handle, as JSON')
    cmd.add_argument('--cdi-dir',
                     help='CDI spec directory (default: [oci_attach] '
                          'cdi_spec_dir)')
    cmd.add_argument('--format', choices=('table', 'json'), default='table',
                     help='output format (default: table)')
    cmd.add_argument('--config-file', action='append', dest='config_files',
                     metavar='PATH',
                     help='Zun configuration file to read [oci_attach] '
                          'from; may be repeated (default: Zun\'s usual '
                          'files, such as /etc/zun/zun.conf)')
    return parser


def _load_policy(args):
    conf = cfg.ConfigOpts()
    oci_attach.register_opts(conf)
    files = args.config_files
    if files is None:
        files = cfg.find_config_files(project='zun')
    conf(args=[], project='zun', default_config_files=files,
         use_env=False)
    if args.cdi_dir:
        conf.set_override('cdi_spec_dir', args.cdi_dir, oci_attach.GROUP)
    return translation.Policy.from_conf(conf)


def _show(text):
    # Spec values are untrusted; keep terminal control sequences out.
    return ''.join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _table(attachment):
    rows = []
    for entry in attachment.devices:
        host, container, perms = entry.split(':')
        rows.append(('device', '%s -> %s (%s)' % (host, container, perms)))
    rows += [('cgroup rule', rule)
             for rule in attachment.device_cgroup_rules]
    rows += [('mount', '%s -> %s (%s)' % (m.source, m.target,
                                          'ro' if m.read_only else 'rw'))
             for m in attachment.mounts]
    rows += [('environment', '%s=%s' % kv)
             for kv in sorted(attachment.environment.items())]
    rows += [('cdi device', name) for name in attachment.cdi_devices]
    rows.append(('docker api', '%s or later'
                 % attachment.required_api_version()))
    width = max(len(kind) for kind, _value in rows)
    return '\n'.join('%-*s  %s' % (width, kind, _show(value))
                     for kind, value in rows)


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        policy = _load_policy(args)
        attachment = translation.translate(contract.ATTACH_TYPE,
                                           args.attach_info, policy)
    except (translation.AttachRefused, ValueError, cfg.Error) as e:
        print('error: %s' % _show(str(e)), file=sys.stderr)
        return 1
    if args.format == 'json':
        print(json.dumps(attachment.to_json(), indent=2, sort_keys=True))
    else:
        print(_table(attachment))
    return 0


if __name__ == '__main__':
    sys.exit(main())
