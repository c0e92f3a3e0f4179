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

"""The hardware, worker_task and availability_window tables.

Revision ID: 0001_initial
Revises:
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op
from oslo_db.sqlalchemy import types as db_types


revision = '0001_initial'
down_revision = None

_TABLE_ARGS = {'mysql_engine': 'InnoDB', 'mysql_charset': 'utf8mb4'}


def _timestamps():
    return [sa.Column('created_at', sa.DateTime, nullable=True),
            sa.Column('updated_at', sa.DateTime, nullable=True)]


def upgrade():
    op.create_table(
        'hardware',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('uuid', sa.String(36), nullable=False),
        sa.Column('project_id', sa.String(255), nullable=False),
        sa.Column('hardware_type', sa.String(64), nullable=False),
        sa.Column('name', sa.String(255), nullable=False),
        sa.Column('properties', db_types.JsonEncodedDict, nullable=False),
        sa.Column('version', sa.Integer, nullable=False,
                  server_default='0'),
        *_timestamps(),
        sa.Column('deleted_at', sa.DateTime, nullable=True),
        sa.Column('deleted', db_types.SoftDeleteInteger, nullable=True),
        sa.UniqueConstraint('uuid', name='uniq_hardware0uuid'),
        sa.UniqueConstraint('name', 'deleted',
                            name='uniq_hardware0name0deleted'),
        sa.Index('hardware_project_id_idx', 'project_id'),
        **_TABLE_ARGS)
    op.create_table(
        'worker_task',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('uuid', sa.String(36), nullable=False),
        sa.Column('hardware_uuid', sa.String(36),
                  sa.ForeignKey('hardware.uuid', ondelete='CASCADE',
                                name='fk_worker_task0hardware_uuid'),
                  nullable=False),
        sa.Column('worker_type', sa.String(64), nullable=False),
        sa.Column('state', sa.String(15), nullable=False),
        sa.Column('state_details', db_types.JsonEncodedDict,
                  nullable=False),
        sa.Column('requeue', sa.Boolean, nullable=False),
        sa.Column('attempts', sa.Integer, nullable=False),
        sa.Column('not_before', sa.DateTime, nullable=True),
        sa.Column('claimed_by', sa.String(255), nullable=True),
        *_timestamps(),
        sa.UniqueConstraint('uuid', name='uniq_worker_task0uuid'),
        sa.UniqueConstraint(
            'hardware_uuid', 'worker_type',
            name='uniq_worker_task0hardware_uuid0worker_type'),
        sa.Index('worker_task_state_idx', 'state'),
        **_TABLE_ARGS)
    op.create_table(
        'availability_window',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('uuid', sa.String(36), nullable=False),
        sa.Column('hardware_uuid', sa.String(36),
                  sa.ForeignKey('hardware.uuid', ondelete='CASCADE',
                                name='fk_availability_window0hardware_uuid'),
                  nullable=False),
        sa.Column('start', sa.DateTime, nullable=True),
        sa.Column('end', sa.DateTime, nullable=True),
        *_timestamps(),
        sa.UniqueConstraint('uuid', name='uniq_availability_window0uuid'),
        sa.Index('availability_window_hardware_uuid_idx', 'hardware_uuid'),
        **_TABLE_ARGS)
