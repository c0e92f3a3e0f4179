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

"""What a peripheral CDI spec may ask of a container runtime.

One set of rules, applied twice: by the privileged writer before root
writes a spec (cyborg_peripherals.privileged) and by the Zun driver
before a container gets anything from one (zun_oci_attach.policy).  It
depends on the standard library and the CDI parser only, so both
services can import it.  Each refusal raises :class:`Refused` naming a
rule of ``RULES``; doc/source/admin/oci-attach-policy.rst explains them.
"""

import dataclasses
import fnmatch
import os
import re
import stat


#: Every content rule, with the one-line reason operators see.
RULES = {
    'path-characters': 'a path holds characters Docker cannot carry, '
                       'control, bidirectional or line-separator '
                       'characters',
    'node-outside-dev': 'a device node path is not under /dev',
    'node-reserved-path': 'a container path would replace a node the '
                          'runtime itself provides (/dev/null, /dev/pts, '
                          '...)',
    'node-missing': 'a device node does not exist on the host',
    'node-type': 'a device node is not a character or block device',
    'node-block': 'a device node is a block device',
    'node-never-peripheral': 'a device node is of a kind that is never a '
                             'peripheral (memory, consoles, kvm, ...)',
    'node-incomplete': 'the spec does not give a node\'s type and numbers',
    'node-mismatch': 'a host node differs from what the spec says',
    'permissions': 'device permissions are not a subset of rwm',
    'hooks': 'the spec asks for OCI hooks',
    'spec-edits': 'the spec has container edits for all its devices',
    'unsupported-edit': 'the spec asks for an edit that cannot be applied',
    'mount-not-allowed': 'a mount source is not in the operator allowlist',
    'mount-missing': 'a mount source does not exist on the host',
    'mount-target': 'a mount target is not a normal absolute path',
    'mount-target-reserved': 'a mount target is under /etc, /proc, /sys '
                             'or /dev, or is a granted device node',
    'env-not-allowed': 'an environment name is not in the allowlist',
    'env-malformed': 'an environment entry is not NAME=value',
    'env-value': 'an environment value is too long or holds control '
                 'characters',
}

_DEV = '/dev'
_MAX_PATH = 4096

#: Docker separates HOST:CONTAINER:PERMS and binds with ':'.  C0 and C1
#: controls, bidirectional overrides and line/paragraph separators would
#: corrupt one-line refusals and logs, or make a path read differently
#: from what it is.
_BAD_PATH_CHARS = re.compile(
    '[:\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e'
    '\u2066-\u2069]')
#: In values ':' is fine; everything else above is not.
_BAD_VALUE_CHARS = re.compile(_BAD_PATH_CHARS.pattern.replace(':', '', 1))

#: Nodes every container runtime creates itself; a spec must not
#: replace them with a host node (``/dev/null`` backed by ``/dev/zero``).
RESERVED_CONTAINER_PATHS = frozenset((
    '/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom',
    '/dev/tty', '/dev/console', '/dev/ptmx', '/dev/core', '/dev/fd',
    '/dev/stdin', '/dev/stdout', '/dev/stderr', '/dev/pts',
    '/dev/shm',  # noqa: S108 - a container path, not a temporary file
    '/dev/mqueue'))
RESERVED_CONTAINER_TREES = ('/dev/pts', '/dev/shm',  # noqa: S108
                            '/dev/mqueue', '/dev/fd')


@dataclasses.dataclass(frozen=True)
class NeverPeripheral:
    """Host nodes that are never peripherals, by number and by name."""

    what: str
    type: str
    major: range
    minor: range | None = None
    #: fnmatch patterns of the resolved host path, for kinds whose
    #: numbers are allocated at boot (misc devices with dynamic minors).
    paths: tuple = ()

    def matches(self, dev_type, major, minor, real_path):
        if dev_type == self.type and major in self.major and (
                self.minor is None or minor in self.minor):
            return True
        return any(fnmatch.fnmatchcase(real_path, p) for p in self.paths)


def _one(n):
    return range(n, n + 1)


#: Linux's devices.txt numbers; docs list the same table for operators.
NEVER_PERIPHERALS = (
    NeverPeripheral('memory devices (mem, kmem, port, null, zero, full, '
                    'random, urandom, kmsg)', 'c', _one(1),
                    paths=('/dev/mem', '/dev/kmem', '/dev/port',
                           '/dev/null', '/dev/zero', '/dev/full',
                           '/dev/random', '/dev/urandom', '/dev/kmsg')),
    NeverPeripheral('virtual consoles tty0-tty63', 'c', _one(4), range(64),
                    paths=('/dev/tty[0-9]', '/dev/tty[0-9][0-9]')),
    NeverPeripheral('tty, console, ptmx, ttyprintk', 'c', _one(5),
                    range(4), paths=('/dev/console', '/dev/ptmx',
                                     '/dev/ttyprintk')),
    NeverPeripheral('virtual console memory (vcs, vcsa, vcsu)', 'c',
                    _one(7), paths=('/dev/vcs*',)),
    NeverPeripheral('SCSI generic (disks)', 'c', _one(21),
                    paths=('/dev/sg[0-9]*', '/dev/bsg/*')),
    NeverPeripheral('host pseudo-terminals', 'c', range(136, 144),
                    paths=('/dev/pts/*',)),
    NeverPeripheral('CPU model-specific registers and CPUID', 'c',
                    range(202, 204), paths=('/dev/cpu/*',)),
    NeverPeripheral('non-volatile BIOS memory', 'c', _one(10),
                    _one(144), paths=('/dev/nvram',)),
    NeverPeripheral('network tunnels', 'c', _one(10), _one(200),
                    paths=('/dev/net/tun',)),
    NeverPeripheral('input injection (uinput, uhid)', 'c', _one(10),
                    _one(223), paths=('/dev/uinput', '/dev/uhid')),
    NeverPeripheral('machine-check log', 'c', _one(10), _one(227),
                    paths=('/dev/mcelog',)),
    NeverPeripheral('FUSE', 'c', _one(10), _one(229),
                    paths=('/dev/fuse',)),
    NeverPeripheral('hibernation snapshot', 'c', _one(10), _one(231),
                    paths=('/dev/snapshot',)),
    NeverPeripheral('KVM', 'c', _one(10), _one(232), paths=('/dev/kvm',)),
    NeverPeripheral('btrfs and autofs control', 'c', _one(10),
                    range(234, 236), paths=('/dev/btrfs-control',
                                            '/dev/autofs')),
    NeverPeripheral('device-mapper control', 'c', _one(10), _one(236),
                    paths=('/dev/mapper/*',)),
    NeverPeripheral('loop control', 'c', _one(10), _one(237),
                    paths=('/dev/loop*',)),
    NeverPeripheral('vhost and vsock', 'c', _one(10), _one(238),
                    paths=('/dev/vhost-*', '/dev/vsock')),
    NeverPeripheral('vhost-vsock', 'c', _one(10), _one(241)),
    NeverPeripheral('userfaultfd, VFIO and NVMe (numbers allocated at '
                    'boot)', 'c', range(0),
                    paths=('/dev/userfaultfd', '/dev/vfio/*', '/dev/nvme*',
                           '/dev/ng[0-9]*')),
)

#: Environment names the spec writer may use by default.
DEFAULT_ENV_PATTERNS = ('PERIPHERAL_*',)
DEFAULT_MAX_ENV_VALUE = 1024

_ENV_NAME = re.compile(r'[A-Z][A-Z0-9_]{0,127}')
_ENV_PATTERN = re.compile(r'[A-Z0-9_*?]{1,128}')
#: No leading zeros: entries are compared as written.
_MAJOR = re.compile(r'([bc]):(0|[1-9][0-9]{0,9})')

#: Mount targets under these would change the container's view of its
#: own configuration, processes, kernel or devices.
_RESERVED_MOUNT_TREES = ('/etc', '/proc', '/sys', '/dev')

_PERMS = 'rwm'
_NODE_TYPES = {'c': stat.S_ISCHR, 'b': stat.S_ISBLK}
_MOUNT_OPTIONS = frozenset(('ro', 'rw', 'bind', 'rbind'))


def printable(text):
    return ''.join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class Refused(ValueError):
    """Content the rules refuse; ``rule`` names the rule.

    The arguments are exactly (rule, reason) so that oslo.privsep, which
    rebuilds an exception from its arguments, raises the same error in
    the unprivileged caller.
    """

    def __init__(self, rule, reason):
        super().__init__(rule, printable(reason))
        self.rule = rule
        self.reason = self.args[1]

    def __str__(self):
        return 'refused by rule %s: %s' % (self.rule, self.reason)


def is_abs_normal(path):
    return (isinstance(path, str) and 0 < len(path) <= _MAX_PATH
            and path.startswith('/') and os.path.normpath(path) == path
            and not path.startswith('//'))


def below(path, top):
    return path == top or path.startswith(top.rstrip('/') + '/')


def check_characters(path, what):
    if _BAD_PATH_CHARS.search(path):
        raise Refused('path-characters', '%s %r contains ":" or a control, '
                      'bidirectional or line-separator character'
                      % (what, path))


def parse_major(entry):
    """``TYPE:MAJOR`` (``b:179``) as (type, major), or ValueError."""
    m = _MAJOR.fullmatch(entry) if isinstance(entry, str) else None
    if m is None:
        raise ValueError('%r is not TYPE:MAJOR with TYPE b or c, such as '
                         'b:179' % (entry,))
    return m.group(1), int(m.group(2))


@dataclasses.dataclass(frozen=True)
class ContentRules:
    """The rules, with what the operator allows beyond the defaults."""

    mount_allowlist: tuple = ()
    writable_mounts: tuple = ()
    #: Extra environment name patterns (fnmatch, upper case).
    extra_env: frozenset = frozenset()
    #: ``TYPE:MAJOR`` strings that lift node-block / node-never-peripheral.
    allowed_majors: frozenset = frozenset()
    max_env_value: int = DEFAULT_MAX_ENV_VALUE

    def __post_init__(self):
        # Normalise what callers pass (lists from config, sets, ...).
        object.__setattr__(self, 'mount_allowlist',
                           tuple(self.mount_allowlist))
        object.__setattr__(self, 'writable_mounts',
                           tuple(self.writable_mounts))
        object.__setattr__(self, 'extra_env', frozenset(self.extra_env))
        object.__setattr__(self, 'allowed_majors',
                           frozenset(self.allowed_majors))

    def validate(self, group):
        """Raise ValueError naming the ``[group]`` option to fix."""
        for path in self.mount_allowlist + self.writable_mounts:
            if not is_abs_normal(path) or path == '/':
                raise ValueError(
                    '[%s] mount_allowlist and writable_mounts need '
                    'absolute, normalized paths other than "/", not %r'
                    % (group, path))
        stray = sorted(set(self.writable_mounts) -
                       set(self.mount_allowlist))
        if stray:
            raise ValueError('[%s] writable_mounts lists %s, which must '
                             'also be in mount_allowlist'
                             % (group, ', '.join(stray)))
        for pattern in self.extra_env:
            if not isinstance(pattern, str) or \
                    not _ENV_PATTERN.fullmatch(pattern):
                raise ValueError(
                    '[%s] allowed_env holds %r, which is not an upper-case '
                    'variable name or pattern (A-Z, 0-9, _, * and ?)'
                    % (group, pattern))
        for entry in self.allowed_majors:
            try:
                parse_major(entry)
            except ValueError as e:
                raise ValueError('[%s] allowed_device_majors: %s'
                                 % (group, e)) from None
        if not isinstance(self.max_env_value, int) or \
                self.max_env_value < 1:
            raise ValueError('[%s] max_env_value_length must be a positive '
                             'integer' % group)

    # -- edits ----------------------------------------------------------------

    @staticmethod
    def check_supported(edits, where):
        """Refuse edits a runtime would apply but the rules cannot check."""
        if edits.hooks:
            raise Refused('hooks', '%s asks for %d OCI hook(s); hooks run '
                          'code on the host and are never allowed'
                          % (where, len(edits.hooks)))
        if edits.additional_gids:
            raise Refused('unsupported-edit', '%s asks for additional GIDs, '
                          'which the translation cannot grant' % where)
        if edits.other:
            raise Refused('unsupported-edit', '%s uses %s, which the '
                          'translation cannot apply'
                          % (where, ', '.join(edits.other)))

    def check_device_edits(self, edits, where):
        """(devices, mounts, env) a device's edits may grant, or Refused.

        ``devices`` are (host, container, perms) with the resolved host
        path that was checked; ``mounts`` (source, target, read_only);
        ``env`` (name, value).
        """
        self.check_supported(edits, where)
        devices = [self.check_node(node) for node in edits.device_nodes]
        granted = {container for _host, container, _perms in devices}
        mounts = [self.check_mount(m, granted) for m in edits.mounts]
        env = [self.check_env(e) for e in edits.env]
        return devices, mounts, env

    def check_spec(self, spec):
        """Check every device of a parsed spec, as the writer must."""
        check_no_spec_edits(spec)
        for device in spec.devices:
            self.check_device_edits(device.edits, 'device %s' % device.name)

    # -- nodes ----------------------------------------------------------------

    def _allowed_major(self, dev_type, major):
        return '%s:%d' % (dev_type, major) in self.allowed_majors

    def check_node(self, node):
        """(host, container, perms) for a spec node, or Refused.

        The host path returned is the resolved one that was checked, so
        the runtime opens the node that matched the spec.
        """
        container = node.path
        host = node.effective_host_path
        for what, path in (('container path', container),
                           ('host path', host)):
            if not is_abs_normal(path) or not below(path, _DEV) or \
                    path == _DEV:
                raise Refused('node-outside-dev', 'device node %s %r is not '
                              'a normalized path under /dev' % (what, path))
            check_characters(path, 'device node ' + what)
        if container in RESERVED_CONTAINER_PATHS or any(
                below(container, top) for top in RESERVED_CONTAINER_TREES):
            raise Refused('node-reserved-path', 'container path %s would '
                          'replace a node the container runtime provides; '
                          'name the peripheral\'s node differently'
                          % container)
        if node.type is None or node.major is None or node.minor is None:
            raise Refused('node-incomplete', 'the spec gives no type, major '
                          'and minor for %s, so the node cannot be verified'
                          % host)
        if node.type not in _NODE_TYPES:
            raise Refused('node-type', 'the spec gives %s type %r; only '
                          'character (c) and block (b) devices are allowed'
                          % (host, node.type))
        real = os.path.realpath(host)
        if not below(real, _DEV) or real == _DEV:
            raise Refused('node-outside-dev', '%s resolves to %s, outside '
                          '/dev' % (host, real))
        check_characters(real, 'device node host path')
        self._check_kind(node.type, node.major, node.minor, host, real)
        try:
            st = os.stat(real)
        except FileNotFoundError:
            raise Refused('node-missing', '%s does not exist; the peripheral '
                          'is unplugged or the spec is stale' % host) \
                from None
        except OSError as e:
            raise Refused('node-missing', 'cannot stat %s: %s'
                          % (host, e.strerror)) from None
        if not _NODE_TYPES[node.type](st.st_mode):
            raise Refused('node-type', '%s is not a %s device node'
                          % (host, 'character' if node.type == 'c'
                             else 'block'))
        actual = (os.major(st.st_rdev), os.minor(st.st_rdev))
        if actual != (node.major, node.minor):
            raise Refused('node-mismatch', '%s is %d:%d, the spec says %d:%d'
                          % ((host,) + actual + (node.major, node.minor)))
        # Docker copies owner and mode from the host node; a spec asking
        # for others would be silently ignored, so it must agree.
        for what, wanted, have in (('uid', node.uid, st.st_uid),
                                   ('gid', node.gid, st.st_gid),
                                   ('file mode', node.file_mode,
                                    stat.S_IMODE(st.st_mode))):
            if wanted is not None and wanted != have:
                raise Refused('node-mismatch', '%s has %s %s, the spec says '
                              '%s' % (host, what, have, wanted))
        return real, container, check_permissions(node.permissions, host)

    def _check_kind(self, dev_type, major, minor, host, real):
        # By the numbers the spec gives (which must then match the real
        # node) and by the resolved name, for numbers given out at boot.
        if self._allowed_major(dev_type, major):
            return
        if dev_type == 'b':
            raise Refused('node-block', '%s is a block device (%d:%d); '
                          'peripherals are character devices. Add b:%d to '
                          'allowed_device_majors only if containers may '
                          'have such disks' % (host, major, minor, major))
        for kind in NEVER_PERIPHERALS:
            if kind.matches(dev_type, major, minor, real):
                raise Refused('node-never-peripheral', '%s (%s %d:%d) is '
                              'one of the %s, which are never peripherals'
                              % (host, dev_type, major, minor, kind.what))

    # -- mounts ---------------------------------------------------------------

    def check_mount(self, mount, granted=()):
        """(source, target, read_only) for a spec mount, or Refused.

        ``granted`` holds the container paths of the device's nodes.
        """
        if mount.type not in (None, 'bind'):
            raise Refused('unsupported-edit', 'mount of %r has type %r; only '
                          'bind mounts can be translated'
                          % (mount.host_path, mount.type))
        unknown = sorted(set(mount.options) - _MOUNT_OPTIONS)
        if unknown:
            raise Refused('unsupported-edit', 'mount of %r has options %s; '
                          'only %s can be translated'
                          % (mount.host_path, ', '.join(unknown),
                             ', '.join(sorted(_MOUNT_OPTIONS))))
        target = mount.container_path
        if not is_abs_normal(target) or target == '/':
            raise Refused('mount-target', 'mount target %r is not a '
                          'normalized absolute path below /' % target)
        check_characters(target, 'mount target')
        if target in granted or any(below(target, top)
                                    for top in _RESERVED_MOUNT_TREES):
            raise Refused('mount-target-reserved', 'mount target %s is a '
                          'granted device node or under %s'
                          % (target, ', '.join(_RESERVED_MOUNT_TREES)))
        source = mount.host_path
        if not is_abs_normal(source):
            raise Refused('mount-not-allowed', 'mount source %r is not a '
                          'normalized absolute path' % source)
        check_characters(source, 'mount source')
        real = os.path.realpath(source)
        check_characters(real, 'mount source')
        allowed = [top for top in self.mount_allowlist
                   if below(source, top) and
                   below(real, os.path.realpath(top))]
        if not allowed:
            raise Refused('mount-not-allowed', 'mount source %s is not in '
                          'mount_allowlist%s' % (source, '' if real == source
                                                 else ' (it resolves to %s)'
                                                 % real))
        if not os.path.exists(real):
            # Docker would create a missing bind source on the host.
            raise Refused('mount-missing', 'mount source %s does not exist '
                          'on this host' % source)
        writable = 'ro' not in mount.options and any(
            top in self.writable_mounts for top in allowed)
        return real, target, not writable

    # -- environment ----------------------------------------------------------

    def env_name_allowed(self, name):
        return bool(_ENV_NAME.fullmatch(name)) and any(
            fnmatch.fnmatchcase(name, pattern)
            for pattern in DEFAULT_ENV_PATTERNS + tuple(self.extra_env))

    def check_env(self, entry):
        """(name, value) for a spec ``NAME=value`` entry, or Refused."""
        name, sep, value = entry.partition('=')
        if not sep or not name:
            raise Refused('env-malformed', 'environment entry %r is not '
                          'NAME=value' % entry)
        if not self.env_name_allowed(name):
            raise Refused('env-not-allowed', 'environment variable %r is not '
                          'in the allowlist (%s); add a pattern to '
                          'allowed_env if every spec writer may set it'
                          % (name, ', '.join(DEFAULT_ENV_PATTERNS +
                                             tuple(sorted(self.extra_env)))))
        if len(value) > self.max_env_value:
            raise Refused('env-value', 'environment variable %s has a value '
                          'of %d characters, more than max_env_value_length'
                          ' (%d)' % (name, len(value), self.max_env_value))
        if _BAD_VALUE_CHARS.search(value):
            raise Refused('env-value', 'environment variable %s has a value '
                          'with a control, bidirectional or line-separator '
                          'character' % name)
        return name, value


def check_no_spec_edits(spec):
    # Our writer never gives spec-wide edits: they would reach every
    # container that gets any peripheral of the host.
    if not spec.edits.is_empty():
        raise Refused('spec-edits', 'the spec has containerEdits for all of '
                      'its devices; give each device its own')


def check_permissions(perms, host):
    # CDI: no permissions means rwm.  'm' only allows mknod of this very
    # node, so it grants nothing beyond it.
    if not perms:
        return _PERMS
    if len(set(perms)) != len(perms) or not set(perms) <= set(_PERMS):
        raise Refused('permissions', 'permissions %r of %s are not a subset '
                      'of rwm' % (perms, host))
    return ''.join(p for p in _PERMS if p in perms)
