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

"""A snapshot of one udev device, read once and checked.

Everything udev says is untrusted: properties may be missing or absurd,
and a device may vanish between enumeration and lookup.  A record is
built from whatever is there; a device node that cannot be trusted is left
out (``node`` is None) with the reason in ``node_error``.
"""

import os
import re
import stat

from oslo_log import log as logging

from cyborg_peripherals.discovery import model


LOG = logging.getLogger(__name__)

# Linux dev_t: 12-bit major, 20-bit minor.
MAX_MAJOR = (1 << 12) - 1
MAX_MINOR = (1 << 20) - 1

_USB_DEVICE_RE = re.compile(r'\d+-\d+(?:\.\d+)*')
_USB_INTERFACE_RE = re.compile(r'\d+-\d+(?:\.\d+)*:\d+\.(\d+)')
# Used with fullmatch: '$' would also match before a trailing newline.
_INT_RE = re.compile(r'[0-9]{1,10}')


def _to_int(text, limit):
    if text is None or not _INT_RE.fullmatch(text):
        return None
    value = int(text)
    return value if value <= limit else None


def usb_paths(sys_path):
    """Return (usb_device_path, usb_interface_path) found in ``sys_path``.

    USB devices and interfaces have fixed sysfs names (``1-2.3`` and
    ``1-2.3:1.0``), so this needs no udev look-up.
    """
    device = interface = None
    parts = sys_path.split('/')
    for i in range(len(parts) - 1, 0, -1):
        part = parts[i]
        if interface is None and _USB_INTERFACE_RE.fullmatch(part):
            interface = '/'.join(parts[:i + 1])
        elif _USB_DEVICE_RE.fullmatch(part):
            device = '/'.join(parts[:i + 1])
            break
    return device, interface


def interface_number(interface_path):
    if not interface_path:
        return None
    m = _USB_INTERFACE_RE.fullmatch(interface_path.rsplit('/', 1)[-1])
    return '%02x' % int(m.group(1)) if m else None


def _read_attribute(device, name):
    if device is None:
        return None
    try:
        value = device.attributes.get(name)
    except (OSError, KeyError):
        return None
    if value is None:
        return None
    return value.decode('utf-8', 'replace').strip()


def valid_dev_path(path):
    return (isinstance(path, str) and path.startswith('/dev/')
            and os.path.normpath(path) == path and '\x00' not in path)


class Record:
    """One udev device: properties, and its node if it has a usable one."""

    __slots__ = ('sys_path', 'subsystem', 'sys_name', 'props', 'node',
                 'node_error', 'usb_device', 'usb_interface', '_device')

    def __init__(self, sys_path, subsystem, sys_name, props, device=None):
        self.sys_path = sys_path
        self.subsystem = subsystem
        self.sys_name = sys_name
        self.props = props
        self._device = device
        self.usb_device, self.usb_interface = usb_paths(sys_path)
        self.node = None
        self.node_error = None

    @classmethod
    def from_device(cls, device):
        """Build a record from a pyudev device; raises nothing for bad data.

        Returns None when the device vanished while being read.
        """
        try:
            props = dict(device.properties)
            rec = cls(device.sys_path, device.subsystem or '',
                      device.sys_name or '', props, device)
        except (OSError, KeyError, UnicodeDecodeError) as e:
            LOG.info('Skipping udev device that could not be read: %s', e)
            return None
        rec.read_node()
        return rec

    def attribute(self, name):
        """A sysfs attribute of this device as text, or None."""
        return _read_attribute(self._device, name)

    def ancestor_attribute(self, name):
        """Attribute ``name`` of the nearest device that has it, as text.

        This device first, then its parents, as udev's ATTRS.  None if
        no device has it.
        """
        device = self._device
        while device is not None:
            value = _read_attribute(device, name)
            if value is not None:
                return value
            try:
                device = device.parent
            except (OSError, KeyError):
                return None
        return None

    def usb_interface_attribute(self, name):
        """A sysfs attribute of the USB interface above, or None."""
        if self._device is None or self.usb_interface is None:
            return None
        try:
            iface = self._device.find_parent('usb', 'usb_interface')
        except (OSError, KeyError):
            return None
        return _read_attribute(iface, name)

    def read_node(self):
        devname = self.props.get('DEVNAME')
        if not devname:
            return
        if not devname.startswith('/'):
            devname = '/dev/' + devname
        if not valid_dev_path(devname):
            self.node_error = 'device node path %r is not under /dev' % (
                devname,)
            return
        major = _to_int(self.props.get('MAJOR'), MAX_MAJOR)
        minor = _to_int(self.props.get('MINOR'), MAX_MINOR)
        if major is None or minor is None:
            dev = self.attribute('dev') or ''
            major_s, _sep, minor_s = dev.partition(':')
            major = _to_int(major_s, MAX_MAJOR)
            minor = _to_int(minor_s, MAX_MINOR)
        if major is None or minor is None:
            self.node_error = 'no valid MAJOR/MINOR for %s' % devname
            return
        dev_type = 'b' if self.subsystem == 'block' else 'c'
        try:
            st = os.stat(devname)
        except OSError as e:
            self.node_error = 'cannot stat %s: %s' % (devname, e.strerror)
            return
        is_type = stat.S_ISBLK if dev_type == 'b' else stat.S_ISCHR
        if not is_type(st.st_mode) or (
                os.major(st.st_rdev), os.minor(st.st_rdev)) != (major,
                                                                  minor):
            self.node_error = ('%s is not the %s device %d:%d udev reports'
                               % (devname, dev_type, major, minor))
            return
        self.node = model.DeviceNode(
            path=devname, type=dev_type, major=major, minor=minor,
            uid=st.st_uid, gid=st.st_gid,
            file_mode=stat.S_IMODE(st.st_mode))
