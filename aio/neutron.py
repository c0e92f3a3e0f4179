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

"""Neutron: the API with ML2, and no agents.

Neutron 29 has no ``neutron-server``: its API is a WSGI application,
served here by uWSGI.  No RPC server or periodic worker runs: they
serve agents (DHCP, L3, L2) and this cloud has none.  Ports are bound
by the ``edge_bridge`` mechanism driver of ``edge_channels``, which
needs no agent; containers get their addresses from Docker's remote
IPAM (kuryr-libnetwork), not from a DHCP agent.

Neutron sends its notifications (``port.create.end`` and the like) to
the cloud's RabbitMQ virtual host, exchange ``neutron``, topic
``notifications``: the hub agent of ``edge_channels`` hears port
changes there.
"""

import os
import time

from keystoneauth1 import adapter

from aio import keystone as keystone_mod
from aio import service


PASTE = os.path.join(os.path.dirname(service.VENV_BIN), 'etc', 'neutron',
                     'api-paste.ini')
#: The mechanism drivers of ``Neutron`` unless the caller names others.
MECHANISM_DRIVERS = ('edge_bridge',)
#: Where Neutron's notifications go on the cloud's transport URL: a
#: listener's ``oslo_messaging.Target(exchange=..., topic=...)``.
NOTIFICATION_EXCHANGE = 'neutron'
NOTIFICATION_TOPIC = 'notifications'
#: VXLAN network identifiers tenant networks take theirs from.
VNI_RANGES = '1:1000'
#: The tenant channels' MTU (WireGuard's); VXLAN networks over them get
#: this minus 50 (specs/container-networking.rst, tenant overlay).
OVERLAY_PATH_MTU = 1420


class Neutron:
    """Neutron's API on MariaDB (Neutron has no SQLite migrations).

    ``db_url`` is a MariaDB URL made with ``aio.db.Databases``; Keystone
    must know the ``neutron`` user (``service`` and ``admin`` roles in
    the ``service`` project).  ``edge_hosts``: the hosts whose ports
    ``edge_bridge`` binds (the compute hosts of this cloud; none: any);
    ``bridge_prefix``: the start of its bridges' names, the same as the
    host side's (``aio.kuryr.bridge_prefix(cloud id)``).
    ``config``: more options, ``{section: {option: value}}``, in a
    file read after the others (so they win), e.g. those of another
    mechanism driver.  ``tenant_channel_networks``: the channel
    networks (names or IDs) whose channels carry the tenant overlay;
    given, tenant networks are VXLAN, over those channels, with the
    channels' MTU as ``path_mtu`` (none: local tenant networks, no
    overlay).
    """

    def __init__(self, workdir, logs, db_url, keystone, transport_url,
                 mechanism_drivers=MECHANISM_DRIVERS, edge_hosts=(),
                 bridge_prefix=None, config=None,
                 tenant_channel_networks=()):
        if not db_url.startswith('mysql'):
            raise ValueError('Neutron needs a MariaDB database: its '
                             'migrations do not run on %s'
                             % db_url.split(':', 1)[0])
        self.dir = os.path.join(workdir, 'neutron')
        self.log = os.path.join(logs, 'neutron.log')
        self.db_url = db_url
        self.keystone = keystone
        self.transport_url = transport_url
        self.mechanism_drivers = tuple(mechanism_drivers)
        self.edge_hosts = tuple(edge_hosts)
        self.bridge_prefix = bridge_prefix
        self.tenant_channel_networks = tuple(tenant_channel_networks)
        self.listener = service.listening_socket()
        self.port = self.listener.getsockname()[1]
        self.url = 'http://127.0.0.1:%d' % self.port
        self.conf = os.path.join(self.dir, 'neutron.conf')
        self.ml2_conf = os.path.join(self.dir, 'ml2_conf.ini')
        self.extra_config = dict(config or {})
        self.extra_conf = os.path.join(self.dir, 'extra.conf')
        self.process = None
        #: Seconds ``neutron-db-manage upgrade heads`` took.
        self.migration_seconds = None

    @property
    def config_files(self):
        return (self.conf, self.ml2_conf) + (
            (self.extra_conf,) if self.extra_config else ())

    def setup(self):
        os.makedirs(self.dir)
        default = {
            'log_file': self.log,
            'transport_url': self.transport_url,
            'control_exchange': NOTIFICATION_EXCHANGE,
            'auth_strategy': 'keystone',
            'api_paste_config': PASTE,
            'core_plugin': 'ml2',
            # Tags only: kuryr-libnetwork marks the networks and ports it
            # uses with them (without, it renames them).  No routers, no
            # metering, no trunks: none has an agent here.
            'service_plugins': 'tag',
            # There is no Nova to tell about ports of 'compute:'
            # devices (Zun's are 'compute:kuryr').
            'notify_nova_on_port_status_changes': 'false',
            'notify_nova_on_port_data_changes': 'false',
            # No DHCP agent: Docker gives containers their port's address.
            # Without this Neutron tries to schedule each network on one.
            'enable_traditional_dhcp': 'false',
        }
        service.write_conf(self.conf, {
            'DEFAULT': default,
            'database': {'connection': self.db_url},
            'keystone_authtoken': keystone_mod.authtoken(self.keystone,
                                                         'neutron'),
            'oslo_messaging_notifications': {
                'driver': 'messagingv2',
                'transport_url': self.transport_url,
                'topics': NOTIFICATION_TOPIC},
            'oslo_concurrency': {'lock_path': os.path.join(self.dir,
                                                           'locks')},
        })
        ml2 = {'type_drivers': 'local,flat,vxlan',
               # Tenant networks are local: edge_bridge connects the
               # containers of one host (specs/container-networking.rst).
               'tenant_network_types': 'local',
               'mechanism_drivers': ','.join(self.mechanism_drivers),
               'extension_drivers': 'port_security'}
        edge_bridge = {'hosts': ','.join(self.edge_hosts)}
        if self.bridge_prefix:
            edge_bridge['bridge_prefix'] = self.bridge_prefix
        if self.tenant_channel_networks:
            # ... or VXLAN, carried over the tenant channels.
            ml2.update(tenant_network_types='vxlan',
                       path_mtu=str(OVERLAY_PATH_MTU))
            edge_bridge['tenant_channel_networks'] = ','.join(
                self.tenant_channel_networks)
        service.write_conf(self.ml2_conf, {
            'ml2': ml2,
            'ml2_type_flat': {'flat_networks': '*'},
            'ml2_type_vxlan': {'vni_ranges': VNI_RANGES},
            'edge_bridge': edge_bridge,
        })
        if self.extra_config:
            service.write_conf(self.extra_conf, self.extra_config)
        argv = [service.bin_path('neutron-db-manage')]
        for path in self.config_files:
            argv += ['--config-file', path]
        start = time.monotonic()
        service.run('neutron-db-manage', argv + ['upgrade', 'heads'],
                    os.path.join(os.path.dirname(self.log),
                                 'neutron-db-manage.log'))
        self.migration_seconds = time.monotonic() - start
        self.process = service.uwsgi(
            'neutron-api', 'neutron.wsgi.api:application', self.listener,
            self.log,
            # neutron.server reads this list split on ';'.
            {'OS_NEUTRON_CONFIG_FILES': ';'.join(self.config_files)})

    def start(self, on_start):
        """Start; ``on_start(process)`` once it runs, before it answers."""
        on_start(self.process.start())
        # The WSGI application loads the ML2 plugin and its drivers on
        # the first request's import: ask for the root until it answers.
        self.process.wait_until(lambda: service.http_answers(self.url),
                                'answer on %s' % self.url, timeout=120)

    def client(self, user='admin'):
        """Neutron's API as ``user`` (raises on HTTP errors)."""
        return adapter.Adapter(self.keystone.session(user),
                               endpoint_override=self.url + '/v2.0',
                               raise_exc=True)

    def ensure_network(self, name, cidr, shared=True, user='admin'):
        """The network ``name`` with one IPv4 subnet ``cidr``, created
        by ``user`` if missing; returns the network's dict.

        Zun puts a container given no network on the project's oldest
        own network, else on the oldest shared one
        (``NeutronAPI.get_available_network``): a shared network made
        by the admin serves every project of the cloud.
        """
        client = self.client(user)
        found = client.get('/networks', params={'name': name}).json()
        if found['networks']:
            return found['networks'][0]
        net = client.post('/networks', json={'network': {
            'name': name, 'shared': shared}}).json()['network']
        client.post('/subnets', json={'subnet': {
            'name': name, 'network_id': net['id'], 'ip_version': 4,
            'cidr': cidr, 'enable_dhcp': False}})
        return client.get('/networks/%s' % net['id']).json()['network']

