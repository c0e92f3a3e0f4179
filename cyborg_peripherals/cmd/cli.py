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

"""``cyborg-peripherals``: see what this host offers, and follow changes.

    cyborg-peripherals discover [--format table|json] [--emulated]
                                [--write-cdi]
    cyborg-peripherals watch [--format table|json] [--write-cdi]
                             [--max-changes N]

Without ``--config-file`` or ``--config-dir`` the command reads the
Cyborg agent's configuration when it can, so it shows what the agent
would report.
"""

import json
import os
import sys
import tempfile
import threading

import pyudev
from oslo_config import cfg
from oslo_log import log as logging
from oslo_privsep import priv_context

from cyborg_peripherals import conf
from cyborg_peripherals import privileged
from cyborg_peripherals.cdi import publisher as publisher_mod
from cyborg_peripherals.cdi import writer
from cyborg_peripherals.cmd import render
from cyborg_peripherals.conf import peripherals as peripherals_conf
from cyborg_peripherals.discovery import hotplug
from cyborg_peripherals.discovery import inventory as inventory_mod
from cyborg_peripherals.emulation import kit as kit_mod
from cyborg_peripherals.emulation import testbed as testbed_mod


CONF = conf.CONF
LOG = logging.getLogger(__name__)

#: Read when no --config-file is given, as cyborg-agent reads it.
AGENT_CONFIG_FILE = '/etc/cyborg/cyborg.conf'

USAGE = '%(prog)s [--config-file PATH] [--debug] {discover,watch} ...'

DESCRIPTION = (
    'Show the peripherals of this host as the Cyborg agent\'s '
    'peripheral_driver finds them, and the device profile groups that '
    'match them. Commands: "discover" lists them once (--emulated: those '
    'of a bundled emulated edge kit instead); "watch" prints them, then '
    'each change as devices are plugged and unplugged. "%(prog)s COMMAND '
    '--help" shows the options of a command. Without --config-file or '
    '--config-dir, the Cyborg agent\'s configuration ('
    + AGENT_CONFIG_FILE + ') is read if it exists.')


def _add_common(parser):
    parser.add_argument('--format', choices=('table', 'json'),
                        default='table', help='output format')
    parser.add_argument('--write-cdi', action='store_true',
                        help='also write the CDI spec into '
                             '[peripherals] cdi_spec_dir (needs root)')


def add_command_parsers(subparsers):
    discover = subparsers.add_parser(
        'discover', help='list the peripherals of this host')
    _add_common(discover)
    discover.add_argument('--emulated', action='store_true',
                          help='discover the bundled emulated edge kit '
                               '(umockdev) instead of this host')
    discover.set_defaults(func=do_discover)
    watch = subparsers.add_parser(
        'watch', help='print peripherals as they are plugged and unplugged')
    _add_common(watch)
    watch.add_argument('--max-changes', type=int, default=0,
                       help='exit after this many changes (0: never)')
    watch.set_defaults(func=do_watch)


command_opt = cfg.SubCommandOpt('command', title='Commands',
                                handler=add_command_parsers)

# Cyborg's own option, read from the agent's configuration: the host
# name the agent gives its deployables.
agent_host_opt = cfg.StrOpt('host', help='The Cyborg agent\'s host name.')


def _inventory():
    classes = peripherals_conf.load_classes(CONF)
    return inventory_mod.Inventory(classes, peripherals_conf.host(CONF))


def _scratch_publisher():
    """A publisher into a new directory, for the emulated kit's spec.

    Its devices are not this host's: in the host's CDI directory their
    spec would replace the real one that containers are given.
    """
    scratch = tempfile.mkdtemp(prefix='cyborg-peripherals-emulated-')
    print('note: --emulated: writing the CDI spec of the emulated kit to '
          '%s, not to [peripherals] cdi_spec_dir (%s)'
          % (scratch, CONF.peripherals.cdi_spec_dir), file=sys.stderr)
    return publisher_mod.SpecPublisher(scratch, write=writer.atomic_write,
                                       remove=writer.remove)


def _publisher():
    if not CONF.command.write_cdi:
        return None
    if getattr(CONF.command, 'emulated', False):
        return _scratch_publisher()
    pub = publisher_mod.SpecPublisher.from_config(CONF)
    if os.geteuid() == 0:
        # Already root: fork the privileged daemon, no sudo needed.
        privileged.cdi_pctxt.start(method=priv_context.Method.FORK)
    return pub


def do_discover():
    keep = None
    if CONF.command.emulated:
        # The testbed must exist before pyudev touches /sys.
        keep = testbed_mod.new_testbed()
        testbed_mod.load(keep, kit_mod.edge_kit())
    peripherals = _inventory().scan(pyudev.Context())
    pub = _publisher()
    if pub is not None:
        try:
            pub.publish(peripherals)
        except Exception as e:
            print('error: could not write the CDI spec in %s: %s'
                  % (pub.directory, e), file=sys.stderr)
            return 1
    if CONF.command.format == 'json':
        print(json.dumps([p.as_dict() for p in peripherals], indent=2))
    else:
        print(render.table(peripherals))
    return 0


def do_watch():
    fmt = CONF.command.format
    left = [CONF.command.max_changes]
    done = threading.Event()
    printed = threading.Event()

    def on_change(change):
        # The watcher's thread may see a change before the snapshot is
        # out; changes follow it.
        printed.wait()
        print(render.change(change, fmt), flush=True)
        left[0] -= 1
        if left[0] == 0:
            done.set()

    watcher = hotplug.Watcher(_inventory(), publisher=_publisher())
    watcher.start()
    # One step, so that a device plugged meanwhile is in the snapshot or
    # in a change, never lost between them.
    print(render.snapshot(watcher.listen(on_change), fmt), flush=True)
    printed.set()
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        watcher.stop()
    return 0


def _default_config_files(argv):
    """The agent's configuration, if this user may read it.

    Nothing when the command line names its own configuration: the agent's
    is then neither read nor worth a note.
    """
    if any(arg.startswith(('--config-file', '--config-dir'))
           for arg in argv):
        return []
    if os.access(AGENT_CONFIG_FILE, os.R_OK):
        return [AGENT_CONFIG_FILE]
    if os.path.exists(AGENT_CONFIG_FILE):
        print('note: cannot read %s; using the defaults (run as the agent\'s '
              'user, or give --config-file)' % AGENT_CONFIG_FILE,
              file=sys.stderr)
    return []


def _error(message):
    print('error: %s' % message, file=sys.stderr)
    return 1


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if '--emulated' in argv and not testbed_mod.under_wrapper():
        try:
            testbed_mod.reexec_under_wrapper(
                ['-m', 'cyborg_peripherals.cmd.cli'] + list(argv))
        except testbed_mod.NotAvailable as e:
            print('error: %s' % e, file=sys.stderr)
            return 2
    logging.register_options(CONF)
    # Standard output carries the data (tables, JSON); logs go to stderr.
    CONF.set_default('use_stderr', True)
    logging.set_defaults(default_log_levels=logging.get_default_log_levels()
                         + ['oslo.privsep.daemon=WARN'])
    CONF.register_cli_opt(command_opt)
    CONF.register_opt(agent_host_opt)
    try:
        CONF(argv, project='cyborg-peripherals', usage=USAGE,
             description=DESCRIPTION,
             default_config_files=_default_config_files(argv))
    except cfg.Error as e:
        return _error('configuration: %s' % e)
    logging.setup(CONF, 'cyborg-peripherals')
    try:
        return CONF.command.func()
    except (peripherals_conf.ConfigError, cfg.Error) as e:
        return _error('configuration (%s): %s'
                      % (', '.join(CONF.config_file) or 'defaults', e))
    except testbed_mod.NotAvailable as e:
        print('error: %s' % e, file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
