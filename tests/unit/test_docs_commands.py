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

"""Every command of the documentation is run by a test.

``tests/doc_commands.py`` finds the commands; these tests check that it
finds them all and that each one is given to a runner (or, rarely, left
out with a reason).  The runners are ``tests/functional/test_docs.py``
and ``tests/aio/test_docs.py``.
"""

import os
import re

import testtools

from tests import doc_commands


PAGE = """\
Title
=====

Run this:

.. code-block:: console

   $ openstack accelerator device profile create camera \\
       --group resources:CUSTOM_PERIPHERAL_CAMERA=1
   +-------+
   | name  |
   $ cyborg-peripherals discover --emulated

A plain literal block::

    ./tools/aio --emulated --keep
    aio: Keystone ...

Configuration is not a command:

.. code-block:: ini

   [oci_attach]
   cdi_spec_dir = /var/run/cdi

.. note::

   Inside a directive::

       openstack appcontainer run --device-profile ftdi IMAGE CMD

.. code-block:: console
   :caption: with an option

   $ zun-oci-attach translate '{"cdi_device":
       "x"}'
"""


class TestExtraction(testtools.TestCase):

    def test_commands_of_a_page(self):
        found = doc_commands.commands_in(PAGE, 'page.rst')
        self.assertEqual([
            (8, 'openstack accelerator device profile create camera '
                '--group resources:CUSTOM_PERIPHERAL_CAMERA=1'),
            (12, 'cyborg-peripherals discover --emulated'),
            (16, './tools/aio --emulated --keep'),
            (30, 'openstack appcontainer run --device-profile ftdi '
                 'IMAGE CMD'),
            (35, 'zun-oci-attach translate \'{"cdi_device":\n    "x"}\''),
        ], [(c.line, c.text) for c in found])
        self.assertEqual({'page.rst'}, {c.path for c in found})

    def test_output_of_a_console_block_is_not_a_command(self):
        text = ('.. code-block:: console\n\n'
                '   $ ./tools/aio --emulated --keep\n'
                '   export OS_USERNAME=admin\n'
                '   Tear it down with: ./tools/aio --teardown /tmp/x\n')
        self.assertEqual(['./tools/aio --emulated --keep'],
                         [c.text for c in doc_commands.commands_in(text)])

    def test_a_block_ends_at_the_first_line_not_indented(self):
        text = ('Example::\n\n    openstack a\n\n'
                'openstack b is prose.\n')
        self.assertEqual(['openstack a'],
                         [c.text for c in doc_commands.commands_in(text)])

    def test_substitute_replaces_whole_words_only(self):
        values = {'IMAGE': 'busybox', 'NAME': 'dev0',
                  '/etc/cyborg/cyborg.conf': '/tmp/c.conf'}
        self.assertEqual(
            "run busybox IMAGES MY_IMAGE x '=dev0\"' NAMES "
            "--config-file /tmp/c.conf /etc/cyborg/cyborg.conf.d",
            doc_commands.substitute(
                "run IMAGE IMAGES MY_IMAGE x '=NAME\"' NAMES "
                "--config-file /etc/cyborg/cyborg.conf "
                "/etc/cyborg/cyborg.conf.d", values))


class TestEveryCommandIsRun(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.commands = doc_commands.commands()

    def test_the_documentation_has_commands(self):
        pages = {c.path for c in self.commands}
        for page in ('README.rst', 'doc/source/try-it.rst',
                     'doc/source/user/index.rst'):
            self.assertIn(page, pages)

    def test_each_command_has_exactly_one_rule(self):
        wrong = ['%s:%d: %r matches %d rules'
                 % (c.path, c.line, c.text,
                    len(doc_commands.rules_for(c)))
                 for c in self.commands
                 if len(doc_commands.rules_for(c)) != 1]
        self.assertEqual([], wrong, 'give each command of the '
                         'documentation a rule in tests/doc_commands.py')

    def test_each_rule_is_used(self):
        unused = [rule.pattern for rule in doc_commands.RULES
                  if not any(re.match(rule.pattern, c.text)
                             for c in self.commands)]
        self.assertEqual([], unused)

    def test_commands_not_run_are_few_and_say_why(self):
        not_run = [rule for rule in doc_commands.RULES
                   if rule.where is None]
        self.assertLessEqual(len(not_run), 4)
        for rule in not_run:
            self.assertTrue(rule.reason, rule.pattern)
        for rule in doc_commands.RULES:
            if rule.where is not None:
                self.assertIsNone(rule.reason, rule.pattern)

    def test_each_runner_exists(self):
        for where in {r.where for r in doc_commands.RULES} - {None}:
            path = os.path.join(doc_commands.TOP, 'tests', where,
                                'test_docs.py')
            with open(path) as f:
                self.assertRegex(f.read(), r'by_page\(\s*doc_commands\.%s\)'
                                 % where.upper())
