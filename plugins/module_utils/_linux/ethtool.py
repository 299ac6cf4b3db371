# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one ethtool setting the collection touches: TX checksum offload.

Netlink has no request for it, so this is the ``SIOCETHTOOL`` ioctl on a
datagram socket opened in the link's namespace (``ethtool -K <if> tx off``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket
import struct

from ansible_collections.netwire.fabric.plugins.module_utils._errors import BackendError, failure
from ansible_collections.netwire.fabric.plugins.module_utils._linux.netns import in_netns as _in_netns

SIOCETHTOOL = 0x8946
ETHTOOL_GTXCSUM = 0x00000016
ETHTOOL_STXCSUM = 0x00000017


def _ethtool_value(sock, ifname, cmd, data=0):
    import fcntl
    import array

    buf = array.array("B", struct.pack("II", cmd, data))
    addr = buf.buffer_info()[0]
    ifreq = struct.pack("16sP", ifname.encode()[:15], addr)
    fcntl.ioctl(sock.fileno(), SIOCETHTOOL, ifreq)
    return struct.unpack("II", buf.tobytes())[1]


def tx_checksum_enabled(ifname, netns=None):
    def read():
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            return bool(_ethtool_value(sock, ifname, ETHTOOL_GTXCSUM))

    return _in_netns(netns, read)


def disable_tx_checksum(ifname, netns=None, check_mode=False):
    """Turn TX checksum offload off (``ethtool -K <if> tx off``); True if it was on.

    Needed on veths attached to a userspace (netdev) OVS bridge: the kernel
    would otherwise hand OVS packets with partial checksums that OVS forwards
    unfixed, so TCP fails while ping works.
    """

    def work():
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            if not _ethtool_value(sock, ifname, ETHTOOL_GTXCSUM):
                return False
            if not check_mode:
                _ethtool_value(sock, ifname, ETHTOOL_STXCSUM, 0)
            return True

    try:
        return _in_netns(netns, work)
    except (OSError, IOError) as exc:
        raise failure("disable TX checksum offload on", "interface", ifname, str(exc), BackendError,
                      errno=exc.errno)
