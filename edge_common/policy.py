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

"""One oslo.policy Enforcer per process and per service, made on first
use with the service's rules in code.
"""

from oslo_config import cfg
from oslo_policy import policy


class Rules:
    """The Enforcer of ``rules`` (oslo.policy defaults); ``forbidden``:
    the service's error class raised by ``authorize`` (given the
    ``action``).
    """

    def __init__(self, rules, forbidden):
        self.rules = rules
        self.forbidden = forbidden
        self._enforcer = None

    def list_rules(self):
        return self.rules

    def get_enforcer(self, conf=None):
        """The process's Enforcer, made on first use (or when ``conf``
        is another configuration than the one it was made with).
        """
        if self._enforcer is None or (
                conf is not None and self._enforcer.conf is not conf):
            self._enforcer = policy.Enforcer(conf or cfg.CONF)
            self._enforcer.register_defaults(self.rules)
        return self._enforcer

    def reset(self):
        self._enforcer = None

    def check(self, context, rule, target):
        """Whether ``context`` may do ``rule`` on ``target`` (a dict
        with the resource's ``project_id``).
        """
        return self.get_enforcer().authorize(rule, target, context,
                                             do_raise=False)

    def authorize(self, context, rule, target):
        """Raise the service's ``forbidden`` error unless ``context``
        may do ``rule`` on ``target``.
        """
        if not self.check(context, rule, target):
            raise self.forbidden(action=rule)
