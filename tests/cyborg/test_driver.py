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

"""peripheral_driver, loaded as cyborg-agent loads it, into a real conductor.

The driver runs real discovery (pyudev and libudev on a umockdev testbed)
and its report goes through the patched Cyborg's conductor code that
stores devices, deployables, attributes and attach handles, on SQLite and
on MariaDB.  Only Placement is stood in for: no Placement service runs in
these tests (the all-in-one cloud brings one).
"""

import json
import time

# cyborg.tests selects oslo.service's threading backend first.
import cyborg.tests  # noqa: F401
import fixtures
import keystonemiddleware.auth_token  # noqa: F401
from cyborg import objects
from cyborg.common import constants
from cyborg.conductor import manager
from cyborg.tests import base as cyborg_base
from stevedore import driver as stevedore_driver

# Registers [peripherals], as the driver's import does in cyborg-agent.
from cyborg_peripherals import conf  # noqa: F401
from cyborg_peripherals import contract
from cyborg_peripherals import privileged
from cyborg_peripherals.emulation import kit as kit_mod
from tests.cyborg import cyborg_db
from tests.cyborg import placement_stub
from tests.functional import umockdev_fixture


def load_driver():
    """As ResourceTracker._initialize_drivers does, by entry-point name."""
    return stevedore_driver.DriverManager(
        namespace='cyborg.accelerator.driver', name='peripheral_driver',
        invoke_on_load=True).driver


class _DriverTests:

    def setUp(self):
        super().setUp()
        self.placement = self.useFixture(
            placement_stub.CyborgWithoutPlacement(self.DATABASE)).placement
        self.cdi_dir = self.useFixture(fixtures.TempDir()).path
        self.flags(cdi_spec_dir=self.cdi_dir, group='peripherals')
        # Removals at once, unless a test is about the grace period.
        self.flags(removal_grace_period=0, group='peripherals')
        # The entrypoints run in this process: cyborg-agent would reach
        # them through sudo and privsep-helper, which tests do not have.
        privileged.cdi_pctxt.set_client_mode(False)
        self.addCleanup(privileged.cdi_pctxt.set_client_mode, True)
        self.bed = self.useFixture(umockdev_fixture.Testbed(self.kit()))

    def kit(self):
        return kit_mod.edge_kit()

    def agent(self, host):
        """A driver of one host, started the way the agent uses it."""
        self.flags(host=host)
        drv = load_driver()
        devices = drv.discover()
        self.addCleanup(drv._watcher.stop)
        return drv, devices

    def report(self, host, devices):
        conductor = manager.ConductorManager('cyborg-conductor', host)
        conductor.report_data(self.context, host, devices)

    def stored(self, host):
        rows = {}
        for device in objects.Device.get_list_by_hostname(self.context,
                                                          host):
            cpid = objects.ControlpathID.get_by_device_id(self.context,
                                                          device.id)
            for dep in objects.Deployable.get_list_by_device_id(
                    self.context, device.id):
                handles = objects.AttachHandle.get_ah_list_by_deployable_id(
                    self.context, dep.id)
                attrs = objects.Attribute.get_by_deployable_id(
                    self.context, dep.id)
                rows[dep.name] = {
                    'device': (device.uuid, device.type, device.vendor,
                               device.model),
                    'cpid': (cpid.uuid, cpid.cpid_type, cpid.cpid_info),
                    'deployable': (dep.uuid, dep.rp_uuid,
                                   dep.num_accelerators),
                    'attributes': sorted((a.key, a.value) for a in attrs),
                    'handles': sorted((h.uuid, h.attach_type,
                                       h.attach_info, h.in_use)
                                      for h in handles)}
        return rows

    def plug_ftdi_back(self):
        """The edge kit's FTDI adapter, back in its port as ttyUSB1."""
        kit = kit_mod.Kit(first_devnum=60)
        kit.minor(188)
        usb = kit.usb_device('2', '0403', '6001', 'FTDI', 'FT232R USB UART',
                             serial='A10K5Z3B')
        kit.tty(usb, 'ttyUSB1', 188)
        self.bed.plug(kit)

    def wait_for(self, drv, predicate):
        # The watcher thread applies udev events; bound the wait so a
        # broken watcher fails instead of hanging.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            devices = drv.discover()
            if predicate(devices):
                return devices
            time.sleep(0.05)
        self.fail('the driver never saw the udev change')

    def test_peripherals_are_stored(self):
        drv, devices = self.agent('edge-1')
        self.report('edge-1', devices)
        rows = self.stored('edge-1')
        self.assertEqual(10, len(rows))
        for name, row in rows.items():
            self.assertTrue(name.startswith('edge-1_'))
            self.assertEqual(constants.DEVICE_PERIPHERAL, row['device'][1])
            self.assertEqual(constants.CPID_TYPE_PERIPHERAL, row['cpid'][1])
            ((_uuid, ah_type, info, in_use),) = row['handles']
            self.assertEqual(contract.ATTACH_TYPE, ah_type)
            self.assertFalse(in_use)
            decoded = contract.AttachInfo.decode(info)
            self.assertEqual({'cdi_device': decoded.cdi_device},
                             json.loads(row['cpid'][2]))
            rc = dict(row['attributes'])['rc']
            self.assertTrue(rc.startswith('CUSTOM_PERIPHERAL_'))
            self.assertEqual({rc: {'total': 1, 'max_unit': 1}},
                             self.placement.inventories[row['deployable'][1]])
        self.assertEqual(10, len(self.placement.providers))

    def test_replug_under_new_kernel_names_changes_nothing(self):
        drv, devices = self.agent('edge-1')
        self.report('edge-1', devices)
        before = self.stored('edge-1')
        self.bed.unplug_usb('6001')
        self.wait_for(drv, lambda d: len(d) == 9)
        self.plug_ftdi_back()
        devices = self.wait_for(drv, lambda d: len(d) == 10)
        self.report('edge-1', devices)
        self.assertEqual(before, self.stored('edge-1'))
        # The host's CDI spec follows the new node.
        spec_text = self.spec_text()
        self.assertIn('/dev/ttyUSB1', spec_text)
        self.assertNotIn('/dev/ttyUSB0', spec_text)

    def spec_text(self):
        with open('%s/openstack.org-peripheral.json' % self.cdi_dir) as f:
            return f.read()

    def wait_for_spec(self, predicate):
        deadline = time.monotonic() + 10
        while not predicate(self.spec_text()):
            if time.monotonic() > deadline:
                self.fail('the CDI spec never showed the udev change')
            time.sleep(0.05)

    def test_report_between_unplug_and_replug_changes_nothing(self):
        self.flags(removal_grace_period=3600, group='peripherals')
        drv, devices = self.agent('edge-1')
        self.report('edge-1', devices)
        before = self.stored('edge-1')
        self.bed.unplug_usb('6001')
        # The spec drops the node at once, so no container gets it ...
        self.wait_for_spec(lambda text: '/dev/ttyUSB0' not in text)
        # ... but an agent report now keeps the device in Cyborg.
        devices = drv.discover()
        self.assertEqual(10, len(devices))
        self.report('edge-1', devices)
        self.assertEqual(before, self.stored('edge-1'))
        self.plug_ftdi_back()
        self.wait_for_spec(lambda text: '/dev/ttyUSB1' in text)
        devices = drv.discover()
        # Back, and reported once: not also as the vanished one.
        names = [d.deployable_list[0].name for d in devices]
        self.assertEqual(sorted(before), sorted(names))
        self.report('edge-1', devices)
        self.assertEqual(before, self.stored('edge-1'))

    def test_removal_grace_period_is_in_seconds(self):
        self.flags(removal_grace_period=2, group='peripherals')
        drv, devices = self.agent('edge-1')
        self.assertEqual(10, len(devices))
        self.bed.unplug_usb('6089')
        deadline = time.monotonic() + 10
        while len(drv._watcher.peripherals) != 9:
            if time.monotonic() > deadline:
                self.fail('the watcher never saw the unplug')
            time.sleep(0.05)
        # The grace starts when discover() first misses the device: it
        # is not dropped at once ...
        self.assertEqual(10, len(drv.discover()))
        self.assertEqual(10, len(drv.discover()))
        # ... and is dropped after two seconds (not two minutes).
        self.wait_for(drv, lambda d: len(d) == 9)

    def test_relative_cdi_spec_dir_is_a_logged_configuration_error(self):
        log = self.useFixture(fixtures.FakeLogger())
        self.flags(cdi_spec_dir='run/cdi', group='peripherals')
        drv = load_driver()
        self.assertEqual([], drv.discover())
        self.assertIn('Peripheral discovery is misconfigured: '
                      '[peripherals] cdi_spec_dir', log.output)
        self.assertIn('run/cdi', log.output)

    def test_bad_option_value_is_a_logged_configuration_error(self):
        log = self.useFixture(fixtures.FakeLogger())
        # As if cyborg.conf said so: the value fails only when read.
        self.cfg_fixture.conf.clear_override('removal_grace_period',
                                             group='peripherals')
        self.cfg_fixture.load_raw_values(group='peripherals',
                                         removal_grace_period='soon')
        drv, devices = self.agent('edge-1')
        self.assertEqual([], devices)
        self.assertIn('Peripheral discovery is misconfigured', log.output)
        self.assertIn('removal_grace_period', log.output)

    def test_removed_device_is_removed(self):
        drv, devices = self.agent('edge-1')
        self.report('edge-1', devices)
        before = self.stored('edge-1')
        self.bed.unplug_usb('6089')
        devices = self.wait_for(drv, lambda d: len(d) == 9)
        self.report('edge-1', devices)
        after = self.stored('edge-1')
        gone = set(before) - set(after)
        self.assertEqual(1, len(gone))
        self.assertIn('HackRF', gone.pop())
        self.assertEqual({k: v for k, v in before.items() if k in after},
                         after)
        self.assertEqual(9, len(self.placement.providers))

    def test_unchanged_discovery_reuses_its_report(self):
        drv, devices = self.agent('edge-1')
        again = drv.discover()
        self.assertEqual([id(d) for d in devices], [id(d) for d in again])

    def test_two_hosts_with_identical_devices_do_not_collide(self):
        _drv1, devices1 = self.agent('edge-1')
        self.report('edge-1', devices1)
        _drv2, devices2 = self.agent('edge-2')
        self.report('edge-2', devices2)
        one, two = self.stored('edge-1'), self.stored('edge-2')
        self.assertEqual(10, len(one))
        self.assertEqual(10, len(two))
        self.assertFalse(set(one) & set(two))
        uuids = lambda rows, key: {r[key][0] for r in rows.values()}  # noqa
        for key in ('device', 'cpid', 'deployable'):
            self.assertFalse(uuids(one, key) & uuids(two, key))
        self.assertFalse({r['deployable'][1] for r in one.values()} &
                         {r['deployable'][1] for r in two.values()})
        self.assertEqual(20, len(self.placement.providers))


class SQLiteDriverTest(_DriverTests, cyborg_base.TestCase):
    DATABASE = cyborg_db.SQLiteDatabase


class MariaDBDriverTest(_DriverTests, cyborg_base.TestCase):
    DATABASE = cyborg_db.MariaDBDatabase
