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

"""USB ids of software-defined radios.

Sources: the udev rules and sources the vendors ship (osmocom rtl-sdr
``rtl-sdr.rules``, greatscottgadgets ``53-hackrf.rules``, Ettus UHD
``b200_iface.hpp``, Nuand ``60-nuand-bladerf2.rules``, myriadrf
LimeSuite).  Devices not listed are still found when udev tags them with
``ID_SOFTWARE_RADIO``.  The model becomes a trait, so a device profile can
ask for "a HackRF" rather than for one vendor:product pair.
"""

#: (vendor_id, product_id) -> model
SDR_USB_IDS = {
    # Realtek RTL2832U family (generic and OEM ids from rtl-sdr.rules).
    ('0bda', '2832'): 'rtl2832u',
    ('0bda', '2838'): 'rtl2832u',
    ('0413', '6680'): 'rtl2832u',
    ('0413', '6f0f'): 'rtl2832u',
    ('0458', '707f'): 'rtl2832u',
    ('0ccd', '00a9'): 'rtl2832u',
    ('0ccd', '00b3'): 'rtl2832u',
    ('0ccd', '00b4'): 'rtl2832u',
    ('0ccd', '00b5'): 'rtl2832u',
    ('0ccd', '00b7'): 'rtl2832u',
    ('0ccd', '00b8'): 'rtl2832u',
    ('0ccd', '00b9'): 'rtl2832u',
    ('0ccd', '00c0'): 'rtl2832u',
    ('0ccd', '00c6'): 'rtl2832u',
    ('0ccd', '00d3'): 'rtl2832u',
    ('0ccd', '00d7'): 'rtl2832u',
    ('0ccd', '00e0'): 'rtl2832u',
    ('1554', '5020'): 'rtl2832u',
    ('15f4', '0131'): 'rtl2832u',
    ('15f4', '0133'): 'rtl2832u',
    ('185b', '0620'): 'rtl2832u',
    ('185b', '0650'): 'rtl2832u',
    ('185b', '0680'): 'rtl2832u',
    ('1b80', 'd393'): 'rtl2832u',
    ('1b80', 'd394'): 'rtl2832u',
    ('1b80', 'd395'): 'rtl2832u',
    ('1b80', 'd397'): 'rtl2832u',
    ('1b80', 'd398'): 'rtl2832u',
    ('1b80', 'd39d'): 'rtl2832u',
    ('1b80', 'd3a4'): 'rtl2832u',
    ('1b80', 'd3a8'): 'rtl2832u',
    ('1b80', 'd3af'): 'rtl2832u',
    ('1b80', 'd3b0'): 'rtl2832u',
    ('1d19', '1101'): 'rtl2832u',
    ('1d19', '1102'): 'rtl2832u',
    ('1d19', '1103'): 'rtl2832u',
    ('1d19', '1104'): 'rtl2832u',
    ('1f4d', 'a803'): 'rtl2832u',
    ('1f4d', 'b803'): 'rtl2832u',
    ('1f4d', 'c803'): 'rtl2832u',
    ('1f4d', 'd286'): 'rtl2832u',
    ('1f4d', 'd803'): 'rtl2832u',
    # Great Scott Gadgets.
    ('1d50', '6089'): 'hackrf_one',
    ('1d50', '604b'): 'hackrf_jawbreaker',
    ('1d50', 'cc15'): 'rad1o',
    # Ettus Research USRP B2xx, also sold under the NI brand.
    ('2500', '0020'): 'usrp_b200',
    ('2500', '0021'): 'usrp_b200mini',
    ('2500', '0022'): 'usrp_b205mini',
    ('3923', '7813'): 'usrp_b200',
    ('3923', '7814'): 'usrp_b210',
    # Lime Microsystems.
    ('1d50', '6108'): 'limesdr_usb',
    ('0403', '601f'): 'limesdr_mini',
    # Nuand.
    ('2cf0', '5250'): 'bladerf2',
    # Airspy.
    ('1d50', '60a1'): 'airspy',
    ('03eb', '800c'): 'airspy_hf',
}


def model_for(vendor_id, product_id):
    """Return the SDR model for a USB id, or None."""
    if not vendor_id or not product_id:
        return None
    return SDR_USB_IDS.get((vendor_id.lower(), product_id.lower()))
