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

"""The cyborg-peripherals command, run as operators run it."""

import json
import os
import re
import select
import shutil
import subprocess
import sys

import fixtures
import testtools

from cyborg_peripherals.emulation import kit as kit_mod
from tests.functional import umockdev_fixture


CLI = [sys.executable, '-m', 'cyborg_peripherals.cmd.cli']
# The command with the agent's configuration file at a path of the test's
# choosing, as /etc/cyborg/cyborg.conf is on an agent's host.
CLI_WITH_AGENT_CONFIG = [
    sys.executable, '-c',
    'import sys; from cyborg_peripherals.cmd import cli; '
    'cli.AGENT_CONFIG_FILE = sys.argv[1]; sys.exit(cli.main(sys.argv[2:]))']


def ftdi_kit(serials):
    """FTDI adapters of one model whose serials differ only at the end."""
    kit = kit_mod.Kit()
    for i, serial in enumerate(serials):
        usb = kit.usb_device(str(i + 2), '0403', '6001', 'FTDI',
                             'FT232R USB UART', serial=serial)
        kit.tty(usb, 'ttyUSB%d' % i, 188)
    return kit


class TestDiscoverCommand(testtools.TestCase):

    def run_cli(self, *args, env=None):
        return subprocess.run(CLI + list(args), capture_output=True,
                              text=True, timeout=120, env=env)

    def test_emulated_json(self):
        # Re-executes itself under umockdev-wrapper when needed.
        env = {k: v for k, v in os.environ.items()
               if k not in ('LD_PRELOAD', 'UMOCKDEV_DIR')}
        out = self.run_cli('discover', '--emulated', '--format', 'json',
                           env=env)
        self.assertEqual(0, out.returncode, out.stderr)
        found = json.loads(out.stdout)
        self.assertEqual(10, len(found))
        for item in found:
            self.assertTrue({'name', 'class', 'identity', 'vendor_id',
                             'product_id', 'serial', 'nodes',
                             'resource_class', 'traits',
                             'attach_handle'} <= set(item))
            self.assertEqual('OCI', item['attach_handle']['type'])

    def test_emulated_table_shows_profile_groups(self):
        out = self.run_cli('discover', '--emulated')
        self.assertEqual(0, out.returncode, out.stderr)
        self.assertIn('CLASS', out.stdout.splitlines()[0])
        self.assertIn('/dev/video0 (81:0), /dev/video1 (81:1)', out.stdout)
        self.assertIn('"trait:CUSTOM_PERIPHERAL_MODEL_HACKRF_ONE": '
                      '"required"', out.stdout)

    def test_bad_configuration_is_one_line_error(self):
        conf = self.useFixture(fixtures.TempDir()).join('bad.conf')
        with open(conf, 'w') as f:
            f.write('[peripherals]\nenabled_classes = Bad-Name\n')
        out = self.run_cli('--config-file', conf, 'discover')
        self.assertConfigError(out, '[peripherals] enabled_classes')


    def write_conf(self, text, name='cyborg-peripherals.conf'):
        path = self.useFixture(fixtures.TempDir()).join(name)
        with open(path, 'w') as f:
            f.write(text)
        return path

    def assertConfigError(self, out, *texts):
        self.assertEqual(1, out.returncode, out.stderr)
        self.assertIn('error: configuration', out.stderr)
        for text in texts:
            self.assertIn(text, out.stderr)
        self.assertNotIn('Traceback', out.stderr)

    def test_help_starts_with_a_description_and_the_commands(self):
        out = self.run_cli('--help')
        self.assertEqual(0, out.returncode, out.stderr)
        head = out.stdout.split('options:')[0]
        self.assertIn('peripherals of this host', head)
        self.assertIn('"discover"', head)
        self.assertIn('"watch"', head)
        self.assertIn('/etc/cyborg/cyborg.conf', head)
        # A usage line, not ten lines of logging options.
        self.assertNotIn('--log-file', head)

    def test_missing_config_file_is_one_line_error(self):
        missing = os.path.join(self.useFixture(fixtures.TempDir()).path,
                               'missing.conf')
        out = self.run_cli('--config-file', missing, 'discover')
        self.assertConfigError(out, missing)

    def test_unparsable_config_file_is_one_line_error(self):
        conf = self.write_conf('[peripherals\nenabled_classes = serial\n')
        out = self.run_cli('--config-file', conf, 'discover')
        self.assertConfigError(out, conf)

    def test_bad_option_value_is_one_line_error(self):
        conf = self.write_conf('[peripheral_class:serial]\n'
                               'group_by = sideways\n')
        out = self.run_cli('--config-file', conf, 'discover')
        self.assertConfigError(out, 'group_by', 'sideways')

    def test_relative_cdi_spec_dir_is_one_line_error(self):
        conf = self.write_conf('[peripherals]\ncdi_spec_dir = run/cdi\n')
        out = self.run_cli('--config-file', conf, 'discover', '--write-cdi')
        self.assertConfigError(out, '[peripherals] cdi_spec_dir',
                               'run/cdi')

    def test_reads_the_agent_configuration_by_default(self):
        start = kit_mod.Kit()
        cam = start.usb_device('2', '046d', '082d', 'Logitech', 'C920',
                               serial='A1')
        start.camera(cam, 0)
        usb = start.usb_device('3', '0403', '6001', 'FTDI', 'FT232R',
                               serial='A2')
        start.tty(usb, 'ttyUSB0', 188)
        bed = self.useFixture(umockdev_fixture.Testbed(start))
        env = dict(os.environ, UMOCKDEV_DIR=bed.testbed.get_root_dir())
        agent_conf = self.write_conf('[DEFAULT]\nhost = edge-7\n'
                                     '[peripherals]\n'
                                     'enabled_classes = serial\n',
                                     'cyborg.conf')

        def discover(*args):
            out = subprocess.run(
                CLI_WITH_AGENT_CONFIG + [agent_conf] + list(args) +
                ['discover', '--format', 'json'], capture_output=True,
                text=True, timeout=120, env=env)
            self.assertEqual(0, out.returncode, out.stderr)
            return json.loads(out.stdout)

        def classes(*args):
            return [p['class'] for p in discover(*args)]

        self.assertEqual(['serial'], classes())
        # Named as the agent names its deployables.
        (serial,) = discover()
        self.assertTrue(serial['name'].startswith('edge-7_serial_'),
                        serial['name'])
        # --config-file replaces it.
        own = self.write_conf('[peripherals]\nenabled_classes = camera\n')
        self.assertEqual(['camera'], classes('--config-file', own))
        # No agent configuration: the defaults.
        os.unlink(agent_conf)
        self.assertEqual(['camera', 'serial'], sorted(classes()))

    def test_own_configuration_skips_the_agent_configuration_note(self):
        agent_conf = self.write_conf('[DEFAULT]\nhost = edge-7\n',
                                     'cyborg.conf')
        os.chmod(agent_conf, 0)
        own = self.write_conf('[peripherals]\nenabled_classes = serial\n')
        # Root reads any file; without these capabilities it cannot, as
        # an operator who is not the agent's user cannot.
        as_user = (['setpriv',
                    '--bounding-set=-dac_override,-dac_read_search']
                   if os.geteuid() == 0 else [])

        def discover(*args):
            out = subprocess.run(
                as_user + CLI_WITH_AGENT_CONFIG + [agent_conf] +
                list(args) + ['discover', '--format', 'json'],
                capture_output=True, text=True, timeout=120)
            self.assertEqual(0, out.returncode, out.stderr)
            return out.stderr

        note = 'note: cannot read %s' % agent_conf
        self.assertIn(note, discover())
        self.assertNotIn(note, discover('--config-file', own))
        self.assertNotIn(note, discover('--config-dir',
                                        os.path.dirname(own)))

    def test_table_shows_whole_identities(self):
        serials = ['FT%s%d' % ('0' * 40, i) for i in (1, 2)]
        bed = self.useFixture(umockdev_fixture.Testbed(ftdi_kit(serials)))
        env = dict(os.environ, UMOCKDEV_DIR=bed.testbed.get_root_dir())
        out = self.run_cli('discover', env=env)
        self.assertEqual(0, out.returncode, out.stderr)
        rows = [line for line in out.stdout.splitlines()
                if line.startswith('serial ')]
        self.assertEqual(2, len(rows))
        for serial in serials:
            self.assertEqual(1, sum(serial in row for row in rows), rows)

    def test_emulated_spec_never_goes_to_the_host_cdi_dir(self):
        host_cdi = os.path.join(self.useFixture(fixtures.TempDir()).path,
                                'cdi')
        conf = self.write_conf('[peripherals]\ncdi_spec_dir = %s\n'
                               % host_cdi)
        out = self.run_cli('--config-file', conf, 'discover', '--emulated',
                           '--write-cdi', '--format', 'json')
        self.assertEqual(0, out.returncode, out.stderr)
        self.assertFalse(os.path.exists(host_cdi))
        m = re.search(r'writing the CDI spec of the emulated kit to (\S+), '
                      r'not to \[peripherals\] cdi_spec_dir', out.stderr)
        self.assertIsNotNone(m, out.stderr)
        scratch = m.group(1)
        self.addCleanup(shutil.rmtree, scratch)
        with open(os.path.join(scratch, 'openstack.org-peripheral.json')) as f:
            spec = json.load(f)
        self.assertEqual(len(json.loads(out.stdout)), len(spec['devices']))


class TestWatchCommand(testtools.TestCase):

    def test_prints_hotplug_changes(self):
        start = kit_mod.Kit()
        cam = start.usb_device('2', '046d', '082d', 'Logitech', 'C920',
                               serial='W1')
        start.camera(cam, 0)
        bed = self.useFixture(umockdev_fixture.Testbed(start))
        env = dict(os.environ,
                   UMOCKDEV_DIR=bed.testbed.get_root_dir())
        proc = subprocess.Popen(
            CLI + ['watch', '--format', 'json', '--max-changes', '1'],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=env)
        self.addCleanup(_stop, proc)
        snapshot = json.loads(self.read_line(proc))
        self.assertEqual('snapshot', snapshot['event'])
        self.assertEqual(['camera'], [p['class'] for p in
                                      snapshot['peripherals']])
        kit = kit_mod.Kit(first_devnum=10)
        usb = kit.usb_device('3', '0403', '6001', 'FTDI', 'FT232R',
                             serial='W2')
        kit.tty(usb, 'ttyUSB0', 188)
        bed.plug(kit)
        change = json.loads(self.read_line(proc))
        self.assertEqual('change', change['event'])
        self.assertEqual(['serial'], [p['class'] for p in change['added']])
        self.assertEqual(0, proc.wait(timeout=30))

    def read_line(self, proc):
        # Bounded, so a watcher that never prints fails the test.
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        if not ready:
            self.fail('watch printed nothing in 30 s; stderr: %s'
                      % _stop(proc))
        return proc.stdout.readline()


def _stop(proc):
    """Kill ``proc`` and reap it (a zombie child misleads later tests of
    this process); return what it wrote to stderr.
    """
    proc.kill()
    return proc.communicate()[1]
