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

"""CDI name rules (CDI spec, "Kind" and device names).

A qualified device name is ``vendor/class=name``.  Vendor and class start
with a letter, end with a letter or digit and may contain ``_.-``; a dot
in the class needs cdiVersion 0.6.0, so we refuse it.  A device name
starts and ends with a letter or digit and may contain ``_.:-``; starting
with a digit needs cdiVersion 0.5.0, so names we generate always start
with a letter.
"""

import re


MAX_KIND_LEN = 253
MAX_DEVICE_NAME_LEN = 63

_VENDOR_RE = re.compile(r'[A-Za-z](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?')
_CLASS_RE = re.compile(r'[A-Za-z](?:[A-Za-z0-9_-]*[A-Za-z0-9])?')
_DEVICE_RE = re.compile(r'[A-Za-z0-9](?:[A-Za-z0-9_.:-]*[A-Za-z0-9])?')
_PERIPHERAL_CLASS_RE = re.compile(r'[a-z][a-z0-9_]{0,31}')


class InvalidName(ValueError):
    """A CDI kind or device name breaks the CDI name rules."""


def is_valid_kind(kind):
    if not isinstance(kind, str) or len(kind) > MAX_KIND_LEN:
        return False
    vendor, sep, cls = kind.partition('/')
    return bool(sep and _VENDOR_RE.fullmatch(vendor) and
                _CLASS_RE.fullmatch(cls))


def is_valid_device_name(name):
    return (isinstance(name, str) and len(name) <= MAX_DEVICE_NAME_LEN
            and _DEVICE_RE.fullmatch(name) is not None)


def is_valid_class_name(name):
    """Peripheral class names: short lower-case identifiers."""
    return isinstance(name, str) and bool(
        _PERIPHERAL_CLASS_RE.fullmatch(name))


def qualified_name(kind, name):
    if not is_valid_kind(kind):
        raise InvalidName('invalid CDI kind %r' % (kind,))
    if not is_valid_device_name(name):
        raise InvalidName('invalid CDI device name %r' % (name,))
    return '%s=%s' % (kind, name)


def split_qualified_name(qualified):
    """Split ``vendor/class=name`` into (kind, name), validating both."""
    if not isinstance(qualified, str):
        raise InvalidName('CDI device name must be a string')
    kind, sep, name = qualified.partition('=')
    if not sep:
        raise InvalidName('%r is not a qualified CDI device name '
                          '(vendor/class=name)' % (qualified,))
    qualified_name(kind, name)
    return kind, name
