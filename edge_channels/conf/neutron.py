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

"""``[neutron]``: how the channel API and the hub agent reach Neutron
as their service user (keystoneauth session, password auth and adapter
options), and the adapter made from them.
"""

from keystoneauth1 import loading as ks_loading


GROUP = 'neutron'
#: Service type of Neutron in Keystone's catalog.
SERVICE_TYPE = 'network'
VALID_INTERFACES = ['internal', 'public']


def register_opts(conf):
    ks_loading.register_session_conf_options(conf, GROUP)
    ks_loading.register_auth_conf_options(conf, GROUP)
    ks_loading.register_adapter_conf_options(conf, GROUP,
                                             include_deprecated=False)
    conf.set_default('service_type', SERVICE_TYPE, group=GROUP)
    conf.set_default('valid_interfaces', VALID_INTERFACES, group=GROUP)


def list_opts():
    """The options of ``[neutron]`` for the sample (password auth)."""
    opts = (ks_loading.get_session_conf_options() +
            ks_loading.get_auth_common_conf_options() +
            ks_loading.get_auth_plugin_conf_options('password') +
            ks_loading.get_adapter_conf_options(include_deprecated=False))
    unique = {}
    for opt in opts:
        unique.setdefault(opt.dest, opt)
    for opt in unique.values():
        if opt.dest == 'service_type':
            opt.default = SERVICE_TYPE
        elif opt.dest == 'valid_interfaces':
            opt.default = list(VALID_INTERFACES)
    return list(unique.values())


def adapter(conf, raise_exc):
    """A keystoneauth Adapter to Neutron from ``conf``'s ``[neutron]``."""
    auth = ks_loading.load_auth_from_conf_options(conf, GROUP)
    session = ks_loading.load_session_from_conf_options(conf, GROUP,
                                                        auth=auth)
    return ks_loading.load_adapter_from_conf_options(
        conf, GROUP, session=session, auth=auth, raise_exc=raise_exc)
