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

"""Network namespaces of our own, and what runs and listens in them.

``Namespace`` makes one (``ip netns add``, its loopback up), runs
commands in it, and removes it with every process in it (only ours
can be in a namespace we made) and the wireguard-go control sockets of
the interfaces named in its ``wireguard_names`` (wireguard-go keeps
them in ``/run/wireguard``, one directory for every namespace that has
no mount namespace of its own).  ``call_in`` runs a function in a
thread that entered a namespace, so that the sockets it opens are the
namespace's.  ``Forwarder`` makes this host's ``127.0.0.1:<port>``
services reachable at ``127.0.0.1:<port>`` inside a namespace.

    ns = Namespace('demo-1').add()
    ns.run(['ip', 'link', 'show'])
    fwd = Forwarder(ns.path, [keystone.port]).start()
    ...
    fwd.close()
    errors = ns.remove()
"""

import ctypes
import json
import os
import signal
import socket
import subprocess
import threading
import time

from aio import service


NETNS_DIR = '/run/netns'
SOCKET_DIR = '/run/wireguard'
CLONE_NEWNET = 0x40000000
#: Debian's wireguard-go refuses to start on Linux without it.
WG_ENV = {'WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD': '1'}


class Failed(RuntimeError):
    """A command or a step failed; says what to look at."""


def run(argv, check=True, env=None, timeout=60, input=None):
    """``argv``'s CompletedProcess (text); with ``check``, raise
    ``Failed`` with its error output if it fails.
    """
    result = subprocess.run(list(argv), capture_output=True, text=True,
                            env=env, timeout=timeout, input=input)
    if check and result.returncode != 0:
        raise Failed('%s failed (status %d): %s' % (
            ' '.join(argv), result.returncode,
            (result.stderr or result.stdout).strip()))
    return result


def links(ns=None):
    """Interface names of namespace ``ns`` (default: this process's)."""
    argv = ['ip'] + (['-n', ns] if ns else []) + ['-j', 'link', 'show']
    return [link['ifname'] for link in json.loads(run(argv).stdout)]


def pids_in(ns_path):
    """Processes whose network namespace is ``ns_path``, this one
    excepted: only ours can be in a namespace we made.
    """
    try:
        inode = os.stat(ns_path).st_ino
    except FileNotFoundError:
        return []
    pids = []
    for pid in os.listdir('/proc'):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            if os.stat('/proc/%s/ns/net' % pid).st_ino == inode:
                pids.append(int(pid))
        except OSError:
            pass
    return pids


def alive(pid):
    """True while ``pid`` runs (a zombie does not)."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except (OSError, IndexError):
        return False


def kill(pids, timeout=5):
    """SIGTERM ``pids`` (ours), SIGKILL those left after ``timeout``."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + timeout
        while pids and time.monotonic() < deadline:
            time.sleep(0.1)
            pids = [p for p in pids if alive(p)]
        if not pids:
            return


def setns(ns_path):
    """Move the calling thread into network namespace ``ns_path``."""
    libc = ctypes.CDLL(None, use_errno=True)
    with open(ns_path) as f:
        if libc.setns(f.fileno(), CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), 'setns(%s)' % ns_path)


def call_in(ns_path, fn, *args, **kw):
    """``fn(*args, **kw)`` in a thread inside network namespace
    ``ns_path`` (sockets it opens are the namespace's; the caller's
    threads stay where they are); its result, or its exception raised
    here.
    """
    result = {}

    def enter():
        try:
            setns(ns_path)
            result['value'] = fn(*args, **kw)
        except BaseException as e:  # noqa: B902 - raised again below
            result['error'] = e

    thread = threading.Thread(target=enter, daemon=True)
    thread.start()
    thread.join()
    if 'error' in result:
        raise result['error']
    return result['value']


class Namespace:
    """Network namespace ``name``, ours (see the module)."""

    def __init__(self, name):
        self.name = name
        self.path = os.path.join(NETNS_DIR, name)
        #: WireGuard interfaces made in the namespace, whose control
        #: sockets must not outlive it.
        self.wireguard_names = set()

    def add(self):
        """Make the namespace, its loopback up; returns self."""
        run(['ip', 'netns', 'add', self.name])
        self.run(['ip', 'link', 'set', 'lo', 'up'])
        return self

    def exists(self):
        return os.path.exists(self.path)

    def argv(self, argv):
        """``argv`` as a command line that runs it in the namespace."""
        return ['ip', 'netns', 'exec', self.name] + list(argv)

    def run(self, argv, check=True, env=None, timeout=60, input=None):
        """``run(argv)`` in the namespace, with ``WG_ENV`` added."""
        env = dict(env if env is not None else os.environ, **WG_ENV)
        return run(self.argv(argv), check=check, env=env, timeout=timeout,
                   input=input)

    def call(self, fn, *args, **kw):
        """``call_in`` this namespace."""
        return call_in(self.path, fn, *args, **kw)

    def kill_processes(self):
        """End every process in the namespace (wireguard-go daemons
        stopped remove their sockets themselves).
        """
        kill(pids_in(self.path))

    def remove(self):
        """End its processes, delete it and the control sockets of
        ``wireguard_names``; returns the problems met (safe to call
        again).
        """
        errors = []
        if self.exists():
            self.kill_processes()
            result = run(['ip', 'netns', 'del', self.name], check=False)
            if result.returncode:
                errors.append('namespace %s: %s' % (self.name,
                                                    result.stderr.strip()))
        for name in self.wireguard_names:
            try:
                os.unlink(os.path.join(SOCKET_DIR, name + '.sock'))
            except FileNotFoundError:
                pass
        return errors


def _listen(ports):
    made = {}
    try:
        for port in ports:
            made[port] = service.listening_socket(port)
    except Exception:
        for sock in made.values():
            sock.close()
        raise
    return made


class Forwarder:
    """Inside namespace ``ns_path``, 127.0.0.1:port leads to this
    host's 127.0.0.1:port, for each of ``ports``: a thread per
    connection and direction copies the bytes.

    For a process in a namespace of a test that needs the cloud's
    services but not the path to them; ``aio.edge.EdgeHost`` instead
    routes them through its tunnel.
    """

    def __init__(self, ns_path, ports):
        self.ns_path = ns_path
        self.ports = list(ports)
        self.sockets = []
        self.closed = False

    def start(self):
        listeners = call_in(self.ns_path, _listen, self.ports)
        self.sockets.extend(listeners.values())
        for port, sock in listeners.items():
            threading.Thread(target=self._accept, args=(sock, port),
                             daemon=True).start()
        return self

    def close(self):
        self.closed = True
        for sock in list(self.sockets):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def _accept(self, listener, port):
        while not self.closed:
            try:
                inner, _ = listener.accept()
            except OSError:
                return
            try:
                outer = socket.create_connection(('127.0.0.1', port))
            except OSError:
                inner.close()
                continue
            self.sockets += [inner, outer]
            for a, b in ((inner, outer), (outer, inner)):
                threading.Thread(target=self._pipe, args=(a, b),
                                 daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass
