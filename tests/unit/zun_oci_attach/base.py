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

"""A real CDI spec directory and the nodes every Linux host has."""

import json
import os

import fixtures
from oslotest import base

from cyborg_peripherals import contract
from cyborg_peripherals.cdi import spec
from cyborg_peripherals.cdi import writer
from zun_oci_attach import policy
from zun_oci_attach import translation


def node(path, major, minor, **kw):
    return spec.device_node_dict(path, 'c', major, minor, **kw)


#: /dev/null and /dev/zero have these numbers on every Linux host.
NULL = node('/dev/null', 1, 3)
ZERO = node('/dev/zero', 1, 5)


_DEFAULT = object()


def info(name='null', device_class='test'):
    return contract.AttachInfo.for_device(name, device_class).encode()


class SpecTestCase(base.BaseTestCase):
    """Writes specs into a private directory the way Cyborg does."""

    def setUp(self):
        super().setUp()
        self.cdi_dir = self.useFixture(fixtures.TempDir()).path
        self.policy = translation.Policy(cdi_dir=self.cdi_dir)
        if os.geteuid() != 0:
            # Test seam, not a mock of behaviour: an unprivileged test run
            # cannot create root-owned specs, so it trusts its own uid.
            self.useFixture(fixtures.MockPatchObject(
                policy, '_TRUSTED_UIDS', frozenset((0, os.geteuid()))))

    def write_doc(self, doc):
        writer.atomic_write(self.cdi_dir, json.dumps(doc).encode())
        return writer.spec_path(self.cdi_dir)

    def write_spec(self, devices=None, spec_edits=None, **device_edits):
        """Spec with ``devices`` or one device ``null`` of device_edits."""
        if devices is None:
            devices = [('null', device_edits or {'deviceNodes': [NULL]})]
        doc = spec.build_spec(contract.CDI_KIND, devices)
        if spec_edits:
            doc['containerEdits'] = spec_edits
            doc['cdiVersion'] = spec.minimum_version(doc)
        return self.write_doc(doc)

    def translate(self, attach_info=_DEFAULT, policy=None):
        return translation.translate(
            contract.ATTACH_TYPE,
            info() if attach_info is _DEFAULT else attach_info,
            policy or self.policy)

    def assertRefused(self, rule, attach_info=_DEFAULT, policy=None):
        e = self.assertRaises(translation.AttachRefused, self.translate,
                              attach_info, policy)
        self.assertEqual(rule, e.rule, str(e))
        self.assertEqual(1, len(str(e).splitlines()))
        self.assertTrue(str(e).startswith('refused by rule %s: ' % rule))
        return e
