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
import unittest

import fixtures

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
        self.assertEqual(('/dev/null:/dev/null:rw',), attachment.devices)

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

    def test_spec_of_another_kind(self):
        self.write_doc({'cdiVersion': '0.3.0', 'kind': 'example.com/other',
                        'devices': [{'name': 'null', 'containerEdits': {
                            'deviceNodes': [base.NULL]}}]})
        self.assertRefused('cdi-kind')

    def test_spec_read_at_attach_time(self):
        self.write_spec()
        self.translate()
        self.write_spec(devices=[('zero', {'deviceNodes': [base.ZERO]})])
        self.assertRefused('device-unknown')


class TestNodeRules(base.SpecTestCase):

    def test_grants_exactly_the_node(self):
        self.write_spec(deviceNodes=[base.node('/dev/null', 1, 3,
                                               permissions='rw', uid=0,
                                               gid=0, file_mode=0o666)])
        attachment = self.translate()
        self.assertEqual(('/dev/null:/dev/null:rw',), attachment.devices)
        self.assertEqual((), attachment.device_cgroup_rules)

    def test_host_path_maps_to_container_path(self):
        self.write_spec(deviceNodes=[base.node('/dev/peripheral0', 1, 3,
                                               host_path='/dev/null')])
        self.assertEqual(('/dev/null:/dev/peripheral0:rw',),
                         self.translate().devices)

    def test_container_path_outside_dev(self):
        self.write_spec(deviceNodes=[base.node('/etc/null', 1, 3,
                                               host_path='/dev/null')])
        self.assertRefused('node-outside-dev')

    def test_host_path_outside_dev(self):
        self.write_spec(deviceNodes=[base.node('/dev/x', 1, 3,
                                               host_path='/tmp/null')])
        self.assertRefused('node-outside-dev')

    def test_dot_dot(self):
        self.write_spec(deviceNodes=[base.node('/dev/../etc/passwd', 1, 3)])
        self.assertRefused('node-outside-dev')

    def test_dev_itself(self):
        self.write_spec(deviceNodes=[base.node('/dev', 1, 3)])
        self.assertRefused('node-outside-dev')

    def test_relative_path(self):
        self.write_spec(deviceNodes=[base.node('dev/null', 1, 3)])
        self.assertRefused('node-outside-dev')

    def test_symlink_leaving_dev(self):
        # /dev/fd links to /proc/self/fd on every Linux host.
        self.write_spec(deviceNodes=[base.node('/dev/fd/0', 1, 3)])
        e = self.assertRefused('node-outside-dev')
        self.assertIn('/proc/', str(e))

    def test_path_with_colon(self):
        self.write_spec(deviceNodes=[base.node('/dev/null:/dev/zero', 1, 3)])
        self.assertRefused('path-characters')

    def test_path_with_newline(self):
        self.write_spec(deviceNodes=[base.node('/dev/nu\nll', 1, 3)])
        e = self.assertRefused('path-characters')
        self.assertIn('\\n', str(e))

    def test_node_missing(self):
        self.write_spec(deviceNodes=[base.node('/dev/no-such-node', 1, 3)])
        e = self.assertRefused('node-missing')
        self.assertIn('unplugged', str(e))

    def test_node_incomplete(self):
        self.write_spec(deviceNodes=[{'path': '/dev/null'}])
        self.assertRefused('node-incomplete')

    def test_not_a_device_node(self):
        self.write_spec(deviceNodes=[base.node('/dev/shm', 1, 3)])
        self.assertRefused('node-type')

    def test_char_node_claimed_as_block(self):
        self.write_spec(deviceNodes=[dict(base.NULL, type='b')])
        self.assertRefused('node-type')

    def test_fifo_type_refused(self):
        self.write_spec(deviceNodes=[dict(base.NULL, type='p')])
        self.assertRefused('node-type')

    def test_node_mismatch(self):
        self.write_spec(deviceNodes=[base.node('/dev/null', 1, 5)])
        e = self.assertRefused('node-mismatch')
        self.assertIn('/dev/null is 1:3, the spec says 1:5', str(e))

    def test_owner_mismatch(self):
        self.write_spec(deviceNodes=[base.node('/dev/null', 1, 3, gid=44)])
        e = self.assertRefused('node-mismatch')
        self.assertIn('gid', str(e))

    def test_mode_mismatch(self):
        self.write_spec(deviceNodes=[base.node('/dev/null', 1, 3,
                                               file_mode=0o600)])
        self.assertRefused('node-mismatch')

    def test_permissions_not_rwm(self):
        self.write_spec(deviceNodes=[base.node('/dev/null', 1, 3,
                                               permissions='rwx')])
        self.assertRefused('permissions')

    def test_permissions_repeated(self):
        self.write_spec(deviceNodes=[base.node('/dev/null', 1, 3,
                                               permissions='rr')])
        self.assertRefused('permissions')

    def test_permissions_normalized(self):
        self.write_spec(deviceNodes=[base.node('/dev/null', 1, 3,
                                               permissions='mr')])
        self.assertEqual(('/dev/null:/dev/null:rm',),
                         self.translate().devices)

    def test_no_permissions_means_rwm_as_in_cdi(self):
        self.write_spec(deviceNodes=[{'path': '/dev/null', 'type': 'c',
                                      'major': 1, 'minor': 3}])
        self.assertEqual(('/dev/null:/dev/null:rwm',),
                         self.translate().devices)

    def test_one_container_path_two_nodes(self):
        self.write_spec(deviceNodes=[
            base.NULL, base.node('/dev/null', 1, 5, host_path='/dev/zero')])
        self.assertRefused('conflict')


class TestEditRules(base.SpecTestCase):

    def test_hooks(self):
        self.write_spec(deviceNodes=[base.NULL], hooks=[
            {'hookName': 'createContainer', 'path': '/bin/true'}])
        self.assertRefused('hooks')

    def test_spec_wide_hooks(self):
        self.write_spec(spec_edits={'hooks': [
            {'hookName': 'poststart', 'path': '/bin/true'}]})
        self.assertRefused('hooks')

    def test_additional_gids(self):
        self.write_spec(deviceNodes=[base.NULL], additionalGids=[44])
        self.assertRefused('unsupported-edit')

    def test_net_devices(self):
        self.write_spec(deviceNodes=[base.NULL], netDevices=[
            {'hostInterfaceName': 'eth0', 'name': 'eth1'}])
        self.assertRefused('unsupported-edit')

    def test_spec_wide_edits_are_applied(self):
        self.write_spec(spec_edits={'env': ['PERIPHERAL_HOST=edge1']})
        self.assertEqual({'PERIPHERAL_HOST': 'edge1'},
                         self.translate().environment)


class TestEnvRules(base.SpecTestCase):

    def test_values_keep_equals_signs(self):
        self.write_spec(deviceNodes=[base.NULL],
                        env=['SDR_ARGS=driver=rtlsdr,serial=00000001',
                             'EMPTY='])
        self.assertEqual({'SDR_ARGS': 'driver=rtlsdr,serial=00000001',
                          'EMPTY': ''}, self.translate().environment)

    def test_unsafe_names(self):
        for name in ('LD_PRELOAD', 'LD_LIBRARY_PATH', 'PATH', 'PYTHONPATH',
                     'BASH_ENV', 'NODE_OPTIONS', 'lower', 'GLIBC_TUNABLES',
                     'HTTPS_PROXY', 'OPENSSL_CONF', '1ABC', 'A-B'):
            self.write_spec(deviceNodes=[base.NULL], env=['%s=x' % name])
            e = self.assertRefused('env-not-allowed')
            self.assertIn(repr(name), str(e))

    def test_operator_may_allow_more(self):
        self.write_spec(deviceNodes=[base.NULL],
                        env=['LD_LIBRARY_PATH=/opt/vc/lib'])
        policy = translation.Policy(cdi_dir=self.cdi_dir,
                                    extra_env=['LD_LIBRARY_PATH'])
        self.assertEqual({'LD_LIBRARY_PATH': '/opt/vc/lib'},
                         self.translate(policy=policy).environment)

    def test_malformed(self):
        for entry in ('NOVALUE', '=value', 'A=b\x00c'):
            self.write_spec(deviceNodes=[base.NULL], env=[entry])
            self.assertRefused('env-malformed')

    def test_two_values_conflict(self):
        self.write_spec(deviceNodes=[base.NULL], env=['A=1'],
                        spec_edits={'env': ['A=2']})
        self.assertRefused('conflict')


class TestMountRules(base.SpecTestCase):

    def setUp(self):
        super().setUp()
        self.shared = self.useFixture(fixtures.TempDir()).path
        os.mkdir(os.path.join(self.shared, 'lib'))
        self.allow = translation.Policy(cdi_dir=self.cdi_dir,
                                        mount_allowlist=[self.shared])

    def _mount(self, source=None, target='/opt/vc', **kw):
        self.write_spec(deviceNodes=[base.NULL], mounts=[dict(
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

    def test_one_target_two_sources(self):
        self.write_spec(deviceNodes=[base.NULL], mounts=[
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
        policy = translation.Policy.from_conf(conf)
        self.assertEqual(translation.Policy(
            cdi_dir='/var/run/cdi', mount_allowlist=('/opt/vc',),
            extra_env=frozenset(['LD_LIBRARY_PATH'])), policy)

    def test_bad_values_are_config_errors(self):
        for kw in ({'cdi_dir': 'relative'},
                   {'mount_allowlist': ['/']},
                   {'mount_allowlist': ['/opt/../etc']},
                   {'writable_mounts': ['/opt/vc']},
                   {'extra_env': ['A=B']}):
            e = self.assertRaises(ValueError, translation.Policy,
                                  **dict({'cdi_dir': self.cdi_dir}, **kw))
            self.assertIn('[oci_attach]', str(e))


class TestDocumentation(base.SpecTestCase):

    def test_every_rule_is_documented(self):
        doc = pathlib.Path(__file__).parents[3].joinpath(
            'doc', 'source', 'admin', 'oci-attach-policy.rst').read_text()
        for rule in policy_mod.RULES:
            self.assertIn('``%s``' % rule, doc)
        for name in sorted(policy_mod.UNSAFE_ENV_NAMES):
            self.assertIn(name, doc)
        for prefix in policy_mod.UNSAFE_ENV_PREFIXES:
            self.assertIn(prefix, doc)

