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

"""The device enrolled through the enrollment service (service type
``inventory``, Doni's v1 API), and the credential it gets from there.

``register`` enrolls this device once with its owner's credentials: it
sends the public keys of its channels in a hardware item of type
``device`` named after the device, waits until the service's
``tunelo`` worker has made the channels and its ``credentials`` worker
an application credential, and keeps that credential (whose secret the
service shows only once) in ``STATE_DIR/credential.json``, mode 0600.

Afterwards ``EnrolledChannels`` finds the channels through the
hardware item (the ``tunelo`` worker's state names their UUIDs) and
changes a key by changing the item's ``channels`` property: the worker
owns the channels, the device never creates, renames or deletes one,
and the item always says which keys the device has.  Each of these
calls is one that the application credential's access rules allow.

Every answer is checked before it is used: a UUID before it goes into a
URL, a secret before it is written.
"""

import datetime
import json
import os
import re
import time
import uuid as uuid_mod
from urllib import parse

from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3
from oslo_log import log as logging

from edge_sdk import client as client_mod
from edge_sdk import keys
from edge_sdk import wireguard


LOG = logging.getLogger(__name__)
SERVICE_TYPE = 'inventory'
HARDWARE_TYPE = 'device'
#: The channels a ``device`` can declare (its schema's).
ROLES = ('control', 'tenant')
#: The workers ``register`` waits for; others (``compute``) wait for
#: the host's services, which need the channels first.
WORKERS = ('tunelo', 'credentials')
STEADY, ERROR = 'STEADY', 'ERROR'
CREDENTIAL_FILE = 'credential.json'
SECRET = 'application_credential_secret'
#: How the service shows a secret it has shown once already.
MASK = '******'
#: A hardware name is a host name label (the service's rule).
_HOST_NAME = re.compile(r'[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?')
_CREDENTIAL_ID = re.compile(r'[A-Za-z0-9_-]{1,64}')
#: Keystone's secrets are URL-safe base64; refuse anything that could
#: carry a control character or a newline into a file or a header.
_SECRET = re.compile(r'[\x21-\x7e]{1,512}')

_HINTS = dict(client_mod._HINTS)
_HINTS.update({
    401: 'check the credentials; the stored application credential '
         'may have been rotated or revoked: run "edge-sdk register" '
         "again with the owner's credentials",
    403: "the credentials may not do this: register with the device "
         "owner's credentials (a member of the project)",
    404: 'the hardware item is gone (deleted?) or belongs to another '
         'project: run "edge-sdk register" again with the owner\'s '
         'credentials',
    409: 'the device name is taken, perhaps by hardware of another '
         'project: set [edge_sdk] device_name to another name',
})


class EnrollmentAPIError(client_mod.ChannelAPIError):
    """A call to the enrollment service failed (``status``: HTTP)."""


class EnrollmentError(Exception):
    """The enrollment cannot go on as things are; the message says why
    and what to do.
    """


class HardwareClient(client_mod.APIClient):
    """Doni's ``/v1/hardware/`` as the device (or its owner) uses it."""

    service_name = 'enrollment API'
    catalog_hint = ('"inventory") for this region and interface: check '
                    'OS_REGION_NAME and OS_INTERFACE, or ask the operator '
                    'to register edge-enroll-api')
    hints = _HINTS
    error = EnrollmentAPIError

    def get(self, ident):
        """Hardware ``ident`` (a UUID; a name with the owner's
        credentials), or None if the service does not know it.
        """
        try:
            return check_hardware(self._request(
                'GET', '/v1/hardware/%s/' % _ident(ident)))
        except EnrollmentAPIError as e:
            if e.status == 404:
                return None
            raise

    def create(self, body):
        return check_hardware(self._request('POST', '/v1/hardware/', body))

    def patch(self, hardware_uuid, operations):
        return check_hardware(self._request(
            'PATCH', '/v1/hardware/%s/' % _uuid(hardware_uuid), operations))

    def sync(self, hardware_uuid):
        self._request('POST', '/v1/hardware/%s/sync' % _uuid(hardware_uuid))


def _uuid(value, what='hardware UUID'):
    try:
        return str(uuid_mod.UUID(str(value)))
    except ValueError:
        raise EnrollmentAPIError('the enrollment API gave %r as a %s, '
                                 'which is no UUID' % (value, what))


def _ident(value):
    if isinstance(value, str) and _HOST_NAME.fullmatch(value):
        return value
    return _uuid(value)


# -- answers of the service, checked ------------------------------------------

def check_hardware(hw):
    """``hw`` if it looks like a hardware item: a UUID, a name, dict
    properties and a list of workers.
    """
    if not isinstance(hw, dict):
        raise EnrollmentAPIError('the enrollment API answered %s instead '
                                 'of a hardware item' % type(hw).__name__)
    _uuid(hw.get('uuid'))
    if not isinstance(hw.get('name'), str) or \
            not isinstance(hw.get('properties'), dict) or \
            not isinstance(hw.get('workers', []), list):
        raise EnrollmentAPIError('the enrollment API answered a hardware '
                                 'item without a name, properties or '
                                 'workers list')
    return hw


def workers(hw):
    """``{worker_type: (state, state_details)}`` of a hardware item;
    malformed entries are left out.
    """
    found = {}
    for worker in hw.get('workers') or ():
        if not isinstance(worker, dict):
            continue
        kind, state = worker.get('worker_type'), worker.get('state')
        details = worker.get('state_details')
        if isinstance(kind, str) and isinstance(state, str):
            found[kind] = (state, details if isinstance(details, dict)
                           else {})
    return found


def declared_keys(hw):
    """``{role: public key}`` of the item's ``channels`` property."""
    channels = hw['properties'].get('channels')
    if not isinstance(channels, dict):
        return {}
    return {role: spec.get('public_key') for role, spec in channels.items()
            if isinstance(spec, dict)}


def channel_ids(hw):
    """``{role: channel UUID}`` the ``tunelo`` worker recorded."""
    _state, details = workers(hw).get('tunelo', (None, {}))
    channels = details.get('channels')
    found = {}
    for role, summary in (channels.items() if isinstance(channels, dict)
                          else ()):
        if isinstance(summary, dict) and summary.get('uuid'):
            found[role] = _uuid(summary['uuid'], 'channel UUID')
    return found


def _reason(state, details):
    """What a task's state and details say about why it is not done."""
    for key in ('last_error', 'defer_reason'):
        if isinstance(details.get(key), str) and details[key]:
            return '%s (%s: %s)' % (state, 'error' if key == 'last_error'
                                    else 'deferred', details[key][:500])
    return state


# -- the stored credential ----------------------------------------------------

def credential_path(state_dir):
    return os.path.join(state_dir, CREDENTIAL_FILE)


def check_record(record):
    """``record`` if it is a credential record ``register`` writes."""
    if not isinstance(record, dict):
        raise ValueError('not a JSON object')
    try:
        uuid_mod.UUID(str(record.get('hardware_uuid')))
    except ValueError:
        raise ValueError('no hardware UUID')
    if not isinstance(record.get('hardware_name'), str) or \
            not _HOST_NAME.fullmatch(record['hardware_name']):
        raise ValueError('no hardware name')
    if not isinstance(record.get('application_credential_id'), str) or \
            not _CREDENTIAL_ID.fullmatch(
                record['application_credential_id']):
        raise ValueError('no application credential ID')
    if not isinstance(record.get(SECRET), str) or \
            not _SECRET.fullmatch(record[SECRET]) or record[SECRET] == MASK:
        raise ValueError('no application credential secret')
    check_auth_url(record.get('auth_url'))
    for key in ('region_name', 'interface', 'project_id'):
        if record.get(key) is not None and \
                not isinstance(record[key], str):
            raise ValueError('%s is not text' % key)
    return record


def check_auth_url(url):
    if not isinstance(url, str) or len(url) > 1024:
        raise ValueError('no Keystone URL')
    parts = parse.urlsplit(url)
    if parts.scheme not in ('http', 'https') or not parts.netloc or \
            any(c.isspace() for c in url):
        raise ValueError('the Keystone URL %r is not an http(s) URL'
                         % url[:100])
    return url


def read_credential(state_dir):
    """The record ``register`` stored in ``state_dir``, or None when
    there is none (the directory is never made here).
    """
    path = credential_path(state_dir)
    if not os.path.lexists(path):
        return None
    text = keys.read_secret(
        path, limit=16384,
        remedy='rotate the credential ("edge-sdk register '
               '--rotate-credential") if others may have read it')
    try:
        return check_record(json.loads(text))
    except ValueError as e:
        raise keys.KeyFileError(
            '%s holds no edge-sdk credential (%s): remove it and run '
            '"edge-sdk register" again' % (path, e))


def write_credential(state_dir, record):
    keys.ensure_state_dir(state_dir)
    keys.write_secret(credential_path(state_dir), json.dumps(
        check_record(record), indent=2, sort_keys=True) + '\n')


def credential_session(record):
    """A keystoneauth Session of the stored application credential."""
    return ks_session.Session(auth=v3.ApplicationCredential(
        auth_url=record['auth_url'],
        application_credential_id=record['application_credential_id'],
        application_credential_secret=record[SECRET]))


# -- register -----------------------------------------------------------------

def check_registrable(settings):
    """Refuse settings a ``device`` item cannot hold, before anything."""
    if not _HOST_NAME.fullmatch(settings.device_name):
        raise ValueError(
            'device name %r cannot be enrolled: the enrollment service '
            'wants a host name (1 to 63 letters, digits and "-", not '
            'starting or ending with "-"); set [edge_sdk] device_name'
            % settings.device_name)
    other = [n for n in settings.channels if n not in ROLES]
    if other:
        raise ValueError(
            'channels %s cannot be enrolled: an enrolled device has the '
            'channels %s only; change [edge_sdk] channels'
            % (', '.join(other), ' and '.join(ROLES)))


def _channels_property(public_keys):
    return {role: {'channel_type': client_mod.CHANNEL_TYPE,
                   'public_key': key} for role, key in public_keys.items()}


def key_operations(hw, public_keys):
    """JSON-Patch operations that make the item's ``channels`` property
    hold ``public_keys`` (``{role: key}``); [] when it does.
    """
    channels = hw['properties'].get('channels')
    if not isinstance(channels, dict):
        return [{'op': 'add', 'path': '/properties/channels',
                 'value': _channels_property(public_keys)}]
    declared = declared_keys(hw)
    return [{'op': 'add', 'path': '/properties/channels/%s' % role,
             'value': _channels_property({role: key})[role]}
            for role, key in sorted(public_keys.items())
            if declared.get(role) != key]


class Registration:
    """One ``register`` run: ``hardware``, a ``HardwareClient`` with the
    owner's credentials; ``auth_url``, ``region_name``, ``interface``:
    how this device reached Keystone (stored for later runs: the
    service's own Keystone URL may be one the device cannot reach).
    ``progress(text)`` hears each step.
    """

    def __init__(self, settings, hardware, auth_url=None, region_name=None,
                 interface=None, progress=None, interval=0.5):
        check_registrable(settings)
        self.settings = settings
        self.hardware = hardware
        self.auth_url = auth_url
        self.region_name = region_name
        self.interface = interface
        self.progress = progress or (lambda text: None)
        self.interval = interval
        self.stored = None
        #: The record written, once a secret was seen.
        self.record = None

    def run(self, machine_name, contact_email, wait=120.0, rotate=False,
            take_over=False):
        """Enroll (or adopt) the device, wait for its channels and
        credential, store the credential; returns the hardware item.
        """
        state_dir = self.settings.state_dir
        keys.ensure_state_dir(state_dir)
        public_keys = {name: keys.ensure_key(state_dir, name)[1]
                       for name in self.settings.channels}
        self.stored = read_credential(state_dir)
        name = self.settings.device_name
        hw = self.hardware.get(name)
        if hw is None:
            self.progress('enrolling %s' % name)
            hw = self._seen(self.hardware.create({
                'name': name, 'hardware_type': HARDWARE_TYPE,
                'properties': {
                    'machine_name': machine_name,
                    'contact_email': contact_email,
                    'channels': _channels_property(public_keys)}}))
        else:
            hw = self._adopt(hw, public_keys, take_over)
        old_credential = None
        if rotate:
            old_credential = workers(hw).get('credentials', (None, {}))[
                1].get('application_credential_id')
            self.progress('asking for a new application credential')
            hw = self._seen(self.hardware.patch(hw['uuid'], [{
                'op': 'add', 'path': '/properties/rotate_credential',
                'value': datetime.datetime.now(datetime.timezone.utc)
                .strftime('%Y-%m-%dT%H:%M:%S.%fZ')}]))
        hw = self._wait(hw, wait, old_credential)
        self._store(hw)
        return hw

    def _adopt(self, hw, public_keys, take_over):
        if hw.get('hardware_type') != HARDWARE_TYPE:
            raise EnrollmentError(
                'hardware %s (%s) exists and is of type %r, not %r: set '
                '[edge_sdk] device_name to another name'
                % (hw['name'], hw['uuid'], hw.get('hardware_type'),
                   HARDWARE_TYPE))
        ours = (self.stored is not None and
                self.stored['hardware_uuid'] == hw['uuid'])
        declared = declared_keys(hw)
        # Keys this device holds: a run cut short after the create.
        same_keys = any(declared.get(role) == key
                        for role, key in public_keys.items())
        operations = key_operations(hw, public_keys)
        if operations and not (ours or same_keys or take_over):
            raise EnrollmentError(
                'hardware %s (%s) exists with other channel keys than this '
                "device's: it is another device's, or this device lost "
                'its state directory; set [edge_sdk] device_name to another '
                'name, or run "edge-sdk register --take-over" to give it '
                "this device's keys (the other device loses its channels)"
                % (hw['name'], hw['uuid']))
        self.progress('adopting hardware %s (%s)' % (hw['name'], hw['uuid']))
        # The read that found it may have been the first to show the
        # secret (a run cut short before it kept it).
        hw = self._seen(hw)
        if operations:
            self.progress('sending the public keys of %s' % ', '.join(
                op['path'].rsplit('/', 1)[-1] for op in operations))
            hw = self._seen(self.hardware.patch(hw['uuid'], operations))
        failed = [kind for kind, (state, _d) in workers(hw).items()
                  if kind in WORKERS and state == ERROR]
        if failed:
            # A new run: what failed may be fixed by now.
            self.progress('running the %s worker again' % ', '.join(failed))
            self.hardware.sync(hw['uuid'])
            hw = self._seen(self.hardware.get(hw['uuid']))
        return hw

    def _wait(self, hw, wait, old_credential=None):
        """``hw`` once the ``tunelo`` and ``credentials`` tasks are
        STEADY (and, with ``old_credential``, the credential replaced).
        """
        deadline = time.monotonic() + wait
        while True:
            tasks = workers(hw)
            missing = [kind for kind in WORKERS if kind not in tasks]
            if missing:
                raise EnrollmentError(
                    'the enrollment service runs no %s worker for hardware '
                    '%s: ask its operator to enable it ([worker] '
                    'enabled_worker_types)' % (', '.join(missing),
                                               hw['uuid']))
            for kind in WORKERS:
                state, details = tasks[kind]
                if state == ERROR:
                    raise EnrollmentError(
                        'the %s worker failed on hardware %s: %s; fix what '
                        'it says (or ask the operator), then run "edge-sdk '
                        'register" again, which runs it again'
                        % (kind, hw['uuid'], _reason(state, details)))
            credential = tasks['credentials'][1].get(
                'application_credential_id')
            if all(tasks[kind][0] == STEADY for kind in WORKERS) and \
                    credential and credential != old_credential:
                return hw
            if time.monotonic() >= deadline:
                raise EnrollmentError(
                    'hardware %s is not ready after %d s: %s; the service '
                    'goes on by itself: run "edge-sdk register" again later '
                    '(it adopts the hardware), or give --wait more seconds'
                    % (hw['uuid'], wait, '; '.join(
                        '%s %s' % (kind, _reason(*tasks[kind]))
                        for kind in WORKERS)))
            time.sleep(self.interval)
            hw = self._seen(self.hardware.get(hw['uuid']))
            if hw is None:
                raise EnrollmentError('the hardware item was deleted while '
                                      'this device waited for it')

    def _seen(self, hw):
        """Keep the credential's secret of any answer that shows it: the
        service shows it once, to whichever read comes first.
        """
        if hw is None:
            return None
        _state, details = workers(hw).get('credentials', (None, {}))
        secret = details.get(SECRET)
        if isinstance(secret, str) and secret != MASK:
            record = {
                'hardware_uuid': hw['uuid'], 'hardware_name': hw['name'],
                'project_id': details.get('project_id') or
                hw.get('project_id'),
                'auth_url': self.auth_url or details.get('auth_url'),
                'application_credential_id': details.get(
                    'application_credential_id'),
                SECRET: secret,
                'region_name': self.region_name,
                'interface': self.interface}
            try:
                write_credential(self.settings.state_dir, record)
            except ValueError as e:
                raise EnrollmentError(
                    'the enrollment service showed an application '
                    'credential that cannot be used (%s): ask its operator '
                    'to check the credentials worker' % e)
            self.record = record
            self.progress('stored application credential %s in %s' % (
                record['application_credential_id'],
                credential_path(self.settings.state_dir)))
        return hw

    def _store(self, hw):
        """Make sure the credential stored is the item's current one."""
        _state, details = workers(hw)['credentials']
        current = details.get('application_credential_id')
        for record in (self.record, self.stored):
            if record and record['hardware_uuid'] == hw['uuid'] and \
                    record['application_credential_id'] == current:
                self.record = record
                return
        raise EnrollmentError(
            'the secret of application credential %s of hardware %s was '
            'shown once already (to whoever read the hardware first) and '
            'is not stored here: have a new one made with "edge-sdk '
            'register --rotate-credential", or "openstack hardware set '
            '--property rotate_credential=<any new text> %s" and then '
            '"edge-sdk register" (the old credential stops working)'
            % (current, hw['uuid'], hw['uuid']))


# -- the channels of an enrolled device ---------------------------------------

class EnrolledChannels:
    """The channels of hardware ``hardware_uuid``, through the item:
    ``hardware``, a ``HardwareClient``; ``channels``, a
    ``ChannelClient`` (only ``get`` is used).
    """

    enrolled = True

    def __init__(self, hardware, channels, hardware_uuid, interval=0.5):
        self.hardware = hardware
        self.channels = channels
        self.uuid = _uuid(hardware_uuid)
        self.interval = interval

    def snapshot(self):
        """The hardware item, read once for a pass over the channels."""
        hw = self.hardware.get(self.uuid)
        if hw is None:
            raise EnrollmentError(
                'hardware %s is gone (deleted?): run "edge-sdk register" '
                "again with the owner's credentials" % self.uuid)
        return hw

    @staticmethod
    def _role(name):
        if name not in ROLES:
            raise ValueError('channel %s is not one an enrolled device '
                             'has (%s)' % (name, ', '.join(ROLES)))
        return name

    def current(self, settings, name, snapshot=None):
        """The channel of ``name`` as the channel API has it, or None
        when the service has not made it (yet).
        """
        hw = snapshot or self.snapshot()
        channel_id = channel_ids(hw).get(self._role(name))
        if channel_id is None:
            return None
        try:
            return self.channels.get(channel_id)
        except client_mod.ChannelAPIError as e:
            if e.status == 404:
                return None
            raise

    def rotatable(self, settings, name):
        """True when the item declares channel ``name``, else None."""
        return (True if self._role(name) in declared_keys(self.snapshot())
                else None)

    def ensure(self, settings, name, public_key, snapshot=None, wait=0.0):
        """The channel of ``name`` with ``public_key``: the item's
        ``channels`` property changed first when it says otherwise, then
        the channel once the service has given it the key (within
        ``wait`` seconds, else ``ChannelNotReady``).
        """
        hw = snapshot or self.snapshot()
        operations = key_operations(hw, {self._role(name): public_key})
        if operations:
            LOG.info('Sending the public key of channel %s to the '
                     'enrollment service', name)
            hw = self.hardware.patch(self.uuid, operations)
        return self._await_key(hw, name, public_key, wait)

    def set_key(self, settings, name, found, public_key, wait=0.0):
        """The channel of ``name`` once the service gave it the new
        ``public_key`` (sent as the item's property: see ``ensure``).
        """
        return self.ensure(settings, name, public_key, wait=wait)

    def _await_key(self, hw, name, public_key, wait):
        deadline = time.monotonic() + wait
        while True:
            state, details = workers(hw).get('tunelo', (None, {}))
            if state is None:
                raise EnrollmentError(
                    'the enrollment service runs no tunelo worker for '
                    'hardware %s: ask its operator to enable it' % self.uuid)
            if state == ERROR:
                raise EnrollmentError(
                    'the enrollment service could not make channel %s: %s; '
                    'fix what it says, then run "openstack hardware sync '
                    '%s" with the owner\'s credentials'
                    % (name, _reason(state, details), self.uuid))
            channel = self.current(None, name, hw)
            if channel is not None and (channel.get('properties') or {}).get(
                    'public_key') == public_key:
                return channel
            if time.monotonic() >= deadline:
                raise wireguard.ChannelNotReady(
                    'the enrollment service has not given channel %s this '
                    "device's key yet (tunelo %s): it goes on by itself; "
                    'run this again later' % (name, _reason(state, details)))
            time.sleep(self.interval)
            hw = self.snapshot()
