# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Policy routing rules and a root qdisc inside a container (container_attach's ``rules`` and ``qdisc``).

Marks (``_names``):

* a rule of ours carries the protocol :data:`RTPROT_NETWIRE` (FRA_PROTOCOL, the
  field ``ip rule`` shows as ``proto 110``), like our routes. The priority is
  not a mark: it is the rule's meaning (its place before or after ``main``), so
  it stays the user's choice, and a rule of someone else at the same priority is
  left alone. Rules belong to the namespace, not to a link: the set of ours is
  converged from one attachment of the container (the model's first interface),
  and removed when the container's last attachment of ours goes.
* the root qdisc of ours on a container end has the handle :data:`QDISC_HANDLE`
  (``4e57:``). A root qdisc with another handle than ours or the kernel's
  default (``0:``) is someone else's: it is never replaced nor removed.

A changed qdisc is converged with ``replace`` on our handle: the kernel changes
the qdisc in place (its counters survive), nothing is deleted and added.

Everything here is pure except the ``read_*`` functions and the steps, which
go through the run's netlink session (``ctx``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import ipaddress
import re
import socket

from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.module_utils import _validate as v
from ansible_collections.netwire.fabric.plugins.module_utils._errors import InvalidParameter, NetwireError, NotOwned
from ansible_collections.netwire.fabric.plugins.module_utils._names import QDISC_HANDLE, RTPROT_NETWIRE

FAMILIES = {'ipv4': socket.AF_INET, 'ipv6': socket.AF_INET6}
FAMILY_NAMES = dict((number, name) for name, number in FAMILIES.items())
U32 = 0xFFFFFFFF
TC_H_ROOT = 0xFFFFFFFF
FR_ACT_TO_TBL = 1
# priorities of the kernel's own rules (local 0, main 32766, default 32767): never ours
RESERVED_PRIORITIES = (0, 32766, 32767)
RESERVED_TABLES = (0, 255)  # unspec, local
QDISC_KINDS = ('tbf',)
ETH_HLEN = 14

RATE_UNITS = {'bit': 1, 'kbit': 1000, 'mbit': 1000 ** 2, 'gbit': 1000 ** 3,
              'bps': 8, 'kbps': 8000, 'mbps': 8 * 1000 ** 2, 'gbps': 8 * 1000 ** 3}
SIZE_UNITS = {'b': 1, 'k': 1024, 'kb': 1024, 'm': 1024 ** 2, 'mb': 1024 ** 2, 'g': 1024 ** 3, 'gb': 1024 ** 3}
TIME_UNITS = {'us': 1, 'usec': 1, 'ms': 1000, 'msec': 1000, 's': 1000 ** 2, 'sec': 1000 ** 2}  # in microseconds
_QUANTITY_RE = re.compile(r'^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$')

RULE_KEYS = ('family', 'priority', 'from', 'to', 'iif', 'fwmark', 'table')


# ---------------------------------------------------------------- parameters (pure)

def quantity(value, units, default_unit, what):
    """A positive whole quantity in the base unit of ``units`` ('1mbit', '32kb', 50 -> the default unit)."""
    if isinstance(value, bool) or value is None:
        raise InvalidParameter('%s must be a number with an optional unit (%s), not %r'
                               % (what, ', '.join(sorted(units, key=units.get)), value))
    if isinstance(value, int):
        number, unit = value, default_unit
    else:
        m = _QUANTITY_RE.match(str(value))
        if not m or (m.group(2) or default_unit).lower() not in units:
            raise InvalidParameter("%s '%s' is not a number with a unit (%s)"
                                   % (what, value, ', '.join(sorted(units, key=units.get))))
        number, unit = float(m.group(1)), (m.group(2) or default_unit).lower()
    result = number * units[unit]
    if result != int(result) or result <= 0:
        raise InvalidParameter("%s '%s' must be a positive whole number of %s" % (what, value, default_unit))
    return int(result)


def normalize_rule(rule, index):
    """One rule in normal form (every key of :data:`RULE_KEYS`; None where not given)."""
    where = 'rules[%d]' % index
    if not isinstance(rule, dict):
        raise InvalidParameter('%s must be a dict' % where)
    r = dict((k, None) for k in RULE_KEYS)
    priority = rule.get('priority')
    if priority is None:
        raise InvalidParameter('%s needs a priority (a rule of ours is known by it)' % where)
    v.int_range(priority, 1, U32 - 1, '%s priority' % where)
    if priority in RESERVED_PRIORITIES:
        raise InvalidParameter('%s priority %d is the kernel\'s own rule (main 32766, default 32767)'
                               % (where, priority))
    r['priority'] = priority
    versions = set()
    for key in ('from', 'to'):
        if rule.get(key):
            r[key] = v.network(rule[key], '%s %s' % (where, key))
            versions.add(ipaddress.ip_network(r[key]).version)
    if len(versions) > 1:
        raise InvalidParameter('%s mixes IPv4 and IPv6 (from %s, to %s)' % (where, r['from'], r['to']))
    family = rule.get('family')
    if family is not None and family not in FAMILIES:
        raise InvalidParameter("%s family '%s' is not one of ipv4, ipv6" % (where, family))
    if versions:
        seen = 'ipv%d' % versions.pop()
        if family is not None and family != seen:
            raise InvalidParameter('%s family %s does not match its %s addresses' % (where, family, seen))
        family = seen
    r['family'] = family or 'ipv4'
    if rule.get('iif'):
        r['iif'] = v.ifname(rule['iif'], '%s iif' % where)
    if rule.get('fwmark') is not None:
        v.int_range(rule['fwmark'], 1, U32, '%s fwmark' % where)
        r['fwmark'] = rule['fwmark']
    table = rule.get('table')
    if table is None:
        raise InvalidParameter('%s needs a table to look up' % where)
    v.int_range(table, 1, U32, '%s table' % where)
    if table in RESERVED_TABLES:
        raise InvalidParameter('%s table %d is the kernel\'s local table' % (where, table))
    r['table'] = table
    return r


def rule_key(rule):
    return (rule['family'], rule['priority'], rule['from'] or '', rule['to'] or '', rule['iif'] or '',
            rule['fwmark'] or 0, rule['table'])


def normalize_rules(rules):
    """``None`` (rules left as they are) or the exact list of our rules, sorted, one per (family, priority)."""
    if rules is None:
        return None
    out, seen = [], {}
    for i, rule in enumerate(rules):
        r = normalize_rule(rule, i)
        key = (r['family'], r['priority'])
        if key in seen:
            raise InvalidParameter('rules[%d] and rules[%d] both have priority %d (%s): give each rule its own'
                                   % (seen[key], i, r['priority'], r['family']))
        seen[key] = i
        out.append(r)
    return sorted(out, key=rule_key)


def normalize_qdisc(qdisc):
    """``None`` (no qdisc of ours) or ``{'kind', 'rate' (bit/s), 'burst' (bytes), 'limit' (bytes)}``."""
    if qdisc is None:
        return None
    if not isinstance(qdisc, dict):
        raise InvalidParameter('qdisc must be a dict')
    kind = qdisc.get('kind') or 'tbf'
    if kind not in QDISC_KINDS:
        raise InvalidParameter("qdisc kind '%s' is not supported (supported: %s)" % (kind, ', '.join(QDISC_KINDS)))
    for key in ('rate', 'burst'):
        if qdisc.get(key) is None:
            raise InvalidParameter('qdisc %s needs %s' % (kind, key))
    rate = quantity(qdisc['rate'], RATE_UNITS, 'bit', 'qdisc rate')
    if rate % 8:
        raise InvalidParameter('qdisc rate %s is not a whole number of bytes per second' % qdisc['rate'])
    if rate // 8 > U32:
        raise InvalidParameter('qdisc rate %s is above %d bytes per second' % (qdisc['rate'], U32))
    burst = quantity(qdisc['burst'], SIZE_UNITS, 'b', 'qdisc burst')
    if (qdisc.get('limit') is None) == (qdisc.get('latency') is None):
        raise InvalidParameter('qdisc %s needs exactly one of limit and latency' % kind)
    if qdisc.get('limit') is not None:
        limit = quantity(qdisc['limit'], SIZE_UNITS, 'b', 'qdisc limit')
    else:
        # what tc and pyroute2 compute: the bytes that wait at most ``latency`` at ``rate``, plus the burst
        latency = quantity(qdisc['latency'], TIME_UNITS, 'us', 'qdisc latency')
        limit = int(rate // 8 * float(latency) / 1000 ** 2 + burst)
    if limit > U32 or burst > U32:
        raise InvalidParameter('qdisc burst and limit must be below 4 GiB')
    return {'kind': kind, 'rate': rate, 'burst': burst, 'limit': limit}


def check_qdisc_fits(qdisc, mtu):
    """A tbf whose burst is smaller than a full frame drops every full frame: refuse it."""
    if qdisc is not None and qdisc['burst'] < mtu + ETH_HLEN:
        raise InvalidParameter('qdisc burst %d bytes is smaller than a full frame of the interface (mtu %d + %d):'
                               ' tbf would drop every full-size packet' % (qdisc['burst'], mtu, ETH_HLEN))


def describe_rule(rule):
    parts = ['%d:' % rule['priority']]
    parts.append('from %s' % (rule['from'] or 'all'))
    if rule['to']:
        parts.append('to %s' % rule['to'])
    if rule['iif']:
        parts.append('iif %s' % rule['iif'])
    if rule['fwmark']:
        parts.append('fwmark %#x' % rule['fwmark'])
    parts.append('lookup %s' % rule['table'])
    return '%s rule %s' % (rule['family'], ' '.join(parts))


def describe_qdisc(q):
    return '%s rate %dbit burst %db limit %db' % (q['kind'], q['rate'], q['burst'], q['limit'])


# ---------------------------------------------------------------- reading

def rule_view(raw):
    """Our normal form of a rule read from the kernel; ``unmodeled`` lists what the form cannot say."""
    unmodeled = []
    if raw['action'] != FR_ACT_TO_TBL:
        unmodeled.append('action %s' % raw['action'])
    for key in ('oif', 'goto'):
        if raw.get(key):
            unmodeled.append('%s %s' % (key, raw[key]))
    if raw.get('tos'):
        unmodeled.append('tos %s' % raw['tos'])
    if raw.get('suppress_prefixlength') not in (None, U32):
        unmodeled.append('suppress_prefixlength %s' % raw['suppress_prefixlength'])
    if raw.get('fwmark') and raw.get('fwmask') not in (None, U32):
        unmodeled.append('fwmask %#x' % raw['fwmask'])
    view = {
        'family': FAMILY_NAMES.get(raw['family'], str(raw['family'])),
        'priority': raw['priority'],
        'from': str(ipaddress.ip_network(raw['from'], strict=False)) if raw['from'] else None,
        'to': str(ipaddress.ip_network(raw['to'], strict=False)) if raw['to'] else None,
        'iif': raw['iif'],
        'fwmark': raw['fwmark'] or None,
        'table': raw['table'],
    }
    if unmodeled:
        view['unmodeled'] = ', '.join(unmodeled)
    return view


def read_rules(ctx, netns):
    """[(view, raw)] of our rules in ``netns``, sorted."""
    ours = [(rule_view(raw), raw) for raw in ctx.rules(netns) if raw['protocol'] == RTPROT_NETWIRE]
    return sorted(ours, key=lambda pair: rule_key(pair[0]))


def _ticks(rate_bytes, burst):
    """The token bucket's size as the kernel stores it (scheduler ticks), computed as pyroute2 sends it."""
    from pyroute2.netlink.rtnl.tcmsg.common import calc_xmittime
    return calc_xmittime(rate_bytes, burst)


def _burst_of(rate_bytes, ticks):
    from pyroute2.netlink.rtnl.tcmsg.common import tick_in_usec
    return int(round(ticks / tick_in_usec * rate_bytes / 1000.0 ** 2))


def qdisc_view(raw, wanted=None, ticks=_ticks, burst_of=_burst_of):
    """Our normal form of our root qdisc. The burst is stored as time at the rate: it reads back as
    ``wanted``'s burst when it is exactly what that burst gives, else as the nearest byte count."""
    o = raw['options']
    view = {'kind': raw['kind']}
    if raw['kind'] == 'tbf':
        rate_bytes = o.get('rate', 0)
        view['rate'] = rate_bytes * 8
        view['limit'] = o.get('limit')
        if (wanted and wanted.get('kind') == 'tbf' and wanted['rate'] == view['rate']
                and ticks(rate_bytes, wanted['burst']) == o.get('buffer')):
            view['burst'] = wanted['burst']
        else:
            view['burst'] = burst_of(rate_bytes, o.get('buffer', 0)) if rate_bytes else None
    return view


def read_root_qdisc(ctx, index, netns, wanted=None):
    """(ours, foreign) root qdisc of link ``index``: our view or None, and (kind, handle) of someone else's."""
    for raw in ctx.qdiscs(netns):
        if raw['index'] != index or raw['parent'] != TC_H_ROOT:
            continue
        if raw['handle'] == QDISC_HANDLE:
            return qdisc_view(raw, wanted), None
        if raw['handle'] != 0:  # 0: the kernel's default root qdisc (noqueue, pfifo_fast, ...)
            return None, (raw['kind'], '%x:' % (raw['handle'] >> 16))
    return None, None


# ---------------------------------------------------------------- planning

def plan_rules(plan, ctx, netns, current, wanted, where):
    """Queue the steps that make our rules in ``netns`` exactly ``wanted`` (None: leave them).

    ``current`` is :func:`read_rules`' list. New rules go in before the old ones go: a rule that
    changes is never missing in between.
    """
    if wanted is None:
        return
    have = [view for view, _raw in current]
    for rule in wanted:
        if rule not in have:
            plan.step('add %s in %s' % (describe_rule(rule), where), add_rule, ctx, netns, rule)
    for view, raw in current:
        if view not in wanted:
            plan.step('remove %s in %s' % (describe_rule(view), where), delete_rule, ctx, netns, raw)


def plan_qdisc(plan, ctx, ifname, index_ref, netns, current, foreign, wanted):
    """Queue the steps that make the root qdisc of ``ifname`` ours with ``wanted`` (None: not ours)."""
    if wanted is None:
        if current is not None:
            plan.step('remove qdisc %s from %s' % (current['kind'], ifname), delete_qdisc, ctx, ifname, index_ref,
                      netns)
        return
    if foreign is not None:
        raise NotOwned("the container's %s has a root qdisc %s (handle %s) that netwire did not create;"
                       ' it is left alone' % (ifname, foreign[0], foreign[1]))
    if current != wanted:
        plan.step('%s qdisc %s on %s' % ('set' if current is None else 'change', describe_qdisc(wanted), ifname),
                  replace_qdisc, ctx, ifname, index_ref, netns, wanted)


# ---------------------------------------------------------------- steps

def _rule_request(rule):
    family = FAMILIES[rule['family']]
    kwargs = {'family': family, 'priority': rule['priority'], 'table': rule['table'], 'protocol': RTPROT_NETWIRE,
              'action': 'to_tbl'}
    for key, attr in (('from', 'src'), ('to', 'dst')):
        if rule[key]:
            net = ipaddress.ip_network(rule[key])
            kwargs[attr], kwargs[attr + '_len'] = str(net.network_address), net.prefixlen
    if rule['iif']:
        kwargs['iifname'] = rule['iif']
    if rule['fwmark']:
        kwargs['fwmark'] = rule['fwmark']
    return kwargs


def add_rule(ctx, netns, rule):
    ctx.call('add', 'rule', describe_rule(rule), 'rule', 'add', netns=netns, **_rule_request(rule))


def delete_rule(ctx, netns, raw):
    """Delete exactly this rule of ours (the protocol is part of the match); already gone is fine."""
    kwargs = {'family': raw['family'], 'priority': raw['priority'], 'table': raw['table'],
              'protocol': RTPROT_NETWIRE, 'action': raw['action']}
    for key, attr in (('from', 'src'), ('to', 'dst')):
        if raw[key]:
            address, _sep, prefix = raw[key].partition('/')
            kwargs[attr], kwargs[attr + '_len'] = address, int(prefix)
    for key, attr in (('iif', 'iifname'), ('oif', 'oifname'), ('fwmark', 'fwmark'), ('fwmask', 'fwmask'),
                      ('goto', 'goto')):
        if raw.get(key):
            kwargs[attr] = raw[key]
    ctx.call('remove', 'rule', describe_rule(rule_view(raw)), 'rule', 'del', netns=netns,
             ignore=(errno.ENOENT, errno.ESRCH), **kwargs)


def replace_qdisc(ctx, ifname, index_ref, netns, q):
    index = index_ref() if callable(index_ref) else index_ref
    ctx.call('set', 'qdisc on', ifname, 'tc', 'replace', q['kind'], index, QDISC_HANDLE, netns=netns,
             rate=q['rate'] // 8, burst=q['burst'], limit=q['limit'])


def delete_qdisc(ctx, ifname, index_ref, netns):
    index = index_ref() if callable(index_ref) else index_ref
    ctx.call('remove', 'qdisc on', ifname, 'tc', 'del', index=index, handle=QDISC_HANDLE, parent=TC_H_ROOT,
             netns=netns, ignore=(errno.ENOENT, errno.EINVAL))


# ---------------------------------------------------------------- the last attachment of a container

def other_attachments(ctx, netns, ifname):
    """Container ends of ours in ``netns`` other than ``ifname``."""
    return sorted(name for name, link in ctx.links(netns).items()
                  if name != ifname and (link.get('alias') or '').startswith(_names.ATTACH_ALIAS_PREFIX))


def plan_rules_removal(plan, ctx, netns, ifname, where):
    """When ``ifname`` is the container's last attachment of ours, queue removing our rules there."""
    if other_attachments(ctx, netns, ifname):
        return
    for view, raw in read_rules(ctx, netns):
        plan.step('remove %s in %s (its last attachment goes)' % (describe_rule(view), where), delete_rule, ctx,
                  netns, raw)


def rules_after_removal(ctx, alias, check_mode=False):
    """After host_network removed the attachment marked ``alias`` (purge): our rules in its container go
    with the container's last attachment of ours. Returns the actions."""
    from ansible_collections.netwire.fabric.plugins.module_utils._linux.netns import resolve

    identity, ifname = _names.parse_attach_alias(alias) or (None, None)
    if not (identity and ifname):
        return []
    ref_type, _sep, ref = identity.partition(':')
    try:
        ns = resolve(ref, ref_type)
    except NetwireError:
        return []
    if ns.inode() is None:
        return []
    ctx.invalidate(ns.path)
    if other_attachments(ctx, ns.path, ifname):
        return []
    actions = []
    for view, raw in read_rules(ctx, ns.path):
        actions.append('remove %s in %s (its last attachment went)' % (describe_rule(view), identity))
        if not check_mode:
            delete_rule(ctx, ns.path, raw)
    return actions
