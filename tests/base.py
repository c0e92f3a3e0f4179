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

from oslo_config import fixture as config_fixture
from oslotest import base

from cyborg_peripherals import conf
from cyborg_peripherals.conf import peripherals as peripherals_conf


class TestCase(base.BaseTestCase):
    """Base for our tests: a private copy of the configuration."""

    def setUp(self):
        super().setUp()
        self.cfg = self.useFixture(config_fixture.Config(conf.CONF))
        self.cfg.config(host='test-host', group='peripherals')

    def flags(self, group='peripherals', **kw):
        prefix = peripherals_conf.CLASS_GROUP_PREFIX
        if group.startswith(prefix):
            peripherals_conf.register_class_opts(conf.CONF,
                                                 group[len(prefix):])
        self.cfg.config(group=group, **kw)
