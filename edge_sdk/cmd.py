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

"""``edge-sdk``: the device side of the channels.

    edge-sdk [--config-file PATH] [--state-dir DIR] [--os-cloud NAME] up
    edge-sdk status [--json]
    edge-sdk rotate-key [--channel NAME ...]
    edge-sdk down [--delete]
    edge-sdk run

Credentials come from the standard ``OS_*`` variables or ``clouds.yaml``
(``OS_CLOUD`` / ``--os-cloud``).  Network changes go through a privsep
daemon that keeps only CAP_NET_ADMIN: run as root, or configure
``[edge_sdk_privileged] helper_command`` (sudo privsep-helper).
"""

import json
import os
import signal
import sys
import time

from oslo_config import cfg
from oslo_log import log as logging
from oslo_privsep import priv_context

from edge_sdk import client as client_mod
from edge_sdk import conf
from edge_sdk import keys
from edge_sdk import netdev
from edge_sdk import privileged
from edge_sdk import sync
from edge_sdk import wireguard


CONF = cfg.CONF
LOG = logging.getLogger(__name__)
DEFAULT_CONFIG_FILE = '/etc/edge-sdk/edge-sdk.conf'


def add_command_parsers(subparsers):
    p = subparsers.add_parser(
        'up', help='make the keys, find or create the channels and bring '
                   'their interfaces up')
    p.add_argument('--wait', type=float, default=60.0,
                   help='seconds to wait for a new hub to report its key '
                        'and endpoint (default 60)')
    p = subparsers.add_parser(
        'status', help="show the channels and their interfaces' state")
    p.add_argument('--json', action='store_true', help='print JSON')
    p.add_argument('--local', action='store_true',
                   help='only the interfaces: do not ask the channel API')
    p = subparsers.add_parser(
        'rotate-key', help='new private key, send its public key, apply')
    p.add_argument('--channel', action='append', dest='names',
                   metavar='NAME',
                   help='only this channel (repeatable; default: all)')
    p.add_argument('--wait', type=float, default=60.0,
                   help='seconds to wait for the hub (default 60)')
    p = subparsers.add_parser(
        'down', help='remove the interfaces (--delete: the channels too)')
    p.add_argument('--delete', action='store_true',
                   help='also delete the channels in the channel API')
    p = subparsers.add_parser(
        'run', help='bring the channels up and keep them in step with '
                    'the channel API')
    p.add_argument('--wait', type=float, default=60.0,
                   help='seconds to wait for a new hub (default 60)')


cli_opts = [
    cfg.SubCommandOpt('command', title='commands',
                      handler=add_command_parsers,
                      help='"edge-sdk COMMAND --help" shows its options'),
    cfg.StrOpt('state-dir',
               help='directory of the private keys; overrides '
                    '[edge_sdk] state_dir'),
    cfg.StrOpt('os-cloud',
               help='cloud of clouds.yaml to use (default: $OS_CLOUD, '
                    'else the OS_* variables)'),
]


def _fail(message, code=1):
    sys.stderr.write('edge-sdk: %s\n' % message)
    return code


def _start_privsep():
    # Root need not go through sudo: fork the daemon, which then drops
    # everything but CAP_NET_ADMIN.
    if os.geteuid() == 0 and not CONF[conf.PRIVILEGED_GROUP].helper_command:
        privileged.context.start(method=priv_context.Method.FORK)


def _print_status(result, as_json):
    if as_json:
        print(json.dumps(result, indent=2, sort_keys=True, default=str))
        return
    now = int(time.time())
    for name, entry in result.items():
        wg = entry.get('wireguard')
        channel = entry.get('channel')
        line = '%s: interface %s ' % (name, entry['interface'])
        line += 'down' if not wg else 'up, key %s' % wg['public_key']
        if 'channel' in entry:
            if channel:
                props = channel.get('properties') or {}
                line += '; channel %s %s ip %s' % (
                    channel.get('uuid'), channel.get('status'),
                    props.get('ip'))
            else:
                line += '; no channel (run "edge-sdk up")'
        print(line)
        for peer in (wg or {}).get('peers', ()):
            age = (now - peer['latest_handshake']
                   if peer['latest_handshake'] else None)
            print('  hub %s at %s: %s' % (
                peer['public_key'], peer['endpoint'],
                'no handshake yet' if age is None
                else 'last handshake %d s ago' % age))


def run_command(settings):
    command = CONF.command
    needs_api = command.name in ('up', 'rotate-key', 'run') or (
        command.name == 'down' and command.delete) or (
        command.name == 'status' and not command.local)
    for name in getattr(command, 'names', None) or ():
        if name not in settings.channels:
            return _fail('--channel %s is not one of the configured '
                         'channels (%s)' % (name,
                                            ', '.join(settings.channels)),
                         2)
    client = None
    if needs_api:
        client = client_mod.ChannelClient(
            client_mod.make_adapter(cloud=CONF.os_cloud))
    _start_privsep()
    if command.name == 'up':
        for name, (channel, tunnel) in sync.up(settings, client,
                                               command.wait).items():
            print('%s: %s on %s' % (name, tunnel.address, tunnel.ifname))
    elif command.name == 'status':
        _print_status(sync.status(settings, client), command.json)
    elif command.name == 'rotate-key':
        for name, (channel, tunnel) in sync.rotate_key(
                settings, client, command.names, command.wait).items():
            print('%s: new key %s' % (
                name, channel['properties']['public_key']))
    elif command.name == 'down':
        sync.down(settings, client, delete=command.delete)
    elif command.name == 'run':
        runner = sync.Runner(settings, client, command.wait)
        signal.signal(signal.SIGTERM, lambda *a: runner.stop())
        try:
            runner.run()
        except KeyboardInterrupt:
            pass
    return 0


def main(argv=None):
    conf.register_opts(CONF)
    CONF.register_cli_opts(cli_opts)
    logging.register_options(CONF)
    defaults = ([DEFAULT_CONFIG_FILE]
                if os.path.exists(DEFAULT_CONFIG_FILE) else [])
    try:
        CONF(sys.argv[1:] if argv is None else argv, project='edge-sdk',
             default_config_files=defaults)
    except cfg.Error as e:
        return _fail('%s: fix the configuration or the command line' % e,
                     2)
    logging.setup(CONF, 'edge-sdk')
    try:
        settings = sync.Settings.from_conf(CONF.edge_sdk, CONF.state_dir)
    except ValueError as e:
        return _fail('bad configuration: %s' % e, 2)
    try:
        return run_command(settings)
    except (client_mod.ChannelAPIError, keys.KeyFileError,
            wireguard.ChannelNotReady, netdev.CommandFailed,
            ValueError, OSError) as e:
        return _fail(str(e))
