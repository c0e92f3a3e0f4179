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

"""The privileged CDI writer, run in a real privsep daemon.

Each test configures ``[peripherals]`` first and then starts its own
daemon, as cyborg-agent does: the daemon takes its directory and its
allowances from its configuration, never from the caller.
"""

import os
import stat
import sys

import fixtures
from oslo_privsep import priv_context

from aio import service
from cyborg_peripherals import contract
from cyborg_peripherals import privileged
from cyborg_peripherals.cdi import safety
from cyborg_peripherals.cdi import spec
from cyborg_peripherals.cdi import writer
from tests import base


#: A real character device of a peripheral kind (the emulated kit's).
RNG = ('/dev/hwrng', 10, 183)


def _doc(kind=contract.CDI_KIND, spec_edits=None, **edits):
    if not edits:
        edits = {'deviceNodes': [spec.device_node_dict(*_rng_node())]}
    doc = spec.build_spec(kind, [('rng-a', edits)])
    if spec_edits:
        doc['containerEdits'] = spec_edits
    doc['cdiVersion'] = spec.minimum_version(doc)
    return spec.render(doc)


def _rng_node(container_path=RNG[0]):
    return (container_path, 'c', RNG[1], RNG[2])


def _node_of(path):
    st = os.stat(path)
    return {'path': '/dev/ttyUSB0', 'hostPath': path,
            'type': 'b' if stat.S_ISBLK(st.st_mode) else 'c',
            'major': os.major(st.st_rdev), 'minor': os.minor(st.st_rdev)}


class TestPrivilegedWriter(base.TestCase):

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.skipTest('needs root to fork the daemon')
        try:
            st = os.stat(RNG[0])
        except OSError:
            self.skipTest('needs %s' % RNG[0])
        if (os.major(st.st_rdev), os.minor(st.st_rdev)) != RNG[1:]:
            self.skipTest('%s is not %d:%d here' % RNG)
        self.top = self.useFixture(fixtures.TempDir()).path
        self.dir = os.path.join(self.top, 'cdi')
        # A daemon left by another test of this process has another
        # configuration.
        privileged.cdi_pctxt.stop()

    def start(self, directory=None, **opts):
        self.flags(cdi_spec_dir=directory or self.dir, **opts)
        privileged.cdi_pctxt.start(method=priv_context.Method.FORK)
        self.addCleanup(privileged.cdi_pctxt.stop)

    def assertRefused(self, rule, content):
        before = writer.read(self.dir)
        e = self.assertRaises(safety.Refused, privileged.write_spec, content)
        self.assertEqual(rule, e.rule, str(e))
        # Nothing changed, and no temporary file was left behind.
        self.assertEqual(before, writer.read(self.dir))
        self.assertEqual([writer.SPEC_FILE] if before else [],
                         os.listdir(self.dir) if os.path.isdir(self.dir)
                         else [])
        return e

    # -- where it writes ---------------------------------------------------

    def test_writes_root_owned_world_readable_spec(self):
        self.start()
        privileged.write_spec(_doc())
        st = os.stat(writer.spec_path(self.dir))
        self.assertEqual((0, 0o644), (st.st_uid, st.st_mode & 0o777))
        self.assertEqual(_doc(), writer.read(self.dir))
        # No temporary file is left behind for runtimes to trip over.
        self.assertEqual([writer.SPEC_FILE], os.listdir(self.dir))

    def test_missing_spec_directory_is_made_0755_despite_umask_0(self):
        self.start()
        privileged.write_spec(_doc())
        self.assertEqual(0o755, stat.S_IMODE(os.stat(self.dir).st_mode))

    def test_takes_no_path_from_the_caller(self):
        self.start()
        elsewhere = os.path.join(self.top, 'elsewhere')
        self.assertRaises(TypeError, privileged.write_spec, elsewhere,
                          _doc())
        self.assertRaises(TypeError, privileged.remove_spec, elsewhere)
        self.assertFalse(os.path.exists(elsewhere))

    def test_missing_parents_are_not_created(self):
        directory = os.path.join(self.top, 'new', 'tree', 'cdi')
        self.start(directory)
        e = self.assertRaises(writer.UnsafeDirectory, privileged.write_spec,
                              _doc())
        self.assertIn('does not exist', str(e))
        self.assertEqual([], os.listdir(self.top))

    def test_symlinked_directory_is_refused(self):
        target = os.path.join(self.top, 'target')
        os.mkdir(target, 0o755)
        os.symlink(target, self.dir)
        self.start()
        e = self.assertRaises(writer.UnsafeDirectory, privileged.write_spec,
                              _doc())
        self.assertIn('symbolic link', str(e))
        self.assertRaises(writer.UnsafeDirectory, privileged.remove_spec)
        self.assertEqual([], os.listdir(target))

    def test_symlinked_parent_is_followed_and_checked(self):
        # /var/run -> /run is the usual case; the link's target must be
        # as safe as any parent.
        real = os.path.join(self.top, 'real')
        os.mkdir(real, 0o755)
        os.symlink(real, os.path.join(self.top, 'run'))
        self.start(os.path.join(self.top, 'run', 'cdi'))
        privileged.write_spec(_doc())
        self.assertEqual(_doc(), writer.read(os.path.join(real, 'cdi')))
        os.chown(real, 65534, 65534)
        self.assertRaises(writer.UnsafeDirectory, privileged.write_spec,
                          _doc())

    def test_parent_owned_by_another_user_is_refused(self):
        os.chown(self.top, 65534, 65534)
        self.start()
        e = self.assertRaises(writer.UnsafeDirectory, privileged.write_spec,
                              _doc())
        self.assertIn('uid 65534', str(e))
        self.assertFalse(os.path.exists(self.dir))

    def test_parent_writable_by_others_is_refused(self):
        os.chmod(self.top, 0o777)  # noqa: S103 - the unsafe case itself
        self.start()
        self.assertRaises(writer.UnsafeDirectory, privileged.write_spec,
                          _doc())
        self.assertFalse(os.path.exists(self.dir))

    def test_spec_directory_writable_by_group_is_refused(self):
        os.mkdir(self.dir)
        os.chmod(self.dir, 0o775)  # noqa: S103 - the unsafe case itself
        self.start()
        self.assertRaises(writer.UnsafeDirectory, privileged.write_spec,
                          _doc())
        self.assertEqual([], os.listdir(self.dir))

    def test_remove(self):
        self.start()
        privileged.write_spec(_doc())
        privileged.remove_spec()
        self.assertIsNone(writer.read(self.dir))

    def test_directory_comes_from_the_config_file(self):
        # As cyborg-agent starts it: privsep-helper with the agent's
        # configuration file, read by the daemon itself.
        config = os.path.join(self.top, 'cyborg.conf')
        with open(config, 'w') as f:
            f.write('[peripherals]\ncdi_spec_dir = %s\n' % self.dir)
        helper = os.path.join(os.path.dirname(sys.executable),
                              'privsep-helper')
        self.flags(group='cyborg_peripherals_privileged',
                   helper_command='%s --config-file %s' % (helper, config))
        # This process's own setting is not what the daemon uses.
        self.flags(cdi_spec_dir=os.path.join(self.top, 'wrong'))
        privileged.cdi_pctxt.start(method=priv_context.Method.ROOTWRAP)
        self.addCleanup(privileged.cdi_pctxt.stop)
        privileged.write_spec(_doc())
        self.assertEqual(_doc(), writer.read(self.dir))
        self.assertFalse(os.path.exists(os.path.join(self.top, 'wrong')))

    def test_daemon_keeps_no_capabilities(self):
        self.start()
        privileged.write_spec(_doc())
        with open('/proc/%d/status' % _daemon_pid()) as f:
            status = dict(line.split(':\t', 1) for line in f
                          if ':\t' in line)
        self.assertEqual(0, int(status['CapEff'], 16))
        self.assertEqual(0, int(status['CapPrm'], 16))

    # -- what it writes ----------------------------------------------------

    def test_refuses_other_kinds(self):
        self.start()
        self.assertRaises(ValueError, privileged.write_spec,
                          _doc('example.com/other'))
        self.assertFalse(os.path.exists(self.dir))

    def test_refuses_what_is_not_a_spec(self):
        self.start()
        self.assertRaises(spec.InvalidSpec, privileged.write_spec,
                          b'#!/bin/sh\nrm -rf /\n')

    def test_refuses_what_the_zun_policy_refuses(self):
        self.start()
        privileged.write_spec(_doc())
        rng = [spec.device_node_dict(*_rng_node())]
        cases = [
            ('hooks', _doc(deviceNodes=rng, hooks=[
                {'hookName': 'createRuntime', 'path': '/bin/sh'}])),
            ('mount-not-allowed', _doc(deviceNodes=rng, mounts=[
                {'hostPath': '/', 'containerPath': '/host',
                 'options': ['rw', 'rbind']}])),
            ('env-not-allowed', _doc(deviceNodes=rng,
                                     env=['LD_PRELOAD=/tmp/x.so'])),
            ('env-value', _doc(deviceNodes=rng,
                               env=['PERIPHERAL_X=' + 'a' * 1048576])),
            ('node-never-peripheral', _doc(deviceNodes=[
                _node_of('/dev/zero')])),
            ('node-reserved-path', _doc(deviceNodes=[dict(
                spec.device_node_dict(*_rng_node('/dev/null')),
                hostPath=RNG[0])])),
            ('node-mismatch', _doc(deviceNodes=[spec.device_node_dict(
                '/dev/ttyUSB0', 'c', RNG[1], RNG[2] + 1,
                host_path=RNG[0])])),
            ('spec-edits', _doc(spec_edits={'env': ['PERIPHERAL_X=1']})),
            ('unsupported-edit', _doc(deviceNodes=rng,
                                      additionalGids=[0])),
        ]
        if os.path.exists('/dev/vda'):
            cases.append(('node-block', _doc(deviceNodes=[
                _node_of('/dev/vda')])))
        for rule, content in cases:
            self.assertRefused(rule, content)

    def test_operator_may_allow_a_major(self):
        block = [p for p in ('/dev/loop0', '/dev/vda', '/dev/zram0')
                 if os.path.exists(p)]
        if not block:
            self.skipTest('no block device on this host')
        node = _node_of(block[0])
        content = _doc(deviceNodes=[node])
        self.start(allowed_device_majors=['b:%d' % node['major']])
        privileged.write_spec(content)
        self.assertEqual(content, writer.read(self.dir))

    def test_bad_allowance_is_a_configuration_error(self):
        self.start(allowed_device_majors=['179'])
        e = self.assertRaises(ValueError, privileged.write_spec, _doc())
        self.assertIn('[peripherals] allowed_device_majors', str(e))
        self.assertFalse(os.path.exists(self.dir))


def _daemon_pid():
    # The forked daemon is this process's live child with its command
    # line (not another test's child, which may be a zombie).
    me = os.getpid()
    with open('/proc/self/cmdline', 'rb') as f:
        cmdline = f.read()
    for pid, fields in service.process_stats():
        if int(fields[1]) != me or fields[0] == 'Z':
            continue
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            if f.read() == cmdline:
                return pid
    raise AssertionError('privsep daemon not found')
