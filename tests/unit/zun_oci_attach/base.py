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

"""A real CDI spec directory and real peripheral-like nodes of this host."""

import json
import os
import stat

import fixtures
from oslotest import base

from cyborg_peripherals import contract
from cyborg_peripherals.cdi import spec
from cyborg_peripherals.cdi import writer
from zun_oci_attach import policy
from zun_oci_attach import translation


def node(path, major, minor, **kw):
    return spec.device_node_dict(path, 'c', major, minor, **kw)


#: Character devices of kinds the policy allows (a hardware RNG, a PM QoS
#: node, serial ports), as the emulated kit and the all-in-one use them;
#: /dev/null and friends are refused by the policy, so they cannot serve.
CANDIDATES = ('/dev/hwrng', '/dev/cpu_dma_latency', '/dev/ttyS0',
              '/dev/ttyS1', '/dev/ttyS2', '/dev/ttyS3')


def _real_nodes():
    found = []
    for path in CANDIDATES:
        try:
            st = os.stat(path)
        except OSError:
            continue
        if stat.S_ISCHR(st.st_mode):
            found.append((path, os.major(st.st_rdev), os.minor(st.st_rdev)))
    return found


_FOUND = _real_nodes()
#: Two real nodes (placeholders if the host lacks them; tests then skip).
(A_PATH, A_MAJOR, A_MINOR), (B_PATH, B_MAJOR, B_MINOR) = (
    _FOUND + [('/dev/hwrng', 10, 183), ('/dev/cpu_dma_latency', 10, 259)])[:2]
NODE_A = node(A_PATH, A_MAJOR, A_MINOR)
NODE_B = node(B_PATH, B_MAJOR, B_MINOR)
#: What Docker gets for NODE_A with the default permissions.
GRANT_A = '%s:%s:rw' % (A_PATH, A_PATH)
#: Device names follow naming.cdi_device_name: ``<class>-...``.
NAME_A = 'test-a'
NAME_B = 'test-b'


_DEFAULT = object()


def info(name=NAME_A, device_class='test'):
    return contract.AttachInfo.for_device(name, device_class).encode()


class SpecTestCase(base.BaseTestCase):
    """Writes specs into a private directory the way Cyborg does."""

    def setUp(self):
        super().setUp()
        if len(_FOUND) < 2:
            self.skipTest('needs two of %s' % ', '.join(CANDIDATES))
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
        """Spec with ``devices`` or one device NAME_A of device_edits."""
        if devices is None:
            devices = [(NAME_A, device_edits or {'deviceNodes': [NODE_A]})]
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
