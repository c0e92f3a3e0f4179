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

"""``[worker]``: the worker engine (``edge-enroll-worker``).  The
keystoneauth options of a group through which a worker calls another
service as the engine's service user are ``edge_common.keystoneauth``'s.
"""

import socket

from oslo_config import cfg


GROUP = 'worker'
#: Where the API's casts go (``process(hardware_uuid)``).
TOPIC = 'edge-enroll-worker'

opts = [
    cfg.StrOpt('host',
               default=socket.gethostname(),
               sample_default='<hostname>',
               help='Name of this worker engine; its claims on tasks '
                    'carry it, and a restarted engine of the same name '
                    'releases the claims it held.  Unique per '
                    'engine.'),
    cfg.ListOpt('enabled_worker_types',
                default=['tunelo', 'credentials'],
                help='Workers (edge_enroll.worker_types entry points) '
                     'this engine runs; a hardware type lists which of '
                     'them apply to it.'),
    cfg.FloatOpt('poll_interval',
                 default=10.0, min=0.1,
                 help='Seconds between two looks for due tasks.  A change '
                      'made through the API is processed at once (an RPC '
                      'cast); this only bounds the delay when a cast is '
                      'lost and paces the retries.'),
    cfg.IntOpt('task_concurrency',
               default=8, min=1,
               help='Tasks run at the same time by this engine.'),
    cfg.FloatOpt('retry_base_delay',
                 default=1.0, min=0.0,
                 help='Seconds before the first retry of a deferred or '
                      'failed task; doubled at each further attempt.'),
    cfg.FloatOpt('retry_max_delay',
                 default=60.0, min=0.0,
                 help='Longest wait between two attempts of a task.'),
    cfg.IntOpt('max_attempts',
               default=10, min=1,
               help='Attempts of a task that fails with an unexpected '
                    'error before it goes to ERROR (deferred tasks are '
                    'retried without limit: they wait for another '
                    'service).  A change or a sync of the hardware '
                    'starts over.'),
]


def register_opts(conf):
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return [(GROUP, opts)]

