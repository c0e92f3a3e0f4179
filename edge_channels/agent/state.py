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

"""What a hub host keeps of its hubs: private keys, listen ports and
where their devices were last heard from.

``[hub] state_dir`` (mode 0700) holds, per hub port, ``<id>.key`` (the
base64 private key, mode 0600, made here and never sent anywhere),
``<id>.port`` (its UDP listen port) and ``<id>.endpoints`` (JSON,
{device public key: "ip:port"}, mode 0600: where devices are is no one
else's business either).  An agent that restarts, or a host that
reboots, rebuilds each hub with the same key and port, so devices need
no re-sync, and starts a handshake to each device's last endpoint, so
the tunnels come back without waiting for the devices.
"""

import base64
import json
import os
import uuid

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import x25519


KEY_SUFFIX = '.key'
PORT_SUFFIX = '.port'
ENDPOINTS_SUFFIX = '.endpoints'


def _hub(hub_id):
    # Only a UUID becomes part of a path here.
    return str(uuid.UUID(str(hub_id)))


def key_path(state_dir, hub_id):
    return os.path.join(state_dir, _hub(hub_id) + KEY_SUFFIX)


def public_key(private_key):
    """The base64 public key of a base64 X25519 private key."""
    key = x25519.X25519PrivateKey.from_private_bytes(
        base64.b64decode(private_key, validate=True))
    return base64.b64encode(key.public_key().public_bytes(
        serialization.Encoding.Raw,
        serialization.PublicFormat.Raw)).decode('ascii')


def _generate():
    key = x25519.X25519PrivateKey.generate()
    return base64.b64encode(key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
        serialization.NoEncryption())).decode('ascii')


def _write_new(path, text, mode):
    """Create ``path`` with ``mode`` from the start (never readable by
    others, not even for a moment), atomically; False if it exists.
    """
    tmp = '%s.%d.tmp' % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                 mode)
    try:
        with os.fdopen(fd, 'w') as f:
            f.write(text + '\n')
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
    finally:
        os.unlink(tmp)
    return True


def _replace(path, text, mode):
    """Write ``path`` with ``mode`` from the start, atomically."""
    tmp = '%s.%d.tmp' % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC |
                 os.O_NOFOLLOW, mode)
    with os.fdopen(fd, 'w') as f:
        f.write(text + '\n')
    os.replace(tmp, path)


class HubState:
    """The state directory of one hub host."""

    def __init__(self, state_dir, ports):
        self.dir = state_dir
        self.ports = ports
        os.makedirs(state_dir, mode=0o700, exist_ok=True)
        # An existing directory too: keys are no one else's business.
        os.chmod(state_dir, 0o700)

    def hubs(self):
        """IDs of the hubs with a key here."""
        found = []
        for name in os.listdir(self.dir):
            if name.endswith(KEY_SUFFIX):
                try:
                    found.append(_hub(name[:-len(KEY_SUFFIX)]))
                except ValueError:
                    continue
        return sorted(found)

    def key_path(self, hub_id):
        return key_path(self.dir, hub_id)

    def public_key(self, hub_id):
        """The hub's public key; its private key is made on first use."""
        path = self.key_path(hub_id)
        _write_new(path, _generate(), 0o600)
        with open(path) as f:
            return public_key(f.read().strip())

    def _port_path(self, hub_id):
        return os.path.join(self.dir, _hub(hub_id) + PORT_SUFFIX)

    def _read_port(self, hub_id):
        try:
            with open(self._port_path(hub_id)) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def listen_port(self, hub_id):
        """The hub's UDP port: the one it had, else the lowest of
        ``ports`` no other hub here holds.
        """
        port = self._read_port(hub_id)
        if port in self.ports:
            return port
        taken = {self._read_port(h) for h in self.hubs() if h != _hub(
            hub_id)}
        for port in self.ports:
            if port not in taken:
                _replace(self._port_path(hub_id), '%d' % port, 0o644)
                return port
        raise RuntimeError(
            'no free UDP port left in [hub] listen_port_range %d-%d for '
            'hub %s: widen the range' % (self.ports[0], self.ports[-1],
                                         hub_id))

    def _endpoints_path(self, hub_id):
        return os.path.join(self.dir, _hub(hub_id) + ENDPOINTS_SUFFIX)

    def endpoints(self, hub_id):
        """{device public key: endpoint} kept for the hub; {} if none
        (or unreadable: they are hints, Neutron is the record).
        """
        try:
            with open(self._endpoints_path(hub_id)) as f:
                found = json.load(f)
        except (OSError, ValueError):
            return {}
        if not isinstance(found, dict):
            return {}
        return {k: v for k, v in found.items()
                if isinstance(k, str) and isinstance(v, str)}

    def keep_endpoints(self, hub_id, endpoints):
        """Keep ``endpoints`` for the hub; True if they changed."""
        if endpoints == self.endpoints(hub_id):
            return False
        _replace(self._endpoints_path(hub_id),
                 json.dumps(endpoints, sort_keys=True), 0o600)
        return True

    def forget(self, hub_id):
        """Remove a gone hub's key, port and endpoints."""
        for path in (self.key_path(hub_id), self._port_path(hub_id),
                     self._endpoints_path(hub_id)):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
