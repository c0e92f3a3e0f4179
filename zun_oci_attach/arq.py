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

"""The Cyborg accelerator-request (ARQ) lifecycle of a container.

For each device profile: create the ARQs (with the token of the user who
owns the container, so Cyborg records the container's project), claim a
free device provider per ARQ in Placement, bind all ARQs to this host and
the container in one request (Cyborg refuses a second bind for the same
instance), wait until Cyborg has resolved them, and return their attach
handles.  Bind and delete-by-instance carry Zun's service token
(CVE-2026-40214).  A bind that Cyborg fails with a server error (such
as its database being busy with concurrent binds) is tried again with
new ARQs, up to ``[oci_attach] cyborg_bind_retries`` times.  Once one ARQ
exists, any failure deletes all of them and the Placement claim before
the error propagates.

Cyborg is reached with a keystoneauth adapter rather than an SDK:
openstacksdk's accelerator proxy keeps only the first ARQ a profile
creates and binds one ARQ per request, and python-cyborgclient has no
Python API besides that proxy.
"""

import json
import random
import re
import threading
import time

from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading
from keystoneauth1 import service_token
from oslo_log import log as logging
from zun.common import exception
from zun.common import keystone

from zun_oci_attach import placement
from zun_oci_attach.conf import cyborg as cyborg_conf


LOG = logging.getLogger(__name__)

_RESOLVED = ('Bound', 'BindFailed', 'Deleting')

#: Longest text from Cyborg copied into a container's status reason.
_MAX_DETAIL = 200
_TAG = re.compile(r'<[^>]*>?')
_TRACEBACK = re.compile(r'Traceback \(most recent call last\)|'
                        r'\n\s*File "')


class DeviceAttachFailed(exception.ZunException):
    """A step of attaching devices failed; the message says what to do."""

    message = 'Could not attach devices: %(reason)s'


class CyborgUnavailable(DeviceAttachFailed):
    message = ('Cyborg could not be reached to %(action)s: %(error)s. Check '
               'that the accelerator service is running and listed in the '
               'Keystone catalog, then create the container again')


class CyborgRefused(DeviceAttachFailed):
    message = ('Cyborg refused to %(action)s (HTTP %(status)s): %(detail)s')


class BindFailed(DeviceAttachFailed):
    message = ('Cyborg could not bind device profile %(profile)s to this '
               'host (accelerator request %(arq)s is %(state)s). The device '
               'may be in use or gone; create the container again')


class BindTimeout(DeviceAttachFailed):
    message = ('Cyborg did not resolve the accelerator requests within '
               '%(timeout)d seconds. Check the Cyborg conductor and agent '
               'on this host, or raise [oci_attach] arq_bind_timeout')


class ForeignARQ(DeviceAttachFailed):
    message = ('Accelerator request %(arq)s belongs to project %(owner)s, '
               'not to the project %(project)s of the container; it was not '
               'used')


class CleanupFailed(DeviceAttachFailed):
    message = ('%(reason)s. Releasing the devices also failed (%(errors)s); '
               'delete the container to retry releasing them')


def sanitize(text, limit=_MAX_DETAIL):
    """``text`` from Cyborg made fit for a user-visible status reason.

    Cyborg's error bodies are whatever its WSGI stack produced: HTML pages
    of a proxy, Python tracebacks in debug mode, any bytes.  The reason
    keeps one line of printable text without markup, at most ``limit``
    characters.
    """
    text = str(text)
    found = _TRACEBACK.search(text)
    if found:
        text = text[:found.start()]
    text = _TAG.sub(' ', text).replace('<', ' ').replace('>', ' ')
    # Control characters, C1 controls, bidi overrides and line or
    # paragraph separators are all non-printable.
    text = ' '.join(''.join(c if c.isprintable() else ' '
                            for c in text).split())
    if len(text) > limit:
        text = text[:limit - 3].rstrip() + '...'
    return text


def _service_auth(conf):
    auth = ks_loading.load_auth_from_conf_options(conf,
                                                  cyborg_conf.CYBORG_GROUP)
    if auth is None:
        raise DeviceAttachFailed(reason=(
            'no service credentials are configured; set auth_type and the '
            "credentials of Zun's service user in [%s], as Cyborg binds "
            'accelerator requests only with a service token'
            % cyborg_conf.CYBORG_GROUP))
    return auth


class Cyborg:
    """The connection to Cyborg that every container of this host shares.

    A session and a service auth plugin per create cost a new connection
    (a TLS handshake with a real endpoint) and a new service token from
    Keystone each time.  keystoneauth sessions and auth plugins are
    thread-safe, and the plugin renews its token before it expires, so
    only the user's half of the auth is built per container.
    """

    def __init__(self, conf):
        self._conf = conf
        self._service_auth = _service_auth(conf)
        self._session = ks_loading.load_session_from_conf_options(
            conf, cyborg_conf.CYBORG_GROUP)

    def client(self, context):
        """A client acting as the user of ``context``."""
        return self._client(keystone.KeystoneClientV3(context).auth,
                            context.global_id)

    def service_client(self):
        """A client acting as Zun's service user, for the clean-up.

        Cyborg lists the ARQs of every project only to an admin, so the
        service user needs Cyborg's admin role for the clean-up to see
        what other projects' containers left behind.
        """
        return self._client(self._service_auth, None)

    def _client(self, user_auth, global_request_id):
        auth = service_token.ServiceTokenAuthWrapper(
            user_auth=user_auth, service_auth=self._service_auth)
        return CyborgClient(ks_loading.load_adapter_from_conf_options(
            self._conf, cyborg_conf.CYBORG_GROUP, session=self._session,
            auth=auth, raise_exc=False, global_request_id=global_request_id))


class CyborgClient:
    """The few Cyborg v2 calls of the lifecycle, as the container's user."""

    def __init__(self, api):
        self._api = api

    def _call(self, action, method, url, ok, **kwargs):
        try:
            resp = self._api.request('/v2' + url, method, **kwargs)
        except ks_exc.ClientException as e:
            raise CyborgUnavailable(action=action, error=sanitize(e)) from e
        if resp.status_code not in ok:
            LOG.warning('Cyborg refused to %(action)s (HTTP %(status)s): '
                        '%(body)r', {'action': action,
                                     'status': resp.status_code,
                                     'body': resp.text[:4096]})
            raise CyborgRefused(action=action, status=resp.status_code,
                                detail=_detail(resp))
        return resp

    def device_profile(self, name):
        resp = self._call('read device profile %s' % name, 'GET',
                          '/device_profiles?name=%s' % name, (200,))
        found = [dp for dp in resp.json()['device_profiles']
                 if dp['name'] == name]
        if not found:
            raise DeviceAttachFailed(reason=(
                'device profile %s does not exist; list them with '
                '"openstack accelerator device profile list"' % name))
        return found[0]

    def create(self, profile):
        resp = self._call('create accelerator requests for %s' % profile,
                          'POST', '/accelerator_requests', (201,),
                          json={'device_profile_name': profile})
        return resp.json()['arqs']

    def bind(self, bindings):
        # API 2.4 (our Cyborg patch series): the instance is a container,
        # so Cyborg does not send Nova an event for a server it lacks.
        self._call('bind accelerator requests', 'PATCH',
                   '/accelerator_requests', (202,), json={
                       arq: [{'op': 'add', 'path': '/' + k, 'value': v}
                             for k, v in sorted(dict(
                                 fields, consumer_type='container').items())]
                       for arq, fields in bindings.items()},
                   microversion='2.4',
                   microversion_service_type=cyborg_conf.SERVICE_TYPE)

    def resolved(self, instance):
        """The instance's ARQs once all are resolved, else None."""
        resp = self._call('read accelerator requests', 'GET',
                          '/accelerator_requests?instance=%s'
                          '&bind_state=resolved' % instance, (200, 423))
        if resp.status_code == 423:
            return None
        return resp.json()['arqs']

    def delete_for_instance(self, instance):
        self._call('delete accelerator requests', 'DELETE',
                   '/accelerator_requests?instance=%s' % instance, (204,))

    def delete(self, arq):
        self._call('delete accelerator request %s' % arq, 'DELETE',
                   '/accelerator_requests?arqs=%s' % arq, (204, 404))

    def all(self):
        """Every ARQ the caller may see (all of them for an admin)."""
        return self._call('list accelerator requests', 'GET',
                          '/accelerator_requests', (200,)).json()['arqs']

    def profiles(self):
        return self._call('list device profiles', 'GET',
                          '/device_profiles', (200,)).json()[
                              'device_profiles']


def _detail(resp):
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        message = body.get('error_message') or body
        # Cyborg's WSME fault: a JSON string whose faultstring is the
        # message and whose debuginfo may hold a traceback.
        try:
            fault = json.loads(message) if isinstance(message, str) \
                else message
        except ValueError:
            fault = message
        if isinstance(fault, dict) and 'faultstring' in fault:
            message = fault['faultstring']
        text = sanitize(message)
    else:
        text = sanitize(resp.text)
    return text or sanitize(resp.reason or '') or 'no detail given'


def _requests(profile, arqs):
    """One Placement request per ARQ, from its device profile group."""
    requests = []
    for arq in arqs:
        group = profile['groups'][arq['device_profile_group_id']]
        classes = [k.split(':', 1)[1] for k in group
                   if k.startswith('resources:')]
        if len(classes) != 1:
            raise DeviceAttachFailed(reason=(
                'group %d of device profile %s asks for %d resource '
                'classes; a peripheral profile group must ask for exactly '
                'one' % (arq['device_profile_group_id'], profile['name'],
                         len(classes))))
        traits = {k.split(':', 1)[1]: v for k, v in group.items()
                  if k.startswith('trait:')}
        requests.append(placement.DeviceRequest(
            profile['name'], classes[0],
            required=[t for t, v in traits.items() if v == 'required'],
            forbidden=[t for t, v in traits.items() if v == 'forbidden']))
    return requests


class Lifecycle:
    """Gets the attach handles of a container's devices, or nothing."""

    def __init__(self, conf, host, cyborg=None, claims=None):
        self._conf = conf
        self._host = host
        self._cyborg = cyborg or Cyborg(conf)
        self._claims = claims or placement.DeviceClaims(
            host, conf.oci_attach.placement_claim_retries,
            timeout=conf.oci_attach.placement_timeout)
        # Unbound ARQs of peripheral profiles seen by the last clean-up,
        # with when each was first seen.
        self._unbound_seen = {}
        self._reap_lock = threading.Lock()

    def attach(self, context, container, profiles):
        """Bind devices for ``profiles``; returns the bound ARQs."""
        client = self._cyborg.client(context)
        created = []
        try:
            requests = self._create(client, container, profiles, created)
            rps = self._claims.claim(context, container, requests)
            retries = self._conf.oci_attach.cyborg_bind_retries
            for attempt in range(1, retries + 1):
                try:
                    client.bind({
                        arq['uuid']: {'hostname': self._host,
                                      'device_rp_uuid': rp,
                                      'instance_uuid': container.uuid}
                        for arq, rp in zip(created, rps)})
                    break
                except CyborgRefused as e:
                    if e.kwargs['status'] < 500 or attempt == retries:
                        raise
                    LOG.warning('Cyborg failed to bind the accelerator '
                                'requests of container %(uuid)s (attempt '
                                '%(attempt)d), binding new ones: %(error)s',
                                {'uuid': container.uuid, 'attempt': attempt,
                                 'error': e})
                    self._replace(client, container, profiles, created)
            bound = self._wait(client, container)
            self._check_bound(container, bound, {a['uuid'] for a in created})
            return bound
        except Exception as e:
            # Nothing to release before Cyborg created the first ARQ.
            if created:
                self.abandon(context, container, e,
                             [a['uuid'] for a in created], client)
            raise

    def _create(self, client, container, profiles, created):
        """Create the ARQs of ``profiles``, appended to ``created`` as
        they come; returns their Placement requests, in that order.
        """
        requests = []
        for name in profiles:
            # Sorted by group, so that ARQs created again for the same
            # profiles pair with the devices claimed for the first ones.
            arqs = sorted(client.create(name),
                          key=lambda a: a['device_profile_group_id'])
            created += arqs
            self._check_owner(container, arqs)
            requests += _requests(client.device_profile(name), arqs)
        return requests

    def _replace(self, client, container, profiles, created):
        """Replace the ARQs of a bind that failed in Cyborg.

        Cyborg binds only new or unbound ARQs, and a failed bind leaves
        them bound half-way or failed; the claims in Placement stay.
        """
        client.delete_for_instance(container.uuid)
        for arq in created:
            client.delete(arq['uuid'])
        del created[:]
        # Jitter, so that colliding binds do not collide again.
        time.sleep(random.uniform(  # noqa: S311
            0, self._conf.oci_attach.arq_poll_interval))
        self._create(client, container, profiles, created)

    def _wait(self, client, container):
        timeout = self._conf.oci_attach.arq_bind_timeout
        deadline = time.monotonic() + timeout
        while True:
            arqs = client.resolved(container.uuid)
            if arqs is not None:
                return arqs
            if time.monotonic() >= deadline:
                raise BindTimeout(timeout=timeout)
            time.sleep(self._conf.oci_attach.arq_poll_interval)

    @staticmethod
    def _check_owner(container, arqs):
        for arq in arqs:
            owner = arq.get('project_id')
            if owner != container.project_id:
                raise ForeignARQ(arq=sanitize(arq['uuid'], 64),
                                 owner=sanitize(owner, 64),
                                 project=container.project_id)

    def _check_bound(self, container, bound, expected):
        self._check_owner(container, bound)
        if {a['uuid'] for a in bound} != expected:
            raise DeviceAttachFailed(reason=(
                'Cyborg returned other accelerator requests for this '
                'container than the ones it bound; create the container '
                'again'))
        for arq in bound:
            if (arq['state'] != 'Bound' or
                    arq.get('hostname') != self._host):
                raise BindFailed(profile=sanitize(arq['device_profile_name'],
                                                  64),
                                 arq=sanitize(arq['uuid'], 64),
                                 state=sanitize(arq['state'], 64))

    def detach(self, context, container):
        """Delete the container's ARQs and release its device claims."""
        client = self._cyborg.client(context)
        errors = self._release(context, container, client, ())
        if errors:
            raise DeviceAttachFailed(reason=(
                'releasing the devices of container %s failed (%s); delete '
                'the container again' % (container.uuid, '; '.join(errors))))

    def abandon(self, context, container, error, arqs=(), client=None):
        """Release everything after ``error``; the caller re-raises it.

        Raises CleanupFailed, chained to ``error``, when something could
        not be released, so the container's reason says both.
        """
        client = client or self._cyborg.client(context)
        errors = self._release(context, container, client, arqs)
        if errors:
            raise CleanupFailed(reason=str(error),
                                errors='; '.join(errors)) from error

    def _release(self, context, container, client, arqs):
        """Best-effort release of everything; returns what failed.

        While Cyborg still binds a device to the container, its provider
        is held back from other containers: the Placement claim is kept,
        and, as Zun drops a force-deleted container's allocations itself,
        the provider is also remembered as held until the clean-up
        (:meth:`reap`) has released it in Cyborg.
        """
        errors = []

        def attempt(what, step):
            try:
                step()
                return True
            except Exception as e:
                LOG.error('Could not %(what)s for container %(uuid)s: '
                          '%(error)s', {'what': what,
                                        'uuid': container.uuid,
                                        'error': e})
                errors.append('%s: %s' % (what, e))
                return False

        unbound = attempt('unbind', lambda: client.delete_for_instance(
            container.uuid))
        for uuid in arqs:
            attempt('delete ARQ %s' % uuid, lambda uuid=uuid: client.delete(
                uuid))
        if unbound:
            self._claims.unhold(container.uuid)
            attempt('release Placement claims',
                    lambda: self._claims.release(context, container))
        else:
            attempt('hold the devices back', lambda: self._claims.hold(
                container.uuid,
                self._claims.providers(context, container.uuid)))
        return errors

    def reap(self, context, is_gone):
        """Release what containers gone from Zun left bound to this host.

        A container deleted with force while Cyborg was unreachable keeps
        its ARQs bound, and its device handle in use, for ever: Zun
        swallows the driver's error and forgets the container.  This
        deletes the ARQs of peripheral device profiles bound to this host
        whose instance ``is_gone(uuid)`` says no longer exists (asked
        just before each release, so a container created meanwhile is
        never touched), drops their Placement claims, and stops holding
        their providers back.  It also deletes ARQs of such profiles that
        stayed unbound for ``[oci_attach] orphan_min_age`` seconds: those
        whose creation's answer was lost, so no create knows them.  And it
        stops holding back the providers of containers that have no ARQ
        bound to this host any more.

        Returns the uuids of the containers whose devices were released.
        """
        with self._reap_lock:
            client = self._cyborg.service_client()
            peripheral = {p['name'] for p in client.profiles()
                          if _is_peripheral(p)}
            # Taken before the listing: a hold made after it may be of
            # ARQs the listing missed.
            held = self._claims.held()
            arqs = [a for a in client.all()
                    if a.get('device_profile_name') in peripheral]
            released = []
            instances = sorted({a['instance_uuid'] for a in arqs
                                if a.get('hostname') == self._host and
                                a.get('instance_uuid')})
            # Their ARQs are gone all the same (the unbind that timed out
            # was done, or an operator deleted them): Cyborg binds their
            # devices to nothing.
            for consumer in sorted(held.difference(instances)):
                self._claims.unhold(consumer)
                LOG.info('Offering again the devices of container %s, '
                         'which no longer has accelerator requests',
                         consumer)
            for instance in instances:
                if not is_gone(instance):
                    continue
                rps = {a['device_rp_uuid'] for a in arqs
                       if a.get('instance_uuid') == instance and
                       a.get('device_rp_uuid')}
                self._claims.hold(instance, rps)
                try:
                    client.delete_for_instance(instance)
                except Exception as e:
                    LOG.warning('Could not release the devices of deleted '
                                'container %(uuid)s, will retry: %(error)s',
                                {'uuid': instance, 'error': e})
                    continue
                self._claims.unhold(instance)
                try:
                    self._claims.release(context, _Consumer(instance))
                except Exception as e:
                    LOG.warning('Could not drop the Placement claims of '
                                'deleted container %(uuid)s (%(error)s); '
                                'delete them with "openstack resource '
                                'provider allocation delete %(uuid)s"',
                                {'uuid': instance, 'error': e})
                LOG.info('Released the devices of container %s, which Zun '
                         'deleted while they could not be released',
                         instance)
                released.append(instance)
            self._reap_unbound(client, arqs)
            return released

    def _reap_unbound(self, client, arqs):
        now = time.monotonic()
        min_age = self._conf.oci_attach.orphan_min_age
        seen = {}
        for arq in arqs:
            if arq.get('instance_uuid') or arq.get('state') != 'Initial':
                continue
            first = self._unbound_seen.get(arq['uuid'])
            if first is None or now - first < min_age:
                seen[arq['uuid']] = first or now
                continue
            try:
                client.delete(arq['uuid'])
                LOG.info('Deleted accelerator request %s, unbound since '
                         'the answer to its creation was lost', arq['uuid'])
            except Exception as e:
                LOG.warning('Could not delete unbound accelerator request '
                            '%(arq)s, will retry: %(error)s',
                            {'arq': arq['uuid'], 'error': e})
                seen[arq['uuid']] = first
        self._unbound_seen = seen


class _Consumer:
    """The Placement consumer of a container Zun no longer has."""

    def __init__(self, uuid):
        self.uuid = uuid
        self.project_id = None
        self.user_id = None


def _is_peripheral(profile):
    return any(key.startswith('resources:' + placement.RC_PREFIX)
               for group in profile.get('groups') or ()
               for key in group)
