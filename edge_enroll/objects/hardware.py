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

"""An enrolled hardware item (an edge host)."""

import copy

from oslo_versionedobjects import fields

from edge_enroll.db import api as db_api
from edge_enroll.objects import base
from edge_enroll.objects import fields as obj_fields


@base.EdgeEnrollObjectRegistry.register
class Hardware(base.EdgeEnrollObject):
    # Version 1.0: Initial version
    VERSION = '1.0'

    fields = dict({
        'id': fields.IntegerField(),
        'uuid': fields.UUIDField(),
        'project_id': fields.StringField(),
        'hardware_type': fields.StringField(),
        'name': fields.StringField(),
        'properties': obj_fields.JSONDictField(),
        # The database row's: ``save`` writes only over what it read.
        'version': fields.IntegerField(default=0),
        'deleted': fields.BooleanField(default=False),
    }, **base.EdgeEnrollObject.timestamps)

    #: What ``save`` writes.
    _MUTABLE = ('name', 'properties')

    def _from_column(self, name, value):
        if name == 'deleted':
            return bool(value)
        return value

    # Chameleon's Doni misses in-place changes of ``properties`` (its
    # "BUG" comment): the objects library only sees assignments, so a
    # copy taken when the object was last in step with the database is
    # compared too.
    def obj_reset_changes(self, fields=None, recursive=False):
        super().obj_reset_changes(fields, recursive)
        if self.obj_attr_is_set('properties'):
            self._saved_properties = copy.deepcopy(self.properties)

    def obj_what_changed(self):
        changed = super().obj_what_changed()
        if (self.obj_attr_is_set('properties') and
                self.properties != getattr(self, '_saved_properties', None)):
            changed.add('properties')
        return changed

    @classmethod
    def get_by_uuid(cls, context, uuid, deleted=False):
        """Hardware ``uuid``; with ``deleted``, soft-deleted hardware too
        (the workers clean up after it).  Raises ``HardwareNotFound``.
        """
        return cls._from_row(context, db_api.hardware_get_by_uuid(
            context, uuid, deleted=deleted))

    @classmethod
    def get_by_name(cls, context, name):
        return cls._from_row(context, db_api.hardware_get_by_name(
            context, name))

    @classmethod
    def list(cls, context, project_id=None, limit=None, marker=None,
             sort_key='created_at', sort_dir='asc', deleted=False):
        """A page of hardware, of ``project_id`` or of all projects."""
        return [cls._from_row(context, row) for row in db_api.hardware_list(
            context, project_id=project_id, limit=limit, marker=marker,
            sort_key=sort_key, sort_dir=sort_dir, deleted=deleted)]

    def create(self):
        values = {name: getattr(self, name) for name in (
            'project_id', 'hardware_type', 'name', 'properties')}
        if self.obj_attr_is_set('uuid'):
            values['uuid'] = self.uuid
        self._update_from_row(db_api.hardware_create(self._context, values))

    def save(self):
        """Write changed ``name`` and ``properties`` (in-place changes of
        ``properties`` included); raises ``HardwareChanged`` if the
        hardware changed since it was read.
        """
        changed = self.obj_what_changed() & set(self._MUTABLE)
        if changed:
            self._update_from_row(db_api.hardware_update(
                self._context, self.uuid,
                {name: getattr(self, name) for name in changed},
                self.version))

    def soft_delete(self):
        self._update_from_row(db_api.hardware_soft_delete(
            self._context, self.uuid))

    def purge(self):
        """Remove soft-deleted hardware, its tasks and its windows (the
        worker engine does once every worker has cleaned up).
        """
        db_api.hardware_purge(self._context, self.uuid)

