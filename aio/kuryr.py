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

"""kuryr-libnetwork: the Docker network and IPAM plugin of this cloud.

Docker finds a remote plugin by name: ``/run/docker/plugins/<name>.sock``.
Each cloud's Kuryr answers on its own socket there, ``kuryr-<cloud id>``
(Zun's ``[network] driver_name``), so that clouds side by side, or a
real Kuryr on the host, do not meet.  /run is emptied at boot: nothing
of a cloud outlives the machine.

Kuryr plugs a container's veth with kuryr-lib, which runs the program
named after the port's ``binding:vif_type`` in ``[DEFAULT] bindir``.
Neutron's ``edge_bridge`` driver binds ports with vif_type "bridge";
this cloud's bindir holds a "bridge" script that runs
``edge_channels.host.vif`` with the cloud's bridge prefix.

A compute host with a Docker engine of its own (``aio.dockerd``) has
its own Kuryr, in that engine's mount and UTS namespaces: it answers on
the engine's plugin directory and binds ports to the host's name (Kuryr
sets ``binding:host_id`` to its host name).  It shares the cloud's
Neutron, bridge prefix and bridge lock.

What a cloud leaves on the host is in ``Kuryr.record`` (JSON); ``stop``
removes it, and so does ``Kuryr.teardown(record)`` once the cloud is
gone.
"""

import http.client
import json
import os
import socket
import subprocess

from aio import keystone as keystone_mod
from aio import service
from edge_channels.host import bridges as bridges_mod


PLUGIN_DIR = '/run/docker/plugins'
#: The vif_type of ports bound by edge_bridge, hence the script's name.
VIF_TYPE = 'bridge'


def plugin_name(cloud_id):
    """Docker's name of the cloud's Kuryr: Zun's [network] driver_name."""
    return 'kuryr-%s' % cloud_id


def bridge_prefix(cloud_id):
    """The cloud's ``[edge_bridge] bridge_prefix``: 'e' and its ID."""
    return 'e%s' % cloud_id


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__('localhost', timeout=5)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


def activated(path):
    """Whether the plugin on socket ``path`` answers Docker's handshake
    as a network and IPAM driver.
    """
    conn = _UnixHTTPConnection(path)
    try:
        conn.request('POST', '/Plugin.Activate', body='{}')
        answer = json.loads(conn.getresponse().read() or b'{}')
    except (OSError, ValueError, http.client.HTTPException):
        return False
    finally:
        conn.close()
    return set(answer.get('Implements', ())) >= {'NetworkDriver',
                                                 'IpamDriver'}


class Kuryr:
    """kuryr-libnetwork under uWSGI, as Keystone user ``user`` (which
    needs the ``service`` role: Kuryr sets ``binding:host_id``).

    It serves the machine's Docker engine, or ``engine`` (an
    ``aio.dockerd.Dockerd``, started), in whose namespaces it then runs;
    such a Kuryr takes the bridge lock directory ``lock_dir`` of the
    cloud's.
    """

    def __init__(self, workdir, logs, keystone, cloud_id, user='kuryr',
                 engine=None, lock_dir=None):
        self.dir = os.path.join(workdir, 'kuryr')
        self.engine = engine
        self.log = os.path.join(logs, 'kuryr.log' if engine is None else
                                'kuryr-%s.log' % engine.hostname)
        self.keystone = keystone
        self.user = user
        self.name = plugin_name(cloud_id)
        self.bridge_prefix = bridge_prefix(cloud_id)
        self.plugin_dir = PLUGIN_DIR if engine is None else engine.plugin_dir
        self.socket_path = os.path.join(self.plugin_dir, self.name + '.sock')
        self.conf = os.path.join(self.dir, 'kuryr.conf')
        self.bindir = os.path.join(self.dir, 'bin')
        self.lock_dir = lock_dir or os.path.join(self.dir, 'locks')
        self.process = None

    @property
    def record(self):
        """What this Kuryr leaves on the host, for ``teardown``."""
        return {'plugin': self.name, 'socket': self.socket_path,
                'bridge_prefix': self.bridge_prefix,
                'lock_dir': self.lock_dir,
                'docker': None if self.engine is None else self.engine.url}

    def setup(self):
        for path in (self.dir, self.bindir, self.lock_dir):
            os.makedirs(path, exist_ok=path == self.lock_dir)
        script = os.path.join(self.bindir, VIF_TYPE)
        with open(script, 'w') as f:
            f.write('#!/bin/sh\n'
                    '# kuryr-lib runs <bindir>/<binding:vif_type>.\n'
                    'exec %s -m edge_channels.host.vif --prefix %s '
                    '--lock-dir %s "$@"\n'
                    % (service.bin_path('python'), self.bridge_prefix,
                       self.lock_dir))
        os.chmod(script, 0o700)
        neutron = dict(self.keystone.credentials(self.user),
                       auth_type='password',
                       region_name=keystone_mod.REGION,
                       endpoint_type='public')
        service.write_conf(self.conf, {
            'DEFAULT': {'log_file': self.log,
                        'bindir': self.bindir,
                        'capability_scope': 'local',
                        # edge_bridge does not filter (port_filter False):
                        # security groups for exposed ports would promise
                        # a protection nothing enforces.
                        'process_external_connectivity': 'false'},
            'neutron': neutron,
        })
        os.makedirs(self.plugin_dir, mode=0o700, exist_ok=True)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(self.socket_path)
            listener.listen(service.LISTEN_BACKLOG)
        except OSError:
            listener.close()
            raise
        # Kuryr reads its options from sys.argv when uWSGI imports it.
        self.process = service.uwsgi(
            'kuryr', 'kuryr_libnetwork.server:app', listener, self.log,
            pyargv='--config-file %s' % self.conf)
        if self.engine is not None:
            # It inherits its socket through nsenter, which execs it.
            self.process.argv[:0] = self.engine.enter()

    def start(self, on_start):
        """Start; ``on_start(process)`` once it runs, before it answers."""
        on_start(self.process.start())
        self.process.wait_until(lambda: activated(self.socket_path),
                                'Docker plugin handshake on %s'
                                % self.socket_path)

    def stop(self, progress=None):
        """Remove the cloud's Docker networks (Kuryr still answering),
        stop Kuryr, remove the bridges and the socket; returns the
        problems met.
        """
        errors = remove_docker_networks(self.name, progress,
                                        self.record['docker'])
        if self.process is not None:
            self.process.stop()
        return errors + Kuryr.teardown(self.record, progress)

    @staticmethod
    def teardown(record, progress=None):
        """Remove what ``record`` (``Kuryr.record``) names from the host:
        Docker networks of the plugin, bridges of the prefix with the
        veths left on them, the plugin's socket.  Returns the problems
        met.
        """
        progress = progress or (lambda message: None)
        errors = remove_docker_networks(record['plugin'], progress,
                                        record.get('docker'))
        os.makedirs(record['lock_dir'], exist_ok=True)
        bridges = bridges_mod.Bridges(record['bridge_prefix'],
                                      record['lock_dir'])
        try:
            removed = bridges.remove_all()
        except (OSError, bridges_mod.BridgeError) as e:
            errors.append('bridges %s*: %s' % (record['bridge_prefix'], e))
        else:
            if removed:
                progress('removed the interfaces %s' % ', '.join(removed))
        try:
            os.unlink(record['socket'])
            progress('removed the Docker plugin socket %s'
                     % record['socket'])
        except FileNotFoundError:
            pass
        except OSError as e:
            errors.append('%s: %s' % (record['socket'], e))
        return errors


def _docker(url, *args):
    """The docker CLI on the engine at ``url`` (None: the machine's)."""
    return subprocess.run(
        ['docker'] + (['--host', url] if url else []) + list(args),
        capture_output=True, text=True, check=False)


def docker_networks(plugin, url=None):
    """Names of the Docker networks whose driver is ``plugin``, on the
    engine at ``url`` (None: the machine's).
    """
    result = _docker(url, 'network', 'ls', '--no-trunc', '--filter',
                     'driver=%s' % plugin, '--format', '{{.Name}}')
    if result.returncode != 0:
        if url and 'Cannot connect' in result.stderr:
            # A host's own engine, stopped: its networks go with its
            # data, in the cloud's work directory.
            return []
        raise RuntimeError('docker network ls: %s' % result.stderr.strip())
    return result.stdout.split()


def remove_docker_networks(plugin, progress=None, url=None):
    """Remove the Docker networks of driver ``plugin`` (Zun creates one
    per Neutron network, named after it, and never removes it) from the
    engine at ``url`` (None: the machine's).
    """
    progress = progress or (lambda message: None)
    try:
        names = docker_networks(plugin, url)
    except RuntimeError as e:
        return [str(e)]
    errors = []
    for name in names:
        result = _docker(url, 'network', 'rm', name)
        if result.returncode == 0:
            progress('removed the Docker network %s' % name)
        else:
            errors.append('docker network rm %s: %s'
                          % (name, result.stderr.strip()))
    return errors
