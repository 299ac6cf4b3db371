# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The firewall's parameters, validated (pure): ``build_spec()`` turns plain parameter dicts (the firewall
module's options, or what a ``host_network`` plan hands over) into a :class:`FirewallSpec`, which
``planner.plan_ruleset()`` turns into the desired ruleset.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.netwire.fabric.plugins.module_utils import _validate as v
from ansible_collections.netwire.fabric.plugins.module_utils._errors import InvalidParameter
from ansible_collections.netwire.fabric.plugins.module_utils._names import FIREWALL_TABLE, OVERLAY_TYPES, default_udp_port
from ansible_collections.netwire.fabric.plugins.module_utils._record import Record

try:
    string_types = (str, unicode)  # noqa: F821  (Python 2 compatibility for sanity)
except NameError:
    string_types = (str,)

DEFAULT_TABLE_NAME = FIREWALL_TABLE
DEFAULT_BIND_ADDRESS = "127.0.0.1"
ANY_ADDRESS = "0.0.0.0"
PROTOCOLS = ("tcp", "udp")
OWNER_NOTE = "netwire.fabric"

_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_TABLE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


# --------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------

class Network(Record):
    # ports: other interfaces the network's containers' packets may enter this host's IP stack by:
    # host ends of containers on an OVS userspace (netdev) bridge, whose frames the kernel sees too.
    # dhcp: this host serves DHCP on the bridge: accepted to it, guarded on its tunnels.
    FIELDS = ("name", "subnet", "bridge", "nat", "icc", "zone", "ports", "dhcp")
    DEFAULTS = {"ports": (), "dhcp": False}

    @property
    def ingress(self):
        return [self.bridge] + list(self.ports or ())


class Publication(Record):
    FIELDS = ("network", "proto", "host_port", "bind_address", "container_address", "container_port", "label")

    @property
    def bind_any(self):
        return self.bind_address == ANY_ADDRESS

    @property
    def bind_loopback(self):
        return ipaddress.ip_address(self.bind_address).is_loopback

    def describe(self):
        return "%s %s:%d -> %s:%d" % (
            self.proto, self.bind_address, self.host_port, self.container_address, self.container_port)


class Tunnel(Record):
    """The endpoint of one overlay network on this host: who may send to it, and where.

    ``kind`` is vxlan, geneve or gre, ``port`` the UDP port (None for gre), ``peers``
    the sorted list of peer underlay addresses. ``encrypted``: the network's tunnels run inside
    WireGuard (``device``, peers and local address on it); its transport arriving on any other
    interface is clear overlay traffic, dropped and counted.
    """

    FIELDS = ("network", "kind", "port", "local_address", "device", "peers", "encrypted")
    DEFAULTS = {"encrypted": False}

    @property
    def transport(self):
        return "gre" if self.kind == "gre" else "udp_%d" % self.port


def bridge_set(zone):
    """The name of the set of a zone's bridges."""
    return "bridges_" + zone


class HostService(Record):
    """A port containers may reach on a fabric host address (another host's published port).

    ``zones``: only containers of these zones (their ingress bridges) may reach it (None: any, a published
    port); ``local``: the address is this host's own (the entry point on the LB host): chain services."""

    FIELDS = ("address", "proto", "port", "zones", "local")
    DEFAULTS = {"zones": None, "local": False}

    def ingress(self):
        return ["@bridges"] if self.zones is None else ["@" + bridge_set(z) for z in self.zones]


class FirewallSpec(object):
    def __init__(self, table_name, networks, flows, publications, tunnels=None, host_addresses=None,
                 host_services=None):
        self.table_name = table_name
        self.networks = networks          # list of Network, in input order
        self.flows = flows                # list of (from_zone, to_zone), deduplicated
        self.publications = publications  # list of Publication
        self.tunnels = tunnels or []      # list of Tunnel
        self.host_addresses = host_addresses or []  # sorted addresses of the fabric's hosts
        self.host_services = host_services or []    # list of HostService

    @property
    def zones(self):
        seen = []
        for net in self.networks:
            if net.zone not in seen:
                seen.append(net.zone)
        return seen

    @property
    def loopback_publications(self):
        return [p for p in self.publications if p.bind_loopback]


def _bad(what, name, reason):
    return InvalidParameter("Failed to plan firewall %s '%s': %s" % (what, name, reason))


def _port(value, what, name):
    if isinstance(value, bool) or not isinstance(value, (int,) + string_types) or (
            isinstance(value, string_types) and not value.strip().isdigit()):
        raise _bad(what, name, "port %r is not an integer" % (value,))
    port = int(value)
    if not 1 <= port <= 65535:
        raise _bad(what, name, "port %d is out of range 1-65535" % port)
    return port


def _name(value, what):
    if not isinstance(value, string_types) or not value:
        raise _bad(what, str(value), "a name is required (a non-empty string)")
    if not _NAME_RE.match(value) or len(value) > 64:
        raise _bad(what, value, "names may only use letters, digits, '_', '.' and '-' (at most 64)")
    return value


def _items(value, what):
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise _bad("parameters", what, "must be a list of dictionaries")
    return value


def _ipv4(value, what, name, field):
    try:
        return v.ip_address(value, field, version=4)
    except InvalidParameter as exc:
        raise _bad(what, name, str(exc))


def _ifname(value, what, name, field):
    try:
        return v.ifname(value, field)
    except InvalidParameter as exc:
        raise _bad(what, name, str(exc))


TUNNEL_KINDS = OVERLAY_TYPES


def _tunnels(raw_list):
    out = []
    for index, raw in enumerate(_items(raw_list, "tunnels")):
        label = raw.get("network") or "tunnels[%d]" % index
        kind = raw.get("type") or "vxlan"
        if kind not in TUNNEL_KINDS:
            raise _bad("tunnel", label, "type must be one of %s, got %r" % ("/".join(TUNNEL_KINDS), kind))
        port = default_udp_port(kind)
        if port is not None and raw.get("port") is not None:  # carried in UDP: the port may be set
            port = _port(raw.get("port"), "tunnel", label)
        if raw.get("local_address") is None:
            raise _bad("tunnel", label, "local_address (this host's underlay address) is required")
        local = _ipv4(raw.get("local_address"), "tunnel", label, "local_address")
        device = raw.get("device")
        if device is not None:
            _ifname(device, "tunnel", label, "device")
        peers = sorted(set(_ipv4(p, "tunnel", label, "peer") for p in (raw.get("peers") or [])),
                       key=lambda a: ipaddress.IPv4Address(u"%s" % a))
        encrypted = bool(raw.get("encrypted"))
        if encrypted and not device:
            raise _bad("tunnel", label, "an encrypted tunnel needs its device (the WireGuard device)")
        out.append(Tunnel(label, kind, port, local, device or None, peers, encrypted))
    return out


def _host_services(raw_list):
    out = []
    for index, raw in enumerate(_items(raw_list, "host_services")):
        label = "host_services[%d]" % index
        proto = raw.get("proto") or "tcp"
        if proto not in PROTOCOLS:
            raise _bad("host service", label, "proto must be one of %s, got %r" % ("/".join(PROTOCOLS), proto))
        zones = raw.get("zones")
        if zones is not None:
            if not isinstance(zones, list):
                raise _bad("host service", label, "zones must be a list of zone names, got %r" % (zones,))
            zones = sorted(set(_name(z, "zone") for z in zones))
        service = HostService(_ipv4(raw.get("address"), "host service", label, "address"), proto,
                              _port(raw.get("port"), "host service", label), zones, bool(raw.get("local")))
        if not any(repr(s) == repr(service) for s in out):
            out.append(service)
    return out


def build_spec(networks, flows=None, publications=None, table_name=DEFAULT_TABLE_NAME, tunnels=None,
               host_addresses=None, host_services=None):
    """Validate plain dicts into a :class:`FirewallSpec` (raises InvalidParameter)."""
    table_name = table_name or DEFAULT_TABLE_NAME
    if not isinstance(table_name, string_types) or not _TABLE_RE.match(table_name) or len(table_name) > 32:
        raise _bad("table", str(table_name),
                   "table_name must start with a letter and use letters, digits and '_' (at most 32)")

    nets, by_name, by_bridge = [], {}, {}
    for raw in _items(networks, "networks"):
        name = _name(raw.get("name"), "network")
        if name in by_name:
            raise _bad("network", name, "network defined twice")
        try:
            subnet = ipaddress.IPv4Network(v.network(raw.get("subnet"), "subnet", version=4))
        except InvalidParameter as exc:
            raise _bad("network", name, str(exc))
        bridge = raw.get("bridge")
        _ifname(bridge, "network", name, "bridge")
        if bridge in by_bridge:
            raise _bad("network", name, "bridge '%s' is already used by network '%s'" % (bridge, by_bridge[bridge]))
        for other in nets:
            if subnet.overlaps(other.subnet):
                raise _bad("network", name, "subnet %s overlaps %s of network '%s'" % (subnet, other.subnet, other.name))
        zone = raw.get("zone") or name
        _name(zone, "zone")
        nat = raw.get("nat")
        icc = raw.get("icc")
        ports = raw.get("ports") or []
        if not isinstance(ports, list):
            raise _bad("network", name, "ports must be a list of interface names, got %r" % (ports,))
        for port in ports:
            _ifname(port, "network", name, "port")
        net = Network(name, subnet, bridge, True if nat is None else bool(nat), True if icc is None else bool(icc), zone,
                      sorted(set(ports)), bool(raw.get("dhcp")))
        nets.append(net)
        by_name[name] = net
        by_bridge[bridge] = name

    zones = set(n.zone for n in nets)
    flow_list = []
    for raw in _items(flows, "flows"):
        src, dst = raw.get("from"), raw.get("to")
        label = "%s -> %s" % (src, dst)
        for zone in (src, dst):
            if not isinstance(zone, string_types) or zone not in zones:
                raise _bad("flow", label, "unknown zone '%s' (known: %s)" % (zone, ", ".join(sorted(zones)) or "none"))
        if (src, dst) not in flow_list and src != dst:
            flow_list.append((src, dst))

    pubs, taken = [], {}
    for index, raw in enumerate(_items(publications, "publications")):
        label = raw.get("name") or "publications[%d]" % index
        net_name = raw.get("network")
        if not isinstance(net_name, string_types) or net_name not in by_name:
            raise _bad("publication", label, "unknown network '%s' (known: %s)"
                       % (net_name, ", ".join(sorted(by_name)) or "none"))
        net = by_name[net_name]
        proto = raw.get("proto") or "tcp"
        if not isinstance(proto, string_types) or proto not in PROTOCOLS:
            raise _bad("publication", label, "proto must be one of %s, got %r" % ("/".join(PROTOCOLS), proto))
        if raw.get("host_port") is None:
            raise _bad("publication", label, "host_port is required")
        host_port = _port(raw.get("host_port"), "publication", label)
        container_port = host_port if raw.get("container_port") is None else \
            _port(raw.get("container_port"), "publication", label)
        bind = raw.get("bind_address") or DEFAULT_BIND_ADDRESS
        bind_ip = ipaddress.IPv4Address(_ipv4(bind, "publication", label, "bind_address"))
        if bind_ip.is_multicast or str(bind_ip) == "255.255.255.255":
            raise _bad("publication", label, "bind_address %s cannot be a host address" % bind_ip)
        address = raw.get("container_address")
        caddr = ipaddress.IPv4Address(_ipv4(address, "publication", label, "container_address"))
        if caddr not in net.subnet:
            raise _bad("publication", label, "container_address %s is outside subnet %s of network '%s'"
                       % (caddr, net.subnet, net.name))
        if net.subnet.prefixlen < 31 and caddr in (net.subnet.network_address, net.subnet.broadcast_address):
            raise _bad("publication", label, "container_address %s is the network or broadcast address of %s"
                       % (caddr, net.subnet))
        pub = Publication(net.name, proto, host_port, str(bind_ip), str(caddr), container_port, label)
        for (other_proto, other_port, other_bind), other in taken.items():
            if other_proto != proto or other_port != host_port:
                continue
            # 0.0.0.0 means every non-loopback host address, so it clashes with those
            clash = other_bind == pub.bind_address or (
                ANY_ADDRESS in (other_bind, pub.bind_address)
                and not ipaddress.ip_address(other_bind).is_loopback and not pub.bind_loopback)
            if clash:
                raise _bad("publication", label, "host port %s %s:%d is already published by '%s' (%s:%d)"
                           % (proto, pub.bind_address, host_port, other, other_bind, other_port))
        taken[(proto, host_port, pub.bind_address)] = label
        pubs.append(pub)

    hosts = sorted(set(_ipv4(a, "host address", str(a), "host address") for a in (host_addresses or [])),
                   key=lambda a: ipaddress.IPv4Address(u"%s" % a))
    services = _host_services(host_services)
    for index, svc in enumerate(services):
        for zone in [z for z in svc.zones or () if z not in zones]:
            raise _bad("host service", "host_services[%d]" % index, "unknown zone '%s' (known: %s)"
                       % (zone, ", ".join(sorted(zones)) or "none"))
    return FirewallSpec(table_name, nets, flow_list, pubs, _tunnels(tunnels), hosts, services)
