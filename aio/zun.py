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

"""Zun: zun-api under uWSGI, and one zun-compute per compute host.

Subprocesses only, with the configuration of a deployment: Keystone
middleware and service user, the cloud's RabbitMQ virtual host and
database, Placement, Neutron and Cyborg from Keystone's catalog.
The cloud's device path (``DEVICE_PATHS``) says how zun-compute gives
containers their devices.  ``wait_status`` and ``delete`` are how
everything that drives the cloud waits for a container.
"""

import os
import time

import docker
from zunclient import client as zun_client
from zunclient import exceptions as zun_exc

from aio import keystone as keystone_mod
from aio import rootfs
from aio import service
from zun_oci_attach import profiles


VENV = os.path.dirname(service.VENV_BIN)
PASTE = os.path.join(VENV, 'etc', 'zun', 'api-paste.ini')
IMAGE = rootfs.IMAGE
#: The microversion of our Zun series that takes device profiles.
DEVICE_PROFILES_VERSION = '1.41'
#: Print the first bytes of every device node the container was given
#: beyond Docker's defaults (a terminal would block: skip them all).
READ_DEVICES = (
    'for f in $(find /dev -type c); do case $f in /dev/null|/dev/zero|'
    '/dev/full|/dev/random|/dev/urandom|/dev/tty|/dev/console|/dev/ptmx|'
    '/dev/pts/*) continue;; esac; '
    'echo "$f: $(timeout 5 head -c 8 $f | od -An -tx1)"; done')

#: How zun-compute gives containers the devices of their profiles: the
#: zun.conf sections of the compute hosts, and the container API
#: version the cloud's clients ask for.  ``docker_oci``: our driver for stock
#: Zun, which claims the devices in Placement itself; it reads the
#: profiles from the label that ``--device-profile`` sets below API
#: 1.41.  ``attacher``: Zun's own DockerDriver with the series'
#: device-attacher extension point and our ``oci`` attacher, where the
#: scheduler claims the devices (patch 0005), zun-compute binds them
#: (0006) and the profiles travel in the 1.41 ``device_profiles`` field.
DEVICE_PATHS = {
    'docker_oci': ({'DEFAULT': {'container_driver': 'docker_oci'}},
                   '1.40'),
    'attacher': ({'DEFAULT': {'container_driver': 'docker'},
                  'docker': {'device_attachers': 'oci'}},
                 DEVICE_PROFILES_VERSION),
}
#: The device path of a cloud that names none.
DEFAULT_DEVICE_PATH = 'attacher'
#: Zun's network driver on the compute hosts (``[network] driver``):
#: Kuryr's libnetwork plugin turns Neutron ports into Docker networks.
NETWORK_DRIVER = 'kuryr'
#: ``[docker] docker_remote_api_version``: device cgroup rules need
#: 1.28 and CDI device requests 1.40; Docker 20.10 speaks 1.41.
DOCKER_API_VERSION = '1.41'

#: ``[cyborg_client] orphan_arq_min_age`` (patch 0008): how long
#: zun-compute sees an ARQ bound to its host for a container Zun no
#: longer knows before it deletes it.  Zun's default, 300 s, guards
#: slow creates of a busy cloud; here creates take seconds, and a device
#: that a forced delete left taken comes back after one state sync.
ORPHAN_ARQ_MIN_AGE = 30

#: This cloud reaches no image registry: its containers run the image
#: each host already has (``IMAGE``), which Zun pulls again unless the
#: container says ``--image-pull-policy ifnotpresent``.  Zun lets only
#: admins say so; here project members may too.
POLICY = ('"container:create:image_pull_policy": '
          '"rule:context_is_admin or role:member"\n')


#: Runs until it is stopped, and stops at once: a shell waiting for
#: its child answers SIGTERM, where a bare ``sleep`` as PID 1 ignores it
#: and each stop waits out Zun's stop timeout (``STOP_TIMEOUT``).
UNTIL_STOPPED = ('sh', '-c', 'trap "exit 0" TERM; sleep 600 & wait')
#: Bounds the waits for a container's status and for its delete; not a
#: performance figure.
CONTAINER_TIMEOUT = 120
#: Seconds zun-compute gives a container to stop before Docker kills
#: it (what zun-api uses for ``delete --stop``).
STOP_TIMEOUT = 10
#: Seconds without a sign that zun-compute took up a stop or delete
#: (a status change) before ``delete`` asks again.
ASK_AGAIN = 10


class ContainerFailed(RuntimeError):
    """A container did not reach a status, or its delete did not end."""


def parse_read(output):
    """``{node: [byte, ...]}`` from the output of ``READ_DEVICES``."""
    return {node: data.split() for node, _sep, data in
            (line.partition(':') for line in output.splitlines()
             if line.strip())}


def wait_status(client, ident, statuses, timeout=CONTAINER_TIMEOUT,
                poll=0.5):
    """The container ``ident`` (a python-zunclient resource, read with
    ``client``) once its status is one of ``statuses``.

    Raises ``ContainerFailed`` if it is in Error and ``statuses`` does
    not name Error, or in none of them after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        container = client.containers.get(ident)
        if container.status in statuses:
            return container
        if container.status == 'Error' or time.monotonic() > deadline:
            raise ContainerFailed(
                'container %s is %s (%s), not %s'
                % (ident, container.status, container.status_reason,
                   ' or '.join(statuses)))
        time.sleep(poll)


def delete(client, ident, engines=(), timeout=CONTAINER_TIMEOUT,
           poll=0.5):
    """Delete the container ``ident`` through zun-api with ``client``,
    stopping it first if it runs, and wait until Zun no longer knows it.

    It stops, waits until the container no longer runs, then deletes,
    where ``delete(stop=True)`` would ask both at once: zun-api then
    casts the stop and the delete to zun-compute as two messages
    (``ContainersController.delete``), whose greenthreads take the
    container's lock in either order.  When the delete comes first,
    Docker refuses to remove the running container; Zun has already
    disconnected its networks, marks it Error, and the stop then leaves
    it Stopped, to be deleted again.  Worse, Zun's Docker driver takes
    any error whose text contains "404" for "not found"
    (``zun.container.docker.driver.is_not_found``), and Docker's refusal
    quotes the 64 hex digits of the container's id twice: about one
    refusal in 70 makes Zun forget the container while Docker keeps it.
    Patches 12 and 13 of the Zun series fix both; stock Zun (the
    ``docker_oci`` path) still needs the two steps.

    Asks again while zun-api answers Conflict (a create or start is
    under way), when a delete ends in Error, and when zun-compute shows
    no sign of a request for ``ASK_AGAIN`` seconds.  Once Zun no longer
    knows the container, looks for its Docker container in the Docker
    engines ``engines`` (URLs); if Zun left one there, removes it and
    returns True (a leak to report).  Raises ``ContainerFailed`` if the
    container is still there after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    stop_asked = delete_asked = None
    seen_deleting = False
    while True:
        try:
            container = client.containers.get(ident)
        except zun_exc.NotFound:
            return _remove_docker_container(ident, engines)
        now = time.monotonic()
        if now > deadline:
            raise ContainerFailed(
                'container %s is still %s (%s) %d seconds after its '
                'delete was asked' % (ident, container.status,
                                      container.status_reason, timeout))
        try:
            if container.status == 'Deleting':
                seen_deleting = True
            elif container.status == 'Running':
                if (stop_asked is None or
                        now - stop_asked > STOP_TIMEOUT + ASK_AGAIN):
                    client.containers.stop(ident, STOP_TIMEOUT)
                    stop_asked = now
            elif (delete_asked is None or seen_deleting or
                    now - delete_asked > ASK_AGAIN):
                # Not asked yet, a delete that ended without deleting
                # it, or no sign of the last one.
                client.containers.delete(ident)
                delete_asked, seen_deleting = now, False
        except zun_exc.NotFound:
            return _remove_docker_container(ident, engines)
        except zun_exc.Conflict:
            # Not in a state to stop or delete yet: ask again.
            pass
        time.sleep(poll)


def _remove_docker_container(ident, engines):
    """Remove the Docker container of Zun's container ``ident`` from the
    engines at ``engines``; whether there was one.
    """
    found = False
    for url in engines:
        with docker.APIClient(base_url=url) as engine:
            try:
                engine.remove_container('zun-' + ident, force=True)
            except docker.errors.NotFound:
                continue
        found = True
    return found


def _password(keystone, user):
    return dict(keystone.credentials(user), auth_type='password')


class Zun:
    """zun-api, and the configuration its compute hosts share."""

    def __init__(self, workdir, logs, db_url, db_kind, keystone,
                 transport_url, device_path=DEFAULT_DEVICE_PATH):
        #: One of ``DEVICE_PATHS``.
        self.device_path = device_path
        self.dir = os.path.join(workdir, 'zun')
        self.logs = logs
        self.db_url = db_url
        self.db_kind = db_kind
        self.keystone = keystone
        self.transport_url = transport_url
        self.listener = service.listening_socket()
        self.port = self.listener.getsockname()[1]
        self.url = 'http://127.0.0.1:%d/v1' % self.port
        self.conf = os.path.join(self.dir, 'zun.conf')
        self.api = None
        #: host name -> its zun-compute (``service.Process``)
        self.computes = {}

    def log(self, name):
        return os.path.join(self.logs, 'zun-%s.log' % name)

    @property
    def api_version(self):
        """The container API version of clients on the device path."""
        return DEVICE_PATHS[self.device_path][1]

    def client_env(self):
        """``OS_*`` settings the CLI needs for the device path."""
        return {'OS_CONTAINER_API_VERSION': self.api_version}

    def device_profile_fields(self, names):
        """Container create fields that ask for the device profiles
        ``names`` on the device path, as ``--device-profile`` sends them.
        """
        if self.api_version == DEVICE_PROFILES_VERSION:
            return {'device_profiles': list(names)}
        return {'labels': {profiles.LABEL: ' '.join(names)}}

    def client(self, user):
        """python-zunclient as ``user`` (see ``aio.keystone``)."""
        return zun_client.Client(
            self.api_version, session=self.keystone.session(user),
            interface='public', region_name=keystone_mod.REGION)

    def sections(self):
        """zun.conf of every Zun service of the cloud."""
        region = {'region_name': keystone_mod.REGION,
                  'endpoint_type': 'publicURL'}
        return {
            'DEFAULT': {'transport_url': self.transport_url,
                        'state_path': self.dir,
                        'my_ip': '127.0.0.1',
                        'capsule_driver': 'docker'},
            'api': {'api_paste_config': PASTE, 'host_ip': '127.0.0.1',
                    'port': self.port, 'workers': 1},
            'database': {'connection': self.db_url},
            'keystone_authtoken': keystone_mod.authtoken(self.keystone,
                                                         'zun'),
            # Zun's own calls as its service user (Placement, Neutron).
            'keystone_auth': _password(self.keystone, 'zun'),
            'placement_client': region,
            'neutron_client': region,
            'cyborg_client': dict(region,
                                  orphan_arq_min_age=ORPHAN_ARQ_MIN_AGE),
            'oslo_concurrency': {'lock_path': os.path.join(self.dir,
                                                           'locks')},
            'oslo_policy': {'policy_file': os.path.join(self.dir,
                                                        'policy.yaml')},
        }

    def setup(self):
        os.makedirs(self.dir)
        service.write_conf(self.conf, self.sections())
        with open(os.path.join(self.dir, 'policy.yaml'), 'w') as f:
            f.write(POLICY)
        manage = [service.bin_path('zun-db-manage'), '--config-file',
                  self.conf]
        if self.db_kind == 'mariadb':
            service.run('zun-db-manage', manage + ['upgrade'],
                        self.log('dbsync'))
        else:
            # Zun's migrations alter columns in place, which SQLite
            # cannot do (they fail before reaching the head); as Zun's
            # own tests do, the schema comes from the models, and the
            # database is stamped with the head revision so that later
            # upgrades start from it.
            service.run('zun-db-manage', [
                service.bin_path('python'), '-c',
                'import sys, zun.conf; '
                'zun.conf.CONF(sys.argv[1:], project="zun"); '
                'from oslo_db.sqlalchemy import enginefacade; '
                'from zun.db.sqlalchemy import models; '
                'models.Base.metadata.create_all('
                'enginefacade.writer.get_engine())',
                '--config-file', self.conf], self.log('dbsync'))
            service.run('zun-db-manage', manage + ['stamp', 'head'],
                        self.log('dbsync'))
        self.api = service.uwsgi(
            'zun-api', service.bin_path('zun-api-wsgi'), self.listener,
            self.log('api'), pyargv='--config-file %s' % self.conf)

    def start_api(self, on_start):
        """Start; ``on_start(process)`` once it runs, before it answers."""
        on_start(self.api.start())
        self.api.wait_until(lambda: service.http_answers(self.url),
                            'answer on %s' % self.url)

    def compute(self, host, cdi_dir, docker_url, network_plugin,
                extra=None):
        """The zun-compute of ``host`` (not started): its own host name,
        Docker engine (``docker_url``) and CDI spec directory, which its
        Cyborg agent writes; containers join Neutron networks through
        the Docker network plugin ``network_plugin`` (the cloud's
        Kuryr); ``extra`` adds zun.conf sections.
        """
        sections = {
            'DEFAULT': {'host': host, 'log_file': self.log('compute-' +
                                                           host)},
            'docker': {'api_url': docker_url,
                       'docker_remote_api_version': DOCKER_API_VERSION},
            'network': {'driver': NETWORK_DRIVER,
                        'driver_name': network_plugin},
            'oci_attach': {'cdi_spec_dir': cdi_dir},
            # The Cyborg credentials of zun_oci_attach: Zun's service
            # user, whose token Cyborg requires to bind (CVE-2026-40214).
            'oci_attach_cyborg': dict(_password(self.keystone, 'zun'),
                                      region_name=keystone_mod.REGION),
        }
        for section, options in DEVICE_PATHS[self.device_path][0].items():
            sections.setdefault(section, {}).update(options)
        for section, options in (extra or {}).items():
            sections.setdefault(section, {}).update(options)
        conf = service.write_conf(
            os.path.join(self.dir, 'compute-%s.conf' % host), sections)
        process = service.Process(
            'zun-compute (%s)' % host,
            [service.bin_path('zun-compute'), '--config-file', self.conf,
             '--config-file', conf], self.log('compute-' + host))
        self.computes[host] = process
        return process
