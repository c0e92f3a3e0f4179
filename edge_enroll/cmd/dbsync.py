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

"""``edge-enroll-dbsync``: create or upgrade the database.

    edge-enroll-dbsync --config-file /etc/edge-enroll/edge-enroll.conf upgrade
    edge-enroll-dbsync --config-file ... version
"""

import sys

from oslo_config import cfg
from oslo_log import log as logging

from edge_enroll import conf as enroll_conf
from edge_enroll.db import api as db_api
from edge_enroll.db import migration


PROJECT = 'edge-enroll'


def _upgrade(conf):
    migration.upgrade(conf.command.revision)
    print('database at revision %s' % migration.version())


def _version(conf):
    print(migration.version() or 'empty (run "upgrade")')


def _add_commands(subparsers):
    upgrade = subparsers.add_parser(
        'upgrade', help='Upgrade the database to the newest revision.')
    upgrade.add_argument('--revision', default='head',
                         help='Revision to upgrade to (default: head).')
    upgrade.set_defaults(func=_upgrade)
    version = subparsers.add_parser(
        'version', help="Print the database's revision.")
    version.set_defaults(func=_version)


def main(argv=None, conf=None):
    conf = conf or cfg.CONF
    logging.register_options(conf)
    enroll_conf.register_opts(conf)
    conf.register_cli_opt(cfg.SubCommandOpt(
        'command', title='Commands', handler=_add_commands,
        help='upgrade or version'))
    conf(sys.argv[1:] if argv is None else argv, project=PROJECT,
         prog='edge-enroll-dbsync')
    logging.setup(conf, PROJECT)
    db_api.configure(conf)
    conf.command.func(conf)
    return 0
