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

import inspect
import re

import testtools

from edge_channels import exception
from edge_common import exception as common


def _classes():
    return [cls for _, cls in inspect.getmembers(exception, inspect.isclass)
            if issubclass(cls, exception.EdgeChannelsException)]


class ExceptionTest(testtools.TestCase):

    def test_every_template_formats_with_its_own_names(self):
        for cls in _classes():
            names = re.findall(r'%\((\w+)\)s', cls._msg_fmt)
            e = cls(**{n: '<%s>' % n for n in names})
            for n in names:
                self.assertIn('<%s>' % n, str(e), cls.__name__)
            self.assertNotIn('%(', str(e), cls.__name__)

    def test_codes_are_http_errors(self):
        for cls in _classes():
            self.assertTrue(400 <= cls.code < 600, cls.__name__)

    def test_bad_input_is_a_value_error_with_400(self):
        for cls in _classes():
            if issubclass(cls, exception.Invalid):
                self.assertTrue(issubclass(cls, ValueError))
                self.assertEqual(400, cls.code)

    def test_explicit_message_wins(self):
        e = exception.ChannelNotFound('gone')
        self.assertEqual('gone', str(e))
        self.assertEqual(404, e.code)

    def test_missing_argument_is_a_bug(self):
        self.assertRaises(KeyError, exception.ChannelNotFound)

    def test_quote_cuts_long_input(self):
        self.assertEqual(common.QUOTE_MAX,
                         len(exception.quote('x' * 1000)))
        self.assertEqual("'ab'", exception.quote('ab'))
