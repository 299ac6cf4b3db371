# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The DHCP guard: table ``bridge <t>_dhcp_guard`` (pure, like ``planner.py``, which adds it to the plan).

Each host serves DHCP to its own containers only. On an overlay network a DHCP broadcast would be
flooded over the tunnels to every host carrying the network, so for every network with ``dhcp``
no DHCP packet (UDP port 67 or 68) enters or leaves by one of its kernel tunnel devices. Chain
``prerouting`` sees every frame a bridge port receives (bridged on, or delivered to this host's own
server), ``postrouting`` every frame a port sends (bridged, or this host's own replies): a forward
chain alone would let a remote client reach this host's server and its broadcast replies go out.
Each network's drops are counted in the named counter :func:`guard_counter`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.netwire.fabric.plugins.module_utils._names import linux_tunnel_name

DHCP_PORTS = (67, 68)  # server, client


def guard_devices(spec, net):
    """The kernel tunnel devices of ``net`` on this host (``spec.tunnels`` whose ``network`` is its name),
    named as linux_tunnel names them in the plan: one VXLAN device per network, one GRE/Geneve device per peer."""
    devices = set()
    for tunnel in spec.tunnels:
        if tunnel.network != net.name:
            continue
        if tunnel.kind == "vxlan":
            devices.add(linux_tunnel_name("vxlan", net.name))
        else:
            devices.update(linux_tunnel_name(tunnel.kind, net.name, peer) for peer in tunnel.peers)
    return sorted(devices)


def guard_counter(network):
    """The named counter of the DHCP guard of ``network`` (DHCP packets dropped on its tunnels)."""
    return "dhcp_" + network


def _drop(key, tunnels, counter, comment):
    return {"expr": [
        {"match": {"op": "==", "left": {"meta": {"key": key}}, "right": "@" + tunnels}},
        {"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}},
                   "right": {"set": list(DHCP_PORTS)}}},
        {"counter": counter}, {"drop": None}], "comment": comment}


def _chain(hook, rules):
    return {"name": hook, "type": "filter", "hook": hook, "prio": -200, "policy": "accept", "rules": rules}


def guard_table(spec, name):
    """The guard table for a validated FirewallSpec, or None when no network with dhcp has tunnel devices here."""
    sets, counters, pre, post = [], [], [], []
    for net in spec.networks:
        devices = guard_devices(spec, net) if net.dhcp else []
        if not devices:
            continue
        tunnels, counter = "tunnels_" + net.name, guard_counter(net.name)
        sets.append({"name": tunnels, "type": "ifname", "flags": [], "elem": devices})
        counters.append(counter)
        pre.append(_drop("iifname", tunnels, counter, "dhcp guard %s: nothing from its tunnels" % net.name))
        post.append(_drop("oifname", tunnels, counter, "dhcp guard %s: nothing to its tunnels" % net.name))
    if not sets:
        return None
    return {"family": "bridge", "name": name, "sets": sets, "counters": counters,
            "chains": [_chain("prerouting", pre), _chain("postrouting", post)]}
