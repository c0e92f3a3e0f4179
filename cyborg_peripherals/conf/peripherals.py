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

"""``[peripherals]`` options and per-class ``[peripheral_class:NAME]``."""

import socket

from oslo_config import cfg

from cyborg_peripherals import naming
from cyborg_peripherals.cdi import names as cdi_names
from cyborg_peripherals.discovery import classes
from cyborg_peripherals.discovery import rules


GROUP = 'peripherals'
CLASS_GROUP_PREFIX = 'peripheral_class:'

peripherals_group = cfg.OptGroup(
    GROUP, title='Peripheral discovery',
    help='How cyborg-peripherals finds the peripherals of this host and '
         'where it describes them for container runtimes.')

opts = [
    cfg.StrOpt('host',
               sample_default='localhost',
               help='Host name the command-line tools use in deployable '
                    'names when their configuration has no [DEFAULT] host '
                    '(the Cyborg agent\'s option, which the driver uses, '
                    'and the tools too when they read the agent\'s '
                    'cyborg.conf). Set it to the agent\'s host name; when '
                    'unset, the tools use this machine\'s host name, as '
                    'Cyborg does by default.'),
    cfg.StrOpt('cdi_spec_dir',
               default='/var/run/cdi',
               help='Directory of the CDI spec that describes the '
                    'container edits of each peripheral. /var/run/cdi is '
                    'the CDI directory for dynamically generated specs; '
                    'container runtimes and the Zun driver read it.'),
    cfg.IntOpt('removal_grace_period',
               default=30, min=0,
               help='Seconds a peripheral that disappeared is still '
                    'reported to Cyborg. A device unplugged and plugged '
                    'back (or re-enumerated) within this time keeps its '
                    'deployable, resource provider and attach handle even '
                    'if an agent report falls in between; its CDI spec '
                    'entry goes at once. 0 reports removals at once.'),
    cfg.ListOpt('enabled_classes',
                default=sorted(classes.BUILTIN),
                help='Peripheral classes to offer. Built-in: %s. Add your '
                     'own by naming it here and defining a '
                     '[peripheral_class:NAME] section.'
                     % ', '.join(sorted(classes.BUILTIN))),
    cfg.ListOpt('allowed_device_majors',
                default=[],
                help='Device majors, as TYPE:MAJOR (for example b:179 for '
                     'SD cards), that the privileged CDI writer may put in '
                     'the spec although it refuses them by default: block '
                     'devices and the kinds of node that are never '
                     'peripherals (memory devices, consoles, kvm, fuse, '
                     'loop, device-mapper, ...). Each entry allows every '
                     'node of that major. Set the same value in Zun\'s '
                     '[oci_attach] allowed_device_majors.'),
]

class_opts = [
    cfg.StrOpt('subsystem',
               help='udev subsystem the class looks at (for example tty, '
                    'video4linux, usb). Required for a new class; fixed '
                    'for built-in classes.'),
    cfg.MultiStrOpt('match',
                    default=[],
                    help='A rule every device of the class must meet: '
                         'KERNEL, DEVTYPE, ENV{PROPERTY} or ATTR{name}, '
                         'then == or !=, then a glob matched against the '
                         'whole value with fnmatch rules (``*``, ``?``, '
                         '``[...]``). A '
                         'missing value fails == and passes !=. Repeat the '
                         'option to add rules; for a built-in class they '
                         'narrow what it offers.'),
    cfg.StrOpt('group_by',
               choices=[('node', 'each device node is a peripheral'),
                        ('usb_interface', 'one peripheral per USB '
                                          'interface'),
                        ('usb_device', 'one peripheral per USB device')],
               help='How device nodes group into one peripheral. Default: '
                    'node for new classes.'),
    cfg.StrOpt('resource_class',
               help='Placement resource class. Default: '
                    '``CUSTOM_PERIPHERAL_<CLASS>``.'),
    cfg.ListOpt('traits',
                default=[],
                help='Extra traits (each ``CUSTOM_...``) for peripherals '
                     'of the class.'),
    cfg.StrOpt('permissions',
               default='rw',
               help='Device cgroup access granted to containers: a subset '
                    'of "rwm".'),
]


class ConfigError(ValueError):
    pass


def register_opts(conf):
    conf.register_group(peripherals_group)
    conf.register_opts(opts, group=peripherals_group)


def host(conf):
    """The host name deployables are named after.

    The Cyborg agent's ``[DEFAULT] host`` where it is registered (by
    Cyborg, or by the command when it reads the agent's configuration),
    then ``[peripherals] host``, then this machine's host name.
    """
    if 'host' in conf and conf.host:
        return conf.host
    return conf.peripherals.host or socket.gethostname()


def register_class_opts(conf, name):
    """Register the options of ``[peripheral_class:NAME]``.

    Class sections are only known once ``enabled_classes`` is read, so
    they are registered then, not at import.
    """
    group = CLASS_GROUP_PREFIX + name
    conf.register_opts(class_opts, group=group)
    return conf[group]


def _valid_trait(trait):
    return (trait.startswith('CUSTOM_') and
            naming.trait_fragment(trait) == trait and
            len(trait) <= naming.MAX_TRAIT_LEN)


def load_classes(conf):
    """Build the enabled :class:`DeviceClass` list from configuration.

    Raises :class:`ConfigError` naming the option to fix.
    """
    result = []
    for name in conf.peripherals.enabled_classes:
        if not cdi_names.is_valid_class_name(name):
            raise ConfigError(
                '[peripherals] enabled_classes: %r is not a valid class '
                'name (lower-case letters, digits and _; at most 32)' % name)
        section = '[%s%s]' % (CLASS_GROUP_PREFIX, name)
        cconf = register_class_opts(conf, name)
        try:
            extra_rules = rules.parse_rules(cconf.match)
        except rules.InvalidRule as e:
            raise ConfigError('%s match: %s' % (section, e)) from None
        perms = cconf.permissions
        if not perms or set(perms) - set('rwm'):
            raise ConfigError('%s permissions: %r is not a subset of rwm'
                              % (section, perms))
        bad = [t for t in cconf.traits if not _valid_trait(t)]
        if bad:
            raise ConfigError('%s traits: %s must be CUSTOM_ followed by '
                              'A-Z, 0-9 and _' % (section, ', '.join(bad)))
        rc = cconf.resource_class
        if rc and not _valid_trait(rc):
            raise ConfigError('%s resource_class: %r must be CUSTOM_ '
                              'followed by A-Z, 0-9 and _' % (section, rc))
        base = classes.BUILTIN.get(name)
        if base is not None:
            if cconf.subsystem and cconf.subsystem != base.subsystem:
                raise ConfigError('%s subsystem: the built-in class %s '
                                  'always uses %s' % (section, name,
                                                      base.subsystem))
            result.append(base.__class__(
                name=name, subsystem=base.subsystem,
                group_by=cconf.group_by or base.group_by,
                sys_names=base.sys_names, usb_only=base.usb_only,
                rules=extra_rules, traits=tuple(cconf.traits),
                resource_class=rc, permissions=perms))
            continue
        if not cconf.subsystem:
            raise ConfigError('%s subsystem: required for the class %s, '
                              'which is not built in' % (section, name))
        result.append(classes.DeviceClass(
            name=name, subsystem=cconf.subsystem,
            group_by=cconf.group_by or 'node', rules=extra_rules,
            traits=tuple(cconf.traits), resource_class=rc,
            permissions=perms))
    return result


example_class_group = cfg.OptGroup(
    CLASS_GROUP_PREFIX + 'name',
    help='One section per peripheral class named in enabled_classes, for '
         'example [peripheral_class:camera] to narrow the built-in camera '
         'class or [peripheral_class:lidar] to define a new one.')


def list_opts():
    return [(peripherals_group, opts), (example_class_group, class_opts)]
