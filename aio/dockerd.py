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

"""A Docker engine of its own for a second compute host.

Each zun-compute takes every container of its Docker engine for its
own: its state sync moves a container it finds there to its host (Zun's
``DockerDriver.update_containers_states``).  And it manages a node only
if the engine's name (``docker info``, the daemon's host name) is its
``[DEFAULT] host``.  Two compute hosts on one machine therefore need two
engines, the second in a UTS namespace of its own named after its host.
This one keeps its data, state and socket under the host's directory,
and has no default bridge and no iptables rules, so it leaves the
machine's engine alone.
"""

import json
import os

import docker

from aio import rootfs
from aio import service


class Dockerd:
    def __init__(self, directory, log, hostname):
        self.dir = directory
        self.hostname = hostname
        self.log = log
        self.socket = os.path.join(directory, 'docker.sock')
        self.url = 'unix://' + self.socket
        self.process = None

    def setup(self):
        os.makedirs(self.dir, mode=0o700)
        config = os.path.join(self.dir, 'daemon.json')
        with open(config, 'w') as f:
            # Not the machine's /etc/docker/daemon.json, which may name
            # the machine's socket or data directory.
            json.dump({}, f)
        self.process = service.Process('dockerd (%s)' % self.hostname, [
            'unshare', '--uts', '--', 'sh', '-c', 'hostname "$0" && exec "$@"',
            self.hostname,
            'dockerd', '--config-file', config, '--host', self.url,
            '--data-root', os.path.join(self.dir, 'data'),
            '--exec-root', os.path.join(self.dir, 'run'),
            '--pidfile', os.path.join(self.dir, 'docker.pid'),
            '--bridge', 'none', '--iptables=false', '--ip-masq=false'],
            self.log)

    def client(self):
        return docker.APIClient(base_url=self.url)

    def _answers(self):
        if not os.path.exists(self.socket):
            return False
        try:
            with self.client() as client:
                client.ping()
        except docker.errors.DockerException:
            return False
        except OSError:
            return False
        return True

    def start(self, on_start):
        """Start; ``on_start(process)`` once it runs, before it answers.

        It gets the containers' image, as the machine's engine has.
        """
        on_start(self.process.start())
        self.process.wait_until(self._answers, 'answer on %s' % self.url)
        with self.client() as client:
            rootfs.ensure_image(client)
