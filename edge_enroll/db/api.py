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

"""Every database access of edge_enroll: the only module that opens
sessions (oslo.db enginefacade).

Functions take a context made by ``edge_enroll.context`` and return
model rows; the objects in ``edge_enroll.objects`` wrap them.  The
worker task's state changes are compare-and-swap UPDATEs: a row moves
only from the state the caller saw, so that two workers never take the
same task and a change the API makes while a task runs is never lost.
"""

import threading

import sqlalchemy as sa
from oslo_db import exception as db_exception
from oslo_db.sqlalchemy import enginefacade
from oslo_db.sqlalchemy import utils as db_utils
from oslo_utils import timeutils
from oslo_utils import uuidutils

from edge_enroll import exception
from edge_enroll.db import models


PENDING = 'PENDING'
IN_PROGRESS = 'IN_PROGRESS'
STEADY = 'STEADY'
ERROR = 'ERROR'

_LOCK = threading.Lock()
_FACADE = None


def configure(conf):
    """Use the database of ``conf.database`` from now on (a new engine;
    tests call this with a database of their own).
    """
    global _FACADE
    facade = enginefacade.transaction_context()
    facade.configure(sqlite_fk=True, **dict(conf.database.items()))
    with _LOCK:
        _FACADE = facade


def get_engine():
    return _facade().writer.get_engine()


def _facade():
    if _FACADE is None:
        raise exception.ConfigInvalid(
            reason='the database is not configured (edge_enroll.db.api.'
                   'configure was not called)')
    return _FACADE


def _writer(context):
    return _facade().writer.using(context)


def _reader(context):
    return _facade().reader.using(context)


# -- hardware ----------------------------------------------------------------

def _hardware_query(session, deleted=False):
    query = session.query(models.Hardware)
    if not deleted:
        query = query.filter_by(deleted=0)
    return query


def hardware_create(context, values):
    values = dict(values)
    values.setdefault('uuid', uuidutils.generate_uuid())
    row = models.Hardware()
    row.update(values)
    try:
        with _writer(context) as session:
            session.add(row)
            session.flush()
    except db_exception.DBDuplicateEntry:
        raise exception.HardwareNameInUse(name=exception.quote(
            values.get('name')))
    return row


def hardware_get_by_uuid(context, uuid, deleted=False):
    """The hardware ``uuid``; with ``deleted``, also a soft-deleted one."""
    with _reader(context) as session:
        row = _hardware_query(session, deleted).filter_by(uuid=uuid).first()
    if row is None:
        raise exception.HardwareNotFound(hardware=exception.quote(uuid))
    return row


def hardware_get_by_name(context, name):
    with _reader(context) as session:
        row = _hardware_query(session).filter_by(name=name).first()
    if row is None:
        raise exception.HardwareNotFound(hardware=exception.quote(name))
    return row


def hardware_list(context, project_id=None, limit=None, marker=None,
                  sort_key='created_at', sort_dir='asc', deleted=False):
    """Hardware of ``project_id`` (all projects' if None), one page:
    ``limit`` rows after the one of UUID ``marker``.
    """
    with _reader(context) as session:
        query = _hardware_query(session, deleted)
        if project_id is not None:
            query = query.filter_by(project_id=project_id)
        marker_row = None
        if marker is not None:
            marker_row = _hardware_query(session, deleted).filter_by(
                uuid=marker).first()
            if marker_row is None:
                raise exception.Invalid(
                    reason='marker %s is not a hardware UUID of this list'
                    % exception.quote(marker))
        query = db_utils.paginate_query(
            query, models.Hardware, limit, [sort_key, 'id'],
            marker=marker_row, sort_dir=sort_dir)
        return query.all()


def hardware_update(context, uuid, values, expected_version):
    """Change ``values`` (name, properties) of live hardware ``uuid`` if
    it is still at ``expected_version`` (the ``version`` read before
    the change was made); raises ``HardwareChanged`` if not.
    """
    values = dict(values, updated_at=timeutils.utcnow(),
                  version=models.Hardware.version + 1)
    try:
        with _writer(context) as session:
            count = _hardware_query(session).filter_by(
                uuid=uuid, version=expected_version).update(
                values, synchronize_session=False)
            found = count or _hardware_query(session).filter_by(
                uuid=uuid).count()
    except db_exception.DBDuplicateEntry:
        raise exception.HardwareNameInUse(name=exception.quote(
            values.get('name')))
    if not found:
        raise exception.HardwareNotFound(hardware=exception.quote(uuid))
    if not count:
        raise exception.HardwareChanged(uuid=uuid)
    return hardware_get_by_uuid(context, uuid)


def hardware_soft_delete(context, uuid):
    with _writer(context) as session:
        row = _hardware_query(session).filter_by(uuid=uuid).first()
        if row is None:
            raise exception.HardwareNotFound(hardware=exception.quote(uuid))
        # Not SoftDeleteMixin.soft_delete: it opens its own transaction.
        row.deleted = row.id
        row.deleted_at = timeutils.utcnow()
    return row


def hardware_purge(context, uuid):
    """Remove soft-deleted hardware ``uuid`` and its tasks and windows."""
    with _writer(context) as session:
        for model in (models.WorkerTask, models.AvailabilityWindow):
            session.query(model).filter_by(hardware_uuid=uuid).delete(
                synchronize_session=False)
        count = session.query(models.Hardware).filter(
            models.Hardware.uuid == uuid,
            models.Hardware.deleted != 0).delete(synchronize_session=False)
    if not count:
        raise exception.HardwareNotFound(hardware=exception.quote(uuid))


# -- worker tasks ------------------------------------------------------------

def worker_task_list(context, hardware_uuids):
    """The tasks of the hardware ``hardware_uuids``, by hardware, in
    creation order.
    """
    if not hardware_uuids:
        return []
    with _reader(context) as session:
        return session.query(models.WorkerTask).filter(
            models.WorkerTask.hardware_uuid.in_(list(hardware_uuids))
        ).order_by(models.WorkerTask.id).all()


def worker_task_get(context, uuid):
    with _reader(context) as session:
        row = session.query(models.WorkerTask).filter_by(uuid=uuid).first()
    if row is None:
        raise exception.WorkerTaskNotFound(uuid=exception.quote(uuid))
    return row


def worker_task_ensure(context, hardware_uuid, worker_types):
    """A PENDING task for each of ``worker_types`` the hardware lacks;
    returns all its tasks.
    """
    existing = {t.worker_type for t in worker_task_list(
        context, [hardware_uuid])}
    for worker_type in worker_types:
        if worker_type in existing:
            continue
        row = models.WorkerTask(
            uuid=uuidutils.generate_uuid(), hardware_uuid=hardware_uuid,
            worker_type=worker_type, state=PENDING, state_details={},
            requeue=False, attempts=0)
        try:
            with _writer(context) as session:
                session.add(row)
        except db_exception.DBDuplicateEntry:
            # Another process made it at the same time: one is enough.
            pass
    return worker_task_list(context, [hardware_uuid])


def worker_task_claim_due(context, host, limit):
    """Move up to ``limit`` due PENDING tasks to IN_PROGRESS for
    ``host`` and return them.  Each row moves by its own UPDATE ...
    WHERE state = 'PENDING': of two workers, one wins each row.
    """
    now = timeutils.utcnow()
    task = models.WorkerTask
    with _reader(context) as session:
        candidates = [row.id for row in session.query(task.id).filter(
            task.state == PENDING,
            sa.or_(task.not_before.is_(None), task.not_before <= now),
        ).order_by(task.updated_at, task.id).limit(limit)]
    claimed = []
    for task_id in candidates:
        with _writer(context) as session:
            count = session.query(task).filter(
                task.id == task_id, task.state == PENDING).update(
                {'state': IN_PROGRESS, 'claimed_by': host,
                 'requeue': False, 'updated_at': now},
                synchronize_session=False)
        if count:
            claimed.append(task_id)
    if not claimed:
        return []
    with _reader(context) as session:
        return session.query(task).filter(task.id.in_(claimed)).order_by(
            task.id).all()


def worker_task_finish(context, uuid, state, state_details, not_before=None,
                       attempts=0):
    """IN_PROGRESS -> ``state``; or -> PENDING at once if the task was
    asked to run again (``requeue``) while it ran.  Returns the row.
    """
    task = models.WorkerTask
    now = timeutils.utcnow()
    values = {'state_details': state_details, 'claimed_by': None,
              'updated_at': now}
    with _writer(context) as session:
        count = session.query(task).filter(
            task.uuid == uuid, task.state == IN_PROGRESS,
            task.requeue == sa.false()).update(
            dict(values, state=state, not_before=not_before,
                 attempts=attempts), synchronize_session=False)
        if not count:
            count = session.query(task).filter(
                task.uuid == uuid, task.state == IN_PROGRESS,
                task.requeue == sa.true()).update(
                dict(values, state=PENDING, requeue=False, not_before=None,
                     attempts=0), synchronize_session=False)
    if not count:
        current = worker_task_get(context, uuid)
        raise exception.InvalidStateTransition(
            uuid=uuid, current=current.state, new=state)
    return worker_task_get(context, uuid)


def worker_task_mark_pending(context, hardware_uuid):
    """Have every task of the hardware run again: STEADY, ERROR and
    PENDING ones now; IN_PROGRESS ones once they finish.
    """
    task = models.WorkerTask
    now = timeutils.utcnow()
    with _writer(context) as session:
        session.query(task).filter(
            task.hardware_uuid == hardware_uuid,
            task.state.in_((STEADY, ERROR, PENDING))).update(
            {'state': PENDING, 'attempts': 0, 'not_before': None,
             'updated_at': now}, synchronize_session=False)
        session.query(task).filter(
            task.hardware_uuid == hardware_uuid,
            task.state == IN_PROGRESS).update(
            {'requeue': True}, synchronize_session=False)


def worker_task_resync(context, worker_type, older_than):
    """STEADY tasks of ``worker_type`` that last finished before
    ``older_than``, of live hardware -> PENDING (a worker that follows
    something outside the hardware, see ``BaseWorker.resync_interval``);
    returns how many.  The other tasks of the hardware are left alone.
    """
    task = models.WorkerTask
    live = sa.select(models.Hardware.uuid).where(
        models.Hardware.deleted == 0)
    with _writer(context) as session:
        return session.query(task).filter(
            task.worker_type == worker_type, task.state == STEADY,
            task.updated_at < older_than,
            task.hardware_uuid.in_(live)).update(
            {'state': PENDING, 'attempts': 0, 'not_before': None,
             'updated_at': timeutils.utcnow()}, synchronize_session=False)


def worker_task_reveal(context, uuid, state_details, keys):
    """Remove ``keys`` from the STEADY task's ``state_details`` (as
    the caller read them) and record ``secret_revealed``; True if this
    caller did it: a task that ran or was revealed since is left alone.
    """
    task = models.WorkerTask
    remaining = {k: v for k, v in state_details.items() if k not in keys}
    remaining['secret_revealed'] = True
    with _writer(context) as session:
        return bool(session.query(task).filter(
            task.uuid == uuid, task.state == STEADY,
            task.state_details == state_details).update(
            {'state_details': remaining}, synchronize_session=False))


def worker_task_release_claims(context, host):
    """IN_PROGRESS tasks of ``host`` (a worker that restarted) ->
    PENDING; returns how many.
    """
    task = models.WorkerTask
    with _writer(context) as session:
        return session.query(task).filter(
            task.state == IN_PROGRESS, task.claimed_by == host).update(
            {'state': PENDING, 'claimed_by': None, 'requeue': False,
             'not_before': None, 'updated_at': timeutils.utcnow()},
            synchronize_session=False)


# -- availability windows ----------------------------------------------------

def availability_window_list(context, hardware_uuid):
    with _reader(context) as session:
        return session.query(models.AvailabilityWindow).filter_by(
            hardware_uuid=hardware_uuid).order_by(
            models.AvailabilityWindow.start,
            models.AvailabilityWindow.id).all()


def availability_window_apply(context, hardware_uuid, creates, updates,
                              deletes):
    """In one transaction: new windows ``creates`` ([{start, end}]),
    changes ``updates`` ({uuid: {start?, end?}}) and ``deletes`` (UUIDs)
    of the hardware's windows.  Raises ``NotFound`` for a UUID that is
    not one of them (nothing is changed then).
    """
    window = models.AvailabilityWindow
    with _writer(context) as session:
        for uuid, values in updates.items():
            if not session.query(window).filter_by(
                    hardware_uuid=hardware_uuid, uuid=uuid).update(
                    dict(values, updated_at=timeutils.utcnow()),
                    synchronize_session=False):
                raise exception.WindowNotFound(uuid=exception.quote(uuid))
        for uuid in deletes:
            if not session.query(window).filter_by(
                    hardware_uuid=hardware_uuid, uuid=uuid).delete(
                    synchronize_session=False):
                raise exception.WindowNotFound(uuid=exception.quote(uuid))
        for values in creates:
            session.add(window(uuid=uuidutils.generate_uuid(),
                               hardware_uuid=hardware_uuid, **values))
