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

"""The shipped sample configuration and policy files match the code."""

import glob
import os
import subprocess
import sys

import fixtures
import testtools


TOP = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
#: Every generator file shipped, so that a new sample cannot go stale.
GENERATOR_CONFIGS = sorted(
    os.path.relpath(path, TOP)
    for path in glob.glob(os.path.join(TOP, 'etc', '*',
                                       '*config-generator.conf')))
POLICY_GENERATOR_CONFIGS = sorted(
    os.path.relpath(path, TOP)
    for path in glob.glob(os.path.join(TOP, 'etc', '*',
                                       '*policy-generator.conf')))


def _output_file(config):
    # Repeated "namespace" lines: not an ini file configparser takes, and
    # only output_file is needed.
    with open(os.path.join(TOP, config)) as f:
        return next(line.split('=', 1)[1].strip()
                    for line in f if line.startswith('output_file'))


class TestSampleConfig(testtools.TestCase):

    def _check(self, generator, configs, tox_env):
        self.assertNotEqual([], configs)
        out = self.useFixture(fixtures.TempDir()).path
        for config in configs:
            shipped = _output_file(config)
            fresh = os.path.join(out, os.path.basename(shipped))
            # A process of its own: the generator imports every option
            # module, and Cyborg's and Zun's options clash.
            subprocess.run(
                generator + ['--config-file', os.path.join(TOP, config),
                 '--output-file', fresh],
                check=True, cwd=TOP, capture_output=True)
            with open(os.path.join(TOP, shipped)) as f, open(fresh) as g:
                self.assertEqual(
                    f.read(), g.read(),
                    '%s is out of date: run tox -e %s' % (shipped, tox_env))

    def test_samples_are_regenerated(self):
        self._check([sys.executable, '-m', 'oslo_config.generator'],
                    GENERATOR_CONFIGS, 'genconfig')

    def test_policy_samples_are_regenerated(self):
        # oslo.policy's generator is a console script only.
        self._check([os.path.join(os.path.dirname(sys.executable),
                                  'oslopolicy-sample-generator')],
                    POLICY_GENERATOR_CONFIGS, 'genpolicy')

    def test_tox_regenerates_every_sample(self):
        with open(os.path.join(TOP, 'tox.ini')) as f:
            tox = f.read()
        for config in GENERATOR_CONFIGS + POLICY_GENERATOR_CONFIGS:
            self.assertIn('--config-file %s\n' % config, tox)
