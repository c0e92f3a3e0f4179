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

"""The ``--device-profile`` hook with stock and patched python-zunclient.

The parsers stand in for those of ``appcontainer run``, built as cliff
builds them (the hooks' options first): stock 5.5.0 has ``--label``
only, our series adds ``--device-profile`` (dest ``device_profiles``).
The command's client manager is reduced to the negotiated API version
the hook reads.
"""

import argparse
import types

import testtools
from osc_lib import exceptions
from zunclient import api_versions
from zunclient.v1 import containers as zun_containers

from zun_oci_attach import osc_hook
from zun_oci_attach import profiles


def command(version):
    container = types.SimpleNamespace(
        api_version=api_versions.APIVersion(version))
    return types.SimpleNamespace(app=types.SimpleNamespace(
        client_manager=types.SimpleNamespace(container=container)))


def stock_parser():
    parser = argparse.ArgumentParser()
    parser.add_argument('--label', action='append', default=[])
    parser.add_argument('image')
    return parser


def patched_client_options(parser):
    parser.add_argument('--device-profile', dest='device_profiles',
                        action='append', default=[])


class HookTestCase(testtools.TestCase):

    #: Whether python-zunclient has our series (tools/zunclient-patches).
    patched = False

    def hook(self, version):
        hook = osc_hook.DeviceProfileHook(command(version))
        hook.client_option = self.patched
        return hook

    def parser(self, hook):
        # As cliff builds it: the hooks first, then the command's options.
        parser = hook.get_parser(stock_parser())
        if self.patched:
            patched_client_options(parser)
        return parser

    def run_hook(self, version, argv):
        hook = self.hook(version)
        return hook.before(self.parser(hook).parse_args(argv))


class TestStockClient(HookTestCase):
    """python-zunclient 5.5.0: the hook's option, always the label."""

    def test_profiles_become_the_label(self):
        args = self.run_hook('1.40', [
            '--device-profile', 'camera', '--device-profile', 'sdr',
            '--device-profile', 'camera', '--label', 'team=edge', 'busybox'])
        self.assertEqual(['team=edge', '%s=camera sdr' % profiles.LABEL],
                         args.label)
        self.assertEqual([], args.device_profiles)

    def test_no_profiles_leave_the_command_alone(self):
        args = self.run_hook('1.40',
                             ['--label', 'a=b', 'busybox'])
        self.assertEqual(['a=b'], args.label)

    def test_invalid_name(self):
        e = self.assertRaises(exceptions.CommandError, self.run_hook, '1.40',
                              ['--device-profile', 'cam era', 'busybox'])
        self.assertIn("'cam era' is not a valid name", str(e))

    def test_option_and_label_together(self):
        e = self.assertRaises(
            exceptions.CommandError, self.run_hook, '1.40',
            ['--device-profile', 'camera', '--label',
             '%s=sdr' % profiles.LABEL, 'busybox'])
        self.assertIn('not both', str(e))


class TestPatchedClient(HookTestCase):
    """Our python-zunclient series defines the option itself."""

    patched = True

    def test_no_second_option(self):
        # argparse refuses a second definition of one option.
        parser = self.parser(self.hook('1.41'))
        self.assertEqual(1, sum('--device-profile' in a.option_strings
                                for a in parser._actions))

    def test_the_installed_client_is_recognised(self):
        hook = osc_hook.DeviceProfileHook(command('1.41'))
        self.assertEqual(
            'device_profiles' in zun_containers.CREATION_ATTRIBUTES,
            hook.client_option)

    def test_the_field_at_1_41(self):
        args = self.run_hook('1.41', [
            '--device-profile', 'camera', '--device-profile', 'camera',
            '--device-profile', 'sdr', 'busybox'])
        self.assertEqual(['camera', 'sdr'], args.device_profiles)
        self.assertEqual([], args.label)

    def test_the_label_below_1_41(self):
        # A stock Zun API, or --os-container-api-version 1.40.
        args = self.run_hook('1.40', [
            '--device-profile', 'camera', '--label', 'team=edge',
            'busybox'])
        self.assertEqual(['team=edge', '%s=camera' % profiles.LABEL],
                         args.label)
        self.assertEqual([], args.device_profiles)

    def test_invalid_name_at_1_41(self):
        self.assertRaises(exceptions.CommandError, self.run_hook, '1.41',
                          ['--device-profile', 'cam,era', 'busybox'])

    def test_option_and_label_together_at_1_41(self):
        self.assertRaises(
            exceptions.CommandError, self.run_hook, '1.41',
            ['--device-profile', 'camera', '--label',
             '%s=sdr' % profiles.LABEL, 'busybox'])
