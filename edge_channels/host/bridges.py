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

"""The bridges of one deployment on a host (names from ``naming``).

Every call takes the host-wide lock of the deployment: a bridge is
removed when its last port leaves, and a port joining at that moment
must not find its bridge gone between creating it and plugging into it.

Where br_netfilter is loaded (Docker loads it), frames crossing a bridge
go through iptables' FORWARD chain, whose policy Docker sets to DROP.
edge_bridge binds ports without filtering (``port_filter`` False), so
each bridge gets a rule that accepts what stays on it, as Docker's own
bridge has; the rule goes with the bridge.
"""

import contextlib
import fcntl
import os
import shlex
import shutil
import subprocess

from pyroute2 import IPRoute
from pyroute2 import NetlinkError

from edge_channels import naming
from edge_channels.host import overlay as overlay_mod


class BridgeError(RuntimeError):
    """A bridge or a port could not be set up or removed."""


def _iptables(*args):
    # Arguments are bridge names checked against naming, and fixed words.
    return subprocess.run(['iptables', '-w'] + list(args),  # noqa: S603
                          capture_output=True, text=True, check=False)


def _forward_rule(bridge):
    return ['FORWARD', '-i', bridge, '-o', bridge, '-m', 'comment',
            '--comment', 'edge_channels', '-j', 'ACCEPT']


def allow_forwarding(bridge):
    """Accept in FORWARD the frames that stay on ``bridge``."""
    if shutil.which('iptables') is None:
        # No iptables, no FORWARD policy that could drop them.
        return
    rule = _forward_rule(bridge)
    if _iptables('-C', *rule).returncode == 0:
        return
    result = _iptables('-I', *rule)
    if result.returncode != 0:
        raise BridgeError('cannot let frames cross bridge %s: iptables: %s'
                          % (bridge, result.stderr.strip()))


def forwarding_rules(prefix):
    """The FORWARD rules of ``allow_forwarding`` for bridges of
    ``prefix``, as argument lists for ``iptables -D``.
    """
    if shutil.which('iptables') is None:
        return []
    rules = []
    for line in _iptables('-S', 'FORWARD').stdout.splitlines():
        args = shlex.split(line)
        if (args[:1] == ['-A'] and '-i' in args and
                naming.is_bridge_name(args[args.index('-i') + 1], prefix)):
            rules.append(args[1:])
    return rules


def remove_forwarding(bridge):
    if shutil.which('iptables') is None:
        return
    rule = _forward_rule(bridge)
    while _iptables('-C', *rule).returncode == 0:
        result = _iptables('-D', *rule)
        if result.returncode != 0:
            raise BridgeError('cannot remove the FORWARD rule of bridge '
                              '%s: %s' % (bridge, result.stderr.strip()))


class Bridges:
    """The bridges whose names start with ``prefix``; ``lock_dir``
    holds the lock that serialises changes to them.
    """

    def __init__(self, prefix, lock_dir):
        self.prefix = naming.check_prefix(prefix)
        self.lock_path = os.path.join(lock_dir, 'bridges-%s.lock' % prefix)

    @contextlib.contextmanager
    def _locked(self):
        with open(self.lock_path, 'a') as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            with IPRoute() as ipr:
                yield ipr

    def _check(self, bridge):
        if not naming.is_bridge_name(bridge, self.prefix):
            raise BridgeError('%r is not a bridge of this deployment (prefix '
                              '%r)' % (bridge, self.prefix))

    @staticmethod
    def _index(ipr, ifname):
        found = ipr.link_lookup(ifname=ifname)
        return found[0] if found else None

    def plug(self, ifname, bridge, overlay=None):
        """Put host interface ``ifname`` on ``bridge``, created if
        missing, both up; with ``overlay`` (``host.overlay.Overlay``),
        the bridge's VXLAN device too.
        """
        self._check(bridge)
        with self._locked() as ipr:
            port = self._index(ipr, ifname)
            if port is None:
                raise BridgeError('no interface %s to plug into %s'
                                  % (ifname, bridge))
            index = self._index(ipr, bridge)
            try:
                if index is None:
                    # Forwarding at once: a container's first packets
                    # must not wait out a learning delay.
                    ipr.link('add', ifname=bridge, kind='bridge',
                             br_forward_delay=0, br_stp_state=0)
                    index = self._index(ipr, bridge)
                allow_forwarding(bridge)
                ipr.link('set', index=index, state='up')
                if overlay is not None:
                    overlay_mod.ensure(bridge, overlay)
                ipr.link('set', index=port, master=index, state='up')
            except (NetlinkError, overlay_mod.OverlayError) as e:
                raise BridgeError('cannot plug %s into bridge %s: %s'
                                  % (ifname, bridge, e)) from e

    def unplug(self, ifname, bridge):
        """Take ``ifname`` off ``bridge``; remove the bridge once no
        port is left on it.  Either may be gone already.
        """
        self._check(bridge)
        with self._locked() as ipr:
            index = self._index(ipr, bridge)
            if index is None:
                return
            port = self._index(ipr, ifname)
            try:
                if port is not None:
                    ipr.link('set', index=port, master=0)
                left = {link.get('ifname')
                        for link in ipr.get_links(master=index)}
                if left <= {overlay_mod.device_name(bridge)}:
                    overlay_mod.remove(bridge)
                    ipr.link('del', index=index)
                    remove_forwarding(bridge)
            except (NetlinkError, overlay_mod.OverlayError) as e:
                raise BridgeError('cannot unplug %s from bridge %s: %s'
                                  % (ifname, bridge, e)) from e

    def names(self):
        """The bridges of this deployment now on the host."""
        with IPRoute() as ipr:
            return sorted(
                link.get('ifname') for link in ipr.get_links()
                if link.get_nested('IFLA_LINKINFO', 'IFLA_INFO_KIND') ==
                'bridge' and naming.is_bridge_name(link.get('ifname'),
                                                   self.prefix))

    def remove_all(self):
        """Remove every bridge of this deployment, the interfaces still
        plugged into them (veths whose container is gone or was never
        started) and their FORWARD rules; returns the names removed.
        """
        removed = []
        with self._locked() as ipr:
            for bridge in self.names():
                index = self._index(ipr, bridge)
                if index is None:
                    continue
                try:
                    for link in ipr.get_links(master=index):
                        # Removing one end of a veth removes both.
                        ipr.link('del', index=link['index'])
                        removed.append(link.get('ifname'))
                    ipr.link('del', index=index)
                except NetlinkError as e:
                    raise BridgeError('cannot remove bridge %s: %s'
                                      % (bridge, e)) from e
                removed.append(bridge)
            for rule in forwarding_rules(self.prefix):
                result = _iptables('-D', *rule)
                if result.returncode != 0:
                    raise BridgeError('iptables -D %s: %s' % (
                        ' '.join(rule), result.stderr.strip()))
                removed.append('iptables rule -i %s'
                               % rule[rule.index('-i') + 1])
        return removed
