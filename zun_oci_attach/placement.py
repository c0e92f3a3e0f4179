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

"""Claiming peripheral resource providers in Placement for a container.

Cyborg reports each peripheral as a resource provider nested under the
compute node, with a total of one unit of a ``CUSTOM_PERIPHERAL_<CLASS>``
resource class.  Stock Zun schedules without device profiles, so nothing
has allocated that unit when the container lands here.  The device is
therefore claimed in Placement, as an allocation of the container, before
Cyborg binds it: Placement checks capacity atomically, so two containers
can never hold one device even when zun-compute is restarted or two
greenthreads race, and the device stops being offered meanwhile.

No lock is held across a call to Placement, so a hung Placement holds
only the creates waiting for it.  Providers being claimed by a create of
this host are skipped by the others (claimed twice, one would get a
conflict and retry), as are providers whose Cyborg attach handle is still
held by a container Zun deleted (see ``arq.Lifecycle.reap``).
"""

import random
import threading
import time

from keystoneauth1 import exceptions as ks_exc
from oslo_log import log as logging
from zun.common import exception
from zun.scheduler.client import report


LOG = logging.getLogger(__name__)

#: ``resources=``, ``in_tree=``, ``required=`` with ``!`` forbidden traits.
_QUERY_VERSION = '1.22'

#: Resource classes of peripherals (see cyborg_peripherals.naming).
RC_PREFIX = 'CUSTOM_PERIPHERAL_'


class NoFreeDevice(exception.ResourcesUnavailable):
    message = ('No free device on this host satisfies %(what)s. Delete '
               'containers that hold such a device, or create the '
               'container again so that it is scheduled elsewhere')


class ClaimFailed(exception.ZunException):
    message = ('Placement could not record the claim of the devices '
               '(%(error)s). Create the container again; if this repeats, '
               'ask the operator to check the Placement service')


def _pause(attempt):
    # Creates that collided once would collide again in lockstep.
    time.sleep(random.uniform(0, 0.1 * attempt))  # noqa: S311


class DeviceRequest:
    """One unit of one resource class, with traits, for one ARQ."""

    def __init__(self, profile, resource_class, required=(), forbidden=()):
        self.profile = profile
        self.resource_class = resource_class
        self.required = tuple(sorted(required))
        self.forbidden = tuple(sorted(forbidden))

    def query(self, tree):
        url = '/resource_providers?in_tree=%s&resources=%s:1' % (
            tree, self.resource_class)
        traits = list(self.required) + ['!' + t for t in self.forbidden]
        if traits:
            url += '&required=' + ','.join(traits)
        return url

    def __str__(self):
        return 'device profile %s (%s%s)' % (
            self.profile, self.resource_class,
            ''.join(', ' + t for t in self.required))


class DeviceClaims:
    """Chooses free device providers and claims them for a container."""

    def __init__(self, host, retries, reportclient=None, timeout=None):
        self._host = host
        self._retries = retries
        if reportclient is None:
            reportclient = report.SchedulerReportClient()
            # Zun's report client takes the session of [keystone_auth],
            # which waits for ever by default; this client and its
            # session serve the device claims alone.
            reportclient._client.session.timeout = timeout
        self._report = reportclient
        self._tree = None
        self._lock = threading.Lock()
        self._claiming = {}     # provider -> creates claiming it now
        self._held = {}         # consumer -> providers Cyborg still binds
        self._finished = {}     # provider -> claims finished when claimed
        self._claims_done = 0   # claims finished so far

    def hold(self, consumer, providers):
        """Offer ``providers`` of ``consumer`` to no other container.

        Until :meth:`unhold` of ``consumer``: Cyborg still binds them to
        it, whatever Placement says.
        """
        with self._lock:
            self._held.setdefault(consumer, set()).update(providers)

    def unhold(self, consumer):
        with self._lock:
            self._held.pop(consumer, None)

    def held(self):
        """The consumers whose providers are held back now."""
        with self._lock:
            return set(self._held)

    def providers(self, context, consumer):
        """The peripheral providers ``consumer`` has allocations on."""
        current = self._report.get_allocs_for_consumer(context, consumer)
        return {rp for rp, alloc in current['allocations'].items()
                if any(rc.startswith(RC_PREFIX)
                       for rc in alloc['resources'])}

    def _candidates(self, context, tree, query):
        resp = self._report.get(query,
                                version=_QUERY_VERSION,
                                global_request_id=context.global_id)
        if resp.status_code != 200:
            raise exception.PlacementAPIConnectFailure()
        return sorted(rp['uuid'] for rp in
                      resp.json()['resource_providers'] if rp['uuid'] != tree)

    def _compute_node(self, context):
        # The provider of this compute node keeps its uuid for the life
        # of zun-compute (Zun's compute node tracker keeps it the same
        # way), so it is looked up once, not at every claim.
        if self._tree is None:
            self._tree = self._report.get_provider_by_name(
                context, self._host)['uuid']
        return self._tree

    def _choose(self, context, requests):
        """Pick and reserve providers; the caller must :meth:`_unreserve`."""
        tree = self._compute_node(context)
        with self._lock:
            started = self._claims_done
        # A profile asking for N devices gives N identical requests; one
        # query answers them all, as the chosen providers are skipped.
        found = {}
        for request in requests:
            query = request.query(tree)
            if query not in found:
                found[query] = self._candidates(context, tree, query)
        with self._lock:
            # Claimed by another create of this host meanwhile, or being
            # claimed now: Placement may not show it yet.
            busy = set(self._claiming).union(*self._held.values()) | {
                rp for rp, done in self._finished.items() if done > started}
            chosen = []
            for request in requests:
                taken = busy | {rp for rp, _rc in chosen}
                free = [rp for rp in found[request.query(tree)]
                        if rp not in taken]
                if not free:
                    raise NoFreeDevice(what=str(request))
                chosen.append((free[0], request.resource_class))
            for rp, _rc in chosen:
                self._claiming[rp] = self._claiming.get(rp, 0) + 1
        return chosen

    def _unreserve(self, chosen, claimed):
        with self._lock:
            self._claims_done += 1
            for rp, _rc in chosen:
                self._claiming[rp] -= 1
                if not self._claiming[rp]:
                    del self._claiming[rp]
                if claimed:
                    self._finished[rp] = self._claims_done

    def claim(self, context, container, requests):
        """Allocate one device provider per request to ``container``.

        Returns the provider uuids, in the order of ``requests``.
        """
        failure = None
        for attempt in range(1, self._retries + 1):
            if attempt > 1:
                _pause(attempt)
            chosen = self._choose(context, requests)
            claimed = False
            try:
                claimed = self._put(context, container, chosen, attempt)
                failure = None
            except ks_exc.HttpError as e:
                # A server error leaves nothing written (the allocations
                # of a consumer change in one transaction); a busy
                # Placement database answers so under concurrent claims.
                if (e.http_status or 0) < 500:
                    raise ClaimFailed(error=e) from e
                LOG.warning('Placement failed while claiming devices for '
                            'container %(uuid)s (attempt %(attempt)d): '
                            '%(error)s', {'uuid': container.uuid,
                                          'attempt': attempt, 'error': e})
                failure = e
            finally:
                self._unreserve(chosen, claimed)
            if claimed:
                return [rp for rp, _rc in chosen]
        if failure is not None:
            raise ClaimFailed(error=failure) from failure
        raise NoFreeDevice(what=', '.join(str(r) for r in requests))

    def _put(self, context, container, chosen, attempt):
        current = self._report.get_allocs_for_consumer(context,
                                                       container.uuid)
        allocations = {
            rp: {'resources': dict(alloc['resources'])}
            for rp, alloc in current['allocations'].items()}
        for rp, rc in chosen:
            resources = allocations.setdefault(
                rp, {'resources': {}})['resources']
            resources[rc] = resources.get(rc, 0) + 1
        payload = {'allocations': allocations,
                   'consumer_generation': current.get('consumer_generation'),
                   'project_id': container.project_id,
                   'user_id': container.user_id}
        try:
            return bool(self._report.put_allocations(
                context, container.uuid, payload))
        except (report.Retry, exception.AllocationUpdateFailed,
                ks_exc.Conflict) as e:
            # Conflict: another compute host claimed a chosen device first
            # (Zun's Placement adapter raises on error statuses); the next
            # attempt chooses among the devices still free.
            LOG.info('Placement conflict while claiming devices for '
                     'container %s (attempt %d): %s', container.uuid,
                     attempt, e)
            return False

    def release(self, context, container):
        """Drop every peripheral allocation of ``container``; idempotent."""
        for _attempt in range(self._retries):
            current = self._report.get_allocs_for_consumer(context,
                                                           container.uuid)
            allocations = {}
            for rp, alloc in current['allocations'].items():
                kept = {rc: n for rc, n in alloc['resources'].items()
                        if not rc.startswith(RC_PREFIX)}
                if kept:
                    allocations[rp] = {'resources': kept}
            if allocations == {rp: {'resources': a['resources']} for rp, a
                               in current['allocations'].items()}:
                return
            if not allocations:
                resp = self._report.delete(
                    '/allocations/%s' % container.uuid,
                    global_request_id=context.global_id)
                if resp.status_code in (204, 404):
                    return
                continue
            payload = {'allocations': allocations,
                       'consumer_generation':
                           current.get('consumer_generation'),
                       'project_id': current.get('project_id',
                                                 container.project_id),
                       'user_id': current.get('user_id',
                                              container.user_id)}
            try:
                if self._report.put_allocations(context, container.uuid,
                                                payload):
                    return
            except (report.Retry, exception.AllocationUpdateFailed) as e:
                LOG.info('Placement conflict while releasing the devices of '
                         'container %s: %s', container.uuid, e)
        raise exception.AllocationUpdateFailed(
            consumer_uuid=container.uuid,
            error='the device allocations could not be removed')
