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

"""Channels kept as Neutron ports: what each request does.

A channel is a spoke port of the caller's project on one of the channel
subnets, whose ``binding:profile.peers`` names its hub port; one hub
serves every channel of a project on a subnet.  The request bodies and
the representation are those of Chameleon's Tunelo, so that its
clients keep working; what Tunelo left open is closed here: policy is
enforced, the project comes from the token, a channel is created with
its peer in one port create, keys and endpoints are validated, and
another project's channel is "not found".
"""

import collections
import ipaddress
import uuid

from oslo_concurrency import lockutils
from oslo_log import log as logging

from edge_channels import channel
from edge_channels import exception
from edge_channels.api import neutron
from edge_channels.api import policy
from edge_channels.api import schema


LOG = logging.getLogger(__name__)

HUB_NAME = 'channel hub'
LOCK_PREFIX = 'edge-channels-'
#: Tries of a read-modify-write of a spoke's binding:profile.
UPDATE_TRIES = 3


def _is_uuid(value):
    try:
        return str(uuid.UUID(value)) == value.lower()
    except (TypeError, ValueError, AttributeError):
        return False


# -- the service -------------------------------------------------------------

class Channels:
    """The channel operations, on ``client`` (``neutron.Client``) with
    the options ``conf`` (``[api]``).
    """

    def __init__(self, conf, client):
        self.conf = conf
        self.client = client

    def _lock(self, subnet_id, project_id):
        """The lock of the hub of ``project_id`` on ``subnet_id``: between
        threads and, through a file in ``[oslo_concurrency] lock_path``,
        between the API's processes on this host.
        """
        return lockutils.lock('hub-%s-%s' % (subnet_id, project_id),
                              lock_file_prefix=LOCK_PREFIX, external=True,
                              lock_path=self.conf.oslo_concurrency.lock_path)

    # -- subnets and hosts --------------------------------------------------

    def channel_subnets(self):
        """The Neutron subnets of ``[api] channel_subnets``, in order."""
        names = self.conf.api.channel_subnets
        if not names:
            raise exception.NoChannelSubnet()
        found = []
        for ref in names:
            key = 'id' if _is_uuid(ref) else 'name'
            subnets = self.client.list_subnets(**{key: ref})
            if len(subnets) != 1:
                raise exception.ChannelSubnetMissing(
                    subnet=exception.quote(ref))
            found.append(subnets[0])
        return found

    def pick_subnet(self, wanted, address):
        subnets = self.channel_subnets()
        if wanted is not None:
            for subnet in subnets:
                if wanted in (subnet['id'], subnet['name']) or \
                        _same_cidr(wanted, subnet['cidr']):
                    return subnet
            raise exception.UnknownSubnet(
                subnet=exception.quote(wanted),
                allowed=', '.join('%s (%s)' % (s['name'] or s['id'],
                                               s['cidr'])
                                  for s in subnets),
                default=subnets[0]['cidr'])
        if address is not None:
            for subnet in subnets:
                if address in ipaddress.ip_network(subnet['cidr']):
                    return subnet
        return subnets[0]

    def pick_hub_host(self):
        """The hub host with the fewest hubs (the first on a tie)."""
        hosts = self.conf.api.hub_hosts
        if not hosts:
            raise exception.NoHubHost()
        counts = collections.Counter(
            port.get('binding:host_id') for port in self.client.list_ports(
                device_owner=channel.DEVICE_OWNER_HUB,
                fields=['id', 'binding:host_id']))
        return min(hosts, key=lambda host: counts[host])

    def _cidrs(self, ports):
        ids = sorted({ip['subnet_id'] for port in ports
                      for ip in port.get('fixed_ips') or []})
        if not ids:
            return {}
        return {s['id']: s['cidr']
                for s in self.client.list_subnets(id=ids,
                                                  fields=['id', 'cidr'])}

    # -- reading ------------------------------------------------------------

    def _spoke(self, context, uuid_, rule):
        """The spoke port ``uuid_`` if ``context`` may do ``rule`` on it;
        else ``ChannelNotFound``, as for a channel that does not exist,
        so that other projects' channels stay invisible.
        """
        port = self.client.get_port(uuid_) if _is_uuid(uuid_) else None
        if port is not None:
            try:
                owner = channel.parse_device_owner(port['device_owner'])
            except exception.InvalidDeviceOwner:
                owner = None
            if (owner is not None and owner.role == channel.ROLE_SPOKE and
                    policy.check(context, rule,
                                 {'project_id': port['project_id']})):
                return port
        raise exception.ChannelNotFound(uuid=exception.quote(uuid_))

    def _hubs_of(self, spokes):
        ids = sorted({peer for spoke in spokes
                      for peer in _peers(spoke)})
        if not ids:
            return {}
        return {hub['id']: hub for hub in self.client.list_ports(
            id=ids, device_owner=channel.DEVICE_OWNER_HUB)}

    def _represent(self, spokes):
        hubs = self._hubs_of(spokes)
        cidrs = self._cidrs(hubs.values())
        return [schema.channel_repr(spoke,
                                    [hubs[p] for p in _peers(spoke)
                                     if p in hubs], cidrs)
                for spoke in spokes]

    def get(self, context, uuid_):
        spoke = self._spoke(context, uuid_, 'channel:get')
        return self._represent([spoke])[0]

    def list(self, context, all_projects=False):
        filters = {'device_owner': channel.DEVICE_OWNER_SPOKE}
        if all_projects:
            policy.authorize(context, 'channel:list:all_projects',
                             {'project_id': context.project_id})
        else:
            policy.authorize(context, 'channel:list',
                             {'project_id': context.project_id})
            filters['project_id'] = context.project_id
        spokes = self.client.list_ports(**filters)
        return self._represent(spokes)

    # -- creating -----------------------------------------------------------

    def create(self, context, body):
        fields = schema.parse_create(body)
        project_id = fields['project_id'] or context.project_id
        policy.authorize(context, 'channel:create',
                         {'project_id': context.project_id})
        if project_id != context.project_id:
            policy.authorize(context, 'channel:create:project_id',
                             {'project_id': project_id})
        address = fields['channel_address']
        subnet = self.pick_subnet(fields['subnet'], address)
        if address is not None and \
                address not in ipaddress.ip_network(subnet['cidr']):
            raise exception.AddressOutsideSubnet(
                address=address, cidr=subnet['cidr'])
        if not self.conf.api.hub_hosts:
            raise exception.NoHubHost()
        with self._lock(subnet['id'], project_id):
            hub, hub_is_new = self._hub(subnet, project_id)
            try:
                spoke = self._create_spoke(fields, subnet, project_id, hub)
            except BaseException:
                if hub_is_new:
                    self._remove_new_hub(hub)
                raise
        LOG.info('Created channel %(uuid)s of project %(project)s on '
                 'subnet %(subnet)s with hub %(hub)s',
                 {'uuid': spoke['id'], 'project': project_id,
                  'subnet': subnet['id'], 'hub': hub['id']})
        return schema.channel_repr(spoke, [hub],
                                   {subnet['id']: subnet['cidr']})

    def _hub(self, subnet, project_id):
        """The hub of ``project_id`` on ``subnet``, made if missing; and
        whether it was made now.  Called with the lock held.
        """
        hubs = self.client.list_ports(
            device_owner=channel.DEVICE_OWNER_HUB, project_id=project_id,
            fixed_ips='subnet_id=%s' % subnet['id'])
        if hubs:
            return sorted(hubs, key=lambda h: h['id'])[0], False
        hub = self.client.create_port({
            'name': HUB_NAME,
            'project_id': project_id,
            'network_id': subnet['network_id'],
            'fixed_ips': [{'subnet_id': subnet['id']}],
            'device_owner': channel.DEVICE_OWNER_HUB,
            'binding:host_id': self.pick_hub_host(),
            # Written by the hub agent once its interface exists.
            'binding:profile': {},
        })
        LOG.info('Created hub %(hub)s of project %(project)s on subnet '
                 '%(subnet)s, host %(host)s',
                 {'hub': hub['id'], 'project': project_id,
                  'subnet': subnet['id'], 'host': hub['binding:host_id']})
        return hub, True

    def _remove_new_hub(self, hub):
        """Delete the hub made for a channel whose spoke failed; a
        failure here is logged, not raised: the caller's error is the
        one that tells what went wrong.
        """
        LOG.info('Deleting hub %(hub)s made for a channel that could not '
                 'be created', {'hub': hub['id']})
        try:
            self.client.delete_port(hub['id'])
        except exception.EdgeChannelsException as e:
            LOG.error('Hub %(hub)s made for a failed channel is left '
                      'without channels: %(error)s; the next channel of '
                      'its project on this subnet uses it, or delete the '
                      'port in Neutron', {'hub': hub['id'],
                                          'error': e.message})

    def _create_spoke(self, fields, subnet, project_id, hub):
        fixed_ip = {'subnet_id': subnet['id']}
        address = fields['channel_address']
        if address is not None:
            fixed_ip['ip_address'] = str(address)
        profile = dict(fields['properties'],
                       **{channel.PROFILE_PEERS: [hub['id']]})
        port = {'project_id': project_id,
                'network_id': subnet['network_id'],
                'fixed_ips': [fixed_ip],
                'device_owner': channel.DEVICE_OWNER_SPOKE,
                'binding:profile': channel.validate_profile(
                    channel.ROLE_SPOKE, profile)}
        if fields['name'] is not None:
            port['name'] = fields['name']
        if fields['host'] is not None:
            # The edge host it serves (edge_bridge's tenant channel).
            port['device_id'] = fields['host']
        try:
            return self.client.create_port(port)
        except neutron.NotFound:
            raise exception.ChannelSubnetMissing(
                subnet=exception.quote(subnet['id']))
        except neutron.Refused as e:
            if e.kind == 'IpAddressAlreadyAllocated':
                raise exception.AddressInUse(address=address,
                                             subnet=subnet['cidr'])
            if e.kind == 'IpAddressGenerationFailure':
                raise exception.SubnetFull(subnet=subnet['cidr'])
            if e.status == 400 and address is not None:
                raise exception.Invalid(
                    reason='Neutron refused channel_address %s: %s'
                           % (address, e.message))
            raise exception.NeutronError(action='creating the channel',
                                         status=e.status, reason=e.kind)

    # -- changing -----------------------------------------------------------

    def update(self, context, uuid_, body):
        fields = schema.parse_update(body)
        for attempt in range(UPDATE_TRIES):
            spoke = self._spoke(context, uuid_, 'channel:update')
            changes = {}
            if fields['name'] is not None:
                changes['name'] = fields['name']
            if fields['properties']:
                profile = dict(spoke.get('binding:profile') or {})
                for key, value in fields['properties'].items():
                    if value is None:
                        profile.pop(key, None)
                    else:
                        profile[key] = value
                # The peers stay: a channel never loses its hub.
                changes['binding:profile'] = channel.validate_profile(
                    channel.ROLE_SPOKE, profile)
            try:
                spoke = self.client.update_port(
                    spoke['id'], changes, revision=spoke['revision_number'])
                break
            except neutron.NotFound:
                raise exception.ChannelNotFound(uuid=exception.quote(uuid_))
            except neutron.PreconditionFailed:
                LOG.debug('Channel %(uuid)s changed meanwhile (try %(n)d)',
                          {'uuid': uuid_, 'n': attempt + 1})
        else:
            raise exception.ChannelChanged(uuid=uuid_)
        return self._represent([spoke])[0]

    # -- deleting -----------------------------------------------------------

    def delete(self, context, uuid_):
        spoke = self._spoke(context, uuid_, 'channel:delete')
        project_id = spoke['project_id']
        fixed = spoke.get('fixed_ips') or [{'subnet_id': 'none'}]
        subnet_id = fixed[0]['subnet_id']
        with self._lock(subnet_id, project_id):
            if not self.client.delete_port(spoke['id']):
                raise exception.ChannelNotFound(uuid=exception.quote(uuid_))
            peers = set(_peers(spoke))
            if not peers:
                return
            left = self.client.list_ports(
                device_owner=channel.DEVICE_OWNER_SPOKE,
                project_id=project_id)
            used = {peer for other in left for peer in _peers(other)}
            for hub_id in sorted(peers - used):
                if self.client.delete_port(hub_id):
                    LOG.info('Deleted hub %(hub)s: its last channel '
                             '%(uuid)s is gone',
                             {'hub': hub_id, 'uuid': spoke['id']})


def _peers(port):
    peers = (port.get('binding:profile') or {}).get(channel.PROFILE_PEERS)
    return peers if isinstance(peers, list) else []


def _same_cidr(wanted, cidr):
    try:
        return ipaddress.ip_network(wanted, strict=False) == \
            ipaddress.ip_network(cidr)
    except ValueError:
        return False
