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

"""Options of the Zun side, all in the ``[oci_attach]`` group.

``oci_attach.py`` holds the translation and security-policy options,
``cyborg.py`` those of the Cyborg accelerator-request lifecycle.
"""

from oslo_config import cfg

from zun_oci_attach.conf import cyborg
from zun_oci_attach.conf import oci_attach


CONF = cfg.CONF

oci_attach.register_opts(CONF)
cyborg.register_opts(CONF)
