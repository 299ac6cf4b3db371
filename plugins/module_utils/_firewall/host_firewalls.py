# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Coexistence with the host's other firewalls (pure: no I/O in this file).

A forwarded packet must be accepted by *every* base chain on the forward hook,
so our own ``inet`` table's accept is not enough on a host whose other
firewall drops forwarded traffic (Docker's ``filter``/``FORWARD`` policy drop,
ufw, firewalld, a hand-written nft table). This module reads the ruleset that
``nft -j list ruleset`` returned, finds those chains, and decides per chain:

* it does not drop our traffic: nothing to do;
* it is Docker's ``table ip filter`` with its ``DOCKER-USER`` chain (Docker's
  documented integration point): our marked rules go there, one
  ``ip saddr <subnet> accept`` and one ``ip daddr <subnet> accept`` per network
  (``-s``/``-d`` for iptables-nft, which reads them back), so that the verdict on
  traffic from or to our networks is our own forward chain's (keyed on the
  subnets, not on the bridges: with the OVS userspace datapath the kernel also
  routes a container's packets received on its veth host end);
* anything else: :func:`plan` raises, naming the table and chain that drop.

Whether a chain drops our traffic is decided by a small, conservative walk of
its rules for a packet of which only the input interface and source subnet (or the
output interface and destination subnet) are known:
a rule whose every match is decided by that interface or address counts, every other rule
is skipped; ``jump``/``goto``/``return`` are followed; the first certain
accept, drop or reject, or the base chain's policy, is the chain's verdict.
So a chain that accepts our bridges itself (e.g. after ``ufw route allow in on
<bridge>`` or a firewalld zone holding the bridge) is found not to drop.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.netwire.fabric.plugins.module_utils._errors import NetwireError
from ansible_collections.netwire.fabric.plugins.module_utils._names import OWNER_PREFIX

try:
    string_types = (str, unicode)  # noqa: F821  (Python 2 compatibility for sanity)
except NameError:
    string_types = (str,)

MARK = OWNER_PREFIX  # our rules in other tables carry comments "netwire:<table>:..."
DOCKER_TABLE = ("ip", "filter")
DOCKER_USER = "DOCKER-USER"
DIRECTIONS = ("from", "to")
_IFKEY = {"from": "iifname", "to": "oifname"}
_ADDRKEY = {"from": "saddr", "to": "daddr"}
_NOOP = ("counter", "log", "comment")
_MAX_DEPTH = 16

ACCEPT, DROP, RETURN, PASS = "accept", "drop", "return", "pass"


class HostFirewallError(NetwireError):
    """Another firewall drops our forwarded traffic and netwire cannot integrate with it."""


class Net(object):
    """What the walk knows of one of our networks: its name, bridge and subnet."""

    def __init__(self, name, bridge, subnet):
        self.name = name
        self.bridge = bridge
        self.subnet = ipaddress.ip_network(u"%s" % subnet, strict=False)


def marker(table_name):
    """The comment prefix of our rules in other tables, per ``table_name`` (two users never clash)."""
    return "%s%s:" % (MARK, table_name)


def rule_comment(table_name, net, direction):
    return "%s%s %s" % (marker(table_name), direction, net.name)


def integration_rule(table_name, net, direction):
    """One rule of ours in DOCKER-USER, in the exact form nft lists it back (and iptables-nft reads)."""
    prefix = {"prefix": {"addr": str(net.subnet.network_address), "len": net.subnet.prefixlen}}
    return {"expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": _ADDRKEY[direction]}},
                                "right": prefix}},
                     {"accept": None}],
            "comment": rule_comment(table_name, net, direction)}


# --------------------------------------------------------------------------
# the ruleset, indexed
# --------------------------------------------------------------------------

class Ruleset(object):
    """Tables, chains and rules of an ``nft -j list ruleset`` output, minus ``skip`` tables."""

    def __init__(self, listing, skip=()):
        items = listing.get("nftables", []) if isinstance(listing, dict) else (listing or [])
        skip = set(tuple(t) for t in skip)
        self.chains = {}   # (family, table, chain) -> chain object
        self.rules = {}    # (family, table, chain) -> [rule objects]
        self.tables = []
        for item in items:
            if not isinstance(item, dict) or len(item) != 1:
                continue
            kind, obj = list(item.items())[0]
            if kind == "table":
                if (obj.get("family"), obj.get("name")) not in skip:
                    self.tables.append((obj.get("family"), obj.get("name")))
                continue
            if (obj.get("family"), obj.get("table")) in skip:
                continue
            if kind == "chain":
                key = (obj.get("family"), obj.get("table"), obj.get("name"))
                self.chains[key] = obj
                self.rules.setdefault(key, [])
            elif kind == "rule":
                self.rules.setdefault((obj.get("family"), obj.get("table"), obj.get("chain")), []).append(obj)

    def forward_chains(self):
        """Base filter chains on the IPv4 forward hook (families ip and inet), in a stable order."""
        out = [k for k, c in self.chains.items()
               if c.get("hook") == "forward" and k[0] in ("ip", "inet") and c.get("type", "filter") == "filter"]
        return sorted(out)

    def without_marked(self, prefix):
        """A copy without the rules whose comment starts with ``prefix`` (to judge the host's own rules)."""
        other = Ruleset({"nftables": []})
        other.tables = list(self.tables)
        other.chains = dict(self.chains)
        other.rules = dict((k, [r for r in v if not (r.get("comment") or "").startswith(prefix)])
                           for k, v in self.rules.items())
        return other

    def with_rules_first(self, key, rules):
        other = Ruleset({"nftables": []})
        other.tables = list(self.tables)
        other.chains = dict(self.chains)
        other.rules = dict(self.rules)
        other.rules[key] = list(rules) + list(self.rules.get(key, []))
        return other

    def marked(self, prefix):
        """Our rules in other tables: [(chain key, rule)] whose comment starts with ``prefix``."""
        out = []
        for key in sorted(self.rules):
            for rule in self.rules[key]:
                if (rule.get("comment") or "").startswith(prefix):
                    out.append((key, rule))
        return out


# --------------------------------------------------------------------------
# the walk
# --------------------------------------------------------------------------

def _name_matches(pattern, name):
    if isinstance(pattern, string_types) and pattern.endswith("*") and not pattern.endswith("\\*"):
        return name.startswith(pattern[:-1])
    return pattern == name


def _network(value):
    if isinstance(value, dict) and isinstance(value.get("prefix"), dict):
        value = "%s/%s" % (value["prefix"].get("addr"), value["prefix"].get("len"))
    if not isinstance(value, string_types) or value.startswith("@"):
        return None
    try:
        return ipaddress.ip_network(u"%s" % value, strict=False)
    except ValueError:
        return None


def _decide_address(match, direction, net):
    left = match.get("left") or {}
    payload = left.get("payload") if isinstance(left, dict) else None
    if not isinstance(payload, dict) or payload.get("protocol") != "ip" or \
            payload.get("field") != _ADDRKEY[direction]:
        return None
    right = match.get("right")
    values = right["set"] if isinstance(right, dict) and isinstance(right.get("set"), list) else [right]
    nets = [_network(v) for v in values]
    if any(n is None or n.version != 4 for n in nets):
        return None
    if any(net.subnet.subnet_of(n) for n in nets):
        hit = True
    elif all(not net.subnet.overlaps(n) for n in nets):
        hit = False
    else:
        return None
    return _with_op(match, hit)


def _with_op(match, hit):
    """A match's verdict from whether its right side holds the packet's value (None: an op we do not follow)."""
    op = match.get("op", "==")
    if op in ("==", "in"):
        return hit
    if op == "!=":
        return not hit
    return None


def _decide(expr, direction, net):
    """True/False when the match is decided by what we know of the packet, None when it depends on more."""
    match = expr.get("match")
    if not isinstance(match, dict):
        return None
    left = match.get("left") or {}
    meta = left.get("meta") if isinstance(left, dict) else None
    if not isinstance(meta, dict):
        return _decide_address(match, direction, net)
    if meta.get("key") != _IFKEY[direction]:
        return None
    right = match.get("right")
    if isinstance(right, dict) and isinstance(right.get("set"), list):
        values = right["set"]
    elif isinstance(right, list):
        values = right
    elif isinstance(right, string_types) and not right.startswith("@"):
        values = [right]
    else:
        return None  # a named set: not followed
    if not all(isinstance(v, string_types) for v in values):
        return None
    hit = any(_name_matches(v, net.bridge) for v in values)
    return _with_op(match, hit)


def _rule_applies(rule, direction, net):
    """(applies for sure, verdict expression or None)."""
    sure = True
    verdict = None
    for expr in rule.get("expr") or []:
        if not isinstance(expr, dict) or len(expr) != 1:
            return False, None
        kind, body = list(expr.items())[0]
        if kind in ("accept", "drop", "reject", "return", "jump", "goto"):
            verdict = (kind, body)
            break
        if kind in _NOOP or (kind == "xt" and isinstance(body, dict) and body.get("name") == "comment"):
            continue
        decided = _decide(expr, direction, net)
        if decided is False:
            return False, None
        if decided is None:
            sure = False
    return sure, verdict


def walk(ruleset, key, direction, net, depth=0):
    """Verdict of chain ``key`` for a packet from (entering by its bridge) or to (leaving by it) ``net``.

    ``accept``/``drop`` for a certain verdict, ``return`` when a regular chain
    falls through (or returns), ``pass`` when a base chain's policy accepts.
    """
    if depth > _MAX_DEPTH or key not in ruleset.chains:
        return RETURN
    for rule in ruleset.rules.get(key, []):
        sure, verdict = _rule_applies(rule, direction, net)
        if not sure or verdict is None:
            continue
        kind, body = verdict
        if kind == "accept":
            return ACCEPT
        if kind in ("drop", "reject"):
            return DROP
        if kind == "return":
            break
        target = (key[0], key[1], (body or {}).get("target"))
        result = walk(ruleset, target, direction, net, depth + 1)
        if result in (ACCEPT, DROP):
            return result
        if kind == "goto":
            break
    chain = ruleset.chains[key]
    if chain.get("hook"):
        return DROP if chain.get("policy") == "drop" else PASS
    return RETURN


def _verdicts(ruleset, key, nets):
    return dict(((n.name, d), walk(ruleset, key, d, n)) for n in nets for d in DIRECTIONS)


def kind_of(ruleset, key):
    family, table, chain = key
    names = set(c for (f, t, c) in ruleset.chains if (f, t) == (family, table))
    if (family, table) == DOCKER_TABLE and DOCKER_USER in names:
        return "docker"
    if table == "firewalld":
        return "firewalld"
    if any(n.startswith("ufw-") for n in names):
        return "ufw"
    if any(n.startswith("DOCKER") for n in names):
        return "docker"
    return "iptables" if (family, table) == DOCKER_TABLE else "nftables"


def describe(key):
    return "chain %s of table %s %s" % (key[2], key[0], key[1])


def _hint(kind, nets):
    if kind == "firewalld":
        return ("put the bridges in a zone that accepts them, e.g. 'firewall-cmd --permanent --zone=trusted "
                "--add-interface=%s' then 'firewall-cmd --reload'" % nets[0].bridge)
    if kind == "ufw":
        return "allow them with 'ufw route allow in on %s' and 'ufw route allow out on %s' (per bridge)" % (
            nets[0].bridge, nets[0].bridge)
    return ("netwire only changes tables it owns: accept that traffic in that chain "
            "(e.g. 'ip saddr %s accept' and 'ip daddr %s accept', per network)" % (nets[0].subnet, nets[0].subnet))


def _nets(networks):
    """Net objects from (name, bridge, subnet) tuples, in name order."""
    return [Net(*n) if not isinstance(n, Net) else n for n in sorted(networks, key=lambda n: tuple(n)[0]
                                                                     if not isinstance(n, Net) else n.name)]


def _traffic(net, direction):
    return "%s network %s (%s, bridge %s)" % (direction, net.name, net.subnet, net.bridge)


# --------------------------------------------------------------------------
# the plan
# --------------------------------------------------------------------------

def plan(listing, owned, networks, table_name):
    """What to do about the host's other firewalls.

    ``networks``: (name, bridge, subnet) of our networks on this host.
    Returns ``{"chain": (family, table, chain) or None, "rules": [...], "current": [(key, rule)]}``:
    ``rules`` are our wanted rules in DOCKER-USER (first in that chain), ``current`` our marked
    rules found anywhere outside our tables. Raises HostFirewallError when a chain drops our
    traffic and netwire cannot integrate with it.
    """
    prefix = marker(table_name)
    full = Ruleset(listing, skip=owned)
    foreign = full.without_marked(prefix)
    nets = _nets(networks)
    by_name = dict((n.name, n) for n in nets)
    wanted_chain, wanted = None, []
    problems, chains = [], []
    for key in foreign.forward_chains():
        dropped = sorted(k for k, v in _verdicts(foreign, key, nets).items() if v == DROP)
        if not dropped:
            continue
        user = (key[0], key[1], DOCKER_USER)
        if (key[0], key[1]) == DOCKER_TABLE and user in foreign.chains and wanted_chain is None:
            rules = [integration_rule(table_name, n, d) for n in nets for d in DIRECTIONS]
            after = foreign.with_rules_first(user, rules)
            still = sorted(k for k, v in _verdicts(after, key, nets).items() if v == DROP)
            if not still:
                wanted_chain, wanted = user, rules
                continue
            dropped = still
        kind = kind_of(foreign, key)
        chain = foreign.chains[key]
        chains.append(describe(key))
        problems.append("%s (%s firewall, hook forward priority %s, policy %s) drops the traffic %s; %s" % (
            describe(key), kind, chain.get("prio"), chain.get("policy", "accept"),
            ", ".join(_traffic(by_name[n], d) for n, d in dropped),
            _hint(kind, [by_name[n] for n in sorted(set(n for n, _d in dropped))])))
    if problems:
        raise HostFirewallError(
            "Failed to converge firewall '%s': another firewall on this host drops forwarded traffic of "
            "netwire's networks, and netwire cannot add its rules there: %s" % (table_name, "; ".join(problems)),
            chains=chains)
    return {"chain": wanted_chain, "rules": wanted, "current": full.marked(prefix)}


def canonical_rule(rule):
    out = {"expr": [e for e in (rule.get("expr") or []) if not (isinstance(e, dict) and "counter" in e)]}
    if rule.get("comment"):
        out["comment"] = rule["comment"]
    return out


def changes(host_plan):
    """(before, after, commands): our rules outside our tables now and wanted, and the nft commands."""
    current = host_plan["current"]
    key = host_plan["chain"]
    before = [{"chain": describe(k), "rule": canonical_rule(r)} for k, r in current]
    after = [{"chain": describe(key), "rule": canonical_rule(r)} for r in host_plan["rules"]]
    if before == after:
        return before, after, []
    cmds = []
    for (family, table, chain), rule in current:
        cmds.append({"delete": {"rule": {"family": family, "table": table, "chain": chain,
                                         "handle": rule["handle"]}}})
    for rule in reversed(host_plan["rules"]):
        cmds.append({"insert": {"rule": {"family": key[0], "table": key[1], "chain": key[2],
                                         "expr": rule["expr"], "comment": rule["comment"]}}})
    return before, after, cmds


def report(listing, owned, networks, table_name=None):
    """Facts for net_info: every base forward chain of another table, and what it does to our networks."""
    full = Ruleset(listing, skip=owned)
    prefix = marker(table_name) if table_name else MARK
    foreign = full.without_marked(prefix)
    nets = _nets(networks)
    out = []
    for key in full.forward_chains():
        chain = full.chains[key]
        without = _verdicts(foreign, key, nets)
        with_ours = _verdicts(full, key, nets)
        ours = [dict(canonical_rule(r), chain=k[2]) for k, r in full.marked(prefix) if k[:2] == key[:2]]
        out.append({
            "family": key[0], "table": key[1], "chain": key[2], "kind": kind_of(full, key),
            "priority": chain.get("prio"), "policy": chain.get("policy", "accept"),
            "integration": DOCKER_USER if (key[0], key[1]) == DOCKER_TABLE
            and (key[0], key[1], DOCKER_USER) in full.chains else None,
            "drops_netwire_traffic": sorted("%s %s" % (d, n) for (n, d), v in without.items() if v == DROP),
            "netwire_rules": ours,
            "passes_netwire_traffic": not any(v == DROP for v in with_ours.values()),
        })
    return out


def render(entries):
    """Our rules in other tables as nft text, for diff mode ('' when there are none)."""
    lines = []
    for entry in entries:
        rule = entry["rule"]
        text = " ".join(_render_expr(e) for e in rule["expr"])
        if rule.get("comment"):
            text += ' comment "%s"' % rule["comment"]
        lines.append("# %s: %s" % (entry["chain"], text))
    return "\n".join(lines) + ("\n" if lines else "")


def _render_expr(expr):
    match = expr.get("match") if isinstance(expr, dict) else None
    if isinstance(match, dict) and isinstance(match.get("left"), dict) and "payload" in match["left"]:
        net = _network(match.get("right"))
        return "ip %s %s" % (match["left"]["payload"].get("field"), net if net else match.get("right"))
    if isinstance(match, dict) and isinstance(match.get("left"), dict) and "meta" in match["left"]:
        op = match.get("op", "==")
        return '%s %s"%s"' % (match["left"]["meta"]["key"], "" if op == "==" else op + " ", match.get("right"))
    if isinstance(expr, dict) and len(expr) == 1:
        return list(expr)[0]
    return str(expr)
