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

"""This machine's RabbitMQ, with one virtual host per cloud."""

import socket
import time

from aio import service


HOST, PORT = '127.0.0.1', 5672
LOG = '/var/log/rabbitmq'


def _listening():
    try:
        with socket.create_connection((HOST, PORT), timeout=1):
            return True
    except OSError:
        return False


def ensure_running(log):
    if _listening():
        return
    service.run('rabbitmq', ['rabbitmq-server', '-detached'], log)
    deadline = time.monotonic() + 90
    while not _listening():
        if time.monotonic() > deadline:
            raise service.ServiceFailed(
                'rabbitmq', 'not listening on %s:%d within 90 seconds'
                % (HOST, PORT), LOG)
        time.sleep(0.5)
    # The port opens before the broker accepts management commands.
    service.run('rabbitmq', ['rabbitmqctl', 'await_startup'], log)


def add_vhost(vhost, log):
    service.run('rabbitmq', ['rabbitmqctl', 'add_vhost', vhost], log)
    service.run('rabbitmq', ['rabbitmqctl', 'set_permissions', '-p', vhost,
                             'guest', '.*', '.*', '.*'], log)
    # Neutron notifies every port change; with no hub agent listening
    # (a cloud kept for a user) its notification queues would only grow.
    service.run('rabbitmq', ['rabbitmqctl', 'set_policy', '-p', vhost,
                             '--apply-to', 'queues', 'notifications',
                             r'^notifications\.', '{"max-length": 1000}'],
                log)
    return 'rabbit://guest:guest@%s:%d/%s' % (HOST, PORT, vhost)


def delete_vhost(vhost, log):
    service.run('rabbitmq', ['rabbitmqctl', 'delete_vhost', vhost], log)
