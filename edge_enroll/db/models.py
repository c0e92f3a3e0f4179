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

"""SQLAlchemy models; the alembic migrations create the same tables
(a unit test compares them).
"""

import sqlalchemy as sa
from oslo_db.sqlalchemy import models
from oslo_db.sqlalchemy import types as db_types
from sqlalchemy import orm


def table_args():
    return {'mysql_engine': 'InnoDB', 'mysql_charset': 'utf8mb4'}


class Base(models.TimestampMixin, models.ModelBase, orm.DeclarativeBase):
    pass


class Hardware(models.SoftDeleteMixin, Base):
    """An enrolled machine.  Soft-deleted (``deleted`` = ``id``) until
    every worker has cleaned up after it; a name may then be reused.
    """

    __tablename__ = 'hardware'
    __table_args__ = (
        sa.UniqueConstraint('uuid', name='uniq_hardware0uuid'),
        sa.UniqueConstraint('name', 'deleted',
                            name='uniq_hardware0name0deleted'),
        sa.Index('hardware_project_id_idx', 'project_id'),
        table_args())

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    uuid = sa.Column(sa.String(36), nullable=False)
    project_id = sa.Column(sa.String(255), nullable=False)
    hardware_type = sa.Column(sa.String(64), nullable=False)
    name = sa.Column(sa.String(255), nullable=False)
    properties = sa.Column(db_types.JsonEncodedDict, nullable=False)
    #: Bumped by every update, which names the version it read: an
    #: update made from a stale read is refused, not lost.
    version = sa.Column(sa.Integer, nullable=False, default=0,
                        server_default='0')


class WorkerTask(Base):
    """One worker's task for one hardware item: the work queue."""

    __tablename__ = 'worker_task'
    __table_args__ = (
        sa.UniqueConstraint('uuid', name='uniq_worker_task0uuid'),
        sa.UniqueConstraint('hardware_uuid', 'worker_type',
                            name='uniq_worker_task0hardware_uuid0worker_type'),
        sa.Index('worker_task_state_idx', 'state'),
        table_args())

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    uuid = sa.Column(sa.String(36), nullable=False)
    hardware_uuid = sa.Column(
        sa.String(36),
        sa.ForeignKey('hardware.uuid', ondelete='CASCADE',
                      name='fk_worker_task0hardware_uuid'),
        nullable=False)
    worker_type = sa.Column(sa.String(64), nullable=False)
    state = sa.Column(sa.String(15), nullable=False)
    state_details = sa.Column(db_types.JsonEncodedDict, nullable=False)
    requeue = sa.Column(sa.Boolean, nullable=False, default=False)
    attempts = sa.Column(sa.Integer, nullable=False, default=0)
    not_before = sa.Column(sa.DateTime, nullable=True)
    claimed_by = sa.Column(sa.String(255), nullable=True)


class AvailabilityWindow(Base):
    """When the hardware may be reserved (for a reservation worker)."""

    __tablename__ = 'availability_window'
    __table_args__ = (
        sa.UniqueConstraint('uuid', name='uniq_availability_window0uuid'),
        sa.Index('availability_window_hardware_uuid_idx', 'hardware_uuid'),
        table_args())

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    uuid = sa.Column(sa.String(36), nullable=False)
    hardware_uuid = sa.Column(
        sa.String(36),
        sa.ForeignKey('hardware.uuid', ondelete='CASCADE',
                      name='fk_availability_window0hardware_uuid'),
        nullable=False)
    start = sa.Column(sa.DateTime, nullable=True)
    end = sa.Column(sa.DateTime, nullable=True)
