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

"""One control plane per test class: Keystone and Neutron (ML2 with
``edge_bridge`` and ``edge_channel``, notifications on the plane's
RabbitMQ virtual host), started by ``aio.controlplane``.

Needs root, MariaDB and RabbitMQ (tools/start-services).
"""

import importlib.util
import os
import queue
import time
import unittest
from importlib import metadata

import fixtures
import oslo_messaging
from oslo_config import cfg
from oslotest import base as oslo_base

from aio import controlplane
from aio import neutron as neutron_mod


class ChannelsTestCase(oslo_base.BaseTestCase):
    """``cls.plane``: the class's ``aio.controlplane.ControlPlane``;
    ``cls.neutron``: Neutron's API (``/v2.0``) as the admin.

    A subclass may change ``MECHANISM_DRIVERS`` and add ControlPlane
    arguments in ``PLANE_OPTIONS`` (``users``, ``neutron_config``,
    ``placement`` ...).
    """

    MECHANISM_DRIVERS = ('edge_bridge', 'edge_channel')
    PLANE_OPTIONS = {}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if os.geteuid() != 0:
            raise unittest.SkipTest(
                'the channels suite starts Neutron on MariaDB and '
                'RabbitMQ and changes network interfaces: run it as '
                'root (tools/run-tests channels)')
        _check_drivers(cls.MECHANISM_DRIVERS)
        cls.plane = controlplane.ControlPlane(
            'channels', neutron=True,
            mechanism_drivers=cls.MECHANISM_DRIVERS, **cls.PLANE_OPTIONS)
        # start() removes what it made if it fails.
        cls.plane.start()
        cls.addClassCleanup(cls._stop_plane)
        cls.neutron = cls.plane.neutron.client()

    @classmethod
    def _stop_plane(cls):
        errors = cls.plane.stop()
        if errors:
            raise RuntimeError('control plane clean-up: %s (logs in %s)'
                               % ('; '.join(errors), cls.plane.logs))


def _check_drivers(names):
    """Fail at once, not in Neutron's log, for a mechanism driver that
    cannot load.
    """
    found = {ep.name: ep.value for ep in metadata.entry_points(
        group='neutron.ml2.mechanism_drivers')}
    for name in names:
        if name not in found:
            raise RuntimeError(
                'no ML2 mechanism driver %s: declare it in setup.cfg '
                '(neutron.ml2.mechanism_drivers) and reinstall '
                '(tools/setup-env)' % name)
        module = found[name].split(':')[0]
        if importlib.util.find_spec(module) is None:
            raise RuntimeError(
                'ML2 mechanism driver %s: its module %s does not exist'
                % (name, module))


class _Collector:
    def __init__(self, events):
        self.events = events

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        self.events.put((event_type, payload))


class PortEvents(fixtures.Fixture):
    """Neutron's notifications on ``plane``'s virtual host, heard in a
    pool of this fixture's own (so other listeners hear them too).
    """

    def __init__(self, plane):
        super().__init__()
        self.plane = plane
        self.events = queue.Queue()

    def _setUp(self):
        conf = cfg.ConfigOpts()
        conf([], project='channels-tests', default_config_files=[])
        transport = oslo_messaging.get_notification_transport(
            conf, url=self.plane.transport_url)
        self.addCleanup(transport.cleanup)
        target = oslo_messaging.Target(
            exchange=neutron_mod.NOTIFICATION_EXCHANGE,
            topic=neutron_mod.NOTIFICATION_TOPIC)
        listener = oslo_messaging.get_notification_listener(
            transport, [target], [_Collector(self.events)],
            executor='threading', pool='channels-tests-%s' % id(self))
        listener.start()
        self.addCleanup(listener.wait)
        self.addCleanup(listener.stop)

    def wait_for(self, event_type, port_id, timeout=30):
        """The payload of the first ``event_type`` notification about
        port ``port_id``; earlier ones of other ports are dropped.
        """
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError('no %s of port %s within %d seconds'
                                     % (event_type, port_id, timeout))
            try:
                kind, payload = self.events.get(timeout=left)
            except queue.Empty:
                continue
            port = payload.get('port') or {}
            if kind == event_type and port_id in (
                    port.get('id'), payload.get('port_id')):
                return payload
