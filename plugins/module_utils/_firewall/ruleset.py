# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rulesets in canonical form: what ``nft -j list`` returns and what the planner builds, made comparable;
the one nft transaction that turns the current owned tables into the desired ones; and the text
rendering used in actions and diffs. Pure functions (the planner is ``planner.py``, the client ``nft.py``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

try:
    string_types = (str, unicode)  # noqa: F821  (Python 2 compatibility for sanity)
except NameError:
    string_types = (str,)


# --------------------------------------------------------------------------
# normalization
# --------------------------------------------------------------------------

def canonical_expr(value):
    """Remove harmless spelling differences (one-element lists, key order is irrelevant)."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            out[key] = canonical_expr(item)
        match = out.get("match")
        if isinstance(match, dict) and isinstance(match.get("right"), list):
            right = match["right"]
            match["right"] = right[0] if len(right) == 1 else sorted(right, key=_sort_key)
        if "set" in out and isinstance(out["set"], list):
            out["set"] = sorted(out["set"], key=_sort_key)
        return out
    if isinstance(value, list):
        return [canonical_expr(v) for v in value]
    return value


def _sort_key(value):
    return json.dumps(value, sort_keys=True)


def _canonical_set(raw):
    flags = raw.get("flags") or []
    if isinstance(flags, string_types):
        flags = [flags]
    elem = raw.get("elem") or []
    if not isinstance(elem, list):
        elem = [elem]
    return {"name": raw["name"], "type": raw.get("type"), "flags": sorted(flags),
            "elem": sorted((canonical_expr(e) for e in elem), key=_sort_key)}


def _canonical_rule(raw):
    rule = {"expr": canonical_expr(raw.get("expr") or [])}
    if raw.get("comment"):
        rule["comment"] = raw["comment"]
    return rule


def _canonical_chain(raw, rules):
    chain = {"name": raw["name"], "rules": [_canonical_rule(r) for r in rules]}
    for key in ("type", "hook", "prio", "policy"):
        if raw.get(key) is not None:
            chain[key] = raw[key]
    return chain


_HOOK_ORDER = {"ingress": 0, "prerouting": 1, "input": 2, "forward": 3, "output": 4, "postrouting": 5}


def canonical_ruleset(ruleset):
    """Sort tables, sets and chains; canonicalize sets and rules (rule order is kept)."""
    tables = []
    for table in ruleset.get("tables", []):
        chains = [_canonical_chain(c, c.get("rules", [])) for c in table.get("chains", [])]
        out = {
            "family": table["family"], "name": table["name"],
            "sets": sorted((_canonical_set(s) for s in table.get("sets", [])), key=lambda s: s["name"]),
            "chains": sorted(chains, key=lambda c: (_HOOK_ORDER.get(c.get("hook"), 9), c["name"])),
        }
        if table.get("counters"):
            # named counters (the DHCP guard's), by name: their values are state, not configuration
            out["counters"] = sorted(table["counters"])
        tables.append(out)
    tables.sort(key=lambda t: (t["family"], t["name"]))
    return {"tables": tables}


def normalize_listing(listing, owned):
    """Canonical ruleset of the ``owned`` (family, name) tables in an ``nft -j list`` output.

    ``listing`` is the parsed JSON (``{"nftables": [...]}`` or the list itself).
    Objects of any other table are ignored; handles and metainfo are dropped.
    """
    items = listing.get("nftables", []) if isinstance(listing, dict) else (listing or [])
    owned = set(tuple(t) for t in owned)
    tables, order = {}, []
    chain_rules = {}
    for item in items:
        if not isinstance(item, dict) or len(item) != 1:
            continue
        kind, obj = list(item.items())[0]
        if kind == "table":
            key = (obj.get("family"), obj.get("name"))
            if key in owned and key not in tables:
                tables[key] = {"family": key[0], "name": key[1], "sets": [], "chains": []}
                order.append(key)
            continue
        key = (obj.get("family"), obj.get("table"))
        if key not in owned:
            continue
        table = tables.setdefault(key, {"family": key[0], "name": key[1], "sets": [], "chains": []})
        if key not in order:
            order.append(key)
        if kind in ("set", "map"):
            table["sets"].append(obj)
        elif kind == "counter":
            table.setdefault("counters", []).append(obj.get("name"))
        elif kind == "chain":
            chain = dict(obj)
            chain["rules"] = chain_rules.setdefault(key + (obj["name"],), [])
            table["chains"].append(chain)
        elif kind == "rule":
            chain_rules.setdefault(key + (obj.get("chain"),), []).append(obj)
        else:
            # counters, quotas, flowtables... are not ours to create: keep them visible so they differ
            table.setdefault("chains", []).append({"name": "%s %s" % (kind, obj.get("name")), "rules": []})
    return canonical_ruleset({"tables": [tables[k] for k in order]})


def present_tables(canonical):
    return [(t["family"], t["name"]) for t in canonical.get("tables", [])]


# --------------------------------------------------------------------------
# the one transaction
# --------------------------------------------------------------------------

def transaction(desired, current_tables, owned):
    """The nft JSON batch that makes our tables equal ``desired``, atomically.

    Every owned table that exists or is desired is first *added* (a no-op when
    it exists, so the following delete cannot fail on a race), then deleted,
    then the desired ones are rebuilt. Tables outside ``owned`` never appear.
    """
    wanted = dict(((t["family"], t["name"]), t) for t in desired.get("tables", []))
    current = set(tuple(t) for t in current_tables)
    cmds = []
    for family, name in owned:
        key = (family, name)
        if key not in wanted and key not in current:
            continue
        ref = {"family": family, "name": name}
        cmds.append({"add": {"table": dict(ref)}})
        cmds.append({"delete": {"table": dict(ref)}})
        table = wanted.get(key)
        if table is None:
            continue
        cmds.append({"add": {"table": dict(ref)}})
        for nset in table["sets"]:
            body = {"family": family, "table": name, "name": nset["name"], "type": nset["type"],
                    "flags": list(nset["flags"])}
            if nset["elem"]:
                body["elem"] = list(nset["elem"])
            cmds.append({"add": {"set": body}})
        for counter in table.get("counters", []):
            cmds.append({"add": {"counter": {"family": family, "table": name, "name": counter}}})
        for chain in table["chains"]:
            body = {"family": family, "table": name, "name": chain["name"]}
            for k in ("type", "hook", "prio", "policy"):
                if k in chain:
                    body[k] = chain[k]
            cmds.append({"add": {"chain": body}})
        for chain in table["chains"]:
            for rule in chain["rules"]:
                body = {"family": family, "table": name, "chain": chain["name"], "expr": rule["expr"]}
                if rule.get("comment"):
                    body["comment"] = rule["comment"]
                cmds.append({"add": {"rule": body}})
    return {"nftables": cmds}


# --------------------------------------------------------------------------
# rendering (diff mode)
# --------------------------------------------------------------------------

_QUOTED_META = ("iifname", "oifname", "ibrname", "obrname")


def _render_value(value, quote=False):
    if isinstance(value, dict):
        if "prefix" in value:
            return "%s/%s" % (value["prefix"]["addr"], value["prefix"]["len"])
        if "range" in value:
            return "%s-%s" % tuple(_render_value(v) for v in value["range"])
        if "set" in value:
            return "{ %s }" % ", ".join(_render_value(v, quote) for v in value["set"])
        return json.dumps(value, sort_keys=True)
    if isinstance(value, list):
        return ",".join(_render_value(v, quote) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if quote and isinstance(value, string_types) and not value.startswith("@"):
        return '"%s"' % value
    return "%s" % value


def _render_left(left):
    if "payload" in left:
        return "%s %s" % (left["payload"].get("protocol"), left["payload"].get("field"))
    if "meta" in left:
        key = left["meta"]["key"]
        return key if key in _QUOTED_META + ("mark", "l4proto", "nfproto") else "meta " + key
    if "ct" in left:
        return "ct " + left["ct"]["key"]
    if "fib" in left:
        flags = left["fib"].get("flags", [])
        return "fib %s %s" % (" . ".join(flags if isinstance(flags, list) else [flags]), left["fib"].get("result"))
    if "&" in left and len(left["&"]) == 2:
        what, mask = left["&"]
        mask = mask if isinstance(mask, list) else [mask]
        return "%s & (%s)" % (_render_left(what), " | ".join(str(m) for m in mask))
    return json.dumps(left, sort_keys=True)


def render_expr(expr):
    if not isinstance(expr, dict) or len(expr) != 1:
        return json.dumps(expr, sort_keys=True)
    kind, body = list(expr.items())[0]
    if kind == "match":
        left = body["left"]
        quote = "meta" in left and left["meta"].get("key") in _QUOTED_META
        op = body.get("op", "==")
        op = "" if op in ("==", "in") else op + " "
        if "fib" in left and body["right"] is False:
            return "%s missing" % _render_left(left)
        return "%s %s%s" % (_render_left(left), op, _render_value(body["right"], quote))
    if kind in ("accept", "drop", "return", "masquerade", "continue"):
        return kind
    if kind in ("jump", "goto"):
        return "%s %s" % (kind, body.get("target"))
    if kind == "counter" and isinstance(body, string_types):
        return 'counter name "%s"' % body
    if kind in ("dnat", "snat"):
        target = "%s" % body.get("addr")
        if body.get("port") is not None:
            target += ":%s" % body["port"]
        return "%s to %s" % (kind, target)
    return json.dumps(expr, sort_keys=True)


def render(canonical):
    """Text of a canonical ruleset, close to ``nft list table`` (for diff mode)."""
    lines = []
    for table in canonical.get("tables", []):
        lines.append("table %s %s {" % (table["family"], table["name"]))
        blocks = []
        for nset in table["sets"]:
            block = ["\tset %s {" % nset["name"], "\t\ttype %s" % nset["type"]]
            if nset["flags"]:
                block.append("\t\tflags %s" % ",".join(nset["flags"]))
            if nset["elem"]:
                block.append("\t\telements = { %s }" % ", ".join(_render_value(e) for e in nset["elem"]))
            block.append("\t}")
            blocks.append(block)
        for counter in table.get("counters", []):
            blocks.append(["\tcounter %s {" % counter, "\t}"])
        for chain in table["chains"]:
            block = ["\tchain %s {" % chain["name"]]
            if chain.get("hook"):
                block.append("\t\ttype %s hook %s priority %s; policy %s;"
                             % (chain.get("type"), chain["hook"], chain.get("prio"), chain.get("policy", "accept")))
            for rule in chain["rules"]:
                text = " ".join(render_expr(e) for e in rule["expr"])
                if rule.get("comment"):
                    text += ' comment "%s"' % rule["comment"]
                block.append("\t\t" + text)
            block.append("\t}")
            blocks.append(block)
        for index, block in enumerate(blocks):
            if index:
                lines.append("")
            lines.extend(block)
        lines.append("}")
    return "\n".join(lines) + ("\n" if lines else "")
