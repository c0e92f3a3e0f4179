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

"""Translated attachments in containers of a real Docker engine.

The devices are real character devices of this host that Docker's
default device cgroup does not allow, so reading one proves the grant.
"""

import os

import fixtures
import testtools

from cyborg_peripherals import contract
from cyborg_peripherals.cdi import spec
from cyborg_peripherals.cdi import writer
from tests.functional import docker_fixtures
from zun_oci_attach import translation


def _read(path, count=4):
    # od prints the bytes read; an error names the failing syscall.
    return ['sh', '-c', 'head -c %d %s > /tmp/read && od -An -tx1 /tmp/read'
            % (count, path)]


class TestDockerAttach(testtools.TestCase):

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.skipTest('needs root for Docker and device nodes')
        devices = docker_fixtures.real_char_devices()
        if len(devices) < 2:
            self.skipTest('needs two of %s' % ', '.join(
                d[0] for d in docker_fixtures.CANDIDATE_DEVICES))
        self.granted, self.other = devices[:2]
        self.docker = self.useFixture(docker_fixtures.DockerFixture())
        self.cdi_dir = self.useFixture(fixtures.TempDir()).path
        self.shared = self.useFixture(fixtures.TempDir()).path
        with open(os.path.join(self.shared, 'calibration'), 'w') as f:
            f.write('gain=49.6\n')
        # SDR_* as an operator would allow it in [oci_attach] allowed_env.
        self.policy = translation.Policy(cdi_dir=self.cdi_dir,
                                         mount_allowlist=[self.shared],
                                         extra_env=['SDR_*'])

    def write_spec(self, **edits):
        path, major, minor = self.granted
        edits.setdefault('deviceNodes', [spec.device_node_dict(
            path, 'c', major, minor, permissions='rw')])
        writer.atomic_write(self.cdi_dir, spec.render(
            spec.build_spec(contract.CDI_KIND, [('sdr-0', edits)])))

    def translate(self):
        return translation.translate(
            contract.ATTACH_TYPE,
            contract.AttachInfo.for_device('sdr-0', 'sdr').encode(),
            self.policy)

    def run_attached(self, command, attachment):
        host_config = {}
        kwargs = {'environment': {'ZUN_SET': 'kept'}}
        translation.apply(attachment, host_config, kwargs)
        return self.docker.run(command, host_config, **kwargs)

    def test_container_reads_the_attached_device(self):
        self.write_spec()
        attachment = self.translate()
        self.assertEqual('1.24', attachment.required_api_version())
        code, out = self.run_attached(_read(self.granted[0]), attachment)
        self.assertEqual(0, code, out)
        self.assertEqual(4, len(out.split()), out)

    def test_container_without_the_device_cannot_read_it(self):
        code, out = self.docker.run(_read(self.granted[0]))
        self.assertNotEqual(0, code)
        self.assertIn('No such file or directory', out)

    def test_node_made_inside_a_container_without_grant_is_refused(self):
        _path, major, minor = self.granted
        code, out = self.docker.run(
            ['sh', '-c', 'mknod /dev/x c %d %d && head -c 1 /dev/x'
             % (major, minor)])
        self.assertNotEqual(0, code)
        self.assertIn('Operation not permitted', out)

    def test_grant_is_no_wider_than_the_node(self):
        # The attached container may not open another minor of the major.
        self.write_spec(deviceNodes=[spec.device_node_dict(
            self.granted[0], 'c', *self.granted[1:], permissions='rwm')])
        _path, major, minor = self.other
        code, out = self.run_attached(
            ['sh', '-c', 'mknod /dev/x c %d %d && head -c 1 /dev/x'
             % (major, minor)], self.translate())
        self.assertNotEqual(0, code)
        self.assertIn('Operation not permitted', out)

    def test_m_permission_allows_only_the_same_node(self):
        self.write_spec(deviceNodes=[spec.device_node_dict(
            self.granted[0], 'c', *self.granted[1:], permissions='rwm')])
        _path, major, minor = self.granted
        code, out = self.run_attached(
            ['sh', '-c', 'mknod /dev/replugged c %d %d && %s'
             % (major, minor, _read('/dev/replugged')[2])],
            self.translate())
        self.assertEqual(0, code, out)
        self.assertEqual(4, len(out.split()), out)

    def test_container_path_differs_from_host_path(self):
        self.write_spec(deviceNodes=[spec.device_node_dict(
            '/dev/sdr0', 'c', *self.granted[1:],
            host_path=self.granted[0])])
        code, out = self.run_attached(_read('/dev/sdr0'), self.translate())
        self.assertEqual(0, code, out)

    def test_symlink_in_dev_is_resolved_to_the_checked_node(self):
        link = '/dev/cyborg-peripherals-test-%d' % os.getpid()
        os.symlink(os.path.basename(self.granted[0]), link)
        self.addCleanup(os.unlink, link)
        self.write_spec(deviceNodes=[spec.device_node_dict(
            link, 'c', *self.granted[1:])])
        attachment = self.translate()
        self.assertEqual(('%s:%s:rw' % (self.granted[0], link),),
                         attachment.devices)
        code, out = self.run_attached(_read(link), attachment)
        self.assertEqual(0, code, out)

    def test_stale_spec_is_refused_before_docker(self):
        path, major, minor = self.granted
        self.write_spec(deviceNodes=[spec.device_node_dict(
            path, 'c', major, minor + 1)])
        e = self.assertRaises(translation.AttachRefused, self.translate)
        self.assertEqual('refused by rule node-mismatch: %s is %d:%d, the '
                         'spec says %d:%d' % (path, major, minor, major,
                                              minor + 1), str(e))

    def test_mounts_are_read_only(self):
        self.write_spec(mounts=[{'hostPath': self.shared,
                                 'containerPath': '/opt/sdr'}])
        code, out = self.run_attached(
            ['sh', '-c', 'cat /opt/sdr/calibration; '
             'echo x > /opt/sdr/calibration'], self.translate())
        self.assertNotEqual(0, code)
        self.assertIn('gain=49.6', out)
        self.assertIn('Read-only file system', out)
        with open(os.path.join(self.shared, 'calibration')) as f:
            self.assertEqual('gain=49.6\n', f.read())

    def test_environment_arrives_intact(self):
        self.write_spec(env=['SDR_ARGS=driver=rtlsdr,serial=00000001=a',
                             'SDR_EMPTY=', 'SDR_SPACES=two  spaces'])
        code, out = self.run_attached(['env'], self.translate())
        self.assertEqual(0, code, out)
        lines = out.splitlines()
        for entry in ('SDR_ARGS=driver=rtlsdr,serial=00000001=a',
                      'SDR_EMPTY=', 'SDR_SPACES=two  spaces',
                      'ZUN_SET=kept'):
            self.assertIn(entry, lines)

    def test_all_at_once_at_zun_default_api_version(self):
        self.write_spec(env=['SDR_DEVICE=%s' % self.granted[0]],
                        mounts=[{'hostPath': self.shared,
                                 'containerPath': '/opt/sdr',
                                 'options': ['ro', 'rbind']}])
        code, out = self.run_attached(
            ['sh', '-c', '%s && cat /opt/sdr/calibration'
             % _read('"$SDR_DEVICE"')[2]], self.translate())
        self.assertEqual(0, code, out)
        self.assertIn('gain=49.6', out)
