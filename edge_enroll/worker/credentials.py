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

"""``credentials``: the edge host's own Keystone credential, and no more.

Each host gets a Keystone user ``edge-<hardware uuid>`` in a domain of
its own (``[credentials] domain``) holding ``[credentials] roles`` on the
hardware's project only, and an application credential of that user
whose access rules allow only what the Edge SDK and the host's services
call (``[credentials] access_rules``).  Keystone lets only a user make
its own application credentials: the worker gives the user a random
password for the moment it makes one, kept in memory only.

The secret goes to the task's ``state_details`` once, for the API to
show the owner once (``one_time_details``).  Changing the property
``rotate_credential`` makes a new credential and deletes the old one;
deleting the hardware deletes the user, and Keystone its credentials.
"""

import secrets
import time

from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import loading as ks_loading
from keystoneauth1.identity import v3
from oslo_log import log as logging

from edge_enroll import properties
from edge_enroll.conf import credentials as conf_credentials
from edge_enroll.worker import base


LOG = logging.getLogger(__name__)
SERVICE = 'Keystone'
SECRET = 'application_credential_secret'
USER_PREFIX = 'edge-'
#: Tokens asked for to make one application credential (see ``_issue``).
TOKEN_ATTEMPTS = 3


def user_name(hardware):
    return USER_PREFIX + hardware.uuid


def access_rules(rules, hardware_uuid):
    """Keystone access rules from ``[credentials] access_rules``
    entries ``service:METHOD:path``.
    """
    parsed = []
    for rule in rules:
        service, method, path = rule.split(':', 2)
        parsed.append({'service': service, 'method': method.upper(),
                       'path': path.replace('{hardware_uuid}',
                                            hardware_uuid)})
    return parsed


class CredentialsWorker(base.BaseWorker):
    worker_type = 'credentials'
    conf_module = conf_credentials
    fields = [
        properties.Field(
            'rotate_credential', {'type': 'string', 'maxLength': 64},
            private=True,
            description="Change this value (any text, e.g. today's "
                        'date) to give the host a new application '
                        'credential; the old one is deleted.'),
    ]
    one_time_details = (SECRET,)

    @property
    def adapter(self):
        return self.service(conf_credentials.GROUP)

    def _call(self, method, path, ok=(200,), via=None, **kwargs):
        return base.call(via or self.adapter, SERVICE, method, path, ok=ok,
                         **kwargs)

    # -- Keystone resources, each found before it is made ------------------

    def _one(self, path, key, **params):
        found = self._call('GET', path, params=params).json()[key]
        return found[0] if found else None

    def _domain_id(self):
        name = self.conf.credentials.domain
        domain = self._one('/domains', 'domains', name=name)
        if domain is None:
            domain = self._call('POST', '/domains', ok=(201,), json={
                'domain': {'name': name, 'description':
                           'Users of edge hosts (edge_enroll)'}}
            ).json()['domain']
            LOG.info('Created domain %(name)s (%(id)s) for edge hosts',
                     {'name': name, 'id': domain['id']})
        return domain['id']

    def _user(self, hardware, domain_id):
        name = user_name(hardware)
        user = self._one('/users', 'users', name=name, domain_id=domain_id)
        if user is None:
            user = self._call('POST', '/users', ok=(201,), json={'user': {
                'name': name, 'domain_id': domain_id,
                'default_project_id': hardware.project_id,
                'description': 'Edge host %s (%s)' % (hardware.name,
                                                      hardware.uuid)}}
            ).json()['user']
            LOG.info('Created user %(id)s of hardware %(hw)s',
                     {'id': user['id'], 'hw': hardware.uuid})
        return user

    def _grant_roles(self, hardware, user):
        for role in self.conf.credentials.roles:
            found = self._one('/roles', 'roles', name=role)
            if found is None:
                raise base.WorkerError(
                    'Keystone has no role %r: create it or change '
                    '[credentials] roles' % role)
            self._call('PUT', '/projects/%s/users/%s/roles/%s'
                       % (hardware.project_id, user['id'], found['id']),
                       ok=(204,))

    def _as_user(self, hardware, user):
        """An adapter authenticated as ``user`` on the hardware's
        project, with a fresh password that only this call knows.
        """
        password = secrets.token_urlsafe(32)
        self._call('PATCH', '/users/%s' % user['id'],
                   json={'user': {'password': password}})
        auth = v3.Password(auth_url=self.adapter.auth.auth_url,
                           user_id=user['id'], password=password,
                           project_id=hardware.project_id)
        session = ks_loading.load_session_from_conf_options(
            self.conf, conf_credentials.GROUP, auth=auth)
        return ks_adapter.Adapter(
            session, service_type=self.adapter.service_type,
            interface=self.adapter.interface,
            region_name=self.adapter.region_name, raise_exc=False)

    def _issue(self, hardware, user, name):
        """A new application credential ``name`` of ``user``; one left
        with that name by a run cut short (its secret lost) is replaced.
        """
        path = '/users/%s/application_credentials' % user['id']
        old = self._one(path, 'application_credentials', name=name)
        if old is not None:
            self._call('DELETE', '%s/%s' % (path, old['id']), ok=(204, 404))
        body = {'application_credential': {
            'name': name,
            'description': 'Edge host %s (%s)' % (hardware.name,
                                                  hardware.uuid),
            'unrestricted': False,
            # Only these: not the roles they imply (member -> reader).
            'roles': [{'name': role} for role in self.conf.credentials.roles],
            'access_rules': access_rules(self.conf.credentials.access_rules,
                                         hardware.uuid)}}
        via = self._as_user(hardware, user)
        for _attempt in range(TOKEN_ATTEMPTS):
            resp = self._call('POST', path, ok=(201, 401), json=body,
                              via=via)
            if resp.status_code == 201:
                return resp.json()['application_credential']
            # Keystone revokes a user's tokens when its password changes,
            # to the second: a token issued within that second is
            # refused too.  One issued a second later is not.
            time.sleep(1)
            via.session.invalidate()
        raise base.Unavailable(
            'Keystone refused the tokens of user %s, whose password was '
            'just set, %d times' % (user['id'], TOKEN_ATTEMPTS))

    # -- the worker ----------------------------------------------------------

    def process(self, context, hardware, availability_windows,
                state_details):
        user = self._user(hardware, self._domain_id())
        self._grant_roles(hardware, user)
        rotation = (hardware.properties or {}).get('rotate_credential') or ''
        current = state_details.get('application_credential_id')
        path = '/users/%s/application_credentials' % user['id']
        if current and state_details.get('rotation', '') == rotation and \
                state_details.get('user_id') == user['id']:
            if self._call('GET', '%s/%s' % (path, current),
                          ok=(200, 404)).status_code == 200:
                return base.WorkerResult.Success()
        # Numbered, so that a run cut short after Keystone made it is
        # found by name and replaced, not left behind.
        generation = state_details.get('generation', 0) + 1
        cred = self._issue(hardware, user, 'edge-host-%d' % generation)
        LOG.info('Issued application credential %(id)s to hardware %(hw)s',
                 {'id': cred['id'], 'hw': hardware.uuid})
        if current and current != cred['id']:
            self._call('DELETE', '%s/%s' % (path, current), ok=(204, 404))
            LOG.info('Deleted the replaced application credential %(id)s '
                     'of hardware %(hw)s', {'id': current,
                                            'hw': hardware.uuid})
        return base.WorkerResult.Success({
            'user_id': user['id'],
            'project_id': hardware.project_id,
            'auth_url': self.adapter.auth.auth_url,
            'application_credential_id': cred['id'],
            'application_credential_name': cred['name'],
            SECRET: cred['secret'],
            'secret_revealed': False,
            'rotation': rotation,
            'generation': generation,
        })

    def cleanup(self, context, hardware, state_details):
        domain = self._one('/domains', 'domains',
                           name=self.conf.credentials.domain)
        user_id = state_details.get('user_id')
        if user_id is None and domain is not None:
            user = self._one('/users', 'users', name=user_name(hardware),
                             domain_id=domain['id'])
            user_id = user and user['id']
        if user_id:
            # Each credential first, though deleting the user deletes
            # them: Keystone on SQLite (no foreign keys) leaves the
            # links to their access rules behind otherwise, which then
            # clash with a later credential's.
            path = '/users/%s/application_credentials' % user_id
            resp = self._call('GET', path, ok=(200, 404))
            creds = (resp.json()['application_credentials']
                     if resp.status_code == 200 else [])
            for cred in creds:
                self._call('DELETE', '%s/%s' % (path, cred['id']),
                           ok=(204, 404))
            self._call('DELETE', '/users/%s' % user_id, ok=(204, 404))
            LOG.info('Deleted user %(id)s of hardware %(hw)s and its '
                     'application credentials',
                     {'id': user_id, 'hw': hardware.uuid})
        return base.WorkerResult.Success({
            'user_id': None, 'application_credential_id': None,
            'application_credential_name': None, SECRET: None})
