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

"""``tools/aio``: bring up the cloud, run a container with a device.

See README.rst.  Exit status 0 means a container that a user ran with
``openstack appcontainer run --device-profile`` read a device that the
real Cyborg discovered, reported and bound, and (without ``--keep``)
that deleting it left no accelerator request and no allocation.
"""

import argparse
import collections
import json
import os
import shlex
import subprocess
import sys

from aio import cloud as cloud_mod
from aio import service
from aio import zun as aio_zun


#: The device profile ``_profiles`` makes for cameras.
CAMERA_PROFILE = 'aio-camera'
#: The demo's container.
CONTAINER = 'aio-demo'


def _progress(message):
    print('aio: %s' % message, flush=True)


def _real_peripherals():
    result = subprocess.run(
        [service.bin_path('cyborg-peripherals'), 'discover', '--format',
         'json'], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        _progress('cyborg-peripherals discover failed: %s'
                  % result.stderr.strip())
        return []
    return json.loads(result.stdout)


def _profiles(cloud, providers):
    """Create a device profile per resource class with the real CLI.

    Returns their names.
    """
    names = []
    for rc in sorted({rc for rp in providers for rc in rp['inventories']}):
        name = rc.lower().replace('custom_peripheral_', 'aio-')
        cloud.openstack('accelerator', 'device', 'profile', 'create', name,
                        '--group', 'resources:%s=1' % rc)
        names.append(name)
    return names


def _report(cloud, providers, arqs, read, profile):
    print('\n=== Report')
    if cloud.backing:
        print('Emulated peripherals (udev records of real models; each '
              'device node is a real character device of this host):')
        users = collections.Counter(b for _c, b in cloud.backing.values())
        for node, (device_class, backing) in sorted(
                cloud.backing.items(), key=lambda item: item[1]):
            st = os.stat(node)
            print('  %-7s %-40s %d:%d, as %s%s'
                  % (device_class, node, os.major(st.st_rdev),
                     os.minor(st.st_rdev), backing,
                     ' (shared: this host has too few)'
                     if users[backing] > 1 else ''))
    print('Peripherals in Placement (under provider %s):' % cloud.host)
    for rp in providers:
        inventory = ', '.join('%s=%d' % (rc, inv['total'])
                              for rc, inv in rp['inventories'].items())
        print('  %s\n      inventory: %s\n      traits: %s'
              % (rp['name'], inventory, ', '.join(rp['traits'])))
    print('Accelerator requests of the container (device profile %s):'
          % profile)
    for arq in arqs:
        print('  %s %s %s' % (arq['uuid'], arq['state'],
                              arq['attach_handle_info']))
    print('The container read:')
    for line in read.strip().splitlines():
        print('  ' + line)
    print('Timings:')
    for what, seconds in cloud.timings.items():
        print('  %-64s %6.1fs' % (what, seconds))


def run_command(profile, name=CONTAINER, options=('-f', 'json')):
    """The ``openstack`` arguments that run the demo's container;
    ``options`` go before the image (what follows it is its command).
    """
    # No registry is reachable: the image is on the host already.
    return ['appcontainer', 'run', '--image-pull-policy', 'ifnotpresent',
            '--device-profile', profile, '--name', name] + list(options) + [
            aio_zun.IMAGE, 'sh', '-c', aio_zun.READ_DEVICES]


def leftovers(cloud, ident):
    """What a deleted container left: its accelerator requests (as the
    demo user sees them) and its Placement allocations.
    """
    arqs = [a for a in json.loads(cloud.openstack(
        'accelerator', 'arq', 'list', '--long', '-f', 'json', user='demo'))
        if ident in (a.get('instance_uuid'), a.get('Instance UUID'))]
    allocations = json.loads(cloud.openstack(
        'resource', 'provider', 'allocation', 'show', ident, '-f', 'json'))
    return arqs, allocations


def _demo(cloud, peripherals):
    """Run the demo on ``cloud``: an emulated cloud plugs the edge kit,
    one on this host's devices expects the agent to report the
    ``peripherals`` that ``cyborg-peripherals discover`` found, one
    provider each.
    """
    kit = None
    if cloud.emulated:
        kit = cloud.edge_kit()
        peripherals = len(kit.devices)
    cloud.start(kit=kit)
    with cloud.step('Cyborg agent report to Placement'):
        providers = cloud.wait_for_providers(peripherals)
    with cloud.step('device profiles (openstack accelerator device '
                    'profile create)'):
        profiles = _profiles(cloud, providers)
    # The camera when there is one: the peripheral edge hosts have most.
    profile = CAMERA_PROFILE if CAMERA_PROFILE in profiles else profiles[-1]
    with cloud.step('openstack appcontainer run --device-profile %s, as '
                    'demo' % profile):
        ident = json.loads(cloud.openstack(*run_command(profile),
                                           user='demo'))['uuid']
    demo = cloud.zun.client('demo')
    with cloud.step('container scheduled, bound, run and exited'):
        container = aio_zun.wait_status(demo, ident, ('Stopped', 'Error'))
    read = cloud.openstack('appcontainer', 'logs', ident, user='demo')
    arqs = json.loads(cloud.openstack('accelerator', 'arq', 'list', '-f',
                                      'json', '--long', user='demo'))
    arqs = [{'uuid': a.get('uuid') or a.get('UUID'),
             'state': a.get('state') or a.get('State'),
             'attach_handle_info': a.get('attach_handle_info') or
             a.get('Attach Handle Info')} for a in arqs]
    _report(cloud, providers, arqs, read, profile)
    read_from = {node for node, data in aio_zun.parse_read(read).items()
                 if data}
    if cloud.emulated:
        # The emulated kit's camera, which the container asked for.
        read_from &= {n for n, (c, _b) in cloud.backing.items()
                      if c == 'camera'}
    ok = container.status == 'Stopped' and bool(read_from)
    if not ok:
        print('aio: the container is %s: %s' % (container.status,
                                                container.status_reason),
              file=sys.stderr)
    # Also with --keep: the user's own containers get the devices.
    with cloud.step('container deleted, and nothing left'):
        leaked = aio_zun.delete(demo, ident, [cloud.first.docker_url])
        arqs, allocations = leftovers(cloud, ident)
    if arqs or allocations or leaked:
        print('aio: the deleted container left accelerator requests %s, '
              'allocations %s%s' % (arqs, allocations,
                                    ' and its Docker container (removed '
                                    'now)' if leaked else ''),
              file=sys.stderr)
        ok = False
    return ok


def _print_keep(cloud, paths):
    print('\nThe cloud is still running (work directory %s).'
          % cloud.workdir)
    print('Use the openstack command as its administrator or as the demo '
          'user, who owns the container:')
    for path in paths:
        print('  . %s' % shlex.quote(path))
    print('\nTear it down with: ./tools/aio --teardown %s' % cloud.workdir)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='tools/aio', description='An all-in-one cloud with Keystone, '
        'Placement, Neutron, Cyborg with peripheral_driver and Zun, and a '
        'container that reads a device through it.')
    parser.add_argument('--db', choices=('sqlite', 'mariadb'),
                        default='sqlite')
    parser.add_argument('--emulated', action='store_true',
                        help='use the emulated edge kit even if this host '
                        'has peripherals')
    parser.add_argument('--keep', action='store_true',
                        help='leave the cloud running, and write the '
                        'openstack CLI settings of its admin and demo '
                        'users to WORKDIR/openrc and WORKDIR/openrc-demo')
    parser.add_argument('--workdir', help='where configs, databases and '
                        'logs go (default: a new directory under /tmp)')
    parser.add_argument('--teardown', metavar='WORKDIR',
                        help='remove a cloud left running with --keep')
    args = parser.parse_args(argv)
    if args.teardown:
        errors = cloud_mod.Cloud.teardown(args.teardown,
                                          progress=_progress)
        for error in errors:
            print('aio: %s' % error, file=sys.stderr)
        return 1 if errors else 0
    emulated = args.emulated
    peripherals = 0 if emulated else len(_real_peripherals())
    if not emulated and not peripherals:
        _progress('no peripherals on this host: using the emulated edge kit')
        emulated = True
    cloud = cloud_mod.Cloud(workdir=args.workdir, db=args.db,
                            emulated=emulated, progress=_progress)
    try:
        ok = _demo(cloud, peripherals)
    except (service.ServiceFailed, RuntimeError) as e:
        print('aio: FAILED: %s' % e, file=sys.stderr)
        cloud.stop(remove_workdir=False)
        print('aio: logs kept in %s' % cloud.logs, file=sys.stderr)
        return 1
    except BaseException:
        cloud.stop(remove_workdir=False)
        print('aio: logs kept in %s' % cloud.logs, file=sys.stderr)
        raise
    if args.keep:
        cloud.detach()
        _print_keep(cloud, cloud.write_openrc())
    else:
        with cloud.step('teardown'):
            errors = cloud.stop(remove_workdir=ok)
        for error in errors:
            print('aio: teardown: %s' % error, file=sys.stderr)
    if not ok:
        print('aio: FAILED: the container did not read its device (logs '
              'in %s)' % cloud.logs, file=sys.stderr)
        return 1
    print('aio: OK')
    return 0


if __name__ == '__main__':
    sys.exit(main())
