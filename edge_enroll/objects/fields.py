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

"""Field types of edge_enroll's objects."""

import copy

from oslo_versionedobjects import fields


class JSONDict(fields.FieldType):
    """A dict of anything JSON holds (properties, state details)."""

    @staticmethod
    def coerce(obj, attr, value):
        if not isinstance(value, dict):
            raise ValueError('%s must be a dict, not %s'
                             % (attr, type(value).__name__))
        return value

    @staticmethod
    def to_primitive(obj, attr, value):
        return copy.deepcopy(value)

    @staticmethod
    def from_primitive(obj, attr, value):
        return copy.deepcopy(value)


class JSONDictField(fields.AutoTypedField):
    AUTO_TYPE = JSONDict()
