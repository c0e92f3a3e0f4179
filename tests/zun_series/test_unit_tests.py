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

"""Zun's own unit tests, shipped in its wheel, on the patched install.

Install the series first with ``tools/install-zun PYTHON``.
"""

import testtools

from tests import patch_series
from tests import upstream_units
from tests.zun_series import zun_release


#: Zun 18.0.0's own unit tests in each group of directories that a test
#: below runs.  What the series adds or removes is read from its patches.
RELEASE_COUNTS = {
    ('objects', 'db', 'container', 'compute', 'common'): 551,
    ('scheduler',): 169,
    ('api',): 294,
}


def _prefixes(dirs):
    return tuple('zun/tests/unit/%s/' % d for d in dirs)


class ZunUnitTests(testtools.TestCase):

    def setUp(self):
        super().setUp()
        # Fails, rather than testing the release, if the series is not
        # installed.
        self.useFixture(zun_release.PristineZun())
        self.changes = patch_series.test_changes(
            zun_release.patch_series(), 'zun')

    def _check(self, dirs):
        """Every test the series adds under ``dirs`` passes, nothing
        fails, and no fewer pass than the release's plus the series'.

        Zun's tests never skip here; a run that loads fewer (a module
        that fails to import is an error, but one that is not found is
        not) fails.
        """
        ours = {key: n for key, n in self.changes.items()
                if key[0].startswith(_prefixes(dirs))}
        site = zun_release.site_packages()
        must_pass = [patch_series.test_id(site, path, name)
                     for (path, name), n in ours.items() if n > 0]
        upstream_units.check(
            self, ['discover:zun/tests/unit/%s' % d for d in dirs],
            must_pass, RELEASE_COUNTS[dirs] + sum(ours.values()),
            timeout=600)

    def test_every_added_test_runs(self):
        covered = _prefixes(d for dirs in RELEASE_COUNTS for d in dirs)
        self.assertEqual([], [key for key in self.changes
                              if not key[0].startswith(covered)])

    def test_objects_db_and_drivers(self):
        self._check(('objects', 'db', 'container', 'compute', 'common'))

    def test_scheduler(self):
        self._check(('scheduler',))

    def test_api(self):
        # Needs WebTest (in our test-requirements.txt, as in Zun's).
        self._check(('api',))
