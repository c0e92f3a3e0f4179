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

"""A worker's task for one hardware item, and its state machine.

    PENDING -> IN_PROGRESS -> STEADY | PENDING (deferred) | ERROR
    STEADY -> PENDING, ERROR -> PENDING (the API asks for a new run)

The database enforces the same moves with compare-and-swap UPDATEs
(``edge_enroll.db.api``); the field refuses others in this process.
"""

from oslo_versionedobjects import fields

from edge_enroll import exception
from edge_enroll.db import api as db_api
from edge_enroll.objects import base
from edge_enroll.objects import fields as obj_fields


class WorkerState(fields.StateMachine):
    PENDING = db_api.PENDING
    IN_PROGRESS = db_api.IN_PROGRESS
    STEADY = db_api.STEADY
    ERROR = db_api.ERROR
    ALL = (PENDING, IN_PROGRESS, STEADY, ERROR)

    ALLOWED_TRANSITIONS = {
        PENDING: {IN_PROGRESS},
        IN_PROGRESS: {STEADY, PENDING, ERROR},
        STEADY: {PENDING},
        ERROR: {PENDING},
    }

    def __init__(self, **kwargs):
        super().__init__(self.ALL, **kwargs)


class WorkerStateField(fields.AutoTypedField):
    AUTO_TYPE = WorkerState()


@base.EdgeEnrollObjectRegistry.register
class WorkerTask(base.EdgeEnrollObject):
    # Version 1.0: Initial version
    VERSION = '1.0'

    fields = dict({
        'id': fields.IntegerField(),
        'uuid': fields.UUIDField(),
        'hardware_uuid': fields.UUIDField(),
        'worker_type': fields.StringField(),
        'state': WorkerStateField(),
        'state_details': obj_fields.JSONDictField(),
        'requeue': fields.BooleanField(),
        'attempts': fields.IntegerField(),
        'not_before': fields.DateTimeField(nullable=True),
        'claimed_by': fields.StringField(nullable=True),
    }, **base.EdgeEnrollObject.timestamps)

    @classmethod
    def _list(cls, context, rows):
        return [cls._from_row(context, row) for row in rows]

    @classmethod
    def list_for_hardware(cls, context, hardware_uuid):
        """The tasks of one hardware item, oldest first."""
        return cls._list(context, db_api.worker_task_list(
            context, [hardware_uuid]))

    @classmethod
    def list_by_hardware(cls, context, hardware_uuids):
        """``{hardware_uuid: [tasks]}`` for many hardware items at once
        (one query; the API's list).
        """
        found = {uuid: [] for uuid in hardware_uuids}
        for task in cls._list(context, db_api.worker_task_list(
                context, hardware_uuids)):
            found[task.hardware_uuid].append(task)
        return found

    @classmethod
    def get_by_uuid(cls, context, uuid):
        return cls._from_row(context, db_api.worker_task_get(context, uuid))

    @classmethod
    def ensure_for_hardware(cls, context, hardware, worker_types):
        """A PENDING task per worker type of ``worker_types`` that
        ``hardware`` lacks (new hardware, a newly enabled worker); returns
        all its tasks.
        """
        return cls._list(context, db_api.worker_task_ensure(
            context, hardware.uuid, worker_types))

    @classmethod
    def claim_due(cls, context, host, limit):
        """Up to ``limit`` due PENDING tasks, now IN_PROGRESS and claimed
        by ``host``; no other caller gets the same task.
        """
        return cls._list(context, db_api.worker_task_claim_due(
            context, host, limit))

    @classmethod
    def mark_pending(cls, context, hardware_uuid):
        """Run every task of the hardware again (STEADY, ERROR and
        PENDING now, with no backoff left; IN_PROGRESS once it finishes).
        """
        db_api.worker_task_mark_pending(context, hardware_uuid)

    @classmethod
    def resync(cls, context, worker_type, older_than):
        """Run again the STEADY tasks of ``worker_type`` of live hardware
        that finished before ``older_than``; returns how many.
        """
        return db_api.worker_task_resync(context, worker_type,
                                         base.naive_utc(older_than))

    @classmethod
    def release_claims(cls, context, host):
        """Tasks ``host`` held IN_PROGRESS when it stopped -> PENDING;
        returns how many.
        """
        return db_api.worker_task_release_claims(context, host)

    def reveal_once(self, keys):
        """``{key: value}`` of the one-time ``keys`` of a STEADY task's
        state details (a secret the owner sees once), removed from the
        database as they are returned; {} if the task is not STEADY or
        another reader got them first.
        """
        if self.state != WorkerState.STEADY:
            return {}
        values = {k: self.state_details[k] for k in keys
                  if k in self.state_details}
        if not values or not db_api.worker_task_reveal(
                self._context, self.uuid, self.state_details, keys):
            return {}
        return values

    def finish(self, state, state_details, not_before=None, attempts=0):
        """End this IN_PROGRESS task in ``state`` (STEADY, PENDING to be
        retried at ``not_before``, ERROR) with ``state_details``;
        ``attempts``: defers or retries in a row so far.  If the API
        asked for a new run meanwhile, the task is PENDING at once.
        """
        try:
            self.state = state
        except ValueError:
            raise exception.InvalidStateTransition(
                uuid=self.uuid, current=self.state, new=state)
        self._update_from_row(db_api.worker_task_finish(
            self._context, self.uuid, state, state_details,
            not_before=base.naive_utc(not_before), attempts=attempts))
