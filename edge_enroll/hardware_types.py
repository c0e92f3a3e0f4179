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

"""Hardware types: what may be enrolled, with which properties and
which workers (entry points ``edge_enroll.hardware_types``).

A type declares its own fields and the worker types that apply to it,
in the order they run; the workers enabled in ``[worker]
enabled_worker_types`` are loaded through stevedore
(``edge_enroll.worker_types``) and their fields join the type's
schema.  Only the worker classes are read here (``worker_type``,
``fields``, ``one_time_details``): the API never runs a worker.
"""

import re

import stevedore
from oslo_log import log as logging

from edge_channels import channel
from edge_enroll import exception
from edge_enroll import properties


LOG = logging.getLogger(__name__)
HARDWARE_TYPES = 'edge_enroll.hardware_types'
WORKER_TYPES = 'edge_enroll.worker_types'
#: A host name label (RFC 1123): the name becomes the edge host's
#: zun-compute and cyborg-agent ``host`` and its channels' host.
NAME = re.compile(r'^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$')


class HardwareType:
    """Base of hardware types; ``workers``: the enabled worker classes
    by worker type.
    """

    #: Its name in requests (``hardware_type``) and the entry point's.
    name = None
    #: Worker types that apply, in the order a hardware's tasks run.
    worker_types = ()
    #: Its own properties (``properties.Field``).
    fields = ()

    def __init__(self, workers):
        self.workers = {name: workers[name] for name in self.worker_types
                        if name in workers}

    @property
    def enabled_workers(self):
        """Worker types that run for this type's hardware, in order."""
        return list(self.workers)

    def all_fields(self):
        fields = list(self.fields)
        for worker in self.workers.values():
            fields.extend(worker.fields)
        return fields

    def json_schema(self):
        return properties.json_schema(self.all_fields())

    def validate(self, props, old=None):
        """Check ``props`` against the schema; a read-only field may not
        differ from ``old`` (the properties before a change; None on
        create, when it may not be given at all).
        """
        old = old or {}
        for field in self.all_fields():
            if (field.read_only and
                    props.get(field.name) != old.get(field.name)):
                raise exception.ReadOnlyField(field=field.name)
        properties.validate(self.json_schema(), props, self.name)

    def view(self, props, public_only=False):
        return properties.view(props, self.all_fields(), public_only)

    def one_time_details(self, worker_type):
        """Keys of a worker's state details shown to the owner once."""
        worker = self.workers.get(worker_type)
        return tuple(getattr(worker, 'one_time_details', ()))


_CHANNEL = {
    'type': 'object',
    'properties': {
        'channel_type': {'enum': list(channel.CHANNEL_TYPES)},
        'public_key': {'type': 'string',
                       'format': properties.WIREGUARD_KEY},
    },
    'required': ['channel_type', 'public_key'],
    'additionalProperties': False,
}


class EdgeHost(HardwareType):
    """``device``: an edge host (any Linux machine) whose peripherals
    containers use through Cyborg and Zun.
    """

    name = 'device'
    worker_types = ('tunelo', 'credentials', 'compute')
    fields = (
        properties.Field(
            'machine_name', {'type': 'string', 'minLength': 1,
                             'maxLength': 255},
            required=True,
            description='What the machine is (free text, e.g. '
                        '"raspberrypi4-64").'),
        properties.Field(
            'contact_email', {'type': 'string', 'format': 'email',
                              'maxLength': 255},
            required=True, private=True,
            description="The owner's contact."),
        properties.Field(
            'channels',
            {'type': 'object',
             'properties': {'control': _CHANNEL, 'tenant': _CHANNEL},
             'additionalProperties': False},
            private=True,
            description='The host\'s WireGuard public keys: "control" '
                        'for the control plane channel, "tenant" for its '
                        'containers\' networks.'),
        properties.Field(
            'device_profiles',
            {'type': 'array', 'items': {'type': 'string'}},
            read_only=True,
            description='Cyborg device profiles the host\'s peripherals '
                        'can serve (each group of the profile fits one of '
                        'the devices Cyborg reported for the host), kept '
                        'in step with hot-plugs by the compute worker; '
                        'never set by users.'),
    )


def validate_name(name):
    if not isinstance(name, str) or not NAME.match(name):
        raise exception.Invalid(
            reason='name %s is not a host name: give 1 to 63 letters, '
                   'digits and "-", not starting or ending with "-" (it '
                   "becomes the edge host's host name)"
                   % exception.quote(name))


def _load(namespace, names, what):
    if not names:
        return []
    missing = []
    manager = stevedore.NamedExtensionManager(
        namespace, names, name_order=True, invoke_on_load=False,
        on_missing_entrypoints_callback=missing.extend,
        on_load_failure_callback=_load_failed)
    if missing:
        raise exception.ConfigInvalid(
            reason='%s %s not installed (entry points of %s)'
            % (what, ', '.join(sorted(missing)), namespace))
    return list(manager)


def _load_failed(manager, entrypoint, error):
    raise exception.ConfigInvalid(
        reason='%s %s cannot be loaded: %s'
        % (manager.namespace, entrypoint.name, error))


def load(conf):
    """``{name: HardwareType}`` of ``[DEFAULT] enabled_hardware_types``
    with the workers of ``[worker] enabled_worker_types``.
    """
    workers = {}
    for ext in _load(WORKER_TYPES, conf.worker.enabled_worker_types,
                     'worker types'):
        workers[ext.name] = ext.plugin
    types = {}
    for ext in _load(HARDWARE_TYPES, conf.enabled_hardware_types,
                     'hardware types'):
        types[ext.name] = ext.plugin(workers)
    LOG.info('Hardware types %(types)s; workers %(workers)s',
             {'types': ', '.join(types), 'workers': ', '.join(workers)})
    return types
