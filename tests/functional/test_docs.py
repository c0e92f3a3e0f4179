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

"""The documentation's commands that need no cloud, run as written.

One test per page, running its commands in document order (see
``tests/doc_commands.py``); the examples' placeholders are replaced by
``VALUES`` only.
"""

import os
import re
import sys

import testtools

from tests import doc_commands


#: What the documentation's example values stand for on this machine.
VALUES = {
    # install/index.rst: the Python of Cyborg's environment, here this
    # virtualenv's (which carries the patched Cyborg already, so the
    # command finds it patched and leaves it alone).
    '/path/to/cyborg/venv/bin/python': sys.executable,
}


class TestDocCommands(testtools.TestCase):

    def run_page(self, commands):
        # As a user's shell: no umockdev testbed of this test process.
        env = {k: v for k, v in os.environ.items()
               if k not in ('LD_PRELOAD', 'UMOCKDEV_DIR')}
        for command in commands:
            text = doc_commands.substitute(command.text, VALUES)
            result = doc_commands.run(text, env)
            self.assertEqual(0, result.returncode,
                             doc_commands.explain(command, result))
            self.assertTrue(result.stdout.strip(),
                            doc_commands.explain(command, result))


def _add_tests():
    for page, commands in doc_commands.by_page(
            doc_commands.FUNCTIONAL).items():
        name = 'test_' + re.sub(r'\W+', '_', page.rsplit('.', 1)[0])
        setattr(TestDocCommands, name,
                lambda self, c=commands: self.run_page(c))


_add_tests()
