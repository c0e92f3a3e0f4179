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

"""The channel API (edge_channels) under uWSGI, as zun-api runs.

It calls Neutron as its own Keystone user, ``edge-channels``, who holds
only the ``service`` role: Neutron lets that role set ports' bindings
and act for every project, and nothing more is needed.  The catalog
gets a service of type ``channel``.  The channel subnet is made by the
admin in Neutron (the API never makes subnets)::

    api = ChannelAPI(workdir, logs, keystone, neutron)
    api.setup()                  # Keystone user, subnet, config
    api.start(processes.append)
    api.client('demo').get('/channels')
"""

import os

from keystoneauth1 import adapter

from aio import keystone as keystone_mod
from aio import service


#: The API's Keystone user and its roles, in the service project.
USER = 'edge-channels'
ROLES = ('service',)
SERVICE_TYPE = 'channel'
SERVICE_NAME = 'edge-channels'
#: The channel network and subnet the admin makes in Neutron.
NETWORK = 'channels'
CIDR = '10.99.0.0/24'
#: The host whose hub agent ends the hubs (``[hub] host``).
HUB_HOSTS = ('hub-1',)
WSGI_SCRIPT = 'edge-channels-api'


class ChannelAPI:
    """edge-channels-api on ``keystone`` and ``neutron`` (aio objects,
    both running when ``setup`` is called).  ``cidr``: the channel
    subnet's (made in network ``network``, the default subnet);
    ``extra_subnets``: IDs of more channel subnets, made by the caller;
    ``hub_hosts``: ``[api] hub_hosts``.
    """

    def __init__(self, workdir, logs, keystone, neutron, cidr=CIDR,
                 hub_hosts=HUB_HOSTS, network=NETWORK, extra_subnets=()):
        self.dir = os.path.join(workdir, 'edge-channels')
        self.log = os.path.join(logs, 'edge-channels-api.log')
        self.keystone = keystone
        self.neutron = neutron
        self.cidr = cidr
        self.hub_hosts = tuple(hub_hosts)
        self.network_name = network
        self.extra_subnets = tuple(extra_subnets)
        self.listener = service.listening_socket()
        self.port = self.listener.getsockname()[1]
        self.url = 'http://127.0.0.1:%d' % self.port
        self.conf = os.path.join(self.dir, 'edge-channels-api.conf')
        self.process = None
        #: The channel network and subnet (Neutron's dicts), once set up.
        self.network = self.subnet = None

    def sections(self):
        return {
            'DEFAULT': {'log_file': self.log, 'debug': 'true'},
            'api': {'channel_subnets': ','.join(
                        (self.subnet['id'],) + self.extra_subnets),
                    'hub_hosts': ','.join(self.hub_hosts)},
            'neutron': dict(self.keystone.credentials(USER),
                            auth_type='password',
                            region_name=keystone_mod.REGION,
                            valid_interfaces='public'),
            # Without its service type, keystonemiddleware refuses every
            # application credential with access rules, such as an edge
            # host's.
            'keystone_authtoken': dict(
                keystone_mod.authtoken(self.keystone, USER),
                service_type=SERVICE_TYPE),
            'oslo_concurrency': {'lock_path': os.path.join(self.dir,
                                                           'locks')},
        }

    def setup(self):
        """The Keystone user and catalog entry, the channel subnet, the
        configuration file; Keystone and Neutron must be running.
        """
        os.makedirs(self.dir)
        if USER not in self.keystone.users:
            self.keystone.add_user(USER, 'service', ROLES)
        self.keystone.add_endpoint(SERVICE_TYPE, SERVICE_NAME, self.url)
        self.network = self.neutron.ensure_network(self.network_name,
                                                   self.cidr, shared=False)
        admin = self.neutron.client()
        self.subnet = admin.get('/subnets', params={
            'network_id': self.network['id']}).json()['subnets'][0]
        service.write_conf(self.conf, self.sections())
        self.process = service.uwsgi(
            WSGI_SCRIPT, service.wsgi_script(
                WSGI_SCRIPT, 'edge_channels.api.wsgi', self.dir),
            self.listener, self.log,
            pyargv='--config-file %s' % self.conf)

    def start(self, on_start):
        """Start; ``on_start(process)`` once it runs, before it answers."""
        service.start_answering(self.process, self.url, on_start)

    def restart(self, on_start):
        """Start a stopped API again on its port."""
        self.process = self.process.remake()
        self.start(on_start)

    def client(self, user='admin'):
        """The channel API as ``user``, through the catalog (raises on
        nothing: tests look at the status codes).
        """
        return adapter.Adapter(self.keystone.session(user),
                               service_type=SERVICE_TYPE,
                               interface='public',
                               region_name=keystone_mod.REGION,
                               raise_exc=False)
