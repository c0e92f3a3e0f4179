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
