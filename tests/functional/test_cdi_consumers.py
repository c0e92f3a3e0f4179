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

"""Our CDI spec, written by the real CLI and privsep daemon, read by podman.

Podman embeds the reference CDI implementation (Go), which we did not
write.  The peripheral is a real character device of this machine, found
by an operator-defined class in the host's real sysfs.
"""

import json
import os
import shutil
import subprocess
import sys

import fixtures
import testtools

from aio import rootfs
from cyborg_peripherals.cdi import writer


IMAGE = 'localhost/cyborg-peripherals/busybox:test'
DEVICE = '/dev/hwrng'
# Debian's podman uses crun, which refuses this kernel's hybrid cgroups;
# the hard limits here are below podman's defaults.
PODMAN = ['podman', '--runtime', 'runc']
LIMITS = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024']


def host_env():
    """Environment that sees the host's real /sys, not a testbed."""
    env = dict(os.environ)
    for name in ('LD_PRELOAD', 'UMOCKDEV_DIR'):
        env.pop(name, None)
    return env


class TestPodmanConsumesOurSpec(testtools.TestCase):

    def setUp(self):
        super().setUp()
        for tool in ('podman', 'runc'):
            if shutil.which(tool) is None:
                self.fail('%s is not installed (tools/setup-env installs '
                          'it)' % tool)
        if not os.path.exists(DEVICE):
            self.skipTest('%s is not present on this machine' % DEVICE)
        self.tmp = self.useFixture(fixtures.TempDir()).path
        # podman 4.3 only reads the default CDI directories.
        self.cdi_dir = '/var/run/cdi'
        self._keep_existing_spec()
        subprocess.run(PODMAN + ['import', '-', IMAGE],
                       input=rootfs.busybox_tar(), check=True,
                       capture_output=True, env=host_env())

    def _keep_existing_spec(self):
        path = writer.spec_path(self.cdi_dir)
        if os.path.exists(path):
            saved = os.path.join(self.tmp, 'saved-spec.json')
            shutil.copy2(path, saved)
            self.addCleanup(shutil.copy2, saved, path)
        else:
            self.addCleanup(writer.remove, self.cdi_dir)

    def discover(self):
        config = os.path.join(self.tmp, 'cyborg-peripherals.conf')
        with open(config, 'w') as f:
            f.write('[peripherals]\n'
                    'host = podman-test\n'
                    'cdi_spec_dir = %s\n'
                    'enabled_classes = rng\n'
                    '[peripheral_class:rng]\n'
                    'subsystem = misc\n'
                    'match = KERNEL==hw_random\n' % self.cdi_dir)
        out = subprocess.run(
            [sys.executable, '-m', 'cyborg_peripherals.cmd.cli',
             '--config-file', config, 'discover', '--write-cdi',
             '--format', 'json'],
            check=True, capture_output=True, text=True, env=host_env())
        return json.loads(out.stdout)

    def podman_run(self, *args):
        return subprocess.run(
            PODMAN + ['run', '--rm'] + LIMITS + list(args),
            capture_output=True, text=True, env=host_env(), timeout=120)

    def test_podman_runs_container_with_our_device(self):
        (found,) = self.discover()
        self.assertEqual([{'path': DEVICE, 'type': 'c', 'major': 10,
                           'minor': 183}], found['nodes'])
        cdi_device = found['attach_handle']['info']['cdi_device']
        self.assertTrue(cdi_device.startswith('openstack.org/peripheral='))

        st = os.stat(writer.spec_path(self.cdi_dir))
        self.assertEqual((0, 0o644), (st.st_uid, st.st_mode & 0o777))

        run = self.podman_run('--device', cdi_device, IMAGE, 'sh', '-c',
                              'head -c 16 %s | od -An -tx1' % DEVICE)
        self.assertEqual(0, run.returncode, run.stderr)
        self.assertEqual(16, len(run.stdout.split()))

        # Without the CDI device the node is neither there nor makeable.
        denied = self.podman_run(
            IMAGE, 'sh', '-c', 'mknod /tmp/rng c 10 183 && head -c 1 '
            '/tmp/rng')
        self.assertNotEqual(0, denied.returncode)
        self.assertIn('Operation not permitted', denied.stderr +
                      denied.stdout)
