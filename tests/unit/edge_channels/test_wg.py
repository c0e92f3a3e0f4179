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

"""A failed command's exception leaves oslo.privsep's daemon whole."""

import msgpack
import testtools
from oslo_utils import importutils

from edge_channels import wg


class CommandFailedTest(testtools.TestCase):

    def test_rebuilt_as_privsep_rebuilds_it(self):
        # oslo.privsep sends (class name, args) out of its daemon with
        # msgpack and raises class(*args) in the caller.
        e = self.assertRaises(wg.CommandFailed, wg.run,
                              ['ip', 'link', 'show', 'dev', 'no-such-ec0'])
        name = '%s.%s' % (type(e).__module__, type(e).__name__)
        args = msgpack.unpackb(msgpack.packb(e.args))
        again = importutils.import_class(name)(*args)
        self.assertEqual(str(e), str(again))
        self.assertEqual(e.returncode, again.returncode)
        self.assertNotEqual(0, again.returncode)
        self.assertIn('ip link show dev no-such-ec0 exited with', str(again))
        self.assertIn('no-such-ec0', again.stderr)
