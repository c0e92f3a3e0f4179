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

"""The hub agent: one WireGuard interface per hub port of this host.

Neutron is the only record.  A hub is synced by reading its port and
its network's spokes, planning the fewest changes against what the
interface has (``plan``) and applying them through privsep; then the
hub's public key and endpoint are written into its port's
``binding:profile`` if they differ.  What to sync comes from Neutron's
port notifications (within seconds of a change) and from a full
re-sync at start and every ``[hub] resync_interval`` seconds, which
also removes interfaces and keys of hubs that are gone.  One worker
thread syncs; notifications only name hubs for it, coalesced.

Where each device was last heard from is kept in the state directory
at every sync and every ``[hub] endpoint_record_interval`` seconds: an
interface rebuilt after a crash or reboot starts the handshakes itself
(``plan``), and devices are back within seconds.

The tenant overlay's relay (``edge_channels.hub.overlay``) is synced
in the same thread: after every full sync, after hub syncs (a spoke
gone leaves its VNIs) and on notifications of ports bound with VXLAN
details.
"""

import threading
import time

from oslo_log import log as logging

from edge_channels import channel
from edge_channels import naming
from edge_channels.agent import plan as plan_mod
from edge_channels.agent import state as state_mod
from edge_channels.hub import overlay as hub_overlay


LOG = logging.getLogger(__name__)
#: Seconds before a failed sync is tried again (a full re-sync).
RETRY_INTERVAL = 10


class HubAgent:

    def __init__(self, conf, neutron, privileged):
        self.host = conf.hub.host
        self.endpoint_address = conf.hub.endpoint_address
        self.resync_interval = conf.hub.resync_interval
        self.record_interval = conf.hub.endpoint_record_interval
        self.neutron = neutron
        self.priv = privileged
        self.state = state_mod.HubState(conf.hub.state_dir,
                                        conf.hub.listen_port_range)
        self._cond = threading.Condition()
        self._pending = set()
        self._full_at = 0.0  # a full re-sync first
        self._record_at = time.monotonic() + self.record_interval
        self._stopped = False
        #: hub ID -> spoke IDs applied; spoke ID -> hub IDs.
        self._hubs = {}
        self._spoke_hubs = {}
        #: Whether the overlay's relay waits for a sync; the IDs of the
        #: ports bound with VXLAN details at the last one.
        self._overlay = False
        self._overlay_ports = set()

    # What to sync ---------------------------------------------------

    def request(self, hub_ids):
        with self._cond:
            self._pending.update(hub_ids)
            self._cond.notify()

    def request_full(self, delay=0):
        with self._cond:
            self._full_at = min(self._full_at, time.monotonic() + delay)
            self._cond.notify()

    def request_overlay(self):
        with self._cond:
            self._overlay = True
            self._cond.notify()

    def stop(self):
        with self._cond:
            self._stopped = True
            self._cond.notify()

    def hubs_of_event(self, event_type, payload):
        """The hubs a port notification may change."""
        hubs = set()
        for port, port_id in _ports_of(payload):
            with self._cond:
                hubs.update(self._spoke_hubs.get(port_id, ()))
                if port_id in self._hubs:
                    hubs.add(port_id)
            owner = port.get('device_owner')
            if owner == channel.DEVICE_OWNER_HUB:
                # Whether it is ours, the sync reads from Neutron.
                hubs.add(port_id)
            elif owner == channel.DEVICE_OWNER_SPOKE:
                peers = (port.get('binding:profile') or {}).get(
                    channel.PROFILE_PEERS)
                if isinstance(peers, list):
                    hubs.update(p for p in peers if isinstance(p, str))
        return {h for h in hubs if h}

    def overlay_of_event(self, event_type, payload):
        """Whether a port notification may change the overlay's relay:
        a port bound with VXLAN details, or one that was at the last
        sync (a delete names only the ID).
        """
        for port, port_id in _ports_of(payload):
            if hub_overlay.is_overlay_port(port):
                return True
            with self._cond:
                if port_id in self._overlay_ports:
                    return True
        return False

    # Syncing --------------------------------------------------------

    def run(self):
        """Sync until ``stop``."""
        while True:
            with self._cond:
                while not self._stopped and not self._pending and \
                        not self._overlay and \
                        time.monotonic() < min(self._full_at,
                                               self._record_at):
                    self._cond.wait(min(self._full_at, self._record_at) -
                                    time.monotonic())
                if self._stopped:
                    return
                now = time.monotonic()
                full = now >= self._full_at
                if full:
                    self._full_at = now + self.resync_interval
                    self._pending.clear()
                record = now >= self._record_at
                if record:
                    self._record_at = now + self.record_interval
                pending, self._pending = self._pending, set()
                overlay, self._overlay = self._overlay, False
            try:
                if full:
                    self.sync_all()
                for hub_id in sorted(pending):
                    self.sync_hub(hub_id)
                if not full and (pending or overlay):
                    self.sync_overlay()
                if record and not full:
                    self.record_endpoints()
            except Exception:
                if self._stopped:
                    # The privsep daemon may have been stopped with us.
                    LOG.info('Sync interrupted by the stop')
                    return
                LOG.exception('Sync failed; a full re-sync follows in %d '
                              'seconds', RETRY_INTERVAL)
                self.request_full(RETRY_INTERVAL)

    def sync_all(self):
        start = time.monotonic()
        hubs = self.neutron.hubs(self.host)
        by_network = {}
        for hub in hubs:
            if hub['network_id'] not in by_network:
                by_network[hub['network_id']] = self.neutron.spokes(
                    hub['network_id'])
            self._sync(hub, by_network[hub['network_id']])
        ours = {hub['id'] for hub in hubs}
        for name in self.priv.list_devices():
            if name not in {naming.wireguard_device(h) for h in ours}:
                LOG.info('Removing interface %s: its hub is gone', name)
                self.priv.delete_device(name)
        for hub_id in self.state.hubs():
            if hub_id not in ours:
                self._teardown(hub_id)
        self.sync_overlay()
        LOG.info('Full re-sync of %d hubs in %.3f s', len(hubs),
                 time.monotonic() - start)

    def record_endpoints(self):
        """Keep where the devices of each synced hub were heard from."""
        with self._cond:
            hub_ids = sorted(self._hubs)
        for hub_id in hub_ids:
            seen = self.priv.peer_endpoints(hub_id)
            if seen is not None:
                self._keep_endpoints(hub_id, seen, seen)

    def _keep_endpoints(self, hub_id, seen, keys):
        learned = plan_mod.learned_endpoints(self.state.endpoints(hub_id),
                                             seen, keys)
        if self.state.keep_endpoints(hub_id, learned):
            LOG.debug('Hub %(hub)s: kept the endpoints of %(n)d devices',
                      {'hub': hub_id, 'n': len(learned)})
        return learned

    def sync_overlay(self):
        """Sync the tenant overlay's relay with Neutron."""
        start = time.monotonic()
        seen = set()
        want, changes = hub_overlay.sync(self.neutron, self.host,
                                         self._apply_overlay, seen)
        with self._cond:
            self._overlay_ports = seen
        if changes:
            LOG.info('Overlay relay: %(n)d changes in %(t).3f s; VNIs '
                     '%(vnis)s', {'n': changes,
                                  't': time.monotonic() - start,
                                  'vnis': {k: sorted(v)
                                           for k, v in want.items()}})

    def _apply_overlay(self, want):
        return self.priv.apply_overlay(
            [[vni, sorted(ips)] for vni, ips in sorted(want.items())])

    def sync_hub(self, hub_id):
        hub = self.neutron.port(hub_id)
        if (hub is None or hub.get('device_owner') !=
                channel.DEVICE_OWNER_HUB or
                hub.get('binding:host_id') != self.host):
            if hub_id in self._hubs or hub_id in self.state.hubs():
                self._teardown(hub_id)
            return
        self._sync(hub, self.neutron.spokes(hub['network_id']))

    def _sync(self, hub, network_spokes):
        start = time.monotonic()
        hub_id = hub['id']
        public_key = self.state.public_key(hub_id)
        listen_port = self.state.listen_port(hub_id)
        created, backend, device_key = self.priv.ensure_device(
            hub_id, listen_port)
        if created:
            LOG.info('Hub %(hub)s: created interface %(dev)s (%(backend)s) '
                     'on UDP port %(port)d',
                     {'hub': hub_id, 'dev': naming.wireguard_device(hub_id),
                      'backend': backend, 'port': listen_port})
        if device_key != public_key:
            raise RuntimeError('hub %s: interface has public key %s, its '
                               'key file gives %s' % (hub_id, device_key,
                                                      public_key))
        spokes = plan_mod.spokes_of(hub_id, network_spokes)
        want = plan_mod.desired(hub, spokes, public_key)
        have = self.priv.device_state(hub_id)
        learned = self._keep_endpoints(
            hub_id, {k: p['endpoint'] for k, p in have['peers'].items()},
            want.peers)
        want = plan_mod.with_learned(want, learned)
        ops = plan_mod.plan(want, plan_mod.Actual(
            addresses=frozenset(have['addresses']),
            peers={k: frozenset(v['allowed_ips'])
                   for k, v in have['peers'].items()},
            routes=frozenset(have['routes'])))
        if ops:
            self.priv.apply(hub_id, ops)
            LOG.info('Hub %(hub)s: applied %(n)d operations (%(ops)s) in '
                     '%(t).3f s',
                     {'hub': hub_id, 'n': len(ops), 't':
                      time.monotonic() - start,
                      'ops': ', '.join(sorted({op[0] for op in ops}))})
            started = sum(1 for op in ops
                          if op[0] == plan_mod.PEER_SET and op[3])
            if started:
                LOG.info('Hub %(hub)s: started handshakes to %(n)d devices '
                         'at their last known endpoints',
                         {'hub': hub_id, 'n': started})
        with self._cond:
            for spoke_id in self._hubs.get(hub_id, ()):
                self._spoke_hubs.get(spoke_id, set()).discard(hub_id)
            self._hubs[hub_id] = {s['id'] for s in spokes}
            for spoke in spokes:
                self._spoke_hubs.setdefault(spoke['id'], set()).add(hub_id)
        endpoint = channel.format_endpoint(self.endpoint_address,
                                           listen_port)
        profile = hub.get('binding:profile') or {}
        if (profile.get(channel.PROFILE_PUBLIC_KEY) != public_key or
                profile.get(channel.PROFILE_ENDPOINT) != endpoint):
            self.neutron.report(hub_id, public_key, endpoint)
            LOG.info('Hub %(hub)s: reported public key %(key)s, endpoint '
                     '%(endpoint)s', {'hub': hub_id, 'key': public_key,
                                      'endpoint': endpoint})

    def _teardown(self, hub_id):
        LOG.info('Hub %s is gone from this host: removing its interface '
                 'and key', hub_id)
        self.priv.delete_device(naming.wireguard_device(hub_id))
        self.state.forget(hub_id)
        with self._cond:
            for spoke_id in self._hubs.pop(hub_id, ()):
                self._spoke_hubs.get(spoke_id, set()).discard(hub_id)


def _ports_of(payload):
    """(port, port ID) of each port a notification names: one port, the
    ports of a bulk create (one notification for all), or a deleted
    port's ID alone.
    """
    ports = payload.get('ports')
    if not isinstance(ports, list):
        ports = [payload.get('port') or {}]
    found = []
    for port in ports:
        if not isinstance(port, dict):
            continue
        port_id = port.get('id') or payload.get('port_id')
        found.append((port, port_id))
    return found
