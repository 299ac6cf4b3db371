"""container_attach's rules and qdisc (issue 19): normalizers, readers, planners, the manager with fakes."""

import socket

import pytest

from tests.unit.linux_fakes import FakeSession, link
from tests.unit.test_linux_attach import NS, Manager, bridge, paired, params

from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.module_utils._errors import InvalidParameter, NotOwned
from ansible_collections.netwire.fabric.plugins.module_utils._host import attach as at
from ansible_collections.netwire.fabric.plugins.module_utils._linux import policy
from ansible_collections.netwire.fabric.plugins.module_utils._linux.linkops import Plan

RULE = {"priority": 1000, "from": "10.1.0.5/32", "table": 100}
TBF = {"rate": "10mbit", "burst": "32kb", "limit": "64kb"}
WANT_TBF = {"kind": "tbf", "rate": 10000000, "burst": 32768, "limit": 65536}


# ---------------------------------------------------------------- parameters

@pytest.mark.parametrize("value,units,default,want", [
    ("10mbit", policy.RATE_UNITS, "bit", 10 ** 7), ("1.5kbit", policy.RATE_UNITS, "bit", 1500),
    (8000, policy.RATE_UNITS, "bit", 8000), ("1mbps", policy.RATE_UNITS, "bit", 8 * 10 ** 6),
    ("32kb", policy.SIZE_UNITS, "b", 32768), ("2m", policy.SIZE_UNITS, "b", 2 * 1024 ** 2),
    ("1500", policy.SIZE_UNITS, "b", 1500), ("50ms", policy.TIME_UNITS, "us", 50000),
])
def test_quantities_with_tc_units(value, units, default, want):
    assert policy.quantity(value, units, default, "x") == want


@pytest.mark.parametrize("value", ["fast", "10 furlongs", "-1mbit", "0", True, None, "0.3bit"])
def test_bad_quantities_are_refused(value):
    with pytest.raises(InvalidParameter):
        policy.quantity(value, policy.RATE_UNITS, "bit", "qdisc rate")


def test_a_rule_in_normal_form():
    assert policy.normalize_rules([dict(RULE, fwmark=5, iif="eth1")]) == [
        {"family": "ipv4", "priority": 1000, "from": "10.1.0.5/32", "to": None, "iif": "eth1", "fwmark": 5,
         "table": 100}]
    six, = policy.normalize_rules([{"priority": 5, "to": "fd00::/64", "table": 7}])
    assert six["family"] == "ipv6" and six["to"] == "fd00::/64"
    assert policy.normalize_rules(None) is None and policy.normalize_rules([]) == []


@pytest.mark.parametrize("rules,fragment", [
    ([{"from": "10.0.0.0/8", "table": 1}], "needs a priority"),
    ([dict(RULE, priority=32766)], "kernel's own rule"),
    ([dict(RULE, priority=0)], "out of range"),
    ([dict(RULE, table=None)], "needs a table"),
    ([dict(RULE, table=255)], "local table"),
    ([dict(RULE, to="fd00::/64")], "mixes IPv4 and IPv6"),
    ([dict(RULE, family="ipv6")], "does not match"),
    ([dict(RULE, family="ipx")], "not one of ipv4, ipv6"),
    ([dict(RULE, **{"from": "10.1.0.5/24"})], "not a valid network"),
    ([RULE, dict(RULE, table=7)], "rules[0] and rules[1] both have priority 1000"),
    ([dict(RULE, iif="x" * 16)], "longer than 15"),
])
def test_bad_rules_are_refused(rules, fragment):
    with pytest.raises(InvalidParameter, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        policy.normalize_rules(rules)


def test_one_rule_per_priority_and_family():
    assert len(policy.normalize_rules([RULE, {"priority": 1000, "to": "fd00::/64", "table": 7}])) == 2


def test_a_qdisc_in_normal_form():
    assert policy.normalize_qdisc(TBF) == WANT_TBF
    # latency as tc computes the limit: the bytes that wait at most that long, plus the burst
    assert policy.normalize_qdisc({"rate": "8mbit", "burst": 2000, "latency": "10ms"})["limit"] == 12000
    assert policy.normalize_qdisc(None) is None


@pytest.mark.parametrize("qdisc,fragment", [
    (dict(TBF, kind="netem"), "not supported"),
    ({"rate": "1mbit", "limit": 100}, "needs burst"),
    (dict(TBF, latency="50ms"), "exactly one of limit and latency"),
    ({"rate": "1mbit", "burst": "32kb"}, "exactly one of limit and latency"),
    (dict(TBF, rate="1001bit"), "whole number of bytes"),
    (dict(TBF, rate="40gbit"), "above"),
    ("tbf", "must be a dict"),
])
def test_bad_qdiscs_are_refused(qdisc, fragment):
    with pytest.raises(InvalidParameter, match=fragment):
        policy.normalize_qdisc(qdisc)


def test_a_burst_below_a_full_frame_is_refused():
    policy.check_qdisc_fits(dict(WANT_TBF, burst=1514), 1500)
    with pytest.raises(InvalidParameter, match="smaller than a full frame"):
        policy.check_qdisc_fits(dict(WANT_TBF, burst=1513), 1500)


def test_routes_may_name_a_table_and_then_be_a_default_route():
    p = at.normalize_params(params(addresses=["10.1.0.5/24"], routes=[
        {"dest": "0.0.0.0/0", "via": "10.1.0.1", "table": 100}, {"dest": "10.9.0.0/16", "via": "10.1.0.1",
                                                                 "table": 254}]))
    assert p["routes"] == [{"dest": "0.0.0.0/0", "via": "10.1.0.1", "table": 100},
                           {"dest": "10.9.0.0/16", "via": "10.1.0.1"}]
    with pytest.raises(InvalidParameter, match="local table"):
        at.normalize_params(params(routes=[{"dest": "10.9.0.0/16", "table": 255}]))
    with pytest.raises(InvalidParameter, match="a route with a table"):
        at.normalize_params(params(routes=[{"dest": "0.0.0.0/0", "via": "10.1.0.1"}]))


# ---------------------------------------------------------------- reading

def raw_rule(priority=1000, src="10.1.0.5/32", table=100, protocol=110, **kw):
    r = {"family": socket.AF_INET, "priority": priority, "from": src, "to": None, "iif": None, "oif": None,
         "fwmark": None, "fwmask": None, "table": table, "action": 1, "protocol": protocol, "tos": 0, "goto": None,
         "suppress_prefixlength": 0xFFFFFFFF}
    r.update(kw)
    return r


def test_rules_read_back_ours_only_and_say_what_the_form_cannot():
    ctx = FakeSession(rules={NS.path: [raw_rule(), raw_rule(protocol=3), raw_rule(priority=7, goto=9)]})
    views = [view for view, _raw in policy.read_rules(ctx, NS.path)]
    assert views == [dict(policy.normalize_rules([{"priority": 7, "from": "10.1.0.5/32", "table": 100}])[0],
                          unmodeled="goto 9"), policy.normalize_rules([RULE])[0]]


def raw_qdisc(handle=_names.QDISC_HANDLE, kind="tbf", index=2, **options):
    return {"index": index, "handle": handle, "parent": policy.TC_H_ROOT, "kind": kind, "options": options}


def test_our_root_qdisc_reads_back_with_its_burst_and_another_is_foreign():
    ticks = policy._ticks(1250000, 32768)
    ctx = FakeSession(qdiscs={NS.path: [raw_qdisc(rate=1250000, limit=65536, buffer=ticks)]})
    assert policy.read_root_qdisc(ctx, 2, NS.path, WANT_TBF) == (WANT_TBF, None)
    # without the wanted value, or with another burst, the nearest byte count
    ours = policy.read_root_qdisc(ctx, 2, NS.path, dict(WANT_TBF, burst=40000))[0]
    assert abs(ours["burst"] - 32768) < 4
    ctx = FakeSession(qdiscs={NS.path: [raw_qdisc(handle=0x10000, kind="tbf")]})
    assert policy.read_root_qdisc(ctx, 2, NS.path) == (None, ("tbf", "1:"))
    ctx = FakeSession(qdiscs={NS.path: [raw_qdisc(handle=0, kind="noqueue")]})
    assert policy.read_root_qdisc(ctx, 2, NS.path) == (None, None)


# ---------------------------------------------------------------- planning

def test_new_rules_go_in_before_the_old_ones_go():
    ctx = FakeSession(rules={NS.path: [raw_rule(table=99)]})
    plan = Plan(ctx)
    policy.plan_rules(plan, ctx, NS.path, policy.read_rules(ctx, NS.path), policy.normalize_rules([RULE]), "c1")
    assert plan.actions == ["add ipv4 rule 1000: from 10.1.0.5/32 lookup 100 in c1",
                            "remove ipv4 rule 1000: from 10.1.0.5/32 lookup 99 in c1"]
    plan.apply()
    (add, verb, added), (delete, unverb, deleted) = ctx.calls
    assert (verb, unverb) == (("add",), ("del",))
    assert add == "rule" and added["protocol"] == 110 and added["src_len"] == 32 and added["table"] == 100
    assert delete == "rule" and deleted["protocol"] == 110 and deleted["table"] == 99
    plan = Plan(ctx)
    policy.plan_rules(plan, ctx, NS.path, policy.read_rules(ctx, NS.path), None, "c1")
    assert plan.actions == [], "rules: None leaves them alone"


def test_a_changed_qdisc_is_replaced_in_place_and_a_foreign_one_refused():
    ctx = FakeSession()
    plan = Plan(ctx)
    policy.plan_qdisc(plan, ctx, "eth1", 2, NS.path, dict(WANT_TBF, rate=20000000), None, WANT_TBF)
    assert plan.actions == ["change qdisc tbf rate 10000000bit burst 32768b limit 65536b on eth1"]
    plan.apply()
    (method, args, kwargs), = ctx.calls
    assert (method, args[0], args[1:]) == ("tc", "replace", ("tbf", 2, _names.QDISC_HANDLE))
    assert kwargs["rate"] == 1250000 and kwargs["burst"] == 32768 and kwargs["limit"] == 65536
    plan = Plan(ctx)
    policy.plan_qdisc(plan, ctx, "eth1", 2, NS.path, WANT_TBF, None, WANT_TBF)
    assert plan.actions == []
    with pytest.raises(NotOwned, match="netwire did not create"):
        policy.plan_qdisc(Plan(ctx), ctx, "eth1", 2, NS.path, None, ("tbf", "1:"), WANT_TBF)
    plan = Plan(ctx)
    policy.plan_qdisc(plan, ctx, "eth1", 2, NS.path, None, ("tbf", "1:"), None)
    assert plan.actions == [], "a foreign qdisc is not ours to remove"


# ---------------------------------------------------------------- the manager

def converged(rules=(), qdiscs=(), extra_links=()):
    host, peer = paired()
    return FakeSession([bridge(), host], namespaces={NS.path: [link(1, "lo"), peer] + list(extra_links)},
                       addresses={(NS.path, 2): ["10.1.0.5/24"]}, rules={NS.path: list(rules)},
                       qdiscs={NS.path: list(qdiscs)},
                       routes={NS.path: [{"dst": "10.9.0.0/16", "gateway": "10.1.0.1", "oif": 2, "proto": 110,
                                          "table": 100, "priority": None}]})


WANT = dict(addresses=["10.1.0.5/24"], routes=[{"dest": "10.9.0.0/16", "via": "10.1.0.1", "table": 100}])


def test_rules_and_qdisc_converged_are_not_changed():
    ctx = converged([raw_rule()], [raw_qdisc(rate=1250000, limit=65536, buffer=policy._ticks(1250000, 32768))])
    res = Manager(ctx, params(rules=[RULE], qdisc=TBF, **WANT)).run()
    assert not res["changed"], res["actions"]


def test_rules_and_qdisc_are_planned_after_the_routes_of_their_table():
    ctx = FakeSession([bridge()], check_mode=True, namespaces={NS.path: [link(1, "lo")]})
    res = Manager(ctx, params(rules=[RULE], qdisc=TBF, **WANT)).run()
    names = [a.split(" ")[0] + " " + a.split(" ")[1] for a in res["actions"]]
    assert names.index("add route") < names.index("set qdisc") < names.index("add ipv4")
    assert res["attachment"]["rules"] == policy.normalize_rules([RULE]) and res["attachment"]["qdisc"] == WANT_TBF
    assert ctx.calls == []


def test_a_burst_that_cannot_hold_a_frame_of_the_bridge_fails_before_anything():
    ctx = FakeSession([bridge(mtu=1500)], namespaces={NS.path: [link(1, "lo")]})
    with pytest.raises(InvalidParameter, match="smaller than a full frame"):
        Manager(ctx, params(qdisc=dict(TBF, burst=1000), **WANT)).run()
    assert ctx.calls == []


def test_qdisc_omitted_removes_ours_and_rules_omitted_leave_them():
    ctx = converged([raw_rule()], [raw_qdisc(rate=1250000, limit=65536, buffer=1)])
    res = Manager(ctx, params(**WANT)).run()
    assert res["actions"] == ["remove qdisc tbf from eth1"]


class Absent(at.ContainerAttachManager):
    def run(self):
        self.params = at.normalize_params(self.raw_params)
        self.plan_absent()
        return self.plan.actions


def test_absent_removes_our_rules_with_the_last_attachment_only(monkeypatch):
    monkeypatch.setattr(at, "resolve", lambda ref, kind: NS)
    ctx = converged([raw_rule(), raw_rule(protocol=3)])
    ctx.check_mode = True
    actions = Absent(ctx, params(state="absent")).run()
    assert actions[-1] == "remove ipv4 rule 1000: from 10.1.0.5/32 lookup 100 in c1 (its last attachment goes)"
    other = link(3, "eth2", kind="veth", alias=at.attach_alias("netns:c1", "eth2"))
    ctx = converged([raw_rule()], extra_links=[other])
    ctx.check_mode = True
    assert not [a for a in Absent(ctx, params(state="absent")).run() if "rule" in a]


def test_host_network_purge_removes_our_rules_with_the_last_attachment(monkeypatch):
    monkeypatch.setattr("ansible_collections.netwire.fabric.plugins.module_utils._linux.netns.resolve",
                        lambda ref, kind: NS)
    monkeypatch.setattr(type(NS), "inode", lambda self: 42)
    ctx = converged([raw_rule(), raw_rule(protocol=3)])
    assert policy.rules_after_removal(ctx, at.attach_alias("netns:c1", "eth1"), check_mode=True) == [
        "remove ipv4 rule 1000: from 10.1.0.5/32 lookup 100 in netns:c1 (its last attachment went)"]
    assert ctx.calls == []
    policy.rules_after_removal(ctx, at.attach_alias("netns:c1", "eth1"))
    (method, args, kwargs), = ctx.calls
    assert method == "rule" and args == ("del",) and kwargs["protocol"] == 110
    assert policy.rules_after_removal(ctx, "netwire:bridge") == []
