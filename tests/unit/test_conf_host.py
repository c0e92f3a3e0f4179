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

"""The host name the tools name deployables after."""

import socket

import testtools
from oslo_config import cfg
from oslo_config import fixture as config_fixture

from cyborg_peripherals.conf import peripherals as peripherals_conf


class TestHost(testtools.TestCase):

    def conf(self, agent_host_registered):
        conf = cfg.ConfigOpts()
        peripherals_conf.register_opts(conf)
        if agent_host_registered:
            conf.register_opt(cfg.StrOpt('host'))
        conf([], default_config_files=[])
        # Overrides live in the module's shared option group: undo them.
        return self.useFixture(config_fixture.Config(conf))

    def test_agent_host_first_then_peripherals_host(self):
        conf = self.conf(True)
        conf.config(host='edge-p', group='peripherals')
        self.assertEqual('edge-p', peripherals_conf.host(conf.conf))
        conf.config(host='edge-agent')
        self.assertEqual('edge-agent', peripherals_conf.host(conf.conf))

    def test_without_the_agent_option(self):
        conf = self.conf(False)
        self.assertEqual(socket.gethostname(),
                         peripherals_conf.host(conf.conf))
        conf.config(host='edge-p', group='peripherals')
        self.assertEqual('edge-p', peripherals_conf.host(conf.conf))
