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

"""Real Placement and the patched Zun scheduler, each in its own process.

``serve DB_PATH``: run OpenStack Placement (the installed release) on a
SQLite database over HTTP on a free loopback port, without Keystone
(``noauth2``: the token ``admin`` is an admin); print the port and serve
until killed.

``claim CONFIG``: as zun-api and the scheduler do for a container asking
for device profiles (given as Cyborg shows them, JSON on stdin), build
the request groups, ask Placement for allocation candidates with the
patched report client and claim the first one with the scheduler's
claim; then ask again for a second container, delete the first one's
allocation as Zun's delete path does, and ask again.  Print JSON with
the microversion, the mappings, the allocation read back from
Placement, the candidate counts and the allocation after the delete.
CONFIG is a Zun configuration file reaching Placement with
keystoneauth's ``admin_token`` plugin.

They run apart because Placement and Zun each configure global state
(oslo.config, the database facade, policy).
"""

import json
import sys
from wsgiref import simple_server


def serve(db_path):
    from oslo_config import cfg
    from placement import conf as placement_conf
    from placement import db_api
    from placement import deploy
    from placement.db.sqlalchemy import migration

    conf = cfg.ConfigOpts()
    placement_conf.register_opts(conf)
    conf.set_default('connection', 'sqlite:///%s' % db_path,
                     group='placement_database')
    conf([], project='placement', default_config_files=[])
    conf.set_override('auth_strategy', 'noauth2', group='api')
    db_api.configure(conf)
    migration.create_schema(db_api.get_placement_engine())
    deploy.update_database(conf)
    app = deploy.loadapp(conf)

    class QuietHandler(simple_server.WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = simple_server.make_server('127.0.0.1', 0, app,
                                       handler_class=QuietHandler)
    print(server.server_port, flush=True)
    server.serve_forever()


def claim(config_file):
    import zun.conf
    from oslo_utils import uuidutils
    from zun import objects
    from zun.common import context as zun_context
    from zun.common import cyborg
    from zun.scheduler import utils
    from zun.scheduler.client import report

    zun.conf.CONF([], project='zun', default_config_files=[config_file])
    profiles = json.load(sys.stdin)
    context = zun_context.get_admin_context()
    client = report.SchedulerReportClient()

    def candidates():
        # As zun-api and the scheduler do for a new container.
        container = objects.Container(
            context, uuid=uuidutils.generate_uuid(), cpu=1, memory='512',
            disk=0, project_id=uuidutils.generate_uuid(),
            user_id=uuidutils.generate_uuid(),
            device_profiles=[p['name'] for p in profiles])
        extra_spec = {
            'requested_resources': cyborg.request_groups(profiles),
            'group_policy': 'none'}
        resources = utils.resources_from_request_spec(context, container,
                                                      extra_spec)
        alloc_reqs, _summaries, version = client.get_allocation_candidates(
            context, resources)
        return container, alloc_reqs or [], version

    def allocation(container):
        return {rp: alloc['resources'] for rp, alloc in client.get(
            '/allocations/%s' % container.uuid).json()[
                'allocations'].items()}

    first, alloc_reqs, version = candidates()
    result = {'version': version, 'candidates': len(alloc_reqs)}
    result['mappings'] = alloc_reqs[0]['mappings']
    result['claimed'] = utils.claim_resources(
        context, client, first, alloc_reqs[0],
        allocation_request_version=version)
    result['allocation'] = allocation(first)
    # A second container while the first holds the devices.
    result['candidates_while_claimed'] = len(candidates()[1])
    client.delete_allocation_for_container(context, first.uuid)
    result['after_delete'] = allocation(first)
    result['candidates_after_delete'] = len(candidates()[1])
    print(json.dumps(result))


if __name__ == '__main__':
    {'serve': serve, 'claim': claim}[sys.argv[1]](sys.argv[2])
