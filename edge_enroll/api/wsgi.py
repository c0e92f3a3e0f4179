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

"""WSGI entry point ``edge-enroll-api`` (pbr ``wsgi_scripts``).

Run it under uWSGI, configuration files as its arguments::

    uwsgi --http-socket :9096 --wsgi-file $(which edge-enroll-api) \\
        --pyargv '--config-file /etc/edge-enroll/edge-enroll.conf'

Without ``--config-file`` oslo.config's default locations are read
(``/etc/edge-enroll/edge-enroll.conf`` among them).
"""

from oslo_config import cfg

from edge_common import wsgi as common_wsgi
from edge_enroll import conf as enroll_conf
from edge_enroll import hardware_types
from edge_enroll import rpcapi
from edge_enroll.api import app
from edge_enroll.api import policy
from edge_enroll.db import api as db_api


PROJECT = 'edge-enroll'
PROG = 'edge-enroll-api'


def init_application(argv=None, conf=None):
    """The WSGI application, configured from ``argv`` (default: the
    process's arguments).
    """
    conf = conf or cfg.CONF
    common_wsgi.configure(conf, argv, PROJECT, PROG,
                          enroll_conf.register_opts)
    db_api.configure(conf)
    policy.get_enforcer(conf)
    types = hardware_types.load(conf)
    return app.build(conf, types, rpcapi.WorkerAPI(conf))
