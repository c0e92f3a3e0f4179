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


"""A stand-in for Cyborg's PlacementClient.

No Placement runs in these tests (the all-in-one cloud brings a real one).
"""

import uuid

import fixtures
from cyborg import objects
from cyborg.common import placement_client

from tests.cyborg import cyborg_db


class NoPlacementService:
    """Stands in for Cyborg's PlacementClient: no Placement runs here.

    Knows one compute node provider per host name and records what the
    conductor creates, deletes and reports.
    """

    def __init__(self):
        self.providers = {}
        self.inventories = {}
        self.traits = {}

    @staticmethod
    def root(host):
        return str(uuid.uuid5(uuid.NAMESPACE_DNS, host))

    def get(self, url, version=None, global_request_id=None):
        host = url.split('resource_providers?name=', 1)[1]
        body = {'resource_providers': [{'uuid': self.root(host)}]}
        return type('Response', (), {'json': lambda self: body})()

    def ensure_resource_classes(self, context, names):
        pass

    def ensure_resource_provider(self, context, uuid, name=None,
                                 parent_provider_uuid=None):
        self.providers[uuid] = (name, parent_provider_uuid)
        return uuid

    def update_inventory(self, rp_uuid, inventory, resource_class=None):
        self.inventories[rp_uuid] = inventory

    def add_traits_to_rp(self, rp_uuid, traits):
        self.traits[rp_uuid] = sorted(traits)

    def get_providers_in_tree(self, context, uuid):
        parent = self.providers.get(uuid, (None, None))[1]
        return [{'uuid': uuid, 'parent_provider_uuid': parent}]

    def delete_provider(self, rp_uuid):
        del self.providers[rp_uuid]


class CyborgWithoutPlacement(fixtures.Fixture):
    """A fresh database of the patched Cyborg, and no Placement service.

    ``database`` is a database fixture class of ``cyborg_db``.
    """

    def __init__(self, database):
        super().__init__()
        self.database = database

    def _setUp(self):
        objects.register_all()
        url = self.useFixture(self.database()).url
        cyborg_db.cyborg_dbsync(url, self.database.SCHEMA_COMMAND)
        self.useFixture(cyborg_db.CyborgDatabase(url))
        self.placement = NoPlacementService()
        self.useFixture(fixtures.MockPatchObject(
            placement_client, 'PlacementClient', lambda: self.placement))
