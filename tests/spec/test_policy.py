# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inside containers: netwire's policy routing rules (and their tables' routes) and root qdiscs."""

from __future__ import annotations

from ansible_collections.netwire.fabric.plugins.module_utils import _names

TABLE_NAMES = {"main": 254, "default": 253, "local": 255}
QDISC_HANDLE = "%x:" % (_names.QDISC_HANDLE >> 16)


def _table(value):
    return TABLE_NAMES.get(str(value), None) or int(value)


def _net(address, length, full=32):
    if not address or address == "all":
        return None
    return "%s/%d" % (address, full if length is None else length)


def _listed_rule(r):
    """(priority, from, to, iif, fwmark, table) of a rule as `ip -j rule show` lists it."""
    fwmark = r.get("fwmark")
    return (r.get("priority", 0), _net(r.get("src"), r.get("srclen")), _net(r.get("dst"), r.get("dstlen")),
            r.get("iif"), int(fwmark, 16) if isinstance(fwmark, str) else fwmark, _table(r.get("table", "main")))


def _planned_rule(r):
    return (r["priority"], r["from"], r["to"], r["iif"], r["fwmark"], r["table"])


def _show(rule):
    return "%s: from %s%s lookup %s" % (rule[0], rule[1] or "all", " to %s" % rule[2] if rule[2] else "", rule[5])


def test_container_rules(spec, policy_rules):
    """netwire's rules in the container (protocol 110) are exactly the model's, and each rule's table
    holds the model's routes."""
    item = policy_rules
    st = spec.states[item["host"]]
    where = "%s: rules of container %s on %s" % (item["path"], item["container"], item["host"])
    try:
        inside = st.policy(item["ref"], item["ref_type"])
    except AssertionError as exc:
        raise AssertionError("%s: %s" % (where, exc))
    have = sorted(_listed_rule(r) for r in inside["rules"] if str(r.get("protocol")) == str(_names.RTPROT_NETWIRE))
    want = sorted(_planned_rule(r) for r in item["attach"]["rules"])
    assert have == want, "%s: netwire's rules are [%s], the model says [%s]" % (
        where, "; ".join(_show(r) for r in have), "; ".join(_show(r) for r in want))
    for route in item["routes"]:
        dest = "default" if route["dest"] == "0.0.0.0/0" else route["dest"]
        found = [r for r in inside["routes"] if str(r.get("table")) == str(route["table"]) and r.get("dst") == dest
                 and r.get("gateway") == route["via"] and str(r.get("protocol")) == str(_names.RTPROT_NETWIRE)]
        assert found, "%s: no route %s%s in table %s (the table of its rules)" % (
            where, dest, " via %s" % route["via"] if route["via"] else "", route["table"])


def test_container_qdisc(spec, policy_qdisc):
    """The container end's root qdisc is netwire's (handle 4e57:) with the model's parameters."""
    a = policy_qdisc["attach"]
    st = spec.states[policy_qdisc["host"]]
    where = "%s: root qdisc of %s in container %s on %s" % (
        policy_qdisc["path"], a["ifname"], policy_qdisc["container"], policy_qdisc["host"])
    try:
        inside = st.policy(policy_qdisc["ref"], policy_qdisc["ref_type"])
    except AssertionError as exc:
        raise AssertionError("%s: %s" % (where, exc))
    roots = [q for q in inside["qdiscs"] if q.get("dev") == a["ifname"] and q.get("root")]
    assert roots, "%s: %s has no root qdisc (is it there?)" % (where, a["ifname"])
    q, want = roots[0], a["qdisc"]
    assert (q.get("kind"), q.get("handle")) == (want["kind"], QDISC_HANDLE), "%s: %s %s, the model says %s %s" % (
        where, q.get("kind"), q.get("handle"), want["kind"], QDISC_HANDLE)
    options = q.get("options") or {}
    rate = want["rate"] // 8
    assert options.get("rate") == rate, "%s: rate %s bytes/s, the model says %d" % (where, options.get("rate"), rate)
    # the kernel keeps the burst and the limit as times at the rate: tc lists them back rounded
    assert abs(options.get("burst", 0) - want["burst"]) <= max(8, want["burst"] // 100), \
        "%s: burst %s bytes, the model says %d" % (where, options.get("burst"), want["burst"])
    latency = 1e6 * (want["limit"] - want["burst"]) / rate
    assert abs(options.get("lat", 0) - latency) <= max(2, latency / 100), \
        "%s: latency %s us (limit), the model's limit %d gives %.0f us" % (where, options.get("lat"), want["limit"],
                                                                           latency)
