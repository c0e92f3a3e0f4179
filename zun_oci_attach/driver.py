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
import dataclasses
import json
import os
import stat
import threading

from oslo_log import log as logging
from oslo_utils import versionutils
from zun import objects
from zun.common import consts
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

#: Docker label holding the device nodes as checked at create.
NODES_LABEL = 'openstack.org/device-nodes'


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


class DevicesKept(arq.DeviceAttachFailed):
    message = ('%(reason)s. Docker container %(id)s could not be removed '
               '(%(error)s), so the devices stay reserved for it; delete the '
               'container to remove it and release them')


class DeviceChanged(arq.DeviceAttachFailed):
    message = ('The device nodes of this container are not the devices it '
               'was given at create (%(changes)s): a peripheral was '
               'unplugged, re-plugged or replaced. %(action)s; delete the '
               'container and create it again to get the devices as they '
               'are now')


class _DeferredHostConfig:
    def __init__(self, kwargs):
        self.kwargs = kwargs


class _AttachingClient:
    """Zun's Docker client, adding one attachment to the container."""

    def __init__(self, client, pending):
        self._client = client
        self._attachment, self._record = pending

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
        # Set by the driver alone: a label of the same name from the
        # user is replaced.
        kwargs['labels'] = dict(kwargs.get('labels') or {},
                                **{NODES_LABEL: self._record})
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
            pending = _pending.get()
            if pending is None:
                yield client
            else:
                yield _AttachingClient(client, pending)

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
        if not _has_devices(container):
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
            except DeviceChanged as e:
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
                _check_nodes(container, 'The container was stopped')
            except DeviceChanged as e:
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
    try:
        return bool(profiles.requested(container))
    except profiles.InvalidDeviceProfiles:
        # Create refused it before any device was requested.
        return False


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


def _node(path):
    """``[type, major, minor]`` of the node at ``path`` now."""
    try:
        st = os.stat(path)
    except OSError as e:
        return [os.strerror(e.errno).lower()]
    if stat.S_ISCHR(st.st_mode):
        kind = 'c'
    elif stat.S_ISBLK(st.st_mode):
        kind = 'b'
    else:
        return ['not a device node']
    return [kind, os.major(st.st_rdev), os.minor(st.st_rdev)]


def _describe(node):
    return '%s %d:%d' % tuple(node) if len(node) == 3 else node[0]


def _check_nodes(container, action):
    """Raise DeviceChanged unless every node is as checked at create."""
    with docker_utils.docker_client() as docker:
        info = docker.inspect_container(container.container_id)
    labels = (info.get('Config') or {}).get('Labels') or {}
    if NODES_LABEL not in labels:
        LOG.warning('Container %s was created without a record of its '
                    'device nodes (before this check existed); they are '
                    'not checked', container.uuid)
        return
    try:
        record = json.loads(labels[NODES_LABEL])
        nodes = {path: node for path, *node in record['nodes']}
    except (ValueError, TypeError, KeyError):
        raise DeviceChanged(changes='the record of its devices is '
                            'unreadable', action=action) from None
    changes = []
    if record.get('cdi'):
        # The engine reads the CDI spec again at each start.
        try:
            now = _translate_record(record['cdi'])
        except DeviceRefused as e:
            raise DeviceChanged(changes=str(e), action=action) from None
        if set(now) != set(nodes):
            changes.append('the CDI spec now names %s instead of %s' % (
                ', '.join(sorted(now)), ', '.join(sorted(nodes))))
    for path, node in sorted(nodes.items()):
        current = _node(path)
        if current != node:
            changes.append('%s is %s, was %s' % (path, _describe(current),
                                                 _describe(node)))
    if changes:
        raise DeviceChanged(changes='; '.join(changes), action=action)


class _OneSpecRead:
    """The policy, reading the host's CDI spec once for a whole create.

    All devices of the container are then translated from one snapshot
    of the spec, even if Cyborg's driver rewrites it meanwhile, and the
    file is opened and checked once rather than once per device.
    """

    def __init__(self, policy, spec=None):
        self._policy = policy
        self._spec = spec

    def __getattr__(self, name):
        return getattr(self._policy, name)

    def read_spec(self):
        if self._spec is None:
            self._spec = self._policy.read_spec()
        return self._spec


def _combine(bound, policy):
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


def _device_nodes(attachment):
    """``{host path: [type, major, minor]}`` of the attachment's nodes."""
    return {path: _node(path) for path in
            (entry.split(':')[0] for entry in attachment.devices)}


def _translate_record(handles):
    """The nodes the recorded CDI devices name in the spec now."""
    policy = dataclasses.replace(translation.Policy.from_conf(CONF),
                                 native_cdi=False)
    bound = [{'attach_handle_type': kind, 'attach_handle_info': info,
              'device_profile_name': '(recorded)'} for kind, info in handles]
    return _device_nodes(_combine(bound, _OneSpecRead(policy)))


def _translate(bound):
    """The attachment for ``bound`` ARQs, and the label recording it."""
    configured = translation.Policy.from_conf(CONF)
    # The nodes are those the policy checked, whatever reaches Docker.
    policy = _OneSpecRead(dataclasses.replace(configured, native_cdi=False))
    attachment = _combine(bound, policy)
    record = {'nodes': [[path] + node for path, node in
                        sorted(_device_nodes(attachment).items())]}
    if configured.native_cdi:
        attachment = _combine(bound, _OneSpecRead(configured,
                                                  policy.read_spec()))
        record['cdi'] = [[r['attach_handle_type'], r['attach_handle_info']]
                         for r in bound]
    return attachment, json.dumps(record, sort_keys=True)
