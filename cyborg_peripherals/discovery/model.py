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

"""What discovery produces: peripherals and their device nodes."""

import dataclasses

from cyborg_peripherals import contract
from cyborg_peripherals.cdi import spec


@dataclasses.dataclass(frozen=True, order=True)
class DeviceNode:
    """A device node on the host, as udev and stat(2) saw it."""

    path: str
    type: str
    major: int
    minor: int
    uid: int | None = None
    gid: int | None = None
    file_mode: int | None = None

    def as_dict(self):
        return {'path': self.path, 'type': self.type, 'major': self.major,
                'minor': self.minor}


@dataclasses.dataclass(frozen=True)
class Peripheral:
    """One physical peripheral: all its nodes under one stable identity."""

    device_class: str
    identity: str
    name: str
    cdi_name: str
    nodes: tuple
    resource_class: str
    traits: tuple
    vendor_id: str | None = None
    product_id: str | None = None
    serial: str | None = None
    vendor: str | None = None
    model: str | None = None
    permissions: str = 'rw'
    #: sysfs path of the device grouping the nodes; changes with the port,
    #: so it is for logs only, never identity.
    sys_path: str = ''

    @property
    def attach_info(self):
        return contract.AttachInfo.for_device(self.cdi_name,
                                              self.device_class)

    def as_dict(self):
        return {
            'name': self.name,
            'class': self.device_class,
            'identity': self.identity,
            'vendor_id': self.vendor_id,
            'product_id': self.product_id,
            'serial': self.serial,
            'vendor': self.vendor,
            'model': self.model,
            'nodes': [n.as_dict() for n in self.nodes],
            'resource_class': self.resource_class,
            'traits': list(self.traits),
            'attach_handle': {'type': contract.ATTACH_TYPE,
                              'info': self.attach_info.to_dict()},
        }

    def container_edits(self):
        """CDI containerEdits granting exactly this peripheral's nodes."""
        return {'deviceNodes': [
            spec.device_node_dict(n.path, n.type, n.major, n.minor,
                                  permissions=self.permissions, uid=n.uid,
                                  gid=n.gid, file_mode=n.file_mode)
            for n in self.nodes]}
