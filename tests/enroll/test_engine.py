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

"""The worker engine with the real tunelo and credentials workers, on a
MariaDB database, real Keystone, Neutron, the channel API and RabbitMQ.

The engine runs in the test's process (``WorkerManager``), so that a
test can stop and restart it, and look at its database, between two
steps.  What it did is checked in the services.
"""

import os
import time
import uuid

import oslo_messaging as messaging
from oslo_config import cfg
from oslo_config import fixture as config_fixture

from aio import service
from edge_enroll import conf as enroll_conf
from edge_enroll import objects
from edge_enroll import rpcapi
from edge_enroll.db import api as db_api
from edge_enroll.worker import manager as manager_mod
from tests.channels import base
from tests.enroll import test_worker
from tests.unit.edge_enroll import base as db_base


STATE = objects.WorkerState
WORKERS = ('tunelo', 'credentials')


class EngineTest(test_worker.WorkerServices):

    def setUp(self):
        super().setUp()
        self.db = self.useFixture(db_base.Database('mariadb'))
        self.ctx = self.db.context

    def engine(self, host=None, concurrency=8, poll=0.5, start=True,
               rpc=False, workers=WORKERS):
        """An engine on the test's database and services (with its RPC
        server if ``rpc``), stopped at the test's clean-up.
        """
        path = service.write_conf(
            os.path.join(self.plane.workdir, 'engine-%s.conf'
                         % uuid.uuid4().hex[:8]),
            {'DEFAULT': {'transport_url': self.plane.transport_url,
                         'state_path': self.db.conf.state_path},
             'database': {'connection': self.db.conf.database.connection},
             'worker': {'host': host or 'engine-%s' % uuid.uuid4().hex[:6],
                        'enabled_worker_types': ','.join(workers),
                        'task_concurrency': concurrency,
                        'poll_interval': poll,
                        'retry_base_delay': 0.5,
                        'retry_max_delay': 2}})
        conf = cfg.ConfigOpts()
        enroll_conf.register_opts(conf)
        conf(['--config-file', self.conf_file, '--config-file', path],
             project='edge-enroll', default_config_files=[])
        db_api.configure(conf)
        engine = manager_mod.WorkerManager(conf)
        if start:
            engine.start()
            self.addCleanup(engine.stop)
        if rpc:
            # On the global configuration, as in edge-enroll-worker
            # (see manager.rpc_server).
            transport = messaging.get_rpc_transport(
                cfg.CONF, url=self.plane.transport_url)
            self.addCleanup(transport.cleanup)
            server = manager_mod.rpc_server(conf, engine, transport)
            server.start()
            self.addCleanup(server.wait)
            self.addCleanup(server.stop)
        return engine

    def enroll(self, channels=('control',), owner='demo', workers=WORKERS):
        """Hardware saved as the API saves it, its tasks made PENDING."""
        hw = self.hardware(owner, channels={
            role: {'channel_type': 'wireguard',
                   'public_key': test_worker.new_key()}
            for role in channels})
        hw._context = self.ctx
        hw.create()
        objects.WorkerTask.ensure_for_hardware(self.ctx, hw, workers)
        return hw

    def tasks(self, hw):
        return {t.worker_type: t for t in
                objects.WorkerTask.list_for_hardware(self.ctx, hw.uuid)}

    def wait_states(self, hw, states, timeout=120):
        """Seconds until the tasks of ``hw`` are in ``states``
        (worker type -> state).
        """
        return base.wait('tasks of %s in %s' % (hw.uuid, states),
                         lambda: {k: t.state for k, t in
                                  self.tasks(hw).items()} == states,
                         timeout, interval=0.2)

    def steady(self, hw, timeout=120):
        return self.wait_states(hw, {w: STATE.STEADY for w in WORKERS},
                                timeout)

    def host_channels(self, hw):
        return [c for name, c in self.channels_of('demo').items()
                if name.startswith(hw.name + '-')]

    # -- tests --------------------------------------------------------------

    def test_enrolled_host_reaches_steady_with_channels_and_credential(self):
        self.engine()
        hw = self.enroll(channels=('control', 'tenant'))
        self.steady(hw)
        tasks = self.tasks(hw)
        channels = tasks['tunelo'].state_details['channels']
        self.assertEqual({'control', 'tenant'}, set(channels))
        self.assertEqual(sorted(c['uuid'] for c in channels.values()),
                         sorted(c['uuid'] for c in self.host_channels(hw)))
        details = tasks['credentials'].state_details
        self.assertIn('application_credential_secret', details)
        for task in tasks.values():
            self.assertIsNone(task.claimed_by)
            self.assertEqual(0, task.attempts)

    def test_cast_wakes_the_engine_before_its_poll(self):
        self.engine(poll=3600, rpc=True)
        time.sleep(1)  # its first look, with nothing due, is over
        hw = self.enroll()
        # The API's client on the global configuration, as in the API:
        # oslo.messaging registers its client's tracing options there.
        config = self.useFixture(config_fixture.Config(cfg.CONF))
        messaging.get_rpc_transport(
            cfg.CONF, url=self.plane.transport_url).cleanup()
        config.config(transport_url=self.plane.transport_url)
        rpcapi.WorkerAPI(cfg.CONF).process(self.ctx, hw.uuid)
        self.steady(hw, timeout=60)

    def test_change_while_in_progress_runs_again(self):
        engine = self.engine(host='eng-requeue', start=False)
        hw = self.enroll()
        claimed = objects.WorkerTask.claim_due(self.ctx, 'eng-requeue', 10)
        tunelo = [t for t in claimed if t.worker_type == 'tunelo'][0]
        # The owner changes the key while the task runs.
        key = test_worker.new_key()
        hw.properties['channels']['control']['public_key'] = key
        hw.save()
        objects.WorkerTask.mark_pending(self.ctx, hw.uuid)
        engine.run_task(tunelo)
        self.assertEqual(STATE.PENDING, self.tasks(hw)['tunelo'].state)
        engine.start()
        self.addCleanup(engine.stop)
        self.steady(hw)
        [channel] = self.host_channels(hw)
        self.assertEqual(key, channel['properties']['public_key'])

    def test_service_down_defers_with_backoff_then_steady_once(self):
        self.api.process.stop()
        try:
            self.engine()
            hw = self.enroll()
            base.wait('a second deferral',
                      lambda: self.tasks(hw)['tunelo'].attempts >= 2, 60)
            task = self.tasks(hw)['tunelo']
            self.assertEqual(STATE.PENDING, task.state)
            self.assertIn('channel API', task.state_details['defer_reason'])
            self.assertIsNotNone(task.not_before)
            # Keystone is up: the credential is made meanwhile.
            self.wait_states(hw, {'tunelo': STATE.PENDING,
                                  'credentials': STATE.STEADY})
        finally:
            self.api.restart(self.plane.track)
        self.steady(hw, timeout=60)
        task = self.tasks(hw)['tunelo']
        self.assertNotIn('defer_reason', task.state_details)
        self.assertEqual(0, task.attempts)
        self.assertEqual(1, len(self.host_channels(hw)))

    def test_delete_cleans_up_then_purges(self):
        self.engine()
        hw = self.enroll(channels=('control', 'tenant'))
        self.steady(hw)
        user_id = self.tasks(hw)['credentials'].state_details['user_id']
        hw.soft_delete()
        objects.WorkerTask.mark_pending(self.ctx, hw.uuid)
        base.wait('hardware purged', lambda: not objects.WorkerTask.
                  list_for_hardware(self.ctx, hw.uuid), 120)
        self.assertEqual([], self.host_channels(hw))
        keystone = self.plane.keystone.session()
        self.assertEqual(404, keystone.get(
            '%s/users/%s' % (self.plane.keystone.url, user_id),
            raise_exc=False).status_code)

    def test_restarted_engine_releases_its_claims(self):
        hw = self.enroll()
        # An engine claimed both tasks, then died.
        claimed = objects.WorkerTask.claim_due(self.ctx, 'eng-crashed', 10)
        self.assertEqual(2, len(claimed))
        self.assertEqual({STATE.IN_PROGRESS}, {t.state for t in
                                               self.tasks(hw).values()})
        self.engine(host='eng-crashed')
        self.steady(hw)
        self.assertEqual(1, len(self.host_channels(hw)))

    def test_fifty_hosts_at_once_no_task_lost_or_duplicated(self):
        # The tunelo worker only: a duplicate would be a second channel
        # of the same name, which the channel API allows.
        limit = 4
        hws = [self.enroll(workers=('tunelo',)) for _ in range(50)]
        uuids = [hw.uuid for hw in hws]
        engine = self.engine(concurrency=limit, workers=('tunelo',))
        most = 0
        start = time.monotonic()
        while time.monotonic() - start < 900:
            # One query, one snapshot: reading hardware by hardware would
            # see a task that started after another one ended as both
            # running.
            states = [t.state for tasks in objects.WorkerTask.
                      list_by_hardware(self.ctx, uuids).values()
                      for t in tasks]
            most = max(most, states.count(STATE.IN_PROGRESS))
            if states.count(STATE.STEADY) == len(states):
                break
            time.sleep(0.2)
        elapsed = round(time.monotonic() - start, 1)
        self.assertEqual([STATE.STEADY] * 50, states)
        self.assertLessEqual(most, limit)
        wanted = {'%s-control' % hw.name for hw in hws}
        names = [c['name'] for c in self.api.client('demo').get(
            '/channels').json()['channels'] if c['name'] in wanted]
        self.assertEqual(sorted(wanted), sorted(names))
        self.add_figures('engine 50 hosts', {
            'hosts': 50, 'task_concurrency': limit,
            'max_in_progress_seen': most, 'all_steady_s': elapsed,
            'engine': engine.host})
