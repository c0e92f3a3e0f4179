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

"""Neutron's port notifications, for the hub agent (oslo.messaging).

Apart from ``manager`` so that importing the agent's logic does not
import oslo.messaging, which selects oslo.service's eventlet backend
(and then Neutron's test modules cannot be imported in that process).
"""

import oslo_messaging
from oslo_log import log as logging


LOG = logging.getLogger(__name__)
EVENT_TYPES = r'^port\.(create|update|delete)\.end$'


class NotificationEndpoint:
    """Neutron's port notifications, turned into hubs (and the overlay
    relay) to sync.
    """

    filter_rule = oslo_messaging.NotificationFilter(event_type=EVENT_TYPES)

    def __init__(self, agent):
        self.agent = agent

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        hubs = self.agent.hubs_of_event(event_type, payload or {})
        if hubs:
            LOG.debug('%(event)s: syncing hubs %(hubs)s',
                      {'event': event_type, 'hubs': sorted(hubs)})
            self.agent.request(hubs)
        if self.agent.overlay_of_event(event_type, payload or {}):
            LOG.debug('%s: syncing the overlay relay', event_type)
            self.agent.request_overlay()
        return oslo_messaging.NotificationResult.HANDLED
