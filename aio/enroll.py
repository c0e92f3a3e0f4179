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

"""The enrollment service (edge_enroll, the project's Doni) under
uWSGI, as the channel API runs (``aio.channels``), and its worker.

Both run as the Keystone user ``edge-enroll`` of the service project,
with ``service`` and ``admin``: the API only validates tokens with it,
the worker calls the channel API (``service``), makes the edge hosts'
users and application credentials in Keystone (``admin``), and, for
the ``compute`` worker, reads and deregisters hosts in Placement,
Cyborg and Zun (``admin``; groups ``[placement]``, ``[cyborg]``,
``[zun]``).  The
catalog gets a service of type ``inventory`` (python-doniclient's)::

    enroll = Enroll(workdir, logs, keystone, transport_url, db_url)
    enroll.setup()                # Keystone user, catalog, config, dbsync
    enroll.start(processes.append)
    enroll.openstack('hardware', 'list', user='demo')
"""

import os
import subprocess

from keystoneauth1 import adapter

from aio import keystone as keystone_mod
from aio import service


USER = 'edge-enroll'
ROLES = ('service', 'admin')
SERVICE_TYPE = 'inventory'
SERVICE_NAME = 'edge-enroll'
WSGI_SCRIPT = 'edge-enroll-api'


class Enroll:
    """edge-enroll-api (and ``start_worker``: edge-enroll-worker) on
    ``keystone`` (running when ``setup`` is called), the RabbitMQ
    virtual host ``transport_url`` and the database ``db_url``.
    ``worker_types``: ``[worker] enabled_worker_types``;
    ``service_groups``: the worker's groups through which it calls
    another service as ``edge-enroll`` (``[channel]``,
    ``[credentials]``, ``[placement]``, ``[cyborg]``, ``[zun]``);
    ``sections``: more configuration, merged over the defaults.
    """

    def __init__(self, workdir, logs, keystone, transport_url, db_url,
                 worker_types=('tunelo', 'credentials'),
                 service_groups=(), sections=None):
        self.dir = os.path.join(workdir, 'edge-enroll')
        self.logs = logs
        self.log = os.path.join(logs, 'edge-enroll-api.log')
        self.worker_log = os.path.join(logs, 'edge-enroll-worker.log')
        self.keystone = keystone
        self.transport_url = transport_url
        self.db_url = db_url
        self.worker_types = tuple(worker_types)
        self.service_groups = tuple(service_groups)
        self.extra_sections = dict(sections or {})
        self.listener = service.listening_socket()
        self.port = self.listener.getsockname()[1]
        self.url = 'http://127.0.0.1:%d' % self.port
        self.conf = os.path.join(self.dir, 'edge-enroll.conf')
        self.process = self.worker = None

    def sections(self):
        sections = {
            'DEFAULT': {'debug': 'true',
                        'transport_url': self.transport_url,
                        'state_path': self.dir},
            'database': {'connection': self.db_url},
            'worker': {'enabled_worker_types': ','.join(self.worker_types),
                       'host': 'enroll-worker-1',
                       'poll_interval': '1'},
            # service_type: keystonemiddleware refuses application
            # credentials with access rules without it.
            'keystone_authtoken': dict(
                keystone_mod.authtoken(self.keystone, USER),
                service_type=SERVICE_TYPE),
        }
        for group in self.service_groups:
            sections[group] = self.service_user()
        for section, options in self.extra_sections.items():
            sections.setdefault(section, {}).update(options)
        return sections

    def service_user(self):
        """keystoneauth options of the service user, as a worker's
        ``[channel]`` or ``[credentials]`` section takes them.
        """
        return dict(self.keystone.credentials(USER), auth_type='password',
                    region_name=keystone_mod.REGION,
                    valid_interfaces='public')

    def setup(self):
        """The Keystone user and catalog entry, the configuration, the
        database schema; Keystone must be running.
        """
        os.makedirs(self.dir)
        if USER not in self.keystone.users:
            self.keystone.add_user(USER, 'service', ROLES)
        self.keystone.add_endpoint(SERVICE_TYPE, SERVICE_NAME, self.url)
        service.write_conf(self.conf, self.sections())
        service.run('edge-enroll-dbsync',
                    [service.bin_path('edge-enroll-dbsync'),
                     '--config-file', self.conf, 'upgrade'], self.log)
        self.process = service.uwsgi(
            WSGI_SCRIPT, service.wsgi_script(
                WSGI_SCRIPT, 'edge_enroll.api.wsgi', self.dir),
            self.listener, self.log,
            pyargv='--config-file %s --log-file %s' % (self.conf,
                                                       self.log))
        self.worker = service.Process(
            'edge-enroll-worker',
            [service.bin_path('edge-enroll-worker'), '--config-file',
             self.conf, '--log-file', self.worker_log],
            self.worker_log)

    def start(self, on_start):
        """Start the API; ``on_start(process)`` once it runs."""
        service.start_answering(self.process, self.url, on_start)

    def start_worker(self, on_start):
        """Start edge-enroll-worker; ``on_start(process)`` once it runs."""
        on_start(self.worker.start())

    def client(self, user='admin'):
        """The API as ``user``, through the catalog (raises on nothing:
        tests look at the status codes).
        """
        return adapter.Adapter(self.keystone.session(user),
                               service_type=SERVICE_TYPE,
                               interface='public',
                               region_name=keystone_mod.REGION,
                               raise_exc=False)

    def openstack(self, *args, user='admin', timeout=120):
        """Run python-doniclient's ``openstack`` as ``user``; returns
        the CompletedProcess (tests look at its status and output).
        """
        return subprocess.run(
            [service.bin_path('openstack')] + list(args),
            env=dict(os.environ, **self.keystone.cli_env(user)),
            capture_output=True, text=True, timeout=timeout, check=False)
