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


def atomic_write(directory, content):
    check_directory(directory)
    os.makedirs(directory, mode=0o755, exist_ok=True)
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
