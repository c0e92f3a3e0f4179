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

"""The alembic migrations make the tables the models describe."""

import testtools
from oslo_db.sqlalchemy import test_migrations

from edge_enroll.db import api as db_api
from edge_enroll.db import migration
from edge_enroll.db import models
from tests.unit.edge_enroll import base


class ModelsMigrationsSyncTest(test_migrations.ModelsMigrationsSync,
                               testtools.TestCase):
    KIND = 'sqlite'

    def setUp(self):
        super().setUp()
        self.useFixture(base.Database(self.KIND))

    def get_engine(self):
        return db_api.get_engine()

    def get_metadata(self):
        return models.Base.metadata

    def db_sync(self, engine):
        # The fixture has upgraded already; a second run is a no-op.
        migration.upgrade()

    def test_version_is_head(self):
        self.assertEqual('0001_initial', migration.version())


class MariaDBModelsMigrationsSyncTest(ModelsMigrationsSyncTest):
    KIND = 'mariadb'
