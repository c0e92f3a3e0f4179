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

"""``[api]``: the enrollment API (``edge-enroll-api``)."""

from oslo_config import cfg


GROUP = 'api'

opts = [
    cfg.IntOpt('max_limit',
               default=1000,
               min=1,
               help='Most hardware items one list request returns; a '
                    'larger ?limit is cut to this and the "links" of the '
                    'answer point to the next page.'),
]


def register_opts(conf):
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return opts
