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

"""The network plumbing of a device's channels: ``ip``, ``wg`` and, when
the kernel has no WireGuard, ``wireguard-go``.

These functions run inside the privsep daemon (``edge_sdk.privileged``),
which keeps only CAP_NET_ADMIN.  A program started by a process of uid 0
would get every capability back at ``execve``; each command here is
started with ``no_new_privs`` set, which makes the kernel give it no
more than the daemon's CAP_NET_ADMIN.  Only interfaces named ``ec-*``
are touched, and every argument is validated before it reaches a
command line.
"""

import ctypes
import json
import subprocess

from edge_sdk import wireguard


#: prctl(2) option; no capability is needed to set it.
PR_SET_NO_NEW_PRIVS = 38
#: The only environment the commands get.
_ENV = {'PATH': '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:'
                '/sbin:/bin',
        'LC_ALL': 'C',
        # Debian's wireguard-go refuses to start on Linux without it.
        'WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD': '1'}
KIND_KERNEL = 'wireguard'
KIND_USERSPACE = 'wireguard-go'
COMMAND_TIMEOUT = 30


class CommandFailed(Exception):
    pass


def _no_new_privs():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), 'prctl(PR_SET_NO_NEW_PRIVS)')


def run(args, stdin=None, check=True):
    """Run ``args`` (a list, no shell); its stdout as text."""
    # Fixed programs; every argument validated by the callers.
    proc = subprocess.run(  # noqa: S603
        args, input=stdin, capture_output=True, text=True, env=_ENV,
        preexec_fn=_no_new_privs, close_fds=True, timeout=COMMAND_TIMEOUT)
    if check and proc.returncode:
        raise CommandFailed('%s failed (exit %d): %s' % (
            ' '.join(args[:4]), proc.returncode, proc.stderr.strip()))
    return proc


def _link(ifname):
    proc = run(['ip', '-d', '-j', 'link', 'show', 'dev', ifname],
               check=False)
    if proc.returncode:
        return None
    links = json.loads(proc.stdout or '[]')
    return links[0] if links else None


def link_kind(ifname):
    """``wireguard`` (kernel), ``tun`` (wireguard-go), another kind, or
    None when there is no such interface.
    """
    link = _link(wireguard.check_interface(ifname))
    if link is None:
        return None
    return (link.get('linkinfo') or {}).get('info_kind') or 'unknown'


def list_interfaces():
    """Names of the SDK's interfaces (``ec-*``) in this namespace."""
    links = json.loads(run(['ip', '-j', 'link', 'show']).stdout or '[]')
    return sorted(link['ifname'] for link in links
                  if link.get('ifname', '').startswith(
                      wireguard.IFNAME_PREFIX))


def create(ifname):
    """Make WireGuard interface ``ifname`` unless it exists: kernel
    WireGuard when the kernel has it, else wireguard-go.  Returns which.
    """
    kind = link_kind(ifname)
    if kind == KIND_KERNEL:
        return KIND_KERNEL
    if kind == 'tun':
        return KIND_USERSPACE
    if kind is not None:
        raise CommandFailed(
            'interface %s exists and is not WireGuard (%s): remove it '
            '("ip link del %s") or rename the channel' % (ifname, kind,
                                                          ifname))
    if not run(['ip', 'link', 'add', 'dev', ifname, 'type', 'wireguard'],
               check=False).returncode:
        return KIND_KERNEL
    try:
        run(['wireguard-go', ifname])
    except FileNotFoundError:
        raise CommandFailed(
            'the kernel has no WireGuard and wireguard-go is not '
            'installed: install it ("apt-get install wireguard-go '
            'wireguard-tools") or load the wireguard module')
    return KIND_USERSPACE


def configure(tunnel, private_key, listen_port=None):
    """Replace the WireGuard configuration of ``tunnel.ifname``."""
    text = wireguard.render(private_key, tunnel.peers, listen_port)
    try:
        run(['wg', 'setconf', tunnel.ifname, '/dev/stdin'], stdin=text)
    except CommandFailed as e:
        # wg quotes lines it cannot parse: never let one carry the key.
        raise CommandFailed(str(e).replace(private_key, '<private key>'))


def addresses(ifname):
    """The interface's addresses but link-local ones, "ip/prefix"."""
    proc = run(['ip', '-j', 'address', 'show', 'dev', ifname])
    return [('%s/%s' % (a['local'], a['prefixlen']))
            for link in json.loads(proc.stdout or '[]')
            for a in link.get('addr_info', [])
            if a.get('scope') != 'link']


def set_address(ifname, address):
    """Make ``address`` (an ``ip_interface``) the interface's only
    address.
    """
    if addresses(ifname) == [str(address)]:
        return
    run(['ip', 'address', 'flush', 'dev', ifname, 'scope', 'global'])
    run(['ip', 'address', 'add', str(address), 'dev', ifname])


def set_up(ifname):
    run(['ip', 'link', 'set', 'dev', ifname, 'up'])


def delete(ifname):
    """Remove ``ifname``; wireguard-go exits with its TUN device."""
    if link_kind(ifname) is not None:
        run(['ip', 'link', 'del', 'dev', ifname])


def show(ifname):
    """Public facts of the interface (never its private key)."""
    link = _link(wireguard.check_interface(ifname))
    if link is None:
        return None
    lines = run(['wg', 'show', ifname, 'dump']).stdout.splitlines()
    if not lines:
        return None
    head = lines[0].split('\t')
    result = {'public_key': head[1],
              'listen_port': int(head[2]) if head[2].isdigit() else None,
              'addresses': addresses(ifname),
              'up': 'UP' in link.get('flags', ()),
              'peers': []}
    for line in lines[1:]:
        f = line.split('\t')
        # public, preshared (dropped), endpoint, allowed-ips, latest
        # handshake, rx, tx, keepalive
        result['peers'].append({
            'public_key': f[0],
            'endpoint': None if f[2] == '(none)' else f[2],
            'allowed_ips': [] if f[3] == '(none)' else f[3].split(','),
            'latest_handshake': int(f[4]),
            'rx_bytes': int(f[5]), 'tx_bytes': int(f[6]),
            'keepalive': 0 if f[7] == 'off' else int(f[7])})
    return result

