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

"""Peripheral classes: which udev devices are offered, and how grouped.

A class says which udev subsystem it looks at, which devices in it are
*primary* (make a peripheral exist) or *secondary* (join a peripheral
that exists, such as a camera's metadata node), and how nodes group into
one physical peripheral:

``usb_device``     all nodes of one USB device (camera, audio card)
``usb_interface``  one USB interface (a port of a multi-port adapter)
``node``           each node on its own (gpiochip, i2c, spidev, usbfs)

Operators add classes, or narrow built-in ones, with match rules (see
:mod:`cyborg_peripherals.discovery.rules`).
"""

import dataclasses
import fnmatch
import os

from oslo_log import log as logging

from cyborg_peripherals.discovery import sdr


LOG = logging.getLogger(__name__)


PRIMARY = 'primary'
SECONDARY = 'secondary'

GROUP_BY = ('usb_device', 'usb_interface', 'node')


@dataclasses.dataclass(frozen=True)
class DeviceClass:
    name: str
    subsystem: str
    group_by: str = 'node'
    #: Kernel-name globs used to narrow enumeration (empty: all).
    sys_names: tuple = ()
    #: Only devices behind a USB device.
    usb_only: bool = False
    #: Extra operator rules (all must match).
    rules: tuple = ()
    traits: tuple = ()
    resource_class: str | None = None
    permissions: str = 'rw'

    def role(self, record):
        if self.sys_names and not any(
                fnmatch.fnmatchcase(record.sys_name, g)
                for g in self.sys_names):
            return None
        if self.usb_only and record.usb_device is None:
            return None
        if not all(rule.matches(record) for rule in self.rules):
            return None
        return self._role(record)

    def _role(self, record):
        return PRIMARY if record.props.get('DEVNAME') else None

    def group_path(self, record):
        if self.group_by == 'usb_device' and record.usb_device:
            return record.usb_device
        if self.group_by == 'usb_interface' and record.usb_interface:
            return record.usb_interface
        if self.group_by != 'node':
            # Not on USB: the device that owns the class device, e.g. the
            # platform device of a CSI camera (strip "/<subsystem>/<name>").
            parent = record.sys_path.rsplit('/', 2)[0]
            return parent or record.sys_path
        return record.sys_path

    def extra_traits(self, record):
        return ()


class CameraClass(DeviceClass):
    """V4L2 capture nodes; metadata nodes join the camera they belong to."""

    def _role(self, record):
        if not record.props.get('DEVNAME'):
            return None
        caps = record.props.get('ID_V4L_CAPABILITIES', '')
        return PRIMARY if ':capture:' in caps else SECONDARY


class SDRClass(DeviceClass):
    """Software-defined radios, reached through their usbfs node."""

    def _role(self, record):
        if record.props.get('DEVTYPE') != 'usb_device' or \
                not record.props.get('DEVNAME'):
            return None
        if record.props.get('ID_SOFTWARE_RADIO'):
            return PRIMARY
        vid, pid = usb_ids(record)
        return PRIMARY if sdr.model_for(vid, pid) else None

    def extra_traits(self, record):
        model = sdr.model_for(*usb_ids(record))
        return ('MODEL', model) if model else ()


# The kernel's HID_MAX_DESCRIPTOR_SIZE.
MAX_HID_DESCRIPTOR = 4096
# Generic Desktop usages of HID application collections that make an
# interface a keyboard or a mouse (HID Usage Tables, section 4).
KEYBOARD_OR_MOUSE_USAGES = frozenset({
    0x00010002,  # Mouse
    0x00010006,  # Keyboard
    0x00010007,  # Keypad
})


def hid_application_usages(descriptor):
    """The usage (page << 16 | id) of each application collection.

    ``descriptor`` is a HID report descriptor (bytes), which the device
    itself supplies; raises ValueError if it is malformed.
    """
    usages = []
    page, stack, local = 0, [], []
    i = 0
    while i < len(descriptor):
        prefix = descriptor[i]
        if prefix == 0xFE:
            # Long item: size, tag, data; no long items are defined.
            if i + 1 >= len(descriptor):
                raise ValueError('truncated long item at byte %d' % i)
            i += 3 + descriptor[i + 1]
            continue
        size = (0, 1, 2, 4)[prefix & 3]
        if i + 1 + size > len(descriptor):
            raise ValueError('truncated item at byte %d' % i)
        value = int.from_bytes(descriptor[i + 1:i + 1 + size], 'little')
        kind, tag = (prefix >> 2) & 3, prefix >> 4
        if kind == 1:  # global
            if tag == 0:
                page = value
            elif tag == 10:  # Push
                stack.append(page)
            elif tag == 11:  # Pop
                if not stack:
                    raise ValueError('Pop without Push at byte %d' % i)
                page = stack.pop()
        elif kind == 2 and tag == 0:  # local Usage
            local.append((size, value))
        elif kind == 0:  # main item: uses the locals before it
            if tag == 10 and value == 1 and local:  # Collection(App)
                size_, usage = local[0]
                usages.append(usage if size_ == 4 else page << 16 | usage)
            local = []
        i += 1 + size
    if i != len(descriptor):
        raise ValueError('truncated long item')
    return usages


def read_hid_descriptor(record):
    """The report descriptor of a hidraw node's HID device, or None.

    Read from sysfs directly: libudev returns attributes as C strings,
    which end at the first zero byte of a binary one.
    """
    hid_path = record.sys_path.rsplit('/', 2)[0]
    try:
        with open(os.path.join(hid_path, 'report_descriptor'), 'rb') as f:
            return f.read(MAX_HID_DESCRIPTOR + 1)
    except OSError:
        return None


class HIDClass(DeviceClass):
    """hidraw behind USB, but never a keyboard or a mouse.

    A hidraw node reads every report of its interface: a keyboard's
    would hand a container the host's keystrokes.  What the interface is
    comes from its report descriptor; a descriptor that cannot be parsed
    is refused too.  Boot-protocol keyboards and mice are refused even
    without one.
    """

    def _role(self, record):
        if not record.props.get('DEVNAME'):
            return None
        # HID boot interface (subclass 1), protocol 1 keyboard / 2 mouse.
        if record.usb_interface_attribute('bInterfaceSubClass') == '01' and \
                record.usb_interface_attribute('bInterfaceProtocol') in (
                    '01', '02'):
            return None
        descriptor = read_hid_descriptor(record)
        if descriptor is not None:
            try:
                usages = hid_application_usages(descriptor)
            except ValueError as e:
                LOG.warning('Not offering %s: its HID report descriptor '
                            'is malformed (%s)', record.sys_path, e)
                return None
            if KEYBOARD_OR_MOUSE_USAGES.intersection(usages):
                return None
        return PRIMARY


def usb_ids(record):
    props = record.props
    vid = props.get('ID_VENDOR_ID') or record.attribute('idVendor')
    pid = props.get('ID_MODEL_ID') or record.attribute('idProduct')
    return vid, pid


BUILTIN = {
    'camera': CameraClass('camera', 'video4linux', group_by='usb_device'),
    'sdr': SDRClass('sdr', 'usb', group_by='node'),
    'serial': DeviceClass('serial', 'tty', group_by='usb_interface',
                          sys_names=('ttyUSB*', 'ttyACM*'), usb_only=True),
    'gpio': DeviceClass('gpio', 'gpio', sys_names=('gpiochip*',)),
    'i2c': DeviceClass('i2c', 'i2c-dev'),
    'spi': DeviceClass('spi', 'spidev'),
    'hid': HIDClass('hid', 'hidraw', group_by='usb_interface',
                    usb_only=True),
    'audio': DeviceClass('audio', 'sound', group_by='usb_device',
                         usb_only=True),
}
