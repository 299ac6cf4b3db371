# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Netlink work the OVS modules need: addresses and link state of OVS internal
ports, and TX checksum offload of veths on netdev bridges.

Kept apart from ``_netlink.py`` (written in parallel for the Linux data plane)
on purpose, so the two can be merged later without conflicts: everything here
is a small function over one ``IPRoute`` socket, plus pure planners.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import ipaddress
import socket
import struct
import threading
import time

from ansible_collections.netwire.fabric.plugins.module_utils._errors import (
    BackendError,
    InvalidParameter,
    MissingDependency,
    failure,
)

try:
    from pyroute2 import IPRoute
    from pyroute2.netlink.exceptions import NetlinkError

    HAS_PYROUTE2 = True
except ImportError:  # pragma: no cover - depends on the host
    HAS_PYROUTE2 = False
    IPRoute = None

    class NetlinkError(Exception):
        code = 0


def normalize_address(text, what="address"):
    """'10.0.0.1/24' -> '10.0.0.1/24' (canonical); a bare IP gets /32 or /128."""
    try:
        iface = ipaddress.ip_interface(str(text).strip())
    except ValueError:
        raise InvalidParameter("Invalid %s '%s': expected an IP address with a prefix, e.g. 10.0.0.1/24"
                               % (what, text))
    return "%s/%d" % (iface.ip.compressed, iface.network.prefixlen)


def plan_addresses(current, desired):
    """Exclusive address list on a port we own: (to_add, to_remove), sorted."""
    cur, want = set(current), set(desired)
    return sorted(want - cur), sorted(cur - want)


def open_ipr(netns=None):
    if not HAS_PYROUTE2:
        raise MissingDependency("Failed to open netlink: the Python library pyroute2 is not installed")
    if netns:
        return IPRoute(netns=netns, flags=0)
    return IPRoute()


def _get_link(ipr, ifname):
    try:
        links = ipr.link("get", ifname=ifname)
    except NetlinkError as exc:
        if exc.code == errno.ENODEV:
            return None
        raise
    return links[0] if links else None


def read_port_state(ipr, ifname):
    """{'exists', 'up', 'addresses'} of one link (global addresses only)."""
    link = _get_link(ipr, ifname)
    if link is None:
        return {"exists": False, "up": False, "addresses": []}
    index = link["index"]
    addrs = []
    for msg in ipr.addr("dump", index=index):
        if msg.get("scope", 0) != 0:  # link-local and host scope are not ours to manage
            continue
        addrs.append(normalize_address("%s/%d" % (msg.get_attr("IFA_ADDRESS"), msg["prefixlen"])))
    return {"exists": True, "up": bool(link["flags"] & 1), "addresses": sorted(addrs)}


def wait_link(ipr, ifname, timeout=5.0):
    deadline = time.time() + timeout
    while True:
        link = _get_link(ipr, ifname)
        if link is not None or time.time() >= deadline:
            return link
        time.sleep(0.05)


def converge_port(ipr, ifname, add, remove, up=True):
    """Apply an address plan on an existing link and bring it up."""
    link = wait_link(ipr, ifname)
    if link is None:
        raise failure("configure", "OVS internal port", ifname,
                      "the link did not appear after the OVSDB transaction", BackendError)
    index = link["index"]
    try:
        for addr in remove:
            ip, plen = addr.split("/")
            ipr.addr("del", index=index, address=ip, prefixlen=int(plen))
        for addr in add:
            ip, plen = addr.split("/")
            try:
                ipr.addr("add", index=index, address=ip, prefixlen=int(plen))
            except NetlinkError as exc:
                if exc.code != errno.EEXIST:
                    raise
        if up and not link["flags"] & 1:
            ipr.link("set", index=index, state="up")
    except NetlinkError as exc:
        raise failure("configure", "OVS internal port", ifname, "netlink: %s" % exc, BackendError)


# --------------------------------------------------------------------------
# TX checksum offload (ethtool ioctl)
# --------------------------------------------------------------------------

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


def _in_netns(netns, func):
    """Run ``func()`` in a thread switched to ``netns`` (setns is per-thread)."""
    if not netns:
        return func()
    result = {}

    def runner():
        try:
            from pyroute2.netns import setns

            setns(netns, flags=0)
            result["value"] = func()
        except Exception as exc:  # re-raised in the caller's thread
            result["error"] = exc

    thread = threading.Thread(target=runner)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result.get("value")


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
        raise failure("disable TX checksum offload on", "interface", ifname, str(exc), BackendError, errno=exc.errno)
