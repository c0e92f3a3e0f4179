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
explains them to operators.  The rules on what a spec may contain are
cyborg_peripherals.cdi.safety, which the Cyborg side's privileged writer
applies too; this module adds those on the attach info and the file.
"""

import dataclasses
import functools
import os
import stat

from cyborg_peripherals.cdi import safety
from cyborg_peripherals.cdi import spec as cdi_spec
from cyborg_peripherals.cdi import writer


#: Every rule, with the one-line reason operators see in the docs: those
#: of the attach info and the spec file here, the content rules shared
#: with the privileged writer in cyborg_peripherals.cdi.safety.
RULES = dict({
    'attach-type': 'the attach handle is not of type OCI',
    'attach-info': 'the attach info does not follow the contract',
    'cdi-kind': 'the device or the spec is not of kind '
                'openstack.org/peripheral',
    'class-mismatch': 'the attach info names a class other than the '
                      'device\'s class in the spec',
    'spec-missing': 'the host has no peripheral CDI spec',
    'spec-owner': 'the spec file or its directory has an untrusted owner',
    'spec-permissions': 'the spec file or its directory is writable by '
                        'group or others, or is not a regular file',
    'spec-invalid': 'the spec is not a valid CDI spec',
    'device-unknown': 'the spec does not define the device',
    'conflict': 'two edits want different things for the same name or path',
}, **safety.RULES)

#: Owners trusted for the spec file and its directory: only root writes
#: CDI specs (the Cyborg side does so through privsep).
_TRUSTED_UIDS = frozenset((0,))

AttachRefused = safety.Refused


@functools.lru_cache(maxsize=1)
def _parse(data):
    # The file is read and checked at every attach, but parsing it is
    # most of the cost and the same bytes always give the same (frozen)
    # Spec, so the last one is kept.
    return cdi_spec.parse(data)


@dataclasses.dataclass(frozen=True)
class Policy(safety.ContentRules):
    """What the operator allows beyond the default policy."""

    cdi_dir: str = '/var/run/cdi'
    native_cdi: bool = False

    def __post_init__(self):
        super().__post_init__()
        if not safety.is_abs_normal(self.cdi_dir):
            raise ValueError('[oci_attach] cdi_spec_dir must be an absolute, '
                             'normalized path, not %r' % (self.cdi_dir,))
        self.validate('oci_attach')

    @classmethod
    def from_conf(cls, conf):
        group = conf.oci_attach
        return cls(cdi_dir=group.cdi_spec_dir,
                   mount_allowlist=group.mount_allowlist,
                   writable_mounts=group.writable_mounts,
                   extra_env=group.allowed_env,
                   allowed_majors=group.allowed_device_majors,
                   max_env_value=group.max_env_value_length,
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
