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


#: The start of every WireGuard interface of a channel hub: the hub
#: agent removes only interfaces of this form whose hub port is gone.
WIREGUARD_PREFIX = 'wg-'
#: The ``binding:vif_details`` key of a hub port's interface name.
VIF_DETAILS_DEVICE_NAME = 'device_name'
_UUID = re.compile(r'[0-9a-f]{32}|'
                   r'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-'
                   r'[0-9a-f]{12}')
_WIREGUARD_NAME = re.compile(r'wg-[0-9a-f]{%d}'
                             % (IFNAME_MAX - len(WIREGUARD_PREFIX)))


def wireguard_device(port_id):
    """The WireGuard interface of hub port ``port_id``: ``wg-`` and
    the first 12 hexadecimal digits of the port's UUID (15 characters,
    Linux's longest name).

    The ML2 driver writes it into the port's ``vif_details`` and the
    hub agent creates it; both call this.  48 bits of a random UUID
    make a clash between two hubs of one host vanishingly unlikely.
    Raises ValueError for anything but a UUID (a hyphenated or bare
    hexadecimal spelling, either case).
    """
    text = str(port_id).lower()
    if not _UUID.fullmatch(text):
        raise ValueError('port ID %r is not a UUID' % (port_id,))
    digits = text.replace('-', '')
    return WIREGUARD_PREFIX + digits[:IFNAME_MAX - len(WIREGUARD_PREFIX)]


def is_wireguard_device(name):
    """Whether ``name`` is one that ``wireguard_device`` gives."""
    return _WIREGUARD_NAME.fullmatch(name or '') is not None
