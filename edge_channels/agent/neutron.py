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

"""The few Neutron calls of the hub agent, as its service user.

Raw REST through a keystoneauth Adapter (``[neutron]``).  The user
needs the ``service`` role: Neutron shows ``binding:host_id`` and
``binding:profile`` to it, lets it write a hub's profile, and shows
every project's ports.
"""

from edge_channels import channel
from edge_channels.conf import neutron as conf_neutron


PREFIX = '/v2.0'


class Client:

    def __init__(self, adapter):
        self.adapter = adapter

    @classmethod
    def from_conf(cls, conf):
        return cls(conf_neutron.adapter(conf, raise_exc=True))

    def _ports(self, **filters):
        return self.adapter.get(PREFIX + '/ports',
                                params=filters).json()['ports']

    def list_ports(self, **filters):
        """Ports of every project matching ``filters``."""
        return self._ports(**filters)

    def hubs(self, host):
        """The hub ports bound to ``host``."""
        return self._ports(device_owner=channel.DEVICE_OWNER_HUB,
                           **{'binding:host_id': host})

    def spokes(self, network_id):
        """The spoke ports of network ``network_id`` (of any hub)."""
        return self._ports(device_owner=channel.DEVICE_OWNER_SPOKE,
                           network_id=network_id)

    def port(self, port_id):
        """The port, or None if there is none."""
        resp = self.adapter.get(PREFIX + '/ports/%s' % port_id,
                                raise_exc=False)
        if resp.status_code == 404:
            return None
        resp.raise_for_status()
        return resp.json()['port']

    def report(self, hub_id, public_key, endpoint):
        """Write the hub's public key and endpoint into its profile."""
        self.adapter.put(PREFIX + '/ports/%s' % hub_id, json={'port': {
            'binding:profile': {channel.PROFILE_PUBLIC_KEY: public_key,
                                channel.PROFILE_ENDPOINT: endpoint}}})
