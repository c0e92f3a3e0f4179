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

"""One all-in-one cloud per test class, shared by its tests.

A concrete class names its database (``DB``); ``setUpClass`` starts
Keystone, Placement and Cyborg (subprocesses, see ``aio.cloud``) with
the kit below plugged, and a Zun compute host in this process.  Tests
talk to the services' real APIs as the cloud's users and clean up what
they create, so that they pass in any order.
"""

import atexit
import os
import shutil
import tempfile
import uuid

import requests
import sqlalchemy
import zun.conf
from oslo_db.sqlalchemy import enginefacade
from oslotest import base as oslo_base
from zun import objects
from zun.common import exception

from aio import cloud as cloud_mod
from aio import zun as aio_zun


CONF = zun.conf.CONF
SERIAL_RC = 'CUSTOM_PERIPHERAL_SERIAL'
GPIO_RC = 'CUSTOM_PERIPHERAL_GPIO'
CAMERA_RC = 'CUSTOM_PERIPHERAL_CAMERA'
SDR_RC = 'CUSTOM_PERIPHERAL_SDR'
FTDI_TRAIT = 'CUSTOM_PERIPHERAL_USB_0403_6001'
#: Identical serial adapters of the kit.
SERIAL_ADAPTERS = 4

_zun_db = None


def _zun_database():
    """One Zun database for the life of this process.

    oslo.db starts its engine once per process, so every compute host
    of this process shares the database of the first; keeping it out of
    the clouds' work directories lets a cloud go (with its directory)
    while a later one keeps using the database.
    """
    global _zun_db
    if _zun_db is None:
        path = tempfile.mkdtemp(prefix='cp-aio-zun-')
        atexit.register(shutil.rmtree, path, True)
        CONF(args=[], project='zun', default_config_files=[])
        CONF.set_override('connection', 'sqlite:///%s' % os.path.join(
            path, 'zun.sqlite'), group='database')
        enginefacade.writer.get_engine()
        _zun_db = path
    return _zun_db


class Kit:
    """The peripherals of the cloud: a hub, identical FTDI serial
    adapters on its ports 1.1 to 1.4 (serial numbers AIO00000...), a
    UVC camera on 1.5, a HackRF One on 1.6 and a GPIO chip; everything
    a test plugs later gets new usbfs numbers and kernel names, as a
    real re-plug does.
    """

    def __init__(self, cloud):
        self.cloud = cloud
        self.kit = cloud.emulated_kit()
        self.kit.kit.hub('1')
        #: serial number -> USB port
        self.ports = {}
        for i in range(SERIAL_ADAPTERS):
            serial = 'AIO%05d' % i
            self.ports[serial] = '1.%d' % (i + 1)
            self.kit.serial_adapter(self.ports[serial], serial)
        (self.camera_node,) = self.kit.devices[self.kit.camera(
            '1.5', '9C2D5A8F')]
        (self.sdr_node,) = self.kit.devices[self.kit.sdr(
            '1.6', '0000000000000000a06063c8234e925f')]
        self.kit.gpiochip('fe200000', 0)
        #: serial number -> sys_path of the plugged USB device
        self.sys_paths = {}
        #: serial number -> its real node now
        self.nodes = {}
        for sys_path, nodes in self.kit.devices.items():
            for serial, port in self.ports.items():
                if sys_path.endswith('/1-%s' % port):
                    self.sys_paths[serial] = sys_path
                    self.nodes[serial] = nodes[0]
        self._later = 0

    def later_kit(self):
        """An empty kit whose devices do not clash with those plugged."""
        self._later += 1
        return self.cloud.emulated_kit(first_devnum=20 * (self._later + 1),
                                       first_tty=10 * self._later)

    def replug(self, serial):
        """Unplug the adapter with ``serial`` and plug it back into the
        same port under a new kernel name.  Returns its new node.
        """
        self.cloud.unplug(self.sys_paths.pop(serial))
        kit = self.later_kit()
        sys_path = kit.serial_adapter(self.ports[serial], serial)
        self.cloud.plug(kit)
        self.sys_paths[serial] = sys_path
        self.nodes[serial] = kit.devices[sys_path][0]
        return self.nodes[serial]


class CloudTestCase(oslo_base.BaseTestCase):
    """Base of the tests on an all-in-one cloud; subclasses set ``DB``."""

    DB = None
    cloud = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if cls.DB is None:
            return
        _zun_database()
        cls.cloud = cloud_mod.Cloud(db=cls.DB)
        try:
            cls.kit = Kit(cls.cloud)
            cls.cloud.start(kit=cls.kit.kit)
            cls.device_count = len(cls.kit.kit.devices)
            cls.cloud.wait_for_providers(cls.device_count)
            cls.host = aio_zun.ComputeHost(cls.cloud)
            cls.tokens = {user: cls.cloud.token(user)[0]
                          for user in ('admin', 'demo', 'other', 'zun')}
        except BaseException:
            # Keep the logs for the error report.
            cls.cloud.stop(remove_workdir=False)
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.cloud is not None:
            errors = cls.cloud.stop()
            cls.cloud = None
            if errors:
                raise RuntimeError('cloud teardown: %s' % '; '.join(errors))
        super().tearDownClass()

    # -- the APIs, as the cloud's users ---------------------------------------

    def cyborg(self, method, path, user='demo', service=False, **kwargs):
        """Call Cyborg's v2 API with ``user``'s token, plus Zun's service
        token if ``service``; returns the response whatever its status.
        """
        headers = {'X-Auth-Token': self.tokens[user],
                   'OpenStack-API-Version': 'accelerator 2.0'}
        if service:
            headers['X-Service-Token'] = self.tokens['zun']
        return requests.request(method, self.cloud.cyborg.url + 'v2' + path,
                                headers=headers, timeout=60, **kwargs)

    def arqs(self, user='demo', instance=None):
        path = '/accelerator_requests'
        if instance:
            path += '?instance=%s' % instance
        resp = self.cyborg('GET', path, user)
        self.assertEqual(200, resp.status_code, resp.text)
        return resp.json()['arqs']

    def placement(self, path):
        """GET from Placement as admin."""
        return self.cloud.placement.client().get(path).json()

    def usages(self):
        """Usages of every device provider: {provider uuid: {rc: n}}."""
        return {rp['uuid']: self.placement(
            '/resource_providers/%s/usages' % rp['uuid'])['usages']
            for rp in self.cloud.providers()}

    def used(self):
        return sum(n for usage in self.usages().values()
                   for n in usage.values())

    def attach_handles(self):
        """Cyborg's attach handles, from its database: Cyborg's API has no
        resource for them.  {uuid: row}.
        """
        engine = sqlalchemy.create_engine(self.cloud.cyborg.db_url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(sqlalchemy.text(
                    'SELECT uuid, deployable_id, in_use, attach_info '
                    'FROM attach_handles')).mappings().all()
        finally:
            engine.dispose()
        return {row['uuid']: dict(row) for row in rows}

    def deployables(self):
        resp = self.cyborg('GET', '/deployables', 'admin')
        self.assertEqual(200, resp.status_code, resp.text)
        return {d['uuid']: d for d in resp.json()['deployables']}

    # -- things tests create ------------------------------------------------

    def add_profile(self, group):
        """A device profile with one ``group``, under a unique name."""
        name = 'aio-%s' % uuid.uuid4().hex[:12]
        resp = self.cyborg('POST', '/device_profiles', 'admin',
                           json=[{'name': name, 'groups': [group]}])
        self.assertEqual(201, resp.status_code, resp.text)
        self.addCleanup(self._delete_profile, name)
        return name

    def _delete_profile(self, name):
        resp = self.cyborg('DELETE', '/device_profiles?value=%s' % name,
                           'admin')
        self.assertEqual(204, resp.status_code, resp.text)

    def serial_profile(self):
        return self.add_profile({'resources:%s' % SERIAL_RC: '1'})

    def new_container(self, context, profile, command=('sleep', '600')):
        container = self.host.new_container(context, list(command),
                                            device_profiles=profile,
                                            name='aio-test')
        self.addCleanup(self._delete_container, context, container)
        return container

    def _delete_container(self, context, container):
        try:
            current = objects.Container.get_by_uuid(context, container.uuid)
        except exception.ContainerNotFound:
            return   # The test deleted it.
        self.host.delete(context, current)

    def reload(self, context, container):
        return objects.Container.get_by_uuid(context, container.uuid)

    def run_container(self, profile, command=('sleep', '600'),
                      context=None):
        """Create and start a container of demo asking for ``profile``."""
        context = context or self.host.context('demo')
        container = self.new_container(context, profile, command)
        created = self.host.create(context, container)
        self.host.start(context, created)
        return context, created

    def docker_read(self, container, node):
        """Have the running ``container`` read 8 bytes of ``node``."""
        docker = self.host.docker
        run = docker.exec_create(
            container.container_id,
            ['sh', '-c', 'head -c 8 %s > /tmp/read && od -An -tx1 /tmp/read'
             % node])
        out = docker.exec_start(run).decode()
        return docker.exec_inspect(run['Id'])['ExitCode'], out.split()

    def serial_of(self, provider_name):
        """The serial number of the kit's adapter behind a provider."""
        for serial in self.kit.ports:
            if '_%s_' % serial in provider_name:
                return serial
        raise AssertionError('no adapter of the kit is %s' % provider_name)
