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

"""``[DEFAULT]`` options of edge_enroll."""

from oslo_config import cfg


opts = [
    cfg.StrOpt('state_path',
               default='/var/lib/edge-enroll',
               help='Directory where edge_enroll keeps its state (the '
                    'default SQLite database is there).'),
    cfg.ListOpt('enabled_hardware_types',
                default=['device'],
                help='Hardware types that may be enrolled (entry points '
                     'of edge_enroll.hardware_types).  The workers that '
                     'run for them are [worker] enabled_worker_types.'),
]


def register_opts(conf):
    conf.register_opts(opts)


def list_opts():
    return opts
