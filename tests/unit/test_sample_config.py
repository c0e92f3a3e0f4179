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

"""The shipped sample configuration files match the options' code."""

import os
import subprocess
import sys

import fixtures
import testtools


TOP = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
GENERATOR_CONFIGS = ('etc/cyborg-peripherals/config-generator.conf',
                     'etc/zun-oci-attach/config-generator.conf',
                     'etc/edge-channels/config-generator.conf')


class TestSampleConfig(testtools.TestCase):

    def test_samples_are_regenerated(self):
        out = self.useFixture(fixtures.TempDir()).path
        for config in GENERATOR_CONFIGS:
            # Repeated "namespace" lines: not an ini file configparser
            # takes, and only output_file is needed.
            with open(os.path.join(TOP, config)) as f:
                shipped = next(line.split('=', 1)[1].strip()
                               for line in f
                               if line.startswith('output_file'))
            fresh = os.path.join(out, os.path.basename(shipped))
            # A process of its own: the generator imports every option
            # module, and Cyborg's and Zun's options clash.
            subprocess.run(
                [sys.executable, '-m', 'oslo_config.generator',
                 '--config-file', os.path.join(TOP, config),
                 '--output-file', fresh],
                check=True, cwd=TOP, capture_output=True)
            with open(os.path.join(TOP, shipped)) as f, open(fresh) as g:
                self.assertEqual(
                    f.read(), g.read(),
                    '%s is out of date: run tox -e genconfig' % shipped)
