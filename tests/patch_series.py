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

"""Our upstream patch series (tools/<name>-patches), read as tools/ does."""

import ast
import base64
import csv
import hashlib
import importlib
import os
import re
import shutil
import subprocess
from importlib import metadata

import fixtures


TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def series(name):
    """The patch files of tools/``name``-patches, in the order applied."""
    directory = os.path.join(TOP, 'tools', '%s-patches' % name)
    return sorted(os.path.join(directory, patch)
                  for patch in os.listdir(directory)
                  if patch.endswith('.patch'))


def package_part(patch_path, package):
    """The ``package``/ file diffs of a format-patch file.

    That is what tools/install-patched applies to an installed release.
    """
    out, keep = [], False
    with open(patch_path) as f:
        for line in f:
            m = re.match(r'diff --git a/(\S+) b/(\S+)', line)
            if m:
                keep = m.group(2).startswith(package + '/')
            elif line == '-- \n':
                keep = False
            if keep:
                out.append(line)
    return ''.join(out)


def test_changes(patches, package):
    """(path, test method name) -> +1 for each test method the series
    adds to ``package``/, -1 for each it removes (a changed ``def``
    line counts 0).
    """
    changes = {}
    for patch in patches:
        path = None
        for line in package_part(patch, package).splitlines():
            m = re.match(r'diff --git a/\S+ b/(\S+)', line)
            if m:
                path = m.group(1)
                continue
            m = re.match(r'([+-])\s+def (test_\w+)\(', line)
            if m:
                key = (path, m.group(2))
                changes[key] = (changes.get(key, 0) +
                                (1 if m.group(1) == '+' else -1))
    return {key: n for key, n in changes.items() if n}


def test_id(site_packages, path, name):
    """The ID of test method ``name`` of the installed module ``path``
    (relative to ``site_packages``): module.Class.name.
    """
    with open(os.path.join(site_packages, path)) as f:
        tree = ast.parse(f.read())
    module = path[:-len('.py')].replace('/', '.')
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and any(
                isinstance(item, ast.FunctionDef) and item.name == name
                for item in node.body):
            return '%s.%s.%s' % (module, node.name, name)
    raise LookupError('no class of %s defines %s' % (path, name))


def touched_files(diff):
    return set(re.findall(r'^diff --git a/\S+ b/(\S+)$', diff, re.MULTILINE))


def record_hashes(dist):
    """Installed file -> sha256 as recorded by pip at install time."""
    hashes = {}
    for row in csv.reader(dist.read_text('RECORD').splitlines()):
        if len(row) == 3 and row[1].startswith('sha256='):
            hashes[row[0]] = row[1][len('sha256='):]
    return hashes


def file_hash(path):
    """The sha256 of a file, written as pip's RECORD writes it."""
    with open(path, 'rb') as f:
        return base64.urlsafe_b64encode(
            hashlib.sha256(f.read()).digest()).rstrip(b'=').decode()


class PristineRelease(fixtures.Fixture):
    """The released package, recovered from the patched install.

    Copies the installed ``package`` and reverts the series on the copy,
    last patch first, then checks every file the series touches against
    the hashes pip recorded when it installed the release: so the
    installed package is exactly the release plus the whole series.
    ``python_path`` is a directory holding the released package, to put
    first on PYTHONPATH; ``touched`` the files the series changes.
    """

    def __init__(self, name, dist, package):
        super().__init__()
        self.name = name
        self.dist = dist
        self.package = package

    def _setUp(self):
        module = importlib.import_module(self.package)
        site = os.path.dirname(os.path.dirname(module.__file__))
        self.python_path = self.useFixture(fixtures.TempDir()).path
        shutil.copytree(os.path.join(site, self.package),
                        os.path.join(self.python_path, self.package),
                        ignore=shutil.ignore_patterns('__pycache__'))
        self.touched = set()
        for patch in reversed(series(self.name)):
            diff = package_part(patch, self.package)
            self.touched |= touched_files(diff)
            proc = subprocess.run(
                ['patch', '-R', '-p1', '--batch', '--forward',
                 '--no-backup-if-mismatch', '--reject-file=-',
                 '-d', self.python_path],
                input=diff, text=True, capture_output=True)
            if proc.returncode:
                raise AssertionError(
                    'The installed %s does not carry %s; run '
                    'tools/install-%s: %s' % (
                        self.package, os.path.basename(patch), self.name,
                        proc.stdout[-2000:]))
        recorded = record_hashes(metadata.distribution(self.dist))
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
