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

"""``[database]``: oslo.db's options, with edge_enroll's default URL.

By default the database is SQLite in ``state_path``; set ``[database]
connection`` to a MariaDB/MySQL URL for more than one API or worker
process.
"""

from oslo_db import options


DEFAULT_CONNECTION = 'sqlite:///$state_path/edge_enroll.sqlite'


def register_opts(conf):
    options.set_defaults(conf, connection=DEFAULT_CONNECTION)
