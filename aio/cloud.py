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

"""The all-in-one cloud: Keystone, Placement and Cyborg on loopback.

Each service runs from this virtualenv as a subprocess with its own
configuration and log under the work directory.  Everything the cloud
creates outside it (processes, MariaDB databases, the RabbitMQ virtual
host, device nodes, Docker containers) is recorded in ``state.json`` as
it is created, so that ``Cloud.teardown(workdir)`` can remove a cloud
left running with ``--keep``, or one whose start failed half-way.
"""

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid

import requests

from aio import cyborg as cyborg_mod
from aio import db as db_mod
from aio import emulated as emulated_mod
from aio import keystone as keystone_mod
from aio import placement as placement_mod
from aio import rabbit
from aio import service


TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UMOCKDEV_PRELOAD = 'libumockdev-preload.so.0'


class Cloud:
    """An all-in-one cloud; ``start()`` it, or use it as a context
    manager.
    """

    def __init__(self, workdir=None, db='sqlite', emulated=True,
                 periodic_interval=5, host=None, progress=None):
        self.id = uuid.uuid4().hex[:8]
        self.workdir = os.path.abspath(
            workdir or tempfile.mkdtemp(prefix='cp-aio-'))
        self.logs = os.path.join(self.workdir, 'logs')
        self.db_kind = db
        self.emulated = emulated
        self.periodic_interval = periodic_interval
        self.host = host or socket.gethostname()
        self.cdi_dir = os.path.join(self.workdir, 'cdi')
        #: Where the real device nodes of emulated peripherals go.
        self.node_dir = emulated_mod.NODE_DIRS + self.id
        self.vhost = 'cp-aio-%s' % self.id
        self.progress = progress or (lambda message: None)
        #: Seconds each start-up step took, in order.
        self.timings = {}
        self.keystone = self.placement = self.cyborg = None
        self.compute_node = None
        self.testbed_root = None
        self._keeper = None
        self._devices = {}
        self._backings = None
        #: Each real node of a plugged emulated device -> (peripheral
        #: class, the host device whose numbers it has).
        self.backing = {}
        self._passwords = {user: secrets.token_hex(12)
                           for user in keystone_mod.USERS}
        self._admin_password = secrets.token_hex(12)
        self._state = {'workdir': self.workdir, 'db': db, 'databases': [],
                       'pgids': [], 'names': {}, 'vhost': None,
                       'nodes': [], 'containers': []}

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

    def start(self, kit=None):
        """Start the services; an emulated cloud plugs ``kit`` (see
        ``edge_kit()``) before its agent starts.

        The agent reports what it found at start, then each change its
        driver signals (Cyborg patch 0090; a removal once its grace
        period is over), with the periodic report as a safety net.
        """
        for path in (self.workdir, self.logs):
            os.makedirs(path, exist_ok=True)
        # The Zun side trusts only a root-owned spec in a directory that
        # nobody else may write to.
        os.makedirs(self.cdi_dir, mode=0o755)
        self._save()
        setup_log = os.path.join(self.logs, 'setup.log')
        with self.step('RabbitMQ virtual host %s' % self.vhost):
            rabbit.ensure_running(setup_log)
            self._state['vhost'] = self.vhost
            self._save()
            transport_url = rabbit.add_vhost(self.vhost, setup_log)
        with self.step('%s databases' % self.db_kind):
            if self.db_kind == 'mariadb':
                db_mod.ensure_mariadb(setup_log)
            dbs = db_mod.Databases(self.db_kind, self.id, self.workdir)
            urls = {}
            for svc in ('keystone', 'placement', 'cyborg'):
                urls[svc] = dbs.create(svc, setup_log)
                self._state['databases'].append(dbs.name(svc))
                self._save()
        self.keystone = keystone_mod.Keystone(
            self.workdir, self.logs, urls['keystone'], self._admin_password,
            self._passwords)
        self.placement = placement_mod.Placement(
            self.workdir, self.logs, urls['placement'], self.keystone)
        self.cyborg = cyborg_mod.Cyborg(
            self.workdir, self.logs, urls['cyborg'], self.db_kind,
            self.keystone, transport_url, self.host, self.cdi_dir,
            self.periodic_interval)
        with self.step('Keystone'):
            self.keystone.setup()
            self.keystone.start(self._started)
            self.keystone.populate({
                'placement': ('placement', self.placement.url),
                'accelerator': ('cyborg', self.cyborg.url)})
        with self.step('Placement'):
            self.placement.setup()
            self.placement.start(self._started)
            self.compute_node = self.placement.add_compute_node(self.host)
        with self.step('Cyborg API and conductor'):
            self.cyborg.setup()
            self.cyborg.start_api(self._started)
            self.cyborg.start_conductor(self._started)
        agent_env = {}
        if self.emulated:
            with self.step('umockdev testbed'):
                self._start_keeper()
            agent_env = {'LD_PRELOAD': UMOCKDEV_PRELOAD,
                         'UMOCKDEV_DIR': self.testbed_root}
            if kit is not None:
                self.plug(kit)
        self._agent_env = agent_env
        with self.step('Cyborg agent'):
            self._start_agent()
        return self

    def _start_agent(self):
        self.cyborg.start_agent(self._started, self._agent_env)

    def restart_agent(self):
        """Restart the Cyborg agent (same testbed, same configuration)."""
        self.cyborg.agent.stop()
        self._start_agent()

    def restart_cyborg_api(self):
        """Start the stopped Cyborg API again on its port.

        Teardown learns its new process group, as for every service.
        """
        self.cyborg.restart_api(self._started)

    def _start_keeper(self):
        log = open(os.path.join(self.logs, 'umockdev.log'), 'ab')
        with log:
            self._keeper = subprocess.Popen(
                ['umockdev-wrapper', sys.executable, '-m', 'aio.emulated'],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                cwd=TOP, text=True, start_new_session=True)
        self._record_group(self._keeper.pid, 'umockdev testbed')
        self.testbed_root = self._keeper_answer()['root']

    def _keeper_answer(self):
        line = self._keeper.stdout.readline()
        if not line:
            raise service.ServiceFailed(
                'umockdev testbed', 'the testbed helper exited',
                os.path.join(self.logs, 'umockdev.log'))
        answer = json.loads(line)
        if 'error' in answer:
            raise service.ServiceFailed(
                'umockdev testbed', answer['error'],
                os.path.join(self.logs, 'umockdev.log'))
        return answer

    def _keeper_command(self, command):
        if self._keeper is None:
            raise RuntimeError('this cloud runs on real peripherals; only '
                               'an emulated cloud can plug devices')
        self._keeper.stdin.write(json.dumps(command) + '\n')
        self._keeper.stdin.flush()
        return self._keeper_answer()

    def stop(self, remove_workdir=True):
        """Stop and remove everything the cloud created; the work
        directory (with the logs) only if ``remove_workdir``.
        """
        if self._keeper is not None:
            self.progress('removing the umockdev testbed')
            # Its input closing has it remove the testbed directory.
            self._keeper.stdin.close()
            self._keeper.wait()
            self._keeper = None
        processes = []
        if self.cyborg is not None:
            processes += [self.cyborg.agent, self.cyborg.conductor,
                          self.cyborg.api]
        for svc in (self.placement, self.keystone):
            if svc is not None:
                processes.append(svc.process)
        service.stop_processes([p for p in processes if p is not None],
                               self.progress)
        if self.cyborg is not None:
            self.cyborg.stop()
        return self.teardown(self.workdir, remove_workdir, self.progress)

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
        names = state.get('names', {})
        service.stop_groups(
            {pgid: names.get(str(pgid), 'a service')
             for pgid in reversed(state['pgids'])}, progress=progress)
        if state['databases']:
            progress('dropping the %s databases %s'
                     % (state['db'], ', '.join(state['databases'])))
        errors += db_mod.drop(state['db'], state['databases'])
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
        state.update(containers=[], pgids=[], names={}, nodes=[])
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
        creds = self.keystone.credentials(user)
        return {'OS_AUTH_URL': creds['auth_url'],
                'OS_USERNAME': creds['username'],
                'OS_PASSWORD': creds['password'],
                'OS_PROJECT_NAME': creds['project_name'],
                'OS_USER_DOMAIN_NAME': creds['user_domain_name'],
                'OS_PROJECT_DOMAIN_NAME': creds['project_domain_name'],
                'OS_IDENTITY_API_VERSION': '3',
                'OS_REGION_NAME': keystone_mod.REGION,
                'OS_INTERFACE': 'public'}

    @property
    def zun_service_credentials(self):
        """keystoneauth password options of Zun's service user."""
        return dict(self.keystone.credentials('zun'), auth_type='password')

    def token(self, user):
        """A project-scoped token of ``user`` and Keystone's token body
        (what keystonemiddleware hands a service as the user's token
        info).
        """
        creds = self.keystone.credentials(user)
        body = {'auth': {
            'identity': {'methods': ['password'], 'password': {'user': {
                'name': user, 'password': creds['password'],
                'domain': {'name': keystone_mod.DOMAIN}}}},
            'scope': {'project': {'name': creds['project_name'],
                                  'domain': {'name': keystone_mod.DOMAIN}}}}}
        resp = requests.post(creds['auth_url'] + '/auth/tokens', json=body,
                             timeout=30)
        resp.raise_for_status()
        return resp.headers['X-Subject-Token'], resp.json()

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

    def edge_kit(self, **kwargs):
        """The default emulated kit, with nodes under this cloud's
        node directory.
        """
        return emulated_mod.edge_kit(self.node_dir, pool=self.backings,
                                     **kwargs)

    def emulated_kit(self, **kwargs):
        """An empty emulated kit to build on (see aio.emulated)."""
        return emulated_mod.EmulatedKit(self.node_dir, pool=self.backings,
                                        **kwargs)

    def plug(self, kit):
        """Plug an ``aio.emulated.EmulatedKit`` into the testbed."""
        self._state['nodes'].extend(sorted(kit.nodes))
        self._save()
        emulated_mod.make_nodes(kit.nodes)
        self._keeper_command({'plug': kit.paragraphs()})
        self._devices.update(kit.devices)
        self.backing.update(kit.backing)

    def unplug(self, sys_path):
        """Unplug the emulated device at ``sys_path`` (and its nodes)."""
        self._keeper_command({'unplug': sys_path})
        nodes = self._devices.pop(sys_path, [])
        emulated_mod.remove_nodes(nodes)
        for node in nodes:
            self.backing.pop(node, None)

    def detach(self):
        """Let the cloud outlive this process.

        ``teardown(workdir)`` removes it later.
        """
        if self._keeper is not None:
            self._keeper_command({'stay': True})

    def record_container(self, name):
        """Have teardown remove Docker container ``name`` if still there."""
        self._state['containers'].append(name)
        self._save()

    def providers(self):
        """The device providers under this host's compute node, each with
        its inventories and traits.

        The conductor may delete a provider between the listing and the
        reads of its details (an unplugged device); the listing is then
        taken again so the answer is one consistent snapshot.
        """
        client = self.placement.client()
        while True:
            devices = self._provider_snapshot(client)
            if devices is not None:
                return sorted(devices, key=lambda rp: rp['name'])

    def _provider_snapshot(self, client):
        """Providers with details, or None if one vanished meanwhile."""
        found = client.get('/resource_providers?in_tree=%s'
                           % self.compute_node).json()['resource_providers']
        devices = []
        for rp in found:
            if rp['uuid'] == self.compute_node:
                continue
            for detail in ('inventories', 'traits'):
                resp = client.get('/resource_providers/%s/%s'
                                  % (rp['uuid'], detail), raise_exc=False)
                if resp.status_code == 404:
                    return None
                resp.raise_for_status()
                rp[detail] = resp.json()[detail]
            devices.append(rp)
        return devices

    def wait_for_providers(self, count, timeout=120):
        """Wait until exactly ``count`` device providers are in Placement.

        The agent reports at start, on each change its driver signals
        and on its periodic task (``[agent] report_interval``).
        """
        deadline = time.monotonic() + timeout
        while True:
            providers = self.providers()
            if len(providers) == count:
                return providers
            if time.monotonic() > deadline:
                raise service.ServiceFailed(
                    'cyborg-agent', '%d device providers in Placement '
                    'after %d seconds, expected %d' % (
                        len(providers), timeout, count),
                    self.cyborg.agent.log)
            time.sleep(0.5)


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
