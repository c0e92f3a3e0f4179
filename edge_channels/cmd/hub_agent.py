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

"""``edge-channels-hub-agent --config-file hub.conf``: the hub agent."""

import os
import signal
import sys
import threading

import oslo_messaging
from oslo_config import cfg
from oslo_log import log as logging
from oslo_privsep import priv_context

from edge_channels import privileged
from edge_channels.agent import manager
from edge_channels.agent import neutron
from edge_channels.agent import notifications
from edge_channels.conf import hub as hub_conf


LOG = logging.getLogger(__name__)
CONF = cfg.CONF


def _listener(agent):
    transport = oslo_messaging.get_notification_transport(CONF)
    targets = [oslo_messaging.Target(exchange=CONF.hub.notification_exchange,
                                     topic=topic)
               for topic in CONF.hub.notification_topics]
    pool = CONF.hub.notification_pool or 'edge-channels-hub-%s' % (
        CONF.hub.host)
    return oslo_messaging.get_notification_listener(
        transport, targets, [notifications.NotificationEndpoint(agent)],
        executor='threading', pool=pool)


def main(argv=None):
    logging.register_options(CONF)
    hub_conf.register_opts(CONF)
    CONF(sys.argv[1:] if argv is None else argv, project='edge-channels',
         prog='edge-channels-hub-agent')
    logging.setup(CONF, 'edge-channels-hub-agent')
    if not CONF.hub.endpoint_address:
        sys.exit('edge-channels-hub-agent: set [hub] endpoint_address to '
                 'the IP address devices reach this host at')
    if len(CONF.hub.listen_port_range) < 1 or \
            CONF.hub.listen_port_range.step != 1:
        sys.exit('edge-channels-hub-agent: [hub] listen_port_range must '
                 'be "first-last" with first <= last')
    if os.geteuid() == 0:
        # Already root: fork the privileged daemon, no sudo needed.
        privileged.hub_pctxt.start(method=priv_context.Method.FORK)
    agent = manager.HubAgent(CONF, neutron.Client.from_conf(CONF),
                             privileged)
    listener = _listener(agent)
    stopping = threading.Event()

    def _stop(signum, frame):
        LOG.info('Signal %d: stopping', signum)
        stopping.set()
        agent.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    # Listen before the first full sync, so that no change made during
    # it is missed.
    listener.start()
    LOG.info('Hub agent of host %(host)s started (endpoint %(addr)s, '
             'state in %(dir)s)', {'host': CONF.hub.host,
                                   'addr': CONF.hub.endpoint_address,
                                   'dir': CONF.hub.state_dir})
    worker = threading.Thread(target=agent.run, name='hub-sync',
                              daemon=True)
    worker.start()
    while worker.is_alive() and not stopping.is_set():
        worker.join(1)
    listener.stop()
    listener.wait()
    LOG.info('Hub agent stopped; interfaces stay up until the next start')
    return 0


if __name__ == '__main__':
    sys.exit(main())
