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

"""Helpers for tests that race containers against each other."""

import threading

import fixtures
from zun.db import api as zun_db_api


class _OneCallAtATime:
    """Proxy running one method call of the wrapped object at a time."""

    def __init__(self, wrapped):
        self._wrapped = wrapped
        self._lock = threading.RLock()

    def __getattr__(self, name):
        attr = getattr(self._wrapped, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            with self._lock:
                return attr(*args, **kwargs)
        return call


def serialized_zun_database():
    """A fixture that runs Zun's database calls one at a time.

    Zun's databases in these tests are SQLite, which cannot hold two write
    transactions at once as zun-compute's real database can: this
    serializes Zun's database calls, not the code under test.
    """
    return fixtures.MockPatchObject(zun_db_api, 'IMPL',
                                    _OneCallAtATime(zun_db_api.IMPL))


def run_together(function, argument_tuples):
    """Call ``function`` once per argument tuple, each in its own thread,
    all released at the same moment; return when every call has ended.
    """
    together = threading.Barrier(len(argument_tuples))

    def run(*args):
        together.wait()
        function(*args)

    threads = [threading.Thread(target=run, args=args)
               for args in argument_tuples]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
