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

"""The security policy applied to CDI specs and attach infos.

The spec file and the attach info come from outside the Zun compute
process and may be stale or tampered with, so every piece of them is
checked here, at attach time, before anything reaches the container
engine.  Each check that fails raises :class:`AttachRefused` naming its
rule; ``RULES`` lists them all and doc/source/admin/oci-attach-policy.rst
explains them to operators.
"""

import dataclasses
import functools
import os
import re
import stat

from cyborg_peripherals.cdi import spec as cdi_spec
from cyborg_peripherals.cdi import writer


#: Every rule, with the one-line reason operators see in the docs.
RULES = {
    'attach-type': 'the attach handle is not of type OCI',
    'attach-info': 'the attach info does not follow the contract',
    'cdi-kind': 'the device or the spec is not of kind '
                'openstack.org/peripheral',
    'spec-missing': 'the host has no peripheral CDI spec',
    'spec-owner': 'the spec file or its directory has an untrusted owner',
    'spec-permissions': 'the spec file or its directory is writable by '
                        'group or others, or is not a regular file',
    'spec-invalid': 'the spec is not a valid CDI spec',
    'device-unknown': 'the spec does not define the device',
    'path-characters': 'a path holds characters Docker cannot carry',
    'node-outside-dev': 'a device node path is not under /dev',
    'node-missing': 'a device node does not exist on the host',
    'node-type': 'a device node is not a character or block device',
    'node-incomplete': 'the spec does not give a node\'s type and numbers',
    'node-mismatch': 'a host node differs from what the spec says',
    'permissions': 'device permissions are not a subset of rwm',
    'hooks': 'the spec asks for OCI hooks',
    'unsupported-edit': 'the spec asks for an edit that cannot be applied',
    'mount-not-allowed': 'a mount source is not in the operator allowlist',
    'mount-missing': 'a mount source does not exist on the host',
    'mount-target': 'a mount target is not a normal absolute path',
    'env-not-allowed': 'an environment name is not in the safe set',
    'env-malformed': 'an environment entry is not NAME=value',
    'conflict': 'two edits want different things for the same name or path',
}

#: Owners trusted for the spec file and its directory: only root writes
#: CDI specs (the Cyborg side does so through privsep).
_TRUSTED_UIDS = frozenset((0,))

_DEV = '/dev'

#: Docker separates HOST:CONTAINER:PERMS and binds with ':'; control
#: characters would also corrupt the one-line refusals and log lines.
_BAD_PATH_CHARS = re.compile(r'[:\x00-\x1f\x7f]')

_MAX_PATH = 4096

# The safe environment set: conventional upper-case names, minus those
# that make a program load or run other code, change where it looks for
# programs, libraries or trust anchors, or redirect its traffic.
_ENV_NAME = re.compile(r'^[A-Z][A-Z0-9_]{0,127}$')
UNSAFE_ENV_NAMES = frozenset((
    'PATH', 'HOME', 'SHELL', 'ENV', 'BASH_ENV', 'IFS', 'CDPATH', 'PS4',
    'PROMPT_COMMAND', 'TMPDIR', 'TZDIR', 'GLIBC_TUNABLES', 'HOSTALIASES',
    'LOCALDOMAIN', 'RES_OPTIONS', 'NLSPATH', 'LOCPATH', 'CLASSPATH',
    'EDITOR', 'VISUAL', 'PAGER', 'SSL_CERT_FILE', 'SSL_CERT_DIR',
    'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE', 'HTTP_PROXY', 'HTTPS_PROXY',
    'FTP_PROXY', 'ALL_PROXY', 'NO_PROXY',
))
UNSAFE_ENV_PREFIXES = (
    'LD_', 'DYLD_', 'GCONV_', 'MALLOC_', 'PYTHON', 'PERL', 'RUBY', 'NODE_',
    'JAVA_', 'JDK_', 'LUA_', 'GIT_', 'OPENSSL_',
)

_PERMS = 'rwm'
_NODE_TYPES = {'c': stat.S_ISCHR, 'b': stat.S_ISBLK}
_MOUNT_OPTIONS = frozenset(('ro', 'rw', 'bind', 'rbind'))


def _printable(text):
    return ''.join(c if c.isprintable() else repr(c)[1:-1] for c in text)


@functools.lru_cache(maxsize=1)
def _parse(data):
    # The file is read and checked at every attach, but parsing it is
    # most of the cost and the same bytes always give the same (frozen)
    # Spec, so the last one is kept.
    return cdi_spec.parse(data)


class AttachRefused(Exception):
    """An attach handle cannot be honoured; ``rule`` says which rule."""

    def __init__(self, rule, reason):
        self.rule = rule
        self.reason = _printable(reason)
        super().__init__('refused by rule %s: %s' % (rule, self.reason))


def _is_abs_normal(path):
    return (isinstance(path, str) and 0 < len(path) <= _MAX_PATH
            and path.startswith('/') and os.path.normpath(path) == path
            and not path.startswith('//'))


def _check_characters(path, what):
    if _BAD_PATH_CHARS.search(path):
        raise AttachRefused('path-characters',
                            '%s %r contains ":" or a control character'
                            % (what, path))


def _below(path, top):
    return path == top or path.startswith(top.rstrip('/') + '/')


def _is_safe_env_name(name):
    return (bool(_ENV_NAME.match(name)) and name not in UNSAFE_ENV_NAMES
            and not name.startswith(UNSAFE_ENV_PREFIXES))


@dataclasses.dataclass(frozen=True)
class Policy:
    """What the operator allows beyond the default policy."""

    cdi_dir: str = '/var/run/cdi'
    mount_allowlist: tuple = ()
    writable_mounts: tuple = ()
    extra_env: frozenset = frozenset()
    native_cdi: bool = False

    def __post_init__(self):
        # Normalise what callers pass (lists from config, sets, ...).
        object.__setattr__(self, 'mount_allowlist',
                           tuple(self.mount_allowlist))
        object.__setattr__(self, 'writable_mounts',
                           tuple(self.writable_mounts))
        object.__setattr__(self, 'extra_env', frozenset(self.extra_env))
        if not _is_abs_normal(self.cdi_dir):
            raise ValueError('[oci_attach] cdi_spec_dir must be an absolute, '
                             'normalized path, not %r' % (self.cdi_dir,))
        for path in self.mount_allowlist + self.writable_mounts:
            if not _is_abs_normal(path) or path == '/':
                raise ValueError(
                    '[oci_attach] mount_allowlist and writable_mounts need '
                    'absolute, normalized paths other than "/", not %r'
                    % (path,))
        stray = sorted(set(self.writable_mounts) -
                       set(self.mount_allowlist))
        if stray:
            raise ValueError('[oci_attach] writable_mounts lists %s, which '
                             'must also be in mount_allowlist'
                             % ', '.join(stray))
        for name in self.extra_env:
            if not isinstance(name, str) or not name or '=' in name or \
                    _BAD_PATH_CHARS.search(name):
                raise ValueError('[oci_attach] allowed_env holds %r, which '
                                 'is not a variable name' % (name,))

    @classmethod
    def from_conf(cls, conf):
        group = conf.oci_attach
        return cls(cdi_dir=group.cdi_spec_dir,
                   mount_allowlist=group.mount_allowlist,
                   writable_mounts=group.writable_mounts,
                   extra_env=group.allowed_env,
                   native_cdi=group.native_cdi)

    # -- the spec file ------------------------------------------------------

    def read_spec(self):
        """Parse the host's spec after checking who can write it.

        The checks use fstat on the descriptors actually read, so a file
        swapped in between check and read is not trusted by mistake.
        """
        path = writer.spec_path(self.cdi_dir)
        try:
            dir_fd = os.open(self.cdi_dir, os.O_RDONLY | os.O_DIRECTORY |
                             os.O_CLOEXEC)
        except FileNotFoundError:
            raise AttachRefused(
                'spec-missing', 'no CDI spec directory %s; check that the '
                'Cyborg peripheral driver runs on this host and that '
                '[oci_attach] cdi_spec_dir matches its [peripherals] '
                'cdi_spec_dir' % self.cdi_dir) from None
        except OSError as e:
            raise AttachRefused('spec-permissions', 'cannot open %s: %s'
                                % (self.cdi_dir, e.strerror)) from None
        try:
            self._check_trusted(self.cdi_dir, os.fstat(dir_fd))
            try:
                fd = os.open(writer.SPEC_FILE, os.O_RDONLY | os.O_NOFOLLOW |
                             os.O_CLOEXEC | os.O_NONBLOCK, dir_fd=dir_fd)
            except FileNotFoundError:
                raise AttachRefused(
                    'spec-missing', 'no CDI spec %s; the host has no '
                    'peripherals, or the Cyborg peripheral driver has not '
                    'run yet' % path) from None
            except OSError as e:
                raise AttachRefused('spec-permissions', 'cannot open %s: %s'
                                    % (path, e.strerror)) from None
        finally:
            os.close(dir_fd)
        with os.fdopen(fd, 'rb') as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise AttachRefused('spec-permissions',
                                    '%s is not a regular file' % path)
            self._check_trusted(path, st)
            data = f.read(cdi_spec.MAX_SPEC_BYTES + 1)
        try:
            return _parse(data)
        except cdi_spec.InvalidSpec as e:
            raise AttachRefused('spec-invalid', '%s: %s' % (path, e)) \
                from None

    @staticmethod
    def _check_trusted(path, st):
        if st.st_uid not in _TRUSTED_UIDS:
            raise AttachRefused(
                'spec-owner', '%s is owned by uid %d, not root; only root '
                'may write CDI specs' % (path, st.st_uid))
        if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise AttachRefused(
                'spec-permissions', '%s has mode %04o; remove group and '
                'other write permission' % (path, stat.S_IMODE(st.st_mode)))

    # -- edits ----------------------------------------------------------------

    @staticmethod
    def check_supported(edits, where):
        """Refuse edits this translator would otherwise have to drop."""
        if edits.hooks:
            raise AttachRefused('hooks', '%s asks for %d OCI hook(s); hooks '
                                'run code on the host and are never '
                                'allowed' % (where, len(edits.hooks)))
        if edits.additional_gids:
            raise AttachRefused('unsupported-edit', '%s asks for additional '
                                'GIDs, which the translation cannot grant'
                                % where)
        if edits.other:
            raise AttachRefused('unsupported-edit', '%s uses %s, which the '
                                'translation cannot apply'
                                % (where, ', '.join(edits.other)))

    def check_node(self, node):
        """Return (host path, container path, perms) for a spec node.

        The host path returned is the resolved one that was checked, so
        the engine opens the node that matched the spec.
        """
        container = node.path
        host = node.effective_host_path
        for what, path in (('container path', container),
                           ('host path', host)):
            if not _is_abs_normal(path) or not _below(path, _DEV) or \
                    path == _DEV:
                raise AttachRefused(
                    'node-outside-dev', 'device node %s %r is not a '
                    'normalized path under /dev' % (what, path))
            _check_characters(path, 'device node ' + what)
        if node.type is None or node.major is None or node.minor is None:
            raise AttachRefused(
                'node-incomplete', 'the spec gives no type, major and minor '
                'for %s, so the node cannot be verified' % host)
        if node.type not in _NODE_TYPES:
            raise AttachRefused('node-type', 'the spec gives %s type %r; '
                                'only character (c) and block (b) devices '
                                'are allowed' % (host, node.type))
        real = os.path.realpath(host)
        if not _below(real, _DEV) or real == _DEV:
            raise AttachRefused('node-outside-dev', '%s resolves to %s, '
                                'outside /dev' % (host, real))
        _check_characters(real, 'device node host path')
        try:
            st = os.stat(real)
        except FileNotFoundError:
            raise AttachRefused(
                'node-missing', '%s does not exist; the peripheral is '
                'unplugged or the spec is stale' % host) from None
        except OSError as e:
            raise AttachRefused('node-missing', 'cannot stat %s: %s'
                                % (host, e.strerror)) from None
        if not _NODE_TYPES[node.type](st.st_mode):
            raise AttachRefused('node-type', '%s is not a %s device node'
                                % (host, 'character' if node.type == 'c'
                                   else 'block'))
        actual = (os.major(st.st_rdev), os.minor(st.st_rdev))
        if actual != (node.major, node.minor):
            raise AttachRefused('node-mismatch', '%s is %d:%d, the spec says '
                                '%d:%d' % ((host,) + actual +
                                           (node.major, node.minor)))
        # Docker copies owner and mode from the host node; a spec asking
        # for others would be silently ignored, so it must agree.
        for what, wanted, have in (('uid', node.uid, st.st_uid),
                                   ('gid', node.gid, st.st_gid),
                                   ('file mode', node.file_mode,
                                    stat.S_IMODE(st.st_mode))):
            if wanted is not None and wanted != have:
                raise AttachRefused('node-mismatch', '%s has %s %s, the spec '
                                    'says %s' % (host, what, have, wanted))
        return real, container, self.check_permissions(node.permissions,
                                                       host)

    @staticmethod
    def check_permissions(perms, host):
        # CDI: no permissions means rwm.  'm' only allows mknod of this
        # very node, so it grants nothing beyond it.
        if not perms:
            return _PERMS
        if len(set(perms)) != len(perms) or not set(perms) <= set(_PERMS):
            raise AttachRefused('permissions', 'permissions %r of %s are not '
                                'a subset of rwm' % (perms, host))
        return ''.join(p for p in _PERMS if p in perms)

    def check_mount(self, mount):
        """Return (source, target, read_only) for a spec mount."""
        if mount.type not in (None, 'bind'):
            raise AttachRefused('unsupported-edit', 'mount of %r has type %r;'
                                ' only bind mounts can be translated'
                                % (mount.host_path, mount.type))
        unknown = sorted(set(mount.options) - _MOUNT_OPTIONS)
        if unknown:
            raise AttachRefused('unsupported-edit', 'mount of %r has options'
                                ' %s; only %s can be translated'
                                % (mount.host_path, ', '.join(unknown),
                                   ', '.join(sorted(_MOUNT_OPTIONS))))
        target = mount.container_path
        if not _is_abs_normal(target) or target == '/':
            raise AttachRefused('mount-target', 'mount target %r is not a '
                                'normalized absolute path below /' % target)
        _check_characters(target, 'mount target')
        source = mount.host_path
        if not _is_abs_normal(source):
            raise AttachRefused('mount-not-allowed', 'mount source %r is not '
                                'a normalized absolute path' % source)
        _check_characters(source, 'mount source')
        real = os.path.realpath(source)
        _check_characters(real, 'mount source')
        allowed = [top for top in self.mount_allowlist
                   if _below(source, top) and
                   _below(real, os.path.realpath(top))]
        if not allowed:
            raise AttachRefused(
                'mount-not-allowed', 'mount source %s is not in [oci_attach]'
                ' mount_allowlist%s' % (source, '' if real == source else
                                        ' (it resolves to %s)' % real))
        if not os.path.exists(real):
            # Docker would create a missing bind source on the host.
            raise AttachRefused('mount-missing', 'mount source %s does not '
                                'exist on this host' % source)
        writable = 'ro' not in mount.options and any(
            top in self.writable_mounts for top in allowed)
        return real, target, not writable

    def check_env(self, entry):
        """Return (name, value) for a spec ``NAME=value`` entry."""
        name, sep, value = entry.partition('=')
        if not sep or not name:
            raise AttachRefused('env-malformed', 'environment entry %r is '
                                'not NAME=value' % entry)
        if '\x00' in entry:
            raise AttachRefused('env-malformed', 'environment entry for %r '
                                'contains a NUL character' % name)
        if name not in self.extra_env and not _is_safe_env_name(name):
            raise AttachRefused(
                'env-not-allowed', 'environment variable %r is not in the '
                'safe set; add it to [oci_attach] allowed_env if every spec '
                'writer may set it' % name)
        return name, value
