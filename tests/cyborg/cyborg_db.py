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

"""Fixtures for testing our Cyborg patch series against real databases."""

import os
import subprocess
import sys
import time
import uuid

import fixtures
import sqlalchemy as sa
from oslo_db.sqlalchemy import enginefacade
from oslo_db.sqlalchemy import test_fixtures

from tests import patch_series as patch_series_mod


TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
HERE = os.path.dirname(os.path.abspath(__file__))

MARIADB_URL = 'mysql+pymysql://root@127.0.0.1:3306/%s?charset=utf8mb4'


def patch_series():
    return patch_series_mod.series('cyborg')


def _mariadb_alive():
    return subprocess.run(
        ['mariadb-admin', '--host=127.0.0.1', '--user=root', 'ping'],
        capture_output=True).returncode == 0


class MariaDBServer(fixtures.Fixture):
    """This machine's MariaDB, started if it is not running."""

    def _setUp(self):
        if _mariadb_alive():
            return
        subprocess.run(
            ['start-stop-daemon', '--start', '--oknodo', '--background',
             '--exec', '/usr/sbin/mariadbd', '--', '--user=mysql'],
            check=True)
        deadline = time.monotonic() + 60
        while not _mariadb_alive():
            if time.monotonic() > deadline:
                raise RuntimeError('MariaDB did not start within 60s')
            time.sleep(0.5)


class CitestAccount(fixtures.Fixture):
    """MariaDB with the account oslo.db's opportunistic tests look for.

    Cyborg's MySQL tests (its migration walk among them) skip unless
    openstack_citest/openstack_citest can log in; tools/ creates it.
    """

    def _setUp(self):
        self.useFixture(MariaDBServer())
        subprocess.run([os.path.join(TOP, 'tools', 'setup-mariadb-citest')],
                       check=True, capture_output=True)


class MariaDBDatabase(fixtures.Fixture):
    """A uniquely named, empty MariaDB database, dropped afterwards."""

    #: The cyborg-dbsync command that creates the current schema.
    SCHEMA_COMMAND = 'upgrade'

    def _setUp(self):
        self.useFixture(MariaDBServer())
        self.name = 'cyborg_patches_%s' % uuid.uuid4().hex[:12]
        admin = sa.create_engine(MARIADB_URL % '')
        self.addCleanup(admin.dispose)
        with admin.begin() as conn:
            conn.execute(sa.text('CREATE DATABASE %s' % self.name))
        self.addCleanup(self._drop, admin)
        self.url = MARIADB_URL % self.name

    def _drop(self, admin):
        with admin.begin() as conn:
            conn.execute(sa.text('DROP DATABASE IF EXISTS %s' % self.name))


class SQLiteDatabase(fixtures.Fixture):
    """An empty SQLite database file."""

    # Stock Cyborg's alembic chain cannot run on SQLite.
    SCHEMA_COMMAND = 'create_schema'

    def _setUp(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        self.url = 'sqlite:///%s' % os.path.join(tmp, 'cyborg.sqlite')


class PristineCyborg(patch_series_mod.PristineRelease):
    """The released Cyborg, recovered from the patched install.

    See ``PristineRelease``; ``run`` runs a script with stock Cyborg.
    """

    def __init__(self):
        super().__init__('cyborg', 'openstack-cyborg', 'cyborg')

    def run(self, *args):
        """Run a script with stock Cyborg; fail with its output if it does."""
        env = dict(os.environ, PYTHONPATH=self.python_path)
        proc = subprocess.run([sys.executable] + list(args), env=env,
                              capture_output=True, text=True)
        if proc.returncode:
            raise AssertionError('%s failed (%d):\n%s' % (
                args[0], proc.returncode, proc.stderr[-4000:]))
        return proc.stdout


def make_stock_database(pristine, url, host):
    """An unpatched Cyborg database at url holding two PCI GPUs."""
    pristine.run(os.path.join(HERE, 'stock_cyborg_db.py'), 'db', url, host)


def dump(url, tables):
    """Every row of the given tables, in primary-key order."""
    engine = sa.create_engine(url)
    try:
        meta = sa.MetaData()
        meta.reflect(engine, only=tables)
        with engine.connect() as conn:
            return {
                name: [dict(row._mapping) for row in conn.execute(
                    sa.select(meta.tables[name]).order_by(
                        meta.tables[name].c.id))]
                for name in tables}
    finally:
        engine.dispose()


def cyborg_dbsync(url, *args):
    """Run the cyborg-dbsync of the interpreter running the tests."""
    tmp = os.path.join(
        os.environ.get('TMPDIR', '/tmp'),
        'cyborg-dbsync-%s.conf' % uuid.uuid4().hex)
    with open(tmp, 'w') as f:
        f.write('[database]\nconnection = %s\n' % url)
    try:
        proc = subprocess.run(
            [os.path.join(os.path.dirname(sys.executable), 'cyborg-dbsync'),
             '--config-file', tmp] + list(args),
            capture_output=True, text=True)
    finally:
        os.unlink(tmp)
    if proc.returncode:
        raise AssertionError('cyborg-dbsync %s failed (%d):\n%s' % (
            ' '.join(args), proc.returncode, proc.stderr[-4000:]))
    return proc.stdout


class CyborgDatabase(fixtures.Fixture):
    """Point the in-process (patched) Cyborg DB API at url."""

    def __init__(self, url):
        super().__init__()
        self.url = url

    def _setUp(self):
        from cyborg.db.sqlalchemy import api as sqlalchemy_api

        local = enginefacade.transaction_context()
        local.configure(connection=self.url)
        self.useFixture(test_fixtures.ReplaceEngineFacadeFixture(
            sqlalchemy_api.main_context_manager, local))
        self.addCleanup(lambda: local.writer.get_engine().dispose())
