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

"""Some of the all-in-one cloud's services, for tests and benchmarks.

Keystone always; Placement, a RabbitMQ virtual host, Neutron and
kuryr-libnetwork if asked for: each started by its own aio module, as
``aio.cloud.Cloud`` starts it.  ``stop()`` removes all it made: the
processes (and those handed to ``track``), the MariaDB databases, the
virtual host and the work directory (kept, with the logs, when
something failed).

    with ControlPlane('channels', neutron=True,
                      mechanism_drivers=('edge_bridge', 'edge_channel'),
                      ) as plane:
        ports = plane.neutron.client('demo').get('/ports').json()

``aio.cloud.Cloud`` does not use this class: it records each resource
in its ``state.json`` before making it, so that ``Cloud.teardown`` can
remove a cloud left by another process, and fills Keystone's catalog
with Cyborg's and Zun's endpoints before they run.
"""

import os
import secrets
import shutil
import tempfile
import uuid

from aio import db as db_mod
from aio import keystone as keystone_mod
from aio import kuryr as kuryr_mod
from aio import neutron as neutron_mod
from aio import placement as placement_mod
from aio import rabbit
from aio import service


class ControlPlane:
    """Keystone, and the other services asked for; see the module.

    ``name``: in the work directory's name (``cp-<name>-*`` under the
    temporary directory), the virtual host's (``cp-<name>-<id>``) and,
    with the ID, the databases'.  ``db``: 'sqlite' or 'mariadb', for
    Keystone and Placement (Neutron's is always on MariaDB).
    ``placement``, ``rabbit``, ``neutron``, ``kuryr``: start these too;
    Neutron needs the virtual host, Kuryr needs Neutron (and root and
    the machine's Docker engine).  ``mechanism_drivers``,
    ``neutron_config``, ``edge_hosts`` and ``tenant_channel_networks``:
    Neutron's (see ``aio.neutron.Neutron``).  ``users``: more Keystone
    users, name -> (project, roles); ``endpoints``: more catalog
    entries, service type -> (name, URL), made once Keystone runs.
    ``progress(message)`` hears each step.
    """

    def __init__(self, name='plane', db='sqlite', placement=False,
                 rabbit=False, neutron=False, kuryr=False,
                 mechanism_drivers=neutron_mod.MECHANISM_DRIVERS,
                 neutron_config=None, edge_hosts=(), users=None,
                 endpoints=None, progress=None, tenant_channel_networks=()):
        if db not in ('sqlite', 'mariadb'):
            raise ValueError('db must be sqlite or mariadb, not %r' % db)
        if kuryr and not neutron:
            raise ValueError('Kuryr needs Neutron: pass neutron=True')
        self.name = name
        self.db = db
        self.want_placement = placement
        self.want_rabbit = rabbit or neutron
        self.want_neutron = neutron
        self.want_kuryr = kuryr
        self.mechanism_drivers = tuple(mechanism_drivers)
        self.neutron_config = neutron_config
        self.edge_hosts = tuple(edge_hosts)
        self.tenant_channel_networks = tuple(tenant_channel_networks)
        self.extra_users = dict(users or {})
        self.extra_endpoints = dict(endpoints or {})
        self.progress = progress or (lambda message: None)
        #: Eight hex digits; Kuryr's plugin and bridge prefix carry it.
        self.id = uuid.uuid4().hex[:8]
        self.workdir = None
        self.logs = None
        self.setup_log = None
        #: The virtual host and its URL, with ``rabbit`` or ``neutron``.
        self.vhost = None
        self.transport_url = None
        #: The aio service objects; None for those not asked for.
        self.keystone = self.placement = None
        self.neutron = self.kuryr = None
        self.databases = []
        self.processes = []

    # -- life cycle ---------------------------------------------------------

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        errors = self.stop(keep_logs=exc_type is not None)
        if errors and exc_type is None:
            raise RuntimeError('control plane clean-up: %s (logs in %s)'
                               % ('; '.join(errors), self.logs))

    def start(self):
        """Start the services; on failure, remove what was made (keeping
        the logs) and raise.
        """
        if self.workdir is not None:
            raise RuntimeError('this control plane has already started')
        self.workdir = tempfile.mkdtemp(prefix='cp-%s-' % self.name)
        self.logs = os.path.join(self.workdir, 'logs')
        os.makedirs(self.logs)
        self.setup_log = os.path.join(self.logs, 'setup.log')
        try:
            self._start()
        except BaseException:
            self.stop(keep_logs=True)
            raise
        return self

    def _start(self):
        if self.want_rabbit:
            rabbit.ensure_running(self.setup_log)
            # Named before it exists: a failed add is deleted too.
            self.vhost = 'cp-%s-%s' % (self.name, self.id)
            self.transport_url = rabbit.add_vhost(self.vhost,
                                                  self.setup_log)
        urls = self._create_databases()
        passwords = {user: _password() for user in keystone_mod.USERS}
        self.keystone = keystone_mod.Keystone(
            self.workdir, self.logs, urls['keystone'], _password(),
            passwords)
        endpoints = {}
        if self.want_placement:
            self.placement = placement_mod.Placement(
                self.workdir, self.logs, urls['placement'], self.keystone)
            endpoints['placement'] = ('placement', self.placement.url)
        if self.want_neutron:
            prefix = (kuryr_mod.bridge_prefix(self.id) if self.want_kuryr
                      else None)
            self.neutron = neutron_mod.Neutron(
                self.workdir, self.logs, urls['neutron'], self.keystone,
                self.transport_url, mechanism_drivers=self.mechanism_drivers,
                edge_hosts=self.edge_hosts, bridge_prefix=prefix,
                config=self.neutron_config,
                tenant_channel_networks=self.tenant_channel_networks)
            endpoints['network'] = ('neutron', self.neutron.url)
        endpoints.update(self.extra_endpoints)
        self.progress('starting Keystone')
        self.keystone.setup()
        self.keystone.start(self.track)
        self.keystone.populate(endpoints)
        for user, (project, roles) in sorted(self.extra_users.items()):
            self.keystone.add_user(user, project, roles)
        if self.placement is not None:
            self.progress('starting Placement')
            self.placement.setup()
            self.placement.start(self.track)
        if self.neutron is not None:
            self.progress('starting Neutron (mechanism drivers %s)'
                          % ','.join(self.mechanism_drivers))
            self.neutron.setup()
            self.neutron.start(self.track)
        if self.want_kuryr:
            self.progress('starting Kuryr')
            self.kuryr = kuryr_mod.Kuryr(self.workdir, self.logs,
                                         self.keystone, self.id)
            self.kuryr.setup()
            self.kuryr.start(self.track)

    def _create_databases(self):
        kinds = {'keystone': self.db}
        if self.want_placement:
            kinds['placement'] = self.db
        if self.want_neutron:
            kinds['neutron'] = 'mariadb'
        if 'mariadb' in kinds.values():
            db_mod.ensure_mariadb(self.setup_log)
        urls = {}
        for svc, kind in kinds.items():
            dbs = db_mod.Databases(kind, self.id, self.workdir)
            if kind == 'mariadb':
                # Named before it exists: a failed create is dropped too.
                self.databases.append(dbs.name(svc))
            urls[svc] = dbs.create(svc, self.setup_log)
        return urls

    def track(self, process):
        """Have ``stop()`` stop ``process`` (an ``aio.service.Process``,
        e.g. another service started on this control plane), before the
        control plane's own services; returns it.
        """
        self.processes.append(process)
        return process

    def stop(self, keep_logs=False):
        """Stop and remove everything this control plane made; the work
        directory too unless ``keep_logs`` or something could not be
        removed.  Returns the problems met; safe to call again.
        """
        errors = []
        own = [svc.process for svc in (self.kuryr, self.neutron,
                                       self.placement, self.keystone)
               if svc is not None]
        others = [p for p in self.processes if p not in own]
        service.stop_processes(list(reversed(others)), self.progress)
        if self.kuryr is not None and self.kuryr.process is not None:
            # Removes its Docker networks while it still answers.
            errors += self.kuryr.stop(self.progress)
        service.stop_processes([p for p in own if p is not None],
                               self.progress)
        for svc in (self.neutron, self.placement, self.keystone):
            if svc is not None and svc.process is None:
                # Made, never set up: give its port back.
                svc.listener.close()
        self.processes = []
        errors += db_mod.drop('mariadb', self.databases)
        self.databases = []
        if self.vhost:
            try:
                rabbit.delete_vhost(self.vhost, self.setup_log)
                self.vhost = None
            except service.ServiceFailed as e:
                errors.append(str(e))
        if self.workdir and os.path.isdir(self.workdir):
            if keep_logs or errors:
                self.progress('logs kept in %s' % self.logs)
            else:
                shutil.rmtree(self.workdir, ignore_errors=True)
        return errors

    def stop_or_raise(self):
        """``stop``, raising RuntimeError with the problems met (and
        where the logs are kept): a clean-up step for tests and
        benchmarks.
        """
        errors = self.stop()
        if errors:
            raise RuntimeError('control plane clean-up: %s (logs in %s)'
                               % ('; '.join(errors), self.logs))

    # -- using it -----------------------------------------------------------

    def credentials(self, user='admin'):
        """keystoneauth password options of ``user`` (see
        ``aio.keystone.Keystone.credentials``).
        """
        return self.keystone.credentials(user)

    def session(self, user='admin'):
        """A keystoneauth Session of ``user``, project-scoped."""
        return self.keystone.session(user)

    def authtoken(self, user):
        """The ``[keystone_authtoken]`` section of a service running as
        ``user``.
        """
        return keystone_mod.authtoken(self.keystone, user)

    def add_user(self, user, project='service', roles=('service', 'admin')):
        """A new Keystone user; returns its credentials."""
        return self.keystone.add_user(user, project, roles)

    def add_endpoint(self, svc_type, name, url):
        """A catalog entry: service ``name`` of type ``svc_type``."""
        self.keystone.add_endpoint(svc_type, name, url)


def _password():
    return secrets.token_hex(12)
