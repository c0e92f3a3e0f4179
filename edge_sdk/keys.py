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

"""The device's WireGuard keys (X25519), one per channel.

A private key is made on the device, written once into a file of mode
0600 inside a state directory of mode 0700, and never logged or sent:
the channel API only ever gets the public key.  The file is created
with its final mode (``O_EXCL``, mode 0600, whatever the umask) under a
temporary name and renamed into place, so no reader ever sees it
world-readable or half written.  The format is WireGuard's own: the
standard base64 of the 32 raw bytes, as ``wg genkey`` prints it.
"""

import base64
import binascii
import os
import re
import stat

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import x25519


KEY_SUFFIX = '.key'
#: Channel names as they appear in file and interface names.
_NAME = re.compile(r'[a-z0-9][a-z0-9-]{0,11}')
_RAW = serialization.Encoding.Raw


class KeyFileError(Exception):
    """A key file or the state directory cannot be used as it is."""


def check_name(name):
    """``name`` if it can name a channel's key and interface."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(
            'channel name %r: 1 to 12 characters, lowercase letters, '
            'digits or "-", starting with a letter or digit' % (name,))
    return name


def ensure_state_dir(path):
    """Create ``path`` mode 0700 if missing; refuse one that others can
    read or that is not a real directory owned by this user.
    """
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise KeyFileError('%s is not a directory: give --state-dir a '
                           'directory for the private keys' % path)
    if st.st_uid != os.geteuid():
        raise KeyFileError('%s belongs to uid %d, not to this user (%d): '
                           'run as its owner or give another --state-dir'
                           % (path, st.st_uid, os.geteuid()))
    if st.st_mode & 0o077:
        raise KeyFileError('%s is accessible to other users (mode %o): '
                           'run "chmod 700 %s"'
                           % (path, stat.S_IMODE(st.st_mode), path))
    return path


def key_path(state_dir, name):
    return os.path.join(state_dir, check_name(name) + KEY_SUFFIX)


def encode_private(key):
    """WireGuard's base64 text of an ``X25519PrivateKey``."""
    raw = key.private_bytes(_RAW, serialization.PrivateFormat.Raw,
                            serialization.NoEncryption())
    return base64.b64encode(raw).decode('ascii')


def public_key(private_key):
    """The base64 public key of a base64 private key."""
    key = x25519.X25519PrivateKey.from_private_bytes(
        _decode(private_key, 'private key'))
    raw = key.public_key().public_bytes(_RAW,
                                        serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode('ascii')


def _decode(text, what):
    # The message never quotes the text: it may be a private key.
    try:
        raw = base64.b64decode(text.encode('ascii'), validate=True)
    except (AttributeError, UnicodeEncodeError, binascii.Error):
        raise ValueError('the %s is not standard base64' % what)
    if len(raw) != 32:
        raise ValueError('the %s is %d bytes, not 32' % (what, len(raw)))
    return raw


def check_private(private_key):
    """``private_key`` if it is the base64 of 32 bytes (never quoted)."""
    _decode(private_key, 'private key')
    return private_key


def write_private(path, private_key):
    """Write ``private_key`` into ``path`` atomically, mode 0600 from
    the first byte on.
    """
    check_private(private_key)
    write_secret(path, private_key + '\n')


def write_secret(path, text):
    """Write ``text`` (ASCII) into ``path`` atomically, mode 0600 from
    the first byte on (a key, the stored application credential).
    """
    directory = os.path.dirname(path) or '.'
    tmp = os.path.join(directory, '.%s.%d.tmp' % (os.path.basename(path),
                                                   os.getpid()))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                 | os.O_CLOEXEC, 0o600)
    try:
        # The umask can only remove bits; make sure of the result.
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode('ascii'))
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    os.close(fd)
    os.replace(tmp, path)
    dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def generate(path):
    """Make a new private key in ``path`` (replacing any); return the
    public key.
    """
    private_key = encode_private(x25519.X25519PrivateKey.generate())
    write_private(path, private_key)
    return public_key(private_key)


def read_secret(path, limit=4096,
                remedy='"edge-sdk rotate-key" if others may have read it'):
    """The text of ``path`` (at most ``limit`` bytes); refuse a file
    others could read, a link, or one of another user; ``remedy``: what
    to do when others may have read it.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_mode & 0o077:
            raise KeyFileError(
                '%s must be a regular file of mode 0600 (it is %o): run '
                '"chmod 600 %s", or %s' % (path, stat.S_IMODE(st.st_mode),
                                           path, remedy))
        if st.st_uid != os.geteuid():
            raise KeyFileError('%s belongs to uid %d, not to this user '
                               '(%d): run as its owner'
                               % (path, st.st_uid, os.geteuid()))
        return os.read(fd, limit).decode('ascii', 'replace')
    finally:
        os.close(fd)


def read_private(path):
    """The private key in ``path``; refuse a file others could read."""
    text = read_secret(path).strip()
    try:
        return check_private(text)
    except ValueError as e:
        raise KeyFileError('%s holds no WireGuard private key (%s): '
                           'remove it to have a new one made' % (path, e))


def ensure_key(state_dir, name):
    """``(private_key, public_key)`` of channel ``name``, made on first
    use.
    """
    ensure_state_dir(state_dir)
    path = key_path(state_dir, name)
    if not os.path.exists(path):
        generate(path)
    private_key = read_private(path)
    return private_key, public_key(private_key)
