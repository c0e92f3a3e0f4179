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

"""Zun's compute side, in this process, against the cloud's Cyborg.

zun-api and zun-compute do not run here: zun-api asks Neutron for the
container's network on every create, and zun-compute's network drivers
(Kuryr, CNI) need Neutron too.  So Zun's compute manager runs in this
process, as the Zun tests run it, with the ``docker_oci`` driver and
only the network driver stood in for (``NoNeutron``); the driver talks
to the real Cyborg and Placement with real Keystone tokens: the
container owner's for creating accelerator requests, and Zun's service
user's for binding them.  The Zun tests use ``NoNeutron`` and
``new_container`` too.
"""

import os
import uuid

import docker
import zun.conf
from keystoneauth1 import loading as ks_loading
from oslo_db.sqlalchemy import enginefacade
from zun import objects
from zun.common import context as zun_context
from zun.compute import container_actions
from zun.compute import manager as zun_manager
from zun.container.docker import driver as docker_driver
from zun.db.sqlalchemy import models

from aio import rootfs
from zun_oci_attach import conf as oci_conf
from zun_oci_attach import profiles
from zun_oci_attach.conf import cyborg as cyborg_conf


CONF = zun.conf.CONF
IMAGE = rootfs.IMAGE
#: Print the first bytes of every device node the container was given
#: beyond Docker's defaults (a terminal would block: skip them all).
READ_DEVICES = (
    'for f in $(find /dev -type c); do case $f in /dev/null|/dev/zero|'
    '/dev/full|/dev/random|/dev/urandom|/dev/tty|/dev/console|/dev/ptmx|'
    '/dev/pts/*) continue;; esac; '
    'echo "$f: $(timeout 5 head -c 8 $f | od -An -tx1)"; done')


def parse_read(output):
    """``{node: [byte, ...]}`` from the output of ``READ_DEVICES``."""
    return {node: data.split() for node, _sep, data in
            (line.partition(':') for line in output.splitlines()
             if line.strip())}


class NoNeutron:
    """Stands in for Zun's network driver, the one part that needs
    Neutron: containers get no network.
    """

    neutron_api = None

    def get_or_create_network(self, context, network):
        pass

    def process_networking_config(self, container, requested_network,
                                  host_config, kwargs, docker_api,
                                  security_group_ids=None):
        host_config['network_mode'] = 'none'

    def connect_container_to_network(self, container, network, **kwargs):
        return []

    def disconnect_container_from_network(self, container, network):
        pass

    def on_container_started(self, container):
        pass

    def on_container_stopped(self, container):
        pass


def new_container(context, command, name, host, user_id=None,
                  device_profiles=None):
    """A container as zun-api records it, ready for the manager."""
    container = objects.Container(
        context, uuid=str(uuid.uuid4()), name=name,
        project_id=context.project_id, user_id=user_id or context.user_id,
        image=IMAGE, image_driver='docker', image_pull_policy='ifnotpresent',
        command=command, environment={}, labels={}, status='Creating',
        host=host, interactive=False, tty=False)
    if device_profiles:
        container.labels = {profiles.LABEL: device_profiles}
    container.create(context)
    # As zun-api does; the manager records its events under it.
    objects.ContainerAction.action_start(
        context, container.uuid, container_actions.CREATE, want_result=False)
    return container


def _password_auth(group, credentials):
    CONF.register_opts(ks_loading.get_auth_plugin_conf_options('password'),
                       group=group)
    for key, value in credentials.items():
        CONF.set_override(key, value, group=group)


class ComputeHost:
    """A Zun compute host with the ``docker_oci`` driver."""

    def __init__(self, cloud):
        self.cloud = cloud
        CONF(args=[], project='zun', default_config_files=[])
        CONF.set_override('host', cloud.host)
        CONF.set_override('container_driver', 'docker_oci')
        CONF.set_override('capsule_driver', 'docker')
        CONF.set_override('connection', 'sqlite:///%s' % os.path.join(
            cloud.workdir, 'zun.sqlite'), group='database')
        oci_conf.cyborg.register_opts(CONF)
        _password_auth(cyborg_conf.CYBORG_GROUP,
                       cloud.zun_service_credentials)
        CONF.set_override('region_name', 'RegionOne',
                          group=cyborg_conf.CYBORG_GROUP)
        CONF.set_override('cdi_spec_dir', cloud.cdi_dir, group='oci_attach')
        # Zun's own Placement client authenticates as its service user.
        _password_auth('keystone_auth', cloud.zun_service_credentials)
        CONF.set_override('region_name', 'RegionOne',
                          group='placement_client')
        models.Base.metadata.create_all(enginefacade.writer.get_engine())
        docker_driver.zun_network.driver = lambda **kwargs: NoNeutron()
        self.docker = docker.APIClient()
        rootfs.ensure_image(self.docker)
        self.manager = zun_manager.Manager(container_driver='docker_oci')

    def context(self, user='demo'):
        """A request context of ``user``, as zun-api would pass it."""
        token, body = self.cloud.token(user)
        return zun_context.RequestContext(
            auth_token=token, auth_token_info=body,
            project_id=body['token']['project']['id'],
            user_id=body['token']['user']['id'], is_admin=False)

    def new_container(self, context, command, device_profiles=None,
                      name='aio-demo'):
        container = new_container(context, command, name, CONF.host,
                                  device_profiles=device_profiles)
        self.cloud.record_container('zun-' + container.uuid)
        return container

    def create(self, context, container):
        """Zun's create: ARQs, Placement claim, bind, Docker create."""
        return self.manager._do_container_create_base(
            context, container, [{'network': 'none'}], {})

    def start(self, context, container):
        return self.manager._do_container_start(context, container)

    def output(self, container):
        """Wait for the container to exit; its exit status and output."""
        status = self.docker.wait(container.container_id, timeout=60)
        out = self.docker.logs(container.container_id).decode()
        return status['StatusCode'], out

    def delete(self, context, container):
        """Remove the container and release its devices."""
        self.manager.driver.delete(context, container, True)
        container.destroy(context)
