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
import json
import os
import queue
import shutil
import time
import unittest
import uuid
from importlib import metadata

import fixtures
import oslo_messaging
from oslo_config import cfg
from oslotest import base as oslo_base
from testtools import content

from aio import controlplane
from aio import edge
from aio import netns
from aio import neutron as neutron_mod
from aio import service


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
        cls.addClassCleanup(cls.plane.stop_or_raise)
        cls.neutron = cls.plane.neutron.client()

    def attach_on_failure(self, *paths):
        """If the test fails, attach the files at ``paths`` that exist
        (read then), each under its base name.
        """
        def attach(exc_info):
            for path in paths:
                if os.path.exists(path):
                    self.addDetail(os.path.basename(path),
                                   content.content_from_file(
                                       path, buffer_now=True))
        self.addOnException(attach)

    def add_figures(self, label, figures, extra=''):
        """Attach ``figures`` (a dict, as JSON, then ``extra``) and print
        them under ``label``.
        """
        text = json.dumps(figures, sort_keys=True) + extra
        self.addDetail('figures', content.text_content(text))
        print('%s figures: %s' % (label, text))

    @classmethod
    def start_root_hub_agent(cls):
        """``cls.hub``: the cloud's hub agent in the root namespace (one
        per machine; see .stestr.conf), stopped at the class's clean-up
        with the interfaces and relay it made.
        """
        cls.hub = edge.HubAgent(cls.plane.workdir, cls.plane.logs,
                                cls.plane.keystone, cls.plane.transport_url)
        cls.hub.setup()
        cls.addClassCleanup(cls._stop_hub)
        cls.hub.start(cls.plane.track)

    @classmethod
    def _stop_hub(cls):
        errors = cls.hub.stop()
        if errors:
            raise RuntimeError('hub clean-up: %s' % '; '.join(errors))


def require_tools(*tools):
    """Fail, naming the missing programs, unless all of ``tools`` are on
    the PATH: tools/setup-env installs every one, so a missing one is a
    missing install step, not a reason to skip.
    """
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        raise RuntimeError('%s not found: run tools/setup-env, which '
                           'installs them' % ', '.join(missing))


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


def wait(what, predicate, timeout, start=None, interval=0.1):
    """Seconds (to the ms) from ``start`` (a ``time.monotonic()``;
    default now) until ``predicate()`` is true; fails after ``timeout``.
    """
    start = time.monotonic() if start is None else start
    service.wait_for(what, predicate, timeout - (time.monotonic() - start),
                     interval)
    return round(time.monotonic() - start, 3)


class HubAndDevice(fixtures.Fixture):
    """A hub namespace and a device namespace (``aio.netns``) joined by
    a veth pair: the hub at ``HUB_UNDERLAY``, the device at
    ``DEVICE_UNDERLAY``.  Both are removed with every process in them
    and the WireGuard control sockets of ``wireguard_names``.
    """

    HUB_UNDERLAY = '192.168.231.1'
    DEVICE_UNDERLAY = '192.168.231.2'

    def _setUp(self):
        tag = uuid.uuid4().hex[:6]
        self.hub_ns = netns.Namespace('h3hub-' + tag)
        self.dev_ns = netns.Namespace('h3dev-' + tag)
        #: WireGuard interfaces made in either (by an agent or a test).
        self.wireguard_names = set()
        for ns in (self.hub_ns, self.dev_ns):
            ns.wireguard_names = self.wireguard_names
            self.addCleanup(self._remove, ns)
            ns.add()
        self.hub, self.dev = self.hub_ns.name, self.dev_ns.name
        netns.run(['ip', 'link', 'add', 'h3h' + tag, 'netns', self.hub,
                   'type', 'veth', 'peer', 'name', 'h3d' + tag, 'netns',
                   self.dev])
        for ns, link, addr in (
                (self.hub_ns, 'h3h' + tag, self.HUB_UNDERLAY),
                (self.dev_ns, 'h3d' + tag, self.DEVICE_UNDERLAY)):
            ns.run(['ip', 'addr', 'add', addr + '/24', 'dev', link])
            ns.run(['ip', 'link', 'set', link, 'up'])

    @staticmethod
    def _remove(ns):
        errors = ns.remove()
        if errors:
            raise RuntimeError('; '.join(errors))

    def in_hub(self, *args, check=True, **kw):
        return self.hub_ns.run(args, check=check, **kw)

    def in_dev(self, *args, check=True, **kw):
        return self.dev_ns.run(args, check=check, **kw)

    def pings(self, address):
        return self.in_dev('ping', '-n', '-c', '1', '-W', '1', address,
                           check=False).returncode == 0


def forward(test, ns, ports):
    """``aio.netns.Forwarder`` into ``ns`` (a Namespace) for ``ports``,
    closed at ``test``'s clean-up.
    """
    forwarder = netns.Forwarder(ns.path, ports)
    test.addCleanup(forwarder.close)
    return forwarder.start()


def hub_agent(test, plane, work, ns, host, port_range, **options):
    """``aio.edge.HubAgent`` in namespace ``ns`` with its endpoint on the
    hub's underlay, set up, started without waiting, stopped at
    ``test``'s clean-up (its interfaces removed).  The caller forwards
    Keystone, Neutron and RabbitMQ into ``ns``.
    """
    agent = edge.HubAgent(work, work, plane.keystone, plane.transport_url,
                          host=host, port_range=port_range,
                          endpoint=HubAndDevice.HUB_UNDERLAY, namespace=ns,
                          options=options)
    agent.setup()

    def stop():
        errors = agent.stop()
        if errors:
            raise RuntimeError('hub agent clean-up: %s' % '; '.join(errors))

    test.addCleanup(stop)
    agent.start(wait=False)
    return agent
