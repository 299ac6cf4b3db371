# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one per-interface IPv4 setting the collection touches: ``arp_ignore``.

Why: the OVS userspace datapath (``datapath_type=netdev``) reads its ports with packet
sockets, so a port that is a kernel link (the underlay NIC, the host end of a
container's veth) also stays a live interface of the host's own IP stack. With the
kernel default ``arp_ignore=0`` the host answers an ARP request on *any* interface for
*any* of its addresses: a container asking for its gateway gets two answers, the
bridge's and the veth host end's, and the underlay's peers get the bridge's MAC and the
NIC's. Whichever comes last wins; frames sent to the wrong MAC bypass the OVS bridge,
and tunnels and routed traffic fail until the entry is probed again (seen as TCP
failing after ping passed). ``arp_ignore=1`` makes such a port answer only for
addresses on itself, and these ports carry none.

The value lives in ``/proc/sys/net/ipv4/conf/<ifname>/arp_ignore`` of the link's
namespace (the sysctl tree follows the namespace of the thread that opens it).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.netwire.fabric.plugins.module_utils._errors import BackendError, failure
from ansible_collections.netwire.fabric.plugins.module_utils._linux.netns import in_netns as _in_netns

ARP_IGNORE = 'arp_ignore'
# answer only for addresses configured on the interface the request came in on
ARP_IGNORE_OWN = 1


def _path(ifname, key):
    if not ifname or '/' in ifname or ifname in ('.', '..'):
        raise BackendError("Failed to read IPv4 setting %s of interface '%s': not an interface name" % (key, ifname))
    return os.path.join('/proc/sys/net/ipv4/conf', ifname, key)


def read_ipv4_conf(ifname, key, netns=None):
    """The integer value of ``net.ipv4.conf.<ifname>.<key>``; None when there is no such interface."""
    path = _path(ifname, key)

    def read():
        try:
            with open(path) as handle:
                return int(handle.read().strip())
        except (IOError, OSError):
            return None

    return _in_netns(netns, read)


def write_ipv4_conf(ifname, key, value, netns=None):
    path = _path(ifname, key)

    def write():
        with open(path, 'w') as handle:
            handle.write('%d\n' % int(value))

    try:
        _in_netns(netns, write)
    except (IOError, OSError) as exc:
        raise failure("set %s=%d on" % (key, int(value)), "interface", ifname, str(exc), BackendError,
                      errno=exc.errno)


def answers_foreign_arp(ifname, netns=None):
    """Does ``ifname`` answer ARP for addresses of other interfaces (``arp_ignore`` 0)?"""
    return read_ipv4_conf(ifname, ARP_IGNORE, netns) == 0


def answer_own_arp_only(ifname, netns=None):
    """``arp_ignore=1`` on ``ifname`` (see the module docstring)."""
    write_ipv4_conf(ifname, ARP_IGNORE, ARP_IGNORE_OWN, netns)
