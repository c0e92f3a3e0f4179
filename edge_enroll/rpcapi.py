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

"""Waking the worker engine: an oslo.messaging RPC cast.

The API casts ``process(hardware_uuid)`` to topic ``edge-enroll-worker``
after each change, so that the change is processed at once.  A cast
that fails (RabbitMQ down) fails nothing: the task is already PENDING
in the database and the worker's poll (``[worker] poll_interval``)
picks it up.
"""

import oslo_messaging as messaging
from oslo_log import log as logging

from edge_enroll.conf import worker as conf_worker


LOG = logging.getLogger(__name__)
VERSION = '1.0'


class WorkerAPI:
    """Client of the worker engine's RPC endpoint (``conf``: [DEFAULT]
    transport_url).
    """

    def __init__(self, conf):
        transport = messaging.get_rpc_transport(conf)
        # One try, no reconnect loop: the API answers now, the poll
        # covers a lost cast.
        target = messaging.Target(topic=conf_worker.TOPIC, version=VERSION)
        self.client = messaging.get_rpc_client(transport, target).prepare(
            retry=0)

    def process(self, context, hardware_uuid):
        try:
            self.client.cast(context.to_dict(), 'process',
                             hardware_uuid=hardware_uuid)
        except Exception as e:
            LOG.warning('Could not wake the worker for hardware %(uuid)s '
                        '(%(error)s); its poll will process it',
                        {'uuid': hardware_uuid, 'error': e})
