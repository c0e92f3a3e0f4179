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

"""CDI specs: the lowest version, canonical bytes, strict parsing, and
writing them so that no reader ever sees a partial file."""

import errno
import json
import os
import subprocess
import threading

import fixtures
import testtools
from hypothesis import given
from hypothesis import strategies as st

from cyborg_peripherals.cdi import names
from cyborg_peripherals.cdi import spec
from cyborg_peripherals.cdi import writer


def node(**kw):
    return spec.device_node_dict('/dev/ttyUSB0', 'c', 188, 0, **kw)


class TestBuild(testtools.TestCase):

    def test_minimum_versions(self):
        cases = [
            ({'deviceNodes': [node()]}, '0.3.0'),
            ({'deviceNodes': [node(uid=0, gid=20, file_mode=0o660)]},
             '0.3.0'),
            ({'mounts': [{'hostPath': '/a', 'containerPath': '/a',
                          'type': 'bind'}]}, '0.4.0'),
            ({'deviceNodes': [node(host_path='/dev/ttyUSB3')]}, '0.5.0'),
            ({'additionalGids': [20]}, '0.7.0'),
        ]
        for edits, version in cases:
            doc = spec.build_spec('openstack.org/peripheral',
                                  [('dev', edits)])
            self.assertEqual(version, doc['cdiVersion'], edits)
            # What we declare, a strict parser accepts.
            spec.parse(spec.render(doc))

    def test_digit_first_name_needs_050(self):
        doc = spec.build_spec('openstack.org/peripheral',
                              [('0dev', {'deviceNodes': [node()]})])
        self.assertEqual('0.5.0', doc['cdiVersion'])

    def test_render_is_canonical(self):
        a = spec.build_spec('openstack.org/peripheral',
                            [('b', {'deviceNodes': [node()]}),
                             ('a', {'deviceNodes': [node()]})])
        b = spec.build_spec('openstack.org/peripheral',
                            [('a', {'deviceNodes': [node()]}),
                             ('b', {'deviceNodes': [node()]})])
        self.assertEqual(spec.render(a), spec.render(b))


class TestParse(testtools.TestCase):

    def doc(self, **over):
        doc = {'cdiVersion': '0.3.0', 'kind': 'openstack.org/peripheral',
               'devices': [{'name': 'a', 'containerEdits': {
                   'deviceNodes': [node()]}}]}
        doc.update(over)
        return json.dumps(doc)

    def test_parses_edits(self):
        parsed = spec.parse(self.doc(containerEdits={'env': ['A=b=c']}))
        (dev,) = parsed.devices
        self.assertEqual('/dev/ttyUSB0', dev.edits.device_nodes[0].path)
        self.assertEqual(('A=b=c',), parsed.edits.env)

    def test_rejections(self):
        bad = [
            self.doc(cdiVersion='9.9.9'),
            self.doc(kind='nokind'),
            self.doc(devices=[]),
            self.doc(extra=1),
            self.doc(devices=[{'name': 'a', 'containerEdits': {}}]),
            self.doc(devices=[{'name': 'a', 'containerEdits': {
                'deviceNodes': [{'path': '/dev/x', 'major': True}]}}]),
            self.doc(devices=[{'name': 'a', 'containerEdits': {
                'deviceNodes': [{'path': '/dev/x', 'bogus': 1}]}}]),
            self.doc(devices=[{'name': 'a', 'containerEdits': {
                'deviceNodes': [node(host_path='/dev/y')]}}]),
            self.doc(devices=[{'name': 'a', 'containerEdits': {
                'deviceNodes': [node()]}}] * 2),
            self.doc(devices=[{'name': 'a b', 'containerEdits': {
                'deviceNodes': [node()]}}]),
            '{', '[]', '"x"',
        ]
        for text in bad:
            self.assertRaises(spec.InvalidSpec, spec.parse, text)

    def test_unsupported_members_are_kept_not_dropped(self):
        parsed = spec.parse(self.doc(cdiVersion='1.1.0', devices=[
            {'name': 'a', 'containerEdits': {
                'netDevices': [{'hostInterfaceName': 'eth0',
                                'name': 'eth1'}],
                'hooks': [{'hookName': 'createContainer',
                           'path': '/bin/true'}]}}]))
        edits = parsed.devices[0].edits
        self.assertEqual(('netDevices',), edits.other)
        self.assertEqual(1, len(edits.hooks))

    @given(st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
            st.sampled_from(['cdiVersion', 'kind', 'devices', 'name',
                             'containerEdits', 'deviceNodes', 'path',
                             'major', 'env', 'mounts', 'hooks', 'x']),
            inner, max_size=5), max_leaves=20))
    def test_hostile_documents_only_raise_invalid_spec(self, value):
        try:
            spec.parse(json.dumps(value))
        except spec.InvalidSpec:
            pass


class TestRenderPeripherals(testtools.TestCase):

    def test_cached_rendering_equals_full_rendering(self):
        from cyborg_peripherals.cdi import publisher
        from cyborg_peripherals.discovery import model

        def per(name, path, minor):
            return model.Peripheral(
                device_class='serial', identity='serial:' + name,
                name='h_' + name, cdi_name='serial-' + name,
                nodes=(model.DeviceNode(path, 'c', 188, minor, 0, 20,
                                        0o660),),
                resource_class='CUSTOM_PERIPHERAL_SERIAL',
                traits=('OWNER_CYBORG',))

        peripherals = [per('b', '/dev/ttyUSB1', 1),
                       per('a', '/dev/ttyUSB0', 0)]
        full = spec.render(spec.build_spec(
            'openstack.org/peripheral',
            [(p.cdi_name, p.container_edits()) for p in peripherals]))
        self.assertEqual(full, publisher.render_peripherals(peripherals))
        self.assertIsNone(publisher.render_peripherals([]))


class TestNames(testtools.TestCase):

    def test_names_match_as_a_whole(self):
        # "$" in a regex matches before a final newline.
        self.assertFalse(names.is_valid_device_name('dev0\n'))
        self.assertFalse(names.is_valid_class_name('serial\n'))
        self.assertFalse(names.is_valid_kind('openstack.org/peripheral\n'))
        self.assertFalse(names.is_valid_kind('openstack.org\n/peripheral'))
        self.assertTrue(names.is_valid_device_name('dev0'))
        self.assertTrue(names.is_valid_class_name('serial'))

    def test_deep_nesting_is_invalid_not_a_recursion_error(self):
        for opener, closer in (('[', ']'), ('{"a":', '}')):
            data = opener * 100000 + '1' + closer * 100000
            e = self.assertRaises(spec.InvalidSpec, spec.parse, data)
            self.assertIn('nested too deeply', str(e))


def _big_spec(fill, size=2 * 1024 * 1024):
    """A valid spec of about ``size`` bytes, filled with ``fill``."""
    doc = spec.build_spec('openstack.org/peripheral', [('a', {
        'deviceNodes': [node()], 'env': ['PERIPHERAL_FILL=' + fill * size]})])
    return spec.render(doc)


class TestAtomicWrite(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path

    def test_readers_never_see_a_partial_file(self):
        old, new = _big_spec('a'), _big_spec('b')
        writer.atomic_write(self.dir, old)
        seen = []
        stop = threading.Event()

        def reader():
            # As a runtime watching the directory: open and read the
            # whole file, again and again, while it is being replaced.
            while not stop.is_set():
                data = writer.read(self.dir)
                if data not in (old, new):
                    seen.append(len(data or b''))
                    return

        thread = threading.Thread(target=reader)
        thread.start()
        try:
            for i in range(30):
                writer.atomic_write(self.dir, new if i % 2 == 0 else old)
        finally:
            stop.set()
            thread.join()
        self.assertEqual([], seen, 'a reader saw a partial spec of these '
                         'sizes')
        self.assertEqual([writer.SPEC_FILE], os.listdir(self.dir))

    def test_missing_directories_are_not_made(self):
        # Under privsep's umask 0 they would be world-writable.
        missing = os.path.join(self.dir, 'new', 'cdi')
        self.assertRaises(FileNotFoundError, writer.atomic_write, missing,
                          _big_spec('a', size=10))
        self.assertEqual([], os.listdir(self.dir))

    def test_failed_write_keeps_the_old_spec(self):
        if os.geteuid() != 0:
            self.skipTest('mounting a small tmpfs needs root')
        # A real full disk: a tmpfs with room for the old spec only.
        subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=512k,mode=0755',
                        'tmpfs', self.dir], check=True)
        self.addCleanup(subprocess.run, ['umount', self.dir], check=True)
        old = _big_spec('a', size=300 * 1024)
        writer.atomic_write(self.dir, old)
        e = self.assertRaises(OSError, writer.atomic_write, self.dir,
                              _big_spec('b', size=400 * 1024))
        self.assertEqual(errno.ENOSPC, e.errno)
        self.assertEqual(old, writer.read(self.dir))
        # The temporary file is gone too, so the next write has room.
        self.assertEqual([writer.SPEC_FILE], os.listdir(self.dir))
        small = _big_spec('c', size=100 * 1024)
        writer.atomic_write(self.dir, small)
        self.assertEqual(small, writer.read(self.dir))
