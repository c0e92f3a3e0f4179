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

"""Private keys: made with their final mode, readable by their owner
only, and the same keys WireGuard's own tools derive.
"""

import os
import shutil
import stat
import subprocess
import threading

import fixtures
import testtools

from edge_sdk import keys


class KeysTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.top = self.useFixture(fixtures.TempDir()).path
        self.state = os.path.join(self.top, 'state')

    def test_state_dir_and_key_modes_despite_umask_0(self):
        old = os.umask(0)
        self.addCleanup(os.umask, old)
        private_key, public_key = keys.ensure_key(self.state, 'control')
        self.assertEqual(0o700, stat.S_IMODE(os.stat(self.state).st_mode))
        path = keys.key_path(self.state, 'control')
        st = os.stat(path)
        self.assertEqual(0o600, stat.S_IMODE(st.st_mode))
        self.assertEqual(os.geteuid(), st.st_uid)
        # Nothing else is left in the directory (no temporary file).
        self.assertEqual(['control.key'], os.listdir(self.state))

    def test_round_trip_and_stable(self):
        first = keys.ensure_key(self.state, 'control')
        second = keys.ensure_key(self.state, 'control')
        self.assertEqual(first, second)
        self.assertEqual(first[1], keys.public_key(first[0]))
        self.assertEqual(first[0],
                         keys.read_private(keys.key_path(self.state,
                                                         'control')))
        other = keys.ensure_key(self.state, 'tenant')
        self.assertNotEqual(first, other)

    def test_generate_replaces_the_key(self):
        keys.ensure_state_dir(self.state)
        path = keys.key_path(self.state, 'control')
        one = keys.generate(path)
        two = keys.generate(path)
        self.assertNotEqual(one, two)
        self.assertEqual(two, keys.public_key(keys.read_private(path)))

    def test_file_is_never_seen_with_another_mode(self):
        # A watcher samples the directory while keys are written: every
        # file it finds there is 0600 from its first appearance on.
        keys.ensure_state_dir(self.state)
        path = keys.key_path(self.state, 'control')
        seen = set()
        done = threading.Event()

        def watch():
            while not done.is_set():
                for name in os.listdir(self.state):
                    try:
                        st = os.lstat(os.path.join(self.state, name))
                    except FileNotFoundError:
                        continue
                    seen.add(stat.S_IMODE(st.st_mode))

        old = os.umask(0)
        self.addCleanup(os.umask, old)
        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            for _ in range(200):
                keys.generate(path)
        finally:
            done.set()
            watcher.join()
        self.assertEqual({0o600}, seen)

    def test_matches_wg_pubkey(self):
        if not shutil.which('wg'):
            self.skipTest('needs wg (wireguard-tools)')
        private_key, public_key = keys.ensure_key(self.state, 'control')
        out = subprocess.run(['wg', 'pubkey'], input=private_key + '\n',
                             capture_output=True, text=True, check=True)
        self.assertEqual(public_key, out.stdout.strip())
        # And a key wg made is read as wg reads it.
        made = subprocess.run(['wg', 'genkey'], capture_output=True,
                              text=True, check=True).stdout.strip()
        out = subprocess.run(['wg', 'pubkey'], input=made + '\n',
                             capture_output=True, text=True, check=True)
        self.assertEqual(out.stdout.strip(), keys.public_key(made))

    def test_refuses_readable_key_file(self):
        keys.ensure_key(self.state, 'control')
        path = keys.key_path(self.state, 'control')
        os.chmod(path, 0o644)
        e = self.assertRaises(keys.KeyFileError, keys.read_private, path)
        self.assertIn('chmod 600', str(e))

    def test_refuses_open_state_dir(self):
        os.mkdir(self.state, 0o755)
        os.chmod(self.state, 0o755)  # noqa: S103
        e = self.assertRaises(keys.KeyFileError, keys.ensure_key,
                              self.state, 'control')
        self.assertIn('chmod 700', str(e))

    def test_refuses_symlinked_key(self):
        keys.ensure_state_dir(self.state)
        target = os.path.join(self.top, 'elsewhere')
        with open(target, 'w') as f:
            f.write('x')
        os.symlink(target, keys.key_path(self.state, 'control'))
        self.assertRaises(OSError, keys.read_private,
                          keys.key_path(self.state, 'control'))

    def test_garbage_key_message_does_not_quote_it(self):
        keys.ensure_state_dir(self.state)
        path = keys.key_path(self.state, 'control')
        secret = 'not-a-key-but-secret-looking'
        keys.generate(path)
        with open(path, 'w') as f:
            f.write(secret)
        os.chmod(path, 0o600)
        e = self.assertRaises(keys.KeyFileError, keys.read_private, path)
        self.assertNotIn(secret, str(e))
        self.assertIn('remove it', str(e))

    def test_bad_names_refused(self):
        for name in ('', 'Control', 'a' * 13, '../x', 'a/b', '-x', 'a b',
                     'a\n'):
            self.assertRaises(ValueError, keys.key_path, self.state, name)
