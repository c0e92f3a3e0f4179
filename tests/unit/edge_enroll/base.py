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

"""A database of its own for a test: SQLite in a temporary directory,
or a MariaDB database made and dropped by the test (``aio.db``).
"""

import os
import uuid

import fixtures
from oslo_config import cfg

from aio import db as aio_db
from edge_enroll import conf as enroll_conf
from edge_enroll import context
from edge_enroll.db import api as db_api
from edge_enroll.db import migration


class Database(fixtures.Fixture):
    """``conf`` (a fresh ConfigOpts) on an empty, migrated database of
    ``kind`` ('sqlite' or 'mariadb').
    """

    def __init__(self, kind='sqlite'):
        super().__init__()
        self.kind = kind

    def _setUp(self):
        workdir = self.useFixture(fixtures.TempDir()).path
        self.conf = cfg.ConfigOpts()
        enroll_conf.register_opts(self.conf)
        self.conf([], default_config_files=[])
        self.conf.set_override('state_path', workdir)
        if self.kind == 'mariadb':
            dbs = aio_db.Databases('mariadb', 'enroll%s' % uuid.uuid4().hex[
                :8], workdir)
            name = dbs.name('enroll')
            self.addCleanup(aio_db.drop, 'mariadb', [name])
            self.conf.set_override('connection', dbs.create(
                'enroll', os.path.join(workdir, 'mariadb.log')),
                group='database')
        db_api.configure(self.conf)
        self.addCleanup(lambda: db_api.get_engine().dispose())
        migration.upgrade()
        self.context = context.get_admin_context()
