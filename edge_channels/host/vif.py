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

"""The "bridge" binding program that kuryr-lib runs for a port bound
by ``edge_bridge``.

kuryr-lib's veth binding creates the veth pair, configures the
container's end, then runs ``<[DEFAULT] bindir>/<vif_type>`` with::

    bind PORT_ID IFNAME ENDPOINT_ID MAC NETWORK_ID PROJECT_ID VIF_DETAILS
    unbind PORT_ID IFNAME ENDPOINT_ID MAC VIF_DETAILS NETWORK_ID

where VIF_DETAILS is the port's ``binding:vif_details`` as Python's
``str()`` of the dict in double quotes.  A deployment installs a
small "bridge" script in its own binding directory that runs this
module with its bridge prefix and lock directory in front of those
arguments (see aio/kuryr.py).
"""

import argparse
import ast
import sys

from edge_channels import naming
from edge_channels.host import bridges as bridges_mod
from edge_channels.host import overlay as overlay_mod


def vif_details(text):
    """The dict kuryr-lib passes as VIF_DETAILS (possibly empty)."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
    if not text:
        return {}
    try:
        details = ast.literal_eval(text)
    except (ValueError, SyntaxError) as e:
        raise ValueError('VIF details %r are not a dict literal: %s'
                         % (text, e)) from e
    if not isinstance(details, dict):
        raise ValueError('VIF details %r are not a dict' % (text,))
    return details


def _bridge(details_text):
    bridge = vif_details(details_text).get(naming.VIF_DETAILS_BRIDGE_NAME)
    if not bridge:
        raise ValueError('the port has no %s in its VIF details: is it '
                         'bound by edge_bridge?'
                         % naming.VIF_DETAILS_BRIDGE_NAME)
    return bridge


def parse(argv):
    parser = argparse.ArgumentParser(
        prog='edge-channels-vif',
        description='Plug a kuryr veth into the bridge of its network.')
    parser.add_argument('--prefix', required=True,
                        help='the bridge prefix of this deployment '
                             '([edge_bridge] bridge_prefix)')
    parser.add_argument('--lock-dir', required=True,
                        help='directory of the lock shared by all binds')
    commands = parser.add_subparsers(dest='command', required=True)
    bind = commands.add_parser('bind')
    for name in ('port_id', 'ifname', 'endpoint_id', 'mac', 'network_id',
                 'project_id', 'details'):
        bind.add_argument(name)
    unbind = commands.add_parser('unbind')
    for name in ('port_id', 'ifname', 'endpoint_id', 'mac', 'details',
                 'network_id'):
        unbind.add_argument(name)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse(sys.argv[1:] if argv is None else argv)
    bridges = bridges_mod.Bridges(args.prefix, args.lock_dir)
    try:
        bridge = _bridge(args.details)
        if args.command == 'bind':
            bridges.plug(args.ifname, bridge, overlay_mod.from_details(
                vif_details(args.details)))
            print('plugged %s (port %s) into %s'
                  % (args.ifname, args.port_id, bridge))
        else:
            bridges.unplug(args.ifname, bridge)
            print('unplugged %s (port %s) from %s'
                  % (args.ifname, args.port_id, bridge))
    except (ValueError, bridges_mod.BridgeError) as e:
        print('edge-channels-vif %s: %s' % (args.command, e),
              file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
