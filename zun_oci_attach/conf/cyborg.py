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

"""Options of the Cyborg accelerator-request lifecycle.

The timing options live in ``[oci_attach]``.  How Zun reaches Cyborg, and
the service user whose token Cyborg requires for binding and deleting
accelerator requests (CVE-2026-40214), live in ``[oci_attach_cyborg]``:
the keystoneauth auth, session and adapter options, as Nova's ``[cyborg]``
group has them.
"""

import copy

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg


GROUP = 'oci_attach'
CYBORG_GROUP = 'oci_attach_cyborg'

#: Keystone service type of Cyborg.
SERVICE_TYPE = 'accelerator'

#: Default of ``[oci_attach_cyborg] timeout``.  keystoneauth waits for
#: ever by default, and one hung Cyborg request would hold its create
#: (and, before they were freed of it, the creates queued behind it).
CYBORG_TIMEOUT = 30

opts = [
    cfg.IntOpt('arq_bind_timeout',
               default=60,
               min=1,
               help='Seconds to wait for Cyborg to resolve the binding of '
                    'the accelerator requests of a container. On timeout '
                    'the requests are deleted and the container is put in '
                    'Error.'),
    cfg.FloatOpt('arq_poll_interval',
                 default=0.5,
                 min=0.05,
                 help='Seconds between two queries of Cyborg while waiting '
                      'for accelerator requests to be resolved.'),
    cfg.IntOpt('cyborg_bind_retries',
               default=3,
               min=1,
               help='How many times to try binding the accelerator requests '
                    'of a container when Cyborg fails with a server error '
                    '(HTTP 5xx), such as a busy database under concurrent '
                    'binds. Each new try binds newly created requests to '
                    'the devices already claimed; the failed ones are '
                    'deleted.'),
    cfg.IntOpt('placement_claim_retries',
               default=3,
               min=1,
               help='How many times to pick a free device resource provider '
                    'again when Placement reports that another consumer '
                    'took the chosen one first, or fails with a server '
                    'error (HTTP 5xx).'),
    cfg.FloatOpt('placement_timeout',
                 default=30,
                 min=1,
                 help='Seconds to wait for each answer of Placement while '
                      'claiming or releasing devices. Zun\'s own '
                      '[keystone_auth] timeout defaults to waiting for ever; '
                      'this applies to the device claims only. A create '
                      'whose Placement call times out fails with a message '
                      'saying so.'),
    cfg.IntOpt('orphan_min_age',
               default=300,
               min=1,
               help='Seconds an accelerator request of a peripheral device '
                    'profile must have stayed unbound (no instance) before '
                    'the periodic clean-up deletes it. Such requests are '
                    'left behind when the answer to their creation was lost '
                    '(a timeout); this must exceed the time a create takes '
                    'between creating and binding its requests, on every '
                    'zun-compute host.'),
]

cyborg_group = cfg.OptGroup(
    CYBORG_GROUP,
    title='Cyborg access for OCI device attachment',
    help='How zun-compute reaches the Cyborg API, and the credentials of '
         "Zun's own service user. Cyborg requires a service token from a "
         'user with a service role to bind accelerator requests and to '
         'delete them by instance; the token of the user who owns the '
         'container is sent alongside it. The periodic clean-up of the '
         'devices of deleted containers lists the requests of every '
         'project, which also needs Cyborg\'s admin role.')


def _session_opts():
    opts = []
    for opt in ks_loading.get_session_conf_options():
        if opt.dest == 'timeout':
            opt = copy.copy(opt)
            opt.default = CYBORG_TIMEOUT
            opt.help = ('Seconds to wait for each answer of the Cyborg API. '
                        'A create whose call times out fails with a message '
                        'saying so; its accelerator requests are cleaned up '
                        'then or by the periodic clean-up.')
        opts.append(opt)
    return opts


def _ksa_opts():
    return (_session_opts() +
            ks_loading.get_auth_common_conf_options() +
            ks_loading.get_auth_plugin_conf_options('password') +
            ks_loading.get_adapter_conf_options(include_deprecated=False))


def register_opts(conf):
    conf.register_opts(opts, group=GROUP)
    conf.register_group(cyborg_group)
    ks_loading.register_session_conf_options(conf, CYBORG_GROUP)
    ks_loading.register_auth_conf_options(conf, CYBORG_GROUP)
    ks_loading.register_adapter_conf_options(conf, CYBORG_GROUP,
                                             include_deprecated=False)
    conf.set_default('service_type', SERVICE_TYPE, group=CYBORG_GROUP)
    conf.set_default('timeout', CYBORG_TIMEOUT, group=CYBORG_GROUP)
    conf.set_default('valid_interfaces', ['internal', 'public'],
                     group=CYBORG_GROUP)


def list_opts():
    return opts


def list_cyborg_opts():
    """The ``[oci_attach_cyborg]`` options, for the sample config."""
    return [(cyborg_group, _ksa_opts())]
