# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A container interface's ``routes``, ``rules`` and ``qdisc``: readers, the container's checks, plan values.

The values are normalized by the same functions container_attach uses
(``module_utils/_linux/policy.py``), so the model refuses exactly what the
module would, at the model's path, before anything runs.

Rules are the container's (its namespace's), declared on the interface they
concern: the plan hands the union of a container's rules to its first
interface, the one attachment that converges them (see docs/model.md).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.netwire.fabric.plugins.module_utils._errors import InvalidParameter
from ansible_collections.netwire.fabric.plugins.module_utils._linux import policy
from ansible_collections.netwire.fabric.plugins.plugin_utils.model.fields import (
    _as_dict,
    _as_list,
    _int,
    _ipv4,
    _path,
    _str,
    _unknown_keys,
)

ROUTE_KEYS = ('dest', 'via', 'table')
RULE_KEYS = ('priority', 'from', 'to', 'iif', 'fwmark', 'table')
QDISC_KEYS = ('kind', 'rate', 'burst', 'limit', 'latency')
MAIN_TABLE = 254
DEFAULT_TABLE = 253


def _items(f, path, value, what, one, keys):
    """``(index, path, body)`` of each item of the list ``value`` that is a dict of known keys
    (the others are findings)."""
    for i, item in enumerate(_as_list(f, path, value, what) or []):
        ipath = _path(path, i)
        body = _as_dict(f, ipath, item, one, allow_none=False)
        if body is not None and _unknown_keys(f, ipath, body, keys):
            yield i, ipath, body


def _routes(f, path, value):
    out = []
    for dummy, ipath, body in _items(f, path, value, 'routes', 'a route', ROUTE_KEYS):
        route = {'dest': None, 'via': None}
        text = _str(f, _path(ipath, 'dest'), body.get('dest'), 'dest') if body.get('dest') is not None else None
        if text is None:
            f.add(_path(ipath, 'dest'), 'a route needs dest (an IPv4 network with its prefix)')
            continue
        try:
            net = ipaddress.IPv4Network(text.strip())
        except ValueError:
            f.add(_path(ipath, 'dest'), "dest '%s' is not an IPv4 network (host bits must be zero)" % text)
            continue
        route['dest'] = str(net)
        if body.get('via') is not None:
            via = _ipv4(str(body['via']).strip())
            if via is None:
                f.add(_path(ipath, 'via'), "via '%s' is not an IPv4 address" % body['via'])
                continue
            route['via'] = str(via)
        if body.get('table') is not None:
            table = _int(f, _path(ipath, 'table'), body['table'], 1, policy.U32, 'table')
            if table is None:
                continue
            if table in policy.RESERVED_TABLES:
                f.add(_path(ipath, 'table'), "table %d is the kernel's local table" % table)
                continue
            if table != MAIN_TABLE:
                route['table'] = table
        if net.prefixlen == 0 and 'table' not in route:
            f.add(_path(ipath, 'dest'), 'a default route in the main table is the gateway: give the route a table'
                  ' (for rules), or use gateway')
            continue
        out.append(route)
    return out


def _rules(f, path, value):
    out = []
    for i, ipath, body in _items(f, path, value, 'rules', 'a rule', RULE_KEYS):
        try:
            rule = policy.normalize_rule(body, i)
        except InvalidParameter as err:
            f.add(ipath, str(err).replace('rules[%d] ' % i, '').replace('rules[%d]' % i, 'the rule'))
            continue
        if rule['family'] != 'ipv4':
            f.add(ipath, 'the model\'s networks are IPv4: an IPv6 rule has nothing to route')
            continue
        rule['path'] = ipath
        out.append(rule)
    return out


def _qdisc(f, path, value):
    if value is None:
        return None
    body = _as_dict(f, path, value, 'qdisc', allow_none=False)
    if body is None or not _unknown_keys(f, path, body, QDISC_KEYS):
        return None
    try:
        return policy.normalize_qdisc(body)
    except InvalidParameter as err:
        f.add(path, str(err))
        return None


def read_interface_policy(f, path, body, itf):
    """``routes``, ``rules`` and ``qdisc`` of one interface into ``itf`` (findings for bad input)."""
    itf['routes'] = _routes(f, _path(path, 'routes'), body.get('routes'))
    itf['rules'] = _rules(f, _path(path, 'rules'), body.get('rules'))
    itf['qdisc'] = _qdisc(f, _path(path, 'qdisc'), body.get('qdisc'))


def check_container_policy(f, c, nets):
    """Across a container's interfaces: one rule per priority, every rule's table has routes, every route's
    next hop is on its interface's subnet, every qdisc's burst holds a full frame of its network."""
    tables = set([MAIN_TABLE, DEFAULT_TABLE])
    for itf in c['interfaces']:
        net = nets.get(itf['network'])
        for i, route in enumerate(itf.get('routes') or []):
            tables.add(route.get('table', MAIN_TABLE))
            if route['via'] and net and net.get('net') is not None \
                    and ipaddress.ip_address(route['via']) not in net['net']:
                f.add(_path(_path(itf['path'], 'routes'), i), 'via %s is not on network %s (%s): the next hop'
                      ' must be a neighbour of this interface' % (route['via'], itf['network'], net['subnet']))
        if itf.get('qdisc') and net and net.get('mtu'):
            try:
                policy.check_qdisc_fits(itf['qdisc'], net['mtu'])
            except InvalidParameter as err:
                f.add(_path(itf['path'], 'qdisc'), '%s (network %s)' % (err, itf['network']))
    seen = {}
    for itf in c['interfaces']:
        for rule in itf.get('rules') or []:
            if rule['priority'] in seen:
                other = seen[rule['priority']]
                f.add(_path(rule['path'], 'priority'), 'priority %d is also the priority of %s: the rules of a '
                      'container share its namespace, one rule per priority' % (rule['priority'], other))
            seen.setdefault(rule['priority'], rule['path'])
            if rule['table'] not in tables:
                f.add(_path(rule['path'], 'table'), 'table %d has no routes: give one of the container\'s '
                      'interfaces routes with table: %d' % (rule['table'], rule['table']))


def container_rules(c):
    """The container's rules, as container_attach takes them (sorted, without the model's paths)."""
    rules = [dict((k, v) for k, v in rule.items() if k != 'path') for itf in c['interfaces']
             for rule in itf.get('rules') or []]
    return sorted(rules, key=policy.rule_key)


def attach_policy(attach, itf, c):
    """Add the interface's routes and qdisc, and on the first interface the container's rules."""
    if itf.get('routes'):
        attach['routes'] = [dict(r) for r in itf['routes']]
    if itf.get('qdisc'):
        attach['qdisc'] = dict(itf['qdisc'])
    if itf is c['interfaces'][0]:
        attach['rules'] = container_rules(c)
