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

"""The privileged CDI writer, run in a real privsep daemon."""

import os

import fixtures
from oslo_privsep import priv_context

from cyborg_peripherals import contract
from cyborg_peripherals import privileged
from cyborg_peripherals.cdi import spec
from cyborg_peripherals.cdi import writer
from tests import base


def _doc(kind=contract.CDI_KIND):
    return spec.render(spec.build_spec(kind, [('dev-a', {'deviceNodes': [
        spec.device_node_dict('/dev/null', 'c', 1, 3)]})]))


class TestPrivilegedWriter(base.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if os.geteuid() != 0:
            raise cls.skipException('needs root to fork the daemon')
        if privileged.cdi_pctxt.channel is None:
            privileged.cdi_pctxt.start(method=priv_context.Method.FORK)

    def setUp(self):
        super().setUp()
        self.dir = os.path.join(self.useFixture(fixtures.TempDir()).path,
                                'cdi')

    def test_writes_root_owned_world_readable_spec(self):
        privileged.write_spec(self.dir, _doc())
        st = os.stat(writer.spec_path(self.dir))
        self.assertEqual((0, 0o644), (st.st_uid, st.st_mode & 0o777))
        self.assertEqual(_doc(), writer.read(self.dir))
        # No temporary file is left behind for runtimes to trip over.
        self.assertEqual([writer.SPEC_FILE], os.listdir(self.dir))

    def test_daemon_keeps_no_capabilities(self):
        with open('/proc/%d/status' % _daemon_pid()) as f:
            status = dict(line.split(':\t', 1) for line in f
                          if ':\t' in line)
        self.assertEqual(0, int(status['CapEff'], 16))
        self.assertEqual(0, int(status['CapPrm'], 16))

    def test_refuses_other_kinds(self):
        self.assertRaises(ValueError, privileged.write_spec, self.dir,
                          _doc('example.com/other'))
        self.assertFalse(os.path.exists(self.dir))

    def test_refuses_what_is_not_a_spec(self):
        self.assertRaises(spec.InvalidSpec, privileged.write_spec,
                          self.dir, b'#!/bin/sh\nrm -rf /\n')

    def test_refuses_relative_directories(self):
        self.assertRaises(ValueError, privileged.write_spec,
                          'var/run/../cdi', _doc())

    def test_remove(self):
        privileged.write_spec(self.dir, _doc())
        privileged.remove_spec(self.dir)
        self.assertIsNone(writer.read(self.dir))


def _daemon_pid():
    # The forked daemon is this process's child running privsep.
    me = os.getpid()
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % pid) as f:
                fields = f.read().rsplit(')', 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == me:
            return int(pid)
    raise AssertionError('privsep daemon not found')
