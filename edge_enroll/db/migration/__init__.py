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

"""Alembic migrations of the edge_enroll database (``edge-enroll-dbsync``).
"""

import os

from alembic import command
from alembic import config as alembic_config
from alembic import migration as alembic_migration

from edge_enroll.db import api as db_api


def _config():
    config = alembic_config.Config(
        os.path.join(os.path.dirname(__file__), 'alembic.ini'))
    config.set_main_option('script_location',
                           os.path.dirname(__file__))
    return config


def upgrade(revision='head'):
    """Upgrade the configured database (``db_api.configure``)."""
    config = _config()
    with db_api.get_engine().begin() as connection:
        config.attributes['connection'] = connection
        command.upgrade(config, revision)


def version():
    """The database's revision, None before the first upgrade."""
    with db_api.get_engine().connect() as connection:
        return alembic_migration.MigrationContext.configure(
            connection).get_current_revision()
