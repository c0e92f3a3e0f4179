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

"""The host's peripherals: udev records in, grouped peripherals out.

An :class:`Inventory` holds the udev records that matter (candidate
device nodes, and every USB device for identity look-ups), grouped by the
physical peripheral they belong to.  A full scan fills it; hot-plug
events update single records.  Assembly is incremental: only groups that
an update touched are rebuilt, so a hot-plug event on a host with
thousands of peripherals costs little more than on a host with one.
"""

import re

from oslo_log import log as logging

from cyborg_peripherals import naming
from cyborg_peripherals.discovery import classes as classes_mod
from cyborg_peripherals.discovery import model
from cyborg_peripherals.discovery import records as records_mod


LOG = logging.getLogger(__name__)

_HEX4 = re.compile(r'[0-9a-fA-F]{4}')
_INTERFACE_SUFFIX = re.compile(r':\d+\.\d+\Z')


_UDEV_ESCAPE = re.compile(r'\\x([0-9a-fA-F]{2})')


def _printable(text, limit=64):
    """Display text from udev's ``*_ENC`` form, safe to print."""
    if not text:
        return None
    raw = _UDEV_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    try:
        raw = raw.encode('latin-1').decode('utf-8')
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass
    clean = ''.join(c if c.isprintable() else '?' for c in raw).strip()
    return clean[:limit] or None


class Inventory:
    """Candidate udev records of one host, and the peripherals they form."""

    def __init__(self, device_classes, host):
        self.classes = tuple(device_classes)
        self.host = host
        self._by_subsystem = {}
        for cls in self.classes:
            self._by_subsystem.setdefault(cls.subsystem, []).append(cls)
        self._reported = set()
        self._reset()

    def _reset(self):
        self.records = {}
        self.usb_props = {}
        # group key (class name, group path) -> {sys_path: (rec, role)}
        self._groups = {}
        self._keys_of = {}      # sys_path -> group keys it belongs to
        self._keys_by_usb = {}  # usb device path -> group keys under it
        self._dirty = set()
        # group key -> (cls, primary record, nodes, serial id, path id)
        self._candidates = {}
        self._built = {}        # group key -> Peripheral

    # -- udev side ----------------------------------------------------------

    @property
    def subsystems(self):
        return sorted(set(self._by_subsystem) | {'usb'})

    def enumerators(self, context):
        """The udev enumerations a scan walks (one per subsystem)."""
        for subsystem in self.subsystems:
            enum = context.list_devices(subsystem=subsystem)
            if subsystem == 'usb' and not any(
                    c.subsystem == 'usb' and not isinstance(
                        c, classes_mod.SDRClass)
                    for c in self.classes):
                enum = enum.match_property('DEVTYPE', 'usb_device')
            globs = [c.sys_names for c in self._by_subsystem.get(
                subsystem, ())]
            if globs and all(globs):
                for glob in sorted({g for gs in globs for g in gs}):
                    enum = enum.match_sys_name(glob)
            yield enum

    def scan(self, context):
        """Replace the records with a fresh walk of the udev database."""
        self._reset()
        for enum in self.enumerators(context):
            for device in enum:
                self.add(device)
        return self.peripherals()

    def add(self, device):
        """Add or refresh one udev device (scan, add or change event).

        Returns True if the update can change the peripherals.
        """
        rec = records_mod.Record.from_device(device)
        if rec is None:
            return False
        changed = self._detach(rec.sys_path)
        if rec.subsystem == 'usb' and \
                rec.props.get('DEVTYPE') == 'usb_device':
            self.usb_props[rec.sys_path] = rec.props
            changed |= self._touch_usb(rec.sys_path)
        keys = []
        for cls in self._by_subsystem.get(rec.subsystem, ()):
            role = cls.role(rec)
            if role:
                key = (cls.name, cls.group_path(rec))
                self._groups.setdefault(key, {})[rec.sys_path] = (rec, role)
                if rec.usb_device:
                    self._keys_by_usb.setdefault(rec.usb_device,
                                                 set()).add(key)
                keys.append(key)
        if keys:
            self.records[rec.sys_path] = rec
            self._keys_of[rec.sys_path] = keys
            self._dirty.update(keys)
        return changed or bool(keys)

    def remove(self, sys_path):
        """Forget one udev device (remove event); True if that matters."""
        changed = self._detach(sys_path)
        if self.usb_props.pop(sys_path, None) is not None:
            changed |= self._touch_usb(sys_path)
        return changed

    def _detach(self, sys_path):
        rec = self.records.pop(sys_path, None)
        keys = self._keys_of.pop(sys_path, ())
        for key in keys:
            members = self._groups.get(key, {})
            members.pop(sys_path, None)
            if not members:
                self._groups.pop(key, None)
                if rec is not None and rec.usb_device:
                    self._keys_by_usb.get(rec.usb_device, set()).discard(
                        key)
            self._dirty.add(key)
        return bool(keys)

    def _touch_usb(self, usb_path):
        # Identities of the nodes below fall back on the USB device's.
        keys = self._keys_by_usb.get(usb_path, ())
        self._dirty.update(keys)
        return bool(keys)

    # -- peripherals --------------------------------------------------------

    def _report(self, key, msg, *args):
        # Discovery runs every minute; say each problem once, loudly.
        if key in self._reported:
            LOG.debug(msg, *args)
        else:
            self._reported.add(key)
            LOG.warning(msg, *args)

    def _candidate(self, key):
        """A group's primary record, nodes and identities, or None."""
        members = self._groups.get(key)
        if not members:
            return None
        cls_name, group_path = key
        ordered = [members[p] for p in sorted(members)]
        primary = [rec for rec, role in ordered
                   if role == classes_mod.PRIMARY]
        if not primary:
            return None
        nodes = set()
        for rec, _role in ordered:
            if rec.node is not None:
                nodes.add(rec.node)
            elif rec.node_error:
                self._report(('node', rec.sys_path, rec.node_error),
                             'Skipping a node of %(cls)s peripheral at '
                             '%(path)s: %(err)s',
                             {'cls': cls_name, 'path': group_path,
                              'err': rec.node_error})
        if not nodes:
            return None
        cls = next(c for c in self.classes if c.name == cls_name)
        rec = primary[0]
        usb = self.usb_props.get(rec.usb_device, {})
        return (cls, rec, tuple(sorted(nodes)),
                self._identity(cls, rec, usb, False),
                self._identity(cls, rec, usb, True))

    def _identity(self, cls, rec, usb, by_path):
        props = dict(usb)
        props.update(rec.props)
        serial = (props.get('ID_SERIAL_SHORT') or '').strip()
        if serial and props.get('ID_SERIAL') and not by_path:
            ident = 'serial:' + props['ID_SERIAL']
            if cls.group_by == 'usb_interface':
                iface = props.get('ID_USB_INTERFACE_NUM') or \
                    records_mod.interface_number(rec.usb_interface)
                if iface:
                    ident += ':if' + iface
            return ident
        path = rec.props.get('ID_PATH') or usb.get('ID_PATH')
        if path:
            if cls.group_by == 'usb_device':
                path = _INTERFACE_SUFFIX.sub('', path)
            return 'path:' + path
        return 'devpath:' + cls.group_path(rec).removeprefix('/sys')

    def peripherals(self):
        """Assemble peripherals from the records; sorted by name."""
        for key in self._dirty:
            self._built.pop(key, None)
            candidate = self._candidate(key)
            if candidate is None:
                self._candidates.pop(key, None)
            else:
                self._candidates[key] = candidate
        self._dirty.clear()
        # Two devices claiming one serial: neither keeps it; both fall
        # back to their port path, which differs.
        claims = {}
        for key, (cls, _rec, _n, ident, _p) in self._candidates.items():
            claims.setdefault((cls.name, ident), []).append(key)
        result = {}
        for key in sorted(self._candidates):
            cls, rec, nodes, ident, path_ident = self._candidates[key]
            if ident != path_ident and len(claims[(cls.name, ident)]) > 1:
                self._report(('dup', cls.name, ident),
                             '%(n)d %(cls)s devices claim identity %(id)s; '
                             'identifying them by port instead',
                             {'n': len(claims[(cls.name, ident)]),
                              'cls': cls.name, 'id': ident})
                ident = path_ident
            per = self._built.get(key)
            if per is None or per.identity != ident:
                per = self._peripheral(cls, rec, ident, nodes, key[1])
                self._built[key] = per
            if per.name in result:
                self._report(('clash', per.name),
                             'Skipping %(path)s: its identity %(id)s is '
                             'already taken by %(other)s',
                             {'path': key[1], 'id': ident,
                              'other': result[per.name].sys_path})
                continue
            result[per.name] = per
        return [result[k] for k in sorted(result)]

    def _peripheral(self, cls, rec, identity, nodes, group_path):
        props = dict(self.usb_props.get(rec.usb_device, {}))
        props.update(rec.props)
        vid = props.get('ID_VENDOR_ID') or None
        pid = props.get('ID_MODEL_ID') or None
        if cls.subsystem == 'usb' and (not vid or not pid):
            vid, pid = classes_mod.usb_ids(rec)
        vid = vid.lower() if vid and _HEX4.fullmatch(vid) else None
        pid = pid.lower() if pid and _HEX4.fullmatch(pid) else None
        traits = ['OWNER_CYBORG']
        if vid and pid:
            traits.append(naming.custom_trait('USB', vid, pid))
        extra = cls.extra_traits(rec)
        if extra:
            traits.append(naming.custom_trait(*extra))
        traits.extend(cls.traits)
        serial = (props.get('ID_SERIAL_SHORT') or '').strip() or None
        return model.Peripheral(
            device_class=cls.name,
            identity=identity,
            name=naming.deployable_name(self.host, cls.name, identity),
            cdi_name=naming.cdi_device_name(cls.name, identity),
            nodes=nodes,
            resource_class=(cls.resource_class or
                            naming.resource_class(cls.name)),
            traits=tuple(sorted(set(traits))),
            vendor_id=vid,
            product_id=pid,
            serial=serial,
            vendor=_printable(props.get('ID_VENDOR_ENC') or
                              props.get('ID_VENDOR_FROM_DATABASE') or
                              props.get('ID_VENDOR')),
            model=_printable(props.get('ID_MODEL_ENC') or
                             props.get('ID_MODEL_FROM_DATABASE') or
                             props.get('ID_MODEL')),
            permissions=cls.permissions,
            sys_path=group_path)
