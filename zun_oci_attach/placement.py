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
"""

from oslo_concurrency import lockutils
from oslo_log import log as logging
from zun.common import exception
from zun.scheduler.client import report


LOG = logging.getLogger(__name__)

#: ``resources=``, ``in_tree=``, ``required=`` with ``!`` forbidden traits.
_QUERY_VERSION = '1.22'

#: Resource classes of peripherals (see cyborg_peripherals.naming).
_RC_PREFIX = 'CUSTOM_PERIPHERAL_'


class NoFreeDevice(exception.ResourcesUnavailable):
    message = ('No free device on this host satisfies %(what)s. Delete '
               'containers that hold such a device, or create the '
               'container again so that it is scheduled elsewhere')


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

    def __init__(self, host, retries, reportclient=None):
        self._host = host
        self._retries = retries
        self._report = reportclient or report.SchedulerReportClient()
        self._tree = None

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
        tree = self._compute_node(context)
        # A profile asking for N devices gives N identical requests; one
        # query answers them all, as the chosen providers are skipped.
        found = {}
        chosen = []
        for request in requests:
            query = request.query(tree)
            if query not in found:
                found[query] = self._candidates(context, tree, query)
            taken = {rp for rp, _rc in chosen}
            free = [rp for rp in found[query] if rp not in taken]
            if not free:
                raise NoFreeDevice(what=str(request))
            chosen.append((free[0], request.resource_class))
        return chosen

    @lockutils.synchronized('zun-oci-attach-device-claims')
    def claim(self, context, container, requests):
        """Allocate one device provider per request to ``container``.

        Returns the provider uuids, in the order of ``requests``.
        """
        for attempt in range(1, self._retries + 1):
            chosen = self._choose(context, requests)
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
                       'consumer_generation':
                           current.get('consumer_generation'),
                       'project_id': container.project_id,
                       'user_id': container.user_id}
            try:
                if self._report.put_allocations(context, container.uuid,
                                                payload):
                    return [rp for rp, _rc in chosen]
            except (report.Retry, exception.AllocationUpdateFailed) as e:
                LOG.info('Placement conflict while claiming devices for '
                         'container %s (attempt %d): %s', container.uuid,
                         attempt, e)
        raise NoFreeDevice(what=', '.join(str(r) for r in requests))

    def release(self, context, container):
        """Drop every peripheral allocation of ``container``; idempotent."""
        for _attempt in range(self._retries):
            current = self._report.get_allocs_for_consumer(context,
                                                           container.uuid)
            allocations = {}
            for rp, alloc in current['allocations'].items():
                kept = {rc: n for rc, n in alloc['resources'].items()
                        if not rc.startswith(_RC_PREFIX)}
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
