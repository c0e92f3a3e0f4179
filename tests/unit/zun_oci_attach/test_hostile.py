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

"""Generated hostile specs and attach infos: none gets through or crashes.

The oracle below is written independently of the policy module: it says
what a granted attachment may contain, whatever the spec said.
"""

import json
import os
import re
import stat

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from cyborg_peripherals import contract
from cyborg_peripherals.cdi import spec
from cyborg_peripherals.cdi import writer
from tests.unit.zun_oci_attach import base
from zun_oci_attach import translation


_NAME = re.compile(r'PERIPHERAL_[A-Z0-9_]*')
_DANGEROUS_ENV = ('LD_PRELOAD', 'LD_LIBRARY_PATH', 'LD_AUDIT', 'PATH',
                  'PYTHONPATH', 'PYTHONSTARTUP', 'BASH_ENV', 'ENV', 'HOME',
                  'NODE_OPTIONS', 'PERL5OPT', 'GLIBC_TUNABLES', 'IFS',
                  'JAVA_TOOL_OPTIONS', 'HTTPS_PROXY', 'OPENSSL_CONF')
#: Characters no granted path or value may hold: C0 and C1 controls,
#: bidirectional controls, line and paragraph separators.
_INVISIBLE = re.compile('[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f'
                        '\u2028\u2029\u202a-\u202e\u2066-\u2069]')
#: Container paths the runtime itself provides.
_RUNTIME_NODES = ('/dev/null', '/dev/zero', '/dev/full', '/dev/random',
                  '/dev/urandom', '/dev/tty', '/dev/console', '/dev/ptmx',
                  '/dev/fd', '/dev/stdin', '/dev/stdout', '/dev/stderr',
                  '/dev/pts', '/dev/shm', '/dev/mqueue')
_RUNTIME_TREES = ('/dev/pts/', '/dev/shm/', '/dev/mqueue/', '/dev/fd/')


def _never_peripheral(major, minor):
    """Memory, consoles, vcs, pty, kvm, fuse, mapper, loop, ...: by number."""
    return (major in (1, 7, 21, 202, 203) or 136 <= major <= 143
            or (major == 4 and minor < 64) or (major == 5 and minor < 4)
            or (major == 10 and minor in (144, 200, 223, 227, 229, 231, 232,
                                          234, 235, 236, 237, 238, 241)))


def assert_within_policy(test, attachment, allowed_mounts=()):
    """What any granted attachment must look like."""
    for entry in attachment.devices:
        host, container, perms = entry.split(':')
        test.assertEqual(host, os.path.realpath(host))
        for path in (host, container):
            test.assertTrue(path.startswith('/dev/'), entry)
            test.assertEqual(path, os.path.normpath(path))
            test.assertTrue(path.isprintable())
            test.assertIsNone(_INVISIBLE.search(path), entry)
        test.assertNotIn(container, _RUNTIME_NODES)
        test.assertFalse(container.startswith(_RUNTIME_TREES), entry)
        st = os.stat(host)
        test.assertTrue(stat.S_ISCHR(st.st_mode), entry)
        test.assertFalse(_never_peripheral(os.major(st.st_rdev),
                                           os.minor(st.st_rdev)), entry)
        test.assertTrue(perms and set(perms) <= set('rwm'), entry)
    test.assertEqual((), attachment.device_cgroup_rules)
    for name, value in attachment.environment.items():
        test.assertRegex(name, _NAME)
        test.assertNotIn('\n', name)
        test.assertNotIn(name, _DANGEROUS_ENV)
        test.assertIsNone(_INVISIBLE.search(value))
        test.assertLessEqual(len(value), 1024)
    for mount in attachment.mounts:
        test.assertTrue(any(mount.source == top or
                            mount.source.startswith(top + '/')
                            for top in allowed_mounts), mount)
        test.assertTrue(mount.read_only)
        test.assertFalse(any(mount.target == top or
                             mount.target.startswith(top + '/')
                             for top in ('/etc', '/proc', '/sys', '/dev')))


# -- hostile pieces ---------------------------------------------------------

_text = st.text(max_size=40)
_outside_dev = st.one_of(
    st.sampled_from(['/etc/passwd', '/dev', '/dev/', 'dev/null', '/dev//null',
                     '/dev/../etc/shadow', '/dev/./null', '/proc/self/mem',
                     '/', '', '/sys/class/gpio', '/dev/null/..']),
    _text.filter(lambda s: not s.startswith('/dev/')),
    _text.map(lambda s: '/dev/%s/../../etc' % s))
_bad_chars = st.builds(lambda a, c, b: '/dev/%s%s%s' % (a, c, b), _text,
                       st.sampled_from([':', '\n', '\x00', '\x1b', '\x7f',
                                        '\x85', '\x9b', '\u202e', '\u2066',
                                        '\u2028', '\u2029']),
                       _text)
_escaping_links = st.sampled_from(['/dev/fd/0', '/dev/fd', '/dev/stdin',
                                   '/dev/stdout'])
_bad_perms = _text.filter(lambda p: p and not (
    set(p) <= set('rwm') and len(set(p)) == len(p)))
_other_numbers = st.tuples(st.integers(0, 2 ** 32 - 1),
                           st.integers(0, 2 ** 32 - 1)).filter(
    lambda mm: mm != (base.A_MAJOR, base.A_MINOR))
_bad_env_names = st.one_of(
    st.sampled_from(_DANGEROUS_ENV),
    st.sampled_from(_DANGEROUS_ENV + ('PERIPHERAL_X',)).map(
        lambda n: n + '\n'),
    _text.filter(lambda s: not s.startswith('PERIPHERAL_')
                 and '=' not in s and s),
    st.builds(lambda p, s: p + s,
              st.sampled_from(['LD_', 'PYTHON', 'DYLD_', 'MALLOC_', 'GIT_']),
              st.from_regex(r'[A-Z0-9_]{0,8}', fullmatch=True)),
    _text.filter(lambda s: '=' not in s and s and not _NAME.match(s)))
_hooks = st.lists(st.fixed_dictionaries(
    {'hookName': st.sampled_from(['createRuntime', 'createContainer',
                                  'startContainer', 'poststart',
                                  'poststop']),
     'path': st.sampled_from(['/bin/sh', '/usr/bin/nsenter'])}),
    min_size=1, max_size=2)


def _host_nodes(paths, want_block):
    found = []
    for path in paths:
        try:
            st_ = os.stat(path)
        except OSError:
            continue
        if stat.S_ISBLK(st_.st_mode) == want_block:
            found.append({'path': path, 'hostPath': path,
                          'type': 'b' if want_block else 'c',
                          'major': os.major(st_.st_rdev),
                          'minor': os.minor(st_.st_rdev)})
    return found


def _never_nodes():
    return _host_nodes(['/dev/null', '/dev/zero', '/dev/full', '/dev/mem',
                        '/dev/kmsg', '/dev/kvm', '/dev/fuse', '/dev/vcs',
                        '/dev/vcsa', '/dev/tty0', '/dev/tty1', '/dev/tty63',
                        '/dev/console', '/dev/loop-control', '/dev/ptmx',
                        '/dev/mapper/control', '/dev/net/tun'], False)


def _block_nodes():
    # Hosts without a block node still test the rule by its numbers.
    return _host_nodes(['/dev/vda', '/dev/sda', '/dev/loop0', '/dev/zram0',
                        '/dev/nvme0n1', '/dev/mmcblk0'], True) or [
        {'path': '/dev/sda', 'type': 'b', 'major': 8, 'minor': 0}]


def _node(**changes):
    node = dict(base.NODE_A)
    node.update(changes)
    return node


#: (expected rules, strategy of containerEdits) -- each one hostile.
_MUTATIONS = [
    ({'node-outside-dev', 'path-characters'},
     _outside_dev.map(lambda p: {'deviceNodes': [_node(path=p)]})),
    ({'node-outside-dev', 'path-characters'},
     # An empty hostPath means "same as path" in CDI.
     _outside_dev.filter(bool).map(
         lambda p: {'deviceNodes': [_node(hostPath=p)]})),
    ({'node-outside-dev', 'path-characters'},
     _bad_chars.map(lambda p: {'deviceNodes': [_node(path=p)]})),
    # Where stdin/stdout lead depends on the test runner: /proc, a pty or
    # /dev/null, never a peripheral.
    ({'node-outside-dev', 'node-never-peripheral'},
     _escaping_links.map(lambda p: {'deviceNodes': [_node(hostPath=p)]})),
    ({'node-mismatch', 'node-never-peripheral'}, _other_numbers.map(
        lambda mm: {'deviceNodes': [_node(major=mm[0], minor=mm[1])]})),
    ({'node-reserved-path'}, st.one_of(
        st.sampled_from(_RUNTIME_NODES),
        st.builds(lambda top, rest: top + rest,
                  st.sampled_from(_RUNTIME_TREES),
                  st.from_regex(r'[a-z0-9]{1,8}', fullmatch=True)))
     .map(lambda p: {'deviceNodes': [_node(path=p, hostPath=base.A_PATH)]})),
    ({'node-never-peripheral'}, st.sampled_from(_never_nodes()).map(
        lambda n: {'deviceNodes': [dict(n, path='/dev/peripheral0')]})),
    ({'node-block'}, st.sampled_from(_block_nodes()).map(
        lambda n: {'deviceNodes': [dict(n, path='/dev/peripheral0')]})),
    ({'env-value'}, st.one_of(
        st.builds(lambda a, c, b: a + c + b, _text,
                  st.sampled_from(['\n', '\r', '\x00', '\x1b', '\x85',
                                   '\u202e', '\u2028']), _text),
        st.integers(1025, 70000).map(lambda n: 'v' * n)).map(
        lambda v: {'env': ['PERIPHERAL_X=' + v]})),
    ({'node-type'}, _text.filter(lambda t: t != 'c').map(
        lambda t: {'deviceNodes': [_node(type=t)]})),
    ({'node-mismatch'}, st.integers(1, 2 ** 32 - 1).map(
        lambda u: {'deviceNodes': [_node(uid=u)]})),
    ({'node-mismatch'}, st.integers(0, 0o7777).filter(
        lambda m: m != os.stat(base.A_PATH).st_mode & 0o7777).map(
        lambda m: {'deviceNodes': [_node(fileMode=m)]})),
    ({'permissions'}, _bad_perms.map(
        lambda p: {'deviceNodes': [_node(permissions=p)]})),
    ({'env-not-allowed', 'env-malformed'}, st.tuples(_bad_env_names,
                                                     _text).map(
        lambda kv: {'env': ['%s=%s' % kv]})),
    ({'env-malformed'}, _text.filter(lambda s: '=' not in s).map(
        lambda s: {'env': [s]})),
    ({'hooks'}, _hooks.map(lambda h: {'hooks': h})),
    ({'unsupported-edit'}, st.lists(st.integers(0, 2 ** 31), min_size=1)
     .map(lambda g: {'additionalGids': g})),
    ({'mount-not-allowed', 'mount-target', 'path-characters',
      'unsupported-edit', 'mount-target-reserved'},
     st.fixed_dictionaries({'hostPath': st.one_of(_text, st.sampled_from(
         ['/', '/etc', '/var/run/docker.sock', '/root/.ssh'])),
         'containerPath': st.one_of(_text, st.sampled_from(
             ['/mnt', '/etc/ld.so.preload', '/proc/sys', '/sys',
              '/dev/x', base.A_PATH]))}).map(
        lambda m: {'mounts': [m]})),
]


@st.composite
def hostile_specs(draw):
    rules, edits = draw(st.sampled_from(_MUTATIONS))
    edits = draw(edits)
    spec_wide = draw(st.booleans())
    device = {'deviceNodes': [base.NODE_A], 'env': ['PERIPHERAL_SAFE=1']}
    doc = {'kind': contract.CDI_KIND, 'devices': [
        {'name': base.NAME_A, 'containerEdits': device if spec_wide else
         dict(device, **{k: device.get(k, []) + v
                         for k, v in edits.items()})}]}
    if spec_wide:
        # Whatever they hold, spec-wide edits are refused as such.
        rules = {'spec-edits'}
        doc['containerEdits'] = edits
    doc['cdiVersion'] = spec.minimum_version(doc)
    return rules, doc


# Loose shapes: valid, hostile and malformed pieces mixed at random.
_any_node = st.fixed_dictionaries({}, optional={
    'path': st.sampled_from([base.A_PATH, base.B_PATH, '/dev/null',
                             '/dev/zero', '/dev/fd/0', '/dev/pts/ptmx',
                             '/dev/shm/x', '/etc/passwd', '/dev/x:y',
                             '/dev/x\u202e']) | _text,
    'hostPath': st.sampled_from([base.A_PATH, base.B_PATH, '/dev/null',
                                 '/dev/zero', '/dev/stdin', '/dev/kmsg',
                                 '/dev/kvm', '/dev/vcsa', '/dev/tty2',
                                 '/dev/loop-control', '/dev/fuse',
                                 '/dev/vda', '/dev/loop0'])
    | _text,
    'type': st.sampled_from(['c', 'b', 'p', 'u', '']) | _text,
    'major': st.sampled_from([base.A_MAJOR, base.B_MAJOR, 1, 4, 7, 10, 254,
                              -1, 2 ** 40, True]) | st.integers(),
    'minor': st.sampled_from([base.A_MINOR, base.B_MINOR, 3, 5, 2, 128,
                              232, 0, None]) | st.integers(),
    'permissions': st.sampled_from(['rw', 'rwm', '', 'x']) | _text,
    'uid': st.sampled_from([0, 1000, None]),
    'gid': st.sampled_from([0, 44, None]),
    'fileMode': st.sampled_from([0o666, 0o600, None]),
})
_any_edits = st.fixed_dictionaries({}, optional={
    'deviceNodes': st.lists(_any_node, max_size=3),
    'env': st.lists(st.sampled_from(['PERIPHERAL_A=1', 'LD_PRELOAD=/x',
                                     'PERIPHERAL_B=c=d', 'PATH=/tmp',
                                     'PATH\n=/tmp', 'PERIPHERAL_C=\n',
                                     'noeq']) | _text,
                    max_size=3),
    'mounts': st.lists(st.fixed_dictionaries(
        {'hostPath': _text, 'containerPath': _text | st.sampled_from(
            ['/etc/x', '/opt/x', '/dev/x', '/proc'])}), max_size=1),
    'hooks': st.lists(st.just({'hookName': 'poststart', 'path': '/x'}),
                      max_size=1),
    'additionalGids': st.lists(st.integers(), max_size=1),
})
_loose_specs = st.fixed_dictionaries(
    {'cdiVersion': st.sampled_from(list(spec.KNOWN_VERSIONS) + ['9.9'])
     | _text,
     'kind': st.sampled_from([contract.CDI_KIND, 'nvidia.com/gpu']) | _text,
     'devices': st.lists(st.fixed_dictionaries(
         {'name': st.sampled_from([base.NAME_A, base.NAME_B, 'zero', '0'])
          | _text,
          'containerEdits': _any_edits}), max_size=3)},
    optional={'containerEdits': _any_edits})


class TestHostileSpecs(base.SpecTestCase):

    @settings(max_examples=300, deadline=None)
    @given(hostile_specs())
    def test_no_hostile_spec_gets_through(self, case):
        rules, doc = case
        self.write_doc(doc)
        e = self.assertRaises(translation.AttachRefused, self.translate)
        self.assertIn(e.rule, rules, str(e))
        self.assertEqual(1, len(str(e).splitlines()))

    @settings(max_examples=300, deadline=None)
    @given(_loose_specs)
    def test_loose_specs_are_refused_or_safe(self, doc):
        self.write_doc(doc)
        try:
            attachment = self.translate()
        except translation.AttachRefused as e:
            self.assertEqual(1, len(str(e).splitlines()))
        else:
            assert_within_policy(self, attachment)

    @settings(max_examples=200, deadline=None)
    @given(st.lists(st.fixed_dictionaries({
        'hostPath': st.sampled_from(['', '/lib', '/lib/../..', '/x:y']),
        'containerPath': st.sampled_from(
            ['/opt/sdr', '/etc', '/etc/ld.so.preload', '/proc/1', '/sys',
             '/sys/kernel', '/dev', '/dev/shm', '/', '/opt/sdr\u202e',
             base.A_PATH]) | _text},
        optional={'options': st.lists(st.sampled_from(
            ['ro', 'rw', 'rbind', 'nosuid']), max_size=2)}),
        min_size=1, max_size=3))
    def test_mounts_of_an_allowlisted_tree_are_refused_or_safe(self, mounts):
        shared = os.path.join(self.cdi_dir, 'shared')
        os.makedirs(os.path.join(shared, 'lib'), exist_ok=True)
        policy = translation.Policy(cdi_dir=self.cdi_dir,
                                    mount_allowlist=[shared])
        self.write_spec(deviceNodes=[base.NODE_A], mounts=[
            dict(m, hostPath=shared + m['hostPath']) for m in mounts])
        try:
            attachment = self.translate(policy=policy)
        except translation.AttachRefused as e:
            self.assertEqual(1, len(str(e).splitlines()))
        else:
            assert_within_policy(self, attachment, allowed_mounts=[shared])

    @settings(deadline=None)
    @given(st.binary(max_size=300))
    def test_garbage_spec_files(self, data):
        writer.atomic_write(self.cdi_dir, data)
        e = self.assertRaises(translation.AttachRefused, self.translate)
        self.assertIn(e.rule, ('spec-invalid', 'cdi-kind', 'device-unknown',
                               'spec-edits'))

    @settings(deadline=None)
    @given(st.integers(900, 200000), st.sampled_from('[{'))
    def test_deeply_nested_spec_files(self, depth, opener):
        inner = '{"a":' if opener == '{' else '['
        data = ('{"cdiVersion":"0.3.0","kind":"%s","devices":[{"name":'
                '"x","containerEdits":{"hooks":[{"hookName":"a","path":'
                '"/b","args":%s}]}}]}' % (contract.CDI_KIND, inner * depth))
        writer.atomic_write(self.cdi_dir, data.encode())
        e = self.assertRaises(translation.AttachRefused, self.translate)
        self.assertEqual('spec-invalid', e.rule)


_info_values = st.sampled_from(['openstack.org/peripheral=' + base.NAME_A,
                                'openstack.org/peripheral=%s\n'
                                % base.NAME_A,
                                'openstack.org/peripheral=zero',
                                'nvidia.com/gpu=0', 'test', 'test\n',
                                'camera', '1', '1\n', '']) | _text


class TestHostileAttachInfo(base.SpecTestCase):

    def setUp(self):
        super().setUp()
        self.write_spec(devices=[(base.NAME_A,
                                  {'deviceNodes': [base.NODE_A]})])

    @settings(max_examples=300, deadline=None)
    @given(st.one_of(
        st.fixed_dictionaries({'cdi_device': _info_values,
                               'class': _info_values,
                               'version': _info_values}),
        # Our device under any class.
        st.fixed_dictionaries({
            'cdi_device': st.just('openstack.org/peripheral=' + base.NAME_A),
            'class': st.sampled_from(['test', 'camera', 'serial', 'sdr'])
            | _info_values, 'version': st.just('1')}),
        st.dictionaries(_text, _info_values | st.integers() | st.none(),
                        max_size=4),
        st.lists(_text, max_size=2), st.none(), st.integers(),
        _text, st.binary(max_size=64)),
        st.booleans())
    def test_only_our_device_gets_through(self, attach_info, as_json):
        if as_json and not isinstance(attach_info, bytes):
            attach_info = json.dumps(attach_info)
        try:
            attachment = self.translate(attach_info)
        except translation.AttachRefused as e:
            self.assertIn(e.rule, ('attach-info', 'cdi-kind',
                                   'device-unknown', 'class-mismatch'))
            self.assertEqual(1, len(str(e).splitlines()))
        else:
            decoded = contract.AttachInfo.decode(attach_info)
            self.assertEqual('openstack.org/peripheral=' + base.NAME_A,
                             decoded.cdi_device)
            self.assertEqual('test', decoded.device_class)
            self.assertEqual((base.GRANT_A,), attachment.devices)

    @given(_text.filter(lambda t: t != contract.ATTACH_TYPE))
    def test_other_attach_types(self, attach_type):
        e = self.assertRaises(translation.AttachRefused,
                              translation.translate, attach_type,
                              base.info(), self.policy)
        self.assertEqual('attach-type', e.rule)

