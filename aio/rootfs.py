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

"""A tiny container image from Debian's busybox-static.

No registry is reachable from the machines ``tools/aio`` and the tests
run on, so the containers' image is imported from this tarball
(``docker import``, ``podman import``).
"""

import io
import os
import tarfile


#: The image every container of the all-in-one cloud and the tests runs.
IMAGE = 'cyborg-peripherals/busybox:test'
BUSYBOX = '/bin/busybox'
APPLETS = ('sh', 'cat', 'head', 'od', 'ls', 'mknod', 'stat', 'env', 'id',
           'mount', 'touch', 'sleep', 'echo', 'test')


def busybox_tar():
    """Bytes of a tar with /bin/busybox and its applets."""
    if not os.path.exists(BUSYBOX):
        raise RuntimeError('%s is missing: install the Debian package '
                           'busybox-static' % BUSYBOX)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w') as tar:
        for name in ('bin', 'dev', 'proc', 'sys', 'tmp', 'etc'):
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            tar.addfile(info)
        tar.add(BUSYBOX, arcname='bin/busybox')
        for applet in APPLETS:
            info = tarfile.TarInfo('bin/' + applet)
            info.type = tarfile.SYMTYPE
            info.linkname = 'busybox'
            tar.addfile(info)
    return buf.getvalue()


def ensure_image(client):
    """Import ``IMAGE`` with the docker-py ``client`` unless it exists.

    Imported once per host; containers share it by tag.
    """
    if not client.images(name=IMAGE):
        repository, tag = IMAGE.split(':')
        client.import_image_from_data(busybox_tar(), repository=repository,
                                      tag=tag)
