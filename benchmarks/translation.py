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

"""Translation time per attachment (goal: well under 1 ms).

A spec of a busy edge host (32 peripherals) is written to a temporary
CDI directory; each attachment is one peripheral with four real nodes
(two real character devices, each under two names) and two environment
variables.  Prints
the median time of ``translate()`` and, as a same-process baseline, of
reading and parsing the spec file alone, with their ratio.  The spec is
read and checked at every attach, but the parse of unchanged bytes is
cached, so the first attach after the spec changed is measured too.

    .venv/bin/python -m benchmarks.translation
"""

import statistics
import tempfile
import time

from cyborg_peripherals import contract
from cyborg_peripherals.cdi import spec
from cyborg_peripherals.cdi import writer
from zun_oci_attach import policy as policy_mod
from zun_oci_attach import translation


ROUNDS = 2000
PERIPHERALS = 32
#: (container path, host node, major, minor): nodes the policy allows.
NODES = (('/dev/sdr0', '/dev/hwrng', 10, 183),
         ('/dev/sdr1', '/dev/cpu_dma_latency', 10, 259),
         ('/dev/sdr2', '/dev/hwrng', 10, 183),
         ('/dev/sdr3', '/dev/cpu_dma_latency', 10, 259))


def _spec_bytes():
    edits = {
        'deviceNodes': [spec.device_node_dict(p, 'c', ma, mi, host_path=h)
                        for p, h, ma, mi in NODES],
        'env': ['PERIPHERAL_SDR_ARGS=driver=rtlsdr,serial=1',
                'PERIPHERAL_SDR_DEVICE=/dev/sdr0'],
    }
    return spec.render(spec.build_spec(
        contract.CDI_KIND, [('sdr-%d' % i, edits)
                            for i in range(PERIPHERALS)]))


def _median_us(func):
    samples = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        func()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e6


def main():
    with tempfile.TemporaryDirectory() as cdi_dir:
        writer.atomic_write(cdi_dir, _spec_bytes())
        policy = translation.Policy(cdi_dir=cdi_dir)
        info = contract.AttachInfo.for_device('sdr-7', 'sdr').encode()

        def ours():
            translation.translate(contract.ATTACH_TYPE, info, policy)

        def cold():
            # As right after the spec changed: nothing parsed yet.
            policy_mod._parse.cache_clear()
            ours()

        def baseline():
            with open(writer.spec_path(cdi_dir), 'rb') as f:
                spec.parse(f.read())

        ours()  # warm caches the same way for both
        base_us = _median_us(baseline)
        ours_us = _median_us(ours)
        cold_us = _median_us(cold)
    print('spec: %d peripherals, %d bytes; attachment: %d nodes'
          % (PERIPHERALS, len(_spec_bytes()), len(NODES)))
    print('read+parse spec (baseline): %8.1f us' % base_us)
    print('translate() per attachment: %8.1f us' % ours_us)
    print('ratio translate/baseline:   %8.2f' % (ours_us / base_us))
    print('translate() after a spec change (parse not cached): %.1f us, '
          'ratio %.2f' % (cold_us, cold_us / base_us))
    print('goal: translate() well under 1000 us: %s'
          % ('met' if ours_us < 1000 else 'NOT met'))


if __name__ == '__main__':
    main()
