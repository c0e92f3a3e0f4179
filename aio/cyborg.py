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

"""Cyborg: API, conductor and agent (with ``peripheral_driver``).

Subprocesses only: Cyborg and Zun register clashing global options, and
this process imports Zun.
"""

import configparser
import os

import oslo_messaging as messaging
from oslo_config import cfg

from aio import keystone as keystone_mod
from aio import service


PASTE = os.path.join(os.path.dirname(service.VENV_BIN), 'etc', 'cyborg',
                     'api-paste.ini')


class Cyborg:
    def __init__(self, workdir, logs, db_url, db_kind, keystone,
                 transport_url, host, cdi_dir, periodic_interval):
        self.dir = os.path.join(workdir, 'cyborg')
        self.logs = logs
        self.db_url = db_url
        self.db_kind = db_kind
        self.keystone = keystone
        self.transport_url = transport_url
        self.host = host
        self.cdi_dir = cdi_dir
        self.periodic_interval = periodic_interval
        self.listener = service.listening_socket()
        self.port = self.listener.getsockname()[1]
        # Cyborg's links assume it is served under /accelerator; it
        # fails on that path without the final slash.
        self.url = 'http://127.0.0.1:%d/accelerator/' % self.port
        self.conf = os.path.join(self.dir, 'cyborg.conf')
        self.api = self.conductor = None
        #: host name -> the Cyborg agent of that compute host
        self.agents = {}
        self._transport = None

    @property
    def agent(self):
        """The agent of the cloud's first compute host (``host``)."""
        return self.agents.get(self.host)

    def log(self, name):
        return os.path.join(self.logs, 'cyborg-%s.log' % name)

    def _api_process(self):
        return service.uwsgi('cyborg-api',
                             os.path.join(self.dir, 'cyborg-api-wsgi.py'),
                             self.listener, self.log('api'),
                             mount='/accelerator',
                             pyargv='--config-file %s --log-file %s' % (
                                 self.conf, self.log('api')))

    def setup(self):
        os.makedirs(self.dir)
        ksa = dict(self.keystone.credentials('cyborg'), auth_type='password',
                   region_name=keystone_mod.REGION,
                   valid_interfaces='public')
        service.write_conf(self.conf, {
            'DEFAULT': {'transport_url': self.transport_url,
                        'host': self.host,
                        'periodic_interval': self.periodic_interval,
                        # Lets this process ask the conductor and the agent
                        # whether they consume their RPC queues yet.
                        'rpc_ping_enabled': 'true'},
            'api': {'host_ip': '127.0.0.1', 'port': self.port,
                    'api_workers': 1, 'api_paste_config': PASTE},
            'database': {'connection': self.db_url},
            'keystone_authtoken': keystone_mod.authtoken(self.keystone,
                                                         'cyborg'),
            'placement': ksa,
            'nova': ksa,
            'agent': {'enabled_drivers': 'peripheral_driver',
                      'resource_provider_name': self.host},
            'peripherals': {'host': self.host, 'cdi_spec_dir': self.cdi_dir},
            # The agent runs as root here: no sudo in front of the helper.
            'cyborg_peripherals_privileged': {
                'helper_command': '%s --config-file %s' % (
                    service.bin_path('privsep-helper'), self.conf)},
            'oslo_concurrency': {'lock_path': os.path.join(self.dir,
                                                           'locks')},
        })
        # Cyborg's migrations need MySQL; on SQLite it creates the schema
        # from its models, as its own tests do.
        command = 'upgrade' if self.db_kind == 'mariadb' else 'create_schema'
        service.run('cyborg-dbsync', [service.bin_path('cyborg-dbsync'),
                                      '--config-file', self.conf, command],
                    self.log('dbsync'))
        # cyborg-api's own server needs eventlet, which Cyborg's
        # services no longer run on; serve its WSGI application instead.
        app = os.path.join(self.dir, 'cyborg-api-wsgi.py')
        with open(app, 'w') as f:
            f.write('from cyborg.api import wsgi_app\n'
                    'application = wsgi_app.init_application()\n')
        self.api = self._api_process()
        self.conductor = self._process('conductor')

    def configure(self, sections):
        """Set ``{section: {option: value}}`` in cyborg.conf.

        A service reads it when it starts (see ``Cloud.restart_agent``).
        """
        parser = configparser.RawConfigParser()
        parser.read(self.conf)
        parser.read_dict(sections)
        with open(self.conf, 'w') as f:
            parser.write(f)

    def reports(self):
        """How many agent reports the conductor has received."""
        # ConductorManager.report_data logs this once per report.
        with open(self.log('conductor')) as f:
            return sum('Start differing devices.' in line for line in f)

    def _process(self, binary, env=None, conf=(), host=None):
        """``cyborg-<binary>``; that of compute host ``host`` has a log
        and a name of its own.
        """
        log = self.log(binary if host is None else '%s-%s' % (binary, host))
        argv = [service.bin_path('cyborg-%s' % binary)]
        for path in (self.conf,) + tuple(conf):
            argv += ['--config-file', path]
        name = 'cyborg-%s' % binary
        if host is not None:
            name += ' (%s)' % host
        return service.Process(name, argv + ['--log-file', log], log,
                               env=env)

    def _agent_process(self, host, cdi_dir, env):
        """The agent of ``host``, writing its CDI spec into ``cdi_dir``.

        The first compute host's agent reads cyborg.conf alone; another
        host's reads its own file after it, naming its host, its
        resource provider (the one its zun-compute creates) and its CDI
        directory, which the privileged helper also reads.
        """
        if host == self.host:
            return self._process('agent', env)
        conf = os.path.join(self.dir, 'agent-%s.conf' % host)
        service.write_conf(conf, {
            'DEFAULT': {'host': host},
            'agent': {'resource_provider_name': host},
            'peripherals': {'host': host, 'cdi_spec_dir': cdi_dir},
            'cyborg_peripherals_privileged': {
                'helper_command': '%s --config-file %s --config-file %s' % (
                    service.bin_path('privsep-helper'), self.conf, conf)},
        })
        return self._process('agent', env, conf=(conf,), host=host)

    def _pinged(self, topic, server=None):
        if self._transport is None:
            # The global configuration: oslo.messaging registers its
            # tracing options only there.  Zun, in this process too, shares
            # these options.
            self._transport = messaging.get_rpc_transport(
                cfg.CONF, url=self.transport_url)
        client = messaging.get_rpc_client(
            self._transport, messaging.Target(exchange='cyborg', topic=topic,
                                              server=server),
            timeout=2)
        try:
            client.call({}, 'oslo_rpc_server_ping')
        except messaging.MessagingTimeout:
            return False
        return True

    # Each start_* calls on_start(process) once the process runs, before
    # it answers.
    def restart_api(self, on_start):
        """Start a stopped API again on its port.

        A restarted service comes back where its clients expect it.
        """
        self.listener = service.listening_socket(self.port)
        self.api = self._api_process()
        self.start_api(on_start)

    def start_api(self, on_start):
        on_start(self.api.start())
        self.api.wait_until(lambda: service.http_answers(self.url),
                            'answer on %s' % self.url)

    def start_conductor(self, on_start):
        on_start(self.conductor.start())
        self.conductor.wait_until(lambda: self._pinged('cyborg-conductor'),
                                  'answer to an RPC ping')

    def start_agent(self, on_start, env=None, host=None, cdi_dir=None):
        """Start the agent of ``host`` (default: the first compute host),
        whose CDI spec goes to ``cdi_dir``; ``env`` adds to its
        environment (umockdev).
        """
        host = host or self.host
        agent = self._agent_process(host, cdi_dir or self.cdi_dir,
                                    dict(os.environ, **(env or {})))
        self.agents[host] = agent
        on_start(agent.start())
        agent.wait_until(lambda: self._pinged('cyborg-agent', host),
                         'answer to an RPC ping')
        return agent

    def stop(self):
        for process in list(self.agents.values()) + [self.conductor,
                                                     self.api]:
            if process is not None:
                process.stop()
        if self._transport is not None:
            self._transport.cleanup()
            self._transport = None
