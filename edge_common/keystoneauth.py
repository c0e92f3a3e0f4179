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

"""keystoneauth options of a service the companions call, in one group:
session, password auth and adapter, and the Adapter made from them.
"""

from keystoneauth1 import loading as ks_loading


VALID_INTERFACES = ['internal', 'public']


def register_opts(conf, group, service_type, opts=()):
    """``opts`` and keystoneauth's session, auth and adapter options in
    ``[group]``, the adapter's service type defaulting to
    ``service_type``.
    """
    conf.register_opts(opts, group=group)
    ks_loading.register_session_conf_options(conf, group)
    ks_loading.register_auth_conf_options(conf, group)
    ks_loading.register_adapter_conf_options(conf, group,
                                             include_deprecated=False)
    conf.set_default('service_type', service_type, group=group)
    conf.set_default('valid_interfaces', VALID_INTERFACES, group=group)


def list_opts(service_type, opts=()):
    """``opts`` and the keystoneauth options of ``register_opts`` for
    the sample (password auth).
    """
    ks_opts = (ks_loading.get_session_conf_options() +
               ks_loading.get_auth_common_conf_options() +
               ks_loading.get_auth_plugin_conf_options('password') +
               ks_loading.get_adapter_conf_options(include_deprecated=False))
    unique = {}
    for opt in ks_opts:
        unique.setdefault(opt.dest, opt)
    for opt in unique.values():
        if opt.dest == 'service_type':
            opt.default = service_type
        elif opt.dest == 'valid_interfaces':
            opt.default = list(VALID_INTERFACES)
    return list(opts) + list(unique.values())


def adapter(conf, group, raise_exc):
    """A keystoneauth Adapter from ``conf``'s ``[group]``."""
    auth = ks_loading.load_auth_from_conf_options(conf, group)
    session = ks_loading.load_session_from_conf_options(conf, group,
                                                        auth=auth)
    return ks_loading.load_adapter_from_conf_options(
        conf, group, session=session, auth=auth, raise_exc=raise_exc)
