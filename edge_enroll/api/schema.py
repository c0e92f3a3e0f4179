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

"""Request bodies of the enrollment API: creates and JSON-Patches.

The body of a create is Doni's: ``{"name", "hardware_type",
"properties"}``, nothing else.  A PATCH is an RFC 6902 list of ``add``,
``replace`` and ``remove`` operations on ``/name`` and
``/properties/...``; unlike Doni, the properties that result are
checked against the hardware type's schema again, so that a change
cannot store what a create would refuse.
"""

import copy
import re

import jsonpatch
import jsonpointer
from oslo_utils import timeutils

from edge_enroll import exception
from edge_enroll import hardware_types


CREATE_KEYS = frozenset(('name', 'hardware_type', 'properties'))
PATCH_OPS = frozenset(('add', 'replace', 'remove'))
PATCH_KEYS = frozenset(('op', 'path', 'value'))
#: What a PATCH may touch.
PATCH_PATH = re.compile(r'^/(name|properties(/[^/]+)*)$')
#: Availability windows, as python-doniclient changes them: add
#: ``/availability/-``, replace ``/availability/<uuid>/start|end``,
#: remove ``/availability/<uuid>``.
WINDOW_PATH = re.compile(r'^/availability(/(?P<uuid>-|[0-9a-fA-F-]{36})'
                         r'(/(?P<field>start|end))?)?$')
WINDOW_KEYS = frozenset(('start', 'end'))


def parse_create(body, types):
    """``(hardware_type, name, properties)`` of a create body, checked;
    ``types``: the enabled hardware types by name.
    """
    if not isinstance(body, dict):
        raise exception.Invalid(reason='the body must be a JSON object '
                                       'with name, hardware_type and '
                                       'properties')
    unknown = sorted(set(body) - CREATE_KEYS)
    if unknown:
        raise exception.Invalid(
            reason='unknown keys %s; allowed: %s' % (
                ', '.join(exception.quote(k) for k in unknown),
                ', '.join(sorted(CREATE_KEYS))))
    missing = sorted(CREATE_KEYS - set(body))
    if missing:
        raise exception.Invalid(reason='%s missing' % ', '.join(missing))
    hw_type = hardware_type(body['hardware_type'], types)
    hardware_types.validate_name(body['name'])
    props = body['properties']
    if not isinstance(props, dict):
        raise exception.Invalid(reason='properties must be a JSON object')
    hw_type.validate(props)
    return hw_type, body['name'], props


def hardware_type(name, types):
    if not isinstance(name, str) or name not in types:
        raise exception.UnknownHardwareType(
            hardware_type=exception.quote(name),
            types=', '.join(sorted(types)) or 'none')
    return types[name]


def split_patch(patch):
    """``(hardware operations, availability operations)`` of a PATCH
    body, each operation's shape checked.
    """
    if not isinstance(patch, list) or not patch:
        raise exception.InvalidPatch(reason='the body must be a non-empty '
                                            'list of operations')
    for op in patch:
        if not isinstance(op, dict):
            raise exception.InvalidPatch(reason='an operation is not an '
                                                'object')
    windows = [op for op in patch if isinstance(op.get('path'), str) and
               op['path'].startswith('/availability')]
    return [op for op in patch if op not in windows], windows


def _check_ops(patch, paths=PATCH_PATH):
    for op in patch:
        if not isinstance(op, dict):
            raise exception.InvalidPatch(reason='an operation is not an '
                                                'object')
        unknown = sorted(set(op) - PATCH_KEYS)
        if unknown:
            raise exception.InvalidPatch(reason='unknown keys %s' % ', '.join(
                exception.quote(k) for k in unknown))
        if op.get('op') not in PATCH_OPS:
            raise exception.InvalidPatch(reason='op %s is not one of %s' % (
                exception.quote(op.get('op')), ', '.join(sorted(PATCH_OPS))))
        path = op.get('path')
        if not isinstance(path, str) or not paths.match(path):
            raise exception.InvalidPatch(
                reason='path %s cannot be changed' % exception.quote(path))
        if op['op'] != 'remove' and 'value' not in op:
            raise exception.InvalidPatch(reason='%s of %s has no value' % (
                op['op'], exception.quote(path)))


def apply_patch(hw_type, name, properties, patch):
    """``(name, properties)`` after ``patch``, both checked again."""
    if not isinstance(patch, list) or not patch:
        raise exception.InvalidPatch(reason='the body must be a non-empty '
                                            'list of operations')
    _check_ops(patch)
    # The doniclient sends "value" with "remove"; RFC 6902 ignores it.
    ops = [{k: v for k, v in op.items()
            if op['op'] != 'remove' or k != 'value'} for op in patch]
    doc = {'name': name, 'properties': copy.deepcopy(properties)}
    try:
        result = jsonpatch.apply_patch(doc, ops)
    except (jsonpatch.JsonPatchException,
            jsonpointer.JsonPointerException) as e:
        raise exception.InvalidPatch(reason=str(e))
    if set(result) != {'name', 'properties'}:
        raise exception.InvalidPatch(reason='name and properties cannot '
                                            'be removed')
    hardware_types.validate_name(result['name'])
    if not isinstance(result['properties'], dict):
        raise exception.Invalid(reason='properties must stay a JSON object')
    hw_type.validate(result['properties'], old=properties)
    return result['name'], result['properties']


def _time(value, what):
    try:
        return timeutils.normalize_time(timeutils.parse_isotime(value))
    except (TypeError, ValueError, AttributeError):
        raise exception.InvalidPatch(
            reason='%s %s is not an ISO 8601 date and time' % (
                what, exception.quote(value)))


def _window(value):
    if not isinstance(value, dict) or set(value) != WINDOW_KEYS:
        raise exception.InvalidPatch(reason='a window is {"start": ..., '
                                            '"end": ...}')
    return {key: _time(value[key], key) for key in WINDOW_KEYS}


def parse_windows(patch, windows):
    """``(creates, updates, deletes)`` of the availability operations
    ``patch``; ``windows``: the hardware's, by UUID.  Every window must
    end after it starts.
    """
    _check_ops(patch, WINDOW_PATH)
    creates, updates, deletes = [], {}, []
    for op in patch:
        match = WINDOW_PATH.match(op['path'])
        uuid, field = match.group('uuid'), match.group('field')
        if op['op'] == 'add' and uuid in (None, '-') and not field:
            creates.append(_window(op['value']))
        elif uuid in (None, '-'):
            raise exception.InvalidPatch(reason='add a window at '
                                                '/availability/-')
        elif uuid not in windows:
            raise exception.WindowNotFound(uuid=exception.quote(uuid))
        elif op['op'] == 'remove' and not field:
            deletes.append(uuid)
        elif op['op'] == 'remove':
            raise exception.InvalidPatch(reason='a window keeps its start '
                                                'and end; remove the window')
        elif field:
            updates.setdefault(uuid, {})[field] = _time(op['value'], field)
        else:
            updates[uuid] = _window(op['value'])
    for uuid, values in updates.items():
        merged = dict(
            {'start': windows[uuid].start, 'end': windows[uuid].end},
            **values)
        _check_order(merged)
    for window in creates:
        _check_order(window)
    return creates, updates, deletes


def _check_order(window):
    start, end = (timeutils.normalize_time(window[k]) if window[k] else None
                  for k in ('start', 'end'))
    if start and end and end <= start:
        raise exception.InvalidPatch(reason='a window must end after it '
                                            'starts')
