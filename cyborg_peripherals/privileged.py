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

"""The only privileged operations: replacing or removing our CDI spec.

The privsep daemon runs as root so the spec file is owned by root, which
is what the Zun side requires of a spec it trusts.  It keeps *no*
capabilities: as the owner of the (root-owned) CDI directory, root needs
none to create, rename and unlink files there.

The entrypoints take no path at all: the directory is the daemon's own
``[peripherals] cdi_spec_dir``, and it and its parents must be real
directories that only root can change (a missing spec directory is
created 0755; missing parents are not).  The content must be a CDI spec
of our kind that the Zun side's policy would accept
(cyborg_peripherals.cdi.safety, shared by both): no hooks, mounts or
spec-wide edits, only allowlisted environment, and device nodes that are
character devices of peripheral kinds matching the real nodes.
"""

from oslo_privsep import priv_context

from cyborg_peripherals import conf
from cyborg_peripherals import contract
from cyborg_peripherals.cdi import safety
from cyborg_peripherals.cdi import spec
from cyborg_peripherals.cdi import writer


cdi_pctxt = priv_context.PrivContext(
    'cyborg_peripherals',
    cfg_section='cyborg_peripherals_privileged',
    pypath=__name__ + '.cdi_pctxt',
    capabilities=[],
)


def _directory():
    directory = conf.CONF.peripherals.cdi_spec_dir
    writer.prepare_directory(directory)
    return directory


def check_content(content):
    """Raise unless root may write ``content`` as our spec."""
    parsed = spec.parse(content)
    if parsed.kind != contract.CDI_KIND:
        raise ValueError('refusing to write a CDI spec of kind %s'
                         % parsed.kind)
    rules = safety.ContentRules(
        allowed_majors=conf.CONF.peripherals.allowed_device_majors)
    rules.validate('peripherals')
    rules.check_spec(parsed)


@cdi_pctxt.entrypoint
def write_spec(content):
    check_content(content)
    writer.atomic_write(_directory(), content)


@cdi_pctxt.entrypoint
def remove_spec():
    writer.remove(_directory())
