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

"""Our Zun patch series: its files, install-zun and the migration.

Install the series first with ``tools/install-zun PYTHON``.
"""

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import uuid

import fixtures
import sqlalchemy as sa
import testtools

from tests import patch_series as patch_series_mod
from tests.cyborg import cyborg_db
from tests.zun_series import zun_release


BLUEPRINT = 'Implements: blueprint container-device-profiles'
#: What a fix of Zun's own that rides in the series (and so does not
#: implement the blueprint) says of itself; tested below.
STANDALONE = 'it applies to Zun %s as is' % zun_release.RELEASE
# The last revision of Zun 18.0.0 and the one the series adds.
RELEASE_HEAD = '3f2b36231bee'
SERIES_HEAD = '10825ed776ad'


class PatchFilesTest(testtools.TestCase):
    """The series is ready for Gerrit, and carries no one's identity."""

    def test_gerrit_metadata(self):
        series = zun_release.patch_series()
        self.assertNotEqual([], series)
        change_ids = []
        for number, path in enumerate(series, 1):
            with open(path) as f:
                message = f.read().split('\n---\n', 1)[0]
            name = os.path.basename(path)
            self.assertTrue(message.startswith(
                'Subject: [PATCH %d/%d] ' % (number, len(series))), name)
            # The submitter supplies author and sign-off (contributor
            # guide), so no placeholder identity can be submitted.
            self.assertEqual(
                [], re.findall(r'^(?:From|Date|Signed-off-by):.*$',
                               message, re.MULTILINE), name)
            if '\n%s\n' % BLUEPRINT not in message:
                self.assertIn(STANDALONE, ' '.join(message.split()), name)
            found = re.findall(r'^Change-Id: (I[0-9a-f]{40})$', message,
                               re.MULTILINE)
            self.assertEqual(1, len(found), name)
            change_ids += found
            self.assertTrue(message.rstrip().endswith(found[0]), name)
        self.assertEqual(len(change_ids), len(set(change_ids)))


class InstalledSeriesTest(testtools.TestCase):
    """The installed Zun is the release with exactly our series."""

    def _apply(self, patch, directory, offsets=False):
        proc = subprocess.run(
            ['patch', '-p1', '--batch', '--forward',
             '--no-backup-if-mismatch', '-d', directory],
            input=zun_release.zun_part(patch), text=True,
            capture_output=True)
        self.assertEqual(0, proc.returncode, proc.stdout)
        # In the series not even with an offset, and never with fuzz.
        self.assertNotIn('fuzz' if offsets else 'Hunk', proc.stdout)

    def test_standalone_fixes_apply_to_release(self):
        # The fixes that say they stand alone apply to the release
        # without the rest of the series, so they can be backported.
        fixes = []
        for patch in zun_release.patch_series():
            with open(patch) as f:
                message = f.read().split('\n---\n', 1)[0]
            if STANDALONE in ' '.join(message.split()):
                fixes.append(patch)
        self.assertNotEqual([], fixes)
        for patch in fixes:
            pristine = self.useFixture(zun_release.PristineZun())
            self._apply(patch, pristine.python_path, offsets=True)

    def test_series_applies_to_release(self):
        # Reverting the series gives back the released files (checked
        # against pip's RECORD by the fixture); applying it again to them
        # gives the installed files.
        pristine = self.useFixture(zun_release.PristineZun())
        for patch in zun_release.patch_series():
            self._apply(patch, pristine.python_path)
        site = zun_release.site_packages()
        for path in sorted(pristine.touched):
            self.assertEqual(
                patch_series_mod.file_hash(os.path.join(site, path)),
                patch_series_mod.file_hash(
                    os.path.join(pristine.python_path, path)), path)


class InstallZunTest(testtools.TestCase):
    """tools/install-zun in a scratch environment holding stock Zun."""

    def setUp(self):
        super().setUp()
        pristine = self.useFixture(zun_release.PristineZun())
        venv = self.useFixture(fixtures.TempDir()).path
        base = getattr(sys, '_base_executable', sys.executable)
        subprocess.run([base, '-m', 'venv', '--without-pip', venv],
                       check=True)
        self.python = os.path.join(venv, 'bin', 'python')
        self.site = subprocess.run(
            [self.python, '-c', 'import sysconfig; '
             'print(sysconfig.get_paths()["purelib"])'],
            check=True, capture_output=True, text=True).stdout.strip()
        # Stock Zun, as pip installed it, in the scratch environment;
        # everything else (pip, Zun's requirements) from ours.
        shutil.copytree(os.path.join(pristine.python_path, 'zun'),
                        os.path.join(self.site, 'zun'))
        dist_info = 'zun-%s.dist-info' % zun_release.RELEASE
        shutil.copytree(os.path.join(zun_release.site_packages(), dist_info),
                        os.path.join(self.site, dist_info))
        with open(os.path.join(self.site, 'zz-project.pth'), 'w') as f:
            f.write(sysconfig.get_paths()['purelib'] + '\n')

    def _install(self):
        env = {k: v for k, v in os.environ.items()
               if k not in ('PYTHONPATH', 'VIRTUAL_ENV')}
        proc = subprocess.run([zun_release.INSTALL_ZUN, self.python],
                              capture_output=True, text=True, env=env,
                              timeout=600)
        self.assertEqual(0, proc.returncode, proc.stdout + proc.stderr)
        return proc.stdout

    def test_install_then_again(self):
        installed = zun_release.tree_hashes(
            os.path.join(zun_release.site_packages(), 'zun'))
        scratch = os.path.join(self.site, 'zun')
        self.assertNotEqual(installed, zun_release.tree_hashes(scratch))

        out = self._install()
        self.assertEqual(
            ['install-zun: applied %s' % os.path.basename(p)
             for p in zun_release.patch_series()],
            out.splitlines())
        self.assertEqual(installed, zun_release.tree_hashes(scratch))

        out = self._install()
        self.assertIn('patch series already applied', out)
        self.assertEqual(installed, zun_release.tree_hashes(scratch))

    def test_partly_patched_install(self):
        # As after an older, shorter series, or a file edited by hand:
        # the release is reinstalled, then the whole series applied.
        models = os.path.join(self.site, 'zun', 'db', 'sqlalchemy',
                              'models.py')
        with open(models, 'a') as f:
            f.write('# edited\n')
        self._install()
        self.assertEqual(
            zun_release.tree_hashes(
                os.path.join(zun_release.site_packages(), 'zun')),
            zun_release.tree_hashes(os.path.join(self.site, 'zun')))


class MariaDBMigrationTest(testtools.TestCase):
    """The series' migration on a Zun 18.0.0 database (MariaDB).

    Zun's own migration tests cannot load with the oslo.db we run, and
    Zun's alembic chain does not run on SQLite, so this runs
    ``zun-db-manage`` against MariaDB.
    """

    def setUp(self):
        super().setUp()
        self.url = self.useFixture(cyborg_db.MariaDBDatabase()).url
        conf = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'zun.conf')
        with open(conf, 'w') as f:
            f.write('[database]\nconnection = %s\n' % self.url)
        self.manage = [os.path.join(os.path.dirname(sys.executable),
                                    'zun-db-manage'), '--config-file', conf]
        self.engine = sa.create_engine(self.url)
        self.addCleanup(self.engine.dispose)

    def _manage(self, *args):
        proc = subprocess.run(self.manage + list(args), capture_output=True,
                              text=True, timeout=300)
        self.assertEqual(0, proc.returncode, proc.stderr[-3000:])
        return proc.stdout + proc.stderr

    def test_upgrade_keeps_containers(self):
        self._manage('upgrade', RELEASE_HEAD)
        uuids = [str(uuid.uuid4()) for _ in range(2)]
        with self.engine.begin() as conn:
            for n, u in enumerate(uuids):
                conn.execute(sa.text(
                    "INSERT INTO container (uuid, name, project_id, image,"
                    " entrypoint) VALUES (:u, :n, 'p', 'cirros', '[]')"),
                    {'u': u, 'n': 'c%d' % n})

        self._manage('upgrade')

        self.assertIn(SERIES_HEAD, self._manage('version'))
        column = {c['name']: c for c in sa.inspect(self.engine).get_columns(
            'container')}['device_profiles']
        self.assertIsInstance(column['type'], sa.Text)
        self.assertTrue(column['nullable'])
        with self.engine.connect() as conn:
            rows = conn.execute(sa.text(
                'SELECT uuid, device_profiles FROM container ORDER BY name'
            )).fetchall()
        self.assertEqual([(u, None) for u in uuids], [tuple(r) for r in rows])
