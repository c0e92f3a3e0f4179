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

"""The DevStack plugin's phases, run against stand-in DevStack functions.

Each phase runs in a fresh bash that sources a stand-in ``functions``
file, then ``devstack/settings``, then ``devstack/plugin.sh MODE PHASE``,
with errexit set as in stack.sh.  The stand-ins edit real ini files,
record installs and ``openstack`` calls instead of running them, and the
tests check what the plugin leaves behind.
"""

import atexit
import configparser
import functools
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import textwrap
from importlib import metadata

import fixtures
import testtools


TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
DEVSTACK = os.path.join(TOP, 'devstack')
PATCHES = sorted(glob.glob(os.path.join(TOP, 'tools', 'cyborg-patches',
                                        '*.patch')))
CLASSES = ['audio', 'camera', 'gpio', 'hid', 'i2c', 'sdr', 'serial', 'spi']
SPEC_FILE = 'openstack.org-peripheral.json'

# iniset and iniget on real files; [DEFAULT] is an ordinary section here,
# as for DevStack's sed-based functions.
INI_PY = '''\
import configparser
import sys


def load(path):
    cp = configparser.ConfigParser(interpolation=None, strict=False,
                                   default_section='\\0')
    cp.optionxform = str
    cp.read(path)
    return cp


command, path, section, option = sys.argv[1:5]
cp = load(path)
if command == 'get':
    if cp.has_option(section, option):
        print(cp.get(section, option))
else:
    if not cp.has_section(section):
        cp.add_section(section)
    cp.set(section, option, sys.argv[5])
    with open(path, 'w') as f:
        cp.write(f)
'''

FUNCTIONS = '''\
# Stand-ins for the DevStack functions the plugin uses.
function die {
    local lineno=$1
    shift
    echo "[ERROR] plugin.sh:$lineno $*" >&2
    exit 1
}
function define_plugin { :; }
function plugin_requires { :; }
function iniset { "$PYTHON" "$STANDIN/ini.py" set "$@"; }
function iniget { "$PYTHON" "$STANDIN/ini.py" get "$@"; }
function trueorfalse {
    local default=$1
    local testval=${!2:-}
    case "$testval" in
        1 | [yY]es | YES | [tT]rue | TRUE) echo True ;;
        0 | [nN]o | NO | [fF]alse | FALSE) echo False ;;
        *) echo "$default" ;;
    esac
}
function is_service_enabled {
    local service
    for service in "$@"; do
        [[ ,$ENABLED_SERVICES, == *,$service,* ]] && return 0
    done
    return 1
}
function setup_develop { echo "setup_develop $*" >> "$CALLS"; }
function pip_install { echo "pip_install $*" >> "$CALLS"; }
function wait_for_service { echo "wait_for_service $*" >> "$CALLS"; }
function sudo { "$@"; }
'''

# Records each call as a JSON list of its arguments; "list" prints the
# device profile names in $PROFILES, as "-f value -c name" would.
OPENSTACK = '''\
#!{python}
import json
import os
import sys

with open(os.environ['OPENSTACK_CALLS'], 'a') as f:
    f.write(json.dumps(sys.argv[1:]) + '\\n')
if 'list' in sys.argv and os.path.exists(os.environ['PROFILES']):
    with open(os.environ['PROFILES']) as f:
        sys.stdout.write(f.read())
'''

CYBORG_CONF = '''\
[DEFAULT]
debug = True

[agent]
enabled_drivers = fake_driver
'''

ZUN_CONF = '''\
[DEFAULT]
container_driver = docker
debug = True

[docker]
docker_remote_api_host = 192.0.2.10
'''


def read_ini(path):
    cp = configparser.ConfigParser(interpolation=None,
                                   default_section='\0')
    cp.optionxform = str
    cp.read(path)
    return {s: dict(cp.items(s)) for s in cp.sections()}


class DevstackPlugin(fixtures.Fixture):
    """A stand-in DevStack: DEST, config files, functions and openstack."""

    def _setUp(self):
        self.dir = self.useFixture(fixtures.TempDir()).path
        standin = os.path.join(self.dir, 'standin')
        bindir = os.path.join(standin, 'bin')
        os.makedirs(bindir)
        self.functions = os.path.join(standin, 'functions')
        self._write(self.functions, FUNCTIONS)
        self._write(os.path.join(standin, 'ini.py'), INI_PY)
        openstack = os.path.join(bindir, 'openstack')
        self._write(openstack, OPENSTACK.format(python=sys.executable))
        os.chmod(openstack, 0o700)

        self.dest = os.path.join(self.dir, 'opt', 'stack')
        self.cyborg_dir = os.path.join(self.dest, 'cyborg')
        os.makedirs(self.cyborg_dir)
        self.cyborg_conf = os.path.join(self.dir, 'etc', 'cyborg.conf')
        self.zun_conf = os.path.join(self.dir, 'etc', 'zun.conf')
        self.placement_conf = os.path.join(self.dir, 'etc',
                                           'placement.conf')
        self._write(self.cyborg_conf, CYBORG_CONF)
        self._write(self.zun_conf, ZUN_CONF)
        self.cdi_dir = os.path.join(self.dir, 'cdi')
        self.calls = os.path.join(self.dir, 'calls.log')
        self.openstack_calls = os.path.join(self.dir, 'openstack.log')
        self.profiles = os.path.join(self.dir, 'profiles')
        self.env = {
            'PATH': bindir + os.pathsep + os.environ.get('PATH', ''),
            'HOME': self.dir,
            'PYTHON': sys.executable,
            'STANDIN': standin,
            'CALLS': self.calls,
            'OPENSTACK_CALLS': self.openstack_calls,
            'PROFILES': self.profiles,
            'DEST': self.dest,
            'STACK_USER': 'stack',
            'DEVSTACK_PLUGINS': (',devstack-plugin-container,cyborg,zun,'
                                 'cyborg-peripherals'),
            'ENABLED_SERVICES': ('key,placement-api,cyborg,cyborg-api,'
                                 'cyborg-cond,cyborg-agent,zun-api,'
                                 'zun-compute,container'),
            'CYBORG_DIR': self.cyborg_dir,
            'CYBORG_CONF': self.cyborg_conf,
            'CYBORG_API_URL': 'https://192.0.2.10/accelerator',
            'ZUN_CONF': self.zun_conf,
            'PLACEMENT_CONF': self.placement_conf,
            'KEYSTONE_SERVICE_URI': 'https://192.0.2.10/identity',
            'SERVICE_PASSWORD': 'secretservice',
            'SERVICE_PROJECT_NAME': 'service',
            'SERVICE_DOMAIN_NAME': 'Default',
            'REGION_NAME': 'RegionOne',
            'SSL_BUNDLE_FILE': '/opt/stack/data/ca-bundle.pem',
            'SERVICE_TIMEOUT': '60',
            'CYBORG_PERIPHERALS_CDI_DIR': self.cdi_dir,
        }

    @staticmethod
    def _write(path, text):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(text)

    def run(self, mode, phase='', check=True, **env):
        """Source settings and plugin.sh for one phase, as DevStack does."""
        script = textwrap.dedent('''\
            set -o errexit
            source "$1"
            source "$2/settings"
            source "$2/plugin.sh" "$3" "$4"
            ''')
        proc = subprocess.run(
            ['bash', '-c', script, 'bash', self.functions, DEVSTACK,
             mode, phase],
            env=dict(self.env, **env), capture_output=True, text=True)
        if check and proc.returncode:
            raise AssertionError('%s %s failed (%d):\n%s' % (
                mode, phase, proc.returncode, proc.stderr[-4000:]))
        return proc

    def stack(self, *phases, **env):
        for phase in phases:
            self.run('stack', phase, **env)

    def calls_made(self):
        if not os.path.exists(self.calls):
            return []
        with open(self.calls) as f:
            return f.read().splitlines()

    def openstack_calls_made(self):
        if not os.path.exists(self.openstack_calls):
            return []
        with open(self.openstack_calls) as f:
            return [json.loads(line) for line in f]


class TestSettings(testtools.TestCase):

    def test_plugin_requires_cyborg_and_zun(self):
        # The regular expressions of DevStack's write-devstack-local-conf
        # role, which orders plugins in local.conf by these lines.
        with open(os.path.join(DEVSTACK, 'settings')) as f:
            text = f.read()
        self.assertEqual(['cyborg-peripherals'], re.findall(
            r'^define_plugin\s+(\S+)', text, re.MULTILINE))
        self.assertEqual(
            [('cyborg-peripherals', 'cyborg'), ('cyborg-peripherals', 'zun')],
            re.findall(r'^plugin_requires\s+(\S+)\s+(\S+)', text,
                       re.MULTILINE))


class TestPhases(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.devstack = self.useFixture(DevstackPlugin())

    def test_whole_stack_unstack_clean(self):
        d = self.devstack
        d.stack('pre-install', 'install', 'post-config', 'extra',
                'test-config', CYBORG_PERIPHERALS_PATCH_CYBORG='False')
        d.run('unstack')
        d.run('clean')
        self.assertIn('setup_develop %s' % TOP, d.calls_made())
        self.assertEqual('docker_oci',
                         read_ini(d.zun_conf)['DEFAULT']['container_driver'])

    def test_install_develops_the_project_once(self):
        self.devstack.stack('install')
        self.assertEqual(['setup_develop %s' % TOP],
                         self.devstack.calls_made())

    def test_post_config_enables_driver_next_to_others(self):
        self.devstack.stack('post-config')
        cyborg = read_ini(self.devstack.cyborg_conf)
        self.assertEqual('fake_driver,peripheral_driver',
                         cyborg['agent']['enabled_drivers'])
        self.assertEqual({'cdi_spec_dir': self.devstack.cdi_dir,
                          'enabled_classes': ','.join(CLASSES)},
                         cyborg['peripherals'])
        # oslo.privsep's default "sudo privsep-helper" works in DevStack.
        self.assertNotIn('cyborg_peripherals_privileged', cyborg)
        self.assertEqual({'debug': 'True'}, cyborg['DEFAULT'])

    def test_post_config_twice_enables_driver_once(self):
        self.devstack.stack('post-config', 'post-config')
        self.assertEqual(
            'fake_driver,peripheral_driver',
            read_ini(self.devstack.cyborg_conf)['agent']['enabled_drivers'])

    def test_post_config_without_other_drivers(self):
        with open(self.devstack.cyborg_conf, 'w') as f:
            f.write('[DEFAULT]\ndebug = True\n')
        self.devstack.stack('post-config')
        self.assertEqual(
            'peripheral_driver',
            read_ini(self.devstack.cyborg_conf)['agent']['enabled_drivers'])

    def test_post_config_configures_zun(self):
        self.devstack.stack('post-config')
        zun = read_ini(self.devstack.zun_conf)
        self.assertEqual({'container_driver': 'docker_oci', 'debug': 'True'},
                         zun['DEFAULT'])
        self.assertEqual({'cdi_spec_dir': self.devstack.cdi_dir},
                         zun['oci_attach'])
        self.assertEqual({
            'auth_type': 'password',
            'auth_url': 'https://192.0.2.10/identity',
            'username': 'zun',
            'password': 'secretservice',
            'project_name': 'service',
            'user_domain_name': 'Default',
            'project_domain_name': 'Default',
            'region_name': 'RegionOne',
            'cafile': '/opt/stack/data/ca-bundle.pem',
        }, zun['oci_attach_cyborg'])
        # Zun's default Docker API version is enough for the driver.
        self.assertEqual({'docker_remote_api_host': '192.0.2.10'},
                         zun['docker'])

    def test_post_config_configures_patched_zun(self):
        # Zun carrying our series (tools/zun-patches) has the device
        # attacher extension point: Zun's own Docker driver with the oci
        # attacher, and Zun, not a driver of ours, talks to Cyborg.
        self.devstack._write(os.path.join(
            self.devstack.dest, 'zun', 'zun', 'container', 'docker',
            'device_attacher.py'), '')
        self.devstack.stack('post-config')
        zun = read_ini(self.devstack.zun_conf)
        self.assertEqual({'container_driver': 'docker', 'debug': 'True'},
                         zun['DEFAULT'])
        self.assertEqual({'docker_remote_api_host': '192.0.2.10',
                          'device_attachers': 'oci'}, zun['docker'])
        self.assertEqual({'cdi_spec_dir': self.devstack.cdi_dir},
                         zun['oci_attach'])
        self.assertNotIn('oci_attach_cyborg', zun)

    def test_post_config_turns_off_placements_claim_retry(self):
        self.devstack._write(self.devstack.placement_conf,
                             '[placement]\nrandomize_allocation_candidates'
                             ' = True\n')
        self.devstack.stack('post-config')
        self.assertEqual({'randomize_allocation_candidates': 'True',
                          'allocation_conflict_retry_count': '1'},
                         read_ini(self.devstack.placement_conf)['placement'])

    def test_post_config_leaves_placement_of_other_nodes(self):
        self.devstack.stack('post-config', ENABLED_SERVICES='zun-compute')
        self.assertFalse(os.path.exists(self.devstack.placement_conf))

    def test_post_config_classes_and_cdi_dir_from_localrc(self):
        self.devstack.stack('post-config',
                            CYBORG_PERIPHERALS_CLASSES='camera,lidar',
                            CYBORG_PERIPHERALS_CDI_DIR='/etc/cdi')
        cyborg = read_ini(self.devstack.cyborg_conf)
        zun = read_ini(self.devstack.zun_conf)
        self.assertEqual({'cdi_spec_dir': '/etc/cdi',
                          'enabled_classes': 'camera,lidar'},
                         cyborg['peripherals'])
        self.assertEqual('/etc/cdi', zun['oci_attach']['cdi_spec_dir'])

    def test_post_config_only_for_services_of_this_node(self):
        with open(self.devstack.zun_conf) as f:
            before = f.read()
        self.devstack.stack('post-config', ENABLED_SERVICES='cyborg-agent')
        with open(self.devstack.zun_conf) as f:
            self.assertEqual(before, f.read())
        self.devstack.stack('post-config', ENABLED_SERVICES='zun-compute')
        self.assertEqual(
            'fake_driver,peripheral_driver',
            read_ini(self.devstack.cyborg_conf)['agent']['enabled_drivers'])

    def test_extra_creates_a_device_profile_per_class(self):
        self.devstack.stack('extra')
        calls = self.devstack.openstack_calls_made()
        self.assertEqual(
            ['--os-cloud', 'devstack-admin', 'accelerator', 'device',
             'profile', 'list', '-f', 'value', '-c', 'name'], calls[0])
        created = {}
        for call in calls[1:]:
            self.assertEqual(['--os-cloud', 'devstack-admin', 'accelerator',
                              'device', 'profile', 'create'], call[:6])
            name, groups = call[6:]
            created[name] = json.loads(groups)
        self.assertEqual(
            {c: [{'resources:CUSTOM_PERIPHERAL_%s' % c.upper(): '1'}]
             for c in CLASSES}, created)
        self.assertIn('wait_for_service 60 https://192.0.2.10/accelerator',
                      self.devstack.calls_made())

    def test_extra_keeps_existing_profiles(self):
        with open(self.devstack.profiles, 'w') as f:
            f.write('camera\nmy-sdr\nserial\n')
        self.devstack.stack('extra')
        created = [call[6] for call in self.devstack.openstack_calls_made()
                   if 'create' in call]
        self.assertEqual(['audio', 'gpio', 'hid', 'i2c', 'sdr', 'spi'],
                         created)

    def test_extra_custom_class_resource_class(self):
        self.devstack.stack('extra', CYBORG_PERIPHERALS_CLASSES='lidar-3d')
        (call,) = [c for c in self.devstack.openstack_calls_made()
                   if 'create' in c]
        self.assertEqual(['lidar-3d', '[{"resources:CUSTOM_PERIPHERAL_'
                          'LIDAR_3D": "1"}]'], call[6:])

    def test_extra_without_profiles(self):
        self.devstack.stack('extra',
                            CYBORG_PERIPHERALS_DEVICE_PROFILES='false')
        self.devstack.stack('extra', ENABLED_SERVICES='cyborg-agent')
        self.assertEqual([], self.devstack.openstack_calls_made())

    def test_pre_install_refuses_to_run_before_cyborg_or_zun(self):
        for plugins in (',cyborg-peripherals,cyborg,zun',
                        ',cyborg,cyborg-peripherals,zun'):
            proc = self.devstack.run(
                'stack', 'pre-install', check=False,
                DEVSTACK_PLUGINS=plugins,
                CYBORG_PERIPHERALS_PATCH_CYBORG='False')
            self.assertNotEqual(0, proc.returncode)
            self.assertIn('before cyborg-peripherals', proc.stderr)

    def test_clean_removes_the_spec_and_unstack_keeps_it(self):
        spec = os.path.join(self.devstack.cdi_dir, SPEC_FILE)
        other = os.path.join(self.devstack.cdi_dir, 'vendor-other.json')
        os.makedirs(self.devstack.cdi_dir)
        for path in (spec, other):
            with open(path, 'w') as f:
                f.write('{}')
        self.devstack.run('unstack')
        self.assertTrue(os.path.exists(spec))
        self.devstack.run('clean')
        self.assertFalse(os.path.exists(spec))
        self.assertTrue(os.path.exists(other))
        self.devstack.run('clean')


def _git(cwd, *args):
    return subprocess.run(
        ['git', '-c', 'user.name=test', '-c', 'user.email=test@example.com',
         '-c', 'init.defaultBranch=master'] + list(args),
        cwd=cwd, check=True, capture_output=True, text=True).stdout


def _tree(top):
    """Every file under top except .git, with its content."""
    files = {}
    for root, dirs, names in os.walk(top):
        dirs[:] = [d for d in dirs if d != '.git']
        for name in names:
            path = os.path.join(root, name)
            with open(path, 'rb') as f:
                files[os.path.relpath(path, top)] = f.read()
    return files


@functools.lru_cache(maxsize=1)
def _released_cyborg():
    """The source tree of the Cyborg release we pin, from its sdist.

    The series also changes files that the wheel does not ship (the
    api-ref), as it does in the git checkout DevStack uses.
    """
    top = tempfile.mkdtemp(prefix='cyborg-sdist-')
    atexit.register(shutil.rmtree, top, True)
    subprocess.run(
        [sys.executable, '-m', 'pip', 'download', '-q', '--no-deps',
         '--no-binary', ':all:', '-c', os.path.join(TOP, 'constraints.txt'),
         '-d', top, 'openstack-cyborg'],
        check=True, capture_output=True)
    (sdist,) = glob.glob(os.path.join(top, '*.tar.gz'))
    with tarfile.open(sdist) as tar:
        tar.extractall(top, filter='data')
    (tree,) = [p for p in glob.glob(os.path.join(top, '*'))
               if os.path.isdir(p)]
    return tree


class TestCyborgPatches(testtools.TestCase):
    """The patch series applied to a git checkout of released Cyborg.

    The checkout holds the files the series touches, as released (from
    the sdist); the installed, patched Cyborg says what they must become.
    """

    def setUp(self):
        super().setUp()
        try:
            site = metadata.distribution('openstack-cyborg').locate_file('')
        except metadata.PackageNotFoundError:
            self.skipTest('openstack-cyborg is not installed '
                          '(tools/install-cyborg)')
        released = _released_cyborg()
        self.devstack = self.useFixture(DevstackPlugin())
        self.checkout = self.devstack.cyborg_dir
        self.installed = {}
        for patch in PATCHES:
            with open(patch) as f:
                for path in re.findall(r'^diff --git a/\S+ b/(\S+)$',
                                       f.read(), re.MULTILINE):
                    src = os.path.join(str(site), path)
                    if path.startswith('cyborg/') and os.path.exists(src):
                        with open(src, 'rb') as f2:
                            self.installed[path] = f2.read()
                    if os.path.exists(os.path.join(released, path)):
                        dst = os.path.join(self.checkout, path)
                        os.makedirs(os.path.dirname(dst), exist_ok=True)
                        shutil.copyfile(os.path.join(released, path), dst)
        _git(self.checkout, 'init', '-q')
        _git(self.checkout, 'add', '-A')
        _git(self.checkout, 'commit', '-q', '-m', 'Cyborg as released')
        self.head = _git(self.checkout, 'rev-parse', 'HEAD')
        self.pristine = _tree(self.checkout)

    def test_series_applied_without_commits(self):
        proc = self.devstack.run('stack', 'pre-install')
        for patch in PATCHES:
            self.assertIn('applied %s' % os.path.basename(patch),
                          proc.stdout)
        tree = _tree(self.checkout)
        for path, content in self.installed.items():
            self.assertEqual(content, tree[path], path)
        notes = [p for p in tree if p.startswith('releasenotes/notes/')]
        self.assertEqual(len(PATCHES), len(notes))
        self.assertEqual(self.head, _git(self.checkout, 'rev-parse', 'HEAD'))
        self.assertNotEqual('', _git(self.checkout, 'status', '--short'))

    def test_applying_again_changes_nothing(self):
        self.devstack.run('stack', 'pre-install')
        applied = _tree(self.checkout)
        proc = self.devstack.run('stack', 'pre-install')
        self.assertIn('patch series already applied', proc.stdout)
        self.assertEqual(applied, _tree(self.checkout))

    def test_checkout_the_series_does_not_fit_is_left_alone(self):
        # The last patch no longer applies: the first must not be applied
        # on its own either.
        with open(PATCHES[-1]) as f:
            path = re.findall(r'^diff --git a/\S+ b/(cyborg/\S+)$', f.read(),
                              re.MULTILINE)[0]
        with open(os.path.join(self.checkout, path), 'w') as f:
            f.write('# rewritten upstream\n')
        before = _tree(self.checkout)
        proc = self.devstack.run('stack', 'pre-install', check=False)
        self.assertNotEqual(0, proc.returncode)
        self.assertIn('does not apply to %s' % self.checkout, proc.stderr)
        self.assertEqual(before, _tree(self.checkout))

    def test_not_patched_when_turned_off(self):
        self.devstack.run('stack', 'pre-install',
                          CYBORG_PERIPHERALS_PATCH_CYBORG='False')
        self.assertEqual(self.pristine, _tree(self.checkout))
