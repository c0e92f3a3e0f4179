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

"""Running one service of the cloud: a subprocess with its own log."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request


VENV_BIN = os.path.dirname(sys.executable)
#: uWSGI's default listen queue.
LISTEN_BACKLOG = 100


class ServiceFailed(RuntimeError):
    """A service did not start or a set-up step failed; names its log."""

    def __init__(self, service, reason, log):
        super().__init__('%s: %s (read %s)' % (service, reason, log))
        self.service = service
        self.log = log


def bin_path(name):
    return os.path.join(VENV_BIN, name)


def listening_socket(port=0):
    """A socket listening on 127.0.0.1, on ``port`` or one the kernel chose.

    The service inherits it (see ``uwsgi``): the port is held from the
    moment it is chosen, so nothing else -- another cloud starting at
    the same time, an outgoing connection -- can take it before the
    service answers on it.  SO_REUSEADDR lets a restarted service listen
    on its port again while its old connections are in TIME-WAIT; it
    does not let anything else listen there while the port is held.
    """
    sock = socket.socket()
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(('127.0.0.1', port))
        sock.listen(LISTEN_BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


def http_answers(url):
    """True once anything answers HTTP at ``url``, even with an error."""
    try:
        with urllib.request.urlopen(url, timeout=2):  # noqa: S310
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def wait_for(what, predicate, timeout, interval=0.1):
    """``predicate()``'s first true value, asked every ``interval``
    seconds; raises ``TimeoutError`` naming ``what`` after ``timeout``
    seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError('no %s within %.0f s' % (what, timeout))
        time.sleep(interval)


def write_conf(path, sections):
    """Write an INI file from ``{section: {option: value}}``."""
    with open(path, 'w') as f:
        for section, options in sections.items():
            f.write('[%s]\n' % section)
            for key, value in options.items():
                f.write('%s = %s\n' % (key, value))
            f.write('\n')
    return path


def run(service, argv, log, env=None, input=None):
    """Run a set-up command, appending its output to ``log``."""
    with open(log, 'ab') as out:
        out.write(('$ %s\n' % ' '.join(argv)).encode())
        out.flush()
        result = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT,
                                env=env, input=input, check=False)
    if result.returncode != 0:
        raise ServiceFailed(service, '%s exited with status %d'
                            % (os.path.basename(argv[0]), result.returncode),
                            log)


def uwsgi(name, app, listener, log, env=None, threads=8, pyargv=None,
          mount=None):
    """WSGI application ``app`` (``module:callable``, or the absolute
    path of a file) served by uWSGI: one process, ``threads`` threads;
    under the path ``mount`` if given.  uWSGI serves HTTP on the socket
    ``listener`` (see ``listening_socket``), which it inherits rather
    than binds.
    """
    argv = [bin_path('uwsgi'),
            '--http-socket', 'fd://%d' % listener.fileno(),
            '--home', os.path.dirname(VENV_BIN),
            '--master', '--processes', '1',
            '--threads', str(threads), '--enable-threads', '--need-app',
            '--die-on-term', '--buffer-size', '65535',
            # uWSGI's HTTP socket closes every connection after one
            # answer; say so, or clients reuse it and meet a reset.
            '--add-header', 'Connection: close']
    if mount:
        argv += ['--mount', '%s=%s' % (mount, app), '--manage-script-name']
    else:
        argv += ['--wsgi-file' if os.path.isabs(app) else '--module', app]
    if pyargv:
        argv += ['--pyargv', pyargv]
    process = Process(name, argv, log, env=dict(os.environ, **(env or {})),
                      listener=listener)
    port = listener.getsockname()[1]
    # Once stopped, the service can come back where its clients expect
    # it: a new process, on a new socket bound to the same port.
    process.remake = lambda: uwsgi(name, app, listening_socket(port), log,
                                   env, threads, pyargv, mount)
    return process


def wsgi_script(name, module, directory):
    """pbr's WSGI script ``name``; an editable install made by pip
    without pbr's develop command has none, and then a file in
    ``directory`` that does what it does (``module.init_application``).
    """
    script = bin_path(name)
    if os.path.exists(script):
        return script
    path = os.path.join(directory, '%s.wsgi' % name)
    with open(path, 'w') as f:
        f.write('import %s\n'
                'application = %s.init_application()\n' % (module, module))
    return path


def start_answering(process, url, on_start):
    """Start ``process``; ``on_start(process)`` once it runs, before it
    answers; return once ``url`` answers.
    """
    on_start(process.start())
    process.wait_until(lambda: http_answers(url), 'answer on %s' % url)


class Process:
    """A long-running service in its own session (process group).

    A process given a ``listener`` socket inherits it when it starts,
    and this process closes its own copy then: were the service to die,
    clients would be refused rather than wait on a socket nobody
    serves.  Such a process starts once.
    """

    def __init__(self, name, argv, log, env=None, listener=None):
        self.name = name
        self.argv = argv
        self.log = log
        self.env = env
        self.listener = listener
        self.popen = None

    @property
    def pid(self):
        return self.popen.pid if self.popen else None

    def start(self):
        pass_fds = ()
        if self.listener is not None:
            if self.listener.fileno() < 0:
                raise RuntimeError('%s has given its socket to the process '
                                   'it started' % self.name)
            pass_fds = (self.listener.fileno(),)
        with open(self.log, 'ab') as out:
            # A session of its own, so that stopping it also stops the
            # workers and helpers it forks (uWSGI, privsep).
            self.popen = subprocess.Popen(
                self.argv, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, env=self.env,
                start_new_session=True, pass_fds=pass_fds)
        if self.listener is not None:
            self.listener.close()
        return self

    def wait_until(self, ready, what, timeout=60):
        deadline = time.monotonic() + timeout
        while not ready():
            if self.popen.poll() is not None:
                raise ServiceFailed(self.name, 'exited with status %d while '
                                    'waiting for %s' % (self.popen.returncode,
                                                        what), self.log)
            if time.monotonic() > deadline:
                raise ServiceFailed(self.name, 'no %s within %d seconds'
                                    % (what, timeout), self.log)
            time.sleep(0.2)

    def stop(self):
        stop_processes([self])


def stop_processes(processes, progress=None):
    """Stop the running ``processes`` (``Process``) all at once.

    Those that never started give up the socket they were to inherit,
    so that clients are refused rather than left waiting on it.
    """
    running = [p for p in processes if p.popen is not None]
    for process in processes:
        if process.popen is None and process.listener is not None:
            process.listener.close()

    def reap():
        for process in running:
            process.popen.poll()

    stop_groups({p.pid: p.name for p in running}, reap=reap,
                progress=progress)
    for process in running:
        process.popen = None


def _alive(pgids):
    """The process groups of ``pgids`` with a process that is not a
    zombie.

    A zombie still counts for ``kill(pid, 0)``, and the leader of a
    group started by a process that has gone (``tools/aio --keep``)
    stays one until an init that may never reap it does.
    """
    return {int(fields[2]) for _pid, fields in process_stats()
            if fields[0] != 'Z' and int(fields[2]) in pgids}


def process_stats():
    """(pid, [state, ppid, pgrp, ...]) of every process, from /proc."""
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % pid) as f:
                # "pid (comm) state ppid pgrp ..."; comm may hold ")".
                yield int(pid), f.read().rsplit(')', 1)[1].split()
        except (OSError, IndexError):
            continue


def stop_groups(groups, timeout=15, reap=None, progress=None):
    """Stop the process groups ``{pgid: name}`` that this cloud started:
    all at once, SIGTERM first, SIGKILL for those still there after
    ``timeout`` seconds.

    ``reap`` collects a leader's exit status when it is our child.
    ``progress(message)`` hears what is being stopped.
    """
    progress = progress or (lambda message: None)
    signalled = {}
    for pgid, name in groups.items():
        try:
            os.killpg(pgid, signal.SIGTERM)
        except ProcessLookupError:
            continue
        progress('stopping %s (process group %d)' % (name, pgid))
        signalled[pgid] = name
    deadline = time.monotonic() + timeout
    while True:
        if reap is not None:
            reap()
        alive = _alive(set(signalled))
        if not alive or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    for pgid in sorted(alive):
        progress('%s did not stop within %d seconds: killing it'
                 % (signalled[pgid], timeout))
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
