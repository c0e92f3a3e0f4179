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

"""The Zun release and our patch series for it (tools/zun-patches)."""

import base64
import csv
import hashlib
import os
import re
import shutil
import subprocess
from importlib import metadata

import fixtures


TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
PATCH_DIR = os.path.join(TOP, 'tools', 'zun-patches')
INSTALL_ZUN = os.path.join(TOP, 'tools', 'install-zun')
RELEASE = '18.0.0'


def patch_series():
    return sorted(os.path.join(PATCH_DIR, name)
                  for name in os.listdir(PATCH_DIR)
                  if name.endswith('.patch'))


def zun_part(patch_path):
    """The zun/ file diffs of a format-patch file, as install-zun applies."""
    out, keep = [], False
    with open(patch_path) as f:
        for line in f:
            m = re.match(r'diff --git a/(\S+) b/(\S+)', line)
            if m:
                keep = m.group(2).startswith('zun/')
            elif line == '-- \n':
                keep = False
            if keep:
                out.append(line)
    return ''.join(out)


def touched_files(diff):
    return set(re.findall(r'^diff --git a/\S+ b/(\S+)$', diff, re.MULTILINE))


def site_packages():
    """The directory the installed zun package is in."""
    import zun
    return os.path.dirname(os.path.dirname(zun.__file__))


def record_hashes(dist):
    """Installed file -> sha256 as recorded by pip at install time."""
    hashes = {}
    for row in csv.reader(dist.read_text('RECORD').splitlines()):
        if len(row) == 3 and row[1].startswith('sha256='):
            hashes[row[0]] = row[1][len('sha256='):]
    return hashes


def file_hash(path):
    with open(path, 'rb') as f:
        return base64.urlsafe_b64encode(
            hashlib.sha256(f.read()).digest()).rstrip(b'=').decode()


def tree_hashes(top):
    """Relative path -> hash of every file under top but bytecode."""
    hashes = {}
    for root, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if d != '__pycache__']
        for name in files:
            path = os.path.join(root, name)
            hashes[os.path.relpath(path, top)] = file_hash(path)
    return hashes


class PristineZun(fixtures.Fixture):
    """The released Zun, recovered from the patched install.

    Copies the installed ``zun`` package and reverts our series on the
    copy, last patch first, then checks every file the series touches
    against the hashes pip recorded when it installed the release: so
    the installed Zun is exactly the release plus the whole series.
    ``python_path`` is a directory holding the released ``zun``.
    """

    def _setUp(self):
        dist = metadata.distribution('zun')
        if dist.version != RELEASE:
            raise AssertionError('Zun %s is installed; the series is for %s'
                                 % (dist.version, RELEASE))
        site = site_packages()
        self.python_path = self.useFixture(fixtures.TempDir()).path
        shutil.copytree(os.path.join(site, 'zun'),
                        os.path.join(self.python_path, 'zun'),
                        ignore=shutil.ignore_patterns('__pycache__'))
        self.touched = set()
        for patch in reversed(patch_series()):
            diff = zun_part(patch)
            self.touched |= touched_files(diff)
            proc = subprocess.run(
                ['patch', '-R', '-p1', '--batch', '--forward',
                 '--no-backup-if-mismatch', '--reject-file=-',
                 '-d', self.python_path],
                input=diff, text=True, capture_output=True)
            if proc.returncode:
                raise AssertionError(
                    'The installed Zun does not carry %s; run '
                    'tools/install-zun: %s' % (os.path.basename(patch),
                                               proc.stdout[-2000:]))
        recorded = record_hashes(dist)
        for path in sorted(self.touched):
            copy = os.path.join(self.python_path, path)
            if path not in recorded:
                # Created by the series, so reverting removed it.
                if os.path.exists(copy):
                    raise AssertionError('%s is left after reverting' % path)
                continue
            if file_hash(copy) != recorded[path]:
                raise AssertionError(
                    '%s reverted is not the released file' % path)
