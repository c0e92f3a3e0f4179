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

"""Make a database the way an unpatched Cyborg deployment has it.

Run as a script by a Python whose ``cyborg`` is the pristine release
(see cyborg_db.PristineCyborg): ``stock_cyborg_db.py db URL HOST``.
``stock_cyborg_db.py hashes`` prints the versions and fingerprints of the
released objects instead.

The schema comes from stock Cyborg's own tooling: its alembic migrations
on MySQL/MariaDB, and ``create_schema`` on SQLite, where its migrations
cannot run (SQLite has no ALTER COLUMN).  Then it stores two PCI GPUs the
way the conductor does when an agent reports them, and binds one to an
instance the way an ARQ bind does.
"""

import json
import sys

import keystonemiddleware.auth_token  # noqa: F401
from cyborg import context as cyborg_context
from cyborg import objects
from cyborg.accelerator.common import utils
from cyborg.common import config as cyborg_config
from cyborg.common import constants
from cyborg.db import api as dbapi
from cyborg.db.sqlalchemy import migration
from cyborg.objects import base as objects_base
from cyborg.objects.driver_objects import driver_attach_handle
from cyborg.objects.driver_objects import driver_attribute
from cyborg.objects.driver_objects import driver_controlpath_id
from cyborg.objects.driver_objects import driver_deployable
from cyborg.objects.driver_objects import driver_device
from oslo_config import cfg
from oslo_versionedobjects import fixture as ovo_fixture


#: Bound ARQ and instance, so the caller can check they survive.
ARQ_UUID = '5e9a8a40-5c6b-4f3a-9a59-1f4f0a4cbf11'
INSTANCE_UUID = 'f6f0c3f4-8e8b-4e55-a3b0-5a2c6a3bb0a2'


def gpu(host, bus):
    address = '0000:%s:00.0' % bus
    handle = driver_attach_handle.DriverAttachHandle(
        attach_type=constants.AH_TYPE_PCI,
        attach_info=utils.pci_str_to_json(address),
        in_use=False)
    deployable = driver_deployable.DriverDeployable(
        name='%s_%s' % (host, address),
        num_accelerators=1,
        driver_name='NVIDIA',
        attribute_list=[
            driver_attribute.DriverAttribute(key='rc', value='PGPU'),
            driver_attribute.DriverAttribute(
                key='trait0', value=constants.OWNER_CYBORG),
            driver_attribute.DriverAttribute(
                key='trait1', value='CUSTOM_NVIDIA_1EB8'),
        ],
        attach_handle_list=[handle])
    return driver_device.DriverDevice(
        vendor='10de',
        model='Tesla T4',
        type=constants.DEVICE_GPU,
        std_board_info='{"controller": "3D controller", "product_id": '
                       '"1eb8"}',
        vendor_board_info='',
        controlpath_id=driver_controlpath_id.DriverControlPathID(
            cpid_type='PCI', cpid_info=utils.pci_str_to_json(address)),
        deployable_list=[deployable],
        stub=False)


def main(url, host):
    cyborg_config.parse_args([sys.argv[0]], default_config_files=[])
    cfg.CONF.set_override('connection', url, group='database')
    if url.startswith('sqlite'):
        migration.create_schema()
    else:
        migration.upgrade('head')
    objects.register_all()
    context = cyborg_context.get_admin_context()
    for bus in ('3b', '5e'):
        gpu(host, bus).create(context, host)

    # Bind the first GPU, as ExtARQ.bind does.
    handle = objects.AttachHandle.list(context)[-1]
    handle.in_use = True
    handle.save(context)
    db = dbapi.get_instance()
    profile = db.device_profile_create(context, {
        'name': 'gpu-t4',
        'profile_json': '{"groups": [{"resources:PGPU": "1"}]}'})
    db.extarq_create(context, {
        'uuid': ARQ_UUID,
        'state': constants.ARQ_BOUND,
        'device_profile_id': profile['id'],
        'hostname': host,
        'instance_uuid': INSTANCE_UUID,
        'attach_handle_id': handle.id,
        'deployable_id': handle.deployable_id,
        'project_id': 'b6f1b2d4c2f94d5a9a1b54c2f0c1d001'})


def hashes():
    objects.register_all()
    checker = ovo_fixture.ObjectVersionChecker(
        objects_base.CyborgObjectRegistry.obj_classes())
    print(json.dumps(checker.get_hashes()))


if __name__ == '__main__':
    if sys.argv[1] == 'hashes':
        hashes()
    else:
        main(*sys.argv[2:])
