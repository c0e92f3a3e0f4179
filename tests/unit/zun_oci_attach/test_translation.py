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

"""Attachments: JSON shape, merging, API versions and docker kwargs."""

import copy
import json

import docker
from hypothesis import given
from hypothesis import strategies as st
from oslotest import base as oslo_base

from tests.unit.zun_oci_attach import base
from zun_oci_attach import translation


A = translation.Attachment
NULL_DEV = '/dev/null:/dev/null:rw'


class TestAttachment(oslo_base.BaseTestCase):

    def test_json_shape(self):
        attachment = A(devices=(NULL_DEV,),
                       mounts=(translation.Mount('/opt/vc', '/opt/vc'),),
                       environment={'A': 'b=c'})
        self.assertEqual(
            {'devices': [NULL_DEV], 'device_cgroup_rules': [],
             'mounts': [{'source': '/opt/vc', 'target': '/opt/vc',
                         'read_only': True}],
             'environment': {'A': 'b=c'}},
            json.loads(json.dumps(attachment.to_json())))

    def test_json_names_cdi_devices_only_when_used(self):
        self.assertEqual(['openstack.org/peripheral=x'],
                         A(cdi_devices=('openstack.org/peripheral=x',))
                         .to_json()['cdi_devices'])

    def test_required_api_version(self):
        self.assertEqual('1.24', A(devices=(NULL_DEV,)).required_api_version())
        self.assertEqual('1.28', A(device_cgroup_rules=('c 1:3 rw',))
                         .required_api_version())
        self.assertEqual('1.40', A(cdi_devices=('openstack.org/p=x',))
                         .required_api_version())

    def test_combine_merges(self):
        combined = A.combine([
            A(devices=(NULL_DEV,), environment={'A': '1'}),
            A(devices=('/dev/null:/dev/null:m', '/dev/zero:/dev/zero:r'),
              environment={'A': '1', 'B': '2'})])
        self.assertEqual(('/dev/null:/dev/null:rwm', '/dev/zero:/dev/zero:r'),
                         combined.devices)
        self.assertEqual({'A': '1', 'B': '2'}, combined.environment)

    def test_combine_refuses_conflicts(self):
        for pair in (
                [A(devices=(NULL_DEV,)),
                 A(devices=('/dev/zero:/dev/null:rw',))],
                [A(environment={'A': '1'}), A(environment={'A': '2'})],
                [A(mounts=(translation.Mount('/a', '/m'),)),
                 A(mounts=(translation.Mount('/b', '/m'),))],
                [A(mounts=(translation.Mount('/a', '/m'),)),
                 A(mounts=(translation.Mount('/a', '/m', False),))]):
            e = self.assertRaises(translation.AttachRefused, A.combine, pair)
            self.assertEqual('conflict', e.rule)


class TestApply(oslo_base.BaseTestCase):

    attachment = A(devices=(NULL_DEV,),
                   mounts=(translation.Mount('/opt/vc', '/opt/vc'),),
                   environment={'SDR_ARGS': 'serial=1'})

    def test_into_what_zun_builds(self):
        host_config = {'binds': {'/var/lib/zun/v1': {'bind': '/data'}},
                       'mem_limit': '512M'}
        kwargs = {'environment': {'FOO': 'bar'}, 'name': 'zun-1'}
        translation.apply(self.attachment, host_config, kwargs)
        self.assertEqual({
            'binds': {'/var/lib/zun/v1': {'bind': '/data'},
                      '/opt/vc': {'bind': '/opt/vc', 'mode': 'ro'}},
            'mem_limit': '512M', 'devices': [NULL_DEV]}, host_config)
        self.assertEqual({'environment': {'FOO': 'bar',
                                          'SDR_ARGS': 'serial=1'},
                          'name': 'zun-1'}, kwargs)

    def test_list_forms(self):
        host_config = {'binds': ['/srv:/srv:rw']}
        kwargs = {'environment': ['FOO=a=b']}
        translation.apply(self.attachment, host_config, kwargs)
        self.assertEqual(['/srv:/srv:rw', '/opt/vc:/opt/vc:ro'],
                         host_config['binds'])
        self.assertEqual(['FOO=a=b', 'SDR_ARGS=serial=1'],
                         kwargs['environment'])

    def test_no_environment_yet(self):
        kwargs = {'environment': None}
        translation.apply(self.attachment, {}, kwargs)
        self.assertEqual({'SDR_ARGS': 'serial=1'}, kwargs['environment'])

    def test_docker_py_accepts_the_result(self):
        host_config = {}
        kwargs = {}
        translation.apply(A.combine([self.attachment, A(
            cdi_devices=('openstack.org/peripheral=x',))]), host_config,
            kwargs)
        built = docker.APIClient(version='1.41').create_host_config(
            **host_config)
        self.assertEqual([{'PathOnHost': '/dev/null',
                           'PathInContainer': '/dev/null',
                           'CgroupPermissions': 'rw'}], built['Devices'])
        self.assertEqual(['/opt/vc:/opt/vc:ro'], built['Binds'])
        self.assertEqual('cdi', built['DeviceRequests'][0]['Driver'])
        self.assertEqual(['openstack.org/peripheral=x'],
                         built['DeviceRequests'][0]['DeviceIDs'])

    def test_conflicts_change_nothing(self):
        cases = [
            ({'devices': ['/dev/zero:/dev/null:rwm']}, {}),
            ({'binds': {'/other': {'bind': '/opt/vc'}}}, {}),
            ({'binds': {'/opt/vc': {'bind': '/vc'}}}, {}),
            ({'binds': ['/other:/opt/vc:ro']}, {}),
            ({}, {'environment': {'SDR_ARGS': 'serial=2'}}),
            ({}, {'environment': ['SDR_ARGS=serial=2']}),
        ]
        for host_config, kwargs in cases:
            before = copy.deepcopy((host_config, kwargs))
            e = self.assertRaises(translation.AttachRefused,
                                  translation.apply, self.attachment,
                                  host_config, kwargs)
            self.assertEqual('conflict', e.rule)
            self.assertEqual(before, (host_config, kwargs))

    @given(st.dictionaries(
        st.from_regex(r'[A-Z][A-Z0-9_]{0,10}', fullmatch=True),
        st.text(), max_size=5))
    def test_environment_arrives_intact(self, env):
        kwargs = {'environment': {'zun_set': 'x=y'}}
        translation.apply(A(environment=env), {}, kwargs)
        self.assertEqual(dict(env, zun_set='x=y'), kwargs['environment'])


class TestNativeCdi(base.SpecTestCase):

    def test_passes_the_name_after_checking(self):
        self.write_spec(deviceNodes=[base.NODE_A], env=['PERIPHERAL_A=1'])
        policy = translation.Policy(cdi_dir=self.cdi_dir, native_cdi=True)
        self.assertEqual(A(cdi_devices=('openstack.org/peripheral=%s'
                                        % base.NAME_A,)),
                         self.translate(policy=policy))
        self.write_spec(deviceNodes=[base.NODE_A], env=['LD_PRELOAD=/x.so'])
        self.assertRefused('env-not-allowed', policy=policy)
