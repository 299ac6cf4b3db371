# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_attach's parameters: validated and normalized without any host state (pure)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.netwire.fabric.plugins.module_utils import _validate as v
from ansible_collections.netwire.fabric.plugins.module_utils._errors import InvalidParameter
from ansible_collections.netwire.fabric.plugins.module_utils._linux import policy
from ansible_collections.netwire.fabric.plugins.module_utils._linux.netlink import MAIN_TABLE
from ansible_collections.netwire.fabric.plugins.module_utils._host.resolver import normalize_resolver


def _route_key(route):
    net = v.parsed_network(route['dest'])
    return (route.get('table', MAIN_TABLE), net.version, net.network_address, net.prefixlen, route.get('via') or '')


def sort_routes(routes):
    """``routes`` in their order (``_route_key``), as a new list."""
    return sorted(routes, key=_route_key) if len(routes) > 1 else list(routes)


def _route_text(route):
    return '%s%s%s' % (route['dest'], ' via %s' % route['via'] if route['via'] else '',
                       ' table %d' % route['table'] if route.get('table') else '')


# The attachment kinds (issue 19): a veth pair onto a bridge; a macvlan on a host NIC; a macvlan on a
# VLAN sub-interface of a NIC (shared); the NIC itself; a dummy interface.
KINDS = ('veth', 'macvlan', 'vlan', 'phys', 'dummy')
MACVLAN_MODES = ('bridge', 'private', 'vepa', 'passthru')


def normalize_kind(p):
    """The kind's own options (pure); ``p`` is changed in place."""
    kind = p['kind'] = p.get('kind') or 'veth'
    if kind not in KINDS:
        raise InvalidParameter('kind %r is not one of %s' % (kind, ', '.join(KINDS)))
    if kind == 'veth':
        for key in ('parent', 'vlan', 'macvlan_mode', 'host_macvlan'):
            if p.get(key) is not None:
                raise InvalidParameter('%s is for kind macvlan, vlan or phys, not veth' % key)
        if not p.get('bridge'):
            raise InvalidParameter('bridge is required with state=present')
        v.ifname(p['bridge'], 'bridge name')
        return
    for key in ('bridge', 'vlan_tag', 'host_ifname'):
        if p.get(key) is not None:
            raise InvalidParameter('%s is for kind veth (a bridge port), not %s' % (key, kind))
    if p.get('hairpin'):
        raise InvalidParameter('hairpin is for kind veth (a bridge port), not %s' % kind)
    if kind in ('macvlan', 'vlan', 'phys') and not p.get('parent'):
        raise InvalidParameter('kind %s needs parent (the host NIC)' % kind)
    if kind == 'dummy' and p.get('parent'):
        raise InvalidParameter('a dummy interface has no parent')
    if kind == 'vlan':
        v.int_range(p.get('vlan'), 1, 4094, 'vlan')
        if p.get('vlan') is None:
            raise InvalidParameter('kind vlan needs vlan (the VLAN id, 1 to 4094)')
    elif p.get('vlan') is not None:
        raise InvalidParameter('vlan is for kind vlan, not %s' % kind)
    if kind in ('macvlan', 'vlan'):
        p['parent'] = v.ifname(p['parent'], 'parent')
        mode = p['macvlan_mode'] = p.get('macvlan_mode') or 'bridge'
        if mode not in MACVLAN_MODES:
            raise InvalidParameter('macvlan_mode %r is not one of %s' % (mode, ', '.join(MACVLAN_MODES)))
        side = p.get('host_macvlan')
        if side is not None:
            if not isinstance(side, dict):
                raise InvalidParameter('host_macvlan is a dict (addresses)')
            if mode != 'bridge':
                raise InvalidParameter('host_macvlan needs macvlan_mode bridge (in mode %s the host-side macvlan'
                                       ' cannot reach the container)' % mode)
            p['host_macvlan'] = {'addresses': v.interface_addresses(side.get('addresses'))}
    else:
        for key in ('macvlan_mode', 'host_macvlan'):
            if p.get(key) is not None:
                raise InvalidParameter('%s is for kind macvlan or vlan, not %s' % (key, kind))
    if kind == 'phys':
        parent = str(p['parent'])
        if parent.lower().startswith('mac:'):
            p['parent_mac'], p['parent'] = v.mac(parent[4:]), None
        else:
            p['parent_mac'], p['parent'] = None, v.ifname(parent, 'parent')
        if p.get('mac') or p.get('mac_seed'):
            raise InvalidParameter('kind phys keeps the NIC\'s own MAC: mac and mac_seed are for the other kinds')


def normalize_params(params):
    """Validate everything that needs no host state (pure)."""
    p = dict(params)
    p['ifname'] = v.ifname(p.get('ifname') or 'eth1', 'container interface name')
    if p.get('host_ifname'):
        p['host_ifname'] = v.ifname(p['host_ifname'], 'host interface name')
    if p.get('state', 'present') == 'absent':
        return p
    normalize_kind(p)
    if p.get('mac') and p.get('mac_seed'):
        raise InvalidParameter('mac and mac_seed are mutually exclusive')
    if p.get('mac'):
        p['mac'] = v.mac(p['mac'])
    v.int_range(p.get('mtu'), 68, 65535, 'mtu')
    p['addresses'] = v.interface_addresses(p.get('addresses'))
    nets = [v.parsed_interface(a).network for a in p['addresses']]
    for key, version in (('gateway', 4), ('gateway6', 6)):
        if p.get(key):
            gw = v.parsed_address(v.ip_address(p[key], key))
            if gw.version != version:
                raise InvalidParameter('%s %s is not an IPv%d address' % (key, p[key], version))
            if not any(n.version == version for n in nets):
                raise InvalidParameter('%s %s needs an IPv%d address on the interface' % (key, gw, version))
            if any(gw == v.parsed_interface(a).ip for a in p['addresses']):
                raise InvalidParameter('%s %s is one of the interface\'s own addresses' % (key, gw))
            p[key] = gw.compressed
    routes = []
    for route in p.get('routes') or []:
        if not isinstance(route, dict) or not route.get('dest'):
            raise InvalidParameter('every route needs a dest')
        dest = v.network(route['dest'], 'route destination')
        via = v.ip_address(route['via'], 'route gateway') if route.get('via') else None
        if via and (':' in via) != (':' in dest):
            raise InvalidParameter('route %s via %s mixes IPv4 and IPv6' % (dest, via))
        table = route.get('table')
        if table in (None, MAIN_TABLE):
            if v.parsed_network(dest).prefixlen == 0:
                raise InvalidParameter('use gateway/gateway6 for the default route, not routes (a default route'
                                       ' in a table of its own, for rules, is a route with a table)')
            routes.append({'dest': dest, 'via': via})
        else:
            v.int_range(table, 1, policy.U32, 'route table')
            if table in policy.RESERVED_TABLES:
                raise InvalidParameter('route %s: table %d is the kernel\'s local table' % (dest, table))
            routes.append({'dest': dest, 'via': via, 'table': table})
    p['routes'] = sort_routes(routes)
    p['rules'] = policy.normalize_rules(p.get('rules'))
    p['qdisc'] = policy.normalize_qdisc(p.get('qdisc'))
    p['gateway_takeover'] = bool(p.get('gateway_takeover'))
    p['dhcp'] = bool(p.get('dhcp'))
    if p['dhcp'] and (not p['addresses'] or ':' in p['addresses'][0]):
        raise InvalidParameter('dhcp needs addresses, the first one IPv4: the lease must equal it')
    p['resolver'] = normalize_resolver(p.get('resolver'))
    if p['gateway_takeover'] and not (p.get('gateway') or p.get('gateway6')):
        raise InvalidParameter('gateway_takeover needs gateway or gateway6 (the default route to take over)')
    return p


def wanted_routes(p):
    """The exact set of owned routes on the container interface (pure).

    A gateway outside every subnet of the interface first gets a host route
    (scope link), so the default route through it is accepted by the kernel.
    """
    routes = []
    nets = [v.parsed_interface(a).network for a in p['addresses']]
    for key, default in (('gateway', '0.0.0.0/0'), ('gateway6', '::/0')):
        gw = p.get(key)
        if not gw:
            continue
        ip = v.parsed_address(gw)
        if not any(ip in n for n in nets):
            routes.append({'dest': '%s/%d' % (gw, ip.max_prefixlen), 'via': None})
        routes.append({'dest': default, 'via': gw})
    for route in p['routes']:
        if route not in routes:
            routes.append(route)
    return sort_routes(routes)
