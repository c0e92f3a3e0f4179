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

"""Keeps the host's CDI spec equal to the peripherals discovered."""

import functools
import json

from oslo_log import log as logging

from cyborg_peripherals import contract
from cyborg_peripherals import privileged
from cyborg_peripherals.cdi import spec
from cyborg_peripherals.cdi import writer
from cyborg_peripherals.conf import peripherals as peripherals_conf


LOG = logging.getLogger(__name__)

_UNKNOWN = object()


@functools.lru_cache(maxsize=65536)
def _device_entry(peripheral):
    """(name, canonical JSON, cdiVersion) of one peripheral's device.

    Peripherals are immutable, so a hot-plug event re-renders only the
    devices it changed.
    """
    device = {'name': peripheral.cdi_name,
              'containerEdits': peripheral.container_edits()}
    version = spec.minimum_version({'kind': contract.CDI_KIND,
                                    'devices': [device]})
    return peripheral.cdi_name, spec.dumps(device), version


def render_peripherals(peripherals):
    """The spec bytes for ``peripherals``, or None when there are none.

    Byte for byte what ``spec.render(spec.build_spec(...))`` gives, built
    from cached per-device parts.  A CDI spec must list at least one
    device, so an empty host has no spec file at all.
    """
    if not peripherals:
        return None
    entries = sorted(_device_entry(p) for p in peripherals)
    version = max((e[2] for e in entries), key=spec.KNOWN_VERSIONS.index)
    # Keys in sorted order, as spec.dumps writes them.
    return ('{"cdiVersion":%s,"devices":[%s],"kind":%s}\n' % (
        json.dumps(version), ','.join(e[1] for e in entries),
        json.dumps(contract.CDI_KIND))).encode()


class SpecPublisher:
    """Writes the spec only when its content changes."""

    def __init__(self, directory, write=None, remove=None):
        writer.check_directory(directory)
        self.directory = directory
        # The privileged side takes no path: it writes the directory of
        # its own configuration, the one given here in production.
        self._write = write or (
            lambda _directory, content: privileged.write_spec(content))
        self._remove = remove or (
            lambda _directory: privileged.remove_spec())
        self._current = _UNKNOWN

    @classmethod
    def from_config(cls, conf):
        """The publisher of ``[peripherals] cdi_spec_dir``.

        Raises :class:`ConfigError` naming the option if it is not an
        absolute, normalized path.
        """
        directory = conf.peripherals.cdi_spec_dir
        try:
            writer.check_directory(directory)
        except ValueError as e:
            raise peripherals_conf.ConfigError(
                '[peripherals] cdi_spec_dir: %s' % e) from None
        return cls(directory)

    def publish(self, peripherals):
        """Make the spec describe ``peripherals``; True if it changed."""
        content = render_peripherals(peripherals)
        if self._current is _UNKNOWN:
            # After a restart the file on disk is usually still right.
            self._current = writer.read(self.directory)
        if content == self._current:
            return False
        if content is None:
            self._remove(self.directory)
            LOG.info('Removed CDI spec %s: no peripherals',
                     writer.spec_path(self.directory))
        else:
            self._write(self.directory, content)
            LOG.info('Wrote CDI spec %s with %d peripherals',
                     writer.spec_path(self.directory), len(peripherals))
        self._current = content
        return True
