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

"""The worker engine: runs the workers' tasks that are due.

The database is the queue (``objects.WorkerTask``): a task is claimed
PENDING -> IN_PROGRESS by one engine only (compare-and-swap), run on a
thread of a pool of ``[worker] task_concurrency``, and finished STEADY,
PENDING again (deferred or failed, with an exponential backoff) or
ERROR.  The engine looks for due tasks every ``[worker]
poll_interval`` and at once when the API casts ``process(hardware_uuid)``
(topic ``edge-enroll-worker``) or a slot frees up.

A worker with a ``resync_interval`` has its STEADY tasks that old run
again (looked for at each poll).  A change arriving while a task runs
leaves it ``requeue``d: it runs again as soon as it finishes.  Deleted
hardware gets each worker's ``cleanup`` instead of ``process``, and is
purged once every task has cleaned up.  An engine that restarts
releases the claims it held.
"""

import datetime
import threading

import futurist
import oslo_messaging as messaging
from oslo_log import log as logging
from oslo_utils import timeutils

from edge_enroll import context as context_mod
from edge_enroll import exception
from edge_enroll import hardware_types
from edge_enroll import objects
from edge_enroll.conf import worker as conf_worker
from edge_enroll.worker import base


LOG = logging.getLogger(__name__)
STATE = objects.WorkerState
#: Keys of ``state_details`` the engine owns (not the worker's payload).
ENGINE_KEYS = ('defer_reason', 'last_error', 'attempts')


def merge(details, payload):
    """``details`` updated with ``payload``; a key set to None in
    ``payload`` is removed.
    """
    merged = dict(details)
    for key, value in (payload or {}).items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def backoff(conf, attempts):
    """Seconds before attempt ``attempts + 1``: ``retry_base_delay``
    doubled at each attempt, at most ``retry_max_delay``.
    """
    delay = conf.worker.retry_base_delay * (2 ** max(attempts - 1, 0))
    return min(delay, conf.worker.retry_max_delay)


class WorkerManager:
    """The engine of ``conf`` (its ``[worker]`` options), claiming as
    ``[worker] host``.  ``start()``, then ``stop()``.
    """

    def __init__(self, conf):
        self.conf = conf
        self.host = conf.worker.host
        self.types = hardware_types.load(conf)
        self.workers = {}
        for hw_type in self.types.values():
            for name, cls in hw_type.workers.items():
                if name not in self.workers:
                    cls.register_opts(conf)
                    self.workers[name] = cls(conf)
        self.context = context_mod.get_admin_context()
        self._pool = futurist.ThreadPoolExecutor(
            max_workers=conf.worker.task_concurrency)
        self._running = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = None

    # -- life cycle -----------------------------------------------------------

    def start(self):
        released = objects.WorkerTask.release_claims(self.context, self.host)
        if released:
            LOG.info('Released %(count)d tasks that %(host)s held when it '
                     'stopped', {'count': released, 'host': self.host})
        for hardware in objects.Hardware.list(self.context, deleted=True):
            self.ensure_tasks(hardware)
        self._thread = threading.Thread(target=self._loop,
                                        name='edge-enroll-engine',
                                        daemon=True)
        self._thread.start()

    def stop(self):
        """Claim no more; wait for the running tasks to finish."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
        self._pool.shutdown(wait=True)

    def wake(self):
        self._wake.set()

    # -- what the API asks for ---------------------------------------------

    def ensure_tasks(self, hardware):
        """Tasks of the workers that apply to ``hardware`` (a newly
        enabled worker gets its task).
        """
        hw_type = self.types.get(hardware.hardware_type)
        if hw_type is None:
            LOG.warning('Hardware %(uuid)s has type %(type)s, which is not '
                        'enabled ([DEFAULT] enabled_hardware_types): no '
                        'worker runs for it',
                        {'uuid': hardware.uuid,
                         'type': hardware.hardware_type})
            return []
        return objects.WorkerTask.ensure_for_hardware(
            self.context, hardware, hw_type.enabled_workers)

    def process(self, hardware_uuid):
        """The API changed ``hardware_uuid`` (its tasks are PENDING):
        make missing tasks and look for due ones now.
        """
        try:
            hardware = objects.Hardware.get_by_uuid(
                self.context, hardware_uuid, deleted=True)
        except exception.HardwareNotFound:
            LOG.debug('Hardware %s is gone (purged)', hardware_uuid)
            return
        self.ensure_tasks(hardware)
        self.wake()

    # -- the loop -------------------------------------------------------------

    def _loop(self):
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                self.resync()
                self.run_due()
            except Exception:
                # The database may be down: try again at the next poll.
                LOG.exception('Could not claim due tasks')
            self._wake.wait(self.conf.worker.poll_interval)

    def resync(self):
        """Make PENDING the STEADY tasks of the workers with a
        ``resync_interval`` that finished longer ago; returns how many.
        """
        count = 0
        now = timeutils.utcnow()
        for name, worker in self.workers.items():
            interval = worker.resync_interval()
            if not interval:
                continue
            found = objects.WorkerTask.resync(
                self.context, name,
                now - datetime.timedelta(seconds=interval))
            if found:
                LOG.debug('Resyncing %(count)d %(type)s tasks',
                          {'count': found, 'type': name})
            count += found
        return count

    def run_due(self):
        """Claim due tasks for the free slots and start them; returns
        how many were started.
        """
        with self._lock:
            free = self.conf.worker.task_concurrency - self._running
        if free <= 0:
            return 0
        tasks = objects.WorkerTask.claim_due(self.context, self.host, free)
        with self._lock:
            self._running += len(tasks)
        for task in tasks:
            self._pool.submit(self._run, task)
        return len(tasks)

    def _run(self, task):
        try:
            self.run_task(task)
        except Exception:
            LOG.exception('Worker task %(uuid)s (%(type)s of hardware '
                          '%(hw)s) could not be finished; a restart of this '
                          'engine releases it',
                          {'uuid': task.uuid, 'type': task.worker_type,
                           'hw': task.hardware_uuid})
        finally:
            with self._lock:
                self._running -= 1
            # A slot is free: another due task may take it now.
            self._wake.set()

    # -- one task -----------------------------------------------------------

    def run_task(self, task):
        """Run the IN_PROGRESS ``task`` and finish it."""
        try:
            hardware = objects.Hardware.get_by_uuid(
                self.context, task.hardware_uuid, deleted=True)
        except exception.HardwareNotFound:
            return
        details = {k: v for k, v in task.state_details.items()
                   if k not in ENGINE_KEYS}
        worker = self.workers.get(task.worker_type)
        if worker is None:
            task.finish(STATE.ERROR, dict(details, last_error=(
                'worker %s is not enabled on engine %s: add it to [worker] '
                'enabled_worker_types' % (task.worker_type, self.host))))
            return
        attempts = task.attempts + 1
        try:
            if hardware.deleted:
                result = worker.cleanup(self.context, hardware, details)
            else:
                windows = objects.AvailabilityWindow.list_for_hardware(
                    self.context, hardware.uuid)
                result = worker.process(self.context, hardware, windows,
                                        details)
        except base.Unavailable as e:
            result = base.WorkerResult.Defer(reason=str(e))
        except base.WorkerError as e:
            LOG.warning('Worker %(type)s failed on hardware %(hw)s: %(error)s',
                        {'type': task.worker_type, 'hw': hardware.uuid,
                         'error': e})
            task.finish(STATE.ERROR, dict(details, last_error=str(e)))
            return
        except Exception as e:
            LOG.debug('Worker %s raised', task.worker_type, exc_info=True)
            self._failed(task, hardware, details, attempts, e)
            return
        if isinstance(result, base.WorkerResult.Defer):
            LOG.info('Worker %(type)s deferred hardware %(hw)s (attempt '
                     '%(n)d): %(reason)s',
                     {'type': task.worker_type, 'hw': hardware.uuid,
                      'n': attempts, 'reason': result.reason})
            # Also as last_error: the only detail python-doniclient's
            # "hardware list --long" shows; the next run clears both.
            task.finish(STATE.PENDING,
                        dict(merge(details, result.payload),
                             defer_reason=result.reason,
                             last_error='Deferred: %s' % result.reason,
                             attempts=attempts),
                        not_before=self._later(attempts), attempts=attempts)
            return
        task.finish(STATE.STEADY, merge(details, result.payload))
        LOG.info('Worker %(type)s done with hardware %(hw)s%(deleted)s',
                 {'type': task.worker_type, 'hw': hardware.uuid,
                  'deleted': ' (cleaned up)' if hardware.deleted else ''})
        if hardware.deleted and task.state == STATE.STEADY:
            self._purge_if_clean(hardware)

    def _failed(self, task, hardware, details, attempts, error):
        details = dict(details, last_error='%s: %s' % (
            type(error).__name__, error), attempts=attempts)
        if attempts >= self.conf.worker.max_attempts:
            LOG.error('Worker %(type)s failed %(n)d times on hardware '
                      '%(hw)s, giving up: %(error)s',
                      {'type': task.worker_type, 'n': attempts,
                       'hw': hardware.uuid, 'error': error})
            task.finish(STATE.ERROR, details, attempts=attempts)
            return
        LOG.warning('Worker %(type)s failed on hardware %(hw)s (attempt '
                    '%(n)d of %(max)d): %(error)s',
                    {'type': task.worker_type, 'hw': hardware.uuid,
                     'n': attempts, 'max': self.conf.worker.max_attempts,
                     'error': error})
        task.finish(STATE.PENDING, details, not_before=self._later(attempts),
                    attempts=attempts)

    def _later(self, attempts):
        return timeutils.utcnow() + datetime.timedelta(
            seconds=backoff(self.conf, attempts))

    def _purge_if_clean(self, hardware):
        tasks = objects.WorkerTask.list_for_hardware(self.context,
                                                     hardware.uuid)
        if any(t.state != STATE.STEADY or t.requeue for t in tasks):
            return
        try:
            hardware.purge()
        except exception.HardwareNotFound:
            return
        LOG.info('Purged deleted hardware %(hw)s: every worker cleaned up',
                 {'hw': hardware.uuid})


class Endpoint:
    """The RPC endpoint the API casts to."""

    target = messaging.Target(version='1.0')

    def __init__(self, manager):
        self.manager = manager

    def process(self, ctxt, hardware_uuid):
        self.manager.process(hardware_uuid)


def rpc_server(conf, manager, transport=None):
    """The engine's RPC server on topic ``edge-enroll-worker`` (not
    started), on ``transport`` (default: ``conf``'s).  oslo.messaging
    reads its tracing options from the transport's configuration and
    registers them only on the global one: ``conf`` is that one in
    ``edge-enroll-worker``.
    """
    transport = transport or messaging.get_rpc_transport(conf)
    target = messaging.Target(topic=conf_worker.TOPIC, server=manager.host)
    return messaging.get_rpc_server(transport, target, [Endpoint(manager)],
                                    executor='threading')
