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

"""The base of edge_enroll's objects."""

from oslo_utils import timeutils
from oslo_versionedobjects import base
from oslo_versionedobjects import fields


class EdgeEnrollObjectRegistry(base.VersionedObjectRegistry):
    pass


class EdgeEnrollObject(base.VersionedObject):
    OBJ_PROJECT_NAMESPACE = 'edge_enroll'
    OBJ_SERIAL_NAMESPACE = 'edge_enroll_object'

    #: Every object has these besides its own.
    timestamps = {
        'created_at': fields.DateTimeField(nullable=True),
        'updated_at': fields.DateTimeField(nullable=True),
    }

    def _update_from_row(self, row):
        for name in self.fields:
            # The database's value wins: no state machine check on it.
            if self.obj_attr_is_set(name):
                delattr(self, name)
            setattr(self, name, self._from_column(name, getattr(row, name)))
        self.obj_reset_changes()
        return self

    def _from_column(self, name, value):
        return value

    @classmethod
    def _from_row(cls, context, row):
        obj = cls(context)
        return obj._update_from_row(row)


def naive_utc(value):
    """A datetime as the database holds it (naive, UTC); None stays."""
    return None if value is None else timeutils.normalize_time(value)
