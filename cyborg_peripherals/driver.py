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

"""The Cyborg accelerator driver for peripherals (``peripheral_driver``).

This is the only module that imports Cyborg.  Each peripheral becomes a
``PERIPHERAL`` device with one deployable (one Placement resource
provider, inventory 1) and one ``OCI`` attach handle whose attach_info is
the contract's canonical string (see :mod:`cyborg_peripherals.contract`).

Cyborg's conductor matches devices by control-path id, deployables by
name and attach handles by the exact attach_info string, so all three
derive from the stable identity only; a re-plug under new kernel names
changes the CDI spec on the host and nothing that Cyborg stores.

The agent calls ``discover()`` about once a minute.  A udev monitor
keeps the inventory (and the CDI spec) current between calls, so
``discover()`` returns what it returned last time when nothing changed,
without touching udev.  A peripheral that disappears is still reported
for ``[peripherals] removal_grace_period`` seconds: if a report fell
between an unplug and the plug-back, Cyborg would otherwise delete and
re-create its deployable, provider and attach handle, in use or not.

An agent that takes drivers' change signals (``set_change_callback``,
tools/cyborg-patches) is also told after each change and when a grace
period ends, so that it reports within seconds, not at its next
periodic report.
"""

import json
import threading
import time

from cyborg.accelerator.drivers import driver as generic
from cyborg.conf import CONF
from cyborg.objects.driver_objects import driver_attach_handle
from cyborg.objects.driver_objects import driver_attribute
from cyborg.objects.driver_objects import driver_controlpath_id
from cyborg.objects.driver_objects import driver_deployable
from cyborg.objects.driver_objects import driver_device
from oslo_config import cfg
from oslo_log import log as logging

from cyborg_peripherals import conf as peripherals_conf_mod
from cyborg_peripherals import contract
from cyborg_peripherals.cdi import publisher as publisher_mod
from cyborg_peripherals.conf import peripherals as peripherals_conf
from cyborg_peripherals.discovery import hotplug
from cyborg_peripherals.discovery import inventory as inventory_mod


LOG = logging.getLogger(__name__)

DRIVER_NAME = 'peripheral'


def to_driver_device(peripheral):
    """One peripheral as Cyborg's driver objects."""
    attributes = [driver_attribute.DriverAttribute(
        key='rc', value=peripheral.resource_class)]
    attributes += [driver_attribute.DriverAttribute(key='trait%d' % i,
                                                    value=trait)
                   for i, trait in enumerate(peripheral.traits)]
    handle = driver_attach_handle.DriverAttachHandle(
        attach_type=contract.ATTACH_TYPE,
        attach_info=peripheral.attach_info.encode(),
        in_use=False)
    deployable = driver_deployable.DriverDeployable(
        name=peripheral.name, num_accelerators=1,
        driver_name=DRIVER_NAME, attribute_list=attributes,
        attach_handle_list=[handle])
    board = {'class': peripheral.device_class,
             'vendor_id': peripheral.vendor_id,
             'product_id': peripheral.product_id,
             'serial': peripheral.serial}
    return driver_device.DriverDevice(
        vendor=peripheral.vendor_id or 'unknown',
        model=peripheral.model or peripheral.product_id or
        peripheral.device_class,
        type=contract.DEVICE_TYPE,
        std_board_info=json.dumps(board, sort_keys=True),
        vendor_board_info=peripheral.vendor or '',
        stub=False,
        # The CDI device is unique per host and derived from the stable
        # identity only, which is what the conductor keys on; Cyborg
        # stores cpid_info as JSON (ControlpathID.cpid_info_obj).
        controlpath_id=driver_controlpath_id.DriverControlPathID(
            cpid_type=contract.CPID_TYPE,
            cpid_info=json.dumps(
                {'cdi_device': peripheral.attach_info.cdi_device})),
        deployable_list=[deployable])


class PeripheralDriver(generic.GenericDriver):
    """Reports the peripherals of this host to Cyborg."""

    def __init__(self, watcher=None):
        super().__init__()
        self._watcher = watcher
        self._lock = threading.Lock()
        self._reported = None
        self._devices = []
        self._current = ()
        # name -> (peripheral, when discover() first found it missing)
        self._vanished = {}
        self._change_callback = None
        # The thread starting the watcher, whose own changes need no signal
        self._starting = None
        # Asks for the report that ends a removal grace period
        self._follow_up = None

    def _make_watcher(self):
        classes = peripherals_conf.load_classes(peripherals_conf_mod.CONF)
        inv = inventory_mod.Inventory(classes, CONF.host)
        pub = publisher_mod.SpecPublisher.from_config(
            peripherals_conf_mod.CONF)
        return hotplug.Watcher(inv, publisher=pub, on_change=self._signal)

    def discover(self):
        with self._lock:
            try:
                # Started on first use, not when stevedore loads us.
                if self._watcher is None:
                    self._watcher = self._make_watcher()
                if not self._watcher.running:
                    self._start_watcher()
                peripherals = self._with_vanished(self._watcher.peripherals)
                self._schedule_follow_up()
            except (peripherals_conf.ConfigError, cfg.Error) as e:
                # The agent keeps running its other drivers; this one
                # reports what it last could until the file is fixed.
                LOG.error('Peripheral discovery is misconfigured: %s', e)
                return list(self._devices)
            if peripherals != self._reported:
                self._devices = [to_driver_device(p) for p in peripherals]
                self._reported = peripherals
                LOG.info('Reporting %d peripherals', len(self._devices))
            return list(self._devices)

    def set_change_callback(self, callback):
        """Have ``callback()`` called when discover() would report a change.

        Cyborg's agent calls this if it reports on drivers' signals (see
        tools/cyborg-patches); an agent that does not finds changes at its
        periodic report.
        """
        self._change_callback = callback

    def _signal(self, change=None):
        """Tell the agent if discover() would now report something new.

        Called by the watcher after each change, and at the end of grace
        periods.  A peripheral that has just disappeared is still
        reported, so its removal only counts once its grace period ends:
        an unplug and plug-back within it costs no report.
        """
        # The initial scan's changes are in the result of the discover()
        # call that starts the watcher: the watcher applies them on the
        # calling thread, which holds the lock, before discover() reads
        # them.
        if (self._change_callback is None or
                threading.get_ident() == self._starting):
            return
        with self._lock:
            peripherals = self._with_vanished(self._watcher.peripherals)
            self._schedule_follow_up()
            if peripherals == self._reported:
                return
        self._change_callback()

    def _start_watcher(self):
        self._starting = threading.get_ident()
        try:
            self._watcher.start()
        finally:
            self._starting = None

    def _schedule_follow_up(self):
        """Signal when the first removal grace period ends.

        Runs with the lock held, after each ``_with_vanished()``, which
        drops peripherals whose grace period has ended.
        """
        if self._follow_up is not None:
            self._follow_up.cancel()
            self._follow_up = None
        if self._change_callback is None or not self._vanished:
            return
        grace = peripherals_conf_mod.CONF.peripherals.removal_grace_period
        due = min(since for _per, since in self._vanished.values()) + grace
        self._follow_up = threading.Timer(max(0.0, due - time.monotonic()),
                                          self._signal)
        self._follow_up.daemon = True
        self._follow_up.start()

    def _with_vanished(self, current):
        """``current`` plus peripherals gone for less than the grace."""
        now = time.monotonic()
        grace = peripherals_conf_mod.CONF.peripherals.removal_grace_period
        names = {p.name for p in current}
        for per in self._current:
            if per.name not in names and per.name not in self._vanished:
                self._vanished[per.name] = (per, now)
        self._current = tuple(current)
        self._vanished = {
            name: (per, since)
            for name, (per, since) in self._vanished.items()
            if name not in names and now - since < grace}
        if not self._vanished:
            return list(current)
        kept = [per for per, _since in self._vanished.values()]
        LOG.info('Still reporting %d peripherals that disappeared less than '
                 '%d s ago', len(kept), grace)
        return sorted(list(current) + kept, key=lambda p: p.name)

    def update(self, control_path, image_path):
        # Peripherals have no programmable image.
        return False

    def get_stats(self):
        with self._lock:
            return {'peripherals': len(self._reported or ())}
