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

"""``edge-enroll-worker --config-file edge-enroll.conf``: the worker
engine (``edge_enroll.worker.manager``), until SIGTERM or SIGINT.
"""

import signal
import sys
import threading

from oslo_config import cfg
from oslo_log import log as logging

from edge_enroll import conf as enroll_conf
from edge_enroll.db import api as db_api
from edge_enroll.worker import manager as manager_mod


LOG = logging.getLogger(__name__)
PROJECT = 'edge-enroll'


def main(argv=None, conf=None):
    conf = conf or cfg.CONF
    logging.register_options(conf)
    enroll_conf.register_opts(conf)
    conf(sys.argv[1:] if argv is None else argv, project=PROJECT,
         prog='edge-enroll-worker')
    logging.setup(conf, PROJECT)
    db_api.configure(conf)
    manager = manager_mod.WorkerManager(conf)
    server = manager_mod.rpc_server(conf, manager)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_args: stop.set())
    manager.start()
    server.start()
    LOG.info('edge-enroll-worker %(host)s running workers %(workers)s',
             {'host': manager.host, 'workers': ', '.join(manager.workers)})
    while not stop.wait(1):
        pass
    LOG.info('edge-enroll-worker %s stopping', manager.host)
    server.stop()
    server.wait()
    manager.stop()
    return 0
