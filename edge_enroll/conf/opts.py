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

"""Entry point ``oslo.config.opts`` ``edge_enroll``: every group of
edge_enroll for the sample configuration (the API's, the worker's and
its workers' service groups).  oslo.db, oslo.messaging,
keystonemiddleware, oslo.log and oslo.policy list their own.
"""

from edge_enroll.conf import api
from edge_enroll.conf import channel
from edge_enroll.conf import compute
from edge_enroll.conf import credentials
from edge_enroll.conf import default
from edge_enroll.conf import worker


def list_opts():
    return ([('DEFAULT', default.list_opts()),
             (api.GROUP, api.list_opts())] +
            worker.list_opts() + channel.list_opts() +
            credentials.list_opts() + compute.list_opts())
