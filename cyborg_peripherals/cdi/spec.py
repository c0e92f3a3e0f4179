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

"""CDI spec documents: building ours and parsing any.

Building is used by the Cyborg side, parsing by the Zun side; both follow
the CDI specification (cncf-tags/container-device-interface, SPEC.md).
Parsing is strict in the way the reference Go implementation is (unknown
fields and wrong types are errors) because spec files are untrusted
input; whether a well-formed edit is *allowed* is a policy question left
to the consumer.
"""

import dataclasses
import json

from cyborg_peripherals.cdi import names


#: Versions we know, oldest first.  0.3.0 is the earliest the reference
#: implementation still accepts.
KNOWN_VERSIONS = ('0.3.0', '0.4.0', '0.5.0', '0.6.0', '0.7.0', '0.8.0',
                  '1.0.0', '1.1.0')

MAX_SPEC_BYTES = 16 * 1024 * 1024


class InvalidSpec(ValueError):
    """A CDI spec document is malformed."""


@dataclasses.dataclass(frozen=True)
class DeviceNode:
    path: str
    host_path: str | None = None
    type: str | None = None
    major: int | None = None
    minor: int | None = None
    file_mode: int | None = None
    permissions: str | None = None
    uid: int | None = None
    gid: int | None = None

    @property
    def effective_host_path(self):
        return self.host_path or self.path


@dataclasses.dataclass(frozen=True)
class Mount:
    host_path: str
    container_path: str
    type: str | None = None
    options: tuple = ()


@dataclasses.dataclass(frozen=True)
class ContainerEdits:
    env: tuple = ()
    device_nodes: tuple = ()
    mounts: tuple = ()
    hooks: tuple = ()
    additional_gids: tuple = ()
    #: Valid CDI members we parse but do not model (intelRdt, netDevices).
    other: tuple = ()

    def is_empty(self):
        return not (self.env or self.device_nodes or self.mounts or
                    self.hooks or self.additional_gids or self.other)


@dataclasses.dataclass(frozen=True)
class Device:
    name: str
    edits: ContainerEdits
    annotations: tuple = ()


@dataclasses.dataclass(frozen=True)
class Spec:
    version: str
    kind: str
    devices: tuple
    edits: ContainerEdits
    annotations: tuple = ()

    def device(self, name):
        for dev in self.devices:
            if dev.name == name:
                return dev
        return None


# -- building ---------------------------------------------------------------

def device_node_dict(path, dev_type, major, minor, permissions='rw',
                     uid=None, gid=None, file_mode=None, host_path=None):
    node = {'path': path, 'type': dev_type, 'major': major, 'minor': minor,
            'permissions': permissions}
    if host_path and host_path != path:
        node['hostPath'] = host_path
    if uid is not None:
        node['uid'] = uid
    if gid is not None:
        node['gid'] = gid
    if file_mode is not None:
        node['fileMode'] = file_mode
    return node


def minimum_version(doc):
    """Lowest cdiVersion that supports the members used by ``doc``.

    Mirrors the rules of the reference implementation's
    MinimumRequiredVersion (specs-go/version.go).
    """
    edits = [doc.get('containerEdits') or {}]
    edits += [d.get('containerEdits') or {} for d in doc.get('devices', ())]
    required = '0.3.0'

    def bump(v):
        nonlocal required
        if KNOWN_VERSIONS.index(v) > KNOWN_VERSIONS.index(required):
            required = v

    if any(m.get('type') for e in edits for m in e.get('mounts', ())):
        bump('0.4.0')
    if any(n.get('hostPath') for e in edits
           for n in e.get('deviceNodes', ())):
        bump('0.5.0')
    if any(d['name'][:1].isdigit() for d in doc.get('devices', ())):
        bump('0.5.0')
    if doc.get('annotations') or any(d.get('annotations')
                                     for d in doc.get('devices', ())):
        bump('0.6.0')
    if any(e.get('additionalGids') or e.get('intelRdt') for e in edits):
        bump('0.7.0')
    if any(e.get('netDevices') for e in edits):
        bump('1.1.0')
    return required


def build_spec(kind, devices):
    """Return a spec document for ``devices``: [(name, containerEdits)]."""
    doc = {
        'kind': kind,
        'devices': [{'name': name, 'containerEdits': edits}
                    for name, edits in sorted(devices)],
    }
    doc['cdiVersion'] = minimum_version(doc)
    return doc


def dumps(obj):
    """Canonical JSON: sorted keys, no whitespace."""
    return json.dumps(obj, sort_keys=True, separators=(',', ':'))


def render(doc):
    """Canonical bytes for a spec: equal documents give equal files."""
    return (dumps(doc) + '\n').encode()


# -- parsing ----------------------------------------------------------------

def _fail(where, msg):
    raise InvalidSpec('%s: %s' % (where, msg))


def _expect(where, value, types, what):
    # bool is an int in Python; CDI integers are never booleans.
    if isinstance(value, bool) and bool not in types:
        _fail(where, 'must be %s' % what)
    if not isinstance(value, types):
        _fail(where, 'must be %s' % what)
    return value


def _fields(where, obj, allowed, required=()):
    _expect(where, obj, (dict,), 'an object')
    unknown = sorted(set(obj) - set(allowed))
    if unknown:
        _fail(where, 'unknown field(s) %s' % ', '.join(unknown))
    for key in required:
        if key not in obj:
            _fail(where, 'missing required field %r' % key)


def _opt_int(where, obj, key, lo=None, hi=None):
    if key not in obj or obj[key] is None:
        return None
    val = _expect('%s.%s' % (where, key), obj[key], (int,), 'an integer')
    if (lo is not None and val < lo) or (hi is not None and val > hi):
        _fail('%s.%s' % (where, key), 'out of range')
    return val


def _opt_str(where, obj, key):
    if key not in obj or obj[key] is None:
        return None
    return _expect('%s.%s' % (where, key), obj[key], (str,), 'a string')


def _str_list(where, value):
    _expect(where, value, (list,), 'a list')
    for i, item in enumerate(value):
        _expect('%s[%d]' % (where, i), item, (str,), 'a string')
    return tuple(value)


def _annotations(where, value):
    if value is None:
        return ()
    _expect(where, value, (dict,), 'an object')
    for k, v in value.items():
        _expect('%s.%s' % (where, k), v, (str,), 'a string')
    return tuple(sorted(value.items()))


_NODE_FIELDS = ('path', 'hostPath', 'type', 'major', 'minor', 'fileMode',
                'permissions', 'uid', 'gid')
_MOUNT_FIELDS = ('hostPath', 'containerPath', 'type', 'options')
_HOOK_FIELDS = ('hookName', 'path', 'args', 'env', 'timeout')
_EDIT_FIELDS = ('env', 'deviceNodes', 'mounts', 'hooks', 'additionalGids',
                'intelRdt', 'netDevices')


def _parse_node(where, obj):
    _fields(where, obj, _NODE_FIELDS, required=('path',))
    u32 = 2 ** 32 - 1
    return DeviceNode(
        path=_expect(where + '.path', obj['path'], (str,), 'a string'),
        host_path=_opt_str(where, obj, 'hostPath'),
        type=_opt_str(where, obj, 'type'),
        major=_opt_int(where, obj, 'major', 0, u32),
        minor=_opt_int(where, obj, 'minor', 0, u32),
        file_mode=_opt_int(where, obj, 'fileMode', 0, u32),
        permissions=_opt_str(where, obj, 'permissions'),
        uid=_opt_int(where, obj, 'uid', 0, u32),
        gid=_opt_int(where, obj, 'gid', 0, u32))


def _parse_mount(where, obj):
    _fields(where, obj, _MOUNT_FIELDS, required=('hostPath',
                                                 'containerPath'))
    return Mount(
        host_path=_expect(where + '.hostPath', obj['hostPath'], (str,),
                          'a string'),
        container_path=_expect(where + '.containerPath',
                               obj['containerPath'], (str,), 'a string'),
        type=_opt_str(where, obj, 'type'),
        options=_str_list(where + '.options', obj.get('options') or []))


def _parse_edits(where, obj):
    if obj is None:
        return ContainerEdits()
    _fields(where, obj, _EDIT_FIELDS)
    env = _str_list(where + '.env', obj.get('env') or [])
    nodes = tuple(_parse_node('%s.deviceNodes[%d]' % (where, i), n)
                  for i, n in enumerate(_expect(
                      where + '.deviceNodes', obj.get('deviceNodes') or [],
                      (list,), 'a list')))
    mounts = tuple(_parse_mount('%s.mounts[%d]' % (where, i), m)
                   for i, m in enumerate(_expect(
                       where + '.mounts', obj.get('mounts') or [],
                       (list,), 'a list')))
    hooks = _expect(where + '.hooks', obj.get('hooks') or [], (list,),
                    'a list')
    for i, hook in enumerate(hooks):
        _fields('%s.hooks[%d]' % (where, i), hook, _HOOK_FIELDS,
                required=('hookName', 'path'))
    gids = _expect(where + '.additionalGids',
                   obj.get('additionalGids') or [], (list,), 'a list')
    for i, gid in enumerate(gids):
        _expect('%s.additionalGids[%d]' % (where, i), gid, (int,),
                'an integer')
    other = tuple(sorted(k for k in ('intelRdt', 'netDevices')
                         if obj.get(k)))
    return ContainerEdits(env=env, device_nodes=nodes, mounts=mounts,
                          hooks=tuple(json.dumps(h, sort_keys=True)
                                      for h in hooks),
                          additional_gids=tuple(gids), other=other)


def parse(data):
    """Parse a CDI spec (JSON bytes or str) into a :class:`Spec`."""
    if len(data) > MAX_SPEC_BYTES:
        raise InvalidSpec('spec is larger than %d bytes' % MAX_SPEC_BYTES)
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise InvalidSpec('not valid JSON: %s' % e) from None
    except RecursionError:
        raise InvalidSpec('not valid JSON: nested too deeply') from None
    _fields('spec', doc, ('cdiVersion', 'kind', 'annotations', 'devices',
                          'containerEdits'),
            required=('cdiVersion', 'kind', 'devices'))
    version = _expect('spec.cdiVersion', doc['cdiVersion'], (str,),
                      'a string')
    if version not in KNOWN_VERSIONS:
        _fail('spec.cdiVersion', 'unknown version %r' % version)
    kind = _expect('spec.kind', doc['kind'], (str,), 'a string')
    if not names.is_valid_kind(kind):
        _fail('spec.kind', 'invalid kind %r' % kind)
    raw_devices = _expect('spec.devices', doc['devices'], (list,), 'a list')
    if not raw_devices:
        _fail('spec.devices', 'must not be empty')
    devices = []
    seen = set()
    for i, raw in enumerate(raw_devices):
        where = 'spec.devices[%d]' % i
        _fields(where, raw, ('name', 'annotations', 'containerEdits'),
                required=('name', 'containerEdits'))
        name = _expect(where + '.name', raw['name'], (str,), 'a string')
        if not names.is_valid_device_name(name):
            _fail(where + '.name', 'invalid device name %r' % name)
        if name in seen:
            _fail(where + '.name', 'duplicate device name %r' % name)
        seen.add(name)
        edits = _parse_edits(where + '.containerEdits',
                             raw['containerEdits'])
        if edits.is_empty():
            _fail(where + '.containerEdits', 'must not be empty')
        devices.append(Device(name=name, edits=edits,
                              annotations=_annotations(
                                  where + '.annotations',
                                  raw.get('annotations'))))
    spec_edits = _parse_edits('spec.containerEdits',
                              doc.get('containerEdits'))
    if KNOWN_VERSIONS.index(minimum_version(doc)) > KNOWN_VERSIONS.index(
            version):
        _fail('spec.cdiVersion', 'the spec uses fields that need cdiVersion'
              ' %s or later' % minimum_version(doc))
    return Spec(version=version, kind=kind, devices=tuple(devices),
                edits=spec_edits,
                annotations=_annotations('spec.annotations',
                                         doc.get('annotations')))
