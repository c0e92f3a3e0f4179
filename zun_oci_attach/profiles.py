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

"""Which Cyborg device profiles a container asks for.

Stock Zun's API refuses unknown fields, so the CLI hook carries the names
in a container label, separated by commas or spaces; the hook writes
spaces because python-zunclient splits a lone ``--label`` on commas.
The ``docker_oci`` driver claims and binds the profiles of the label
(:func:`from_label`).  Our Zun series (tools/zun-patches) adds a
``device_profiles`` field at API microversion 1.41 (:func:`from_field`);
Zun itself claims and binds those.  A profile asks for a number of
devices itself, so a repeated name adds none.

The module imports nothing from Zun: the CLI hook uses it in the client.
"""

import re


#: Container label holding the device profile names.
LABEL = 'openstack.org/device-profiles'

#: Cyborg's own rule for device profile names.
_NAME = re.compile(r'[a-zA-Z0-9-_]+')

#: More devices than any edge host carries; bounds the work one request
#: can cause in Cyborg and Placement.
MAX_PROFILES = 16


class InvalidDeviceProfiles(ValueError):
    """The requested device profile names cannot be used."""

    def __init__(self, value, reason):
        super().__init__(
            'Invalid device profiles %r: %s. Pass Cyborg device profile '
            'names (letters, digits, "-" and "_") with --device-profile, '
            'or in the %s label, separated by commas or spaces.'
            % (value, reason, LABEL))


def _split(value):
    if isinstance(value, str):
        return re.split(r'[\s,]+', value.strip())
    return list(value)


def _validated(value, names):
    for name in names:
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise InvalidDeviceProfiles(
                value, '%r is not a valid name' % (name,))
    return names


def _unique(names):
    unique = list(dict.fromkeys(names))
    if len(unique) > MAX_PROFILES:
        raise InvalidDeviceProfiles(
            ','.join(unique),
            'at most %d profiles per container' % MAX_PROFILES)
    return unique


def from_label(container):
    """Device profile names in ``container``'s label, in order."""
    labels = container.labels or {}
    if LABEL not in labels:
        return []
    return _unique(_validated(labels[LABEL], _split(labels[LABEL])))


def from_field(container):
    """Device profile names of the ``device_profiles`` field, in order.

    Always empty with stock Zun, whose containers have no such field.
    """
    field = getattr(container, 'device_profiles', None)
    if not field:
        return []
    return _unique(_validated(field, _split(field)))


def requested(container):
    """Device profile names requested by ``container``, in order."""
    return _unique(from_label(container) + from_field(container))


def label_value(names):
    """The label value carrying ``names``; the inverse of ``requested``."""
    return ' '.join(_validated(names, list(names)))
