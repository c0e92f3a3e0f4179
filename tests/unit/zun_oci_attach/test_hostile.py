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


_NAME = re.compile(r'^[A-Z][A-Z0-9_]*$')
_DANGEROUS_ENV = ('LD_PRELOAD', 'LD_LIBRARY_PATH', 'LD_AUDIT', 'PATH',
                  'PYTHONPATH', 'PYTHONSTARTUP', 'BASH_ENV', 'ENV', 'HOME',
                  'NODE_OPTIONS', 'PERL5OPT', 'GLIBC_TUNABLES', 'IFS',
                  'JAVA_TOOL_OPTIONS', 'HTTPS_PROXY', 'OPENSSL_CONF')


def assert_within_policy(test, attachment, allowed_mounts=()):
    """What any granted attachment must look like."""
    for entry in attachment.devices:
        host, container, perms = entry.split(':')
        test.assertEqual(host, os.path.realpath(host))
        for path in (host, container):
            test.assertTrue(path.startswith('/dev/'), entry)
            test.assertEqual(path, os.path.normpath(path))
            test.assertTrue(path.isprintable())
        mode = os.stat(host).st_mode
        test.assertTrue(stat.S_ISCHR(mode) or stat.S_ISBLK(mode), entry)
        test.assertTrue(perms and set(perms) <= set('rwm'), entry)
    test.assertEqual((), attachment.device_cgroup_rules)
    for name in attachment.environment:
        test.assertRegex(name, _NAME)
        test.assertNotIn(name, _DANGEROUS_ENV)
    for mount in attachment.mounts:
        test.assertTrue(any(mount.source == top or
                            mount.source.startswith(top + '/')
                            for top in allowed_mounts), mount)
        test.assertTrue(mount.read_only)


# -- hostile pieces ---------------------------------------------------------

_text = st.text(max_size=40)
_outside_dev = st.one_of(
    st.sampled_from(['/etc/passwd', '/dev', '/dev/', 'dev/null', '/dev//null',
                     '/dev/../etc/shadow', '/dev/./null', '/proc/self/mem',
                     '/', '', '/sys/class/gpio', '/dev/null/..']),
    _text.filter(lambda s: not s.startswith('/dev/')),
    _text.map(lambda s: '/dev/%s/../../etc' % s))
_bad_chars = st.builds(lambda a, c, b: '/dev/%s%s%s' % (a, c, b), _text,
                       st.sampled_from([':', '\n', '\x00', '\x1b', '\x7f']),
                       _text)
_escaping_links = st.sampled_from(['/dev/fd/0', '/dev/fd', '/dev/stdin',
                                   '/dev/stdout'])
_bad_perms = _text.filter(lambda p: p and not (
    set(p) <= set('rwm') and len(set(p)) == len(p)))
_other_numbers = st.tuples(st.integers(0, 2 ** 32 - 1),
                           st.integers(0, 2 ** 32 - 1)).filter(
    lambda mm: mm != (1, 3))
_bad_env_names = st.one_of(
    st.sampled_from(_DANGEROUS_ENV),
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


def _node(**changes):
    node = dict(base.NULL)
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
    ({'node-outside-dev'},
     _escaping_links.map(lambda p: {'deviceNodes': [_node(hostPath=p)]})),
    ({'node-mismatch'}, _other_numbers.map(
        lambda mm: {'deviceNodes': [_node(major=mm[0], minor=mm[1])]})),
    ({'node-type'}, _text.filter(lambda t: t != 'c').map(
        lambda t: {'deviceNodes': [_node(type=t)]})),
    ({'node-mismatch'}, st.integers(1, 2 ** 32 - 1).map(
        lambda u: {'deviceNodes': [_node(uid=u)]})),
    ({'node-mismatch'}, st.integers(0, 0o7777).filter(
        lambda m: m != 0o666).map(
        lambda m: {'deviceNodes': [_node(fileMode=m)]})),
    ({'permissions'}, _bad_perms.map(
        lambda p: {'deviceNodes': [_node(permissions=p)]})),
    ({'env-not-allowed', 'env-malformed'}, st.tuples(_bad_env_names, _text).map(
        lambda kv: {'env': ['%s=%s' % kv]})),
    ({'env-malformed'}, _text.filter(lambda s: '=' not in s).map(
        lambda s: {'env': [s]})),
    ({'hooks'}, _hooks.map(lambda h: {'hooks': h})),
    ({'unsupported-edit'}, st.lists(st.integers(0, 2 ** 31), min_size=1)
     .map(lambda g: {'additionalGids': g})),
    ({'mount-not-allowed', 'mount-target', 'path-characters',
      'unsupported-edit'},
     st.fixed_dictionaries({'hostPath': st.one_of(_text, st.sampled_from(
         ['/', '/etc', '/var/run/docker.sock', '/root/.ssh'])),
         'containerPath': st.one_of(_text, st.just('/mnt'))}).map(
        lambda m: {'mounts': [m]})),
]


@st.composite
def hostile_specs(draw):
    rules, edits = draw(st.sampled_from(_MUTATIONS))
    edits = draw(edits)
    spec_wide = draw(st.booleans())
    device = {'deviceNodes': [base.NULL], 'env': ['SAFE=1']}
    doc = {'kind': contract.CDI_KIND, 'devices': [
        {'name': 'null', 'containerEdits': device if spec_wide else
         dict(device, **{k: device.get(k, []) + v
                         for k, v in edits.items()})}]}
    if spec_wide:
        doc['containerEdits'] = edits
    doc['cdiVersion'] = spec.minimum_version(doc)
    return rules, doc


# Loose shapes: valid, hostile and malformed pieces mixed at random.
_any_node = st.fixed_dictionaries({}, optional={
    'path': st.sampled_from(['/dev/null', '/dev/zero', '/dev/fd/0',
                             '/etc/passwd', '/dev/x:y']) | _text,
    'hostPath': st.sampled_from(['/dev/null', '/dev/zero', '/dev/stdin'])
    | _text,
    'type': st.sampled_from(['c', 'b', 'p', 'u', '']) | _text,
    'major': st.sampled_from([1, -1, 2 ** 40, True]) | st.integers(),
    'minor': st.sampled_from([3, 5, None]) | st.integers(),
    'permissions': st.sampled_from(['rw', 'rwm', '', 'x']) | _text,
    'uid': st.sampled_from([0, 1000, None]),
    'gid': st.sampled_from([0, 44, None]),
    'fileMode': st.sampled_from([0o666, 0o600, None]),
})
_any_edits = st.fixed_dictionaries({}, optional={
    'deviceNodes': st.lists(_any_node, max_size=3),
    'env': st.lists(st.sampled_from(['A=1', 'LD_PRELOAD=/x', 'B=c=d',
                                     'PATH=/tmp', 'noeq']) | _text,
                    max_size=3),
    'mounts': st.lists(st.fixed_dictionaries(
        {'hostPath': _text, 'containerPath': _text}), max_size=1),
    'hooks': st.lists(st.just({'hookName': 'poststart', 'path': '/x'}),
                      max_size=1),
    'additionalGids': st.lists(st.integers(), max_size=1),
})
_loose_specs = st.fixed_dictionaries(
    {'cdiVersion': st.sampled_from(list(spec.KNOWN_VERSIONS) + ['9.9'])
     | _text,
     'kind': st.sampled_from([contract.CDI_KIND, 'nvidia.com/gpu']) | _text,
     'devices': st.lists(st.fixed_dictionaries(
         {'name': st.sampled_from(['null', 'zero', '0']) | _text,
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

    @settings(deadline=None)
    @given(st.binary(max_size=300))
    def test_garbage_spec_files(self, data):
        writer.atomic_write(self.cdi_dir, data)
        e = self.assertRaises(translation.AttachRefused, self.translate)
        self.assertIn(e.rule, ('spec-invalid', 'cdi-kind', 'device-unknown'))


_info_values = st.sampled_from(['openstack.org/peripheral=null',
                                'openstack.org/peripheral=zero',
                                'nvidia.com/gpu=0', 'test', '1', '']) | _text


class TestHostileAttachInfo(base.SpecTestCase):

    def setUp(self):
        super().setUp()
        self.write_spec(devices=[('null', {'deviceNodes': [base.NULL]})])

    @settings(max_examples=300, deadline=None)
    @given(st.one_of(
        st.fixed_dictionaries({'cdi_device': _info_values,
                               'class': _info_values,
                               'version': _info_values}),
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
                                   'device-unknown'))
            self.assertEqual(1, len(str(e).splitlines()))
        else:
            decoded = contract.AttachInfo.decode(attach_info)
            self.assertEqual('openstack.org/peripheral=null',
                             decoded.cdi_device)
            self.assertEqual(('/dev/null:/dev/null:rw',),
                             attachment.devices)

    @given(_text.filter(lambda t: t != contract.ATTACH_TYPE))
    def test_other_attach_types(self, attach_type):
        e = self.assertRaises(translation.AttachRefused,
                              translation.translate, attach_type,
                              base.info(), self.policy)
        self.assertEqual('attach-type', e.rule)

