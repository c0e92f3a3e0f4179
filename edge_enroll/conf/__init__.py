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

"""Options of edge_enroll, one module per group (declarations only).

``register_opts(conf)`` registers every group the API and dbsync read
(the worker's own service groups are its business);
``edge_enroll.conf.opts.list_opts`` lists them for the sample.
"""

from edge_enroll.conf import api
from edge_enroll.conf import database
from edge_enroll.conf import default
from edge_enroll.conf import worker


def register_opts(conf):
    default.register_opts(conf)
    api.register_opts(conf)
    database.register_opts(conf)
    # [worker] enabled_worker_types: the API composes the hardware
    # types' schemas from those workers' fields.
    worker.register_opts(conf)
