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

"""A hub's WireGuard interface through ``ip``, ``wg`` and, when the
kernel has no WireGuard, ``wireguard-go``.

Only the privsep daemon (``edge_channels.privileged``) calls these; it
keeps CAP_NET_ADMIN alone.  A program that a process of uid 0 starts
would get every capability back at ``execve``; each command here runs
with ``no_new_privs`` set, so the kernel gives it no more than the
daemon's CAP_NET_ADMIN.  Commands get argument lists, never a shell,
and only names and values the callers validated.
"""

import ctypes
import ipaddress
import json
import subprocess


#: prctl(2) option; setting it needs no capability.
PR_SET_NO_NEW_PRIVS = 38
_ENV = {'PATH': '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:'
                '/sbin:/bin',
        'LC_ALL': 'C',
        # Debian's wireguard-go refuses to run on Linux without it.
        'WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD': '1'}
COMMAND_TIMEOUT = 30
#: Routes of ours carry this protocol, so that routes someone else
#: adds on a hub's interface are never taken for stale ones.
ROUTE_PROTO = 'static'
KERNEL = 'kernel'
USERSPACE = 'userspace'


class CommandFailed(Exception):
    def __init__(self, args, returncode, stderr):
        super().__init__('%s exited with %d: %s' % (
            ' '.join(args), returncode, stderr.strip()[:500]))
        self.returncode = returncode
        self.stderr = stderr


def _no_new_privs():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), 'prctl(PR_SET_NO_NEW_PRIVS)')


def run(args, check=True, detach=False):
    """stdout of ``args``; ``detach``: in a session of its own (for
    wireguard-go, whose daemon must outlive this process).
    """
    proc = subprocess.run(  # noqa: S603 - fixed programs, checked args
        args, capture_output=True, text=True, env=_ENV,
        preexec_fn=_no_new_privs, close_fds=True, timeout=COMMAND_TIMEOUT,
        start_new_session=detach, stdin=subprocess.DEVNULL)
    if check and proc.returncode != 0:
        raise CommandFailed(args, proc.returncode, proc.stderr)
    return proc.stdout


def links():
    """Names of this network namespace's interfaces."""
    return [link['ifname'] for link in
            json.loads(run(['ip', '-j', 'link', 'show']) or '[]')]


def exists(device):
    return device in links()


def create(device, backend):
    """Create WireGuard interface ``device``; returns the backend that
    made it.  ``backend``: kernel, userspace or auto (kernel, else
    wireguard-go).
    """
    if backend in (KERNEL, 'auto'):
        try:
            run(['ip', 'link', 'add', 'dev', device, 'type', 'wireguard'])
            return KERNEL
        except CommandFailed:
            if backend == KERNEL:
                raise
    # wireguard-go forks its daemon and returns once the interface and
    # its control socket exist.
    run(['wireguard-go', device], detach=True)
    return USERSPACE


def delete(device):
    # A wireguard-go daemon exits when its interface goes.
    run(['ip', 'link', 'del', 'dev', device])


def configure(device, key_path, listen_port):
    run(['wg', 'set', device, 'listen-port', str(listen_port),
         'private-key', key_path])


def set_up(device):
    run(['ip', 'link', 'set', 'dev', device, 'up'])


def dump(device):
    """``parse_dump`` of ``wg show <device> dump``."""
    return parse_dump(run(['wg', 'show', device, 'dump']))


def parse_dump(text):
    """(private key, public key, listen port, {peer key: {allowed_ips,
    endpoint, latest_handshake}}) from ``wg show <device> dump``: the
    interface on the first line, then one peer a line, fields separated
    by tabs.
    """
    lines = text.splitlines()
    private, public, port = lines[0].split('\t')[:3]
    peers = {}
    for line in lines[1:]:
        fields = line.split('\t')
        allowed = [] if fields[3] == '(none)' else fields[3].split(',')
        peers[fields[0]] = {
            'allowed_ips': sorted(str(ipaddress.ip_network(a))
                                  for a in allowed),
            'endpoint': None if fields[2] == '(none)' else fields[2],
            'latest_handshake': int(fields[4]),
        }
    return private, public, int(port), peers


def addresses(device):
    found = []
    for link in json.loads(run(['ip', '-j', 'addr', 'show', 'dev', device])
                           or '[]'):
        for info in link.get('addr_info', ()):
            if info.get('scope') == 'link':
                continue
            found.append(str(ipaddress.ip_interface(
                '%s/%s' % (info['local'], info['prefixlen']))))
    return sorted(found)


def routes(device):
    """Our routes on ``device`` (those of protocol ROUTE_PROTO)."""
    found = []
    for family in ('-4', '-6'):
        for route in json.loads(run(['ip', '-j', family, 'route', 'show',
                                     'dev', device, 'proto', ROUTE_PROTO])
                                or '[]'):
            found.append(str(ipaddress.ip_network(route['dst'])))
    return sorted(found)


def peer_set(device, public_key, allowed_ips):
    run(['wg', 'set', device, 'peer', public_key, 'allowed-ips',
         ','.join(allowed_ips)])


def peer_remove(device, public_key):
    run(['wg', 'set', device, 'peer', public_key, 'remove'])


def address_add(device, cidr):
    run(['ip', 'addr', 'add', cidr, 'dev', device])


def address_del(device, cidr):
    run(['ip', 'addr', 'del', cidr, 'dev', device])


def route_add(device, cidr):
    run(['ip', 'route', 'replace', cidr, 'dev', device,
         'proto', ROUTE_PROTO])


def route_del(device, cidr):
    run(['ip', 'route', 'del', cidr, 'dev', device, 'proto', ROUTE_PROTO])
