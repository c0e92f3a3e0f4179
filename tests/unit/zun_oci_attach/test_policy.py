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

"""Every refusal rule of the policy, against real files and nodes."""

import json
import os
import pathlib
import stat
import unittest

import fixtures

from cyborg_peripherals.cdi import safety
from cyborg_peripherals.cdi import writer
from tests.unit.zun_oci_attach import base
from zun_oci_attach import policy as policy_mod
from zun_oci_attach import translation


class TestAttachInfoRules(base.SpecTestCase):

    def setUp(self):
        super().setUp()
        self.write_spec()

    def test_attach_type(self):
        e = self.assertRaises(translation.AttachRefused,
                              translation.translate, 'PCI', base.info(),
                              self.policy)
        self.assertEqual('attach-type', e.rule)

    def test_attach_info_not_json(self):
        self.assertRefused('attach-info', '{"cdi_device": ')

    def test_attach_info_extra_key(self):
        doc = json.loads(base.info())
        doc['hostPath'] = '/etc/shadow'
        self.assertRefused('attach-info', doc)

    def test_cdi_kind_of_attach_info(self):
        doc = {'cdi_device': 'nvidia.com/gpu=0', 'class': 'gpu',
               'version': '1'}
        self.assertRefused('cdi-kind', doc)
        self.assertRefused('cdi-kind', json.dumps(doc))

    def test_dict_form_is_accepted(self):
        attachment = self.translate(json.loads(base.info()))
        self.assertEqual((base.GRANT_A,), attachment.devices)

    def test_class_mismatch(self):
        e = self.assertRefused('class-mismatch',
                               base.info(device_class='camera'))
        self.assertIn("'camera'", str(e))

    def test_deeply_nested_attach_info(self):
        # Within the 4096 characters allowed, deeper than Python's limit.
        for text in ('[' * 2000 + ']' * 2000,
                     '{"cdi_device": ' + '[' * 2000 + ']' * 2000 + '}'):
            e = self.assertRefused('attach-info', text)
            self.assertIn('nested too deeply', str(e))

    def test_newline_after_names(self):
        # "$" in a regex matches before a final newline.
        for cdi_device, device_class in (
                ('openstack.org/peripheral=%s\n' % base.NAME_A, 'test'),
                ('openstack.org/peripheral=%s' % base.NAME_A, 'test\n'),
                ('openstack.org/peripheral\n=%s' % base.NAME_A, 'test')):
            self.assertRefused('attach-info', {
                'cdi_device': cdi_device, 'class': device_class,
                'version': '1'})

    def test_device_unknown(self):
        e = self.assertRefused('device-unknown', base.info('gone'))
        self.assertIn("'gone'", str(e))


class TestSpecFileRules(base.SpecTestCase):

    def test_spec_missing_directory(self):
        policy = translation.Policy(cdi_dir=self.cdi_dir + '/nope')
        e = self.assertRefused('spec-missing', policy=policy)
        self.assertIn('cdi_spec_dir', str(e))

    def test_spec_missing_file(self):
        self.assertRefused('spec-missing')

    @unittest.skipUnless(os.geteuid() == 0, 'chown needs root')
    def test_spec_owner(self):
        os.chown(self.write_spec(), 65534, 65534)
        e = self.assertRefused('spec-owner')
        self.assertIn('uid 65534', str(e))

    @unittest.skipUnless(os.geteuid() == 0, 'chown needs root')
    def test_spec_directory_owner(self):
        self.write_spec()
        os.chown(self.cdi_dir, 65534, 65534)
        self.assertRefused('spec-owner')

    def test_spec_writable_by_others(self):
        os.chmod(self.write_spec(), 0o646)  # noqa: S103
        e = self.assertRefused('spec-permissions')
        self.assertIn('0646', str(e))

    def test_spec_writable_by_group(self):
        os.chmod(self.write_spec(), 0o664)
        self.assertRefused('spec-permissions')

    def test_spec_directory_writable_by_others(self):
        self.write_spec()
        os.chmod(self.cdi_dir, 0o777)  # noqa: S103
        self.assertRefused('spec-permissions')

    def test_spec_symlink_is_not_followed(self):
        elsewhere = self.useFixture(fixtures.TempDir()).path
        writer.atomic_write(elsewhere, b'{}')
        os.symlink(writer.spec_path(elsewhere), writer.spec_path(
            self.cdi_dir))
        self.assertRefused('spec-permissions')

    def test_spec_not_a_regular_file(self):
        os.mkfifo(writer.spec_path(self.cdi_dir), 0o644)
        self.assertRefused('spec-permissions')

    def test_spec_invalid(self):
        writer.atomic_write(self.cdi_dir, b'{"cdiVersion": "0.3.0"')
        self.assertRefused('spec-invalid')

    def test_deeply_nested_spec(self):
        writer.atomic_write(self.cdi_dir, b'{"devices": ' + b'[' * 100000)
        e = self.assertRefused('spec-invalid')
        self.assertIn('nested too deeply', str(e))

    def test_spec_of_another_kind(self):
        self.write_doc({'cdiVersion': '0.3.0', 'kind': 'example.com/other',
                        'devices': [{'name': base.NAME_A, 'containerEdits': {
                            'deviceNodes': [base.NODE_A]}}]})
        self.assertRefused('cdi-kind')

    def test_spec_read_at_attach_time(self):
        self.write_spec()
        self.translate()
        self.write_spec(devices=[(base.NAME_B,
                                  {'deviceNodes': [base.NODE_B]})])
        self.assertRefused('device-unknown')


class TestNodeRules(base.SpecTestCase):

    def node(self, path=base.A_PATH, major=base.A_MAJOR, minor=base.A_MINOR,
             **kw):
        return base.node(path, major, minor, **kw)

    def test_grants_exactly_the_node(self):
        st = os.stat(base.A_PATH)
        self.write_spec(deviceNodes=[self.node(
            permissions='rw', uid=st.st_uid, gid=st.st_gid,
            file_mode=st.st_mode & 0o7777)])
        attachment = self.translate()
        self.assertEqual((base.GRANT_A,), attachment.devices)
        self.assertEqual((), attachment.device_cgroup_rules)

    def test_host_path_maps_to_container_path(self):
        self.write_spec(deviceNodes=[self.node('/dev/peripheral0',
                                               host_path=base.A_PATH)])
        self.assertEqual(('%s:/dev/peripheral0:rw' % base.A_PATH,),
                         self.translate().devices)

    def test_container_path_outside_dev(self):
        self.write_spec(deviceNodes=[self.node('/etc/rng',
                                               host_path=base.A_PATH)])
        self.assertRefused('node-outside-dev')

    def test_host_path_outside_dev(self):
        self.write_spec(deviceNodes=[self.node('/dev/x',
                                               host_path='/tmp/rng')])
        self.assertRefused('node-outside-dev')

    def test_dot_dot(self):
        self.write_spec(deviceNodes=[self.node('/dev/../etc/passwd')])
        self.assertRefused('node-outside-dev')

    def test_dev_itself(self):
        self.write_spec(deviceNodes=[self.node('/dev')])
        self.assertRefused('node-outside-dev')

    def test_relative_path(self):
        self.write_spec(deviceNodes=[self.node(base.A_PATH[1:])])
        self.assertRefused('node-outside-dev')

    def test_symlink_leaving_dev(self):
        # /dev/fd links to /proc/self/fd on every Linux host.
        self.write_spec(deviceNodes=[self.node('/dev/x',
                                               host_path='/dev/fd')])
        e = self.assertRefused('node-outside-dev')
        self.assertIn('/proc/', str(e))

    def test_path_with_colon(self):
        self.write_spec(deviceNodes=[self.node(base.A_PATH + ':/dev/x')])
        self.assertRefused('path-characters')

    def test_path_with_newline(self):
        self.write_spec(deviceNodes=[self.node('/dev/nu\nll')])
        e = self.assertRefused('path-characters')
        self.assertIn('\\n', str(e))

    def test_path_with_invisible_or_reordering_characters(self):
        # C1 controls, bidirectional overrides and isolates, and line and
        # paragraph separators make a path read as something else.
        for char in ('\x85', '\x9b', '\u202e', '\u2066', '\u200f',
                     '\u2028', '\u2029', '\u061c'):
            self.write_spec(deviceNodes=[self.node('/dev/x%sy' % char,
                                                   host_path=base.A_PATH)])
            self.assertRefused('path-characters')

    def test_node_missing(self):
        self.write_spec(deviceNodes=[self.node('/dev/no-such-node')])
        e = self.assertRefused('node-missing')
        self.assertIn('unplugged', str(e))

    def test_node_incomplete(self):
        self.write_spec(deviceNodes=[{'path': base.A_PATH}])
        self.assertRefused('node-incomplete')

    def test_not_a_device_node(self):
        self.write_spec(deviceNodes=[self.node('/dev/x',
                                               host_path='/dev/net')])
        self.assertRefused('node-type')

    def test_char_node_claimed_as_block(self):
        self.write_spec(deviceNodes=[dict(base.NODE_A, type='b')])
        policy = translation.Policy(cdi_dir=self.cdi_dir, allowed_majors=[
            'b:%d' % base.A_MAJOR])
        self.assertRefused('node-type', policy=policy)

    def test_fifo_type_refused(self):
        self.write_spec(deviceNodes=[dict(base.NODE_A, type='p')])
        self.assertRefused('node-type')

    def test_node_mismatch(self):
        self.write_spec(deviceNodes=[self.node(minor=base.A_MINOR + 1)])
        e = self.assertRefused('node-mismatch')
        self.assertIn('%s is %d:%d, the spec says %d:%d' % (
            base.A_PATH, base.A_MAJOR, base.A_MINOR, base.A_MAJOR,
            base.A_MINOR + 1), str(e))

    def test_owner_mismatch(self):
        gid = os.stat(base.A_PATH).st_gid + 1
        self.write_spec(deviceNodes=[self.node(gid=gid)])
        e = self.assertRefused('node-mismatch')
        self.assertIn('gid', str(e))

    def test_mode_mismatch(self):
        mode = os.stat(base.A_PATH).st_mode & 0o7777 ^ 0o004
        self.write_spec(deviceNodes=[self.node(file_mode=mode)])
        self.assertRefused('node-mismatch')

    def test_permissions_not_rwm(self):
        self.write_spec(deviceNodes=[self.node(permissions='rwx')])
        self.assertRefused('permissions')

    def test_permissions_repeated(self):
        self.write_spec(deviceNodes=[self.node(permissions='rr')])
        self.assertRefused('permissions')

    def test_permissions_normalized(self):
        self.write_spec(deviceNodes=[self.node(permissions='mr')])
        self.assertEqual(('%s:%s:rm' % (base.A_PATH, base.A_PATH),),
                         self.translate().devices)

    def test_no_permissions_means_rwm_as_in_cdi(self):
        self.write_spec(deviceNodes=[{'path': base.A_PATH, 'type': 'c',
                                      'major': base.A_MAJOR,
                                      'minor': base.A_MINOR}])
        self.assertEqual(('%s:%s:rwm' % (base.A_PATH, base.A_PATH),),
                         self.translate().devices)

    def test_one_container_path_two_nodes(self):
        self.write_spec(deviceNodes=[
            base.NODE_A, base.node(base.A_PATH, base.B_MAJOR, base.B_MINOR,
                                   host_path=base.B_PATH)])
        self.assertRefused('conflict')


def _host_node(path):
    st = os.stat(path)
    kind = 'b' if stat.S_ISBLK(st.st_mode) else 'c'
    return {'path': path, 'type': kind, 'major': os.major(st.st_rdev),
            'minor': os.minor(st.st_rdev)}


def _existing(paths):
    return [p for p in paths if os.path.exists(p)]


class TestNodeKindRules(base.SpecTestCase):
    """Nodes that are never peripherals, whatever the spec calls them."""

    def test_runtime_nodes_cannot_be_shadowed(self):
        # The runtime makes these itself; a spec must not replace them,
        # not even with a node the policy would otherwise grant.
        for path in ('/dev/null', '/dev/zero', '/dev/full', '/dev/random',
                     '/dev/urandom', '/dev/tty', '/dev/console',
                     '/dev/ptmx', '/dev/pts/ptmx', '/dev/pts/0',
                     '/dev/shm', '/dev/shm/x', '/dev/mqueue/q', '/dev/fd',
                     '/dev/fd/3', '/dev/stdin', '/dev/stdout',
                     '/dev/stderr'):
            self.write_spec(deviceNodes=[base.node(
                path, base.A_MAJOR, base.A_MINOR, host_path=base.A_PATH)])
            e = self.assertRefused('node-reserved-path')
            self.assertIn(path, str(e))

    def test_never_peripheral_host_nodes(self):
        paths = _existing([
            '/dev/null', '/dev/zero', '/dev/mem', '/dev/kmsg', '/dev/kvm',
            '/dev/fuse', '/dev/loop-control', '/dev/mapper/control',
            '/dev/vcs', '/dev/vcsa', '/dev/vcsa1', '/dev/tty0', '/dev/tty2',
            '/dev/tty63', '/dev/console', '/dev/net/tun', '/dev/vsock',
            '/dev/userfaultfd', '/dev/cpu/0/cpuid', '/dev/btrfs-control',
            '/dev/uinput', '/dev/snapshot', '/dev/vhost-net'])
        self.assertGreater(len(paths), 5, paths)
        for path in paths:
            self.write_spec(deviceNodes=[dict(_host_node(path),
                                              path='/dev/peripheral0',
                                              hostPath=path)])
            e = self.assertRefused('node-never-peripheral')
            self.assertIn(path, str(e))

    def test_serial_ports_above_the_virtual_consoles_pass(self):
        # Major 4 is tty0-63 (refused) and ttyS0 and up (peripherals).
        if not os.path.exists('/dev/ttyS0'):
            self.skipTest('no /dev/ttyS0')
        self.write_spec(deviceNodes=[_host_node('/dev/ttyS0')])
        self.assertEqual(('/dev/ttyS0:/dev/ttyS0:rwm',),
                         self.translate().devices)

    def test_block_devices(self):
        paths = _existing(['/dev/vda', '/dev/sda', '/dev/nvme0n1',
                           '/dev/loop0', '/dev/zram0', '/dev/mmcblk0'])
        if not paths:
            self.skipTest('no block device on this host')
        self.write_spec(deviceNodes=[dict(_host_node(paths[0]),
                                          permissions='rwm')])
        e = self.assertRefused('node-block')
        self.assertIn('allowed_device_majors', str(e))

    def test_operator_may_allow_a_major(self):
        paths = _existing(['/dev/loop0', '/dev/vda', '/dev/zram0'])
        if not paths:
            self.skipTest('no block device on this host')
        node = _host_node(paths[0])
        self.write_spec(deviceNodes=[dict(node, permissions='r',
                                          path='/dev/disk0',
                                          hostPath=paths[0])])
        policy = translation.Policy(cdi_dir=self.cdi_dir, allowed_majors=[
            'b:%d' % node['major']])
        self.assertEqual(('%s:/dev/disk0:r' % paths[0],),
                         self.translate(policy=policy).devices)
        # One major only: memory devices stay refused.
        self.write_spec(deviceNodes=[dict(
            _host_node('/dev/zero'), path='/dev/z', hostPath='/dev/zero')])
        self.assertRefused('node-never-peripheral', policy=policy)

    def test_claimed_numbers_are_checked_before_the_node(self):
        # A spec giving a never-peripheral's numbers is refused by kind,
        # not merely as a mismatch with the node it names.
        self.write_spec(deviceNodes=[base.node(base.A_PATH, 10, 232)])
        self.assertRefused('node-never-peripheral')


class TestEditRules(base.SpecTestCase):

    def test_hooks(self):
        self.write_spec(deviceNodes=[base.NODE_A], hooks=[
            {'hookName': 'createContainer', 'path': '/bin/true'}])
        self.assertRefused('hooks')

    def test_additional_gids(self):
        self.write_spec(deviceNodes=[base.NODE_A], additionalGids=[44])
        self.assertRefused('unsupported-edit')

    def test_net_devices(self):
        self.write_spec(deviceNodes=[base.NODE_A], netDevices=[
            {'hostInterfaceName': 'eth0', 'name': 'eth1'}])
        self.assertRefused('unsupported-edit')

    def test_spec_wide_edits_are_refused(self):
        # They would reach every container given any device of the host;
        # our writer never emits them.
        for edits in ({'env': ['PERIPHERAL_HOST=edge1']},
                      {'hooks': [{'hookName': 'poststart',
                                  'path': '/bin/true'}]},
                      {'deviceNodes': [base.NODE_B]}):
            self.write_spec(spec_edits=edits)
            self.assertRefused('spec-edits')


class TestEnvRules(base.SpecTestCase):

    def test_values_keep_equals_signs(self):
        self.write_spec(deviceNodes=[base.NODE_A],
                        env=['PERIPHERAL_ARGS=driver=rtlsdr,serial=1',
                             'PERIPHERAL_EMPTY='])
        self.assertEqual({'PERIPHERAL_ARGS': 'driver=rtlsdr,serial=1',
                          'PERIPHERAL_EMPTY': ''},
                         self.translate().environment)

    def test_only_allowlisted_names(self):
        for name in ('LD_PRELOAD', 'LD_LIBRARY_PATH', 'PATH', 'PYTHONPATH',
                     'BASH_ENV', 'NODE_OPTIONS', 'lower', 'GLIBC_TUNABLES',
                     'HTTPS_PROXY', 'OPENSSL_CONF', '1ABC', 'A-B', 'HOME',
                     'SDR_ARGS', 'PERIPHERAL', 'peripheral_x',
                     'PERIPHERAL_X\n', 'PATH\n', 'HOME\n',
                     'PERIPHERAL_X\nLD_PRELOAD'):
            self.write_spec(deviceNodes=[base.NODE_A], env=['%s=x' % name])
            e = self.assertRefused('env-not-allowed')
            self.assertIn(repr(name), str(e))

    def test_operator_may_allow_more(self):
        self.write_spec(deviceNodes=[base.NODE_A],
                        env=['SDR_ARGS=serial=1', 'LD_LIBRARY_PATH=/opt'])
        policy = translation.Policy(cdi_dir=self.cdi_dir,
                                    extra_env=['SDR_*', 'LD_LIBRARY_PATH'])
        self.assertEqual({'SDR_ARGS': 'serial=1', 'LD_LIBRARY_PATH': '/opt'},
                         self.translate(policy=policy).environment)

    def test_malformed(self):
        for entry in ('NOVALUE', '=value'):
            self.write_spec(deviceNodes=[base.NODE_A], env=[entry])
            self.assertRefused('env-malformed')

    def test_control_characters_in_values(self):
        for value in ('a\nb', 'a\rb', 'b\x00c', '\x1b[2J', 'a\x7f',
                      'a\x85', 'a\u202eb', 'a\u2028b', 'tab\there'):
            self.write_spec(deviceNodes=[base.NODE_A],
                            env=['PERIPHERAL_X=%s' % value])
            self.assertRefused('env-value')

    def test_value_length_is_capped(self):
        self.write_spec(deviceNodes=[base.NODE_A],
                        env=['PERIPHERAL_X=' + 'a' * (1024 * 1024)])
        e = self.assertRefused('env-value')
        self.assertIn('max_env_value_length', str(e))
        self.write_spec(deviceNodes=[base.NODE_A],
                        env=['PERIPHERAL_X=' + 'a' * 1024])
        self.assertEqual(1024, len(self.translate().environment[
            'PERIPHERAL_X']))
        policy = translation.Policy(cdi_dir=self.cdi_dir, max_env_value=10)
        self.assertRefused('env-value', policy=policy)

    def test_two_values_conflict(self):
        self.write_spec(deviceNodes=[base.NODE_A],
                        env=['PERIPHERAL_A=1', 'PERIPHERAL_A=2'])
        self.assertRefused('conflict')


class TestMountRules(base.SpecTestCase):

    def setUp(self):
        super().setUp()
        self.shared = self.useFixture(fixtures.TempDir()).path
        os.mkdir(os.path.join(self.shared, 'lib'))
        self.allow = translation.Policy(cdi_dir=self.cdi_dir,
                                        mount_allowlist=[self.shared])

    def _mount(self, source=None, target='/opt/vc', **kw):
        self.write_spec(deviceNodes=[base.NODE_A], mounts=[dict(
            hostPath=source or self.shared, containerPath=target, **kw)])

    def test_not_allowed_by_default(self):
        self._mount()
        e = self.assertRefused('mount-not-allowed')
        self.assertIn('mount_allowlist', str(e))

    def test_allowed_is_read_only(self):
        self._mount(options=['rbind'])
        attachment = self.translate(policy=self.allow)
        self.assertEqual((translation.Mount(self.shared, '/opt/vc', True),),
                         attachment.mounts)

    def test_below_allowed_path(self):
        self._mount(os.path.join(self.shared, 'lib'), '/opt/vc/lib')
        self.assertEqual(os.path.join(self.shared, 'lib'),
                         self.translate(policy=self.allow).mounts[0].source)

    def test_writable_only_when_operator_says_so(self):
        self._mount(options=['rw'])
        self.assertTrue(self.translate(policy=self.allow).mounts[0]
                        .read_only)
        policy = translation.Policy(cdi_dir=self.cdi_dir,
                                    mount_allowlist=[self.shared],
                                    writable_mounts=[self.shared])
        self.assertFalse(self.translate(policy=policy).mounts[0].read_only)
        self._mount(options=['ro'])
        self.assertTrue(self.translate(policy=policy).mounts[0].read_only)

    def test_prefix_is_not_below(self):
        self._mount(self.shared + 'x')
        self.assertRefused('mount-not-allowed', policy=self.allow)

    def test_symlink_leaving_allowlist(self):
        os.symlink('/etc', os.path.join(self.shared, 'etc'))
        self._mount(os.path.join(self.shared, 'etc'))
        e = self.assertRefused('mount-not-allowed', policy=self.allow)
        self.assertIn('resolves to /etc', str(e))

    def test_dot_dot_source(self):
        self._mount(self.shared + '/../../etc')
        self.assertRefused('mount-not-allowed', policy=self.allow)

    def test_missing_source(self):
        self._mount(os.path.join(self.shared, 'gone'))
        self.assertRefused('mount-missing', policy=self.allow)
        self.assertFalse(os.path.exists(os.path.join(self.shared, 'gone')))

    def test_bad_target(self):
        for target in ('relative', '/', '/opt/../etc', '/opt//vc'):
            self._mount(target=target)
            self.assertRefused('mount-target', policy=self.allow)

    def test_colon_in_target(self):
        self._mount(target='/opt/vc:rw')
        self.assertRefused('path-characters', policy=self.allow)

    def test_other_mount_types(self):
        self._mount(type='tmpfs')
        self.assertRefused('unsupported-edit', policy=self.allow)

    def test_options_that_binds_cannot_carry(self):
        self._mount(options=['ro', 'nosuid'])
        e = self.assertRefused('unsupported-edit', policy=self.allow)
        self.assertIn('nosuid', str(e))

    def test_reserved_targets(self):
        for target in ('/etc', '/etc/ld.so.preload', '/proc/sys', '/sys',
                       '/sys/kernel', '/dev', '/dev/shm', base.A_PATH):
            self._mount(target=target)
            e = self.assertRefused('mount-target-reserved',
                                   policy=self.allow)
            self.assertIn(target, str(e))

    def test_target_equal_to_a_granted_node(self):
        self.write_spec(deviceNodes=[base.NODE_A], mounts=[
            {'hostPath': self.shared, 'containerPath': base.A_PATH}])
        self.assertRefused('mount-target-reserved', policy=self.allow)

    def test_one_target_two_sources(self):
        self.write_spec(deviceNodes=[base.NODE_A], mounts=[
            {'hostPath': self.shared, 'containerPath': '/opt/vc'},
            {'hostPath': self.shared + '/lib', 'containerPath': '/opt/vc'}])
        self.assertRefused('conflict', policy=self.allow)


class TestPolicyConfig(base.SpecTestCase):

    def test_from_conf(self):
        from oslo_config import cfg

        from zun_oci_attach.conf import oci_attach
        conf = cfg.ConfigOpts()
        oci_attach.register_opts(conf)
        conf([])
        conf.set_override('mount_allowlist', ['/opt/vc'], 'oci_attach')
        conf.set_override('allowed_env', ['LD_LIBRARY_PATH'], 'oci_attach')
        conf.set_override('allowed_device_majors', ['b:179'], 'oci_attach')
        conf.set_override('max_env_value_length', 80, 'oci_attach')
        policy = translation.Policy.from_conf(conf)
        self.assertEqual(translation.Policy(
            cdi_dir='/var/run/cdi', mount_allowlist=('/opt/vc',),
            extra_env=frozenset(['LD_LIBRARY_PATH']),
            allowed_majors=frozenset(['b:179']), max_env_value=80), policy)

    def test_bad_values_are_config_errors(self):
        for kw in ({'cdi_dir': 'relative'},
                   {'mount_allowlist': ['/']},
                   {'mount_allowlist': ['/opt/../etc']},
                   {'writable_mounts': ['/opt/vc']},
                   {'extra_env': ['A=B']},
                   {'extra_env': ['SDR_*\n']},
                   {'extra_env': ['lower']},
                   {'allowed_majors': ['179']},
                   {'allowed_majors': ['b:179\n']},
                   {'allowed_majors': ['x:1']},
                   {'allowed_majors': ['b:0179']},
                   {'max_env_value': 0}):
            e = self.assertRaises(ValueError, translation.Policy,
                                  **dict({'cdi_dir': self.cdi_dir}, **kw))
            self.assertIn('[oci_attach]', str(e))


class TestDocumentation(base.SpecTestCase):

    def test_every_rule_is_documented(self):
        doc = pathlib.Path(__file__).parents[3].joinpath(
            'doc', 'source', 'admin', 'oci-attach-policy.rst').read_text()
        for rule in policy_mod.RULES:
            self.assertIn('``%s``' % rule, doc)
        for pattern in safety.DEFAULT_ENV_PATTERNS:
            self.assertIn('``%s``' % pattern, doc)
        for path in safety.RESERVED_CONTAINER_PATHS:
            self.assertIn('``%s``' % path, doc)
        for kind in safety.NEVER_PERIPHERALS:
            for pattern in kind.paths:
                self.assertIn('``%s``' % pattern, doc)

