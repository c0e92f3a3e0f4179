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

"""Real Docker and real device nodes for functional tests.

Needs root and a running Docker engine (tools/start-services).
"""

import docker
import fixtures

from aio import emulated
from aio import rootfs


IMAGE = rootfs.IMAGE

#: Character devices readable by root without capabilities and not in
#: Docker's default device cgroup, so a container can read them only if
#: it was granted them: (path, major, minor).
CANDIDATE_DEVICES = emulated.BACKING_CANDIDATES
#: The candidate devices that exist on this host as described.
real_char_devices = emulated.backing_devices


class DockerFixture(fixtures.Fixture):
    """A docker-py client, the busybox image, and container clean-up.

    ``version`` defaults to Zun's default API version, so what works
    here works with an unconfigured Zun.
    """

    def __init__(self, version='1.26'):
        super().__init__()
        self.version = version

    def _setUp(self):
        self.client = docker.APIClient(version=self.version)
        self.addCleanup(self.client.close)
        rootfs.ensure_image(self.client)

    def run(self, command, host_config=None, **kwargs):
        """Run ``command`` (a list) to completion: (exit code, output)."""
        container = self.client.create_container(
            IMAGE, command=command,
            host_config=self.client.create_host_config(**(host_config or
                                                          {})),
            **kwargs)
        self.addCleanup(self.client.remove_container, container['Id'],
                        force=True)
        self.client.start(container['Id'])
        code = self.client.wait(container['Id'])['StatusCode']
        output = self.client.logs(container['Id'], stdout=True, stderr=True)
        return code, output.decode(errors='replace')
