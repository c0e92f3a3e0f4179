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
``DEVICE_PATH`` says how zun-compute gives containers their devices.
"""

import os

from zunclient import client as zun_client

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
#: The one switch between them.
DEVICE_PATH = 'attacher'
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


def parse_read(output):
    """``{node: [byte, ...]}`` from the output of ``READ_DEVICES``."""
    return {node: data.split() for node, _sep, data in
            (line.partition(':') for line in output.splitlines()
             if line.strip())}


def api_version():
    """The container API version of clients on ``DEVICE_PATH``."""
    return DEVICE_PATHS[DEVICE_PATH][1]


def client_env():
    """``OS_*`` settings the CLI needs for ``DEVICE_PATH``."""
    return {'OS_CONTAINER_API_VERSION': api_version()}


def device_profile_fields(names):
    """Container create fields that ask for the device profiles
    ``names`` on ``DEVICE_PATH``, as ``--device-profile`` sends them.
    """
    if api_version() == DEVICE_PROFILES_VERSION:
        return {'device_profiles': list(names)}
    return {'labels': {profiles.LABEL: ' '.join(names)}}


def client(keystone, user):
    """python-zunclient as ``user`` (see ``aio.keystone``)."""
    return zun_client.Client(api_version(), session=keystone.session(user),
                             interface='public',
                             region_name=keystone_mod.REGION)


def _password(keystone, user):
    return dict(keystone.credentials(user), auth_type='password')


class Zun:
    """zun-api, and the configuration its compute hosts share."""

    def __init__(self, workdir, logs, db_url, db_kind, keystone,
                 transport_url):
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
        for section, options in DEVICE_PATHS[DEVICE_PATH][0].items():
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
