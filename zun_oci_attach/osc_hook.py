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

"""``--device-profile`` for ``openstack appcontainer run`` and ``create``.

A cliff command hook (entry-point groups ``openstack.cli.appcontainer_run``
and ``openstack.cli.appcontainer_create``).  python-zunclient 5.5.0 has no
such option and cannot send the ``device_profiles`` field, so the hook
adds the option and turns the names into the ``openstack.org/
device-profiles`` label the ``docker_oci`` driver reads.

python-zunclient with our series (tools/zunclient-patches) defines
``--device-profile`` itself and sends ``device_profiles`` at API
microversion 1.41.  Then the hook adds no second option and changes
nothing when the negotiated version is 1.41 or later; below that (a
stock Zun API, or ``--os-container-api-version 1.40``) it turns the
names into the label, so the same command line works against both.
"""

from cliff import hooks
from osc_lib import exceptions
from zunclient.v1 import containers as zun_containers

from zun_oci_attach import profiles


OPTION = '--device-profile'

#: The Zun API microversion that takes ``device_profiles``.
FIELD_VERSION = (1, 41)


class DeviceProfileHook(hooks.CommandHook):
    """Adds ``--device-profile NAME`` (repeatable) where the client lacks it.
    """

    def __init__(self, command):
        super().__init__(command)
        #: Whether python-zunclient defines the option.  cliff runs the
        #: hooks' get_parser before the command adds its own options, so
        #: the parser cannot tell; our series adds the option with the
        #: field, which the client library lists.
        self.client_option = (
            'device_profiles' in zun_containers.CREATION_ATTRIBUTES)

    def get_parser(self, parser):
        if self.client_option:
            return parser
        parser.add_argument(
            OPTION,
            metavar='<device-profile>',
            dest='device_profiles',
            action='append',
            default=[],
            help='Attach the devices of this Cyborg device profile to the '
                 'container (repeat for more profiles). Needs the '
                 'docker_oci container driver on the compute hosts. Sent '
                 'as the label %s.' % profiles.LABEL)
        return parser

    def get_epilog(self):
        return ''

    def _field_supported(self):
        # The client manager negotiates the version once, on first use;
        # the command's own request reuses the client.
        version = self.cmd.app.client_manager.container.api_version
        return (version.ver_major, version.ver_minor) >= FIELD_VERSION

    def before(self, parsed_args):
        names = getattr(parsed_args, 'device_profiles', None)
        if not names:
            return parsed_args
        labels = parsed_args.label
        if any(label.split('=', 1)[0] == profiles.LABEL
               for label in labels):
            raise exceptions.CommandError(
                'Use either --device-profile or --label %s=..., not both'
                % profiles.LABEL)
        names = list(dict.fromkeys(names))
        try:
            value = profiles.label_value(names)
        except profiles.InvalidDeviceProfiles as e:
            raise exceptions.CommandError(str(e)) from e
        if self.client_option and self._field_supported():
            parsed_args.device_profiles = names
            return parsed_args
        parsed_args.label = labels + ['%s=%s' % (profiles.LABEL, value)]
        # The client's own option, if any, then sends nothing.
        parsed_args.device_profiles = []
        return parsed_args

    def after(self, parsed_args, return_code):
        return return_code
