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

"""A window in which hardware may be reserved (for a reservation
worker such as Blazar's; no worker uses it yet).
"""

from oslo_versionedobjects import fields

from edge_enroll.db import api as db_api
from edge_enroll.objects import base


@base.EdgeEnrollObjectRegistry.register
class AvailabilityWindow(base.EdgeEnrollObject):
    # Version 1.0: Initial version
    VERSION = '1.0'

    fields = dict({
        'id': fields.IntegerField(),
        'uuid': fields.UUIDField(),
        'hardware_uuid': fields.UUIDField(),
        'start': fields.DateTimeField(nullable=True),
        'end': fields.DateTimeField(nullable=True),
    }, **base.EdgeEnrollObject.timestamps)

    @classmethod
    def list_for_hardware(cls, context, hardware_uuid):
        return [cls._from_row(context, row) for row in
                db_api.availability_window_list(context, hardware_uuid)]

    @classmethod
    def apply(cls, context, hardware_uuid, creates=(), updates=None,
              deletes=()):
        """Create, change and delete windows of the hardware at once
        (datetimes aware or naive UTC).
        """
        def naive(values):
            return {k: base.naive_utc(v) for k, v in values.items()}
        db_api.availability_window_apply(
            context, hardware_uuid, [naive(v) for v in creates],
            {u: naive(v) for u, v in (updates or {}).items()}, deletes)
