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

"""Writing the host's CDI spec file, atomically.

Runtimes watch the CDI directories and may read at any moment, so the
spec is written to a temporary file in the same directory and renamed
over the old one; readers see the old or the new file, never a torn one.
The temporary name does not end in ``.json``, so runtimes ignore it.
"""

import os
import stat
import tempfile

from cyborg_peripherals import contract


SPEC_FILE = '%s-%s.json' % (contract.CDI_VENDOR, contract.CDI_CLASS)
SPEC_MODE = 0o644


def spec_path(directory):
    return os.path.join(directory, SPEC_FILE)


def check_directory(directory):
    if not isinstance(directory, str) or not os.path.isabs(directory) or \
            os.path.normpath(directory) != directory:
        raise ValueError('CDI spec directory must be an absolute, '
                         'normalized path: %r' % (directory,))


class UnsafeDirectory(ValueError):
    """The spec directory could be changed by someone other than root."""


def _check_owned_by_root(path, st, final):
    if stat.S_ISLNK(st.st_mode):
        raise UnsafeDirectory('%s is a symbolic link; set cdi_spec_dir to '
                              'the real directory' % path)
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafeDirectory('%s is not a directory' % path)
    if st.st_uid != 0:
        raise UnsafeDirectory('%s is owned by uid %d, not root; root must '
                              'own the spec directory and its parents'
                              % (path, st.st_uid))
    # Above the spec directory a sticky bit (as on /tmp) keeps others
    # from renaming what they do not own; the directory itself must not
    # be writable by others at all.
    writable = st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    if writable and (final or not st.st_mode & stat.S_ISVTX):
        raise UnsafeDirectory('%s has mode %04o; remove group and other '
                              'write permission' % (path,
                                                    stat.S_IMODE(st.st_mode)))


def prepare_directory(directory):
    """Check (and make, if only it is missing) the root-owned directory.

    For the privileged writer: every parent must be a real directory
    owned by root that others cannot change; missing parents are not
    created.  A missing spec directory is created 0755 whatever the
    umask (privsep's is 0).
    """
    check_directory(directory)
    parent = os.path.dirname(directory)
    # The parents as named (a root-owned link such as /var/run -> /run
    # in a root-owned directory is fine) and as resolved.
    for named in (True, False):
        path = '/'
        for part in [''] + (parent if named else os.path.realpath(
                parent)).split('/')[1:]:
            path = os.path.join(path, part)
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                raise UnsafeDirectory(
                    '%s does not exist; create it (owned by root, mode '
                    '0755) or set cdi_spec_dir to an existing directory'
                    % path) from None
            if not (named and stat.S_ISLNK(st.st_mode) and st.st_uid == 0):
                _check_owned_by_root(path, st, final=False)
    try:
        os.mkdir(directory, 0o755)
    except FileExistsError:
        pass
    else:
        os.chmod(directory, 0o755)  # noqa: S103 - world-readable spec dir
    _check_owned_by_root(directory, os.lstat(directory), final=True)


def atomic_write(directory, content):
    """Replace the spec in ``directory``, which must exist.

    No directory is made here: under privsep's umask 0 missing parents
    would be made world-writable; see :func:`prepare_directory`.
    """
    check_directory(directory)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix='.' + SPEC_FILE,
                               suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as f:
            os.fchmod(f.fileno(), SPEC_MODE)
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, spec_path(directory))
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def remove(directory):
    check_directory(directory)
    try:
        os.unlink(spec_path(directory))
    except FileNotFoundError:
        pass


def read(directory):
    try:
        with open(spec_path(directory), 'rb') as f:
            return f.read()
    except FileNotFoundError:
        return None
