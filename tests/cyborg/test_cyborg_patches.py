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

"""Our Cyborg patch series, tested on the Cyborg installed with it.

Install it first with ``tools/install-cyborg PYTHON``.
"""

import json
import os
import re
import uuid

# cyborg.tests selects oslo.service's threading backend, which must
# happen before any other cyborg module selects the default one.
import cyborg.tests  # noqa: F401
import fixtures

# Registers [keystone_authtoken], which cyborg.tests.base needs.
import keystonemiddleware.auth_token  # noqa: F401
import sqlalchemy as sa
from cyborg import objects
from cyborg.common import constants
from cyborg.common import exception
from cyborg.common import nova_client
from cyborg.conductor import manager
from cyborg.objects import base as objects_base
from cyborg.objects.driver_objects import driver_attach_handle
from cyborg.objects.driver_objects import driver_attribute
from cyborg.objects.driver_objects import driver_controlpath_id
from cyborg.objects.driver_objects import driver_deployable
from cyborg.objects.driver_objects import driver_device
from cyborg.tests import base as cyborg_base
from oslo_db import exception as db_exc
from oslo_versionedobjects import fixture as ovo_fixture

from cyborg_peripherals import contract
from tests.cyborg import cyborg_db
from tests.cyborg import placement_stub
from tests.cyborg import stock_cyborg_db


OUR_REVISION = 'bfe8e22af112'
STOCK_HEAD = 'b47c8f2d1e3a'
HOST = 'edge-host-1'
TABLES = ('devices', 'controlpath_ids', 'deployables', 'attributes',
          'attach_handles', 'device_profiles',
          'extended_accelerator_requests')


def _revision(url):
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(
                sa.text('SELECT version_num FROM alembic_version')).scalar()
    finally:
        engine.dispose()


def _long_attach_info():
    # Longer than the VARCHAR(255) stock Cyborg stores attach_info in.
    info = json.dumps({'cdi_device': 'openstack.org/peripheral=' + 'x' * 300,
                       'class': 'camera', 'version': '1'},
                      sort_keys=True, separators=(',', ':'))
    assert len(info) > 255
    return info


def _store_peripheral(context, attach_info):
    """Store one PERIPHERAL device with an OCI handle; return the handle."""
    device = objects.Device(
        context, type=constants.DEVICE_PERIPHERAL, vendor='0bda',
        model='USB camera', hostname=HOST, std_board_info='{}')
    device.create(context)
    cpid = objects.ControlpathID(
        context, device_id=device.id,
        cpid_type=constants.CPID_TYPE_PERIPHERAL,
        cpid_info='{"id":"usb-0bda_5411-cam0"}')
    cpid.create(context)
    deployable = objects.Deployable(
        context, name='%s_camera_cam0' % HOST, num_accelerators=1,
        device_id=device.id, driver_name='peripheral')
    deployable.create(context)
    handle = objects.AttachHandle(
        context, deployable_id=deployable.id, cpid_id=cpid.id,
        attach_type=constants.AH_TYPE_OCI, attach_info=attach_info,
        in_use=False)
    handle.create(context)
    return handle


class _MigrationTests:
    """An existing stock Cyborg database upgraded by our migration."""

    def setUp(self):
        super().setUp()
        objects.register_all()
        self.pristine = self.useFixture(cyborg_db.PristineCyborg())
        self.url = self.useFixture(self.DATABASE()).url
        cyborg_db.make_stock_database(self.pristine, self.url, HOST)

    def test_upgrade_keeps_pci_devices(self):
        before = cyborg_db.dump(self.url, TABLES)
        self.assertEqual(STOCK_HEAD, _revision(self.url))
        self.assertEqual(['GPU', 'GPU'],
                         [d['type'] for d in before['devices']])
        self.assertEqual(['PCI', 'PCI'],
                         [h['attach_type'] for h in before['attach_handles']])
        self.assertEqual(1, len(before['extended_accelerator_requests']))

        cyborg_db.cyborg_dbsync(self.url, 'upgrade')

        self.assertEqual(OUR_REVISION, _revision(self.url))
        self.assertEqual(before, cyborg_db.dump(self.url, TABLES))

    def test_upgraded_database_through_objects(self):
        cyborg_db.cyborg_dbsync(self.url, 'upgrade')
        self.useFixture(cyborg_db.CyborgDatabase(self.url))

        # The stock PCI devices read back as the stock conductor stored
        # them, including the binding.
        old = driver_device.DriverDevice.list(self.context, HOST)
        self.assertEqual(
            [stock_cyborg_db.gpu(HOST, bus).controlpath_id.cpid_info
             for bus in ('3b', '5e')],
            sorted(d.controlpath_id.cpid_info for d in old))
        handles = objects.AttachHandle.list(self.context)
        self.assertEqual({constants.AH_TYPE_PCI},
                         {h.attach_type for h in handles})
        self.assertEqual(1, sum(h.in_use for h in handles))
        arq = objects.ExtARQ.get(self.context, stock_cyborg_db.ARQ_UUID)
        self.assertEqual(stock_cyborg_db.INSTANCE_UUID,
                         arq.arq.instance_uuid)
        self.assertEqual(constants.AH_TYPE_PCI, arq.arq.attach_handle_type)

        # A peripheral with a long OCI attach_info can now be stored.
        attach_info = _long_attach_info()
        handle = _store_peripheral(self.context, attach_info)
        got = objects.AttachHandle.get(self.context, handle.uuid)
        self.assertEqual(constants.AH_TYPE_OCI, got.attach_type)
        self.assertEqual(attach_info, got.attach_info)
        devices = objects.Device.get_list_by_hostname(self.context, HOST)
        self.assertEqual(['GPU', 'GPU', 'PERIPHERAL'],
                         sorted(d.type for d in devices))
        peripheral = [d for d in devices if d.type == 'PERIPHERAL'][0]
        cpid = objects.ControlpathID.get_by_device_id(
            self.context, peripheral.id)
        self.assertEqual(constants.CPID_TYPE_PERIPHERAL, cpid.cpid_type)
        self.assertEqual(got.cpid_id, cpid.id)


class SQLiteMigrationTest(_MigrationTests, cyborg_base.TestCase):
    DATABASE = cyborg_db.SQLiteDatabase


class MariaDBMigrationTest(_MigrationTests, cyborg_base.TestCase):
    DATABASE = cyborg_db.MariaDBDatabase

    def test_stock_schema_refuses_peripherals(self):
        # Why the migration exists: MariaDB enforces the stock enums and
        # the VARCHAR(255) (strict mode).
        self.useFixture(cyborg_db.CyborgDatabase(self.url))
        self.assertRaises(db_exc.DBDataError, _store_peripheral,
                          self.context, _long_attach_info())

    def test_upgraded_schema(self):
        cyborg_db.cyborg_dbsync(self.url, 'upgrade')
        engine = sa.create_engine(self.url)
        self.addCleanup(engine.dispose)
        inspector = sa.inspect(engine)
        columns = {
            (table, c['name']): c['type']
            for table in ('devices', 'controlpath_ids', 'attach_handles')
            for c in inspector.get_columns(table)}
        self.assertIn('PERIPHERAL', columns['devices', 'type'].enums)
        self.assertEqual(['PCI', 'PERIPHERAL'],
                         columns['controlpath_ids', 'cpid_type'].enums)
        self.assertEqual(['PCI', 'MDEV', 'TEST_PCI', 'OCI'],
                         columns['attach_handles', 'attach_type'].enums)
        self.assertIsInstance(columns['attach_handles', 'attach_info'],
                              sa.Text)


class MariaDBModelSchemaTest(cyborg_base.TestCase):
    """The schema Cyborg builds from its models, on MariaDB.

    MariaDB enforces VARCHAR lengths (strict mode) where SQLite ignores
    them, so only here does a long attach_info show that the models, not
    just the migration, made the column TEXT.
    """

    def test_long_attach_info(self):
        objects.register_all()
        url = self.useFixture(cyborg_db.MariaDBDatabase()).url
        cyborg_db.cyborg_dbsync(url, 'create_schema')
        self.useFixture(cyborg_db.CyborgDatabase(url))
        attach_info = _long_attach_info()
        handle = _store_peripheral(self.context, attach_info)
        self.assertEqual(
            attach_info,
            objects.AttachHandle.get(self.context, handle.uuid).attach_info)


def _peripheral(name, device_class):
    """A PERIPHERAL DriverDevice as our driver reports it."""
    attach_info = contract.AttachInfo.for_device(name, device_class).encode()
    deployable = driver_deployable.DriverDeployable(
        name='%s_%s' % (HOST, name),
        num_accelerators=1,
        driver_name='peripheral',
        attribute_list=[
            driver_attribute.DriverAttribute(
                key='rc', value='CUSTOM_PERIPHERAL_%s' % device_class.upper()),
            driver_attribute.DriverAttribute(
                key='trait0', value=constants.OWNER_CYBORG),
        ],
        attach_handle_list=[driver_attach_handle.DriverAttachHandle(
            attach_type=constants.AH_TYPE_OCI, attach_info=attach_info,
            in_use=False)])
    return driver_device.DriverDevice(
        vendor='0bda', model=name, type=constants.DEVICE_PERIPHERAL,
        std_board_info='{}', vendor_board_info='',
        controlpath_id=driver_controlpath_id.DriverControlPathID(
            cpid_type=constants.CPID_TYPE_PERIPHERAL,
            cpid_info=json.dumps({'id': name})),
        deployable_list=[deployable], stub=False)


class _ConductorReportTests:
    """The conductor stores what a peripheral driver reports."""

    def setUp(self):
        super().setUp()
        # No Placement service runs here: a named stand-in records calls.
        self.placement = self.useFixture(
            placement_stub.CyborgWithoutPlacement(self.DATABASE)).placement
        self.conductor = manager.ConductorManager('cyborg-conductor', HOST)

    def _stored(self):
        stored = {}
        for device in objects.Device.get_list_by_hostname(self.context, HOST):
            cpid = objects.ControlpathID.get_by_device_id(
                self.context, device.id)
            handles = [
                (h.attach_type, h.attach_info, h.uuid)
                for dep in objects.Deployable.get_list_by_device_id(
                    self.context, device.id)
                for h in objects.AttachHandle.get_ah_list_by_deployable_id(
                    self.context, dep.id)]
            stored[device.model] = (device.type, cpid.cpid_type, handles)
        return stored

    def test_report_data_stores_peripherals(self):
        camera = _peripheral('cam0', 'camera')
        sdr = _peripheral('sdr0', 'sdr')
        self.conductor.report_data(self.context, HOST, [camera, sdr])

        stored = self._stored()
        self.assertEqual({'cam0', 'sdr0'}, set(stored))
        for name, device in (('cam0', camera), ('sdr0', sdr)):
            dev_type, cpid_type, handles = stored[name]
            self.assertEqual(constants.DEVICE_PERIPHERAL, dev_type)
            self.assertEqual(constants.CPID_TYPE_PERIPHERAL, cpid_type)
            want = device.deployable_list[0].attach_handle_list[0]
            self.assertEqual([(constants.AH_TYPE_OCI, want.attach_info)],
                             [h[:2] for h in handles])
        rp = self.conductor.get_rp_uuid_from_obj(camera.deployable_list[0])
        self.assertEqual(
            {'CUSTOM_PERIPHERAL_CAMERA': {'total': 1, 'max_unit': 1}},
            self.placement.inventories[rp])
        self.assertEqual(
            ('%s_cam0' % HOST, placement_stub.NoPlacementService.root(HOST)),
            self.placement.providers[rp])

        # The same report again changes nothing: handles keep their ids.
        self.conductor.report_data(
            self.context, HOST,
            [_peripheral('cam0', 'camera'), _peripheral('sdr0', 'sdr')])
        self.assertEqual(stored, self._stored())

        # The SDR is unplugged: only it goes, with its provider.
        self.conductor.report_data(self.context, HOST,
                                   [_peripheral('cam0', 'camera')])
        self.assertEqual({'cam0': stored['cam0']}, self._stored())
        self.assertEqual([rp], list(self.placement.providers))


class SQLiteConductorReportTest(_ConductorReportTests, cyborg_base.TestCase):
    DATABASE = cyborg_db.SQLiteDatabase


class MariaDBConductorReportTest(_ConductorReportTests, cyborg_base.TestCase):
    DATABASE = cyborg_db.MariaDBDatabase


class NoNovaService:
    """Stands in for Nova's API as Cyborg's NovaAPI reaches it: no Nova
    runs here.  Records the external events posted and answers each post
    with ``status`` (Nova answers 404 when it knows no such server).
    """

    def __init__(self):
        self.posted = []
        self.status = 200

    def post(self, url, json=None):
        self.posted.append((url, json))
        return type('Response', (), {'status_code': self.status,
                                     'text': '', 'json': lambda self: {}})()


class _BindNotificationTests:
    """Whom the conductor tells that an instance's ARQs are bound.

    Real conductor bind path (``ConductorManager.arq_apply_patch``) on a
    real database holding what the driver reported: a peripheral with an
    OCI handle and a PCI GPU.  Only Nova is a stand-in.
    """

    def setUp(self):
        super().setUp()
        self.useFixture(placement_stub.CyborgWithoutPlacement(self.DATABASE))
        self.nova = NoNovaService()
        self.useFixture(fixtures.MockPatchObject(
            nova_client.utils, 'get_sdk_adapter',
            lambda service_type: self.nova))
        self.conductor = manager.ConductorManager('cyborg-conductor', HOST)
        camera = _peripheral('cam0', 'camera')
        gpu = stock_cyborg_db.gpu(HOST, '3b')
        self.conductor.report_data(self.context, HOST, [camera, gpu])
        self.rps = {
            'camera': self.conductor.get_rp_uuid_from_obj(
                camera.deployable_list[0]),
            'gpu': self.conductor.get_rp_uuid_from_obj(
                gpu.deployable_list[0]),
        }
        self.profiles = {}
        for name, rc in (('camera', 'CUSTOM_PERIPHERAL_CAMERA'),
                         ('gpu', 'PGPU')):
            profile = objects.DeviceProfile(
                self.context, name=name,
                groups=[{'resources:%s' % rc: '1'}])
            profile.create(self.context)
            self.profiles[name] = profile

    def _bind(self, devices, consumer_type=None):
        """Bind one new ARQ per device to a new instance; its ARQs."""
        instance = str(uuid.uuid4())
        patch_list, valid_fields = {}, {}
        for device in devices:
            profile = self.profiles[device]
            arq = objects.ExtARQ(self.context, arq=objects.ARQ(
                self.context, device_profile_name=profile.name,
                device_profile_group_id=0,
                project_id=self.context.project_id))
            arq.create(self.context, profile.id)
            fields = {'hostname': HOST, 'device_rp_uuid': self.rps[device],
                      'instance_uuid': instance}
            patch_list[arq.arq.uuid] = [
                {'op': 'add', 'path': '/' + k, 'value': v}
                for k, v in fields.items()]
            if consumer_type:
                fields['consumer_type'] = consumer_type
            valid_fields[arq.arq.uuid] = fields
        self.conductor.arq_apply_patch(self.context, patch_list,
                                       valid_fields)
        return instance, [objects.ExtARQ.get(self.context, u).arq
                          for u in patch_list]

    def _events(self):
        return [(event['server_uuid'], event['tag'], event['status'])
                for url, body in self.nova.posted
                for event in body['events']]

    def test_container_is_not_notified(self):
        for devices in (['camera'], ['gpu']):
            instance, arqs = self._bind(
                devices, constants.ARQ_CONSUMER_CONTAINER)
            self.assertEqual([constants.ARQ_BOUND], [a.state for a in arqs])
        # Neither an OCI nor a PCI handle makes a container Nova's.
        self.assertEqual([], self.nova.posted)

    def test_nova_server_with_pci_and_oci_arqs_is_notified(self):
        instance, arqs = self._bind(['gpu', 'camera'])
        self.assertEqual({constants.AH_TYPE_PCI, constants.AH_TYPE_OCI},
                         {a.attach_handle_type for a in arqs})
        self.assertEqual(
            sorted((instance, a.uuid, constants.ARQ_BIND_STATUS_FINISH)
                   for a in arqs),
            sorted(self._events()))

    def test_nova_404_keeps_the_binding(self):
        # Nova knows no such server, e.g. it was deleted meanwhile.
        self.nova.status = 404
        instance, arqs = self._bind(['gpu'], constants.ARQ_CONSUMER_NOVA)
        self.assertEqual(1, len(self.nova.posted))
        self.assertEqual([constants.ARQ_BOUND], [a.state for a in arqs])


class SQLiteBindNotificationTest(_BindNotificationTests,
                                 cyborg_base.TestCase):
    DATABASE = cyborg_db.SQLiteDatabase


class MariaDBBindNotificationTest(_BindNotificationTests,
                                  cyborg_base.TestCase):
    DATABASE = cyborg_db.MariaDBDatabase


class PatchFilesTest(cyborg_base.TestCase):
    """The series is ready for Gerrit, and carries no one's identity."""

    def test_gerrit_metadata(self):
        change_ids = []
        for path in cyborg_db.patch_series():
            with open(path) as f:
                message = f.read().split('\n---\n', 1)[0]
            name = os.path.basename(path)
            self.assertTrue(message.startswith('Subject: [PATCH'), name)
            # The submitter supplies author and sign-off (contributor
            # guide), so no placeholder identity can be submitted.
            self.assertEqual(
                [], re.findall(r'^(?:From|Date|Signed-off-by):.*$',
                               message, re.MULTILINE), name)
            found = re.findall(r'^Change-Id: (I[0-9a-f]{40})$', message,
                               re.MULTILINE)
            self.assertEqual(1, len(found), name)
            change_ids += found
        self.assertEqual(len(change_ids), len(set(change_ids)))


class ObjectCompatTest(cyborg_base.TestCase):
    """Older services never receive the new values."""

    NEW = (
        (objects.Device, 'type', constants.DEVICE_PERIPHERAL,
         constants.DEVICE_GPU, '1.5'),
        (driver_device.DriverDevice, 'type', constants.DEVICE_PERIPHERAL,
         constants.DEVICE_GPU, '1.4'),
        (objects.ControlpathID, 'cpid_type', constants.CPID_TYPE_PERIPHERAL,
         constants.CPID_TYPE_PCI, '1.1'),
        (objects.AttachHandle, 'attach_type', constants.AH_TYPE_OCI,
         constants.AH_TYPE_PCI, '1.0'),
    )

    def test_new_values_refused_for_older_versions(self):
        for cls, field, new, old, old_version in self.NEW:
            obj = cls(**{field: new})
            self.assertRaises(exception.ObjectActionError,
                              obj.obj_to_primitive,
                              target_version=old_version)
            primitive = obj.obj_to_primitive()
            self.assertEqual(new, primitive['cyborg_object.data'][field])

    def test_old_values_still_sent_to_older_versions(self):
        for cls, field, new, old, old_version in self.NEW:
            primitive = cls(**{field: old}).obj_to_primitive(
                target_version=old_version)
            self.assertEqual(old_version,
                             primitive['cyborg_object.version'])
            back = cls.obj_from_primitive(primitive)
            self.assertEqual(old, back[field])

    def test_changed_objects_have_new_versions(self):
        pristine = self.useFixture(cyborg_db.PristineCyborg())
        stock = json.loads(pristine.run(
            os.path.join(cyborg_db.HERE, 'stock_cyborg_db.py'), 'hashes'))
        objects.register_all()
        ours = ovo_fixture.ObjectVersionChecker(
            objects_base.CyborgObjectRegistry.obj_classes()).get_hashes()
        self.assertEqual(set(stock), set(ours))
        changed = {name: (stock[name], ours[name]) for name in ours
                   if stock[name] != ours[name]}
        for name, (old, new) in changed.items():
            self.assertNotEqual(old.split('-')[0], new.split('-')[0],
                                '%s changed without a version bump' % name)
        self.assertEqual(
            {'Device': '1.6', 'DriverDevice': '1.5', 'ControlpathID': '1.2',
             'AttachHandle': '1.1'},
            {name: new.split('-')[0] for name, (old, new) in changed.items()})
