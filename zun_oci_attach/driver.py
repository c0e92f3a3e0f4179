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

This is the driver for stock Zun 18.  Select it with ``[DEFAULT]
container_driver = docker_oci``.  Containers that ask for no device
profile go through Zun's ``DockerDriver`` unchanged.  For those whose
label ``openstack.org/device-profiles`` names profiles, ``create``
creates and binds the accelerator requests and claims the devices in
Placement (``zun_oci_attach.arq``), then lets ``DockerDriver.create`` run
as usual; the ``oci`` device attacher (``zun_oci_attach.attacher``) adds
the devices to its Docker calls at the last moment.

With our Zun series, Zun itself claims and binds the devices of the
``device_profiles`` field and hands the bound requests to its device
attachers (``[docker] device_attachers = oci`` with ``container_driver =
docker``).  Should this driver run there, it passes them on untouched
and never claims them a second time; it refuses a container naming
profiles both in the field and in the label.

The seam: stock Zun builds the host config inside ``DockerDriver.create``
and offers no hook, so the driver wraps Zun's ``docker_client()`` context
manager once.  While a create of ours is running in the current context
(a ``contextvars`` variable, so greenthreads and threads never see each
other's devices) the wrapper hands out a client whose
``create_host_config`` defers building the host config to
``create_container``, where both keyword sets are known and the attacher
updates them as Zun's device attacher extension point would.  Outside
such a create the wrapper yields Zun's client untouched.  This depends
only on the two docker-py calls every Docker driver must make, not on
how Zun fills them.

Docker resolves a container's device paths again at every start, so a
node swapped since create (another peripheral re-plugged under the path)
would be handed to the container.  The type and numbers of each node, as
checked at create, are kept in a label of the Docker container; start and
reboot (also those Zun's compute manager redoes when it starts) refuse to
run the container when a node differs, and the periodic state sync stops
a running one that Docker restarted by itself.

Devices stay with a container until it is really gone from Docker: if
Docker could not remove it, its accelerator requests and claims are kept
and the status reason says so.  Those of containers Zun deleted while
Cyborg could not release them are released by the periodic state sync,
which Zun also runs when zun-compute starts.
"""

import contextlib
import contextvars
import functools
import threading

from oslo_log import log as logging
from zun import objects
from zun.common import consts
from zun.common import exception
from zun.container.docker import driver as docker_driver
from zun.container.docker import utils as docker_utils

from zun_oci_attach import arq
from zun_oci_attach import attacher
from zun_oci_attach import conf
from zun_oci_attach import profiles


LOG = logging.getLogger(__name__)
CONF = conf.CONF

_pending = contextvars.ContextVar('zun_oci_attach_attach', default=None)


class DevicesKept(arq.DeviceAttachFailed):
    message = ('%(reason)s. Docker container %(id)s could not be removed '
               '(%(error)s), so the devices stay reserved for it; delete the '
               'container to remove it and release them')


class ProfilesUnbound(arq.DeviceAttachFailed):
    message = ('The device profiles %(profiles)s of the device_profiles '
               'field were not bound by Zun: %(why)s')


class _DeferredHostConfig:
    def __init__(self, kwargs):
        self.kwargs = kwargs


class _AttachingClient:
    """Zun's Docker client, adding one container's devices."""

    def __init__(self, client, attach):
        self._client = client
        self._attach = attach

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
        self._attach(host_config, kwargs, self._client)
        kwargs['host_config'] = self._client.create_host_config(
            **host_config)
        return self._client.create_container(image, **kwargs)


def _wrap_docker_client(original):
    @contextlib.contextmanager
    def docker_client(*args, **kwargs):
        with original(*args, **kwargs) as client:
            attach = _pending.get()
            if attach is None:
                yield client
            else:
                yield _AttachingClient(client, attach)

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
        self._attacher = attacher.OCIAttacher()
        self._lifecycle = lifecycle
        self._lifecycle_lock = threading.Lock()
        self._capsules_next = False

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
    def _profiles(container, source):
        try:
            return source(container)
        except profiles.InvalidDeviceProfiles as e:
            raise exception.Invalid(str(e)) from e

    def create(self, context, container, image, requested_networks,
               requested_volumes, accel_requests=None):
        """Create a container, with the devices of its device profiles.

        ``accel_requests`` (our Zun series only) are the ARQs Zun's
        compute manager bound for the ``device_profiles`` field; they go
        to Zun's device attachers unchanged.  This driver creates, binds
        and claims only those of the label.
        """
        names = self._profiles(container, profiles.from_label)
        zun_names = self._profiles(container, profiles.from_field)
        if zun_names and accel_requests is None:
            raise ProfilesUnbound(
                profiles=', '.join(zun_names),
                why='this Zun accepts the field but its compute service '
                    'does not bind accelerator requests. Install the whole '
                    'Zun series (tools/install-zun), or ask for the '
                    'profiles with the label %s' % profiles.LABEL)
        if zun_names and names:
            # Zun's scheduler and this driver would claim devices for the
            # same Placement consumer, and each release the other's.
            raise exception.Invalid(
                'Ask for device profiles either in device_profiles or in '
                'the label %s, not in both' % profiles.LABEL)
        extra = ({} if accel_requests is None else
                 {'accel_requests': accel_requests})
        if not names:
            return super().create(context, container, image,
                                  requested_networks, requested_volumes,
                                  **extra)
        LOG.info('Attaching device profiles %(profiles)s to container '
                 '%(uuid)s', {'profiles': ', '.join(names),
                              'uuid': container.uuid})
        bound = self.lifecycle.attach(context, container, names)
        try:
            token = _pending.set(functools.partial(
                self._attacher.process_device_config, context, container,
                bound))
            try:
                return super().create(context, container, image,
                                      requested_networks, requested_volumes,
                                      **extra)
            finally:
                _pending.reset(token)
        except Exception as e:
            self._undo(context, container, e)
            raise

    def _undo(self, context, container, error):
        if container.container_id:
            # Docker created it with the devices: remove it before the
            # devices go to someone else, and keep them if it stays.
            why = 'it still exists'
            try:
                super().delete(context, container, True)
            except Exception as e:
                LOG.error('Could not remove Docker container %(id)s after '
                          'a failed create: %(error)s',
                          {'id': container.container_id, 'error': e})
                why = arq.sanitize(e)
            if not _gone(container):
                raise DevicesKept(reason=str(error), id=container.container_id,
                                  error=why) from error
        self.lifecycle.abandon(context, container, error)

    def delete(self, context, container, force):
        super().delete(context, container, force)
        if not _claims_devices(container):
            return
        # Zun's delete returns without removing the container when its
        # network clean-up finds it "not connected".
        if container.container_id and not _gone(container):
            raise DevicesKept(reason='Delete failed', error='Docker did not '
                              'confirm the removal', id=container.container_id)
        self.lifecycle.detach(context, container)

    def start(self, context, container):
        if _has_devices(container) and container.container_id:
            _check_nodes(container, 'The container was not started')
        return super().start(context, container)

    def reboot(self, context, container, timeout):
        if _has_devices(container) and container.container_id:
            try:
                _check_nodes(container, 'The container was stopped')
            except attacher.DeviceChanged as e:
                self.stop(context, container, timeout)
                container.status_reason = str(e)
                raise
        return super().reboot(context, container, timeout)

    def update_containers_states(self, context, containers, manager):
        """Zun's periodic state sync (also run when zun-compute starts)."""
        # Zun's sync calls this for its containers, then for its capsules;
        # the clean-up, with its cluster-wide listings, runs once a sync.
        # An empty list says nothing, so the call after a containers call
        # is taken for the capsules call.
        if containers:
            capsules = isinstance(containers[0], objects.Capsule)
        else:
            capsules = self._capsules_next
        self._capsules_next = not capsules
        super().update_containers_states(context, containers, manager)
        self._stop_changed(context, containers)
        if not capsules:
            self._reap(context)

    def _stop_changed(self, context, containers):
        # Docker restarts containers itself (restart policies, dockerd
        # restarts), reading device paths again without asking Zun.
        for container in containers:
            if (container.host != CONF.host or container.task_state or
                    container.status != consts.RUNNING or
                    not container.container_id or
                    not _has_devices(container)):
                continue
            try:
                _check_nodes(container, 'The container was stopped',
                             running=True)
            except attacher.DeviceChanged as e:
                LOG.warning('Stopping container %(uuid)s: %(error)s',
                            {'uuid': container.uuid, 'error': e})
                try:
                    self.stop(context, container, None)
                except Exception as stop_error:
                    LOG.error('Could not stop container %(uuid)s: '
                              '%(error)s', {'uuid': container.uuid,
                                            'error': stop_error})
                    continue
                container.status_reason = str(e)
                container.save(context)
            except Exception as e:
                LOG.error('Could not check the devices of container '
                          '%(uuid)s: %(error)s',
                          {'uuid': container.uuid, 'error': e})

    def _reap(self, context):
        try:
            lifecycle = self.lifecycle
        except arq.DeviceAttachFailed as e:
            LOG.debug('Not cleaning up device bindings: %s', e)
            return
        try:
            with docker_utils.docker_client() as docker:
                in_docker = {name for c in docker.list_containers()
                             for name in c.get('Names') or ()}
        except Exception as e:
            LOG.warning('Not cleaning up device bindings, Docker could not '
                        'list its containers: %s', e)
            return

        def is_gone(uuid):
            if '/zun-' + uuid in in_docker:
                return False
            try:
                objects.Container.get_by_uuid(context, uuid)
            except exception.ContainerNotFound:
                return True
            return False

        try:
            lifecycle.reap(context, is_gone)
        except Exception as e:
            LOG.warning('Could not clean up the device bindings of deleted '
                        'containers, will retry: %s', e)


def _has_devices(container):
    """Whether the container was given devices (by any path)."""
    try:
        return bool(profiles.requested(container))
    except profiles.InvalidDeviceProfiles:
        # Create refused it before any device was requested.
        return False


def _claims_devices(container):
    """Whether this driver, not Zun, holds the container's devices."""
    try:
        return bool(profiles.from_label(container))
    except profiles.InvalidDeviceProfiles:
        return False


def _check_nodes(container, action, running=False):
    """Raise DeviceChanged unless the nodes are acceptable (see
    ``attacher.check_nodes``: ``running`` for the state sync).
    """
    with docker_utils.docker_client() as docker:
        info = docker.inspect_container(container.container_id)
    labels = (info.get('Config') or {}).get('Labels') or {}
    if not attacher.check_nodes(labels, action, running=running):
        LOG.warning('Container %s was created without a record of its '
                    'device nodes (before this check existed); they are '
                    'not checked', container.uuid)


def _gone(container):
    """Whether Docker says the container does not exist any more."""
    try:
        with docker_utils.docker_client() as docker:
            docker.inspect_container(container.container_id)
    except exception.DockerError as e:
        return docker_driver.is_not_found(e)
    except Exception:
        return False
    return False
