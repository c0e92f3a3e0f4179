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

"""Names derived from a peripheral's stable identity.

udev data is untrusted text, so every name here is built by sanitizing.
Sanitizing loses information (``a.b`` and ``a_b`` look alike), so each
name ends with a short digest of the raw identity: two identities never
share a name, one identity always gets the same name, and the readable
part can be cut to fit a length limit.
"""

import hashlib
import re

from cyborg_peripherals.cdi import names as cdi_names


#: Placement limits resource provider names to 200 characters; Cyborg
#: derives the provider name and uuid from the deployable name.
MAX_DEPLOYABLE_NAME_LEN = 200
#: Placement limits trait and resource class names to 255 characters.
MAX_TRAIT_LEN = 255
DIGEST_LEN = 10

_NOT_DEPLOYABLE = re.compile(r'[^A-Za-z0-9_-]+')
_NOT_CDI = re.compile(r'[^A-Za-z0-9_.-]+')
_NOT_TRAIT = re.compile(r'[^A-Z0-9_]')


def digest(text):
    return hashlib.sha256(text.encode('utf-8', 'surrogatepass')).hexdigest()[
        :DIGEST_LEN]


def _readable(identity):
    # "serial:Vendor_Model_123" -> "Vendor_Model_123"; the kind of identity
    # still counts, through the digest.
    return (identity.partition(':')[2] or identity).lstrip('/')


def _with_digest(readable, raw, limit):
    tail = '-' + digest(raw)
    return readable[:limit - len(tail)].rstrip('_.-') + tail


def deployable_name(host, device_class, identity):
    """``<host>_<class>_<identity>-<digest>`` in ``[A-Za-z0-9_-]``.

    The host is part of the name because Cyborg seeds the Placement
    resource provider uuid from it, so it must differ between hosts.
    """
    raw = '%s_%s_%s' % (host, device_class, identity)
    readable = _NOT_DEPLOYABLE.sub('_', '%s_%s_%s' % (
        host, device_class, _readable(identity)))
    return _with_digest(readable, raw, MAX_DEPLOYABLE_NAME_LEN)


def cdi_device_name(device_class, identity):
    """Device part of the CDI name: ``<class>-<identity>-<digest>``.

    It starts with the class name, hence with a letter, so specs stay on
    the lowest cdiVersion.  CDI allows ``:`` in names, but runtimes' CLIs
    split ``--device`` values on it, so we never emit one.
    """
    readable = _NOT_CDI.sub('_', '%s-%s' % (device_class,
                                            _readable(identity)))
    name = _with_digest(readable, '%s-%s' % (device_class, identity),
                        cdi_names.MAX_DEVICE_NAME_LEN)
    if not cdi_names.is_valid_device_name(name):
        # Only reachable through a bug here: class names are validated.
        raise ValueError('generated invalid CDI name %r' % name)
    return name


def trait_fragment(text):
    """Upper-case ``[A-Z0-9_]`` fragment for a trait or resource class."""
    cleaned = _NOT_TRAIT.sub('_', text.upper())
    if len(cleaned) <= 64:
        return cleaned
    return cleaned[:53] + '_' + digest(text).upper()


def resource_class(device_class):
    return 'CUSTOM_PERIPHERAL_%s' % trait_fragment(device_class)


def custom_trait(*parts):
    trait = 'CUSTOM_PERIPHERAL_' + '_'.join(trait_fragment(p) for p in parts)
    return trait[:MAX_TRAIT_LEN]
