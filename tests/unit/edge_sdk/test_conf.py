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

"""The shipped sample of edge-sdk.conf matches the options' code."""

import os
import subprocess
import sys

import fixtures
import testtools


TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
GENERATOR = 'etc/edge-sdk/config-generator.conf'
SAMPLE = 'etc/edge-sdk/edge-sdk.conf.sample'


class SampleConfigTest(testtools.TestCase):

    def test_sample_is_regenerated(self):
        fresh = os.path.join(self.useFixture(fixtures.TempDir()).path,
                             'edge-sdk.conf.sample')
        subprocess.run(
            [sys.executable, '-m', 'oslo_config.generator',
             '--config-file', os.path.join(TOP, GENERATOR),
             '--output-file', fresh],
            check=True, cwd=TOP, capture_output=True)
        with open(os.path.join(TOP, SAMPLE)) as f, open(fresh) as g:
            self.assertEqual(f.read(), g.read(),
                             '%s is out of date: run oslo-config-generator '
                             '--config-file %s' % (SAMPLE, GENERATOR))
