"""The firewall planner: parameters -> desired nft ruleset (pure, no root)."""

import json

import pytest

from ansible_collections.netwire.fabric.plugins.module_utils import _firewall as fw

NETS = [
    {"name": "dmz", "subnet": "10.1.0.0/24", "bridge": "nw-dmz", "zone": "dmz"},
    {"name": "app", "subnet": "10.2.0.0/24", "bridge": "nw-app", "zone": "app", "icc": False},
    {"name": "db", "subnet": "10.3.0.0/24", "bridge": "nw-db", "zone": "backend", "nat": False},
]
FLOWS = [{"from": "dmz", "to": "app"}, {"from": "app", "to": "backend"}]
PUBS = [{"name": "web", "network": "dmz", "host_port": 8080, "bind_address": "198.19.0.11",
         "container_address": "10.1.0.10", "container_port": 80}]


def plan(networks=None, flows=None, publications=None, table_name="netwire"):
    networks = NETS if networks is None else networks
    flows = FLOWS if flows is None else flows
    publications = PUBS if publications is None else publications
    return fw.plan_ruleset(fw.build_spec(networks, flows, publications, table_name))


def table(ruleset, family):
    return next(t for t in ruleset["tables"] if t["family"] == family)


def chain(ruleset, family, name):
    return next(c for c in table(ruleset, family)["chains"] if c["name"] == name)


def comments(ruleset, family, name):
    return [r.get("comment") for r in chain(ruleset, family, name)["rules"]]


def rendered_rules(ruleset, family, name):
    return [" ".join(fw.render_expr(e) for e in r["expr"]) for r in chain(ruleset, family, name)["rules"]]


def test_table_names_follow_table_name():
    assert fw.table_names("edge") == [("inet", "edge"), ("ip", "edge_nat"), ("bridge", "edge_icc")]
    assert [(t["family"], t["name"]) for t in plan(table_name="edge")["tables"]] == \
        [("bridge", "edge_icc"), ("inet", "edge"), ("ip", "edge_nat")]


def test_only_our_three_tables_and_bridge_table_only_when_icc_off():
    names = [(t["family"], t["name"]) for t in plan()["tables"]]
    assert names == [("bridge", "netwire_icc"), ("inet", "netwire"), ("ip", "netwire_nat")]
    all_icc = [dict(n, icc=True) for n in NETS]
    assert [t["family"] for t in plan(networks=all_icc)["tables"]] == ["inet", "ip"]


def test_forward_chain_is_stateful_and_ordered():
    rules = rendered_rules(plan(), "inet", "forward")
    assert rules[0] == "ct state established,related accept"
    assert rules[-1] == "ip saddr @subnets ip daddr @subnets drop"
    assert "ip saddr @zone_dmz ip daddr @zone_app accept" in rules
    assert "ip saddr @zone_app ip daddr @zone_backend accept" in rules
    # no flow dmz -> backend and none in the reverse directions
    assert "ip saddr @zone_dmz ip daddr @zone_backend accept" not in rules
    assert "ip saddr @zone_app ip daddr @zone_dmz accept" not in rules
    # accepts come before the drop
    assert all(r.endswith("accept") for r in rules[:-1])


def test_forward_chain_policy_accept_so_other_traffic_is_untouched():
    fwd = chain(plan(), "inet", "forward")
    assert (fwd["type"], fwd["hook"], fwd["prio"], fwd["policy"]) == ("filter", "forward", 0, "accept")
    for c in table(plan(), "ip")["chains"]:
        assert c["policy"] == "accept"


def test_sets_hold_our_subnets_and_zone_members():
    inet = table(plan(), "inet")
    sets = dict((s["name"], [fw._render_value(e) for e in s["elem"]]) for s in inet["sets"])
    assert sets == {"subnets": ["10.1.0.0/24", "10.2.0.0/24", "10.3.0.0/24"],
                    "zone_app": ["10.2.0.0/24"], "zone_backend": ["10.3.0.0/24"], "zone_dmz": ["10.1.0.0/24"]}
    nat_sets = table(plan(), "ip")["sets"]
    assert [s["name"] for s in nat_sets] == ["subnets"]


def test_zone_defaults_to_network_name_and_groups_networks():
    nets = [{"name": "a", "subnet": "10.1.0.0/24", "bridge": "a"},
            {"name": "b", "subnet": "10.2.0.0/24", "bridge": "b", "zone": "z"},
            {"name": "c", "subnet": "10.3.0.0/24", "bridge": "c", "zone": "z"}]
    rules = rendered_rules(plan(nets, [{"from": "a", "to": "z"}], []), "inet", "forward")
    assert "ip saddr @zone_z ip daddr @zone_z accept" in rules
    assert "ip saddr @zone_a ip daddr @zone_z accept" in rules
    sets = dict((s["name"], len(s["elem"])) for s in table(plan(nets, [], []), "inet")["sets"])
    assert sets == {"subnets": 3, "zone_a": 1, "zone_z": 2}


def test_masquerade_only_for_nat_networks_and_not_between_ours():
    rules = rendered_rules(plan(), "ip", "postrouting")
    assert 'ip saddr 10.1.0.0/24 oifname != "nw-dmz" ip daddr != @subnets masquerade' in rules
    assert 'ip saddr 10.2.0.0/24 oifname != "nw-app" ip daddr != @subnets masquerade' in rules
    assert not any(r.startswith("ip saddr 10.3.0.0/24") for r in rules)


def test_publication_dnat_in_prerouting_and_output_and_accept_in_forward():
    ruleset = plan()
    assert rendered_rules(ruleset, "ip", "prerouting") == \
        ["ip daddr 198.19.0.11 tcp dport 8080 dnat to 10.1.0.10:80"]
    assert rendered_rules(ruleset, "ip", "output") == \
        ["ip daddr 198.19.0.11 tcp dport 8080 dnat to 10.1.0.10:80"]
    assert "ip daddr 10.1.0.10 tcp dport 80 ct status dnat accept" in rendered_rules(ruleset, "inet", "forward")


def test_hairpin_masquerade_out_of_the_same_bridge_for_published_networks_only():
    rules = rendered_rules(plan(), "ip", "postrouting")
    assert rules[0] == 'oifname "nw-dmz" ip saddr 10.1.0.0/24 ct status dnat masquerade'
    assert not any('oifname "nw-app"' in r for r in rules)


def test_any_address_uses_fib_local_and_skips_loopback_in_output():
    pubs = [dict(PUBS[0], bind_address="0.0.0.0")]
    ruleset = plan(publications=pubs)
    assert rendered_rules(ruleset, "ip", "prerouting") == \
        ["fib daddr type local tcp dport 8080 dnat to 10.1.0.10:80"]
    assert rendered_rules(ruleset, "ip", "output") == \
        ["ip daddr != 127.0.0.0/8 fib daddr type local tcp dport 8080 dnat to 10.1.0.10:80"]


def test_default_bind_is_loopback_output_only_with_loopback_masquerade():
    pub = {"network": "dmz", "host_port": 5353, "proto": "udp", "container_address": "10.1.0.10"}
    ruleset = plan(publications=[pub])
    assert rendered_rules(ruleset, "ip", "prerouting") == []
    assert rendered_rules(ruleset, "ip", "output") == ["ip daddr 127.0.0.1 udp dport 5353 dnat to 10.1.0.10:5353"]
    assert "ip saddr 127.0.0.0/8 ct status dnat masquerade" in rendered_rules(ruleset, "ip", "postrouting")
    assert "ip saddr 127.0.0.0/8 ct status dnat masquerade" not in rendered_rules(plan(), "ip", "postrouting")


def test_icc_off_drops_bridged_traffic_of_that_subnet_only():
    br = chain(plan(), "bridge", "forward")
    assert (br["hook"], br["prio"], br["policy"]) == ("forward", -200, "accept")
    assert rendered_rules(plan(), "bridge", "forward") == ["ip saddr 10.2.0.0/24 ip daddr 10.2.0.0/24 drop"]


def test_rule_comments_explain_each_rule():
    assert comments(plan(), "inet", "forward") == [
        "replies and related traffic",
        "published tcp 198.19.0.11:8080 -> 10.1.0.10:80",
        "within zone dmz", "within zone app", "within zone backend",
        "flow dmz -> app", "flow app -> backend",
        "replies of flow dmz -> app routed here (tcp)", "replies of flow dmz -> app routed here (icmp)",
        "replies of flow app -> backend routed here (tcp)", "replies of flow app -> backend routed here (icmp)",
        "anything else between netwire networks"]


def test_replies_on_the_reverse_path_pass_but_cannot_open_connections():
    """Cross-host routing is asymmetric: the reply host never saw the request.

    Only segments that cannot open a TCP connection (anything but a bare SYN)
    and ICMP replies/errors pass from B back to A; a SYN or an echo request
    from B to A still meets the final drop.
    """
    rules = rendered_rules(plan(flows=[{"from": "dmz", "to": "app"}]), "inet", "forward")
    tcp = "ip saddr @zone_app ip daddr @zone_dmz tcp flags & (syn | ack) != syn accept"
    icmp = ("ip saddr @zone_app ip daddr @zone_dmz icmp type { destination-unreachable, echo-reply, "
            "parameter-problem, time-exceeded } accept")
    assert rules.index(tcp) < rules.index("ip saddr @subnets ip daddr @subnets drop")
    assert icmp in rules
    # nothing lets app open anything towards dmz: no rule app -> dmz without a reply-only condition
    assert [r for r in rules if r.startswith("ip saddr @zone_app ip daddr @zone_dmz")] == [tcp, icmp]


def test_plan_is_deterministic_and_independent_of_input_order():
    a = plan()
    b = plan(networks=list(NETS))
    assert a == b
    # reordering networks changes only rule order of per-network rules, never sets
    rev = plan(networks=list(reversed(NETS)))
    assert table(rev, "inet")["sets"] == table(a, "inet")["sets"]


def test_duplicate_flows_and_self_flows_collapse():
    flows = FLOWS + [{"from": "dmz", "to": "app"}, {"from": "dmz", "to": "dmz"}]
    assert plan(flows=flows) == plan()


def test_empty_model_still_owns_inet_and_nat_tables():
    ruleset = plan(networks=[], flows=[], publications=[])
    assert [t["family"] for t in ruleset["tables"]] == ["inet", "ip"]
    assert table(ruleset, "inet")["sets"][0]["elem"] == []


def test_transaction_adds_then_deletes_then_rebuilds_only_our_tables():
    desired = plan()
    batch = fw.transaction(desired, [("inet", "netwire")], fw.table_names())["nftables"]
    tables_touched = set()
    for cmd in batch:
        (verb, body), = cmd.items()
        (kind, obj), = body.items()
        key = (obj["family"], obj.get("table", obj.get("name")))
        tables_touched.add(key)
    assert tables_touched == {("inet", "netwire"), ("ip", "netwire_nat"), ("bridge", "netwire_icc")}
    heads = [(list(c)[0], list(list(c.values())[0])[0]) for c in batch[:3]]
    assert heads == [("add", "table"), ("delete", "table"), ("add", "table")]
    # every table is created before it is deleted, so the delete cannot fail
    for i, cmd in enumerate(batch):
        if "delete" in cmd:
            assert batch[i - 1] == {"add": cmd["delete"]}


def test_transaction_for_absent_deletes_existing_ours_only():
    batch = fw.transaction({"tables": []}, [("ip", "netwire_nat")], fw.table_names())["nftables"]
    assert batch == [{"add": {"table": {"family": "ip", "name": "netwire_nat"}}},
                     {"delete": {"table": {"family": "ip", "name": "netwire_nat"}}}]
    assert fw.transaction({"tables": []}, [], fw.table_names()) == {"nftables": []}


def test_transaction_is_valid_json_with_sets_before_rules():
    batch = fw.transaction(plan(), [], fw.table_names())["nftables"]
    json.dumps(batch)
    kinds = [list(list(c.values())[0])[0] for c in batch if "add" in c]
    inet = list(kinds)
    assert inet.index("set") < inet.index("rule")
    assert inet.index("chain") < inet.index("rule")


def test_render_is_nft_like_text():
    text = fw.render(plan())
    assert text.startswith("table bridge netwire_icc {\n\tchain forward {\n")
    assert "\ttype filter hook forward priority 0; policy accept;\n" in text
    assert '\t\tip daddr 198.19.0.11 tcp dport 8080 dnat to 10.1.0.10:80 comment ' \
           '"publish tcp 198.19.0.11:8080 -> 10.1.0.10:80"\n' in text
    assert "\t\telements = { 10.1.0.0/24, 10.2.0.0/24, 10.3.0.0/24 }\n" in text
    assert fw.render({"tables": []}) == ""


def test_nat_chains_render_in_hook_order():
    text = fw.render(plan())
    nat = text[text.index("table ip netwire_nat"):]
    assert nat.index("chain prerouting") < nat.index("chain output") < nat.index("chain postrouting")


def test_render_unknown_expression_falls_back_to_json():
    assert fw.render_expr({"counter": {"packets": 1, "bytes": 2}}) == '{"counter": {"bytes": 2, "packets": 1}}'
    assert fw.render_expr({"jump": {"target": "x"}}) == "jump x"


@pytest.mark.parametrize("n", [1, 5, 40])
def test_plan_scales_linearly(n):
    nets = [{"name": "n%d" % i, "subnet": "10.%d.0.0/24" % (i + 1), "bridge": "nw-n%d" % i,
             "icc": bool(i % 2)} for i in range(n)]
    ruleset = plan(networks=nets, flows=[], publications=[])
    fwd = chain(ruleset, "inet", "forward")["rules"]
    assert len(fwd) == n + 2


def test_icc_off_keeps_published_container_ports_reachable_from_siblings():
    nets = [dict(NETS[0], icc=False)] + NETS[1:]
    assert rendered_rules(plan(networks=nets), "bridge", "forward") == [
        "ip daddr 10.1.0.10 tcp dport 80 accept",
        "ip saddr 10.1.0.10 tcp sport 80 accept",
        "ip saddr 10.1.0.0/24 ip daddr 10.1.0.0/24 drop",
        "ip saddr 10.2.0.0/24 ip daddr 10.2.0.0/24 drop"]
