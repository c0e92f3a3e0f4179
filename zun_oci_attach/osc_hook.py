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
and ``openstack.cli.appcontainer_create``) that turns the names into the
``openstack.org/device-profiles`` label the ``docker_oci`` driver reads,
so it works with stock Zun and python-zunclient.
"""

from cliff import hooks
from osc_lib import exceptions

from zun_oci_attach import profiles


class DeviceProfileHook(hooks.CommandHook):
    """Adds ``--device-profile NAME`` (repeatable)."""

    def get_parser(self, parser):
        parser.add_argument(
            '--device-profile',
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

    def before(self, parsed_args):
        names = parsed_args.device_profiles
        if not names:
            return parsed_args
        labels = parsed_args.label
        if any(label.split('=', 1)[0] == profiles.LABEL
               for label in labels):
            raise exceptions.CommandError(
                'Use either --device-profile or --label %s=..., not both'
                % profiles.LABEL)
        try:
            value = profiles.label_value(list(dict.fromkeys(names)))
        except profiles.InvalidDeviceProfiles as e:
            raise exceptions.CommandError(str(e)) from e
        parsed_args.label = labels + ['%s=%s' % (profiles.LABEL, value)]
        return parsed_args

    def after(self, parsed_args, return_code):
        return return_code
