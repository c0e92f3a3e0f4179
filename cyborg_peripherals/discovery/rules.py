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

"""Operator match rules, in a small udev-like syntax.

A rule is ``KEY==GLOB`` or ``KEY!=GLOB`` where KEY is ``KERNEL`` (the
kernel name), ``DEVTYPE``, ``ENV{PROPERTY}`` (a udev property),
``ATTR{name}`` (a sysfs attribute of the device itself) or ``ATTRS{name}``
(as in udev: the attribute of the device or of the nearest device above
it that has one, such as the ``idVendor`` of its USB device).

One glob semantics everywhere: Python's ``fnmatch.fnmatchcase`` against
the *whole* value, case-sensitive (``*``, ``?``, ``[...]``; no regular
expressions).  A missing property or attribute never equals anything: it
fails ``==`` and passes ``!=``.  All rules of a class must hold.
"""

import fnmatch
import re


_RULE_RE = re.compile(
    r'\A\s*(?P<key>KERNEL|DEVTYPE|ENV\{(?P<env>[A-Za-z0-9_]+)\}|'
    r'ATTR\{(?P<attr>[A-Za-z0-9_.:-]+)\}|'
    r'ATTRS\{(?P<attrs>[A-Za-z0-9_.:-]+)\})\s*(?P<op>==|!=)\s*'
    r'"?(?P<glob>[^"]*)"?\s*\Z')


class InvalidRule(ValueError):
    pass


class Rule:
    __slots__ = ('text', 'kind', 'name', 'negate', 'glob')

    def __init__(self, text):
        m = _RULE_RE.match(text)
        if not m:
            raise InvalidRule(
                'invalid match rule %r: expected KERNEL, DEVTYPE, '
                'ENV{NAME}, ATTR{name} or ATTRS{name}, then == or !=, '
                'then a glob'
                % text)
        self.text = text.strip()
        if m.group('env'):
            self.kind, self.name = 'env', m.group('env')
        elif m.group('attr'):
            self.kind, self.name = 'attr', m.group('attr')
        elif m.group('attrs'):
            self.kind, self.name = 'attrs', m.group('attrs')
        else:
            self.kind, self.name = m.group('key').lower(), None
        self.negate = m.group('op') == '!='
        self.glob = m.group('glob')

    def value(self, record):
        if self.kind == 'env':
            return record.props.get(self.name)
        if self.kind == 'attr':
            return record.attribute(self.name)
        if self.kind == 'attrs':
            return record.ancestor_attribute(self.name)
        if self.kind == 'kernel':
            return record.sys_name
        return record.props.get('DEVTYPE')

    def matches(self, record):
        value = self.value(record)
        hit = value is not None and fnmatch.fnmatchcase(value, self.glob)
        return hit != self.negate

    def __repr__(self):
        return 'Rule(%r)' % self.text


def parse_rules(texts):
    return tuple(Rule(t) for t in texts or ())
