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

    edge-sdk [--config-file PATH] [--state-dir DIR] [--os-cloud NAME] \
        register --machine-name M --contact-email E [--wait S]
    edge-sdk up
    edge-sdk status [--json]
    edge-sdk rotate-key [--channel NAME ...]
    edge-sdk down [--delete]
    edge-sdk run

Credentials come from the standard ``OS_*`` variables or ``clouds.yaml``
(``OS_CLOUD`` / ``--os-cloud``); when neither is given, from the
application credential that ``edge-sdk register`` stored in the state
directory.  A registered device finds its channels through its hardware
item in the enrollment service (``edge_sdk.enrollment``).  Network
changes go through a privsep daemon that keeps only CAP_NET_ADMIN: run
as root, or configure ``[edge_sdk_privileged] helper_command`` (sudo
privsep-helper).
"""

import argparse
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
from edge_sdk import enrollment
from edge_sdk import keys
from edge_sdk import netdev
from edge_sdk import privileged
from edge_sdk import sync
from edge_sdk import wireguard


CONF = cfg.CONF
LOG = logging.getLogger(__name__)
DEFAULT_CONFIG_FILE = '/etc/edge-sdk/edge-sdk.conf'


REGISTER_DESCRIPTION = """\
Enroll this device through the enrollment service (service type
"inventory") with its owner's credentials (OS_* variables or OS_CLOUD):
make the channels' keys in the state directory, enroll a hardware item
of type "device" named [edge_sdk] device_name with their public keys,
wait until the service has made the channels and an application
credential, and store that credential (the service shows its secret
once) in STATE_DIR/credential.json, mode 0600.  Afterwards the other
commands need no OS_* credentials.

Running it again is safe: it adopts the item of this name (sending the
keys again if they changed) and keeps the stored credential.  When the
secret was shown elsewhere and is not stored here, --rotate-credential
has a new credential made.

Example, as root on the new device:

    OS_CLOUD=mycloud edge-sdk register --machine-name raspberrypi4-64 \\
        --contact-email owner@example.org
    edge-sdk up
"""


def add_command_parsers(subparsers):
    p = subparsers.add_parser(
        'register', help="enroll this device with its owner's "
                         'credentials and store the credential it gets',
        description=REGISTER_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--machine-name', required=True,
                   help='what the machine is (free text, e.g. '
                        '"raspberrypi4-64")')
    p.add_argument('--contact-email', required=True,
                   help="the owner's contact (seen by the project only)")
    p.add_argument('--wait', type=float, default=120.0,
                   help='seconds to wait for the channels and the '
                        'credential (default 120)')
    p.add_argument('--rotate-credential', action='store_true',
                   help='have a new application credential made (the '
                        'old one stops working), e.g. when the secret '
                        'was shown elsewhere and is not stored here')
    p.add_argument('--take-over', action='store_true',
                   help='adopt a hardware item of this name even though '
                        'it has other keys (another device of the same '
                        'name then loses its channels)')
    p.add_argument('--json', action='store_true',
                   help='print the result as JSON')
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


def _auth_url(session):
    # What this device reached Keystone with: the service's own URL (in
    # the credential's details) may be one only the cloud can reach.
    return getattr(getattr(session, 'auth', None), 'auth_url', None)


def _register(settings, command):
    try:
        enrollment.check_registrable(settings)
    except ValueError as e:
        return _fail('bad configuration: %s' % e, 2)
    if not client_mod.credentials_given(CONF.os_cloud):
        return _fail("register needs the device owner's credentials: set "
                     'OS_CLOUD to a cloud of clouds.yaml, or the OS_AUTH_URL '
                     'and OS_USERNAME/OS_PASSWORD/OS_PROJECT_NAME variables')
    session, interface, region = client_mod.make_session(CONF.os_cloud)
    interface = interface or os.environ.get('OS_INTERFACE') or 'public'
    region = region or os.environ.get('OS_REGION_NAME')
    hardware = enrollment.HardwareClient(client_mod.make_adapter(
        session=session, interface=interface, region_name=region,
        service_type=enrollment.SERVICE_TYPE))
    say = LOG.info if command.json else print
    if settings.channel_subnets or settings.endpoint:
        say('note: [edge_sdk] channel_subnets and endpoint are not used by '
            "an enrolled device: the enrollment service's worker makes the "
            'channels')
    registration = enrollment.Registration(
        settings, hardware, auth_url=_auth_url(session), region_name=region,
        interface=interface, progress=say)
    hw = registration.run(command.machine_name, command.contact_email,
                          command.wait, rotate=command.rotate_credential,
                          take_over=command.take_over)
    record = registration.record
    # The credential must work from here, with the access it has.
    check = enrollment.HardwareClient(client_mod.make_adapter(
        session=enrollment.credential_session(record), interface=interface,
        region_name=region, service_type=enrollment.SERVICE_TYPE))
    if check.get(hw['uuid']) is None:
        raise enrollment.EnrollmentError(
            'the stored application credential cannot read hardware %s: '
            'ask the operator to check [credentials] access_rules of the '
            'enrollment service' % hw['uuid'])
    result = {'hardware_uuid': hw['uuid'], 'hardware_name': hw['name'],
              'channels': enrollment.channel_ids(hw),
              'application_credential_id': record[
                  'application_credential_id'],
              'credential_file': enrollment.credential_path(
                  settings.state_dir)}
    if command.json:
        print(json.dumps(result, indent=2, sort_keys=True))
    else:
        print('registered %s as hardware %s, channels %s; application '
              'credential %s in %s; now run "edge-sdk up"' % (
                  hw['name'], hw['uuid'], ', '.join(
                      '%s %s' % item for item in sorted(
                          result['channels'].items())),
                  result['application_credential_id'],
                  result['credential_file']))
    return 0


def channel_source(settings, cloud=None):
    """Where the channels come from (``sync.DirectChannels`` or
    ``enrollment.EnrolledChannels``) and with which credentials: those
    given (``cloud``, ``OS_CLOUD``, ``OS_*``), else the stored one.
    """
    record = enrollment.read_credential(settings.state_dir)
    if client_mod.credentials_given(cloud) or record is None:
        session, interface, region = client_mod.make_session(cloud)
    else:
        session = enrollment.credential_session(record)
        interface = record.get('interface')
        region = record.get('region_name')
    channels = client_mod.ChannelClient(client_mod.make_adapter(
        session=session, interface=interface, region_name=region))
    if record is None:
        return sync.DirectChannels(channels)
    if record['hardware_name'] != settings.device_name:
        LOG.warning('This device is enrolled as %(hw)s, not as its '
                    '[edge_sdk] device_name %(name)s: its channels are '
                    '%(hw)s\'s', {'hw': record['hardware_name'],
                                   'name': settings.device_name})
    hardware = enrollment.HardwareClient(client_mod.make_adapter(
        session=session, interface=interface, region_name=region,
        service_type=enrollment.SERVICE_TYPE))
    return enrollment.EnrolledChannels(hardware, channels,
                                       record['hardware_uuid'])


def run_command(settings):
    command = CONF.command
    if command.name == 'register':
        return _register(settings, command)
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
        client = channel_source(settings, CONF.os_cloud)
        if command.name == 'down':
            # Before any interface goes: the worker owns the channels.
            try:
                sync.check_deletable(client)
            except ValueError as e:
                return _fail(str(e), 2)
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
            enrollment.EnrollmentError, wireguard.ChannelNotReady,
            netdev.CommandFailed, ValueError, OSError) as e:
        return _fail(str(e))
