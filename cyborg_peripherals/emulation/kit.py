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

"""Realistic udev device descriptions, in umockdev's record format.

The builders write what ``umockdev-record`` captures from real hardware:
sysfs paths with the kernel's USB naming (``1-2.3``, ``1-2.3:1.0``), the
udev properties that the stock rules set (``usb_id``, ``path_id``,
``v4l_id``), the attributes discovery reads, and device nodes.  Tests and
the emulated edge kit are built from them, so they exercise discovery on
the same shapes of data a real host has.
"""

import dataclasses


def _enc(text):
    return text.replace(' ', '\\x20')


def _udev_string(text):
    # usb_id replaces blanks and other unsafe characters with "_".
    return ''.join(c if c.isalnum() or c in '-_.' else '_' for c in text)


@dataclasses.dataclass
class UsbDevice:
    sys_path: str
    id_path: str
    busnum: int
    devnum: int
    props: dict

    @property
    def usbfs_node(self):
        return 'bus/usb/%03d/%03d' % (self.busnum, self.devnum)


class Paragraph:
    def __init__(self, sys_path, node=None, props=None, attrs=None):
        self.sys_path = sys_path
        self.node = node
        self.props = dict(props or {})
        self.attrs = dict(attrs or {})

    def text(self):
        lines = ['P: %s' % self.sys_path.removeprefix('/sys')]
        if self.node:
            lines.append('N: %s' % self.node)
        for key, value in self.props.items():
            lines.append('E: %s=%s' % (key, value))
        for key, value in self.attrs.items():
            lines.append('A: %s=%s' % (key, value))
        return '\n'.join(lines) + '\n'


class Kit:
    """A set of emulated devices; ``text()`` gives the umockdev records."""

    def __init__(self, controller='0000:00:14.0', bus=1, first_devnum=2):
        """A kit on one USB bus, starting with its root hub (devnum 1).

        Kits plugged into one testbed must not reuse usbfs numbers or
        node names (umockdev refuses both), so a kit plugged later starts
        at a later ``first_devnum``.
        """
        self.controller = controller
        self.bus = bus
        self.paragraphs = []
        self._minors = {}
        root = '/sys/devices/pci0000:00/%s/usb%d' % (controller, bus)
        self.root_hub = self._usb_paragraph(
            root, 'pci-%s' % controller, '1d6b', '0002', None,
            'Linux Foundation', '2.0 root hub', device_class='09', devnum=1)
        self._devnum = first_devnum

    def text(self):
        return '\n'.join(p.text() for p in self.paragraphs)

    def minor(self, major):
        value = self._minors.get(major, 0)
        self._minors[major] = value + 1
        return value

    def add(self, sys_path, node=None, props=None, attrs=None):
        para = Paragraph(sys_path, node, props, attrs)
        self.paragraphs.append(para)
        return para

    # -- USB ----------------------------------------------------------------

    def _usb_paragraph(self, sys_path, id_path, vid, pid, serial, vendor,
                       model, device_class='00', devnum=None):
        if devnum is None:
            devnum = self._devnum
            self._devnum += 1
        minor = (self.bus - 1) * 128 + devnum - 1
        id_serial = '%s_%s' % (_udev_string(vendor), _udev_string(model))
        props = {
            'SUBSYSTEM': 'usb', 'DEVTYPE': 'usb_device',
            'DEVNAME': '/dev/bus/usb/%03d/%03d' % (self.bus, devnum),
            'MAJOR': '189', 'MINOR': str(minor),
            'BUSNUM': '%03d' % self.bus, 'DEVNUM': '%03d' % devnum,
            'PRODUCT': '%s/%s/100' % (vid.lstrip('0'), pid.lstrip('0')),
            'ID_BUS': 'usb', 'ID_VENDOR': _udev_string(vendor),
            'ID_VENDOR_ENC': _enc(vendor), 'ID_VENDOR_ID': vid,
            'ID_MODEL': _udev_string(model), 'ID_MODEL_ENC': _enc(model),
            'ID_MODEL_ID': pid, 'ID_PATH': id_path,
            'ID_PATH_TAG': id_path.replace(':', '_').replace('.', '_'),
        }
        attrs = {'idVendor': vid, 'idProduct': pid,
                 'bDeviceClass': device_class, 'busnum': str(self.bus),
                 'devnum': str(devnum), 'dev': '189:%d' % minor,
                 'manufacturer': vendor, 'product': model}
        if serial is not None:
            props['ID_SERIAL_SHORT'] = serial
            id_serial += '_' + _udev_string(serial)
            attrs['serial'] = serial
        props['ID_SERIAL'] = id_serial
        self.add(sys_path, 'bus/usb/%03d/%03d' % (self.bus, devnum), props,
                 attrs)
        return UsbDevice(sys_path, id_path, self.bus, devnum, props)

    def usb_device(self, port, vid, pid, vendor, model, serial=None,
                   devnum=None, device_class='00'):
        """A USB device on ``port`` ("2", or "1.3" behind a hub on 1)."""
        parts = port.split('.')
        sys_path = '/sys/devices/pci0000:00/%s/usb%d' % (self.controller,
                                                         self.bus)
        for i in range(len(parts)):
            sys_path += '/%d-%s' % (self.bus, '.'.join(parts[:i + 1]))
        id_path = 'pci-%s-usb-0:%s' % (self.controller, port)
        return self._usb_paragraph(sys_path, id_path, vid, pid, serial,
                                   vendor, model, device_class, devnum)

    def interface(self, usb, num, cls='ff', subclass='00', protocol='00',
                  driver=None):
        port = usb.sys_path.rsplit('/', 1)[1]
        path = '%s/%s:1.%d' % (usb.sys_path, port, num)
        props = {'SUBSYSTEM': 'usb', 'DEVTYPE': 'usb_interface',
                 'INTERFACE': '%d/%d/%d' % (int(cls, 16), int(subclass, 16),
                                            int(protocol, 16))}
        if driver:
            props['DRIVER'] = driver
        self.add(path, None, props,
                 {'bInterfaceNumber': '%02x' % num, 'bInterfaceClass': cls,
                  'bInterfaceSubClass': subclass,
                  'bInterfaceProtocol': protocol})
        return path

    def _child_props(self, usb, num, extra):
        props = {key: usb.props[key] for key in (
            'ID_BUS', 'ID_VENDOR', 'ID_VENDOR_ENC', 'ID_VENDOR_ID',
            'ID_MODEL', 'ID_MODEL_ENC', 'ID_MODEL_ID', 'ID_SERIAL')}
        if 'ID_SERIAL_SHORT' in usb.props:
            props['ID_SERIAL_SHORT'] = usb.props['ID_SERIAL_SHORT']
        props['ID_USB_INTERFACE_NUM'] = '%02x' % num
        props['ID_PATH'] = '%s:1.%d' % (usb.id_path, num)
        props['ID_PATH_TAG'] = props['ID_PATH'].replace(':', '_').replace(
            '.', '_').replace('-', '_')
        props.update(extra)
        return props

    def tty(self, usb, kernel_name, major, iface=0, driver='ftdi_sio'):
        ipath = self.interface(usb, iface, driver=driver)
        minor = self.minor(major)
        path = '%s/%s/tty/%s' % (ipath, kernel_name, kernel_name)
        self.add(path, kernel_name, self._child_props(usb, iface, {
            'SUBSYSTEM': 'tty', 'DEVNAME': '/dev/' + kernel_name,
            'MAJOR': str(major), 'MINOR': str(minor),
            'ID_USB_DRIVER': driver}), {'dev': '%d:%d' % (major, minor)})
        return path

    def camera(self, usb, first_index, metadata=True):
        """A UVC camera: a capture node, and usually a metadata node."""
        ipath = self.interface(usb, 0, cls='0e', subclass='01',
                               driver='uvcvideo')
        paths = []
        nodes = [(':capture:', first_index)]
        if metadata:
            nodes.append((':', first_index + 1))
        for caps, index in nodes:
            name = 'video%d' % index
            path = '%s/video4linux/%s' % (ipath, name)
            self.add(path, name, self._child_props(usb, 0, {
                'SUBSYSTEM': 'video4linux', 'DEVNAME': '/dev/' + name,
                'MAJOR': '81', 'MINOR': str(index),
                'ID_V4L_VERSION': '2', 'ID_V4L_CAPABILITIES': caps,
                'ID_V4L_PRODUCT': usb.props['ID_MODEL_ENC'].replace(
                    '\\x20', ' ')}),
                {'dev': '81:%d' % index, 'index': str(index - first_index),
                 'name': usb.props['ID_MODEL']})
            paths.append(path)
        return paths

    def sound_card(self, usb, card):
        ipath = self.interface(usb, 0, cls='01', subclass='01',
                               driver='snd-usb-audio')
        card_path = '%s/sound/card%d' % (ipath, card)
        self.add(card_path, None, self._child_props(
            usb, 0, {'SUBSYSTEM': 'sound'}), {'number': str(card)})
        paths = []
        for i, name in enumerate(('controlC%d' % card, 'pcmC%dD0p' % card,
                                  'pcmC%dD0c' % card)):
            minor = card * 32 + i * 8
            path = '%s/%s' % (card_path, name)
            self.add(path, 'snd/' + name, self._child_props(usb, 0, {
                'SUBSYSTEM': 'sound', 'DEVNAME': '/dev/snd/' + name,
                'MAJOR': '116', 'MINOR': str(minor)}),
                {'dev': '116:%d' % minor})
            paths.append(path)
        return paths

    def hidraw(self, usb, index, major=241, subclass='00', protocol='00'):
        ipath = self.interface(usb, 0, cls='03', subclass=subclass,
                               protocol=protocol, driver='usbhid')
        vid = usb.props['ID_VENDOR_ID'].upper()
        pid = usb.props['ID_MODEL_ID'].upper()
        hid = '%s/0003:%s:%s.%04X' % (ipath, vid, pid, index + 1)
        self.add(hid, None, {'SUBSYSTEM': 'hid', 'DRIVER': 'hid-generic'})
        path = '%s/hidraw/hidraw%d' % (hid, index)
        self.add(path, 'hidraw%d' % index, {
            'SUBSYSTEM': 'hidraw', 'DEVNAME': '/dev/hidraw%d' % index,
            'MAJOR': str(major), 'MINOR': str(index)},
            {'dev': '%d:%d' % (major, index)})
        return path

    # -- platform buses (Raspberry Pi shaped) -------------------------------

    def gpiochip(self, address, index, major=254):
        base = '/sys/devices/platform/soc/%s.gpio' % address
        path = '%s/gpiochip%d' % (base, index)
        self.add(path, 'gpiochip%d' % index, {
            'SUBSYSTEM': 'gpio', 'DEVNAME': '/dev/gpiochip%d' % index,
            'MAJOR': str(major), 'MINOR': str(index),
            'ID_PATH': 'platform-%s.gpio' % address},
            {'dev': '%d:%d' % (major, index), 'label': 'pinctrl-bcm2711'})
        # The legacy sysfs GPIO class has no device node.
        self.add('%s/gpio/gpiochip%d' % (base, 512 + index), None,
                 {'SUBSYSTEM': 'gpio'}, {'base': str(512 + index)})
        return path

    def i2c(self, address, bus):
        path = '/sys/devices/platform/soc/%s.i2c/i2c-%d/i2c-dev/i2c-%d' % (
            address, bus, bus)
        self.add(path, 'i2c-%d' % bus, {
            'SUBSYSTEM': 'i2c-dev', 'DEVNAME': '/dev/i2c-%d' % bus,
            'MAJOR': '89', 'MINOR': str(bus)},
            {'dev': '89:%d' % bus, 'name': 'bcm2835 (i2c@%s)' % address})
        return path

    def spidev(self, address, bus, cs):
        name = 'spidev%d.%d' % (bus, cs)
        minor = self.minor(153)
        path = ('/sys/devices/platform/soc/%s.spi/spi_master/spi%d/'
                'spi%d.%d/spidev/%s' % (address, bus, bus, cs, name))
        self.add(path, name, {
            'SUBSYSTEM': 'spidev', 'DEVNAME': '/dev/' + name,
            'MAJOR': '153', 'MINOR': str(minor)},
            {'dev': '153:%d' % minor})
        return path

    # -- distractors: things a host has that are never offered -------------

    def console_ttys(self):
        for name, minor in (('tty0', 0), ('tty1', 1), ('console', 1)):
            major = 5 if name == 'console' else 4
            self.add('/sys/devices/virtual/tty/%s' % name, name, {
                'SUBSYSTEM': 'tty', 'DEVNAME': '/dev/' + name,
                'MAJOR': str(major), 'MINOR': str(minor)},
                {'dev': '%d:%d' % (major, minor)})
        self.add('/sys/devices/pnp0/00:04/tty/ttyS0', 'ttyS0', {
            'SUBSYSTEM': 'tty', 'DEVNAME': '/dev/ttyS0', 'MAJOR': '4',
            'MINOR': '64', 'ID_PATH': 'pnp-00:04'}, {'dev': '4:64'})

    def keyboard_and_mouse(self, kbd_port, mouse_port, first_hidraw):
        kbd = self.usb_device(kbd_port, '046d', 'c31c', 'Logitech',
                              'USB Keyboard')
        self.hidraw(kbd, first_hidraw, subclass='01', protocol='01')
        mouse = self.usb_device(mouse_port, '046d', 'c077', 'Logitech',
                                'USB Optical Mouse')
        self.hidraw(mouse, first_hidraw + 1, subclass='01', protocol='02')

    def usb_disk(self, port):
        usb = self.usb_device(port, '0781', '5583', 'SanDisk',
                              'Ultra Fit', serial='4C530001230101117142')
        ipath = self.interface(usb, 0, cls='08', subclass='06',
                               protocol='50', driver='usb-storage')
        self.add('%s/host0/target0:0:0/0:0:0:0/block/sda' % ipath, 'sda', {
            'SUBSYSTEM': 'block', 'DEVTYPE': 'disk', 'DEVNAME': '/dev/sda',
            'MAJOR': '8', 'MINOR': '0'}, {'dev': '8:0'})

    def hub(self, port):
        return self.usb_device(port, '05e3', '0610', 'Genesys Logic',
                               'USB2.0 Hub', device_class='09')

    def onboard_audio(self):
        base = '/sys/devices/pci0000:00/0000:00:1f.3/sound/card0'
        self.add(base, None, {'SUBSYSTEM': 'sound',
                              'ID_PATH': 'pci-0000:00:1f.3'})
        self.add(base + '/controlC0', 'snd/controlC0', {
            'SUBSYSTEM': 'sound', 'DEVNAME': '/dev/snd/controlC0',
            'MAJOR': '116', 'MINOR': '0', 'ID_PATH': 'pci-0000:00:1f.3'},
            {'dev': '116:0'})


def edge_kit():
    """An edge host as the README's demo shows it.

    A Raspberry Pi with a hub full of gadgets, and the things discovery
    must leave alone.
    """
    kit = Kit()
    kit.console_ttys()
    kit.onboard_audio()
    kit.hub('1')
    cam = kit.usb_device('1.1', '046d', '082d', 'Logitech',
                         'HD Pro Webcam C920', serial='9C2D5A8F')
    kit.camera(cam, 0)
    kit.usb_device('1.2', '1d50', '6089', 'Great Scott Gadgets',
                   'HackRF One', serial='0000000000000000a06063c8234e925f')
    kit.usb_device('1.3', '0bda', '2838', 'Realtek', 'RTL2838UHIDIR',
                   serial='00000001')
    snd = kit.usb_device('1.4', '0d8c', '0014', 'C-Media Electronics Inc.',
                         'USB Audio Device')
    kit.sound_card(snd, 1)
    ftdi = kit.usb_device('2', '0403', '6001', 'FTDI', 'FT232R USB UART',
                          serial='A10K5Z3B')
    kit.tty(ftdi, 'ttyUSB0', 188)
    arduino = kit.usb_device('3', '2341', '0043', 'Arduino (www.arduino.cc)',
                             '0043', serial='75533353038351F0E0A1')
    kit.tty(arduino, 'ttyACM0', 166, driver='cdc_acm')
    relay = kit.usb_device('4', '16c0', '05df', 'www.dcttech.com',
                           'USBRelay2')
    kit.hidraw(relay, 0)
    kit.keyboard_and_mouse('5', '6', 1)
    kit.usb_disk('7')
    kit.gpiochip('fe200000', 0)
    kit.i2c('fe804000', 1)
    kit.spidev('fe204000', 0, 0)
    return kit
