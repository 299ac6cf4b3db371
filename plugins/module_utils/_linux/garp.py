# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Gratuitous ARP: a bridge whose MAC changed tells its neighbors at once.

Containers hold a neighbor entry for their gateway (the bridge's address). When
the bridge's MAC changes under them, they keep sending to the old MAC until the
entry goes stale and ARP gives up on it, up to a minute without a gateway. A
gratuitous ARP request (sender and target = the address, from the new MAC)
makes every neighbor that knows the address update its entry now (Linux:
``arp_process`` overrides an entry for a gratuitous ARP). The kernel sends one
itself only with the ``arp_notify`` sysctl, which is off by default.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import socket
import struct

from ansible_collections.netwire.fabric.plugins.module_utils._errors import BackendError, failure
from ansible_collections.netwire.fabric.plugins.module_utils._linux.netns import in_netns as _in_netns

ETH_P_ARP = 0x0806
BROADCAST = b'\xff' * 6


def _mac_bytes(mac):
    return bytes(bytearray(int(part, 16) for part in mac.split(':')))


def garp_frame(mac, address):
    """The Ethernet frame of a gratuitous ARP request for ``address`` (IPv4, no prefix) from ``mac`` (pure)."""
    sender = _mac_bytes(mac)
    ip = ipaddress.IPv4Address(address).packed
    arp = struct.pack('!HHBBH6s4s6s4s', 1, 0x0800, 6, 4, 1, sender, ip, b'\x00' * 6, ip)
    return BROADCAST + sender + struct.pack('!H', ETH_P_ARP) + arp


def ipv4_addresses(addresses):
    """The IPv4 addresses (without prefix) among ``['10.1.0.1/24', 'fd00::1/64', ...]`` (pure)."""
    out = []
    for cidr in addresses or []:
        itf = ipaddress.ip_interface(cidr)
        if itf.version == 4:
            out.append(str(itf.ip))
    return out


def announce(ifname, mac, addresses, netns=None, count=2):
    """Send ``count`` gratuitous ARP requests on ``ifname`` for each IPv4 address; the number of frames sent."""
    frames = [garp_frame(mac, a) for a in ipv4_addresses(addresses)]
    if not frames:
        return 0

    def send():
        # Protocol 0 and no bind: the socket receives nothing, so the kernel registers no receive
        # hook, and has none to remove (a grace period, i.e. milliseconds, each: issue 20); every
        # frame names its device. Closing a packet socket still waits for one.
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        try:
            sent = 0
            for _round in range(count):
                for frame in frames:
                    sock.sendto(frame, (ifname, ETH_P_ARP))
                    sent += 1
            return sent
        finally:
            sock.close()

    try:
        return _in_netns(netns, send)
    except (OSError, IOError) as exc:
        raise failure('announce the new MAC of', 'interface', ifname, 'gratuitous ARP: %s' % exc, BackendError,
                      errno=exc.errno)


def announce_or_warning(ifname, mac, addresses, netns=None):
    """:func:`announce`, for a manager whose MAC change is done: None, or the warning to report when the
    announcement failed (the change stands; a neighbor that missed it asks ARP again)."""
    try:
        announce(ifname, mac, addresses, netns)
    except BackendError as err:
        return '%s; neighbors relearn the MAC when their entry for it goes stale' % err
    return None
