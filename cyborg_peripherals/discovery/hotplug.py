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
"""

import dataclasses
import threading

import pyudev
from oslo_log import log as logging


LOG = logging.getLogger(__name__)


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

    @property
    def peripherals(self):
        with self._lock:
            return list(self._peripherals)

    def _commit(self, peripherals):
        """Record a new state; runs with the lock held."""
        change = diff(self._peripherals, peripherals)
        self._peripherals = peripherals
        if self.publisher is not None:
            self.publisher.publish(peripherals)
        return change

    def _notify(self, change):
        if change and self.on_change is not None:
            try:
                self.on_change(change)
            except Exception:
                LOG.exception('Hot-plug callback failed')

    def rescan(self):
        with self._lock:
            change = self._commit(self.inventory.scan(self.context))
        self._notify(change)
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
        if change:
            LOG.info('Hot-plug %(action)s %(path)s: %(n_add)d added, '
                     '%(n_rm)d removed, %(n_up)d updated',
                     {'action': device.action, 'path': device.sys_path,
                      'n_add': len(change.added),
                      'n_rm': len(change.removed),
                      'n_up': len(change.updated)})
        self._notify(change)
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
        """Wait up to ``timeout`` seconds for one event and apply it."""
        try:
            device = self._monitor.poll(timeout=timeout)
        except OSError as e:
            # ENOBUFS: the kernel dropped events; only a rescan is exact.
            LOG.warning('udev monitor lost events (%s); rescanning', e)
            self.rescan()
            return None
        if device is None:
            return None
        return self.handle(device)

    def _run(self):
        while not self._stop.is_set():
            try:
                self.poll_once(0.5)
            except Exception:
                LOG.exception('Unexpected error handling a udev event')
