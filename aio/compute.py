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

"""A compute host of the cloud: zun-compute and a Cyborg agent.

Each host has a name of its own (Zun's ``[DEFAULT] host``, the name of
its resource provider in Placement, Cyborg's agent host), its own CDI
spec directory, and, when emulated, its own umockdev testbed and device
nodes.  The cloud's first host uses the machine's Docker engine and the
cloud's Kuryr; every other one runs its own engine (see ``aio.dockerd``)
and its own Kuryr in that engine's namespaces.  What such a host leaves
on the machine is in ``ComputeHost.record``; ``ComputeHost.teardown``
removes it once its processes are stopped.

An edge compute host (``edge``, an ``aio.edge.EdgeHost`` started) runs
all of that inside the edge host's network namespace: its engine (and
bridge), its Kuryr, zun-compute and the Cyborg agent, with the cloud's
configuration, whose 127.0.0.1 addresses lead there through the edge
host's control channel.
"""

import json
import os
import subprocess
import sys
import time

import docker

from aio import dockerd
from aio import emulated as emulated_mod
from aio import kuryr as kuryr_mod
from aio import rootfs
from aio import service


TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UMOCKDEV_PRELOAD = 'libumockdev-preload.so.0'
MACHINE_DOCKER = 'unix:///var/run/docker.sock'


class ComputeHost:
    """One compute host; ``start(kit)`` it once the cloud's services run.

    ``cloud`` records what the host starts (``Cloud._started``) and
    holds the services it joins; ``edge``: the ``aio.edge.EdgeHost`` it
    runs in (with ``own_docker``).
    """

    def __init__(self, cloud, name, own_docker, edge=None):
        self.cloud = cloud
        self.name = name
        self.edge = edge
        self.dir = os.path.join(cloud.workdir, 'hosts', name)
        self.cdi_dir = os.path.join(self.dir, 'cdi')
        self.docker = None
        #: Its own Kuryr, with its own engine.
        self.kuryr = None
        if own_docker:
            self.docker = dockerd.Dockerd(
                os.path.join(self.dir, 'docker'),
                os.path.join(cloud.logs, 'dockerd-%s.log' % name), name,
                dockerd.bridge_name(cloud.id, len(cloud.hosts)),
                **({} if edge is None else {'netns': edge.ns,
                                            'enter': edge.service_prefix()}))
            self.kuryr = kuryr_mod.Kuryr(
                self.dir, cloud.logs, cloud.keystone, cloud.id,
                engine=self.docker, lock_dir=cloud.kuryr.lock_dir)
        self.docker_url = self.docker.url if own_docker else MACHINE_DOCKER
        self.testbed_root = None
        #: Its resource provider in Placement, which zun-compute creates.
        self.provider = None
        self.zun_compute = None
        self._keeper = None
        self._agent_env = {}
        self._devices = {}
        #: Each real node of a plugged emulated device -> (peripheral
        #: class, the host device whose numbers it has).
        self.backing = {}

    @property
    def record(self):
        """What a host with its own engine leaves on the machine, for
        ``teardown``; None for the first host.
        """
        if self.docker is None:
            return None
        return {'docker': self.docker.record, 'kuryr': self.kuryr.record}

    @staticmethod
    def teardown(record, progress=None):
        """Remove what ``record`` names, once the host's processes are
        stopped; returns the problems met.
        """
        return (kuryr_mod.Kuryr.teardown(record['kuryr'], progress) +
                dockerd.Dockerd.teardown(record['docker'], progress))

    @property
    def agent(self):
        return self.cloud.cyborg.agents.get(self.name)

    # -- life cycle ---------------------------------------------------------

    def start(self, kit=None):
        """Start zun-compute, wait for its resource provider, then the
        Cyborg agent, which hangs the devices under that provider; an
        emulated cloud plugs ``kit`` first.
        """
        cloud = self.cloud
        # The Zun side trusts only a root-owned spec in a directory that
        # nobody else may write to.
        os.makedirs(self.cdi_dir, mode=0o755)
        if self.docker is not None:
            with cloud.step('Docker engine of %s' % self.name):
                self.docker.setup()
                self.docker.start(cloud._started)
            with cloud.step('Kuryr of %s' % self.name):
                self.kuryr.setup()
                self.kuryr.start(cloud._started)
        else:
            with docker.APIClient(base_url=self.docker_url) as client:
                rootfs.ensure_image(client)
        with cloud.step('zun-compute of %s' % self.name):
            self.zun_compute = self._enter(cloud.zun.compute(
                self.name, self.cdi_dir, self.docker_url, cloud.kuryr.name))
            cloud._started(self.zun_compute.start())
            self.provider = self._wait_for_provider()
        if cloud.emulated:
            with cloud.step('umockdev testbed of %s' % self.name):
                self._start_keeper()
            self._agent_env = {'LD_PRELOAD': UMOCKDEV_PRELOAD,
                               'UMOCKDEV_DIR': self.testbed_root}
            if kit is not None:
                self.plug(kit)
        with cloud.step('Cyborg agent of %s' % self.name):
            self.start_agent()
        return self

    def _wait_for_provider(self, timeout=120):
        """The uuid of the provider zun-compute creates at its first
        inventory: Cyborg's conductor finds it by the agent's host name.
        """
        client = self.cloud.placement.client()
        process = self.zun_compute
        found = []

        def created():
            found[:] = client.get('/resource_providers?name=%s'
                                  % self.name).json()['resource_providers']
            return bool(found)

        process.wait_until(created, 'its resource provider %s in Placement'
                           % self.name, timeout)
        return found[0]['uuid']

    def _enter(self, process):
        """``process``, run in the edge host if this is one."""
        return process if self.edge is None else self.edge.enter(process)

    def start_agent(self):
        cyborg = self.cloud.cyborg
        if self.edge is None:
            cyborg.start_agent(self.cloud._started, self._agent_env,
                               host=self.name, cdi_dir=self.cdi_dir)
            return
        # Cyborg's own agent process, entered into the edge host.
        agent = self._enter(cyborg._agent_process(
            self.name, self.cdi_dir, dict(os.environ, **self._agent_env)))
        cyborg.agents[self.name] = agent
        self.cloud._started(agent.start())
        agent.wait_until(lambda: cyborg._pinged('cyborg-agent', self.name),
                         'answer to an RPC ping', timeout=120)

    def restart_agent(self):
        """Restart the Cyborg agent (same testbed, same configuration)."""
        self.agent.stop()
        self.start_agent()

    def _start_keeper(self):
        log = open(os.path.join(self.cloud.logs,
                                'umockdev-%s.log' % self.name), 'ab')
        with log:
            self._keeper = subprocess.Popen(
                ['umockdev-wrapper', sys.executable, '-m', 'aio.emulated'],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                cwd=TOP, text=True, start_new_session=True)
        self.cloud._record_group(self._keeper.pid,
                                 'umockdev testbed (%s)' % self.name)
        self.testbed_root = self._keeper_answer()['root']

    def _keeper_answer(self):
        line = self._keeper.stdout.readline()
        log = os.path.join(self.cloud.logs, 'umockdev-%s.log' % self.name)
        if not line:
            raise service.ServiceFailed('umockdev testbed',
                                        'the testbed helper exited', log)
        answer = json.loads(line)
        if 'error' in answer:
            raise service.ServiceFailed('umockdev testbed', answer['error'],
                                        log)
        return answer

    def _keeper_command(self, command):
        if self._keeper is None:
            raise RuntimeError('this cloud runs on real peripherals; only '
                               'an emulated cloud can plug devices')
        self._keeper.stdin.write(json.dumps(command) + '\n')
        self._keeper.stdin.flush()
        return self._keeper_answer()

    def stop_keeper(self):
        if self._keeper is not None:
            self.cloud.progress('removing the umockdev testbed of %s'
                                % self.name)
            # Its input closing has it remove the testbed directory.
            self._keeper.stdin.close()
            self._keeper.wait()
            self._keeper = None

    def processes(self):
        """Its running services, for ``service.stop_processes``."""
        found = [self.agent, self.zun_compute]
        if self.docker is not None:
            found += [self.docker.process, self.kuryr.process]
        return [p for p in found if p is not None]

    def detach(self):
        """Let the host outlive this process (``Cloud.detach``)."""
        if self._keeper is not None:
            self._keeper_command({'stay': True})

    # -- its peripherals ----------------------------------------------------

    def plug(self, kit):
        """Plug an ``aio.emulated.EmulatedKit`` into the testbed."""
        self.cloud._record_nodes(kit.nodes)
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

    # -- what Placement knows of it -----------------------------------------

    def providers(self):
        """The device providers under this host's provider, each with its
        inventories and traits.

        The conductor may delete a provider between the listing and the
        reads of its details (an unplugged device); the listing is then
        taken again so the answer is one consistent snapshot.
        """
        client = self.cloud.placement.client()
        while True:
            devices = self._provider_snapshot(client)
            if devices is not None:
                return sorted(devices, key=lambda rp: rp['name'])

    def _provider_snapshot(self, client):
        """Providers with details, or None if one vanished meanwhile."""
        found = client.get('/resource_providers?in_tree=%s'
                           % self.provider).json()['resource_providers']
        devices = []
        for rp in found:
            if rp['uuid'] == self.provider:
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
                    'cyborg-agent', '%d device providers under %s in '
                    'Placement after %d seconds, expected %d' % (
                        len(providers), self.name, timeout, count),
                    self.agent.log)
            time.sleep(0.5)
