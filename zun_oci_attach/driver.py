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

"""``docker_oci``: Zun's Docker driver, plus Cyborg-attached peripherals.

Select it with ``[DEFAULT] container_driver = docker_oci``.  Containers
that ask for no device profile go through Zun's ``DockerDriver``
unchanged.  For the others, ``create`` gets the bound attach handles from
Cyborg (``zun_oci_attach.arq``), translates them
(``zun_oci_attach.translation``) and lets ``DockerDriver.create`` run as
usual; the devices join its Docker calls at the last moment.

The seam: Zun builds the host config inside ``DockerDriver.create`` and
offers no hook, so the driver wraps Zun's ``docker_client()`` context
manager once.  While a create of ours is running in the current context
(a ``contextvars`` variable, so greenthreads and threads never see each
other's devices) the wrapper hands out a client whose
``create_host_config`` defers building the host config to
``create_container``, where both keyword sets are known and the
attachment is merged into them.  Outside such a create the wrapper yields
Zun's client untouched.  This depends only on the two docker-py calls
every Docker driver must make, not on how Zun fills them.
"""

import contextlib
import contextvars
import threading

from oslo_log import log as logging
from oslo_utils import versionutils
from zun.common import exception
from zun.container.docker import driver as docker_driver
from zun.container.docker import utils as docker_utils

from zun_oci_attach import arq
from zun_oci_attach import conf
from zun_oci_attach import profiles
from zun_oci_attach import translation


LOG = logging.getLogger(__name__)
CONF = conf.CONF

_pending = contextvars.ContextVar('zun_oci_attach_attachment',
                                  default=None)


class DeviceRefused(arq.DeviceAttachFailed):
    message = ('The device bound for device profile %(profile)s cannot be '
               'given to the container: %(error)s. Create the container '
               'again to get another device; if this repeats, ask the '
               'operator to check the peripherals of this host')


class DockerAPITooOld(arq.DeviceAttachFailed):
    message = ('The devices need Docker API %(needed)s but zun-compute is '
               'configured to use %(have)s. Set [docker] '
               'docker_remote_api_version = %(needed)s or higher in '
               'zun.conf and restart zun-compute')


class _DeferredHostConfig:
    def __init__(self, kwargs):
        self.kwargs = kwargs


class _AttachingClient:
    """Zun's Docker client, adding one attachment to the container."""

    def __init__(self, client, attachment):
        self._client = client
        self._attachment = attachment

    def __getattr__(self, name):
        return getattr(self._client, name)

    def create_host_config(self, **kwargs):
        return _DeferredHostConfig(dict(kwargs))

    def create_container(self, image, **kwargs):
        deferred = kwargs.get('host_config')
        if not isinstance(deferred, _DeferredHostConfig):
            raise exception.ZunException(
                'docker_oci expected the host config of this container '
                'from create_host_config; this Zun version builds it '
                'differently and is not supported')
        host_config = deferred.kwargs
        try:
            translation.apply(self._attachment, host_config, kwargs)
        except translation.AttachRefused as e:
            raise DeviceRefused(profile='(all)', error=e) from e
        _check_api_version(self._client, self._attachment)
        kwargs['host_config'] = self._client.create_host_config(
            **host_config)
        return self._client.create_container(image, **kwargs)


def _check_api_version(client, attachment):
    # Only the client's version is compared: the engine refuses every
    # request made at a version above its own, so Zun's calls before
    # this one proved it supports the client's, and asking the engine
    # (GET /version, which queries containerd) cost a round trip.
    needed = attachment.required_api_version()
    have = client.api_version
    if versionutils.convert_version_to_tuple(have) < \
            versionutils.convert_version_to_tuple(needed):
        raise DockerAPITooOld(needed=needed, have=have)


def _wrap_docker_client(original):
    @contextlib.contextmanager
    def docker_client(*args, **kwargs):
        with original(*args, **kwargs) as client:
            attachment = _pending.get()
            if attachment is None:
                yield client
            else:
                yield _AttachingClient(client, attachment)

    docker_client.zun_oci_attach_wrapped = original
    return docker_client


def _install_seam():
    if not hasattr(docker_utils.docker_client, 'zun_oci_attach_wrapped'):
        docker_utils.docker_client = _wrap_docker_client(
            docker_utils.docker_client)


class DockerOCIDriver(docker_driver.DockerDriver):
    """Docker driver that attaches the devices of Cyborg device profiles."""

    def __init__(self, lifecycle=None):
        super().__init__()
        _install_seam()
        self._lifecycle = lifecycle
        self._lifecycle_lock = threading.Lock()

    @property
    def lifecycle(self):
        # Built on first use: containers without devices never need
        # Cyborg or Placement credentials.  Under a lock, so that
        # concurrent first creates share one Cyborg session.
        with self._lifecycle_lock:
            if self._lifecycle is None:
                self._lifecycle = arq.Lifecycle(CONF, CONF.host)
            return self._lifecycle

    @staticmethod
    def _profiles(container):
        try:
            return profiles.requested(container)
        except profiles.InvalidDeviceProfiles as e:
            raise exception.Invalid(str(e)) from e

    def create(self, context, container, image, requested_networks,
               requested_volumes):
        names = self._profiles(container)
        if not names:
            return super().create(context, container, image,
                                  requested_networks, requested_volumes)
        LOG.info('Attaching device profiles %(profiles)s to container '
                 '%(uuid)s', {'profiles': ', '.join(names),
                              'uuid': container.uuid})
        bound = self.lifecycle.attach(context, container, names)
        try:
            token = _pending.set(_translate(bound))
            try:
                return super().create(context, container, image,
                                      requested_networks, requested_volumes)
            finally:
                _pending.reset(token)
        except Exception as e:
            self._undo(context, container, e)
            raise

    def _undo(self, context, container, error):
        if container.container_id:
            # Docker created it with the devices: remove it before the
            # devices go to someone else.
            try:
                super().delete(context, container, True)
            except Exception as e:
                LOG.error('Could not remove Docker container %(id)s after '
                          'a failed create: %(error)s',
                          {'id': container.container_id, 'error': e})
        self.lifecycle.abandon(context, container, error)

    def delete(self, context, container, force):
        super().delete(context, container, force)
        try:
            names = profiles.requested(container)
        except profiles.InvalidDeviceProfiles:
            # Create refused it before any device was requested.
            names = []
        if names:
            self.lifecycle.detach(context, container)


class _OneSpecRead:
    """The policy, reading the host's CDI spec once for a whole create.

    All devices of the container are then translated from one snapshot
    of the spec, even if Cyborg's driver rewrites it meanwhile, and the
    file is opened and checked once rather than once per device.
    """

    def __init__(self, policy):
        self._policy = policy
        self._spec = None

    def __getattr__(self, name):
        return getattr(self._policy, name)

    def read_spec(self):
        if self._spec is None:
            self._spec = self._policy.read_spec()
        return self._spec


def _translate(bound):
    policy = _OneSpecRead(translation.Policy.from_conf(CONF))
    attachments = []
    for request in bound:
        try:
            attachments.append(translation.translate(
                request['attach_handle_type'],
                request['attach_handle_info'], policy))
        except translation.AttachRefused as e:
            raise DeviceRefused(profile=request['device_profile_name'],
                                error=e) from e
    try:
        return translation.Attachment.combine(attachments)
    except translation.AttachRefused as e:
        raise DeviceRefused(
            profile=', '.join(r['device_profile_name'] for r in bound),
            error=e) from e
