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

"""The Zun release and our patch series for it (tools/zun-patches)."""

import os
from importlib import metadata

from tests import patch_series as patch_series_mod


TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
INSTALL_ZUN = os.path.join(TOP, 'tools', 'install-zun')
RELEASE = '18.0.0'


def patch_series():
    return patch_series_mod.series('zun')


def zun_part(patch_path):
    """The zun/ file diffs of a format-patch file, as install-zun applies."""
    return patch_series_mod.package_part(patch_path, 'zun')


def site_packages():
    """The directory the installed zun package is in."""
    import zun
    return os.path.dirname(os.path.dirname(zun.__file__))


def tree_hashes(top):
    """Relative path -> hash of every file under top but bytecode."""
    hashes = {}
    for root, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if d != '__pycache__']
        for name in files:
            path = os.path.join(root, name)
            hashes[os.path.relpath(path, top)] = patch_series_mod.file_hash(
                path)
    return hashes


class PristineZun(patch_series_mod.PristineRelease):
    """The released Zun, recovered from the patched install.

    See ``PristineRelease``; the installed Zun must be our release.
    """

    def __init__(self):
        super().__init__('zun', 'zun', 'zun')

    def _setUp(self):
        dist = metadata.distribution('zun')
        if dist.version != RELEASE:
            raise AssertionError('Zun %s is installed; the series is for %s'
                                 % (dist.version, RELEASE))
        super()._setUp()
