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

"""What Zun's compute side needs here besides Zun: no Neutron, and
containers as zun-api records them."""

import uuid

from zun import objects
from zun.compute import container_actions

from aio import rootfs
from zun_oci_attach import profiles


IMAGE = rootfs.IMAGE


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
                  device_profiles=None, field_profiles=None):
    """A container as zun-api records it, ready for the manager.

    ``device_profiles`` go into the label (stock Zun); ``field_profiles``,
    a list, into the ``device_profiles`` field of our Zun series.
    """
    container = objects.Container(
        context, uuid=str(uuid.uuid4()), name=name,
        project_id=context.project_id, user_id=user_id or context.user_id,
        image=IMAGE, image_driver='docker', image_pull_policy='ifnotpresent',
        command=command, environment={}, labels={}, status='Creating',
        host=host, interactive=False, tty=False)
    if device_profiles:
        container.labels = {profiles.LABEL: device_profiles}
    if field_profiles:
        container.device_profiles = field_profiles
    container.create(context)
    # As zun-api does; the manager records its events under it.
    objects.ContainerAction.action_start(
        context, container.uuid, container_actions.CREATE, want_result=False)
    return container
