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

"""What ``edge-sdk`` does: keep this device's channels and interfaces
in step with the channel API.

The library functions take plain values so that other programs (an
enrollment agent, tests) can drive them: ``apply`` brings one channel
representation up on its interface; ``up``, ``rotate_key``, ``down``,
``status`` and ``run`` add the keys and the channel API around it.

Where the channels come from: a device on its own finds and makes them
by name in the channel API (``DirectChannels``, around a
``ChannelClient``); a device enrolled with ``edge-sdk register`` finds
them through its hardware item in the enrollment service, whose worker
makes them (``edge_sdk.enrollment.EnrolledChannels``).  The functions
take either (a bare ``ChannelClient`` is a ``DirectChannels``).
"""

import re
import socket
import threading
import time

from oslo_log import log as logging

from edge_channels import channel as channel_contract
from edge_sdk import client as client_mod
from edge_sdk import enrollment
from edge_sdk import keys
from edge_sdk import privileged
from edge_sdk import wireguard


LOG = logging.getLogger(__name__)
_DEVICE_NAME = re.compile(r'[A-Za-z0-9][A-Za-z0-9._-]{0,62}')


class Settings:
    """The options ``edge-sdk`` works with (``[edge_sdk]`` values)."""

    def __init__(self, state_dir, channels=('control', 'tenant'),
                 channel_subnets=None, persistent_keepalive=25,
                 poll_interval=10.0, endpoint=None, handshake_wait=0.0,
                 device_name=None):
        self.state_dir = state_dir
        device_name = device_name or socket.gethostname()
        if not _DEVICE_NAME.fullmatch(device_name):
            raise ValueError('device name %r: 1 to 63 letters, digits, '
                             '".", "-" or "_"; set [edge_sdk] device_name'
                             % (device_name,))
        self.device_name = device_name
        self.channels = [keys.check_name(n) for n in channels]
        if len(set(self.channels)) != len(self.channels):
            raise ValueError('channel names repeat in %s: give each '
                             'once' % ', '.join(self.channels))
        self.channel_subnets = dict(channel_subnets or {})
        unknown = sorted(set(self.channel_subnets) - set(self.channels))
        if unknown:
            raise ValueError('channel_subnets names %s, which are not in '
                             'channels: add them to channels or remove '
                             'them' % ', '.join(unknown))
        self.keepalive = persistent_keepalive
        self.poll_interval = poll_interval
        self.handshake_wait = handshake_wait if persistent_keepalive else 0
        self.endpoint = (channel_contract.validate_endpoint(endpoint)
                         if endpoint else None)

    @classmethod
    def from_conf(cls, group, state_dir=None):
        return cls(state_dir or group.state_dir, group.channels,
                   group.channel_subnets, group.persistent_keepalive,
                   group.poll_interval, group.endpoint,
                   group.handshake_wait, group.device_name)

    def api_name(self, name):
        """The name of channel ``name`` in the channel API."""
        return '%s-%s' % (self.device_name, name)


def apply(name, channel, private_key, keepalive, handshake_wait=0.0):
    """Bring channel ``name`` (its API representation, untrusted) up on
    ``ec-<name>`` with ``private_key``.  Returns the ``Tunnel`` applied.

    Raises ``wireguard.InvalidChannel`` / ``ChannelNotReady`` before
    touching the interface when the representation cannot be used.
    With ``handshake_wait``, waits that long for a handshake with every
    hub (see ``settle``).
    """
    tunnel = wireguard.tunnel_from_channel(name, channel, keepalive)
    if configured(tunnel, keys.public_key(private_key)):
        # Already so (edge-sdk run after up, up run twice): applying it
        # again would only drop the sessions.
        LOG.debug('Channel %s is configured already', name)
        return tunnel
    since = int(time.time())
    privileged.create_interface(tunnel.ifname)
    privileged.configure(wireguard.tunnel_to_dict(tunnel), private_key)
    privileged.set_address(tunnel.ifname, str(tunnel.address))
    privileged.set_up(tunnel.ifname)
    if handshake_wait and keepalive:
        settle(tunnel, private_key, since, handshake_wait)
    LOG.info('Channel %(name)s up on %(ifname)s as %(address)s, hubs '
             '%(hubs)s', {'name': name, 'ifname': tunnel.ifname,
                          'address': tunnel.address,
                          'hubs': ', '.join(p.endpoint or '?'
                                            for p in tunnel.peers)})
    return tunnel


def configured(tunnel, public_key):
    """Whether ``tunnel.ifname`` is up with exactly ``tunnel``'s hubs
    and address and the private key of ``public_key``.
    """
    shown = privileged.show(tunnel.ifname)
    if not shown or not shown['up'] or \
            shown['public_key'] != public_key or \
            list(shown['addresses']) != [str(tunnel.address)]:
        return False
    have = sorted((p['public_key'], p['endpoint'],
                   tuple(p['allowed_ips']), p['keepalive'])
                  for p in shown['peers'])
    want = sorted((p.public_key, p.endpoint, (str(p.allowed_ips),),
                   p.keepalive) for p in tunnel.peers)
    return have == want


def _handshaken(tunnel, since):
    shown = privileged.show(tunnel.ifname)
    done = {p['public_key'] for p in (shown or {}).get('peers', ())
            if p['latest_handshake'] >= since}
    return done >= {p.public_key for p in tunnel.peers}


def settle(tunnel, private_key, since, timeout, retry=1.0):
    """Wait until every hub of ``tunnel`` has made a handshake at or
    after ``since`` (Unix seconds); meanwhile apply the configuration
    again every ``retry`` seconds.

    ``wg setconf`` makes the peers anew, and with a keepalive a new
    peer starts a handshake at once: a hub that had not yet been told
    the device's key (a rotation, a new channel) answers within a
    second of learning it, instead of at WireGuard's next retry five
    seconds later.  Returns whether the handshakes happened.
    """
    start = time.monotonic()
    next_retry = start + retry
    while not _handshaken(tunnel, since):
        now = time.monotonic()
        if now - start >= timeout:
            LOG.warning('No handshake with the hub of %(ifname)s within '
                        '%(timeout)d s: the hub may not know this '
                        "device's key yet, or %(endpoints)s is "
                        'unreachable; "edge-sdk status" shows the last '
                        'handshake', {
                            'ifname': tunnel.ifname, 'timeout': timeout,
                            'endpoints': ', '.join(
                                p.endpoint or '?' for p in tunnel.peers)})
            return False
        if now >= next_retry:
            privileged.configure(wireguard.tunnel_to_dict(tunnel),
                                 private_key)
            next_retry = now + retry
        time.sleep(0.1)
    return True


def apply_from_state(state_dir, name, channel, keepalive):
    """``apply`` with the private key of ``name`` in ``state_dir``."""
    private_key, _public = keys.ensure_key(state_dir, name)
    return apply(name, channel, private_key, keepalive)


def ensure_channel(client, name, public_key, subnet=None, endpoint=None,
                   channels=None, host=None):
    """The caller's channel ``name`` with ``public_key``: found (among
    ``channels`` if given) and its key or endpoint updated when they
    differ, or created (for edge host ``host``: the device's name,
    which is the ``binding:host_id`` of its containers' ports).
    """
    channel = client.find(name, channels)
    if channel is None:
        LOG.info('Creating channel %s', name)
        return client.create(name, public_key, subnet=subnet,
                             endpoint=endpoint, host=host)
    props = channel.get('properties') or {}
    if props.get('public_key') != public_key or \
            (endpoint and props.get('endpoint') != endpoint):
        LOG.info('Updating the public key or endpoint of channel %s',
                 name)
        return client.update(channel['uuid'], public_key=public_key,
                             endpoint=endpoint)
    return channel


class DirectChannels:
    """The channels of a device that is not enrolled: found by their
    names (``Settings.api_name``) and made by the device itself.
    """

    enrolled = False

    def __init__(self, client):
        self.channels = client

    def snapshot(self):
        """The project's channels, read once for a pass."""
        return self.channels.list()

    def current(self, settings, name, snapshot=None):
        return self.channels.find(settings.api_name(name), snapshot)

    def ensure(self, settings, name, public_key, snapshot=None, wait=0.0):
        return ensure_channel(self.channels, settings.api_name(name),
                              public_key, settings.channel_subnets.get(name),
                              settings.endpoint, snapshot,
                              host=settings.device_name)

    def rotatable(self, settings, name):
        """What ``set_key`` needs of channel ``name``, or None when
        there is no such channel to rotate the key of.
        """
        return self.current(settings, name)

    def set_key(self, settings, name, found, public_key, wait=0.0):
        return self.channels.update(found['uuid'], public_key=public_key)


def source_of(client):
    """``client`` as a source of channels (see the module)."""
    if isinstance(client, (DirectChannels, enrollment.EnrolledChannels)):
        return client
    return DirectChannels(client)


def wait_ready(client, name, channel, timeout, interval=0.5):
    """``channel`` again once its hub has reported its key and endpoint
    (raises ``ChannelNotReady`` after ``timeout`` seconds).
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            wireguard.tunnel_from_channel(name, channel, 0)
            return channel
        except wireguard.ChannelNotReady:
            if time.monotonic() >= deadline:
                raise wireguard.ChannelNotReady(
                    'the hub of channel %s has not reported its key and '
                    'endpoint within %d s: check the hub agent, then run '
                    'this again' % (name, timeout))
        time.sleep(interval)
        channel = client.get(channel['uuid'])


def up(settings, client, wait=60.0):
    """Keys, channels and interfaces of every configured channel.
    Returns ``{name: (channel, tunnel)}``.
    """
    keys.ensure_state_dir(settings.state_dir)
    source = source_of(client)
    result = {}
    # One channel after the other, in the configured order: the first
    # (control) is up before the next is asked for.  A channel create
    # takes the API seconds, a hub's report about one: asking for all
    # first would delay the control channel by the others' creates.
    for name in settings.channels:
        private_key, public_key = keys.ensure_key(settings.state_dir, name)
        channel = source.ensure(settings, name, public_key, wait=wait)
        channel = wait_ready(source.channels, name, channel, wait)
        result[name] = (channel, apply(name, channel, private_key,
                                       settings.keepalive,
                                       settings.handshake_wait))
    return result


def new_key(state_dir, name):
    """Replace the private key of channel ``name``; its public key."""
    keys.ensure_state_dir(state_dir)
    return keys.generate(keys.key_path(state_dir, name))


def rotate_key(settings, client, names=None, wait=60.0):
    """New private key → PATCH its public key → re-apply, per channel.

    The new key is written first: a PATCH that fails leaves a device
    whose key the API does not know yet, which the next ``up`` or
    ``run`` repairs; the tunnel keeps the old key until then.
    """
    source = source_of(client)
    result = {}
    for name in names or settings.channels:
        keys.check_name(name)
        found = source.rotatable(settings, name)
        if found is None:
            raise client_mod.ChannelAPIError(
                'there is no channel %s to rotate the key of: run '
                '"edge-sdk up" first' % settings.api_name(name))
        public_key = new_key(settings.state_dir, name)
        channel = source.set_key(settings, name, found, public_key, wait)
        channel = wait_ready(source.channels, name, channel, wait)
        private_key = keys.read_private(
            keys.key_path(settings.state_dir, name))
        LOG.info('Channel %(name)s has a new key %(key)s',
                 {'name': name, 'key': public_key})
        result[name] = (channel, apply(name, channel, private_key,
                                       settings.keepalive,
                                       settings.handshake_wait))
    return result


def check_deletable(source):
    """Refuse to delete the channels of an enrolled device."""
    if source.enrolled:
        raise ValueError(
            'the channels of an enrolled device belong to its hardware item '
            '%s: delete the item ("openstack hardware delete %s") and the '
            "enrollment service's workers delete the channels and the "
            'credential' % (source.uuid, source.uuid))


def down(settings, client=None, delete=False):
    """Remove the interfaces; with ``delete``, the channels too (never
    those of an enrolled device: its hardware item owns them).
    """
    source = source_of(client) if delete else None
    if delete:
        check_deletable(source)
    for name in settings.channels:
        privileged.delete_interface(wireguard.interface_name(name))
        if delete:
            for channel in source.channels.find_all(
                    settings.api_name(name)):
                LOG.info('Deleting channel %(name)s %(uuid)s',
                         {'name': name, 'uuid': channel.get('uuid')})
                try:
                    source.channels.delete(channel['uuid'])
                except client_mod.ChannelAPIError as e:
                    if e.status != 404:
                        raise


def status(settings, client=None):
    """Per channel: the API's view (when a client is given) and the
    interface's (public facts only).
    """
    source = snapshot = None
    if client is not None:
        source = source_of(client)
        snapshot = source.snapshot()
    result = {}
    for name in settings.channels:
        entry = {'interface': wireguard.interface_name(name)}
        entry['wireguard'] = privileged.show(entry['interface'])
        if source is not None:
            entry['channel'] = source.current(settings, name, snapshot)
        result[name] = entry
    return result


class Runner:
    """``edge-sdk run``: bring the channels up, then re-apply a channel
    whenever what the API says of it (hub key, endpoint, address)
    changes or its interface is gone.
    """

    def __init__(self, settings, client, wait=60.0):
        self.settings = settings
        self.client = client
        self.source = source_of(client) if client is not None else None
        self.wait = wait
        self.applied = {}
        self.stopping = threading.Event()

    def sync_once(self):
        """One pass over the channels; the names re-applied."""
        changed = []
        try:
            # One read of the channels (or the hardware item) per pass.
            snapshot = self.source.snapshot()
        except (client_mod.ChannelAPIError,
                enrollment.EnrollmentError) as e:
            LOG.warning('Channels not synchronised: %s', e)
            return changed
        for name in self.settings.channels:
            try:
                _private, public_key = keys.ensure_key(
                    self.settings.state_dir, name)
                # An enrolled device's key change waits for the
                # service's worker: the next pass finds it done.
                channel = self.source.ensure(self.settings, name,
                                             public_key, snapshot)
                if self.reconcile(name, channel):
                    changed.append(name)
            except (client_mod.ChannelAPIError, ValueError,
                    wireguard.ChannelNotReady,
                    enrollment.EnrollmentError) as e:
                LOG.warning('Channel %(name)s not synchronised: %(err)s',
                            {'name': name, 'err': e})
        return changed

    def reconcile(self, name, channel):
        """Apply ``channel`` unless it is what was applied last (same
        hubs, keys, endpoints and address) and its interface is there.
        Returns whether it applied.
        """
        private_key, public_key = keys.ensure_key(self.settings.state_dir,
                                                  name)
        tunnel = wireguard.tunnel_from_channel(name, channel,
                                               self.settings.keepalive)
        previous = self.applied.get(name)
        if previous == (tunnel, public_key) and \
                tunnel.ifname in privileged.list_interfaces():
            return False
        if previous is None and configured(tunnel, public_key):
            # As "edge-sdk up" left it: keep its sessions.
            self.applied[name] = (tunnel, public_key)
            return False
        if previous is not None:
            LOG.info('Channel %s changed (hub key, endpoint, address, own '
                     'key or interface): applying it again', name)
        apply(name, channel, private_key, self.settings.keepalive,
              self.settings.handshake_wait)
        self.applied[name] = (tunnel, public_key)
        return True

    def run(self):
        while not self.stopping.is_set():
            self.sync_once()
            self.stopping.wait(self.settings.poll_interval)

    def stop(self):
        self.stopping.set()
