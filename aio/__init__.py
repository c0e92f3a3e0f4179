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

"""An all-in-one cloud on loopback for cyborg-peripherals (``tools/aio``).

Not installed with the project: it drives the real services of the
virtualenv (Keystone, Placement, Neutron, Kuryr, Cyborg, Zun) as
subprocesses.
"""

import warnings


# Libraries this process imports (oslo.messaging, the clients) warn at
# import that eventlet is deprecated; nothing in this process uses it.
warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')
