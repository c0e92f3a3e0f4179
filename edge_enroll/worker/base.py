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

"""What a worker is: the interface the engine (``manager``) drives.

A worker keeps one side effect of a hardware item in step with its
properties (a channel, a credential, a registration): ``process`` is
called when the hardware is created or changed and again until it
returns ``Success``; ``cleanup`` when the hardware is deleted, until
it returns ``Success``.  Both must be idempotent: a task interrupted
by a restart runs again from the start.  Workers are stevedore plugins
of the ``edge_enroll.worker_types`` namespace, as Doni's.

A worker declares the properties it reads (``fields``), which the
hardware type adds to its JSON schema, and the module of its options
(``conf_module``).  Availability windows are handed to ``process`` so
that a reservation worker (Blazar's devices) fits the interface.

A worker whose side effect follows something outside the hardware item
(the ``compute`` worker: the peripherals Cyborg reports for the host)
says how often to look again: ``resync_interval()`` seconds after a
task of it went STEADY, the engine runs ``process`` again -- that task
only, not the hardware's other workers.  A worker may write the
hardware's read-only properties (``hardware.save()``): that does not
re-queue any task (only the API's changes do), so a worker's own write
cannot loop.
"""

import abc
import dataclasses

from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading


class WorkerError(Exception):
    """A failure the hardware's owner (or the operator) must fix: the
    task goes to ERROR with this message as ``last_error`` and is not
    retried until the hardware changes or is synced.  The message says
    what to do.
    """


class Unavailable(Exception):
    """A service the worker calls cannot answer now: the engine treats
    it as ``WorkerResult.Defer`` with this message as the reason, so
    that a worker need not catch it at every call.
    """


class WorkerResult:
    """What ``process`` and ``cleanup`` return.

    ``payload`` is merged into the task's ``state_details``; a key set
    to None is removed from them.
    """

    @dataclasses.dataclass(frozen=True)
    class Success:
        payload: dict = dataclasses.field(default_factory=dict)

    @dataclasses.dataclass(frozen=True)
    class Defer:
        """Not done yet, for a reason outside the worker (a service
        down, a host not reported yet): tried again after a backoff.
        """

        payload: dict = dataclasses.field(default_factory=dict)
        reason: str = ''


class BaseWorker(abc.ABC):
    """One kind of worker; see the module.  Made once per engine with
    the engine's configuration ``conf``.
    """

    #: The stevedore name, also the task's ``worker_type``.
    worker_type = None
    #: The properties it reads (``edge_enroll.properties.Field``), which
    #: join the schema of the hardware types it serves.
    fields = []
    #: The module of its options (``edge_enroll.conf.<name>``, whose
    #: ``register_opts(conf)`` the engine calls), or None.
    conf_module = None
    #: Keys of ``state_details`` the API shows once to the owner (or an
    #: admin), then removes: a secret the host needs.
    one_time_details = ()

    def __init__(self, conf):
        self.conf = conf
        self._adapters = {}

    @classmethod
    def register_opts(cls, conf):
        if cls.conf_module is not None:
            cls.conf_module.register_opts(conf)

    def service(self, group):
        """The Adapter of ``[group]``'s service user (``service_adapter``),
        made on first use.
        """
        if group not in self._adapters:
            self._adapters[group] = service_adapter(self.conf, group)
        return self._adapters[group]

    @abc.abstractmethod
    def process(self, context, hardware, availability_windows,
                state_details):
        """Bring the side effect in line with ``hardware`` (an
        ``objects.Hardware``); ``state_details``: the task's, as left by
        the previous run.  Returns a ``WorkerResult``; raises
        ``WorkerError`` for what the owner must fix.  Other exceptions
        are retried with a backoff.
        """

    def resync_interval(self):
        """Seconds after which a STEADY task of this worker runs again
        although its hardware did not change; None (the default): only
        when it changes or is synced.
        """
        return None

    def cleanup(self, context, hardware, state_details):
        """Undo the side effect of the deleted ``hardware``; returns
        ``Success`` once it is gone (the default: nothing to undo).
        """
        return WorkerResult.Success()


# -- helpers for workers that call OpenStack services ----------------------

def service_adapter(conf, group):
    """A keystoneauth Adapter from ``[group]`` (see
    ``edge_common.keystoneauth.register_opts``): the engine's
    service user calling one service; raises nothing on an HTTP error
    (workers look at the status).
    """
    auth = ks_loading.load_auth_from_conf_options(conf, group)
    session = ks_loading.load_session_from_conf_options(conf, group,
                                                        auth=auth)
    return ks_loading.load_adapter_from_conf_options(
        conf, group, session=session, auth=auth, raise_exc=False)


#: keystoneauth's errors that mean "the service cannot be reached now"
#: (down, restarting, no endpoint yet).  Keystone down fails the token
#: request itself, whatever the call.
UNREACHABLE = (ks_exc.ConnectionError, ks_exc.DiscoveryFailure,
               ks_exc.EndpointNotFound, ks_exc.HttpServerError)


def call(adapter, service, method, path, ok=(200,), **kwargs):
    """``method path`` on ``adapter`` (raising nothing on a status);
    returns the response if its status is in ``ok``.  Raises
    ``Unavailable`` when ``service`` cannot be reached or answers 5xx,
    ``WorkerError`` on another status, quoting the service's message.
    """
    try:
        resp = adapter.request(path, method, **kwargs)
    except UNREACHABLE as e:
        raise Unavailable('%s unreachable (%s %s): %s'
                          % (service, method, path, e))
    if resp.status_code in ok:
        return resp
    if resp.status_code >= 500:
        raise Unavailable('%s answered %d to %s %s'
                          % (service, resp.status_code, method, path))
    raise WorkerError('%s refused %s %s with %d: %s' % (
        service, method, path, resp.status_code, _message(resp)))


def _message(resp):
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:200]
    if isinstance(body, dict):
        error = body.get('error')
        if isinstance(error, dict):
            return str(error.get('message') or error)[:200]
        if error:
            return str(error)[:200]
    return resp.text[:200]
