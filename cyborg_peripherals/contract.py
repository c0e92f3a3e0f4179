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

"""The attach-handle contract between the Cyborg and Zun sides.

This module is the single source of truth for what an ``OCI`` attach
handle carries. The Cyborg driver encodes it; the Zun driver decodes it.

Cyborg stores ``attach_info`` as a string and exposes it to API users as a
flat dict of strings; the conductor matches handles across discoveries by
that exact string.  So the encoding is canonical (sorted keys, no
whitespace), small, and made only of values that do not change when a
device is re-plugged: the CDI qualified device name derived from the
device's stable identity, and its class.  Everything that can change (the
kernel node, its major/minor) lives in the CDI spec on the host.
"""

import dataclasses
import json

from cyborg_peripherals.cdi import names


#: Cyborg attach-handle type for peripherals (see specs/).
ATTACH_TYPE = 'OCI'

#: Cyborg device type for peripherals.
DEVICE_TYPE = 'PERIPHERAL'

#: Control-path id type: identities are not PCI addresses.
CPID_TYPE = 'PERIPHERAL'

#: The CDI kind all our devices belong to.
CDI_VENDOR = 'openstack.org'
CDI_CLASS = 'peripheral'
CDI_KIND = '%s/%s' % (CDI_VENDOR, CDI_CLASS)

#: Bumped only for incompatible changes to the keys below.
CONTRACT_VERSION = '1'

_KEYS = frozenset(('cdi_device', 'class', 'version'))

#: Unpatched Cyborg databases hold attach_info in a String(255).
MAX_ATTACH_INFO_LEN = 255


def device_class_of(cdi_name):
    """The peripheral class a CDI device name of our kind records.

    The spec has no field for a device's class, so its name carries it:
    names are ``<class>-<identity>-<digest>`` (naming.cdi_device_name)
    and class names hold no ``-``.  None when the name records no valid
    class.
    """
    device_class = cdi_name.partition('-')[0]
    return device_class if names.is_valid_class_name(device_class) and \
        '-' in cdi_name else None


class InvalidAttachInfo(ValueError):
    """Raised when an attach_info does not follow the contract."""


@dataclasses.dataclass(frozen=True)
class AttachInfo:
    """What an ``OCI`` attach handle points at."""

    cdi_device: str
    device_class: str

    def __post_init__(self):
        try:
            kind, _name = names.split_qualified_name(self.cdi_device)
        except names.InvalidName as e:
            raise InvalidAttachInfo('cdi_device: %s' % e) from None
        if kind != CDI_KIND:
            raise InvalidAttachInfo(
                'cdi_device %r is not of kind %s' % (self.cdi_device,
                                                     CDI_KIND))
        if not names.is_valid_class_name(self.device_class):
            raise InvalidAttachInfo(
                'class %r is not a valid peripheral class name'
                % self.device_class)

    @property
    def cdi_name(self):
        """The device part of the qualified CDI name."""
        return names.split_qualified_name(self.cdi_device)[1]

    def to_dict(self):
        return {'cdi_device': self.cdi_device,
                'class': self.device_class,
                'version': CONTRACT_VERSION}

    def encode(self):
        """Canonical string stored by Cyborg; byte-stable for equal input."""
        return json.dumps(self.to_dict(), sort_keys=True,
                          separators=(',', ':'))

    @classmethod
    def for_device(cls, cdi_name, device_class):
        return cls(cdi_device=names.qualified_name(CDI_KIND, cdi_name),
                   device_class=device_class)

    @classmethod
    def decode(cls, attach_info):
        """Parse and validate an attach_info.

        Accepts the stored JSON string or the dict of strings that
        Cyborg's ARQ API returns.  Anything else, including extra keys, is
        refused: the attach info is untrusted input on the Zun side.
        """
        if isinstance(attach_info, (str, bytes)):
            if len(attach_info) > 4096:
                raise InvalidAttachInfo('attach_info is too long')
            try:
                attach_info = json.loads(attach_info)
            except ValueError as e:
                raise InvalidAttachInfo(
                    'attach_info is not valid JSON: %s' % e) from None
            except RecursionError:
                raise InvalidAttachInfo(
                    'attach_info is nested too deeply') from None
        if not isinstance(attach_info, dict):
            raise InvalidAttachInfo('attach_info must be a JSON object')
        keys = set(attach_info)
        if keys != _KEYS:
            missing = sorted(_KEYS - keys)
            extra = sorted(keys - _KEYS)
            raise InvalidAttachInfo(
                'attach_info keys do not match the contract (missing: %s; '
                'unexpected: %s)' % (', '.join(missing) or 'none',
                                      ', '.join(extra) or 'none'))
        if not all(isinstance(v, str) for v in attach_info.values()):
            raise InvalidAttachInfo('attach_info values must be strings')
        if attach_info['version'] != CONTRACT_VERSION:
            raise InvalidAttachInfo(
                'attach_info version %r is not supported (expected %s)'
                % (attach_info['version'], CONTRACT_VERSION))
        return cls(cdi_device=attach_info['cdi_device'],
                   device_class=attach_info['class'])
