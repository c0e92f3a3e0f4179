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

"""``tunelo``: the edge host's channels, made through the channel API.

For each role in ``properties.channels`` (``control``, ``tenant``) a
channel named ``<hardware name>-<role>`` -- the name the Edge SDK on the
host looks for (``edge_sdk.sync.Settings.api_name``) -- owned by the
hardware's project, for host ``<hardware name>``, with the host's public
key.  The engine's service user makes it (the channel API lets the
``service`` role act for another project), so the owner needs no rights
on channels beyond their own project's.

Every step finds before it makes: a run cut short (a restart, the API
down) and run again adopts the channels it made instead of making
others.
"""

from oslo_log import log as logging

from edge_enroll.conf import channel as conf_channel
from edge_enroll.worker import base


LOG = logging.getLogger(__name__)
SERVICE = 'channel API'


def channel_name(hardware_name, role):
    """The channel API name of ``role``'s channel of a host (as the
    Edge SDK names it).
    """
    return '%s-%s' % (hardware_name, role)


def _summary(channel):
    props = channel.get('properties') or {}
    return {'uuid': channel['uuid'], 'name': channel.get('name'),
            'ip': props.get('ip'),
            'peers': [peer.get('properties') or {}
                      for peer in channel.get('peers') or []]}


class TuneloWorker(base.BaseWorker):
    worker_type = 'tunelo'
    conf_module = conf_channel

    @property
    def adapter(self):
        return self.service(conf_channel.GROUP)

    def _call(self, method, path, ok=(200,), **kwargs):
        return base.call(self.adapter, SERVICE, method, path, ok=ok,
                         **kwargs)

    def _found(self, hardware):
        """The project's channels, by name (the one with the lowest
        UUID when names repeat).
        """
        channels = self._call('GET', '/channels',
                              params={'all_projects': 1}).json()['channels']
        found = {}
        for channel in sorted(channels, key=lambda c: c['uuid']):
            if channel.get('project_id') == hardware.project_id:
                found.setdefault(channel.get('name'), channel)
        return found

    def process(self, context, hardware, availability_windows,
                state_details):
        wanted = (hardware.properties or {}).get('channels') or {}
        found = self._found(hardware)
        channels = {}
        for role in sorted(wanted):
            name = channel_name(hardware.name, role)
            channels[role] = _summary(self._ensure(
                hardware, role, name, wanted[role], found.get(name)))
        kept = {c['uuid'] for c in channels.values()}
        for role, old in sorted((state_details.get('channels') or
                                 {}).items()):
            if old.get('uuid') not in kept:
                self._delete(hardware, role, old['uuid'])
        return base.WorkerResult.Success({'channels': channels})

    def _ensure(self, hardware, role, name, spec, channel):
        key = spec['public_key']
        if channel is None:
            body = {'name': name, 'project_id': hardware.project_id,
                    'host': hardware.name,
                    'channel_type': spec.get('channel_type', 'wireguard'),
                    'properties': {'public_key': key}}
            subnet = self.conf.channel.channel_subnets.get(role)
            if subnet:
                body['subnet'] = subnet
            channel = self._call('POST', '/channels', ok=(201,),
                                 json=body).json()
            LOG.info('Created channel %(uuid)s (%(name)s) of hardware '
                     '%(hw)s in project %(project)s',
                     {'uuid': channel['uuid'], 'name': name,
                      'hw': hardware.uuid, 'project': hardware.project_id})
        elif (channel.get('properties') or {}).get('public_key') != key:
            channel = self._call('PATCH', '/channels/%s' % channel['uuid'],
                                 json={'properties': {'public_key': key}}
                                 ).json()
            LOG.info('Updated the public key of channel %(uuid)s of '
                     'hardware %(hw)s',
                     {'uuid': channel['uuid'], 'hw': hardware.uuid})
        return channel

    def _delete(self, hardware, role, channel_uuid):
        self._call('DELETE', '/channels/%s' % channel_uuid,
                   ok=(202, 204, 404))
        LOG.info('Deleted channel %(uuid)s (%(role)s) of hardware %(hw)s',
                 {'uuid': channel_uuid, 'role': role, 'hw': hardware.uuid})

    def cleanup(self, context, hardware, state_details):
        found = self._found(hardware)
        recorded = {role: c['uuid'] for role, c in
                    (state_details.get('channels') or {}).items()}
        for role in sorted(set(recorded) |
                           set((hardware.properties or {}).get('channels')
                               or {})):
            # By name only when none was recorded (a run cut short): a
            # later host of the same name keeps its own.
            channel = found.get(channel_name(hardware.name, role))
            uuid_ = recorded.get(role) or (channel and channel['uuid'])
            if uuid_:
                self._delete(hardware, role, uuid_)
        return base.WorkerResult.Success({'channels': None})
