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

"""A umockdev testbed as a test fixture: real libudev, emulated devices."""

import os

import fixtures
import pyudev

from cyborg_peripherals.emulation import testbed as testbed_mod


class Testbed(fixtures.Fixture):
    """Emulated /sys, /dev and udev events for one test."""

    def __init__(self, kit=None):
        super().__init__()
        self.kit = kit

    def _setUp(self):
        # Fails, rather than skips, outside umockdev-wrapper: a suite
        # that silently skipped its device tests would prove nothing.
        self.testbed = testbed_mod.new_testbed()
        self.paragraphs = []
        self.addCleanup(self._drop)
        if self.kit is not None:
            self.plug(self.kit)

    def _drop(self):
        # Dropping the last reference removes the testbed directory.
        del self.testbed

    def context(self):
        return pyudev.Context()

    def plug(self, kit):
        """Add the devices of ``kit``; udev sends one add event each.

        Devices already present (such as the root hub every kit starts
        with) are left alone: umockdev aborts on a duplicate.
        """
        present = {p.sys_path for p in self.paragraphs}
        new = [p for p in kit.paragraphs if p.sys_path not in present]
        self.testbed.add_from_string('\n'.join(p.text() for p in new))
        self.paragraphs.extend(new)

    def unplug(self, sys_path):
        """Unplug the device at ``sys_path`` and everything below it.

        Like the kernel: remove events go out children first, then the
        sysfs entries disappear.
        """
        below = [p for p in self.paragraphs
                 if p.sys_path == sys_path or
                 p.sys_path.startswith(sys_path + '/')]
        for para in sorted(below, key=lambda p: len(p.sys_path),
                           reverse=True):
            self.testbed.uevent(para.sys_path, 'remove')
        self.testbed.remove_device(sys_path)
        self.paragraphs = [p for p in self.paragraphs if p not in below]
        self._clean_up_after_removal(below)

    def _clean_up_after_removal(self, removed):
        # umockdev leaves class/bus links and /dev nodes of removed
        # devices behind, and aborts when a device is added again at the
        # same path; the kernel removes them, so do the same.
        root = self.testbed.get_root_dir()
        for para in removed:
            if para.node:
                for path in (os.path.join(root, 'dev', para.node),
                             os.path.join(root, 'dev', '.node',
                                          para.node.replace('/', '_'))):
                    if os.path.lexists(path):
                        os.unlink(path)
        for top in ('sys/bus', 'sys/class', 'sys/dev'):
            for dirpath, dirnames, filenames in os.walk(
                    os.path.join(root, top)):
                for name in dirnames + filenames:
                    path = os.path.join(dirpath, name)
                    if os.path.islink(path) and not os.path.exists(path):
                        os.unlink(path)
