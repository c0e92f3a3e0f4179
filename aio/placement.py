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

"""Placement; each zun-compute creates its compute node's provider."""

import os

from keystoneauth1 import adapter

from aio import keystone as keystone_mod
from aio import service


class Placement:
    def __init__(self, workdir, logs, db_url, keystone):
        self.dir = os.path.join(workdir, 'placement')
        self.log = os.path.join(logs, 'placement.log')
        self.db_url = db_url
        self.keystone = keystone
        self.listener = service.listening_socket()
        self.port = self.listener.getsockname()[1]
        self.url = 'http://127.0.0.1:%d' % self.port
        self.process = None

    def setup(self):
        os.makedirs(self.dir)
        # placement.wsgi reads placement.conf from OS_PLACEMENT_CONFIG_DIR.
        conf = service.write_conf(os.path.join(self.dir, 'placement.conf'), {
            'DEFAULT': {'log_file': self.log},
            'api': {'auth_strategy': 'keystone'},
            # Placement (16.0.0, and master) retries a claim that lost a
            # provider generation race inside the same transaction, and
            # the retry misjudges capacity: at REPEATABLE READ it reads
            # the old snapshot, without the winner's allocation, and its
            # first try's own uncommitted rows count as usage from
            # before, which lets an over-capacity claim pass as no worse
            # (placement/objects/allocation.py: replace_all,
            # _set_allocations).  Two claims then get one device.  With
            # no retry there, the 409 (placement.concurrent_update)
            # reaches the client: Zun retries it in a new transaction.
            'placement': {'allocation_conflict_retry_count': 1},
            'placement_database': {'connection': self.db_url},
            'keystone_authtoken': keystone_mod.authtoken(self.keystone,
                                                         'placement'),
        })
        service.run('placement', [service.bin_path('placement-manage'),
                                  '--config-file', conf, 'db', 'sync'],
                    self.log)
        # A claim (PUT /allocations) reads, then writes.  SQLite cannot
        # make such a transaction wait for another writer: it answers
        # 'database is locked' at once.  One thread serialises claims
        # on SQLite; on MariaDB Placement's generations settle races.
        threads = 1 if self.db_url.startswith('sqlite') else 8
        self.process = service.uwsgi(
            'placement', 'placement.wsgi.api:application', self.listener,
            self.log, {'OS_PLACEMENT_CONFIG_DIR': self.dir},
            threads=threads)

    def start(self, on_start):
        """Start; ``on_start(process)`` once it runs, before it answers."""
        on_start(self.process.start())
        self.process.wait_until(lambda: service.http_answers(self.url),
                                'answer on %s' % self.url)

    def client(self):
        """Placement as the cloud's admin."""
        return adapter.Adapter(self.keystone.session(),
                               service_type='placement', interface='public',
                               default_microversion='1.36', raise_exc=True)
