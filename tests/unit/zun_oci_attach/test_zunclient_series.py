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

"""tools/zunclient-patches: ready for Gerrit, and installed."""

import os
import re
import shutil
import subprocess
import sysconfig

import fixtures
import testtools

from tests import patch_series


BLUEPRINT = 'Implements: blueprint container-device-profiles'


class TestZunclientSeries(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.series = patch_series.series('zunclient')
        self.assertNotEqual([], self.series)

    def test_gerrit_metadata(self):
        change_ids = []
        for number, path in enumerate(self.series, 1):
            name = os.path.basename(path)
            with open(path) as f:
                message, diff = f.read().split('\n---\n', 1)
            self.assertTrue(message.startswith('Subject: [PATCH %d/%d] ' % (
                number, len(self.series))), name)
            # The submitter supplies author and sign-off.
            self.assertEqual([], re.findall(
                r'^(?:From|Date|Signed-off-by):.*$', message, re.MULTILINE),
                name)
            self.assertIn('\n%s\n' % BLUEPRINT, message, name)
            found = re.findall(r'^Change-Id: (I[0-9a-f]{40})$', message,
                               re.MULTILINE)
            self.assertEqual(1, len(found), name)
            self.assertTrue(message.rstrip().endswith(found[0]), name)
            change_ids += found
            for touched in patch_series.touched_files(diff):
                self.assertRegex(touched, r'^(zunclient|releasenotes)/')
        self.assertEqual(len(change_ids), len(set(change_ids)))

    def test_installed_client_carries_the_series(self):
        # tools/install-zunclient applies the zunclient/ part of each
        # patch; the series is applied if it reverts cleanly, with no
        # offset, on a copy of the installed package.
        copy = self.useFixture(fixtures.TempDir()).path
        shutil.copytree(os.path.join(sysconfig.get_paths()['purelib'],
                                     'zunclient'),
                        os.path.join(copy, 'zunclient'))
        for path in reversed(self.series):
            proc = subprocess.run(
                ['patch', '-p1', '-R', '--batch', '-d', copy],
                input=patch_series.package_part(path, 'zunclient'),
                text=True, capture_output=True)
            self.assertEqual(0, proc.returncode,
                             'run tools/install-zunclient: %s'
                             % proc.stdout)
            self.assertNotIn('Hunk', proc.stdout)
