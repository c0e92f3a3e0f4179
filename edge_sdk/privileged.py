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

"""The privileged side of the Edge SDK: one privsep context that keeps
CAP_NET_ADMIN only, and small entrypoints over ``edge_sdk.netdev``.

Every entrypoint validates what it is given (interface names ``ec-*``,
addresses, keys, endpoints) before anything runs, whatever the caller:
the unprivileged side may have been fed by a hostile channel API.  The
private key crosses the daemon's local socket (it must reach ``wg``)
and is never returned or logged; ``show`` returns public facts only.
"""

from oslo_privsep import capabilities
from oslo_privsep import priv_context

from edge_sdk import conf
from edge_sdk import netdev
from edge_sdk import wireguard


context = priv_context.PrivContext(
    'edge_sdk',
    cfg_section=conf.PRIVILEGED_GROUP,
    pypath=__name__ + '.context',
    capabilities=[capabilities.CAP_NET_ADMIN],
)


@context.entrypoint
def create_interface(ifname):
    return netdev.create(wireguard.check_interface(ifname))


@context.entrypoint
def configure(tunnel, private_key):
    netdev.configure(wireguard.tunnel_from_dict(tunnel), private_key)


@context.entrypoint
def set_address(ifname, address):
    netdev.set_address(wireguard.check_interface(ifname),
                       wireguard.parse_address(address))


@context.entrypoint
def set_up(ifname):
    netdev.set_up(wireguard.check_interface(ifname))


@context.entrypoint
def delete_interface(ifname):
    netdev.delete(wireguard.check_interface(ifname))


@context.entrypoint
def show(ifname):
    return netdev.show(wireguard.check_interface(ifname))


@context.entrypoint
def list_interfaces():
    return netdev.list_interfaces()
