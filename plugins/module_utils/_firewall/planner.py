# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure planning for the collection's nftables tables (no I/O in this file).

``build_spec()`` (``spec.py``) validates plain parameter dicts (the firewall module's
options, or what a ``host_network`` plan hands over) into a :class:`FirewallSpec`.
``plan_ruleset()`` turns it into the *desired ruleset* in canonical form:

    {"tables": [{"family": "inet", "name": "netwire",
                 "sets": [{"name": ..., "type": ..., "flags": [...], "elem": [...]}],
                 "chains": [{"name": ..., "type": ..., "hook": ..., "prio": ...,
                             "policy": ..., "rules": [{"expr": [...], "comment": ...}]}]}]}

In ``ruleset.py``: ``normalize_listing()`` turns ``nft -j list ruleset`` output
into the same canonical form (only our tables), so converged state compares
equal; ``transaction()`` builds the one atomic batch that replaces our tables,
and ``render()`` prints a canonical ruleset as nft text for diff mode.

Expressions are written exactly as nft 1.0 lists them back (checked against
the kernel in the integration tests), and both sides go through
``ruleset.canonical_expr()``, which removes the few harmless spelling differences.

Tables (``<t>`` is ``table_name``, default ``netwire``):

* ``inet <t>``: forward filter for traffic *between our networks* (zones, keyed
  on the ingress bridge, strict reverse-path check), container traffic to the
  fabric's hosts, and an input filter (tunnel endpoints, what containers may
  send to this host);
* ``ip <t>_nat``: masquerade, published ports (DNAT) and hairpin masquerade;
* ``bridge <t>_icc``: only while some network has ``icc: false``; drops
  port-to-port (bridged) IPv4 traffic inside that network's subnet;
* ``bridge <t>_dhcp_guard``: only while a network with ``dhcp: true`` has tunnel
  devices on this host; drops DHCP in and out of them, with a counter per network.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.netwire.fabric.plugins.module_utils._firewall import dhcp_guard
from ansible_collections.netwire.fabric.plugins.module_utils._firewall.ruleset import canonical_ruleset
from ansible_collections.netwire.fabric.plugins.module_utils._firewall.spec import (
    ANY_ADDRESS,
    DEFAULT_BIND_ADDRESS,
    DEFAULT_TABLE_NAME,
    FirewallSpec,
    bridge_set as _bridge_set,
    build_spec,
)

# what the callers use: the validation (spec.py) and the planning, from one place
__all__ = ['ANY_ADDRESS', 'DEFAULT_BIND_ADDRESS', 'DEFAULT_TABLE_NAME', 'FirewallSpec', 'build_spec', 'guard_table_name',
           'owned_tables', 'plan_ruleset', 'table_names']
from ansible_collections.netwire.fabric.plugins.module_utils._names import CLEAR_OVERLAY_COUNTER


def table_names(table_name=DEFAULT_TABLE_NAME):
    """The (family, name) of the zone firewall's tables, one per family, in apply order."""
    return [
        ("inet", table_name),
        ("ip", table_name + "_nat"),
        ("bridge", table_name + "_icc"),
    ]


def guard_table_name(table_name=DEFAULT_TABLE_NAME):
    """The ``bridge`` table of the DHCP guard (a second table of the bridge family)."""
    return table_name + "_dhcp_guard"


def owned_tables(table_name=DEFAULT_TABLE_NAME):
    """The (family, name) of every table this collection may own, in apply order."""
    return table_names(table_name) + [("bridge", guard_table_name(table_name))]


# --------------------------------------------------------------------------
# expression helpers (the shape nft -j lists them in)
# --------------------------------------------------------------------------

def _payload(proto, field):
    return {"payload": {"protocol": proto, "field": field}}


def _match(left, right, op="=="):
    return {"match": {"op": op, "left": left, "right": right}}


def _prefix(network):
    return {"prefix": {"addr": str(network.network_address), "len": network.prefixlen}}


def _meta(key):
    return {"meta": {"key": key}}


def _rule(expr, comment=None):
    rule = {"expr": expr}
    if comment:
        rule["comment"] = comment
    return rule


def _chain(name, ctype, hook, prio, rules):
    return {"name": name, "type": ctype, "hook": hook, "prio": prio, "policy": "accept", "rules": rules}


def _set(name, networks):
    elem = [_prefix(n) for n in sorted(networks, key=lambda n: (int(n.network_address), n.prefixlen))]
    return {"name": name, "type": "ipv4_addr", "flags": ["interval"], "elem": elem}


def _zone_set(zone):
    return "zone_" + zone


ICMP_REPLY_TYPES = ("echo-reply", "destination-unreachable", "time-exceeded", "parameter-problem")
_CT_DNAT = _match({"ct": {"key": "status"}}, "dnat", op="in")
_LOOPBACK = ipaddress.IPv4Network(u"127.0.0.0/8")


def _dnat_rules(pub, hook):
    """DNAT rule for one publication in prerouting or output (None when not applicable)."""
    if pub.bind_loopback and hook == "prerouting":
        return None  # loopback destinations never arrive from a wire
    expr = []
    if pub.bind_any:
        if hook == "output":
            expr.append(_match(_payload("ip", "daddr"), _prefix(_LOOPBACK), op="!="))
        expr.append(_match({"fib": {"result": "type", "flags": ["daddr"]}}, "local"))
    else:
        expr.append(_match(_payload("ip", "daddr"), pub.bind_address))
    expr.append(_match(_payload(pub.proto, "dport"), pub.host_port))
    expr.append({"dnat": {"addr": pub.container_address, "port": pub.container_port}})
    return _rule(expr, "publish " + pub.describe())


def _addr_set(name, addresses):
    return {"name": name, "type": "ipv4_addr", "flags": [], "elem": list(addresses)}


def _ifname_set(name, names):
    return {"name": name, "type": "ifname", "flags": [], "elem": sorted(names)}


def _ports_set(network):
    return "ports_" + network


_IIF = _meta("iifname")
_FROM_BRIDGES = _match(_IIF, "@bridges")
ICMP_TO_GATEWAY = ("echo-request", "destination-unreachable", "time-exceeded", "parameter-problem")
SERVICES_CHAIN = "services"


DHCP_PORTS = dhcp_guard.DHCP_PORTS
_BROADCAST = "255.255.255.255"


def _network_of(spec, address):
    """The network whose subnet holds ``address`` (a bridge address: a service for that network only)."""
    ip = ipaddress.IPv4Address(u"%s" % address)
    for net in spec.networks:
        if ip in net.subnet:
            return net
    return None


def _dhcp_rule(net):
    """DHCP from the network's containers to this host, before the reverse-path check: a client without
    a lease sends from 0.0.0.0 (fib passes it to 255.255.255.255, not to the bridge address)."""
    return _rule([_match(_IIF, net.bridge),
                  _match(_payload("ip", "saddr"), {"set": [ANY_ADDRESS, _prefix(net.subnet)]}),
                  _match(_payload("ip", "daddr"), {"set": [_BROADCAST, _prefix(net.subnet)]}),
                  _match(_payload("udp", "sport"), DHCP_PORTS[1]),
                  _match(_payload("udp", "dport"), DHCP_PORTS[0]),
                  {"accept": None}], "dhcp from %s to this host" % net.name)


def _service_rules(spec):
    """The services chain: a host service on an address inside one of our subnets is on that
    network's bridge (DNS on the bridge address): only that network's ingress reaches it."""
    rules = []
    for svc in spec.host_services:
        net = _network_of(spec, svc.address)
        if net is None:
            # this host's own address (the entry point on the LB host): only the allowed zones' ingress
            for iif in svc.ingress() if svc.local else ():
                rules.append(_rule([_match(_IIF, iif), _match(_payload("ip", "daddr"), svc.address),
                                    _match(_payload(svc.proto, "dport"), svc.port), {"accept": None}],
                                   "%s %s:%d for %s" % (svc.proto, svc.address, svc.port, iif.lstrip("@"))))
            continue
        if svc.zones is not None and net.zone not in svc.zones:
            continue
        ingress = [net.bridge] + (["@" + _ports_set(net.name)] if net.ports else [])
        for iif in ingress:
            rules.append(_rule([_match(_IIF, iif), _match(_payload("ip", "daddr"), svc.address),
                                _match(_payload(svc.proto, "dport"), svc.port), {"accept": None}],
                               "%s %s:%d for %s" % (svc.proto, svc.address, svc.port, net.name)))
    return rules


def _rpf_missing():
    """``fib saddr . iif oif missing``: the source does not route back out of the ingress interface."""
    return _match({"fib": {"result": "oif", "flags": ["saddr", "iif"]}}, False)


def _tunnel_match(tunnel):
    if tunnel.kind == "gre":
        return _match(_payload("ip", "protocol"), "gre")
    return _match(_payload("udp", "dport"), tunnel.port)


def _input_rules(spec):
    """Tunnel endpoints, then what containers may send to this host itself."""
    rules = []
    transports = []
    for tunnel in spec.tunnels:
        if tunnel.transport not in transports:
            transports.append(tunnel.transport)
    for transport in transports:
        tunnels = [t for t in spec.tunnels if t.transport == transport]
        # sorted: the same rules in the same order whatever order the plan lists the tunnels in
        # (the spec suite computes its plan without the hosts' facts)
        endpoints = sorted(set((t.device, t.local_address) for t in tunnels),
                           key=lambda e: (e[0] or "", e[1] or ""))
        label = "gre" if transport == "gre" else "udp %d" % tunnels[0].port
        # Encrypted networks: their overlay arrives through WireGuard only. A copy on the underlay (or
        # anywhere else) is clear overlay traffic: dropped and counted, before any peer may be accepted.
        for device in sorted(set(t.device for t in tunnels if t.encrypted)):
            rules.append(_rule([_match(_IIF, device, op="!="), _tunnel_match(tunnels[0]),
                                {"counter": CLEAR_OVERLAY_COUNTER}, {"drop": None}],
                               "clear overlay %s outside %s (encrypted networks)" % (label, device)))
        for device, local in endpoints:
            expr = [_match(_IIF, device)] if device else []
            expr += [_match(_payload("ip", "daddr"), local),
                     _match(_payload("ip", "saddr"), "@peers_" + transport),
                     _tunnel_match(tunnels[0]), {"accept": None}]
            names = ", ".join(sorted(set(t.network for t in tunnels)))
            names = names if len(names) <= 60 else "%d networks" % len(tunnels)
            rules.append(_rule(expr, "tunnel peers %s (%s)" % (label, names)))
        rules.append(_rule([_tunnel_match(tunnels[0]), {"drop": None}], "tunnel %s from anyone else" % label))
    rules.extend(_dhcp_rule(net) for net in spec.networks if net.dhcp)
    for net in spec.networks:
        rules.append(_rule([_match(_IIF, net.bridge), _rpf_missing(), {"drop": None}],
                           "spoofed source from %s to this host" % net.name))
        if net.ports:
            rules.append(_rule([_match(_IIF, "@" + _ports_set(net.name)),
                                _match(_payload("ip", "saddr"), _prefix(net.subnet), op="!="),
                                {"drop": None}], "spoofed source from %s ports to this host" % net.name))
    if spec.networks:
        rules.append(_rule([_FROM_BRIDGES, _match({"ct": {"key": "state"}}, ["established", "related"], op="in"),
                            {"accept": None}], "replies to this host's connections"))
        rules.append(_rule([_FROM_BRIDGES, _match(_payload("icmp", "type"), {"set": list(ICMP_TO_GATEWAY)}),
                            {"accept": None}], "icmp to the gateway"))
        # Services on a bridge address (DNS): host_services inside our subnets, per network (_service_rules).
        rules.append(_rule([_FROM_BRIDGES, {"jump": {"target": SERVICES_CHAIN}}], "services for containers"))
        rules.append(_rule([_FROM_BRIDGES, {"drop": None}], "anything else from containers to this host"))
    return rules


def _inet_table(spec, name):
    subnets = [n.subnet for n in spec.networks]
    forward = []
    # Strict reverse-path filter for routed traffic from our bridges. A packet bridged through
    # one bridge (iif == oif, seen here with br_netfilter) is not routed and is left to the zones.
    for net in spec.networks:
        forward.append(_rule([_match(_IIF, net.bridge), _match(_meta("oifname"), net.bridge, op="!="),
                              _rpf_missing(), {"drop": None}], "spoofed source from %s" % net.name))
        if net.ports:
            # no route points at a port: its sources are checked against the network's subnet
            forward.append(_rule([_match(_IIF, "@" + _ports_set(net.name)),
                                  _match(_payload("ip", "saddr"), _prefix(net.subnet), op="!="),
                                  {"drop": None}], "spoofed source from %s ports" % net.name))
    forward.append(_rule([_match({"ct": {"key": "state"}}, ["established", "related"], op="in"), {"accept": None}],
                         "replies and related traffic"))
    if spec.networks and spec.host_addresses:
        for svc in spec.host_services:
            if svc.local or _network_of(spec, svc.address) is not None:
                continue  # on this host (a bridge address or its own): input, chain services; never forwarded
            for iif in svc.ingress():
                forward.append(_rule([_match(_IIF, iif), _match(_payload("ip", "daddr"), svc.address),
                                      _match(_payload(svc.proto, "dport"), svc.port), {"accept": None}],
                                     "published %s %s:%d%s" % (svc.proto, svc.address, svc.port,
                                                               "" if svc.zones is None else " for " + iif[1:])))
        forward.append(_rule([_FROM_BRIDGES, _match(_payload("ip", "daddr"), "@hosts"), {"drop": None}],
                             "containers to the fabric's hosts"))
    for pub in spec.publications:
        forward.append(_rule([
            _match(_payload("ip", "daddr"), pub.container_address),
            _match(_payload(pub.proto, "dport"), pub.container_port),
            _CT_DNAT, {"accept": None}], "published " + pub.describe()))
    # Zones are keyed on the ingress bridge. Within a zone the source is not checked: with
    # br_netfilter a packet routed into this zone on another host is bridged in here (iif is
    # this zone's bridge, the source another zone's); where it was routed, that host checked it.
    for zone in spec.zones:
        forward.append(_rule([
            _match(_IIF, "@" + _bridge_set(zone)),
            _match(_payload("ip", "daddr"), "@" + _zone_set(zone)),
            {"accept": None}], "within zone %s" % zone))
    for src, dst in spec.flows:
        forward.append(_rule([
            _match(_IIF, "@" + _bridge_set(src)),
            _match(_payload("ip", "saddr"), "@" + _zone_set(src)),
            _match(_payload("ip", "daddr"), "@" + _zone_set(dst)),
            {"accept": None}], "flow %s -> %s" % (src, dst)))
    # Across hosts, routing between networks is asymmetric: a container's gateway
    # is its own host, so the reply of a flow A -> B is routed by B's host, which
    # never saw the request and has no conntrack entry for it. Replies therefore
    # pass on the reverse path when they cannot open a connection: TCP segments
    # other than a bare SYN, and ICMP replies and errors. A new connection B -> A
    # still needs a SYN (or an echo request), which only an allowed flow accepts.
    for src, dst in spec.flows:
        forward.append(_rule([
            _match(_IIF, "@" + _bridge_set(dst)),
            _match(_payload("ip", "saddr"), "@" + _zone_set(dst)),
            _match(_payload("ip", "daddr"), "@" + _zone_set(src)),
            _match({"&": [_payload("tcp", "flags"), ["syn", "ack"]]}, "syn", op="!="),
            {"accept": None}], "replies of flow %s -> %s routed here (tcp)" % (src, dst)))
        forward.append(_rule([
            _match(_IIF, "@" + _bridge_set(dst)),
            _match(_payload("ip", "saddr"), "@" + _zone_set(dst)),
            _match(_payload("ip", "daddr"), "@" + _zone_set(src)),
            _match(_payload("icmp", "type"), {"set": list(ICMP_REPLY_TYPES)}),
            {"accept": None}], "replies of flow %s -> %s routed here (icmp)" % (src, dst)))
    if spec.networks:
        forward.append(_rule([_FROM_BRIDGES, _match(_payload("ip", "daddr"), "@subnets"), {"drop": None}],
                             "anything else from containers to netwire networks"))
    forward.append(_rule([
        _match(_payload("ip", "saddr"), "@subnets"),
        _match(_payload("ip", "daddr"), "@subnets"),
        {"drop": None}], "anything else between netwire networks"))
    sets = [_set("subnets", subnets), _ifname_set("bridges", [i for n in spec.networks for i in n.ingress])]
    for zone in spec.zones:
        sets.append(_set(_zone_set(zone), [n.subnet for n in spec.networks if n.zone == zone]))
        sets.append(_ifname_set(_bridge_set(zone), [i for n in spec.networks if n.zone == zone for i in n.ingress]))
    for net in spec.networks:
        if net.ports:
            sets.append(_ifname_set(_ports_set(net.name), net.ports))
    if spec.networks and spec.host_addresses:
        sets.append(_addr_set("hosts", spec.host_addresses))
    transports = []
    for tunnel in spec.tunnels:
        if tunnel.transport not in transports:
            transports.append(tunnel.transport)
    for transport in transports:
        peers = sorted(set(p for t in spec.tunnels if t.transport == transport for p in t.peers),
                       key=lambda a: ipaddress.IPv4Address(u"%s" % a))
        sets.append(_addr_set("peers_" + transport, peers))
    chains = [_chain("forward", "filter", "forward", 0, forward),
              _chain("input", "filter", "input", 0, _input_rules(spec))]
    if spec.networks:
        chains.append({"name": SERVICES_CHAIN, "rules": _service_rules(spec)})
    table = {"family": "inet", "name": name, "sets": sets, "chains": chains}
    if any(t.encrypted for t in spec.tunnels):
        table["counters"] = [CLEAR_OVERLAY_COUNTER]
    return table


def plan_ruleset(spec):
    """The desired canonical ruleset for a validated :class:`FirewallSpec`."""
    families = dict((fam, name) for fam, name in table_names(spec.table_name))
    subnets = [n.subnet for n in spec.networks]
    tables = [_inet_table(spec, families["inet"])]

    # ip <t>_nat: published ports, hairpin and egress masquerade
    pre = [r for r in (_dnat_rules(p, "prerouting") for p in spec.publications) if r]
    out = [r for r in (_dnat_rules(p, "output") for p in spec.publications) if r]
    post = []
    published_nets = [n for n in spec.networks if any(p.network == n.name for p in spec.publications)]
    for net in published_nets:
        post.append(_rule([
            _match(_meta("oifname"), net.bridge),
            _match(_payload("ip", "saddr"), _prefix(net.subnet)),
            _CT_DNAT, {"masquerade": None}], "hairpin %s" % net.name))
    if spec.loopback_publications:
        post.append(_rule([
            _match(_payload("ip", "saddr"), _prefix(_LOOPBACK)),
            _CT_DNAT, {"masquerade": None}], "loopback publications"))
    for net in spec.networks:
        if net.nat:
            post.append(_rule([
                _match(_payload("ip", "saddr"), _prefix(net.subnet)),
                _match(_meta("oifname"), net.bridge, op="!="),
                _match(_payload("ip", "daddr"), "@subnets", op="!="),
                {"masquerade": None}], "egress %s" % net.name))
    tables.append({"family": "ip", "name": families["ip"], "sets": [_set("subnets", subnets)],
                   "chains": [_chain("prerouting", "nat", "prerouting", -100, pre),
                              _chain("output", "nat", "output", -100, out),
                              _chain("postrouting", "nat", "postrouting", 100, post)]})

    # bridge <t>_icc: bridged (port-to-port) traffic never reaches the inet forward hook.
    # Published container ports stay reachable from siblings: with br_netfilter a hairpinned
    # (DNATed) packet is bridged, not routed, and it is reachable through the host anyway.
    icc = []
    for net in spec.networks:
        if net.icc:
            continue
        for pub in spec.publications:
            if pub.network == net.name:
                icc.append(_rule([
                    _match(_payload("ip", "daddr"), pub.container_address),
                    _match(_payload(pub.proto, "dport"), pub.container_port),
                    {"accept": None}], "published " + pub.describe()))
                icc.append(_rule([
                    _match(_payload("ip", "saddr"), pub.container_address),
                    _match(_payload(pub.proto, "sport"), pub.container_port),
                    {"accept": None}], "replies of published " + pub.describe()))
        icc.append(_rule([
            _match(_payload("ip", "saddr"), _prefix(net.subnet)),
            _match(_payload("ip", "daddr"), _prefix(net.subnet)),
            {"drop": None}], "icc off %s" % net.name))
    if icc:
        tables.append({"family": "bridge", "name": families["bridge"], "sets": [],
                       "chains": [_chain("forward", "filter", "forward", -200, icc)]})
    guard = dhcp_guard.guard_table(spec, guard_table_name(spec.table_name))
    if guard:
        tables.append(guard)
    return canonical_ruleset({"tables": tables})
