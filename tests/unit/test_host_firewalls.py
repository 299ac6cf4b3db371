"""The host's other firewalls: which forward chains drop our traffic, and what we add to DOCKER-USER."""

import pytest

from ansible_collections.netwire.fabric.plugins.module_utils._firewall import planner as fw
from ansible_collections.netwire.fabric.plugins.module_utils._firewall import host_firewalls as hf

OWNED = fw.table_names("netwire")
BRIDGES = [("dmz", "nw-dmz", "10.10.0.0/24"), ("app", "nw-app", "10.20.0.0/24")]


def _iface(key, name, op="=="):
    return {"match": {"op": op, "left": {"meta": {"key": key}}, "right": name}}


class Listing(object):
    def __init__(self):
        self.items = []
        self.handle = 100

    def table(self, family, name):
        self.items.append({"table": {"family": family, "name": name, "handle": 1}})
        return self

    def chain(self, family, table, name, hook=None, policy="accept", prio=0):
        chain = {"family": family, "table": table, "name": name, "handle": 2}
        if hook:
            chain.update({"type": "filter", "hook": hook, "prio": prio, "policy": policy})
        self.items.append({"chain": chain})
        return self

    def rule(self, family, table, chain, *expr, **kw):
        self.handle += 1
        rule = {"family": family, "table": table, "chain": chain, "handle": self.handle, "expr": list(expr)}
        if kw.get("comment"):
            rule["comment"] = kw["comment"]
        self.items.append({"rule": rule})
        return self

    def json(self):
        return {"nftables": [{"metainfo": {"version": "1.0.6"}}] + self.items}


def docker():
    """Docker 24's filter table, as ``nft -j list ruleset`` shows it (counters included)."""
    cnt = {"counter": {"packets": 0, "bytes": 0}}
    x = {"xt": {"type": "match", "name": "conntrack"}}
    lst = Listing().table("ip", "filter").chain("ip", "filter", "FORWARD", "forward", "drop")
    for name in ("DOCKER", "DOCKER-ISOLATION-STAGE-1", "DOCKER-ISOLATION-STAGE-2", "DOCKER-USER"):
        lst.chain("ip", "filter", name)
    lst.rule("ip", "filter", "FORWARD", cnt, {"jump": {"target": "DOCKER-USER"}})
    lst.rule("ip", "filter", "FORWARD", cnt, {"jump": {"target": "DOCKER-ISOLATION-STAGE-1"}})
    lst.rule("ip", "filter", "FORWARD", _iface("oifname", "docker0"), x, cnt, {"accept": None})
    lst.rule("ip", "filter", "FORWARD", _iface("oifname", "docker0"), cnt, {"jump": {"target": "DOCKER"}})
    lst.rule("ip", "filter", "FORWARD", _iface("iifname", "docker0"), _iface("oifname", "docker0", "!="), cnt,
             {"accept": None})
    lst.rule("ip", "filter", "DOCKER-ISOLATION-STAGE-1", _iface("iifname", "docker0"),
             _iface("oifname", "docker0", "!="), cnt, {"jump": {"target": "DOCKER-ISOLATION-STAGE-2"}})
    lst.rule("ip", "filter", "DOCKER-ISOLATION-STAGE-1", cnt, {"return": None})
    lst.rule("ip", "filter", "DOCKER-ISOLATION-STAGE-2", _iface("oifname", "docker0"), cnt, {"drop": None})
    lst.rule("ip", "filter", "DOCKER-ISOLATION-STAGE-2", cnt, {"return": None})
    lst.rule("ip", "filter", "DOCKER-USER", cnt, {"return": None})
    return lst


def test_no_other_firewall_nothing_to_do():
    lst = Listing().table("inet", "netwire").chain("inet", "netwire", "forward", "forward", "accept")
    plan = hf.plan(lst.json(), OWNED, BRIDGES, "netwire")
    assert plan["chain"] is None and plan["rules"] == [] and plan["current"] == []
    assert hf.changes(plan) == ([], [], [])


def test_our_own_table_is_never_judged():
    lst = Listing().table("inet", "netwire").chain("inet", "netwire", "forward", "forward", "drop")
    assert hf.plan(lst.json(), OWNED, BRIDGES, "netwire")["chain"] is None


def test_docker_drop_gets_our_rules_in_docker_user():
    plan = hf.plan(docker().json(), OWNED, BRIDGES, "netwire")
    assert plan["chain"] == ("ip", "filter", "DOCKER-USER")
    assert [r["comment"] for r in plan["rules"]] == [
        "netwire:netwire:from app", "netwire:netwire:to app",
        "netwire:netwire:from dmz", "netwire:netwire:to dmz"]
    assert plan["rules"][0]["expr"] == [
        {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}},
                   "right": {"prefix": {"addr": "10.20.0.0", "len": 24}}}}, {"accept": None}]
    before, after, cmds = hf.changes(plan)
    assert before == [] and len(after) == 4
    # inserted in reverse, so that the chain lists them in plan order, before Docker's RETURN
    assert [c["insert"]["rule"]["comment"] for c in cmds] == [r["comment"] for r in reversed(plan["rules"])]
    assert all(c["insert"]["rule"]["chain"] == "DOCKER-USER" for c in cmds)


def _with_ours(lst, rules, comment_prefix=""):
    for rule in rules:
        lst.rule("ip", "filter", "DOCKER-USER", *rule["expr"], comment=comment_prefix + rule["comment"])
    # our rules are listed before Docker's RETURN: move that one last
    user = [i for i in lst.items if "rule" in i and i["rule"]["chain"] == "DOCKER-USER"]
    ret = user[0]
    lst.items.remove(ret)
    lst.items.append(ret)
    return lst


def test_converged_docker_changes_nothing():
    wanted = hf.plan(docker().json(), OWNED, BRIDGES, "netwire")["rules"]
    lst = _with_ours(docker(), wanted)
    plan = hf.plan(lst.json(), OWNED, BRIDGES, "netwire")
    assert hf.changes(plan)[2] == []


def test_a_changed_bridge_set_replaces_our_rules_by_handle():
    wanted = hf.plan(docker().json(), OWNED, BRIDGES, "netwire")["rules"]
    lst = _with_ours(docker(), wanted)
    plan = hf.plan(lst.json(), OWNED, BRIDGES[:1], "netwire")
    before, after, cmds = hf.changes(plan)
    assert len(before) == 4 and len(after) == 2
    assert len([c for c in cmds if "delete" in c]) == 4 and len([c for c in cmds if "insert" in c]) == 2
    assert all("handle" in c["delete"]["rule"] for c in cmds if "delete" in c)


def test_absent_removes_only_our_rules_and_not_another_table_names():
    wanted = hf.plan(docker().json(), OWNED, BRIDGES, "netwire")["rules"]
    lst = _with_ours(docker(), wanted)
    # another user of the collection (table_name netwire2) and an admin rule stay
    lst.rule("ip", "filter", "DOCKER-USER", _iface("iifname", "nw-x"), {"accept": None},
             comment="netwire:netwire2:in nw-x")
    lst.rule("ip", "filter", "DOCKER-USER", _iface("iifname", "eth9"), {"drop": None}, comment="admin")
    before, after, cmds = hf.changes(hf.plan(lst.json(), OWNED, [], "netwire"))
    assert after == [] and len(before) == 4
    assert len(cmds) == 4 and all("delete" in c for c in cmds)


def test_plain_forward_drop_fails_naming_the_chain():
    lst = Listing().table("inet", "guard").chain("inet", "guard", "fw", "forward", "drop", prio=10)
    with pytest.raises(hf.HostFirewallError) as err:
        hf.plan(lst.json(), OWNED, BRIDGES, "netwire")
    msg = str(err.value)
    assert "chain fw of table inet guard" in msg and "policy drop" in msg and "from network app (10.20.0.0/24, bridge nw-app)" in msg, msg


def test_final_reject_rule_counts_as_a_drop():
    lst = Listing().table("inet", "firewalld").chain("inet", "firewalld", "filter_FORWARD", "forward", "accept")
    lst.rule("inet", "firewalld", "filter_FORWARD", {"match": {"op": "in", "left": {"ct": {"key": "state"}},
                                                               "right": ["established", "related"]}},
             {"accept": None})
    lst.rule("inet", "firewalld", "filter_FORWARD", {"reject": {"type": "icmpx", "expr": "admin-prohibited"}})
    with pytest.raises(hf.HostFirewallError) as err:
        hf.plan(lst.json(), OWNED, BRIDGES, "netwire")
    assert "firewalld" in str(err.value) and "firewall-cmd" in str(err.value)


def test_an_accept_of_the_subnets_is_enough():
    lst = Listing().table("ip", "filter").chain("ip", "filter", "FORWARD", "forward", "drop")
    lst.rule("ip", "filter", "FORWARD", {"match": {"op": "==", "left": {"payload": {"protocol": "ip",
                                                                                    "field": "saddr"}},
                                                   "right": {"prefix": {"addr": "10.0.0.0", "len": 8}}}},
             {"accept": None})
    lst.rule("ip", "filter", "FORWARD", {"match": {"op": "==", "left": {"payload": {"protocol": "ip",
                                                                                    "field": "daddr"}},
                                                   "right": {"set": ["10.10.0.0/24", "10.20.0.0/24"]}}},
             {"accept": None})
    assert hf.plan(lst.json(), OWNED, BRIDGES, "netwire")["chain"] is None


def test_the_admins_own_accept_is_enough():
    lst = Listing().table("inet", "guard").chain("inet", "guard", "fw", "forward", "drop")
    lst.chain("inet", "guard", "ours")
    lst.rule("inet", "guard", "fw", {"counter": None}, {"jump": {"target": "ours"}})
    lst.rule("inet", "guard", "ours", _iface("iifname", {"set": ["nw-app", "nw-dmz"]}), {"accept": None})
    lst.rule("inet", "guard", "ours", _iface("oifname", "nw-*"), {"accept": None})
    assert hf.plan(lst.json(), OWNED, BRIDGES, "netwire")["chain"] is None


def test_a_conditional_accept_is_not_enough():
    lst = Listing().table("inet", "guard").chain("inet", "guard", "fw", "forward", "drop")
    lst.rule("inet", "guard", "fw", _iface("iifname", "nw-app"),
             {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 80}},
             {"accept": None})
    with pytest.raises(hf.HostFirewallError):
        hf.plan(lst.json(), OWNED, BRIDGES[1:], "netwire")


def test_docker_user_that_drops_first_cannot_be_integrated():
    lst = docker()
    # an admin rule dropping everything at the top of FORWARD, before DOCKER-USER
    lst.items.insert(6, {"rule": {"family": "ip", "table": "filter", "chain": "FORWARD", "handle": 1,
                                  "expr": [{"drop": None}]}})
    with pytest.raises(hf.HostFirewallError) as err:
        hf.plan(lst.json(), OWNED, BRIDGES, "netwire")
    assert "chain FORWARD of table ip filter" in str(err.value)


def test_report_for_net_info():
    wanted = hf.plan(docker().json(), OWNED, BRIDGES, "netwire")["rules"]
    facts = hf.report(_with_ours(docker(), wanted).json(), OWNED, BRIDGES, "netwire")
    assert len(facts) == 1
    f = facts[0]
    assert (f["kind"], f["policy"], f["integration"], f["passes_netwire_traffic"]) == (
        "docker", "drop", "DOCKER-USER", True)
    assert f["drops_netwire_traffic"] == ["from app", "from dmz", "to app", "to dmz"]
    assert len(f["netwire_rules"]) == 4
    bare = hf.report(docker().json(), OWNED, BRIDGES, "netwire")[0]
    assert bare["passes_netwire_traffic"] is False and bare["netwire_rules"] == []
