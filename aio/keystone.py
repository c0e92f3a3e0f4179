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

"""Keystone: fernet tokens, the service project, users and catalog."""

import os
import secrets

import requests
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3
from keystoneclient.v3 import client as ks_client

from aio import service


REGION = 'RegionOne'
DOMAIN = 'Default'
#: Users of the cloud: name -> (project, roles).  The services' users
#: hold the service role, which Cyborg asks of the token Zun sends with
#: binds and deletes by instance (CVE-2026-40214) and Neutron of those
#: that set port bindings, and admin, which Placement's and Keystone's
#: default policies ask of services.  Kuryr binds Neutron ports for
#: zun-compute's containers.
USERS = {
    'cyborg': ('service', ('service', 'admin')),
    'kuryr': ('service', ('service', 'admin')),
    'neutron': ('service', ('service', 'admin')),
    'placement': ('service', ('service', 'admin')),
    'zun': ('service', ('service', 'admin')),
    'demo': ('demo', ('member', 'reader')),
    'other': ('other', ('member', 'reader')),
}


def authtoken(keystone, user):
    """The ``[keystone_authtoken]`` section of a service of this cloud."""
    return dict(keystone.credentials(user),
                www_authenticate_uri=keystone.url,
                auth_type='password',
                service_token_roles='service',
                service_token_roles_required='true')


class Keystone:
    def __init__(self, workdir, logs, db_url, admin_password, passwords):
        self.dir = os.path.join(workdir, 'keystone')
        self.log = os.path.join(logs, 'keystone.log')
        self.db_url = db_url
        self.admin_password = admin_password
        self.passwords = passwords
        #: This Keystone's users: name -> (project, roles); USERS, and
        #: those ``add_user`` adds.
        self.users = dict(USERS)
        self.listener = service.listening_socket()
        self.port = self.listener.getsockname()[1]
        self.url = 'http://127.0.0.1:%d/v3' % self.port
        self.process = None

    def credentials(self, user):
        """keystoneauth password options of ``user``, as in config files."""
        if user == 'admin':
            project, password = 'admin', self.admin_password
        else:
            project, password = self.users[user][0], self.passwords[user]
        return {'auth_url': self.url, 'username': user,
                'password': password, 'project_name': project,
                'user_domain_name': DOMAIN, 'project_domain_name': DOMAIN}

    def cli_env(self, user='admin'):
        """``OS_*`` variables of ``user`` for the ``openstack`` CLI."""
        creds = self.credentials(user)
        return {'OS_AUTH_URL': creds['auth_url'],
                'OS_USERNAME': creds['username'],
                'OS_PASSWORD': creds['password'],
                'OS_PROJECT_NAME': creds['project_name'],
                'OS_USER_DOMAIN_NAME': creds['user_domain_name'],
                'OS_PROJECT_DOMAIN_NAME': creds['project_domain_name'],
                'OS_IDENTITY_API_VERSION': '3',
                'OS_REGION_NAME': REGION,
                'OS_INTERFACE': 'public'}

    def session(self, user='admin'):
        return ks_session.Session(auth=v3.Password(**self.credentials(user)))

    def token(self, user):
        """A project-scoped token of ``user`` and Keystone's token body
        (what keystonemiddleware hands a service as the user's token
        info).
        """
        creds = self.credentials(user)
        body = {'auth': {
            'identity': {'methods': ['password'], 'password': {'user': {
                'name': user, 'password': creds['password'],
                'domain': {'name': DOMAIN}}}},
            'scope': {'project': {'name': creds['project_name'],
                                  'domain': {'name': DOMAIN}}}}}
        resp = requests.post(creds['auth_url'] + '/auth/tokens', json=body,
                             timeout=30)
        resp.raise_for_status()
        return resp.headers['X-Subject-Token'], resp.json()

    def setup(self):
        os.makedirs(self.dir, mode=0o700)
        conf = service.write_conf(os.path.join(self.dir, 'keystone.conf'), {
            'DEFAULT': {'log_file': self.log},
            'database': {'connection': self.db_url},
            'token': {'provider': 'fernet'},
            'fernet_tokens': {'key_repository':
                              os.path.join(self.dir, 'fernet-keys')},
            'credential': {'key_repository':
                           os.path.join(self.dir, 'credential-keys')},
        })
        manage = [service.bin_path('keystone-manage'), '--config-file', conf]
        for step in (['db_sync'],
                     ['fernet_setup', '--keystone-user', 'root',
                      '--keystone-group', 'root'],
                     ['credential_setup', '--keystone-user', 'root',
                      '--keystone-group', 'root'],
                     ['bootstrap', '--bootstrap-password',
                      self.admin_password,
                      '--bootstrap-region-id', REGION,
                      '--bootstrap-admin-url', self.url,
                      '--bootstrap-internal-url', self.url,
                      '--bootstrap-public-url', self.url]):
            service.run('keystone', manage + step, self.log)
        self.process = service.uwsgi(
            'keystone', 'keystone.wsgi.api:application', self.listener,
            self.log, {'OS_KEYSTONE_CONFIG_FILES': conf})

    def start(self, on_start):
        """Start; ``on_start(process)`` once it runs, before it answers."""
        on_start(self.process.start())
        self.process.wait_until(lambda: service.http_answers(self.url),
                                'answer on %s' % self.url)

    def restart(self, on_start):
        """Start a stopped Keystone again on its port."""
        self.process = self.process.remake()
        self.start(on_start)

    def _client(self):
        return ks_client.Client(session=self.session(), interface='public')

    def populate(self, endpoints):
        """Projects, users and roles of USERS; ``endpoints``: service type
        -> (name, URL) for the catalog.
        """
        ks = self._client()
        for user, (project, user_roles) in sorted(USERS.items()):
            self._create_user(ks, user, project, user_roles)
        for svc_type, (name, url) in endpoints.items():
            self._create_endpoint(ks, svc_type, name, url)

    def add_user(self, user, project='service', roles=('service', 'admin'),
                 password=None):
        """Create ``user`` in ``project`` (made if missing) with
        ``roles`` (made if missing), once Keystone runs; afterwards
        ``credentials``, ``session`` and ``token`` know it.
        """
        if user in self.users or user == 'admin':
            raise ValueError('Keystone already has a user %s' % user)
        self.passwords[user] = password or secrets.token_hex(12)
        self.users[user] = (project, tuple(roles))
        self._create_user(self._client(), user, project, roles)
        return self.credentials(user)

    def add_endpoint(self, svc_type, name, url):
        """Catalog service ``name`` of type ``svc_type``, at ``url`` on
        the public, internal and admin interfaces.
        """
        self._create_endpoint(self._client(), svc_type, name, url)

    def _create_user(self, ks, user, project, user_roles):
        found = ks.projects.list(name=project, domain='default')
        project_ref = (found[0] if found
                       else ks.projects.create(project, 'default'))
        roles = {r.name: r for r in ks.roles.list()}
        created = ks.users.create(user, domain='default',
                                  password=self.passwords[user],
                                  default_project=project_ref)
        for role in user_roles:
            if role not in roles:
                roles[role] = ks.roles.create(role)
            ks.roles.grant(roles[role], user=created, project=project_ref)

    def _create_endpoint(self, ks, svc_type, name, url):
        svc = ks.services.create(name, type=svc_type)
        for interface in ('public', 'internal', 'admin'):
            ks.endpoints.create(svc, url, interface=interface,
                                region=REGION)
