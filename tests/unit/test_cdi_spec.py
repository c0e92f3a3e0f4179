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

"""CDI specs: the lowest version, canonical bytes, strict parsing."""

import json

import testtools
from hypothesis import given
from hypothesis import strategies as st

from cyborg_peripherals.cdi import spec


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
