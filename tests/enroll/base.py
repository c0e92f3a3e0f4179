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

"""Keystone, RabbitMQ, MariaDB and the enrollment API under uWSGI for a
class's tests, and the real python-doniclient to drive it.
"""

import base64
import json
import os
import uuid

from oslotest import base as oslo_base

from aio import controlplane
from aio import db as aio_db
from aio import enroll as enroll_mod


#: More users of the demo project: a second member, a reader only.
#: ('other', in project other, and 'admin' are the control plane's.)
USERS = {'demo2': ('demo', ('member', 'reader')),
         'watcher': ('demo', ('reader',))}


def new_key():
    return base64.b64encode(os.urandom(32)).decode()


class EnrollTestCase(oslo_base.BaseTestCase):
    """``cls.plane``, ``cls.enroll`` (``aio.enroll.Enroll``).  A subclass
    sets ``WORKER_TYPES``, and ``START_WORKER`` to run the worker with
    ``SERVICE_GROUPS`` and ``SECTIONS`` (``{group: options}``, or a
    callable of the class giving them).
    """

    WORKER_TYPES = ('credentials',)
    START_WORKER = False
    SERVICE_GROUPS = ()
    SECTIONS = {}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.plane = controlplane.ControlPlane('enroll', rabbit=True,
                                              users=USERS)
        cls.plane.start()
        cls.addClassCleanup(cls.plane.stop_or_raise)
        dbs = aio_db.Databases('mariadb', cls.plane.id, cls.plane.workdir)
        cls.plane.databases.append(dbs.name('edge_enroll'))
        db_url = dbs.create('edge_enroll', cls.plane.setup_log)
        sections = cls.SECTIONS(cls) if callable(cls.SECTIONS) else (
            cls.SECTIONS)
        cls.enroll = enroll_mod.Enroll(
            cls.plane.workdir, cls.plane.logs, cls.plane.keystone,
            cls.plane.transport_url, db_url, worker_types=cls.WORKER_TYPES,
            service_groups=cls.SERVICE_GROUPS, sections=sections)
        cls.enroll.setup()
        cls.enroll.start(cls.plane.track)
        if cls.START_WORKER:
            cls.enroll.start_worker(cls.plane.track)

    def hw(self, *args, user='demo', ok=True):
        """``openstack hardware <args>`` as ``user``; with ``ok`` its
        exit status must be 0, else not 0.  Returns the CompletedProcess.
        """
        result = self.enroll.openstack('hardware', *args, user=user)
        if ok:
            self.assertEqual(0, result.returncode, result.stderr)
        else:
            self.assertNotEqual(0, result.returncode, result.stdout)
        return result

    def show(self, ident, user='demo'):
        return json.loads(self.hw('show', ident, '-f', 'json',
                                  user=user).stdout)

    def enroll_host(self, user='demo'):
        """A host enrolled with ``openstack hardware create`` as
        ``user``, as ``show`` gives it; deleted by the admin at the end.
        """
        name = 'edge-%s' % uuid.uuid4().hex[:8]
        channels = {'control': {'channel_type': 'wireguard',
                                'public_key': new_key()}}
        self.hw('create', '--hardware_type', 'device', '--name', name,
                '--machine-name', 'raspberrypi4-64', '--contact-email',
                'owner@example.org', '--channels', json.dumps(channels),
                user=user)
        self.addCleanup(self._delete, name)
        hw = self.show(name, user=user)
        self.assertEqual(channels, hw['properties']['channels'])
        return hw

    def _delete(self, name):
        self.enroll.client('admin').delete('/v1/hardware/%s/' % name)
