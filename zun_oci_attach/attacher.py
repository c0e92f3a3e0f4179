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

"""The ``oci`` device attacher: bound ``OCI`` ARQs into Docker settings.

With our Zun series (tools/zun-patches) Zun's scheduler claims the
devices, zun-compute binds the accelerator requests (ARQs) and hands the
bound ones to ``DockerDriver.create``, which gives those of attach handle
type ``OCI`` to :class:`OCIAttacher` when ``[docker] device_attachers``
names ``oci``.  With stock Zun the ``docker_oci`` driver binds the ARQs
itself and calls the same attacher from its Docker client wrapper, so
both paths translate and check devices with one piece of code.

Every handle is translated by ``zun_oci_attach.translation`` under the
security policy of ``[oci_attach]`` (``zun_oci_attach.policy``), all of
a container's handles from one read of the host's CDI spec.  The type
and major:minor of each device node, as checked now, is recorded in the
Docker label ``openstack.org/device-nodes``; :func:`check_nodes` compares
the nodes with it before the container runs again, since Docker resolves
device paths afresh at every start.  ``docker_oci`` calls it at start,
reboot and in the state sync on stock Zun; with the series Zun's
``DockerDriver`` calls :meth:`OCIAttacher.check_devices` at the same
points.
"""

import dataclasses
import errno
import json
import os
import stat

from oslo_log import log as logging
from oslo_utils import versionutils

from cyborg_peripherals import contract
from zun_oci_attach import arq
from zun_oci_attach import conf
from zun_oci_attach import translation


try:
    from zun.container.docker import device_attacher
except ImportError:
    # Stock Zun has no device attacher interface; docker_oci calls the
    # attacher itself there.
    _Base = object
    _Refusal = ()
else:
    from zun.common import exception as zun_exception
    _Base = device_attacher.DeviceAttacher
    # What Zun's DockerDriver takes for an attacher's refusal: a refused
    # reboot, for instance, stops the container.
    _Refusal = (zun_exception.DeviceAttachFailed,)


LOG = logging.getLogger(__name__)
CONF = conf.CONF

#: Docker label holding the device nodes as checked at create.
NODES_LABEL = 'openstack.org/device-nodes'


class DeviceRefused(arq.DeviceAttachFailed, *_Refusal):
    message = ('The device bound for device profile %(profile)s cannot be '
               'given to the container: %(error)s. Create the container '
               'again to get another device; if this repeats, ask the '
               'operator to check the peripherals of this host')


class DockerAPITooOld(arq.DeviceAttachFailed, *_Refusal):
    message = ('The devices need Docker API %(needed)s but zun-compute is '
               'configured to use %(have)s. Set [docker] '
               'docker_remote_api_version = %(needed)s or higher in '
               'zun.conf and restart zun-compute')


class DeviceChanged(arq.DeviceAttachFailed, *_Refusal):
    message = ('The device nodes of this container are not the devices it '
               'was given at create (%(changes)s): a peripheral was '
               'unplugged, re-plugged or replaced. %(action)s; delete the '
               'container and create it again to get the devices as they '
               'are now')


class OCIAttacher(_Base):
    """Gives a container the devices of its bound ``OCI`` ARQs."""

    attach_handle_types = (contract.ATTACH_TYPE,)

    def process_device_config(self, context, container, accel_requests,
                              host_config, container_kwargs, docker):
        """Add the devices of ``accel_requests`` to the Docker kwargs.

        Raises a ``DeviceAttachFailed`` (a ``ZunException``) saying what
        to do, before anything is changed, when a handle is refused, two
        handles contradict each other or what is already set, or the
        client's Docker API version is too old for the result.
        """
        attachment, record = _translate(accel_requests)
        _check_api_version(docker, attachment)
        try:
            translation.apply(attachment, host_config, container_kwargs)
        except translation.AttachRefused as e:
            raise DeviceRefused(profile=_names(accel_requests),
                                error=e) from e
        # Set by the attacher alone: a label of the same name from the
        # user is replaced.
        container_kwargs['labels'] = dict(
            container_kwargs.get('labels') or {}, **{NODES_LABEL: record})
        LOG.info('Container %(uuid)s gets the devices of device profiles '
                 '%(profiles)s', {'uuid': container.uuid,
                                  'profiles': _names(accel_requests)})

    def check_devices(self, context, container, docker_container_info):
        """Refuse to run a container whose device nodes changed.

        Zun's ``DockerDriver`` calls this before it starts or reboots a
        container with device profiles and, for a running one, in its
        state sync; it stops a running container this refuses.
        """
        running = (docker_container_info.get('State') or {}).get('Running')
        action = ('The container was stopped' if running else
                  'The container was not started')
        labels = (docker_container_info.get('Config') or {}).get(
            'Labels') or {}
        # The state sync looks only at containers without a task; a
        # reboot's has one, and Docker resolves the paths again then.
        if not check_nodes(labels, action,
                           running=running and not container.task_state):
            # Devices of another attacher, or given before the record
            # existed.
            LOG.debug('Container %s has no record of OCI device nodes to '
                      'check', container.uuid)


def _names(accel_requests):
    return ', '.join(dict.fromkeys(
        str(r.get('device_profile_name')) for r in accel_requests))


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


def _combine(accel_requests, policy):
    attachments = []
    for request in accel_requests:
        try:
            attachments.append(translation.translate(
                request.get('attach_handle_type'),
                request.get('attach_handle_info'), policy))
        except translation.AttachRefused as e:
            raise DeviceRefused(profile=request.get('device_profile_name'),
                                error=e) from e
    try:
        return translation.Attachment.combine(attachments)
    except translation.AttachRefused as e:
        raise DeviceRefused(profile=_names(accel_requests), error=e) from e


#: What ``_node`` says of a path where nothing is.
_MISSING = [os.strerror(errno.ENOENT).lower()]


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


def _device_nodes(attachment):
    """``{host path: [type, major, minor]}`` of the attachment's nodes."""
    return {path: _node(path) for path in
            (entry.split(':')[0] for entry in attachment.devices)}


def _translate(accel_requests):
    """The attachment for bound ARQs, and the label value recording it."""
    configured = translation.Policy.from_conf(CONF)
    # The nodes are those the policy checked, whatever reaches Docker.
    policy = _OneSpecRead(dataclasses.replace(configured, native_cdi=False))
    attachment = _combine(accel_requests, policy)
    record = {'nodes': [[path] + node for path, node in
                        sorted(_device_nodes(attachment).items())]}
    if configured.native_cdi:
        attachment = _combine(accel_requests, _OneSpecRead(
            configured, policy.read_spec()))
        record['cdi'] = [[r.get('attach_handle_type'),
                          r.get('attach_handle_info')]
                         for r in accel_requests]
    return attachment, json.dumps(record, sort_keys=True)


def _translate_record(handles):
    """The nodes the recorded CDI devices name in the spec now."""
    policy = dataclasses.replace(translation.Policy.from_conf(CONF),
                                 native_cdi=False)
    bound = [{'attach_handle_type': kind, 'attach_handle_info': info,
              'device_profile_name': '(recorded)'} for kind, info in handles]
    return _device_nodes(_combine(bound, _OneSpecRead(policy)))


def check_nodes(labels, action, running=False):
    """Raise DeviceChanged unless every node is as checked at create.

    ``labels`` are the Docker container's labels; ``action`` starts the
    message's second sentence (what was done about it).  ``running``:
    the container runs and is not being started again (the state sync).
    Its own copies of the nodes keep the numbers they were created with,
    so a node missing from the host (its device unplugged, perhaps
    plugged back under another name) is no reason to stop it; a node at
    a recorded path that is now another device is (Docker may have
    restarted it with that one).  Before a start or a reboot, when
    Docker resolves the paths again, a missing node is refused too, and
    so is a CDI spec naming other nodes.  Returns False when the
    container has no record (created without devices or before the
    record existed), True when the nodes are acceptable.
    """
    if NODES_LABEL not in labels:
        return False
    try:
        record = json.loads(labels[NODES_LABEL])
        nodes = {path: node for path, *node in record['nodes']}
    except (ValueError, TypeError, KeyError):
        raise DeviceChanged(changes='the record of its devices is '
                            'unreadable', action=action) from None
    changes = []
    if record.get('cdi') and not running:
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
        if current == node or (running and current == _MISSING):
            continue
        changes.append('%s is %s, was %s' % (path, _describe(current),
                                             _describe(node)))
    if changes:
        raise DeviceChanged(changes='; '.join(changes), action=action)
    return True
