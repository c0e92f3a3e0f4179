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

"""The databases of the cloud: SQLite files, or MariaDB databases.

On SQLite, Cyborg and Placement answer some concurrent writes with HTTP
500 "database is locked": oslo.db opens deferred transactions that read
and then write, and SQLite refuses that upgrade at once, without waiting,
while another connection writes.  Zun's device claims and binds try such
requests again (``[oci_attach] placement_claim_retries`` and
``cyborg_bind_retries``); use MariaDB to see a cloud under heavier
concurrency.  zun-compute cannot take concurrent creates on SQLite at
all: it runs them as eventlet greenthreads in one OS thread, and one
waiting for SQLite's write lock (in SQLite's C busy handler) keeps the
holder from ever finishing, so it fails with "database is locked" and
leaves its container in Creating.  Neutron's database is always in
MariaDB: Neutron's migrations do not run on SQLite.
"""

import os
import subprocess
import time

from aio import service


MARIADB = 'mysql+pymysql://root@127.0.0.1:3306/%s?charset=utf8mb4'


def _mariadb(*args):
    return subprocess.run(['mariadb', '--host=127.0.0.1', '--user=root'] +
                          list(args), capture_output=True, text=True,
                          check=False)


def _mariadb_alive():
    return _mariadb('-e', 'SELECT 1').returncode == 0


def ensure_mariadb(log):
    """Start this machine's MariaDB if it is installed but stopped."""
    if _mariadb_alive():
        return
    service.run('mariadb', ['start-stop-daemon', '--start', '--oknodo',
                            '--background', '--exec', '/usr/sbin/mariadbd',
                            '--', '--user=mysql'], log)
    deadline = time.monotonic() + 60
    while not _mariadb_alive():
        if time.monotonic() > deadline:
            raise service.ServiceFailed(
                'mariadb', 'no answer on 127.0.0.1:3306 within 60 seconds',
                '/var/log/mysql/error.log')
        time.sleep(0.5)


class Databases:
    """One database per service, named after the cloud."""

    def __init__(self, kind, cloud_id, workdir):
        if kind not in ('sqlite', 'mariadb'):
            raise ValueError('database kind must be sqlite or mariadb')
        self.kind = kind
        self.cloud_id = cloud_id
        self.workdir = workdir

    def name(self, svc):
        return 'aio_%s_%s' % (self.cloud_id, svc)

    def create(self, svc, log):
        """A new empty database for ``svc``; returns its URL."""
        if self.kind == 'sqlite':
            return 'sqlite:///%s' % os.path.join(self.workdir,
                                                 '%s.sqlite' % svc)
        result = _mariadb('-e', 'CREATE DATABASE %s CHARACTER SET utf8mb4'
                          % self.name(svc))
        if result.returncode != 0:
            raise service.ServiceFailed(
                'mariadb', 'cannot create database %s: %s'
                % (self.name(svc), result.stderr.strip()), log)
        return MARIADB % self.name(svc)


def drop(kind, names):
    """Drop the MariaDB databases ``names``; SQLite files go with the
    workdir.
    """
    if kind != 'mariadb':
        return []
    errors = []
    for name in names:
        result = _mariadb('-e', 'DROP DATABASE IF EXISTS %s' % name)
        if result.returncode != 0:
            errors.append('%s: %s' % (name, result.stderr.strip()))
    return errors
