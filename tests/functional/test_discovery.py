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

"""Discovery with real libudev (through pyudev) on umockdev testbeds."""

import re

import fixtures

from cyborg_peripherals import conf
from cyborg_peripherals import contract
from cyborg_peripherals.cdi import names as cdi_names
from cyborg_peripherals.cdi import publisher
from cyborg_peripherals.cdi import spec
from cyborg_peripherals.conf import peripherals as peripherals_conf
from cyborg_peripherals.discovery import inventory
from cyborg_peripherals.emulation import kit as kit_mod
from tests import base
from tests.functional import umockdev_fixture


NAME_RE = re.compile(r'^[A-Za-z0-9_-]{1,200}$')
TRAIT_RE = re.compile(r'^(OWNER_CYBORG|CUSTOM_[A-Z0-9_]{1,248})$')


class DiscoveryTestCase(base.TestCase):

    def scan(self, kit=None, host='edge-1'):
        if kit is not None:
            self.bed = self.useFixture(umockdev_fixture.Testbed(kit))
        inv = inventory.Inventory(peripherals_conf.load_classes(conf.CONF),
                                  host)
        return inv.scan(self.bed.context())

    def assertValidNames(self, peripherals):
        for p in peripherals:
            self.assertRegex(p.name, NAME_RE)
            self.assertTrue(cdi_names.is_valid_device_name(p.cdi_name),
                            p.cdi_name)
            for trait in p.traits + (p.resource_class,):
                self.assertRegex(trait, TRAIT_RE)
            decoded = contract.AttachInfo.decode(p.attach_info.encode())
            self.assertEqual(p.attach_info, decoded)
            self.assertLessEqual(len(p.attach_info.encode()),
                                 contract.MAX_ATTACH_INFO_LEN)


class TestEdgeKit(DiscoveryTestCase):

    def setUp(self):
        super().setUp()
        self.logs = self.useFixture(fixtures.FakeLogger())
        self.found = self.scan(kit_mod.edge_kit())
        self.by_class = {}
        for p in self.found:
            self.by_class.setdefault(p.device_class, []).append(p)

    def nodes(self, cls):
        return sorted(n.path for p in self.by_class[cls] for n in p.nodes)

    def test_classes_and_counts(self):
        self.assertEqual(
            {'audio': 1, 'camera': 1, 'gpio': 1, 'hid': 1, 'i2c': 1,
             'sdr': 2, 'serial': 2, 'spi': 1},
            {c: len(ps) for c, ps in self.by_class.items()})

    def test_camera_groups_metadata_node(self):
        # The UVC metadata node joins the camera; it is no camera itself.
        self.assertEqual(['/dev/video0', '/dev/video1'],
                         self.nodes('camera'))

    def test_sound_card_is_one_peripheral(self):
        self.assertEqual(['/dev/snd/controlC1', '/dev/snd/pcmC1D0c',
                          '/dev/snd/pcmC1D0p'], self.nodes('audio'))

    def test_sdrs_use_usbfs_nodes_and_model_traits(self):
        sdrs = {p.product_id: p for p in self.by_class['sdr']}
        self.assertEqual({'6089', '2838'}, set(sdrs))
        for p in sdrs.values():
            self.assertEqual(1, len(p.nodes))
            self.assertRegex(p.nodes[0].path, r'^/dev/bus/usb/001/\d{3}$')
            self.assertEqual(189, p.nodes[0].major)
        self.assertIn('CUSTOM_PERIPHERAL_MODEL_HACKRF_ONE',
                      sdrs['6089'].traits)
        self.assertIn('CUSTOM_PERIPHERAL_MODEL_RTL2832U', sdrs['2838'].traits)
        self.assertIn('CUSTOM_PERIPHERAL_USB_1D50_6089', sdrs['6089'].traits)

    def test_gpio_major_comes_from_udev(self):
        (gpio,) = self.by_class['gpio']
        self.assertEqual([('/dev/gpiochip0', 254, 0)],
                         [(n.path, n.major, n.minor) for n in gpio.nodes])

    def test_not_offered(self):
        paths = {n.path for p in self.found for n in p.nodes}
        # Keyboard and mouse hidraw, the disk, consoles, on-board audio.
        for path in ('/dev/hidraw1', '/dev/hidraw2', '/dev/sda',
                     '/dev/ttyS0', '/dev/tty0', '/dev/console',
                     '/dev/snd/controlC0'):
            self.assertNotIn(path, paths)
        # Hubs are USB devices too, but no SDR.
        self.assertEqual(2, len(self.by_class['sdr']))
        self.assertEqual(['/dev/hidraw0'], self.nodes('hid'))

    def test_identity_from_serial_else_port(self):
        serial = {p.vendor_id: p for p in self.by_class['serial']}
        self.assertEqual('serial:FTDI_FT232R_USB_UART_A10K5Z3B:if00',
                         serial['0403'].identity)
        self.assertEqual('A10K5Z3B', serial['0403'].serial)
        (relay,) = self.by_class['hid']
        self.assertIsNone(relay.serial)
        self.assertEqual('path:pci-0000:00:14.0-usb-0:4', relay.identity)
        (audio,) = self.by_class['audio']
        self.assertEqual('path:pci-0000:00:14.0-usb-0:1.4', audio.identity)

    def test_names_are_valid_and_host_scoped(self):
        self.assertValidNames(self.found)
        for p in self.found:
            self.assertTrue(p.name.startswith('edge-1_%s_' % p.device_class))
        self.assertEqual(len(self.found), len({p.name for p in self.found}))
        self.assertEqual(len(self.found),
                         len({p.cdi_name for p in self.found}))

    def test_same_devices_other_host_other_names_same_cdi_names(self):
        inv = inventory.Inventory(peripherals_conf.load_classes(conf.CONF),
                                  'edge-2')
        other = inv.scan(self.bed.context())
        self.assertEqual([p.identity for p in self.found],
                         [p.identity for p in other])
        self.assertFalse({p.name for p in self.found} &
                         {p.name for p in other})
        self.assertEqual({p.cdi_name for p in self.found},
                         {p.cdi_name for p in other})

    def test_rescan_is_identical_down_to_spec_bytes(self):
        again = self.scan()
        self.assertEqual(self.found, again)
        self.assertEqual(publisher.render_peripherals(self.found),
                         publisher.render_peripherals(again))

    def test_cdi_spec_describes_every_node(self):
        doc = spec.parse(publisher.render_peripherals(self.found))
        self.assertEqual(contract.CDI_KIND, doc.kind)
        # Only device nodes with a letter-first name: the oldest version.
        self.assertEqual('0.3.0', doc.version)
        (cam,) = self.by_class['camera']
        edits = doc.device(cam.cdi_name).edits
        self.assertEqual(
            [('/dev/video0', 'c', 81, 0, 'rw'),
             ('/dev/video1', 'c', 81, 1, 'rw')],
            [(n.path, n.type, n.major, n.minor, n.permissions)
             for n in edits.device_nodes])
        for node in edits.device_nodes:
            # Ownership and mode come from the host node.
            self.assertIsNotNone(node.uid)
            self.assertIsNotNone(node.gid)
            self.assertIsNotNone(node.file_mode)

    def test_json_fields(self):
        (ftdi,) = [p for p in self.by_class['serial']
                   if p.vendor_id == '0403']
        data = ftdi.as_dict()
        self.assertEqual(
            {'name', 'class', 'identity', 'vendor_id', 'product_id',
             'serial', 'vendor', 'model', 'nodes', 'resource_class',
             'traits', 'attach_handle'}, set(data))
        self.assertEqual([{'path': '/dev/ttyUSB0', 'type': 'c',
                           'major': 188, 'minor': 0}], data['nodes'])
        self.assertEqual('CUSTOM_PERIPHERAL_SERIAL', data['resource_class'])
        self.assertEqual({'type': 'OCI', 'info': {
            'cdi_device': 'openstack.org/peripheral=' + ftdi.cdi_name,
            'class': 'serial', 'version': '1'}}, data['attach_handle'])


class TestIdentityEdgeCases(DiscoveryTestCase):

    def setUp(self):
        super().setUp()
        self.logs = self.useFixture(fixtures.FakeLogger())

    def test_identical_adapters_without_serial_are_two(self):
        kit = kit_mod.Kit()
        for port, tty in (('2', 'ttyUSB0'), ('3', 'ttyUSB1')):
            usb = kit.usb_device(port, '1a86', '7523', 'QinHeng',
                                 'CH340 serial converter')
            kit.tty(usb, tty, 188, driver='ch341')
        found = self.scan(kit)
        self.assertEqual(['path:pci-0000:00:14.0-usb-0:2:1.0',
                          'path:pci-0000:00:14.0-usb-0:3:1.0'],
                         sorted(p.identity for p in found))
        self.assertEqual([None, None], [p.serial for p in found])
        self.assertValidNames(found)

    def test_devices_claiming_one_serial_fall_back_to_ports(self):
        kit = kit_mod.Kit()
        for port in ('2', '3'):
            kit.usb_device(port, '0bda', '2838', 'Realtek', 'RTL2838UHIDIR',
                           serial='00000001')
        found = self.scan(kit)
        self.assertEqual(['path:pci-0000:00:14.0-usb-0:2',
                          'path:pci-0000:00:14.0-usb-0:3'],
                         sorted(p.identity for p in found))
        self.assertIn('2 sdr devices claim identity', self.logs.output)

    def test_multi_port_adapter_is_one_peripheral_per_port(self):
        kit = kit_mod.Kit()
        usb = kit.usb_device('2', '0403', '6011', 'FTDI',
                             'Quad RS232-HS', serial='FT4A5B6C')
        for i in range(4):
            kit.tty(usb, 'ttyUSB%d' % i, 188, iface=i)
        found = self.scan(kit)
        self.assertEqual(['serial:FTDI_Quad_RS232-HS_FT4A5B6C:if0%d' % i
                          for i in range(4)],
                         sorted(p.identity for p in found))

    def test_hostile_serials_give_valid_names(self):
        kit = kit_mod.Kit()
        serials = ['Ünïcødé-序列号', 'x' * 900, '../../etc/passwd',
                   'a b\tc', '::::', '-']
        for i, serial in enumerate(serials):
            usb = kit.usb_device(str(i + 2), '0403', '6001', 'FTDI',
                                 'FT232R', serial=serial)
            kit.tty(usb, 'ttyUSB%d' % i, 188)
        found = self.scan(kit)
        self.assertEqual(len(serials), len(found))
        self.assertValidNames(found)

    def test_bad_nodes_are_skipped_with_a_reason(self):
        kit = kit_mod.Kit()
        good = kit.usb_device('2', '2341', '0043', 'Arduino', 'Uno',
                              serial='A1')
        kit.tty(good, 'ttyACM0', 166, driver='cdc_acm')
        # udev lost MAJOR/MINOR and sysfs has no dev attribute.
        nomajor = kit.usb_device('3', '2341', '0043', 'Arduino', 'Uno',
                                 serial='A2')
        path = kit.tty(nomajor, 'ttyACM1', 166, driver='cdc_acm')
        para = kit.paragraphs[-1]
        self.assertEqual(path, para.sys_path)
        del para.props['MAJOR'], para.props['MINOR'], para.attrs['dev']
        # The node vanished between enumeration and lookup.
        gone = kit.usb_device('4', '2341', '0043', 'Arduino', 'Uno',
                              serial='A3')
        kit.tty(gone, 'ttyACM2', 166, driver='cdc_acm')
        kit.paragraphs[-1].node = None
        # A DEVNAME that escapes /dev.
        escape = kit.usb_device('5', '2341', '0043', 'Arduino', 'Uno',
                                serial='A4')
        kit.tty(escape, 'ttyACM3', 166, driver='cdc_acm')
        kit.paragraphs[-1].props['DEVNAME'] = '/dev/../etc/shadow'
        found = self.scan(kit)
        self.assertEqual([['/dev/ttyACM0']],
                         [[n.path for n in p.nodes] for p in found
                          if p.device_class == 'serial'])
        out = self.logs.output
        self.assertIn('no valid MAJOR/MINOR for /dev/ttyACM1', out)
        self.assertIn('cannot stat /dev/ttyACM2', out)
        self.assertIn("'/dev/../etc/shadow' is not under /dev", out)

    def test_node_that_is_another_device_is_skipped(self):
        kit = kit_mod.Kit()
        usb = kit.usb_device('2', '0403', '6001', 'FTDI', 'FT232R',
                             serial='B1')
        kit.tty(usb, 'ttyUSB0', 188)
        # udev says 188:7 but the node on disk is 188:0.
        kit.paragraphs[-1].props['MINOR'] = '7'
        self.assertEqual([], self.scan(kit))
        self.assertIn('is not the c device 188:7', self.logs.output)


class TestOperatorClasses(DiscoveryTestCase):

    def kit(self):
        kit = kit_mod.Kit()
        ftdi = kit.usb_device('2', '0403', '6001', 'FTDI', 'FT232R',
                              serial='F1')
        kit.tty(ftdi, 'ttyUSB0', 188)
        acm = kit.usb_device('3', '2341', '0043', 'Arduino', 'Uno',
                             serial='U1')
        kit.tty(acm, 'ttyACM0', 166, driver='cdc_acm')
        lidar = kit.usb_device('4', '10c4', 'ea60', 'Silicon Labs',
                               'CP2102 RPLIDAR', serial='L1')
        kit.tty(lidar, 'ttyUSB1', 188, driver='cp210x')
        return kit

    def test_new_class_from_configuration(self):
        self.flags(enabled_classes=['serial', 'lidar'])
        self.flags(group='peripheral_class:lidar', subsystem='tty',
                   group_by='usb_interface',
                   match=['ENV{ID_VENDOR_ID}==10c4',
                          'ENV{ID_MODEL_ENC}==*RPLIDAR*'],
                   traits=['CUSTOM_LIDAR'])
        found = self.scan(self.kit())
        lidar = [p for p in found if p.device_class == 'lidar']
        self.assertEqual(1, len(lidar))
        self.assertEqual('CUSTOM_PERIPHERAL_LIDAR', lidar[0].resource_class)
        self.assertIn('CUSTOM_LIDAR', lidar[0].traits)
        self.assertEqual('/dev/ttyUSB1', lidar[0].nodes[0].path)

    def test_narrowing_a_builtin_class(self):
        self.flags(enabled_classes=['serial'])
        self.flags(group='peripheral_class:serial',
                   match=['ENV{ID_USB_DRIVER}!=cp210x',
                          'KERNEL==ttyUSB*'])
        found = self.scan(self.kit())
        self.assertEqual(['/dev/ttyUSB0'],
                         [n.path for p in found for n in p.nodes])

    def test_disabled_classes_are_not_offered(self):
        self.flags(enabled_classes=['camera'])
        self.assertEqual([], self.scan(self.kit()))

    def test_bad_configuration_names_the_option(self):
        self.flags(enabled_classes=['lidar'])
        self.flags(group='peripheral_class:lidar', match=['SUBSYSTEM=tty'])
        e = self.assertRaises(peripherals_conf.ConfigError,
                              peripherals_conf.load_classes, conf.CONF)
        self.assertIn('[peripheral_class:lidar] match', str(e))


# HID report descriptors, as devices send them (HID 1.11, appendix B).
KEYBOARD = bytes.fromhex(
    '05010906a101050719e029e715002501750195088102950175088103'
    '95057501050819012905910295017503910395067508150025650507'
    '190029658100c0')
MOUSE = bytes.fromhex(
    '05010902a1010901a100050919012903150025019503750181029501'
    '750581030501093009311581257f750895028106c0c0')
RELAY = bytes.fromhex('06a0ff0901a1010901150026ff0075089508810209029508'
                      '9102c0')
# Media keys first, then a keyboard: a wireless dongle's second interface.
MEDIA_AND_KEYBOARD = bytes.fromhex(
    '050c0901a1011500250175019508810ac0') + KEYBOARD


class DescribedHID(kit_mod.Paragraph):
    """A HID device with its report descriptor.

    The descriptor is binary: umockdev's ``H:`` line, in hex.
    """

    def __init__(self, para, descriptor):
        super().__init__(para.sys_path, para.node, para.props, para.attrs)
        self.descriptor = descriptor

    def text(self):
        return super().text() + 'H: report_descriptor=%s\n' % (
            self.descriptor.hex())


def hid(kit, port, pid, index, descriptor):
    """A USB HID device of no boot protocol, described by ``descriptor``."""
    usb = kit.usb_device(port, '05e0', pid, 'Acme', 'HID %s' % pid)
    node = kit.hidraw(usb, index)
    hid_path = node.rsplit('/', 2)[0]
    (i,) = [i for i, p in enumerate(kit.paragraphs)
            if p.sys_path == hid_path]
    kit.paragraphs[i] = DescribedHID(kit.paragraphs[i], descriptor)


class TestHIDKeyboards(DiscoveryTestCase):
    """A hidraw node reads every report: a keyboard's are keystrokes."""

    def setUp(self):
        super().setUp()
        self.logs = self.useFixture(fixtures.FakeLogger())
        kit = kit_mod.Kit()
        hid(kit, '2', '1200', 0, KEYBOARD)
        hid(kit, '3', '1201', 1, MOUSE)
        hid(kit, '4', '1202', 2, RELAY)
        hid(kit, '5', '1203', 3, MEDIA_AND_KEYBOARD)
        hid(kit, '6', '1204', 4, RELAY[:-2])
        self.bed = self.useFixture(umockdev_fixture.Testbed(kit))

    def test_only_what_is_no_keyboard_or_mouse_is_offered(self):
        found = self.scan()
        self.assertEqual([('hid', '/dev/hidraw2')],
                         [(p.device_class, n.path)
                          for p in found for n in p.nodes])
        # The truncated descriptor is refused, and said so.
        self.assertIn('/1-6:1.0/0003:05E0:1204.0005/hidraw/hidraw4: its '
                      'HID report descriptor is malformed', self.logs.output)

    def test_operator_opts_in_one_keyboard_model_by_usb_ids(self):
        # A barcode scanner that types what it reads, for example.
        self.flags(enabled_classes=['hid', 'scanner'])
        self.flags(group='peripheral_class:scanner', subsystem='hidraw',
                   group_by='usb_interface',
                   match=['ATTRS{idVendor}==05e0',
                          'ATTRS{idProduct}==1200'])
        found = self.scan()
        self.assertEqual([('hid', '/dev/hidraw2'),
                          ('scanner', '/dev/hidraw0')],
                         sorted((p.device_class, n.path)
                                for p in found for n in p.nodes))
