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

"""Text output of the CLI: what an operator needs to write profiles."""

import json


# The identity column is never cut: devices of one model often differ
# only in the last characters of their serial number.
_DEVICE_WIDTH = 34


def _cut(text, width):
    """``text`` in at most ``width`` characters, cut in the middle.

    Both ends stay: the USB ids at the start, the model at the end.
    """
    text = text or ''
    if len(text) <= width:
        return text
    head = (width - 1) // 2
    return text[:head] + '…' + text[len(text) - (width - 1 - head):]


def _device(p):
    ids = '%s:%s' % (p.vendor_id, p.product_id) if p.vendor_id else '-'
    label = ' '.join(x for x in (p.vendor, p.model) if x)
    return ('%s %s' % (ids, label)).strip()


def _nodes(p):
    return ', '.join('%s (%d:%d)' % (n.path, n.major, n.minor)
                     for n in p.nodes)


def _traits(p):
    return [t for t in p.traits if t != 'OWNER_CYBORG']


def table(peripherals):
    """The discovery table, and how to ask for each kind of peripheral."""
    if not peripherals:
        return 'No peripherals found.'
    rows = [('CLASS', 'DEVICE', 'IDENTITY', 'NODES')]
    for p in peripherals:
        rows.append((p.device_class,
                     _cut(_device(p), _DEVICE_WIDTH),
                     p.identity,
                     _nodes(p)))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [('%-*s  %-*s  %-*s  %s' % (widths[0], r[0], widths[1], r[1],
                                        widths[2], r[2], r[3])).rstrip()
             for r in rows]
    lines += ['', 'Device profile groups that match them:']
    seen = set()
    for p in peripherals:
        for trait in [None] + _traits(p):
            group = {'resources:%s' % p.resource_class: '1'}
            if trait:
                group['trait:%s' % trait] = 'required'
            key = json.dumps(group, sort_keys=True)
            if key not in seen:
                seen.add(key)
                lines.append('  %-7s %s' % (p.device_class, key))
    return '\n'.join(lines)


def snapshot(peripherals, fmt):
    if fmt == 'json':
        return json.dumps({'event': 'snapshot',
                           'peripherals': [p.as_dict()
                                           for p in peripherals]})
    return table(peripherals)


def change(chg, fmt):
    if fmt == 'json':
        return json.dumps({
            'event': 'change',
            'added': [p.as_dict() for p in chg.added],
            'removed': [p.as_dict() for p in chg.removed],
            'updated': [p.as_dict() for p in chg.updated]})
    lines = []
    for sign, items in (('+', chg.added), ('-', chg.removed),
                        ('~', chg.updated)):
        for p in items:
            lines.append('%s %-7s %s  %s' % (sign, p.device_class,
                                             p.identity, _nodes(p)))
    return '\n'.join(lines)
