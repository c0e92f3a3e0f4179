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

"""The hub agent's privileged operations: its hubs' WireGuard
interfaces and the tenant overlay's relay, and nothing else.

One privsep context, CAP_NET_ADMIN only (the commands it runs get no
more: see ``edge_channels.agent.linux``).  Entrypoints take a hub port
ID or one of our interface names (``naming``) and validated keys and
prefixes; the private key is read by ``wg`` from the daemon's own
``[hub] state_dir``, never passed around, and never returned.
"""

import ipaddress

from oslo_config import cfg
from oslo_privsep import capabilities
from oslo_privsep import priv_context

from edge_channels import channel
from edge_channels import naming
from edge_channels.agent import linux
from edge_channels.agent import plan as plan_mod
from edge_channels.agent import state as state_mod
from edge_channels.hub import overlay as hub_overlay


hub_pctxt = priv_context.PrivContext(
    'edge_channels',
    cfg_section='edge_channels_hub_privileged',
    pypath=__name__ + '.hub_pctxt',
    capabilities=[capabilities.CAP_NET_ADMIN],
)


def _device(hub_id):
    return naming.wireguard_device(hub_id)


def _prefix(text):
    return str(ipaddress.ip_network(text))


def _interface(text):
    return str(ipaddress.ip_interface(text))


def _endpoint(text):
    return None if text is None else channel.validate_endpoint(text)


_CHECK = {
    plan_mod.ADDRESS_ADD: (_interface,),
    plan_mod.ADDRESS_DEL: (_interface,),
    plan_mod.PEER_REMOVE: (channel.validate_public_key,),
    plan_mod.PEER_SET: (channel.validate_public_key,
                        lambda ips: [_prefix(ip) for ip in ips],
                        _endpoint),
    plan_mod.ROUTE_ADD: (_prefix,),
    plan_mod.ROUTE_DEL: (_prefix,),
}


def _check_op(op):
    name, args = op[0], list(op[1:])
    checks = _CHECK.get(name)
    if checks is None or len(checks) != len(args):
        raise ValueError('refusing operation %r' % (op,))
    return [name] + [check(arg) for check, arg in zip(checks, args)]


@hub_pctxt.entrypoint
def ensure_device(hub_id, listen_port):
    """Make the hub's interface if missing, with its key and port, up.
    Returns (created, backend or None, public key).
    """
    device = _device(hub_id)
    conf = cfg.CONF.hub
    created, backend = False, None
    if not linux.exists(device):
        backend = linux.create(device, conf.wireguard_backend)
        created = True
    key_path = state_mod.key_path(conf.state_dir, hub_id)
    with open(key_path) as f:
        private_key = f.read().strip()
    have_private, public, port, _peers = linux.dump(device)
    if have_private != private_key or port != int(listen_port):
        linux.configure(device, key_path, int(listen_port))
        public = linux.dump(device)[1]
    linux.set_up(device)
    return created, backend, public


@hub_pctxt.entrypoint
def device_state(hub_id):
    """The interface as ``plan.Actual`` fields plus the peers' details
    (endpoint, latest handshake); None if it does not exist.
    """
    device = _device(hub_id)
    if not linux.exists(device):
        return None
    _private, public, port, peers = linux.dump(device)
    return {'public_key': public, 'listen_port': port, 'peers': peers,
            'addresses': linux.addresses(device),
            'routes': linux.routes(device)}


@hub_pctxt.entrypoint
def peer_endpoints(hub_id):
    """{peer public key: endpoint or None} of the hub's interface; None
    if it does not exist.
    """
    device = _device(hub_id)
    if not linux.exists(device):
        return None
    return linux.peer_endpoints(device)


@hub_pctxt.entrypoint
def apply(hub_id, ops):
    """Apply ``plan.plan``'s operations to the hub's interface."""
    device = _device(hub_id)
    checked = [_check_op(op) for op in ops]
    for op in checked:
        getattr(linux, op[0])(device, *op[1:])


@hub_pctxt.entrypoint
def list_devices():
    """Names of the interfaces here that ``naming`` says are hubs'."""
    return [name for name in linux.links()
            if naming.is_wireguard_device(name)]


@hub_pctxt.entrypoint
def delete_device(name):
    if not naming.is_wireguard_device(name):
        raise ValueError('refusing to delete %r: not a hub interface' %
                         (name,))
    if linux.exists(name):
        linux.delete(name)


@hub_pctxt.entrypoint
def apply_overlay(want):
    """Make the tenant overlay's relay (``edge_channels.hub.overlay``)
    ``want``: ``[[VNI, [spoke IPv4 address, ...]], ...]`` (pairs, as
    privsep carries them).  Returns the number of changes.
    """
    checked = {}
    for vni, addresses in want:
        if not isinstance(vni, int) or not 0 < vni < 2 ** 24:
            raise ValueError('refusing VNI %r' % (vni,))
        checked[vni] = frozenset(str(ipaddress.IPv4Address(a))
                                 for a in addresses)
    return hub_overlay.Relay(run=linux.run).apply(checked)
