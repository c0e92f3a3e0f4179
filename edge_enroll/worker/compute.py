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

"""``compute``: the edge host's registration in Zun and Placement, and
the device profiles its peripherals can serve.

The host is the hardware's name: its zun-compute's and cyborg-agent's
``host``, and the name of the resource provider zun-compute makes in
Placement, under which Cyborg's conductor hangs a provider per
peripheral (a deployable of the host).  ``process`` defers until
zun-compute of the host is up in Zun and that provider tree holds
Cyborg's device providers; then it writes into the hardware's
read-only property ``device_profiles`` the sorted names of Cyborg's
device profiles each group of which one of those providers could hold
-- capability, not free capacity: a camera in use still serves its
profile.  The engine runs it again every ``[compute] resync_interval``
(``BaseWorker.resync_interval``), so the property follows hot-plugs.

What the services answer is not trusted: a malformed device profile
or provider is skipped with a warning, never an exception (Chameleon's
reporter of device profiles crashed its coordinator and was reverted).

An enrollment claims only a host that registers after it: a
zun-compute of that name that Zun knew before the hardware was created
is another's compute host, which a project member must not be able to
read or, by deleting the hardware, deregister.  The task goes to ERROR
instead, and the claim (``host_bound`` in ``state_details``) is what
lets ``cleanup`` touch the host at all.

``cleanup`` waits until the ``tunelo`` worker has removed the host's
channels (so that it cannot report again meanwhile), forces the host's
zun-compute down (nothing is scheduled
there any more), defers while Placement holds allocations against the
host's providers (containers still there), then deletes the providers,
children first, and zun-compute's service record.  Cyborg has no API
to delete a host's devices: its records stay until its agent reports
again (see specs/doni-enrollment.rst).
"""

import dataclasses
import math
import re

from oslo_log import log as logging
from oslo_utils import timeutils

from edge_enroll import exception
from edge_enroll import objects
from edge_enroll.conf import compute as conf_compute
from edge_enroll.worker import base


LOG = logging.getLogger(__name__)
ZUN_BINARY = 'zun-compute'
#: Placement: ``in_tree`` (1.14) and everything older.
PLACEMENT_VERSION = '1.14'
#: Zun's services API is in its base version.
ZUN_VERSION = '1.1'
PROPERTY = 'device_profiles'
#: In ``state_details``: the host registered after the enrollment, so
#: it is this hardware's to deregister.
BOUND = 'host_bound'
#: Workers whose clean-up cuts the host off the cloud (its channels):
#: it is deregistered only after them, or it could report again and
#: register anew in between.
CUT_OFF_BY = ('tunelo',)
#: Cyborg's group keys (api/controllers/v2/device_profiles.py): the
#: ``accel:`` ones say nothing Placement answers.
RESOURCES, TRAIT, ACCEL = 'resources:', 'trait:', 'accel:'
REQUIRED, FORBIDDEN = 'required', 'forbidden'
_DIGITS = re.compile(r'[0-9]{1,18}')
#: The API version in the paths of Zun and Cyborg, which catalogs give
#: with it (DevStack: ".../v1", ".../accelerator/v2") or without.
VERSION_PREFIX = {'zun': '/v1', 'cyborg': '/v2'}
SERVICE_NAMES = {'placement': 'Placement', 'cyborg': 'Cyborg',
                 'zun': 'Zun'}


class Malformed(ValueError):
    """A device profile or a provider the worker cannot read."""


# -- what can hold what (pure functions of untrusted data) ------------------

@dataclasses.dataclass(frozen=True)
class Group:
    """One group of a device profile: Placement's granular request
    group, which one provider must satisfy.
    """

    resources: tuple
    required: frozenset
    forbidden: frozenset


@dataclasses.dataclass(frozen=True)
class Provider:
    """A device provider: ``inventories`` {resource class: (capacity,
    min_unit, max_unit, step_size)}; ``traits``.
    """

    uuid: str
    name: str
    inventories: dict
    traits: frozenset


def _name(value, what):
    if not isinstance(value, str) or not value:
        raise Malformed('%s %r is not a name' % (what, value))
    return value


def _int(value, what):
    # Cyborg keeps amounts as strings ("1"); Placement answers ints.
    if isinstance(value, bool):
        raise Malformed('%s %r is not an integer' % (what, value))
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        return int(value)
    if isinstance(value, int):
        return value
    raise Malformed('%s %r is not an integer' % (what, value))


def parse_group(group):
    """``Group`` of a device profile's group (``{"resources:RC": "1",
    "trait:T": "required"|"forbidden", "accel:...": ...}``).
    """
    if not isinstance(group, dict):
        raise Malformed('group %r is not an object' % (group,))
    resources, required, forbidden = {}, set(), set()
    for key, value in group.items():
        if not isinstance(key, str):
            raise Malformed('group key %r is not a string' % (key,))
        if key.startswith(RESOURCES):
            rc = _name(key[len(RESOURCES):], 'resource class')
            amount = _int(value, key)
            if amount < 1:
                raise Malformed('%s asks for %d' % (key, amount))
            resources[rc] = amount
        elif key.startswith(TRAIT):
            trait = _name(key[len(TRAIT):], 'trait')
            if value == REQUIRED:
                required.add(trait)
            elif value == FORBIDDEN:
                forbidden.add(trait)
            else:
                raise Malformed('%s is %r, not required or forbidden'
                                % (key, value))
        elif not key.startswith(ACCEL):
            raise Malformed('group key %r is not resources:, trait: or '
                            'accel:' % key)
    if required & forbidden:
        raise Malformed('traits both required and forbidden: %s'
                        % ', '.join(sorted(required & forbidden)))
    return Group(tuple(sorted(resources.items())), frozenset(required),
                 frozenset(forbidden))


def parse_profile(profile):
    """(name, [Group]) of a device profile as Cyborg lists it."""
    if not isinstance(profile, dict):
        raise Malformed('device profile %r is not an object' % (profile,))
    name = _name(profile.get('name'), 'device profile name')
    groups = profile.get('groups')
    if not isinstance(groups, list) or not groups:
        raise Malformed('device profile %s has no list of groups' % name)
    return name, [parse_group(group) for group in groups]


def _inventory(rc, inv):
    if not isinstance(inv, dict):
        raise Malformed('inventory of %s is not an object' % rc)
    total = _int(inv.get('total'), '%s total' % rc)
    reserved = _int(inv.get('reserved', 0), '%s reserved' % rc)
    ratio = inv.get('allocation_ratio', 1.0)
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or \
            not math.isfinite(ratio) or ratio < 0:
        raise Malformed('%s allocation_ratio %r is not a number'
                        % (rc, ratio))
    min_unit = _int(inv.get('min_unit', 1), '%s min_unit' % rc)
    max_unit = _int(inv.get('max_unit', total), '%s max_unit' % rc)
    step = _int(inv.get('step_size', 1), '%s step_size' % rc)
    capacity = int((total - reserved) * ratio)
    return capacity, max(min_unit, 1), max_unit, max(step, 1)


def parse_provider(rp, inventories, traits):
    """``Provider`` of a Placement provider and its ``inventories``
    and ``traits`` as Placement answers them.
    """
    if not isinstance(rp, dict):
        raise Malformed('provider %r is not an object' % (rp,))
    uuid_ = _name(rp.get('uuid'), 'provider uuid')
    name = rp.get('name') if isinstance(rp.get('name'), str) else uuid_
    if not isinstance(inventories, dict):
        raise Malformed('inventories of %s are not an object' % name)
    if not isinstance(traits, list) or not all(
            isinstance(t, str) for t in traits):
        raise Malformed('traits of %s are not a list of names' % name)
    return Provider(uuid_, name,
                    {_name(rc, 'resource class'): _inventory(rc, inv)
                     for rc, inv in inventories.items()},
                    frozenset(traits))


def holds(provider, group):
    """Whether ``provider`` could hold ``group`` were it unused."""
    if not group.required <= provider.traits or \
            group.forbidden & provider.traits:
        return False
    for rc, amount in group.resources:
        inv = provider.inventories.get(rc)
        if inv is None:
            return False
        capacity, min_unit, max_unit, step = inv
        if not (min_unit <= amount <= max_unit and amount <= capacity and
                amount % step == 0):
            return False
    return True


def satisfiable(profiles, providers):
    """Sorted names of the ``profiles`` (Cyborg's listing) each group of
    which one of ``providers`` (``Provider``) could hold, and the
    problems met [(what, why)]: malformed profiles are skipped.
    """
    names, skipped = set(), []
    if not isinstance(profiles, list):
        return [], [('device profiles', 'not a list: %r' % (profiles,))]
    for profile in profiles:
        try:
            name, groups = parse_profile(profile)
        except Malformed as e:
            what = profile.get('name') if isinstance(profile, dict) else None
            skipped.append((str(what or 'a device profile'), str(e)))
            continue
        if all(any(holds(rp, group) for rp in providers)
               for group in groups):
            names.add(name)
    return sorted(names), skipped


# -- the worker ------------------------------------------------------------

class _NotYet(Exception):
    """The host has not reported yet: defer with this reason."""


class ComputeWorker(base.BaseWorker):
    worker_type = 'compute'
    conf_module = conf_compute

    def resync_interval(self):
        return self.conf.compute.resync_interval or None

    def _call(self, group, method, path, ok=(200,), **kwargs):
        """``method path`` on ``group``'s service; ``path`` without the
        API version (``/services``: Zun's ``/v1/services``).
        """
        adapter = self.service(group)
        prefix = VERSION_PREFIX.get(group, '')
        if prefix:
            try:
                endpoint = adapter.get_endpoint() or ''
            except base.UNREACHABLE as e:
                raise base.Unavailable('%s unreachable: %s'
                                       % (SERVICE_NAMES[group], e))
            if not endpoint.rstrip('/').endswith(prefix):
                path = prefix + path
        return base.call(adapter, SERVICE_NAMES[group], method, path,
                         ok=ok, **kwargs)

    def _json(self, group, path, key, **kwargs):
        """``key`` of the answer to ``GET path``; a malformed answer is
        a service not answering properly (deferred).
        """
        resp = self._call(group, 'GET', path, **kwargs)
        try:
            return resp.json()[key]
        except (ValueError, KeyError, TypeError):
            raise base.Unavailable('%s answered GET %s without "%s"'
                                   % (group, path, key))

    # -- what the services know of the host --------------------------------

    def _zun_service(self, host):
        """Zun's record of the host's zun-compute, or None."""
        for svc in self._json('zun', '/services', 'services',
                              microversion=ZUN_VERSION):
            if isinstance(svc, dict) and svc.get('host') == host and \
                    svc.get('binary') == ZUN_BINARY:
                return svc
        return None

    def _placement(self, path, key, **kwargs):
        return self._json('placement', path, key,
                          microversion=PLACEMENT_VERSION, **kwargs)

    def _root(self, host):
        """The uuid of the host's compute node provider, or None."""
        for rp in self._placement('/resource_providers',
                                  'resource_providers',
                                  params={'name': host}):
            if isinstance(rp, dict) and rp.get('name') == host and \
                    isinstance(rp.get('uuid'), str):
                return rp['uuid']
        return None

    def _tree(self, root):
        return [rp for rp in self._placement(
            '/resource_providers', 'resource_providers',
            params={'in_tree': root}) if isinstance(rp, dict)]

    def _cyborg_providers(self):
        """Uuids of the providers of Cyborg's deployables (all hosts')."""
        return {dep.get('rp_uuid') for dep in self._json(
            'cyborg', '/deployables', 'deployables')
            if isinstance(dep, dict) and dep.get('rp_uuid')}

    def _device_providers(self, host, root):
        """``Provider`` of each of Cyborg's providers in the host's
        tree; a malformed one is skipped with a warning.
        """
        cyborg = self._cyborg_providers()
        found = []
        for rp in self._tree(root):
            if rp.get('uuid') == root or rp.get('uuid') not in cyborg:
                continue
            path = '/resource_providers/%s' % rp['uuid']
            # Unplugged between the listing and these reads: not there.
            inv = self._call('placement', 'GET', path + '/inventories',
                             ok=(200, 404), microversion=PLACEMENT_VERSION)
            traits = self._call('placement', 'GET', path + '/traits',
                                ok=(200, 404),
                                microversion=PLACEMENT_VERSION)
            if inv.status_code == 404 or traits.status_code == 404:
                continue
            try:
                found.append(parse_provider(
                    rp, _field(inv, 'inventories'), _field(traits,
                                                           'traits')))
            except Malformed as e:
                LOG.warning('Skipping provider %(rp)s of host %(host)s: '
                            '%(error)s', {'rp': rp.get('uuid'),
                                          'host': host, 'error': e})
        return found

    # -- process and cleanup ----------------------------------------------

    def process(self, context, hardware, availability_windows,
                state_details):
        host = hardware.name
        svc = self._zun_service(host)
        if not state_details.get(BOUND) and svc is not None:
            _check_registered_after(hardware, svc)
        bound = {BOUND: True} if svc is not None else {}
        try:
            root, providers = self._reported(host, svc)
        except _NotYet as e:
            return base.WorkerResult.Defer(payload=bound, reason=str(e))
        names, skipped = satisfiable(
            self._json('cyborg', '/device_profiles', 'device_profiles'),
            providers)
        for what, why in skipped:
            LOG.warning('Skipping device profile %(name)s for host '
                        '%(host)s: %(error)s',
                        {'name': what, 'host': host, 'error': why})
        self._record(context, hardware, names)
        return base.WorkerResult.Success({
            BOUND: True, 'host': host, 'compute_node': root,
            'device_providers': sorted(rp.uuid for rp in providers),
            PROPERTY: names,
            'skipped_profiles': sorted(what for what, _ in skipped)})

    def _reported(self, host, svc):
        if svc is None:
            raise _NotYet(
                'Zun has no %s of host %s yet: start zun-compute on the '
                'host with [DEFAULT] host = %s' % (ZUN_BINARY, host, host))
        if svc.get('state') != 'up':
            raise _NotYet('%s of host %s is %s in Zun (forced down: %s): '
                          'it must run and report' % (
                              ZUN_BINARY, host, svc.get('state'),
                              svc.get('forced_down')))
        root = self._root(host)
        if root is None:
            raise _NotYet('Placement has no resource provider %s yet: '
                          '%s of the host makes it at its first inventory'
                          % (host, ZUN_BINARY))
        providers = self._device_providers(host, root)
        if not providers:
            raise _NotYet(
                'Cyborg has reported no peripheral of host %s yet: its '
                'cyborg-agent (with [DEFAULT] host = %s) has not reported, '
                'or nothing is plugged' % (host, host))
        return root, providers

    def _record(self, context, hardware, names):
        """``names`` as the hardware's ``device_profiles``: only that
        property, on the hardware as it is now (an owner's change made
        meanwhile is kept).  A worker's write re-queues nothing.
        """
        try:
            current = objects.Hardware.get_by_uuid(context, hardware.uuid)
            if current.properties.get(PROPERTY) == names:
                return
            current.properties = dict(current.properties,
                                      **{PROPERTY: names})
            current.save()
        except exception.HardwareNotFound:
            # Deleted meanwhile: the API re-queued this task, whose
            # cleanup comes next.
            return
        except exception.HardwareChanged:
            # The owner changed it between the read and the write: the
            # API re-queued this task, whose next run records them.
            raise base.Unavailable('hardware %s changed while its device '
                                   'profiles were recorded'
                                   % hardware.uuid)
        LOG.info('Hardware %(hw)s (host %(host)s) serves device profiles '
                 '%(names)s', {'hw': hardware.uuid, 'host': hardware.name,
                               'names': ', '.join(names) or '(none)'})

    def cleanup(self, context, hardware, state_details):
        host = hardware.name
        if not state_details.get(BOUND):
            LOG.info('Hardware %(hw)s never claimed host %(host)s: its '
                     'registrations are left alone',
                     {'hw': hardware.uuid, 'host': host})
            return base.WorkerResult.Success()
        reaching = [t.worker_type for t in
                    objects.WorkerTask.list_for_hardware(context,
                                                         hardware.uuid)
                    if t.worker_type in CUT_OFF_BY and
                    t.state != objects.WorkerState.STEADY]
        if reaching:
            return base.WorkerResult.Defer(reason=(
                'host %s is deregistered once the %s worker has removed '
                'its channels' % (host, ', '.join(sorted(reaching)))))
        svc = self._zun_service(host)
        if svc is not None and not svc.get('forced_down'):
            # Nothing is scheduled there from now on.
            self._call('zun', 'PUT', '/services/force_down',
                       ok=(200, 404), microversion=ZUN_VERSION,
                       params={'host': host, 'binary': ZUN_BINARY,
                               'forced_down': 'True'})
            LOG.info('Forced %(binary)s of host %(host)s down',
                     {'binary': ZUN_BINARY, 'host': host})
        root = self._root(host)
        if root is not None:
            tree = self._tree(root)
            held = self._held(tree)
            if held:
                return base.WorkerResult.Defer(reason=(
                    'Placement still holds allocations of %d consumers '
                    'against host %s (%s): delete its containers '
                    '(openstack appcontainer delete); the host is '
                    'deregistered once none is left'
                    % (len(held), host, ', '.join(sorted(held)[:5]))))
            for uuid_ in _children_first(tree):
                self._call('placement', 'DELETE',
                           '/resource_providers/%s' % uuid_,
                           ok=(204, 404), microversion=PLACEMENT_VERSION)
            LOG.info('Deleted the %(count)d resource providers of host '
                     '%(host)s', {'count': len(tree), 'host': host})
        if svc is not None:
            self._call('zun', 'DELETE', '/services', ok=(200, 204, 404),
                       microversion=ZUN_VERSION,
                       params={'host': host, 'binary': ZUN_BINARY})
            LOG.info('Deleted the %(binary)s service record of host '
                     '%(host)s', {'binary': ZUN_BINARY, 'host': host})
        return base.WorkerResult.Success({
            BOUND: None, 'compute_node': None, 'device_providers': None})

    def _held(self, tree):
        """Consumers with allocations against the providers of ``tree``."""
        consumers = set()
        for rp in tree:
            if not isinstance(rp.get('uuid'), str):
                continue
            resp = self._call('placement', 'GET',
                              '/resource_providers/%s/allocations'
                              % rp.get('uuid'), ok=(200, 404),
                              microversion=PLACEMENT_VERSION)
            if resp.status_code == 200:
                allocations = _field(resp, 'allocations')
                if isinstance(allocations, dict):
                    consumers.update(str(c) for c in allocations)
        return consumers


def _check_registered_after(hardware, svc):
    """Raise ``WorkerError`` unless Zun's record ``svc`` of the host's
    zun-compute was made after ``hardware`` (see the module).
    """
    try:
        registered = timeutils.normalize_time(
            timeutils.parse_isotime(svc.get('created_at')))
    except (ValueError, TypeError, AttributeError):
        raise base.WorkerError(
            'cannot tell when Zun registered %s of host %s (created_at %s),'
            ' so it is not claimed; ask the operator to check Zun'
            % (ZUN_BINARY, hardware.name,
               exception.quote(svc.get('created_at'))))
    enrolled = timeutils.normalize_time(hardware.created_at)
    if registered < enrolled:
        raise base.WorkerError(
            'host %s is an existing compute host (Zun registered its %s '
            'at %s, before this hardware was enrolled): enrollment does '
            'not take over a host. Enroll the edge host under a new '
            'name, or ask an administrator to remove the old host\'s '
            'zun-compute service first'
            % (hardware.name, ZUN_BINARY, registered.isoformat()))


def _field(resp, key):
    try:
        return resp.json()[key]
    except (ValueError, KeyError, TypeError):
        raise base.Unavailable('Placement answered %s without "%s"'
                               % (resp.url, key))


def _children_first(tree):
    """Uuids of ``tree``'s providers, each after its descendants."""
    parent = {rp.get('uuid'): rp.get('parent_provider_uuid')
              for rp in tree if isinstance(rp.get('uuid'), str)}

    def depth(uuid_):
        seen, d = set(), 0
        while parent.get(uuid_) in parent and uuid_ not in seen:
            seen.add(uuid_)
            uuid_ = parent[uuid_]
            d += 1
        return d

    return sorted(parent, key=depth, reverse=True)
