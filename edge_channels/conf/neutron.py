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

from edge_common import keystoneauth


GROUP = 'neutron'
#: Service type of Neutron in Keystone's catalog.
SERVICE_TYPE = 'network'


def register_opts(conf):
    keystoneauth.register_opts(conf, GROUP, SERVICE_TYPE)


def list_opts():
    """The options of ``[neutron]`` for the sample (password auth)."""
    return keystoneauth.list_opts(SERVICE_TYPE)


def adapter(conf, raise_exc):
    """A keystoneauth Adapter to Neutron from ``conf``'s ``[neutron]``."""
    return keystoneauth.adapter(conf, GROUP, raise_exc)
