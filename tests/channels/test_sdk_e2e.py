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

"""The Edge SDK end to end: ``edge-sdk`` in a device namespace against
the real channel API (uWSGI, Keystone, Neutron) and the real hub agent
in a hub namespace.

The device reaches Keystone and the channel API, and the hub agent
reaches Keystone, Neutron and RabbitMQ, through forwarders listening on
127.0.0.1 inside their namespaces; the tunnels run over a veth pair
between the two namespaces.  The control and tenant channels are on
two channel subnets, so the project gets two hubs.
Needs root, MariaDB, RabbitMQ, ``wg`` and ``wireguard-go``.
"""

import configparser
import ipaddress
import json
import os
import signal
import subprocess
import time

import fixtures

from aio import channels as channels_mod
from aio import keystone as keystone_mod
from aio import service
from edge_channels import naming
from tests.channels import base


CONTROL_CIDR = '10.232.0.0/24'
TENANT_CIDR = '10.233.0.0/24'
HUB_HOST = 'hub-sdk'
#: [edge_sdk] device_name: its channels are DEVICE-control, DEVICE-tenant.
DEVICE = 'edge-1'
PORT_RANGE = (51910, 51919)
RABBIT_PORT = 5672
#: How soon the tunnel must carry pings again after a change.
RESTORE_SECONDS = 10.0


def _ping(ns, address):
    return not subprocess.run(
        ['ip', 'netns', 'exec', ns, 'ping', '-n', '-c1', '-W1', address],
        capture_output=True, timeout=10).returncode


def _wait(what, predicate, timeout):
    return base.wait(what, predicate, timeout, interval=0.05)


class SdkEndToEndTest(base.ChannelsTestCase):

    PLANE_OPTIONS = {'users': {'edge-hub': ('service', ('service',))}}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        tenant = cls.plane.neutron.ensure_network('channels-sdk-tenant',
                                                  TENANT_CIDR, shared=False)
        cls.api = channels_mod.ChannelAPI(
            cls.plane.workdir, cls.plane.logs, cls.plane.keystone,
            cls.plane.neutron, cidr=CONTROL_CIDR, hub_hosts=(HUB_HOST,),
            network='channels-sdk-control',
            extra_subnets=tenant['subnets'])
        cls.api.setup()
        cls.api.start(cls.plane.track)

    def setUp(self):
        super().setUp()
        base.require_tools('wg', 'wireguard-go', 'ping')
        self.work = self.useFixture(fixtures.TempDir()).path
        self.nets = self.useFixture(base.HubAndDevice())
        keystone = self.plane.keystone
        base.forward(self, self.nets.hub_ns, [
            keystone.port, self.plane.neutron.port, RABBIT_PORT])
        base.forward(self, self.nets.dev_ns, [keystone.port, self.api.port])
        self.agent = base.hub_agent(self, self.plane, self.work,
                                    self.nets.hub_ns, HUB_HOST, PORT_RANGE,
                                    resync_interval='3600')
        self.hub_state = self.agent.state_dir
        self.hub_log = self.agent.log
        self.attach_on_failure(self.hub_log)
        self._wait_agent()
        self.state = os.path.join(self.work, 'device-state')
        self.sdk_conf = os.path.join(self.work, 'edge-sdk.conf')
        conf = configparser.ConfigParser(interpolation=None)
        conf['edge_sdk'] = {'device_name': DEVICE,
                            'channels': 'control,tenant',
                            'channel_subnets': 'tenant:' + TENANT_CIDR,
                            'persistent_keepalive': '1',
                            'poll_interval': '1'}
        with open(self.sdk_conf, 'w') as f:
            conf.write(f)
        self.sdk_log = os.path.join(self.work, 'edge-sdk.log')
        self.attach_on_failure(self.sdk_log,
                               os.path.join(self.work, 'run.out'))
        self.addCleanup(self._delete_channels)
        self.figures = {}
        self.addCleanup(self._figures)

    def _wait_agent(self, after=0):
        # Its first full re-sync done: it hears notifications by then,
        # and the figures measure the SDK, not the agent's start.
        _wait('the hub agent started', lambda: self.agent.resyncs() > after,
              60)

    def _figures(self):
        extra = ''
        if os.path.exists(self.sdk_log):
            # The SDK's own steps, with their times.
            with open(self.sdk_log) as f:
                extra = '\n' + ''.join(
                    line for line in f if ' INFO edge_sdk' in line or
                    ' WARNING edge_sdk' in line)
        self.add_figures('edge-sdk', self.figures, extra)

    def _delete_channels(self):
        demo = self.api.client('demo')
        for channel in demo.get('/channels').json().get('channels', []):
            demo.delete('/channels/%s' % channel['uuid'])

    # -- the device -------------------------------------------------------

    def device_env(self, user='demo', application_credential=None):
        env = {'PATH': os.environ['PATH'], 'LC_ALL': 'C.UTF-8',
               'OS_REGION_NAME': keystone_mod.REGION,
               'OS_INTERFACE': 'public'}
        if application_credential:
            env.update({
                'OS_AUTH_URL': self.plane.keystone.url,
                'OS_AUTH_TYPE': 'v3applicationcredential',
                'OS_APPLICATION_CREDENTIAL_ID': application_credential[0],
                'OS_APPLICATION_CREDENTIAL_SECRET':
                    application_credential[1]})
        else:
            creds = self.plane.credentials(user)
            env.update({'OS_' + k.upper(): v for k, v in creds.items()})
        return env

    def command(self, *args):
        return ['ip', 'netns', 'exec', self.nets.dev,
                service.bin_path('edge-sdk'), '--config-file',
                self.sdk_conf, '--state-dir', self.state,
                '--log-file', self.sdk_log] + list(args)

    def sdk(self, *args, env=None):
        proc = subprocess.run(self.command(*args), capture_output=True,
                              text=True, env=env or self.device_env(),
                              timeout=120)
        self.assertEqual(0, proc.returncode, proc.stderr)
        return proc.stdout

    def channels(self):
        """The device's channels by their name on the device."""
        body = self.api.client('demo').get('/channels').json()
        prefix = DEVICE + '-'
        channels = {c['name'][len(prefix):]: c for c in body['channels']
                    if c['name'].startswith(prefix)}
        self.assertEqual(len(body['channels']), len(channels),
                         'channels of another device: %s' % body)
        return channels

    def application_credential(self):
        session = self.plane.keystone.session('demo')
        user_id = session.get_user_id()
        resp = session.post(
            '%s/users/%s/application_credentials' % (
                self.plane.keystone.url, user_id),
            json={'application_credential': {'name': 'edge-sdk-test'}})
        cred = resp.json()['application_credential']
        self.addCleanup(session.delete, '%s/users/%s/application_'
                        'credentials/%s' % (self.plane.keystone.url,
                                            user_id, cred['id']),
                        raise_exc=False)
        return cred['id'], cred['secret']

    def hub_ip(self, name):
        return self.channels()[name]['peers'][0]['properties']['ip']

    # -- the proof ----------------------------------------------------------

    def test_up_status_rotate_resync_down(self):
        # Pings start as soon as the API shows the control channel's hub,
        # while "edge-sdk up" is still running.
        start = time.monotonic()
        up = subprocess.Popen(self.command('up'), env=self.device_env(),
                              stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
        self.addCleanup(self._stop, up)
        hub = {}

        def first_ping():
            if 'ip' not in hub:
                control = self.channels().get('control')
                if not control:
                    return False
                hub['ip'] = control['peers'][0]['properties']['ip']
            return _ping(self.nets.dev, hub['ip'])

        _wait('ping through the control tunnel', first_ping, 60)
        self.figures['up_to_first_ping_s'] = round(
            time.monotonic() - start, 3)
        out, err = up.communicate(timeout=120)
        self.assertEqual(0, up.returncode, err)
        self.figures['up_command_s'] = round(time.monotonic() - start, 3)
        self.assertIn('control:', out)
        channels = self.channels()
        self.assertEqual({'control', 'tenant'}, set(channels))
        control_hub = self.hub_ip('control')
        tenant_hub = self.hub_ip('tenant')
        _wait('ping through the tenant tunnel',
              lambda: _ping(self.nets.dev, tenant_hub), 15)
        self.assertIn(ipaddress.ip_address(
            channels['tenant']['properties']['ip']),
            ipaddress.ip_network(TENANT_CIDR))
        self.assertEqual(TENANT_CIDR, channels['tenant']['peers'][0][
            'properties']['subnet'])
        # Two hubs: one per channel subnet.
        self.assertNotEqual(channels['control']['peers'][0]['uuid'],
                            channels['tenant']['peers'][0]['uuid'])
        for name in ('control', 'tenant'):
            path = os.path.join(self.state, name + '.key')
            self.assertEqual(0o600, os.stat(path).st_mode & 0o777)
        self.assertEqual(0o700, os.stat(self.state).st_mode & 0o777)

        # status, with an application credential this time.
        status = json.loads(self.sdk(
            'status', '--json', env=self.device_env(
                application_credential=self.application_credential())))
        for name in ('control', 'tenant'):
            self.assertEqual(channels[name]['properties']['public_key'],
                             status[name]['wireguard']['public_key'])
            self.assertEqual(channels[name]['uuid'],
                             status[name]['channel']['uuid'])

        # rotate-key: the new key reaches the hub through the API, Neutron
        # and the hub agent; the tunnel is back within seconds.
        old_key = channels['control']['properties']['public_key']
        start = time.monotonic()
        self.sdk('rotate-key', '--channel', 'control')
        self.figures['rotate_command_s'] = round(time.monotonic() - start,
                                                 3)
        _wait('ping after the key rotation',
              lambda: _ping(self.nets.dev, control_hub), RESTORE_SECONDS)
        self.figures['rotate_to_ping_s'] = round(
            time.monotonic() - start, 3)
        new_key = self.channels()['control']['properties']['public_key']
        self.assertNotEqual(old_key, new_key)

        # run: the control hub gets a new key (its agent rebuilt without
        # its state); the SDK's poll re-applies, and the tunnel is back.
        run_log = open(os.path.join(self.work, 'run.out'), 'w')
        self.addCleanup(run_log.close)
        runner = subprocess.Popen(self.command('run'), env=self.device_env(),
                                  stdout=run_log, stderr=run_log)
        self.addCleanup(self._stop, runner)
        hub_id = channels['control']['peers'][0]['uuid']
        hub_key = self.channels()['control']['peers'][0]['properties'][
            'public_key']
        self.agent.kill()
        self.nets.in_hub('ip', 'link', 'del',
                         naming.wireguard_device(hub_id))
        os.unlink(os.path.join(self.hub_state, hub_id + '.key'))
        self.assertFalse(_ping(self.nets.dev, control_hub))
        start = time.monotonic()
        self.agent.start(wait=False)
        self._wait_agent(after=1)
        self.figures['agent_restart_s'] = round(time.monotonic() - start, 3)
        _wait('a new hub key in the channel', lambda: self.channels()[
            'control']['peers'][0]['properties']['public_key'] != hub_key,
            60)
        self.figures['agent_restart_to_new_hub_key_s'] = round(
            time.monotonic() - start, 3)
        _wait('ping after the hub key changed',
              lambda: _ping(self.nets.dev, control_hub), 30)
        self.figures['agent_restart_to_ping_s'] = round(
            time.monotonic() - start, 3)
        self.assertEqual(0, self._stop(runner))

        # No private key of the device ever reached the cloud's logs.
        secrets = [open(os.path.join(self.state, n + '.key')).read().strip()
                   for n in ('control', 'tenant')]
        for root, _dirs, files in os.walk(self.plane.logs):
            for name in files:
                with open(os.path.join(root, name), errors='replace') as f:
                    text = f.read()
                for secret in secrets:
                    self.assertNotIn(secret, text, name)

        # down --delete: interfaces, channels and hubs go.
        self.sdk('down', '--delete')
        links = subprocess.run(
            ['ip', '-n', self.nets.dev, '-j', 'link', 'show'],
            capture_output=True, text=True, check=True).stdout
        self.assertEqual([], [link['ifname'] for link in json.loads(links)
                              if link['ifname'].startswith('ec-')])
        self.assertEqual({}, self.channels())
        ports = self.neutron.get('/ports').json()['ports']
        self.assertEqual([], [p['id'] for p in ports
                              if p['device_owner'].startswith('channel:')])

    @staticmethod
    def _stop(proc):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode
