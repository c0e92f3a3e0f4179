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
none to create, rename and unlink files there.  The entrypoints take no
path of the caller's choosing beyond the configured directory, and write
only a document that parses as a CDI spec of our own kind.
"""

from oslo_privsep import priv_context

from cyborg_peripherals import contract
from cyborg_peripherals.cdi import spec
from cyborg_peripherals.cdi import writer


cdi_pctxt = priv_context.PrivContext(
    'cyborg_peripherals',
    cfg_section='cyborg_peripherals_privileged',
    pypath=__name__ + '.cdi_pctxt',
    capabilities=[],
)


@cdi_pctxt.entrypoint
def write_spec(directory, content):
    parsed = spec.parse(content)
    if parsed.kind != contract.CDI_KIND:
        raise ValueError('refusing to write a CDI spec of kind %s'
                         % parsed.kind)
    writer.atomic_write(directory, content)


@cdi_pctxt.entrypoint
def remove_spec(directory):
    writer.remove(directory)
