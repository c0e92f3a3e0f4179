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

"""Running an upstream project's shipped unit tests on our patched install.

Cyborg's and Zun's wheels ship their unit tests; our suites run the parts
our patch series touch.  They run in a separate process (they set global
configuration, and Cyborg and Zun clash) and report each test's outcome,
so a caller can require that some tests passed rather than skipped.
"""

import collections
import json
import os
import subprocess
import sys

import fixtures
from testtools import content


# argv: OUTPUT_FILE ITEM...  An ITEM "import:MODULE" is imported first;
# "discover:PACKAGE/DIR" discovers the tests under that directory of an
# installed package; anything else is a dotted test name.
RUNNER = '''
import importlib
import json
import os
import sys
import unittest

import testtools

outcomes = {}
reasons = {}


def record(test, status, start_time, stop_time, tags, details):
    outcomes[test.id()] = status
    if status not in ('success', 'xfail'):
        reasons[test.id()] = ''.join(
            d.as_text() for d in details.values())[-3000:]


loader = unittest.TestLoader()
suite = unittest.TestSuite()
for item in sys.argv[2:]:
    kind, _, what = item.partition(':')
    if kind == 'import':
        importlib.import_module(what)
    elif kind == 'discover':
        package, _, subdir = what.partition('/')
        top = os.path.dirname(os.path.dirname(
            importlib.import_module(package).__file__))
        suite.addTest(loader.discover(os.path.join(top, package, subdir),
                                      top_level_dir=top))
    else:
        suite.addTest(loader.loadTestsFromName(item))
result = testtools.TestByTestResult(record)
result.startTestRun()
suite.run(result)
result.stopTestRun()
with open(sys.argv[1], 'w') as f:
    json.dump({'outcomes': outcomes, 'reasons': reasons}, f)
'''


def run(test, items, timeout=900):
    """Run upstream tests; (outcome by test id, counts, reasons).

    ``reasons`` holds the details of every test that did not pass.

    ``test`` is the calling TestCase: it gets the counts as a detail, and
    a runner that crashes fails it.
    """
    out = os.path.join(test.useFixture(fixtures.TempDir()).path,
                       'outcomes.json')
    proc = subprocess.run(
        [sys.executable, '-c', RUNNER, out] + list(items),
        capture_output=True, text=True, timeout=timeout)
    test.assertEqual(0, proc.returncode, proc.stderr[-3000:])
    with open(out) as f:
        result = json.load(f)
    outcomes = result['outcomes']
    counts = collections.Counter(outcomes.values())
    test.addDetail('outcomes', content.text_content(
        ', '.join('%s: %d' % kv for kv in sorted(counts.items()))))
    return outcomes, counts, result['reasons']


def check(test, items, must_pass, min_passed, timeout=900):
    """Fail unless nothing failed, must_pass passed and enough passed.

    A run that loads or passes fewer tests than ``min_passed`` (a module
    that fails to import, tests that skip for want of a service) proves
    nothing about the series, so it fails too.
    """
    outcomes, counts, reasons = run(test, items, timeout)
    # TestByTestResult says 'failure', not 'fail': anything but a pass
    # or a declared skip or expected failure is a failure.
    test.assertEqual({}, {name: reasons[name]
                          for name, status in outcomes.items()
                          if status not in ('success', 'skip', 'xfail')})
    for name in must_pass:
        test.assertEqual('success', outcomes.get(name),
                         '%s did not pass: %s' % (name, reasons.get(name)))
    test.assertGreaterEqual(counts['success'], min_passed)
    return counts
