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

"""Keeping the inventory current as devices come and go.

A udev monitor feeds single-device updates into the :class:`Inventory`;
peripherals are re-assembled in memory and the CDI spec is rewritten only
if it changed.  The monitor is listening before the initial scan, so no
event between the scan and the first poll is lost; if the kernel drops
events (socket overflow), the watcher falls back to a full rescan.

The state the watcher reports changes only once the CDI spec says the
same; a spec that could not be written is written again, from a fresh
scan and with backoff, until it is.  Unexpected errors are retried with
backoff too, so a persistent fault costs a few log lines a minute, not a
busy loop.

The thread waits for events with ``select.select`` on the monitor's
socket, not with pyudev's ``Monitor.poll``: that needs ``select.poll``,
which eventlet's monkey patching removes (Cyborg agents before 17 run
under eventlet), whereas a patched ``select.select`` cooperates with the
agent's other green threads.
"""

import dataclasses
import errno
import select
import threading
import time

import pyudev
from oslo_log import log as logging


LOG = logging.getLogger(__name__)

# Seconds the thread waits for an event before checking whether it must
# stop or retry.
POLL_INTERVAL = 0.5
# Retries after a failure wait FIRST_RETRY seconds, doubling up to
# MAX_RETRY.
FIRST_RETRY = 0.5
MAX_RETRY = 60.0


def backoff(failures):
    """Seconds to wait after ``failures`` failures in a row (>= 1)."""
    return min(MAX_RETRY, FIRST_RETRY * 2 ** min(failures - 1, 16))


@dataclasses.dataclass(frozen=True)
class Change:
    """What one update changed, by peripheral name."""

    added: tuple = ()
    removed: tuple = ()
    updated: tuple = ()

    def __bool__(self):
        return bool(self.added or self.removed or self.updated)


def diff(old, new):
    old_by = {p.name: p for p in old}
    new_by = {p.name: p for p in new}
    return Change(
        added=tuple(new_by[n] for n in sorted(set(new_by) - set(old_by))),
        removed=tuple(old_by[n] for n in sorted(set(old_by) - set(new_by))),
        updated=tuple(new_by[n] for n in sorted(set(old_by) & set(new_by))
                      if old_by[n] != new_by[n]))


class Watcher:
    """Owns an inventory and keeps it, and the CDI spec, up to date."""

    def __init__(self, inventory, context=None, publisher=None,
                 on_change=None):
        self.inventory = inventory
        self.context = context or pyudev.Context()
        self.publisher = publisher
        self.on_change = on_change
        self._lock = threading.Lock()
        self._peripherals = []
        self._monitor = None
        self._thread = None
        self._stop = threading.Event()
        self._publish_failures = 0
        # time.monotonic() at which to publish again after a failure.
        self._retry_at = None

    @property
    def peripherals(self):
        with self._lock:
            return list(self._peripherals)

    def _commit(self, peripherals):
        """Publish a new state, then record it; runs with the lock held.

        On failure the previous state stands (it is what the spec still
        says) and a retry is scheduled: reporting a device whose spec
        entry is missing, or dropping one whose entry is still there,
        would hand out devices containers cannot get or keep giving them
        unplugged ones.
        """
        if self.publisher is not None:
            try:
                self.publisher.publish(peripherals)
            except Exception as e:
                self._publish_failures += 1
                delay = backoff(self._publish_failures)
                self._retry_at = time.monotonic() + delay
                # One traceback, then one line per (backed-off) attempt.
                LOG.error('Could not update the CDI spec (attempt %(n)d), '
                          'retrying in %(delay).1f s: %(error)s',
                          {'n': self._publish_failures, 'delay': delay,
                           'error': e},
                          exc_info=self._publish_failures == 1)
                return Change()
            if self._publish_failures:
                LOG.info('Updated the CDI spec after %d failed attempts',
                         self._publish_failures)
        self._publish_failures = 0
        self._retry_at = None
        change = diff(self._peripherals, peripherals)
        self._peripherals = peripherals
        return change

    def listen(self, on_change):
        """Call ``on_change`` with every change from now on; returns the
        peripherals as they are now, which include every earlier change.
        """
        with self._lock:
            self.on_change = on_change
            return list(self._peripherals)

    @staticmethod
    def _notify(change, on_change):
        """Tell ``on_change``, the callback when ``change`` was committed
        (read under the lock, so that ``listen`` neither misses a change
        nor repeats one its snapshot holds).
        """
        if change and on_change is not None:
            try:
                on_change(change)
            except Exception:
                LOG.exception('Hot-plug callback failed')

    def rescan(self):
        with self._lock:
            change = self._commit(self.inventory.scan(self.context))
            on_change = self.on_change
        self._notify(change, on_change)
        return change

    def retry_publish(self):
        """Publish again, from a rescan, if a failed publish is due.

        The nodes' numbers, owners and modes were read when their
        devices were added: a node changed or removed without an event
        reaching us makes the spec refused, and resending it would fail
        forever.
        """
        with self._lock:
            if self._retry_at is None or time.monotonic() < self._retry_at:
                return Change()
            change = self._commit(self.inventory.scan(self.context))
            on_change = self.on_change
        self._notify(change, on_change)
        return change

    def handle(self, device):
        """Apply one udev event."""
        with self._lock:
            if device.action == 'remove':
                relevant = self.inventory.remove(device.sys_path)
            else:
                relevant = self.inventory.add(device)
            if not relevant:
                return Change()
            change = self._commit(self.inventory.peripherals())
            on_change = self.on_change
        if change:
            LOG.info('Hot-plug %(action)s %(path)s: %(n_add)d added, '
                     '%(n_rm)d removed, %(n_up)d updated',
                     {'action': device.action, 'path': device.sys_path,
                      'n_add': len(change.added),
                      'n_rm': len(change.removed),
                      'n_up': len(change.updated)})
        self._notify(change, on_change)
        return change

    @property
    def running(self):
        return self._thread is not None and self._thread.is_alive()

    def start(self):
        """Start listening, scan, and follow events in a thread."""
        monitor = pyudev.Monitor.from_netlink(self.context)
        for subsystem in self.inventory.subsystems:
            monitor.filter_by(subsystem)
        monitor.start()
        self._monitor = monitor
        self.rescan()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run,
                                        name='peripheral-hotplug',
                                        daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def poll_once(self, timeout):
        """Wait up to ``timeout`` seconds for one event and apply it.

        Only for a watcher that was started and then stopped (or for a
        caller that owns the monitor): two readers of one monitor would
        each see some of the events.
        """
        ready, _w, _x = select.select([self._monitor], [], [], timeout)
        if not ready:
            return None
        try:
            # What Monitor.poll calls once the socket is readable.
            device = self._monitor._receive_device()
        except OSError as e:
            if e.errno != errno.ENOBUFS:
                raise
            # The kernel dropped events; only a rescan is exact.
            LOG.warning('udev monitor lost events (%s); rescanning', e)
            self.rescan()
            return None
        if device is None:
            return None
        return self.handle(device)

    def _timeout(self):
        retry_at = self._retry_at
        if retry_at is None:
            return POLL_INTERVAL
        return max(0.0, min(POLL_INTERVAL, retry_at - time.monotonic()))

    def _run(self):
        failures = 0
        while not self._stop.is_set():
            try:
                if failures:
                    # Events may have been lost while failing.
                    self.rescan()
                self.retry_publish()
                self.poll_once(self._timeout())
                failures = 0
            except Exception:
                failures += 1
                delay = backoff(failures)
                LOG.exception('Unexpected error following udev events '
                              '(%(n)d in a row); retrying in %(delay).1f s',
                              {'n': failures, 'delay': delay})
                self._stop.wait(delay)
