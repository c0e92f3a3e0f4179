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

"""Turning an ``OCI`` attach handle into Docker container settings.

Shared by the Zun driver and ``zun-oci-attach translate``; it imports
neither Zun nor Cyborg.  :func:`translate` resolves the handle's CDI
device in the host's spec, checks everything against the
:class:`Policy` (see ``zun_oci_attach.policy``) and returns an
:class:`Attachment`; :func:`apply` merges attachments into the keyword
arguments of docker-py's ``create_host_config`` and ``create_container``.

Why no ``device_cgroup_rules``: for each ``devices`` entry
``HOST:CONTAINER:PERMS`` Docker creates the node in the container and adds
the cgroup allow rule ``TYPE MAJOR:MINOR PERMS`` of that node itself.
That rule is by number, so it also covers the node when the peripheral
is re-plugged with the same major:minor, and a node of the same number
made with mknod inside the container.  Anything wider (a whole major, for
nodes that appear later) is exactly what the policy forbids, so
:func:`translate` never emits explicit rules; that keeps the result
usable at Zun's default API version 1.26 (rules need 1.28).  The field
exists so callers merge attachments uniformly.

With ``native_cdi`` the attachment carries only the CDI device name, sent
as a ``cdi`` device request (Docker 25+ with CDI enabled, API 1.40); the
spec is still checked here, but the engine reads it again itself.
"""

import dataclasses
import json

from cyborg_peripherals import contract
from cyborg_peripherals.cdi import names
from cyborg_peripherals.cdi import safety
from zun_oci_attach import policy as policy_mod


AttachRefused = policy_mod.AttachRefused
Policy = policy_mod.Policy

_BASE_API = '1.24'
_API_CGROUP_RULES = '1.28'
_API_DEVICE_REQUESTS = '1.40'


@dataclasses.dataclass(frozen=True)
class Mount:
    source: str
    target: str
    read_only: bool = True


def _conflict(what, key, first, second):
    raise AttachRefused('conflict', '%s %s gets both %r and %r'
                        % (what, key, first, second))


def _device_parts(entry):
    # docker-py also accepts HOST and HOST:CONTAINER; perms default rwm.
    parts = entry.split(':')
    return (parts[0], parts[1] if len(parts) > 1 else parts[0],
            parts[2] if len(parts) > 2 else 'rwm')


def _merge_devices(entries):
    by_target = {}
    for entry in entries:
        host, container, perms = _device_parts(entry)
        if container in by_target:
            old_host, old_perms = by_target[container]
            if old_host != host:
                _conflict('device path', container, old_host, host)
            perms = ''.join(p for p in 'rwm' if p in old_perms + perms)
        by_target[container] = (host, perms)
    return tuple('%s:%s:%s' % (host, container, perms)
                 for container, (host, perms) in by_target.items())


def _merge_mounts(mounts):
    by_target = {}
    for mount in mounts:
        old = by_target.setdefault(mount.target, mount)
        if old != mount:
            _conflict('mount target', mount.target,
                      '%s (%s)' % (old.source, _mode(old)),
                      '%s (%s)' % (mount.source, _mode(mount)))
    return tuple(by_target.values())


def _merge_env(pairs):
    env = {}
    for name, value in pairs:
        if env.setdefault(name, value) != value:
            _conflict('environment variable', name, env[name], value)
    return env


def _unique(items):
    return tuple(dict.fromkeys(items))


def _mode(mount):
    return 'ro' if mount.read_only else 'rw'


@dataclasses.dataclass(frozen=True)
class Attachment:
    """What a container gets for one or more attach handles."""

    #: Docker ``devices`` entries, ``HOST:CONTAINER:PERMS``.
    devices: tuple = ()
    #: Docker ``device_cgroup_rules``; see the module docstring.
    device_cgroup_rules: tuple = ()
    mounts: tuple = ()
    environment: dict = dataclasses.field(default_factory=dict)
    #: Qualified CDI names for the engine, with ``native_cdi`` only.
    cdi_devices: tuple = ()

    def to_json(self):
        """The JSON-ready dict ``zun-oci-attach translate`` prints.

        ``cdi_devices`` appears only when native CDI was chosen, so the
        shape is exactly devices, device_cgroup_rules, mounts and
        environment otherwise.
        """
        doc = {
            'devices': list(self.devices),
            'device_cgroup_rules': list(self.device_cgroup_rules),
            'mounts': [{'source': m.source, 'target': m.target,
                        'read_only': m.read_only} for m in self.mounts],
            'environment': dict(self.environment),
        }
        if self.cdi_devices:
            doc['cdi_devices'] = list(self.cdi_devices)
        return doc

    @classmethod
    def combine(cls, attachments):
        """Merge attachments, refusing ones that contradict each other.

        One container path from two host nodes, one mount target with
        two sources or modes, or one variable with two values is a
        ``conflict``; the same node granted twice gets the union of the
        permissions.
        """
        attachments = list(attachments)
        return cls(
            devices=_merge_devices(d for a in attachments
                                   for d in a.devices),
            device_cgroup_rules=_unique(r for a in attachments
                                        for r in a.device_cgroup_rules),
            mounts=_merge_mounts(m for a in attachments for m in a.mounts),
            environment=_merge_env(kv for a in attachments
                                   for kv in a.environment.items()),
            cdi_devices=_unique(c for a in attachments
                                for c in a.cdi_devices))

    def required_api_version(self):
        """Lowest Docker API version the resulting host config needs."""
        if self.cdi_devices:
            return _API_DEVICE_REQUESTS
        if self.device_cgroup_rules:
            return _API_CGROUP_RULES
        return _BASE_API


def _decode(attach_type, attach_info):
    if attach_type != contract.ATTACH_TYPE:
        raise AttachRefused('attach-type', 'attach handle type %r is not %s'
                            % (attach_type, contract.ATTACH_TYPE))
    try:
        return contract.AttachInfo.decode(attach_info)
    except contract.InvalidAttachInfo as e:
        # Name the kind rule when the device is of another vendor/class.
        if isinstance(attach_info, (str, bytes)):
            try:
                attach_info = json.loads(attach_info)
            except (ValueError, RecursionError):
                pass
        device = attach_info.get('cdi_device') if isinstance(
            attach_info, dict) else None
        if isinstance(device, str):
            try:
                kind = names.split_qualified_name(device)[0]
            except names.InvalidName:
                kind = contract.CDI_KIND
            if kind != contract.CDI_KIND:
                raise AttachRefused('cdi-kind', 'CDI device %r is not of '
                                    'kind %s' % (device, contract.CDI_KIND)
                                    ) from None
        raise AttachRefused('attach-info', str(e)) from None


def _translate_edits(edits, where, policy):
    devices, mounts, env = policy.check_device_edits(edits, where)
    return Attachment(devices=_merge_devices('%s:%s:%s' % d for d in devices),
                      mounts=_merge_mounts(Mount(*m) for m in mounts),
                      environment=_merge_env(env))


def translate(attach_type, attach_info, policy):
    """The :class:`Attachment` for one attach handle, or AttachRefused.

    ``attach_info`` is the stored JSON string or the dict of strings
    Cyborg's ARQ API returns.  The spec is read now, so the result
    reflects the host as it is at attach time.
    """
    info = _decode(attach_type, attach_info)
    spec = policy.read_spec()
    if spec.kind != contract.CDI_KIND:
        raise AttachRefused('cdi-kind', 'the spec in %s is of kind %r, not '
                            '%s' % (policy.cdi_dir, spec.kind,
                                    contract.CDI_KIND))
    safety.check_no_spec_edits(spec)
    device = spec.device(info.cdi_name)
    if device is None:
        raise AttachRefused(
            'device-unknown', 'the spec in %s has no device %r; the '
            'peripheral is not on this host any more'
            % (policy.cdi_dir, info.cdi_name))
    device_class = contract.device_class_of(device.name)
    if device_class != info.device_class:
        raise AttachRefused(
            'class-mismatch', 'the attach info says class %r, but device %s'
            ' in the spec is of class %r' % (info.device_class, device.name,
                                             device_class))
    attachment = _translate_edits(device.edits, 'device %s' % device.name,
                                  policy)
    if policy.native_cdi:
        # Checked all the same: the engine must get nothing refused here.
        return Attachment(cdi_devices=(info.cdi_device,))
    return attachment


def _existing_env(environment):
    if environment is None:
        return {}
    if isinstance(environment, dict):
        return dict(environment)
    return dict(entry.partition('=')[::2] for entry in environment)


def _bind_parts(binds):
    """(source, target) pairs of docker-py ``binds`` in either form."""
    if isinstance(binds, dict):
        return [(src, b['bind'] if isinstance(b, dict) else b)
                for src, b in binds.items()]
    return [tuple(entry.split(':')[:2]) for entry in binds]


def apply(attachment, host_config, container_kwargs):
    """Merge ``attachment`` into docker-py create kwargs, in place.

    ``host_config`` holds ``create_host_config`` keyword arguments and
    ``container_kwargs`` those of ``create_container``, as Zun's driver
    builds them (``devices`` as strings, ``binds`` as a dict or list,
    ``environment`` as a dict or a list of ``NAME=value``).  Everything is
    checked before anything is changed, so a ``conflict`` with what is
    already set leaves both dicts untouched.
    """
    devices = _merge_devices(list(host_config.get('devices') or ()) +
                             list(attachment.devices))
    env = _existing_env(container_kwargs.get('environment'))
    _merge_env(list(env.items()) + list(attachment.environment.items()))
    binds = host_config.get('binds') or {}
    for source, target in _bind_parts(binds):
        for mount in attachment.mounts:
            if target == mount.target or (isinstance(binds, dict) and
                                          source == mount.source):
                _conflict('mount', mount.target, '%s:%s' % (source, target),
                          '%s:%s' % (mount.source, mount.target))

    if devices:
        host_config['devices'] = list(devices)
    if attachment.device_cgroup_rules:
        host_config['device_cgroup_rules'] = list(_unique(
            list(host_config.get('device_cgroup_rules') or ()) +
            list(attachment.device_cgroup_rules)))
    if attachment.mounts:
        if isinstance(binds, dict):
            binds = dict(binds)
            binds.update({m.source: {'bind': m.target, 'mode': _mode(m)}
                          for m in attachment.mounts})
        else:
            binds = list(binds) + ['%s:%s:%s' % (m.source, m.target,
                                                 _mode(m))
                                   for m in attachment.mounts]
        host_config['binds'] = binds
    if attachment.environment:
        current = container_kwargs.get('environment')
        if isinstance(current, (list, tuple)):
            container_kwargs['environment'] = list(current) + [
                '%s=%s' % kv for kv in attachment.environment.items()
                if kv[0] not in env]
        else:
            env.update(attachment.environment)
            container_kwargs['environment'] = env
    if attachment.cdi_devices:
        host_config['device_requests'] = list(
            host_config.get('device_requests') or ()) + [
            {'driver': 'cdi', 'device_ids': list(attachment.cdi_devices)}]
