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

"""Specs follow the OpenStack specs template and render cleanly."""

import glob
import os

import docutils.core
import testtools
from docutils import nodes


TOP = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))

# The top-level sections of the cyborg-specs template, in order.
TEMPLATE = ['Problem description', 'Use Cases', 'Proposed change',
            'Alternatives', 'Data model impact', 'REST API impact',
            'Security impact', 'Notifications impact',
            'Other end user impact', 'Performance Impact',
            'Other deployer impact', 'Developer impact', 'Implementation',
            'Dependencies', 'Testing', 'Documentation Impact', 'References']


class TestSpecs(testtools.TestCase):

    def specs(self):
        found = sorted(glob.glob(os.path.join(TOP, 'specs', '*.rst')))
        self.assertTrue(found)
        return found

    def test_render_without_warnings(self):
        for path in self.specs():
            with open(path) as f:
                docutils.core.publish_doctree(
                    f.read(), source_path=path,
                    settings_overrides={'halt_level': 2,
                                        'report_level': 2})

    def test_template_sections_in_order(self):
        for path in self.specs():
            with open(path) as f:
                tree = docutils.core.publish_doctree(f.read())
            titles = [s.next_node(nodes.title).astext()
                      for s in tree.findall(nodes.section)
                      if isinstance(s.parent, nodes.document)
                      or s.parent is tree.next_node(nodes.section)]
            present = [t for t in titles if t in TEMPLATE]
            self.assertEqual(TEMPLATE, present, os.path.basename(path))
