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

"""Names of what edge_channels creates on a host, computed in one place.

Neutron (the mechanism driver) names a network's bridge in the port's
binding details; the host side creates the bridge of that name.  Both
ask this module, so that they cannot disagree.
"""

import re


#: The key of the bridge's name in ``binding:vif_details``: neutron-lib's
#: ``portbindings.VIF_DETAILS_BRIDGE_NAME`` (a test checks they agree),
#: here so that the host program starts without importing neutron-lib,
#: which takes longer than the plug itself.
VIF_DETAILS_BRIDGE_NAME = 'bridge_name'
#: Linux refuses interface names longer than IFNAMSIZ - 1 characters.
IFNAME_MAX = 15
#: A prefix leaves at least six hexadecimal digits of the network.
PREFIX_MAX = 9
_PREFIX = re.compile(r'[a-z][a-z0-9-]{0,%d}' % (PREFIX_MAX - 1))
_UUID_DIGITS = re.compile(r'[0-9a-f]{32}')


def check_prefix(prefix):
    """Raise ValueError unless prefix can start a bridge name."""
    if not _PREFIX.fullmatch(prefix or ''):
        raise ValueError(
            'bridge prefix %r: 1 to %d characters, a lowercase letter '
            'then lowercase letters, digits or "-"' % (prefix, PREFIX_MAX))
    return prefix


def bridge_name(network_id, prefix):
    """The Linux bridge of Neutron network ``network_id`` on a host:
    ``prefix`` followed by the first hexadecimal digits of the ID.

    The prefix tells this deployment's bridges from anything else on
    the host, which is what lets the host side remove them safely.
    """
    check_prefix(prefix)
    digits = str(network_id).replace('-', '').lower()
    if not _UUID_DIGITS.fullmatch(digits):
        raise ValueError('network ID %r is not a UUID' % (network_id,))
    return prefix + digits[:IFNAME_MAX - len(prefix)]


def is_bridge_name(name, prefix):
    """Whether ``name`` is one that ``bridge_name`` gives with
    ``prefix``.
    """
    rest = name[len(prefix):] if name.startswith(prefix) else ''
    return (len(name) == IFNAME_MAX and
            re.fullmatch(r'[0-9a-f]+', rest) is not None)
