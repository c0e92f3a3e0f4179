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

With ``--edge`` the peripherals and the container are on an emulated
edge host (``Cloud.add_edge_host``): a network namespace that enrolls
through the enrollment service and reaches the cloud only through the
WireGuard channels it was given; the report shows its hardware item as
``openstack hardware show`` does.
"""

import argparse
import collections
import json
import os
import shlex
import subprocess
import sys

from aio import cloud as cloud_mod
from aio import edge as edge_mod
from aio import service
from aio import zun as aio_zun


#: The device profile ``_profiles`` makes for cameras.
CAMERA_PROFILE = 'aio-camera'
#: The demo's container.
CONTAINER = 'aio-demo'
#: The emulated edge host of ``--edge``.
EDGE_HOST = 'aio-edge'


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


def _report(cloud, host, providers, arqs, read, profile):
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
    print('Peripherals in Placement (under provider %s):' % host)
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
    return _run_demo_container(cloud, cloud.first, providers)


def _edge_demo(cloud):
    """The demo on an emulated edge host with the edge kit; the cloud's
    own host has no peripheral.
    """
    cloud.start()
    kit = cloud.edge_kit(host=EDGE_HOST)
    host = cloud.add_edge_host(EDGE_HOST, kit)
    edge = cloud.edge_hosts[EDGE_HOST]
    with cloud.step('Cyborg agent report to Placement, through the tunnel'):
        providers = host.wait_for_providers(len(kit.devices))
    with cloud.step('device profiles (openstack accelerator device '
                    'profile create)'):
        profiles = _profiles(cloud, providers)
    with cloud.step('enrollment: every worker STEADY, the device profiles '
                    'in the hardware item (openstack hardware sync, show)'):
        shown = edge.wait_enrolled(profiles)
    _report_edge(cloud, edge, host, providers)
    _report_enrollment(edge, shown)
    return _run_demo_container(cloud, host, providers, profiles)


def _report_enrollment(edge, shown):
    print('\n=== Enrollment of %s' % edge.name)
    print('The owner (demo) ran once, in the namespace, with their '
          'password:')
    print('  edge-sdk register --machine-name %s --contact-email %s'
          % (edge_mod.MACHINE_NAME, edge_mod.CONTACT_EMAIL))
    print('The enrollment service made its channels and an application '
          'credential, which the SDK keeps in %s (mode 0600); "edge-sdk '
          'up" ran with no OS_* variable at all.' % edge.credential_file)
    print('Its hardware item (openstack hardware show %s, as demo):'
          % edge.name)
    props = shown['properties']
    for key, value in (('uuid', shown['uuid']),
                       ('project_id', shown['project_id']),
                       ('hardware_type', shown['hardware_type']),
                       ('machine_name', props.get('machine_name'))):
        print('  %-19s %s' % (key, value))
    for worker in shown['workers']:
        details = worker['state_details']
        note = details.get('last_error') or ', '.join(
            '%s=%s' % (k, details[k]) for k in (
                'application_credential_id', 'compute_node')
            if details.get(k)) or ''
        print('  %-19s %-8s %s' % ('worker ' + worker['worker_type'],
                                   worker['state'], note))
    print('  %-19s %s' % ('device_profiles', ', '.join(
        props.get('device_profiles') or []) or '(none)'))


def _report_edge(cloud, edge, host, providers):
    print('\n=== Edge host %s' % edge.name)
    print('Network namespace %s; its only link to the cloud is the '
          'underlay %s (the cloud end is %s).'
          % (edge.ns, edge.address, edge.veth))
    print('Its services, in that namespace, reach the cloud at 127.0.0.1 '
          'only through the control channel:')
    for process in host.processes():
        print('  pid %-7d %s' % (process.pid, process.name))
    print('Tunnelled to the cloud: %s'
          % ', '.join('%s %d' % item for item in sorted(
              cloud.tunnelled().items())))
    print('Its channels (wg show in the namespace; the cloud\'s end is '
          'the hub agent\'s %s):' % edge.hub_device)
    for line in edge.ns_run(['wg', 'show']).stdout.splitlines():
        print('  ' + line)
    print('Peripherals it reported through the tunnel (providers under '
          '%s):' % host.name)
    for rp in providers:
        print('  %s: %s' % (rp['name'], ', '.join(sorted(
            rp['inventories']))))


def _run_demo_container(cloud, host, providers, profiles=None):
    """Create the profiles (unless ``profiles`` names those made),
    run the demo's container, report, delete it; whether it read its
    device and left nothing.
    """
    if profiles is None:
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
    _report(cloud, host.name, providers, arqs, read, profile)
    read_from = {node for node, data in aio_zun.parse_read(read).items()
                 if data}
    if cloud.emulated:
        # The emulated kit's camera, which the container asked for.
        read_from &= {n for n, (c, _b) in cloud.backing.items()
                      if c == 'camera'}
    ok = container.status == 'Stopped' and bool(read_from)
    # Its host is for the administrator's eyes.
    ran_on = cloud.zun.client('admin').containers.get(ident).host
    if ran_on != host.name:
        print('aio: the container ran on %s, not on %s'
              % (ran_on, host.name), file=sys.stderr)
        ok = False
    if not ok:
        print('aio: the container is %s: %s' % (container.status,
                                                container.status_reason),
              file=sys.stderr)
    # Also with --keep: the user's own containers get the devices.
    with cloud.step('container deleted, and nothing left'):
        leaked = aio_zun.delete(demo, ident, [
            h.docker_url for h in cloud.hosts.values()])
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
    if cloud.edge_hosts:
        print('As demo, see the edge host\'s enrollment:')
        print('  openstack hardware list --long')
        for name in cloud.edge_hosts:
            print('  openstack hardware show %s' % name)
    print('\nTear it down with: ./tools/aio --teardown %s' % cloud.workdir)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='tools/aio', description='An all-in-one cloud with Keystone, '
        'Placement, Neutron, Cyborg with peripheral_driver and Zun, and a '
        'container that reads a device through it.')
    parser.add_argument('--db', choices=('sqlite', 'mariadb'),
                        help='the services\' databases (default: sqlite; '
                        'mariadb with --edge)')
    parser.add_argument('--emulated', action='store_true',
                        help='use the emulated edge kit even if this host '
                        'has peripherals')
    parser.add_argument('--edge', action='store_true',
                        help='put the emulated edge kit and the container '
                        'on an emulated edge host: a network namespace '
                        'that reaches the cloud only through its '
                        'WireGuard channels (implies --emulated; needs '
                        'MariaDB)')
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
    db = args.db or ('mariadb' if args.edge else 'sqlite')
    if args.edge and db != 'mariadb':
        parser.error('--edge needs --db mariadb: zun-compute on the edge '
                     'host reaches its database through the tunnel')
    emulated = args.emulated or args.edge
    peripherals = 0 if emulated else len(_real_peripherals())
    if not emulated and not peripherals:
        _progress('no peripherals on this host: using the emulated edge kit')
        emulated = True
    cloud = cloud_mod.Cloud(workdir=args.workdir, db=db,
                            emulated=emulated, progress=_progress,
                            edge=args.edge)
    try:
        ok = _edge_demo(cloud) if args.edge else _demo(cloud, peripherals)
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
