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

"""WSGI entry point ``edge-channels-api`` (pbr ``wsgi_scripts``).

Run it under uWSGI, configuration files as its arguments::

    uwsgi --http-socket :9095 --wsgi-file $(which edge-channels-api) \\
        --pyargv '--config-file /etc/edge-channels/edge-channels-api.conf'

Without ``--config-file`` oslo.config's default locations are read
(``/etc/edge-channels/edge-channels-api.conf`` among them).
"""

from oslo_concurrency import opts as concurrency_opts
from oslo_config import cfg
from oslo_log import log as logging

from edge_channels import exception
from edge_channels.api import app
from edge_channels.api import policy
from edge_channels.conf import api as conf_api
from edge_common import wsgi as common_wsgi


PROJECT = 'edge-channels'
PROG = 'edge-channels-api'
LOG = logging.getLogger(__name__)


def _register_opts(conf):
    conf_api.register_opts(conf)
    for group, opts in concurrency_opts.list_opts():
        conf.register_opts(opts, group=group)


def init_application(argv=None, conf=None):
    """The WSGI application, configured from ``argv`` (default: the
    process's arguments).
    """
    conf = conf or cfg.CONF
    common_wsgi.configure(conf, argv, PROJECT, PROG, _register_opts)
    if not conf.oslo_concurrency.lock_path:
        raise exception.ConfigInvalid(
            reason='[oslo_concurrency] lock_path is not set: the channel '
                   'API serializes hub changes with lock files there')
    policy.get_enforcer(conf)
    LOG.info('edge-channels-api: channel subnets %(subnets)s, hub hosts '
             '%(hosts)s', {'subnets': conf.api.channel_subnets,
                           'hosts': conf.api.hub_hosts})
    return app.build(conf)
