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

"""Running discovery on emulated devices with umockdev.

umockdev redirects /sys, /dev and udev's netlink socket through a preload
library, so the process must run under ``umockdev-wrapper``; and its
"am I emulated" check caches its first answer, so the testbed must be
created before anything asks it.
"""

import os
import shutil
import sys


PRELOAD = 'libumockdev-preload.so'


class NotAvailable(RuntimeError):
    pass


def under_wrapper():
    return PRELOAD in os.environ.get('LD_PRELOAD', '')


def reexec_under_wrapper(argv):
    """Replace this process with itself under umockdev-wrapper."""
    wrapper = shutil.which('umockdev-wrapper')
    if wrapper is None:
        raise NotAvailable('umockdev-wrapper is not installed; install the '
                           'Debian package umockdev')
    # Same interpreter and arguments; only the preload changes.
    os.execv(wrapper, [wrapper, sys.executable] + list(argv))  # noqa: S606


def new_testbed():
    if not under_wrapper():
        raise NotAvailable('emulated devices need this process to run under '
                           'umockdev-wrapper')
    try:
        import gi
        gi.require_version('UMockdev', '1.0')
        from gi.repository import UMockdev
    except (ImportError, ValueError) as e:
        raise NotAvailable(
            'umockdev\'s Python API is unavailable (%s); install the Debian '
            'package gir1.2-umockdev-1.0 and the "emulation" extra' % e
        ) from None
    return UMockdev.Testbed.new()


def load(testbed, kit):
    """Add the devices of ``kit`` to ``testbed``."""
    testbed.add_from_string(kit.text())


class Testbed:
    """A umockdev testbed that devices are plugged into and unplugged
    from, as the kernel and udev would do it.

    ``start()`` creates it (see ``new_testbed``), ``close()`` removes
    it; ``testbed`` is umockdev's ``UMockdev.Testbed``.
    """

    def __init__(self):
        self.testbed = None
        #: The record paragraphs of the devices plugged in now.
        self.paragraphs = []

    def start(self):
        self.testbed = new_testbed()
        self.paragraphs = []
        return self

    def close(self):
        # Dropping the last reference removes the testbed directory.
        self.testbed = None

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

    def unplug_usb(self, product_id):
        """Unplug the one USB device whose ID_MODEL_ID is ``product_id``."""
        (usb,) = [p for p in self.paragraphs
                  if p.props.get('ID_MODEL_ID') == product_id and
                  p.props.get('DEVTYPE') == 'usb_device']
        self.unplug(usb.sys_path)

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
