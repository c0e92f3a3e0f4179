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

"""The all-in-one cloud: Keystone, Placement, Neutron, Cyborg and Zun
on loopback, with one or more compute hosts.

Each service runs from this virtualenv as a subprocess with its own
configuration and log under the work directory: zun-api, Keystone,
Placement, Neutron and Cyborg's API under uWSGI, Cyborg's conductor, and
on each compute host (``aio.compute``) zun-compute and a Cyborg agent.
Everything the cloud creates outside it (processes, MariaDB databases,
the RabbitMQ virtual host, device nodes, Docker containers and networks)
is recorded in ``state.json`` as it is created, or is found from what
it records (Zun's database names the containers and networks), so that
``Cloud.teardown(workdir)`` can remove a cloud left running with
``--keep``, or one whose start failed half-way.

An edge cloud (``Cloud(edge=True)``) also runs the channel API and the
hub agent (``aio.channels``, ``aio.edge``), and Neutron binds ports of
tenant networks (VXLAN, also the shared network) on the hosts that
have a tenant channel; ``add_edge_host`` adds an edge host: a network
namespace whose Edge SDK enrolls it through the enrollment service
(``edge-sdk register`` with the owner's password, then ``edge-sdk up``
with the application credential it was given) and brings up its
control and tenant channels, and a compute host inside it
(``aio.compute``) that reaches the cloud's services only through the
control channel.

A cloud with ``enroll=True`` (an edge cloud always) also runs the
enrollment service (``aio.enroll``: ``edge-enroll-api`` and
``edge-enroll-worker``, as ``cloud.enroll``) with the ``credentials``
and ``compute`` workers, and ``tunelo`` when the cloud has the channel
API: enrolling hardware named as a compute host records that host's
peripherals as its ``device_profiles``.
"""

import contextlib
import json
import os
import secrets
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
import uuid

import sqlalchemy

from aio import channels as channels_mod
from aio import compute as compute_mod
from aio import cyborg as cyborg_mod
from aio import db as db_mod
from aio import edge as edge_mod
from aio import emulated as emulated_mod
from aio import enroll as enroll_mod
from aio import keystone as keystone_mod
from aio import kuryr as kuryr_mod
from aio import neutron as neutron_mod
from aio import placement as placement_mod
from aio import rabbit
from aio import service
from aio import zun as zun_mod


#: The shared network Zun puts containers on, and its subnet.
NETWORK = 'aio-net'
SUBNET = '10.97.0.0/24'
#: An edge cloud's channel networks (and subnets): the control channels'
#: (the channel API's default) and the tenant channels', which carry
#: the overlay; and the edge hosts' channels of those names.
CONTROL_NETWORK, CONTROL_CIDR = 'edge-control', '10.235.0.0/24'
TENANT_NETWORK, TENANT_CIDR = 'edge-tenant', '10.236.0.0/24'
CONTROL_CHANNEL, TENANT_CHANNEL = 'control', 'tenant'
#: MariaDB's, whose root user the services use from 127.0.0.1.
MARIADB_PORT = sqlalchemy.engine.make_url(db_mod.MARIADB % 'any').port


class Cloud:
    """An all-in-one cloud; ``start()`` it, or use it as a context
    manager.  Its first compute host is named ``host``;
    ``add_compute_host`` adds others.  ``device_path`` (one of
    ``aio.zun.DEVICE_PATHS``) says how zun-compute gives containers
    their devices, and which API version the cloud's clients ask for.
    ``edge``: an edge cloud (see the module), which ``add_edge_host``
    needs.  ``enroll``: run the enrollment service (``cloud.enroll``,
    an ``aio.enroll.Enroll``; implied by ``edge``), with
    ``enroll_sections`` ({group: options}) over its configuration.
    """

    def __init__(self, workdir=None, db='sqlite', emulated=True,
                 periodic_interval=5, host=None, progress=None,
                 device_path=zun_mod.DEFAULT_DEVICE_PATH, edge=False,
                 enroll=False, enroll_sections=None):
        if device_path not in zun_mod.DEVICE_PATHS:
            raise ValueError('no device path %r: choose one of %s' % (
                device_path, ', '.join(sorted(zun_mod.DEVICE_PATHS))))
        if edge and db != 'mariadb':
            raise ValueError(
                "an edge cloud needs db='mariadb': zun-compute on an edge "
                'host uses Zun\'s database, which it must reach through '
                'its tunnel, not as a file')
        self.edge = edge
        self.enroll_enabled = enroll or edge
        self.enroll_sections = dict(enroll_sections or {})
        #: The enrollment service (``aio.enroll.Enroll``) once started.
        self.enroll = None
        self.device_path = device_path
        self.id = uuid.uuid4().hex[:8]
        self.workdir = os.path.abspath(
            workdir or tempfile.mkdtemp(prefix='cp-aio-'))
        self.logs = os.path.join(self.workdir, 'logs')
        self.db_kind = db
        self.emulated = emulated
        self.periodic_interval = periodic_interval
        self.host = host or socket.gethostname()
        self.vhost = 'cp-aio-%s' % self.id
        self.progress = progress or (lambda message: None)
        #: Seconds each start-up step took, in order.
        self.timings = {}
        self.keystone = self.placement = self.cyborg = None
        self.neutron = self.kuryr = self.zun = None
        self.transport_url = None
        #: An edge cloud's channel API and hub agent; its edge hosts
        #: (``aio.edge.EdgeHost``) by name.
        self.channel_api = self.hub = None
        self.edge_hosts = {}
        self._backings = None
        self._passwords = {user: secrets.token_hex(12)
                           for user in keystone_mod.USERS}
        self._admin_password = secrets.token_hex(12)
        #: Compute hosts by name, the first one first.
        self.hosts = {}
        self.hosts[self.host] = compute_mod.ComputeHost(self, self.host,
                                                        own_docker=False)
        self._state = {'workdir': self.workdir, 'db': db, 'databases': [],
                       'pgids': [], 'names': {}, 'vhost': None,
                       'nodes': [], 'containers': [], 'zun_db': None,
                       'engines': {}, 'kuryr': None, 'hosts': {},
                       'hub': None, 'edge_hosts': {}}

    @property
    def first(self):
        """The first compute host (``host``)."""
        return self.hosts[self.host]

    # -- life cycle ---------------------------------------------------------

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            # Keep the logs the error message points to.
            self.stop(remove_workdir=False)
            raise
        return self

    def __exit__(self, *exc):
        self.stop()

    @contextlib.contextmanager
    def step(self, what):
        """Time a step and report it through ``progress``."""
        self.progress('%s ...' % what)
        start = time.monotonic()
        yield
        self.timings[what] = time.monotonic() - start
        self.progress('%s: done in %.1fs' % (what, self.timings[what]))

    def _save(self):
        with open(os.path.join(self.workdir, 'state.json'), 'w') as f:
            json.dump(self._state, f, indent=1)

    def _started(self, process):
        self._record_group(process.pid, process.name)

    def _record_group(self, pgid, name):
        self._state['pgids'].append(pgid)
        self._state['names'][str(pgid)] = name
        self._save()

    def _record_nodes(self, nodes):
        self._state['nodes'].extend(sorted(nodes))
        self._save()

    def _databases(self, setup_log):
        """A database per service; Neutron's in MariaDB whatever
        ``db``: its migrations do not run on SQLite.
        """
        db_mod.ensure_mariadb(setup_log)
        urls = {}
        kinds = {svc: self.db_kind for svc in
                 ('keystone', 'placement', 'cyborg', 'zun')}
        if self.enroll_enabled:
            kinds['edge_enroll'] = self.db_kind
        kinds['neutron'] = 'mariadb'
        for svc, kind in kinds.items():
            dbs = db_mod.Databases(kind, self.id, self.workdir)
            if kind == 'mariadb':
                self._state['databases'].append(dbs.name(svc))
                self._save()
            urls[svc] = dbs.create(svc, setup_log)
        self._state['zun_db'] = urls['zun']
        self._save()
        return urls

    def start(self, kit=None):
        """Start the services and the first compute host; an emulated
        cloud plugs ``kit`` (see ``edge_kit()``) into it before its
        agent starts.

        The agent reports what it found at start, then each change its
        driver signals (Cyborg patch 0090; a removal once its grace
        period is over), with the periodic report as a safety net.
        """
        for path in (self.workdir, self.logs):
            os.makedirs(path, exist_ok=True)
        self._save()
        setup_log = os.path.join(self.logs, 'setup.log')
        with self.step('RabbitMQ virtual host %s' % self.vhost):
            rabbit.ensure_running(setup_log)
            self._state['vhost'] = self.vhost
            self._save()
            transport_url = self.transport_url = rabbit.add_vhost(
                self.vhost, setup_log)
        with self.step('%s databases' % self.db_kind):
            urls = self._databases(setup_log)
        self.keystone = keystone_mod.Keystone(
            self.workdir, self.logs, urls['keystone'], self._admin_password,
            self._passwords)
        self.placement = placement_mod.Placement(
            self.workdir, self.logs, urls['placement'], self.keystone)
        # Neutron binds ports on any host: Kuryr moves a container's
        # port to this machine's host name, whatever Zun's host is.
        overlay = {}
        if self.edge:
            overlay = {'mechanism_drivers': ('edge_bridge', 'edge_channel'),
                       'tenant_channel_networks': (TENANT_NETWORK,)}
        self.neutron = neutron_mod.Neutron(
            self.workdir, self.logs, urls['neutron'], self.keystone,
            transport_url, bridge_prefix=kuryr_mod.bridge_prefix(self.id),
            **overlay)
        self.kuryr = kuryr_mod.Kuryr(self.workdir, self.logs, self.keystone,
                                     self.id)
        self.cyborg = cyborg_mod.Cyborg(
            self.workdir, self.logs, urls['cyborg'], self.db_kind,
            self.keystone, transport_url, self.host, self.first.cdi_dir,
            self.periodic_interval)
        self.zun = zun_mod.Zun(self.workdir, self.logs, urls['zun'],
                               self.db_kind, self.keystone, transport_url,
                               self.device_path)
        with self.step('Keystone'):
            self.keystone.setup()
            self.keystone.start(self._started)
            self.keystone.populate({
                'placement': ('placement', self.placement.url),
                'network': ('neutron', self.neutron.url),
                'accelerator': ('cyborg', self.cyborg.url),
                'container': ('zun', self.zun.url)})
        with self.step('Placement'):
            self.placement.setup()
            self.placement.start(self._started)
        with self.step('Neutron API and network %s' % NETWORK):
            self.neutron.setup()
            self.neutron.start(self._started)
            self.neutron.ensure_network(NETWORK, SUBNET)
        if self.edge:
            with self.step('channel API and hub agent'):
                self._start_channels()
        with self.step('Kuryr (Docker network plugin %s)' % self.kuryr.name):
            self._state['kuryr'] = self.kuryr.record
            self._save()
            self.kuryr.setup()
            self.kuryr.start(self._started)
        with self.step('Cyborg API and conductor'):
            self.cyborg.setup()
            self.cyborg.start_api(self._started)
            self.cyborg.start_conductor(self._started)
        with self.step('Zun API'):
            self.zun.setup()
            self.zun.start_api(self._started)
        if self.enroll_enabled:
            with self.step('enrollment service (edge-enroll-api and '
                           'worker)'):
                self._start_enroll(urls['edge_enroll'])
        self._state['engines'][self.host] = self.first.docker_url
        self._save()
        self.first.start(kit)
        return self

    def _start_enroll(self, db_url):
        """The enrollment API and its worker, whose workers call the
        cloud's services as the ``edge-enroll`` service user.
        """
        workers = ['credentials', 'compute']
        groups = ['credentials', 'placement', 'cyborg', 'zun']
        sections = {}
        if self.channel_api is not None:
            workers.insert(0, 'tunelo')
            groups.insert(0, 'channel')
            # Tenant channels on the tenant subnet, as add_edge_host's.
            sections['channel'] = {'channel_subnets': '%s:%s' % (
                TENANT_CHANNEL, TENANT_CIDR)}
        for group, options in self.enroll_sections.items():
            sections.setdefault(group, {}).update(options)
        self.enroll = enroll_mod.Enroll(
            self.workdir, self.logs, self.keystone, self.transport_url,
            db_url, worker_types=workers, service_groups=groups,
            sections=sections)
        self.enroll.setup()
        self.enroll.start(self._started)
        self.enroll.start_worker(self._started)

    def _start_channels(self):
        """The channel API, on the control and tenant channel subnets,
        and the hub agent, in this namespace.
        """
        tenant = self.neutron.ensure_network(TENANT_NETWORK, TENANT_CIDR,
                                             shared=False)
        self.channel_api = channels_mod.ChannelAPI(
            self.workdir, self.logs, self.keystone, self.neutron,
            cidr=CONTROL_CIDR, hub_hosts=(edge_mod.HUB_HOST,),
            network=CONTROL_NETWORK, extra_subnets=tenant['subnets'])
        self.channel_api.setup()
        self.channel_api.start(self._started)
        self.hub = edge_mod.HubAgent(self.workdir, self.logs, self.keystone,
                                     self.transport_url)
        # Recorded first: its teardown finds the hubs in its state.
        self._state['hub'] = self.hub.record
        self._save()
        self.hub.setup()
        self.hub.start(self._started)

    def tunnelled(self):
        """{label: port} of what an edge host's services reach through
        the tunnel, at 127.0.0.1 as on this host.
        """
        return {'keystone': self.keystone.port,
                'placement': self.placement.port,
                'rabbitmq': rabbit.PORT,
                'mariadb': MARIADB_PORT,
                'neutron': self.neutron.port,
                'cyborg': self.cyborg.port,
                'zun': self.zun.port}

    def add_edge_host(self, name, kit=None):
        """Start edge host ``name`` (``aio.edge.EdgeHost``: its namespace,
        its enrollment as hardware ``name`` of the ``demo`` project, and
        its channels) and a compute host in it; an emulated cloud plugs
        ``kit`` (see ``add_compute_host``).  Returns the compute host;
        ``edge_hosts[name]`` is the edge host.  Its hardware's compute
        worker goes STEADY once the host has reported its peripherals:
        ``edge_hosts[name].wait_enrolled()``.
        """
        if not self.edge:
            raise ValueError('edge hosts need an edge cloud: '
                             'Cloud(edge=True)')
        if name in self.hosts:
            raise ValueError('this cloud already has a compute host %s'
                             % name)
        edge = edge_mod.EdgeHost(
            name, self.workdir, self.logs, self.keystone, self.channel_api,
            self.hub, self.tunnelled(), channel=CONTROL_CHANNEL,
            tenant_channel=TENANT_CHANNEL, loopback_peers=(MARIADB_PORT,),
            enroll=self.enroll)
        self.edge_hosts[name] = edge
        self._state['edge_hosts'][name] = edge.record
        self._save()
        with self.step('edge host %s: namespace, enrollment and channels '
                       '(edge-sdk register, edge-sdk up)' % name):
            edge.start()
        return self._add_host(compute_mod.ComputeHost(
            self, name, own_docker=True, edge=edge), kit)

    def add_compute_host(self, name, kit=None):
        """Start another compute host, ``name``, with its own Docker
        engine; an emulated cloud plugs ``kit`` (built with the host's
        ``edge_kit()`` or ``emulated_kit()``, or None for no device).
        """
        if name in self.hosts:
            raise ValueError('this cloud already has a compute host %s'
                             % name)
        return self._add_host(compute_mod.ComputeHost(self, name,
                                                      own_docker=True), kit)

    def _add_host(self, host, kit):
        name = host.name
        self.hosts[name] = host
        self._state['engines'][name] = host.docker_url
        self._state['hosts'][name] = host.record
        self._save()
        return host.start(kit)

    def restart_agent(self):
        """Restart the first host's Cyborg agent (same testbed, same
        configuration).
        """
        self.first.restart_agent()

    def restart_cyborg_api(self):
        """Start the stopped Cyborg API again on its port.

        Teardown learns its new process group, as for every service.
        """
        self.cyborg.restart_api(self._started)

    def stop_or_raise(self):
        """``stop``, raising RuntimeError with the problems met: the
        clean-up step of tests.
        """
        errors = self.stop()
        if errors:
            raise RuntimeError('cloud teardown: %s' % '; '.join(errors))

    def stop(self, remove_workdir=True):
        """Stop and remove everything the cloud created; the work
        directory (with the logs) only if ``remove_workdir``.
        """
        for host in self.hosts.values():
            host.stop_keeper()
        # Zun's containers first, while their engines and networks are
        # there to remove them.
        errors = _remove_zun_leftovers(self._state, self.progress)
        processes = []
        for host in reversed(list(self.hosts.values())):
            processes += host.processes()
        if self.enroll is not None:
            processes += [p for p in (self.enroll.worker,
                                      self.enroll.process) if p is not None]
        if self.zun is not None and self.zun.api is not None:
            processes.append(self.zun.api)
        if self.cyborg is not None:
            processes += [self.cyborg.conductor, self.cyborg.api]
        service.stop_processes([p for p in processes if p is not None],
                               self.progress)
        # Their channels deleted through the API while it runs.
        for edge in self.edge_hosts.values():
            errors += edge.stop()
        if self.channel_api is not None and \
                self.channel_api.process is not None:
            self.channel_api.process.stop()
        if self.hub is not None:
            errors += self.hub.stop()
        if self.kuryr is not None and self.kuryr.process is not None:
            # Removes its Docker networks while it still answers.
            errors += self.kuryr.stop(self.progress)
        service.stop_processes(
            [svc.process for svc in (self.neutron, self.placement,
                                     self.keystone)
             if svc is not None and svc.process is not None],
            self.progress)
        if self.cyborg is not None:
            self.cyborg.stop()
        return errors + self.teardown(self.workdir, remove_workdir,
                                      self.progress)

    @staticmethod
    def teardown(workdir, remove_workdir=True, progress=None):
        """Remove a cloud from what its ``state.json`` records;
        ``progress(message)`` hears each step.

        Returns the problems met; everything else is removed.
        """
        progress = progress or (lambda message: None)
        path = os.path.join(workdir, 'state.json')
        if not os.path.exists(path):
            return ['%s has no state.json: not a cloud work directory'
                    % workdir]
        with open(path) as f:
            state = json.load(f)
        errors = _remove_containers(state['containers'], progress)
        errors += _remove_zun_leftovers(state, progress)
        if state.get('kuryr'):
            # Its Docker networks go while Kuryr still answers.
            errors += kuryr_mod.Kuryr.teardown(state['kuryr'], progress)
        names = state.get('names', {})
        service.stop_groups(
            {pgid: names.get(str(pgid), 'a service')
             for pgid in reversed(state['pgids'])}, progress=progress)
        for _name, record in sorted(state.get('hosts', {}).items()):
            # Their engines stopped: what they leave on the machine.
            errors += compute_mod.ComputeHost.teardown(record, progress)
        for _name, record in sorted(state.get('edge_hosts', {}).items()):
            errors += edge_mod.EdgeHost.teardown(record, progress)
        if state.get('hub'):
            errors += edge_mod.HubAgent.teardown(state['hub'], progress)
        if state['databases']:
            progress('dropping the MariaDB databases %s'
                     % ', '.join(state['databases']))
        errors += db_mod.drop('mariadb', state['databases'])
        if state['vhost']:
            progress('deleting the RabbitMQ virtual host %s'
                     % state['vhost'])
            try:
                rabbit.delete_vhost(state['vhost'],
                                    os.path.join(workdir, 'teardown.log'))
            except service.ServiceFailed as e:
                errors.append(str(e))
        if state['nodes']:
            progress('removing the device nodes under %s'
                     % os.path.commonpath(state['nodes']))
        emulated_mod.remove_nodes(state['nodes'])
        # Done once: a second teardown only retries what failed.
        state.update(containers=[], pgids=[], names={}, nodes=[],
                     zun_db=None, kuryr=None, hosts={}, hub=None,
                     edge_hosts={})
        if not any(e.startswith('rabbitmq') for e in errors):
            state['vhost'] = None
        if not any(e.startswith('aio_') for e in errors):
            state['databases'] = []
        with open(path, 'w') as f:
            json.dump(state, f, indent=1)
        if remove_workdir and not errors:
            progress('removing %s' % workdir)
            shutil.rmtree(workdir, ignore_errors=True)
        return errors

    # -- using it -----------------------------------------------------------

    def env(self, user='admin'):
        """``OS_*`` variables for the ``openstack`` CLI as ``user``
        ('admin', 'demo', 'other' or a service user).
        """
        return dict(self.keystone.cli_env(user), **self.zun.client_env())

    def token(self, user):
        """A project-scoped token of ``user`` and Keystone's token body."""
        return self.keystone.token(user)

    def openstack(self, *args, user='admin'):
        """Run the ``openstack`` CLI as ``user``; returns its stdout."""
        result = subprocess.run(
            [service.bin_path('openstack')] + list(args),
            env=dict(os.environ, **self.env(user)), capture_output=True,
            text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError('openstack %s failed: %s'
                               % (' '.join(args), result.stderr.strip()))
        return result.stdout

    @property
    def backings(self):
        """The host devices that back this cloud's emulated nodes (an
        ``aio.emulated.BackingPool`` shared by all its kits).
        """
        if self._backings is None:
            self._backings = emulated_mod.BackingPool()
        return self._backings

    def node_dir(self, host=None):
        """Where the real device nodes of the emulated peripherals of
        compute host ``host`` (default: the first) go.
        """
        if host is None or host == self.host:
            return emulated_mod.NODE_DIRS + self.id
        return emulated_mod.NODE_DIRS + '%s-%s' % (self.id, host)

    def edge_kit(self, host=None, **kwargs):
        """The default emulated kit, for compute host ``host``."""
        return emulated_mod.edge_kit(self.node_dir(host),
                                     pool=self.backings, **kwargs)

    def emulated_kit(self, host=None, **kwargs):
        """An empty emulated kit to build on (see aio.emulated), for
        compute host ``host``.
        """
        return emulated_mod.EmulatedKit(self.node_dir(host),
                                        pool=self.backings, **kwargs)

    # The first compute host's, as most tests and tools/aio use one.
    @property
    def cdi_dir(self):
        return self.first.cdi_dir

    @property
    def compute_node(self):
        """The first host's resource provider (zun-compute's)."""
        return self.first.provider

    @property
    def backing(self):
        """Each real node of a plugged emulated device -> (peripheral
        class, the host device whose numbers it has), of every host.
        """
        found = {}
        for host in self.hosts.values():
            found.update(host.backing)
        return found

    def plug(self, kit):
        """Plug an ``aio.emulated.EmulatedKit`` into the first host."""
        self.first.plug(kit)

    def unplug(self, sys_path):
        """Unplug the first host's emulated device at ``sys_path``."""
        self.first.unplug(sys_path)

    def providers(self):
        """The device providers of the first host (see
        ``ComputeHost.providers``).
        """
        return self.first.providers()

    def wait_for_providers(self, count, timeout=120):
        return self.first.wait_for_providers(count, timeout)

    def detach(self):
        """Let the cloud outlive this process.

        ``teardown(workdir)`` removes it later.
        """
        for host in self.hosts.values():
            host.detach()

    def write_openrc(self):
        """``WORKDIR/openrc`` (admin) and ``WORKDIR/openrc-demo``: the
        ``OS_*`` settings of the ``openstack`` CLI; returns their paths.
        """
        paths = []
        for user, name in (('admin', 'openrc'), ('demo', 'openrc-demo')):
            path = os.path.join(self.workdir, name)
            with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                              0o600), 'w') as f:
                f.write('# The %s user of the all-in-one cloud in %s\n'
                        % (user, self.workdir))
                for key, value in sorted(self.env(user).items()):
                    f.write('export %s=%s\n' % (key, shlex.quote(value)))
            paths.append(path)
        return paths


#: What Zun's database names in Docker: containers, then networks.
_ZUN_DOCKER_IDS = (
    'SELECT host, container_id FROM container '
    'WHERE container_id IS NOT NULL',
    'SELECT host, network_id FROM network WHERE network_id IS NOT NULL')


def _zun_leftovers(url):
    """{host: ([Docker container ids], [Docker network ids])} that Zun's
    database at ``url`` names; empty if it has no tables yet.
    """
    found = {}
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            for slot, query in enumerate(_ZUN_DOCKER_IDS):
                for host, ident in conn.execute(sqlalchemy.text(query)):
                    found.setdefault(host, ([], []))[slot].append(ident)
    except sqlalchemy.exc.SQLAlchemyError:
        return {}
    finally:
        engine.dispose()
    return found


def _docker(url, *args, timeout=None):
    """``docker --host url ARGS``; None if it did not finish within
    ``timeout`` seconds.
    """
    try:
        return subprocess.run(['docker', '--host', url] + list(args),
                              capture_output=True, text=True, check=False,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return None


#: Seconds a host's own engine gets to remove a container or network.
#: Its Kuryr asks Neutron first, which an edge host whose channels are
#: gone (its hardware deleted) cannot reach: the engine would wait for
#: TCP's retries, again and again.
OWN_ENGINE_TIMEOUT = 30


def _remove_zun_leftovers(state, progress):
    """Remove the Docker containers and networks Zun made for the cloud,
    from the engine of each compute host.
    """
    if not state.get('zun_db'):
        return []
    errors = []
    engines = state.get('engines', {})
    for host, (containers, networks) in sorted(
            _zun_leftovers(state['zun_db']).items()):
        url = engines.get(host)
        if url is None:
            continue
        errors += _remove_from_engine(host, url, containers, networks,
                                      progress)
    return errors


def _remove_from_engine(host, url, containers, networks, progress):
    own = url != compute_mod.MACHINE_DOCKER
    errors = []
    for kind, idents in (('container', containers),
                         ('network', networks)):
        for ident in idents:
            result = _docker(url, kind, 'rm', *(
                ['--force'] if kind == 'container' else []), ident,
                timeout=OWN_ENGINE_TIMEOUT if own else None)
            if result is None:
                # A host's own engine that cannot reach the cloud: what
                # it held goes with the work directory, its Neutron
                # ports with Neutron's database.
                progress('the Docker engine of %s did not remove %s %s '
                         'within %d s (cut off from the cloud?): leaving '
                         'the rest to its work directory'
                         % (host, kind, ident[:12], OWN_ENGINE_TIMEOUT))
                return errors
            if result.returncode == 0:
                progress('removed the Docker %s %s of %s'
                         % (kind, ident[:12], host))
            elif own and 'Cannot connect' in result.stderr:
                # A host's own engine, stopped: what it held goes with
                # the work directory.
                return errors
            elif 'No such' not in result.stderr and \
                    'not found' not in result.stderr:
                errors.append('docker %s rm %s: %s' % (
                    kind, ident, result.stderr.strip()))
    return errors


def _remove_containers(names, progress):
    errors = []
    for name in names:
        result = subprocess.run(['docker', 'rm', '-f', name],
                                capture_output=True, text=True, check=False)
        if result.returncode == 0:
            # "-f" also answers 0 for a container already gone; docker
            # prints the names it removed.
            if result.stdout.strip():
                progress('removed the Docker container %s' % name)
        elif 'No such container' not in result.stderr:
            errors.append('docker rm %s: %s' % (name, result.stderr.strip()))
    return errors
