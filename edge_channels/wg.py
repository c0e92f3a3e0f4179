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

"""WireGuard interfaces through ``ip``, ``wg`` and, when the kernel has
no WireGuard, ``wireguard-go``: what the hub agent
(``edge_channels.agent.linux``) and the Edge SDK (``edge_sdk.netdev``)
both do to theirs.

Only privsep daemons that keep CAP_NET_ADMIN alone call these
(``edge_channels.privileged``, ``edge_sdk.privileged``).  A program
that a process of uid 0 starts would get every capability back at
``execve``; each command here runs with ``no_new_privs`` set, so the
kernel gives it no more than the daemon's CAP_NET_ADMIN.  Commands get
argument lists, never a shell, a fixed environment, and only names and
values the callers validated.  Private keys reach ``wg`` on its
standard input or as a file's path, never on a command line; an error
never carries one.
"""

import ctypes
import ipaddress
import json
import subprocess


#: prctl(2) option; setting it needs no capability.
PR_SET_NO_NEW_PRIVS = 38
#: The only environment the commands get.
ENV = {'PATH': '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:'
               '/sbin:/bin',
       'LC_ALL': 'C',
       # Debian's wireguard-go refuses to run on Linux without it.
       'WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD': '1'}
COMMAND_TIMEOUT = 30
#: Backends, as ``create`` takes and returns them.
KERNEL = 'kernel'
USERSPACE = 'userspace'
AUTO = 'auto'
#: ``ip -d link``'s kind of an interface of each backend.
KIND_KERNEL = 'wireguard'
KIND_USERSPACE = 'tun'


class CommandFailed(Exception):
    # The exception's args are its constructor's: oslo.privsep rebuilds
    # an exception raised in its daemon from the class and the args, and
    # a message alone would not build this one again.
    def __init__(self, args, returncode, stderr):
        super().__init__(list(args), returncode, stderr)
        self.returncode = returncode
        self.stderr = stderr

    def __str__(self):
        return '%s exited with %d: %s' % (
            ' '.join(self.args[0]), self.returncode,
            self.stderr.strip()[:500])


def _no_new_privs():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), 'prctl(PR_SET_NO_NEW_PRIVS)')


def run(args, check=True, stdin=None, detach=False):
    """The CompletedProcess (text) of ``args``; ``stdin``: text for its
    standard input; ``detach``: in a session of its own (for
    wireguard-go, whose daemon must outlive the process that made it).
    """
    proc = subprocess.run(  # noqa: S603 - fixed programs, checked args
        args, input=stdin, capture_output=True, text=True, env=ENV,
        preexec_fn=_no_new_privs, close_fds=True, timeout=COMMAND_TIMEOUT,
        start_new_session=detach,
        stdin=subprocess.DEVNULL if stdin is None else None)
    if check and proc.returncode != 0:
        raise CommandFailed(args, proc.returncode, proc.stderr)
    return proc


def output(args):
    """stdout of ``args``, which must succeed."""
    return run(args).stdout


def links():
    """Names of this network namespace's interfaces."""
    return [link['ifname'] for link in
            json.loads(output(['ip', '-j', 'link', 'show']) or '[]')]


def exists(device):
    return device in links()


def link(device):
    """``ip -d -j link show`` of ``device``; None if there is none."""
    proc = run(['ip', '-d', '-j', 'link', 'show', 'dev', device],
               check=False)
    if proc.returncode:
        return None
    found = json.loads(proc.stdout or '[]')
    return found[0] if found else None


def link_kind(device):
    """``wireguard`` (kernel), ``tun`` (wireguard-go), another kind, or
    None when there is no such interface.
    """
    found = link(device)
    if found is None:
        return None
    return (found.get('linkinfo') or {}).get('info_kind') or 'unknown'


def create(device, backend=AUTO):
    """Make WireGuard interface ``device`` unless it is there; returns
    the backend that has it (KERNEL or USERSPACE).  ``backend``:
    KERNEL, USERSPACE or AUTO (kernel, else wireguard-go).
    """
    kind = link_kind(device)
    if kind == KIND_KERNEL:
        return KERNEL
    if kind == KIND_USERSPACE:
        return USERSPACE
    if kind is not None:
        raise CommandFailed(
            ['create', device], 1,
            'interface %s exists and is not WireGuard (%s): remove it '
            '("ip link del %s") or use another name' % (device, kind,
                                                        device))
    if backend in (KERNEL, AUTO):
        proc = run(['ip', 'link', 'add', 'dev', device, 'type',
                    'wireguard'], check=False)
        if not proc.returncode:
            return KERNEL
        if backend == KERNEL:
            raise CommandFailed(proc.args, proc.returncode, proc.stderr)
    # wireguard-go forks its daemon and returns once the interface and
    # its control socket exist.
    try:
        run(['wireguard-go', device], detach=True)
    except FileNotFoundError:
        raise CommandFailed(
            ['wireguard-go', device], 127,
            'the kernel has no WireGuard and wireguard-go is not '
            'installed: install it ("apt-get install wireguard-go '
            'wireguard-tools") or load the wireguard module')
    return USERSPACE


def delete(device):
    # A wireguard-go daemon exits when its interface goes.
    run(['ip', 'link', 'del', 'dev', device])


def set_up(device):
    run(['ip', 'link', 'set', 'dev', device, 'up'])


def addresses(device):
    """The interface's addresses but link-local ones, "ip/prefix",
    sorted.
    """
    found = []
    for entry in json.loads(output(['ip', '-j', 'addr', 'show', 'dev',
                                    device]) or '[]'):
        for info in entry.get('addr_info', ()):
            if info.get('scope') == 'link':
                continue
            found.append(str(ipaddress.ip_interface(
                '%s/%s' % (info['local'], info['prefixlen']))))
    return sorted(found)


def dump(device):
    """``parse_dump`` of ``wg show <device> dump``."""
    return parse_dump(output(['wg', 'show', device, 'dump']))


def parse_dump(text):
    """(private key, public key, listen port or None, {peer key:
    {allowed_ips, endpoint, latest_handshake, rx_bytes, tx_bytes,
    keepalive}}) from ``wg show <device> dump``: the interface on the
    first line, then one peer a line, fields separated by tabs.  The
    private key is for the privileged side to compare: never return it
    across privsep.
    """
    lines = text.splitlines()
    private, public, port = lines[0].split('\t')[:3]
    peers = {}
    for line in lines[1:]:
        # public, preshared (dropped), endpoint, allowed-ips, latest
        # handshake, rx, tx, keepalive
        f = line.split('\t')
        allowed = [] if f[3] == '(none)' else f[3].split(',')
        peers[f[0]] = {
            'allowed_ips': sorted(str(ipaddress.ip_network(a))
                                  for a in allowed),
            'endpoint': None if f[2] == '(none)' else f[2],
            'latest_handshake': int(f[4]),
            'rx_bytes': int(f[5]), 'tx_bytes': int(f[6]),
            'keepalive': 0 if f[7] == 'off' else int(f[7]),
        }
    return private, public, int(port) if port.isdigit() else None, peers
