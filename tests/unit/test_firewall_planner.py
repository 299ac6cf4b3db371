"""The firewall planner: parameters -> desired nft ruleset (pure, no root)."""

import json

import pytest

from ansible_collections.netwire.fabric.plugins.module_utils._firewall import planner as fw


from ansible_collections.netwire.fabric.plugins.module_utils._firewall import ruleset as rs
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
    return [" ".join(rs.render_expr(e) for e in r["expr"]) for r in chain(ruleset, family, name)["rules"]]


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
    # strict reverse-path check of routed traffic from each bridge comes first
    assert rules[:3] == ['iifname "%s" oifname != "%s" fib saddr . iif oif missing drop' % (b, b)
                         for b in ("nw-dmz", "nw-app", "nw-db")]
    assert rules[3] == "ct state established,related accept"
    assert rules[-2:] == ["iifname @bridges ip daddr @subnets drop", "ip saddr @subnets ip daddr @subnets drop"]
    # zone flows are keyed on the ingress bridge, and on the source
    assert "iifname @bridges_dmz ip saddr @zone_dmz ip daddr @zone_app accept" in rules
    assert "iifname @bridges_app ip saddr @zone_app ip daddr @zone_backend accept" in rules
    # no flow dmz -> backend and none in the reverse directions
    assert not any("@bridges_dmz" in r and "daddr @zone_backend" in r for r in rules)
    assert not any(r.startswith("iifname @bridges_app ip saddr @zone_app ip daddr @zone_dmz accept") for r in rules)
    # accepts come before the drops
    assert all(r.endswith("accept") for r in rules[3:-2])


def test_forward_chain_policy_accept_so_other_traffic_is_untouched():
    fwd = chain(plan(), "inet", "forward")
    assert (fwd["type"], fwd["hook"], fwd["prio"], fwd["policy"]) == ("filter", "forward", 0, "accept")
    for c in table(plan(), "ip")["chains"]:
        assert c["policy"] == "accept"


def test_sets_hold_our_subnets_and_zone_members():
    inet = table(plan(), "inet")
    sets = dict((s["name"], [rs._render_value(e) for e in s["elem"]]) for s in inet["sets"])
    assert sets == {"subnets": ["10.1.0.0/24", "10.2.0.0/24", "10.3.0.0/24"],
                    "zone_app": ["10.2.0.0/24"], "zone_backend": ["10.3.0.0/24"], "zone_dmz": ["10.1.0.0/24"],
                    "bridges": ["nw-app", "nw-db", "nw-dmz"], "bridges_app": ["nw-app"],
                    "bridges_backend": ["nw-db"], "bridges_dmz": ["nw-dmz"]}
    nat_sets = table(plan(), "ip")["sets"]
    assert [s["name"] for s in nat_sets] == ["subnets"]


def test_zone_defaults_to_network_name_and_groups_networks():
    nets = [{"name": "a", "subnet": "10.1.0.0/24", "bridge": "a"},
            {"name": "b", "subnet": "10.2.0.0/24", "bridge": "b", "zone": "z"},
            {"name": "c", "subnet": "10.3.0.0/24", "bridge": "c", "zone": "z"}]
    rules = rendered_rules(plan(nets, [{"from": "a", "to": "z"}], []), "inet", "forward")
    assert "iifname @bridges_z ip daddr @zone_z accept" in rules
    assert "iifname @bridges_a ip saddr @zone_a ip daddr @zone_z accept" in rules
    sets = dict((s["name"], len(s["elem"])) for s in table(plan(nets, [], []), "inet")["sets"])
    assert sets == {"subnets": 3, "zone_a": 1, "zone_z": 2, "bridges": 3, "bridges_a": 1, "bridges_z": 2}


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
        "spoofed source from dmz", "spoofed source from app", "spoofed source from db",
        "replies and related traffic",
        "published tcp 198.19.0.11:8080 -> 10.1.0.10:80",
        "within zone dmz", "within zone app", "within zone backend",
        "flow dmz -> app", "flow app -> backend",
        "replies of flow dmz -> app routed here (tcp)", "replies of flow dmz -> app routed here (icmp)",
        "replies of flow app -> backend routed here (tcp)", "replies of flow app -> backend routed here (icmp)",
        "anything else from containers to netwire networks", "anything else between netwire networks"]


def test_replies_on_the_reverse_path_pass_but_cannot_open_connections():
    """Cross-host routing is asymmetric: the reply host never saw the request.

    Only segments that cannot open a TCP connection (anything but a bare SYN)
    and ICMP replies/errors pass from B back to A; a SYN or an echo request
    from B to A still meets the final drop.
    """
    rules = rendered_rules(plan(flows=[{"from": "dmz", "to": "app"}]), "inet", "forward")
    head = "iifname @bridges_app ip saddr @zone_app ip daddr @zone_dmz"
    tcp = head + " tcp flags & (syn | ack) != syn accept"
    icmp = head + (" icmp type { destination-unreachable, echo-reply, "
                   "parameter-problem, time-exceeded } accept")
    assert rules.index(tcp) < rules.index("iifname @bridges ip daddr @subnets drop")
    assert icmp in rules
    # nothing lets app open anything towards dmz: no rule app -> dmz without a reply-only condition
    assert [r for r in rules if r.startswith(head)] == [tcp, icmp]


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
    batch = rs.transaction(desired, [("inet", "netwire")], fw.table_names())["nftables"]
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
    batch = rs.transaction({"tables": []}, [("ip", "netwire_nat")], fw.table_names())["nftables"]
    assert batch == [{"add": {"table": {"family": "ip", "name": "netwire_nat"}}},
                     {"delete": {"table": {"family": "ip", "name": "netwire_nat"}}}]
    assert rs.transaction({"tables": []}, [], fw.table_names()) == {"nftables": []}


def test_transaction_is_valid_json_with_sets_before_rules():
    batch = rs.transaction(plan(), [], fw.table_names())["nftables"]
    json.dumps(batch)
    kinds = [list(list(c.values())[0])[0] for c in batch if "add" in c]
    inet = list(kinds)
    assert inet.index("set") < inet.index("rule")
    assert inet.index("chain") < inet.index("rule")


def test_render_is_nft_like_text():
    text = rs.render(plan())
    assert text.startswith("table bridge netwire_icc {\n\tchain forward {\n")
    assert "\ttype filter hook forward priority 0; policy accept;\n" in text
    assert '\t\tip daddr 198.19.0.11 tcp dport 8080 dnat to 10.1.0.10:80 comment ' \
           '"publish tcp 198.19.0.11:8080 -> 10.1.0.10:80"\n' in text
    assert "\t\telements = { 10.1.0.0/24, 10.2.0.0/24, 10.3.0.0/24 }\n" in text
    assert rs.render({"tables": []}) == ""


def test_nat_chains_render_in_hook_order():
    text = rs.render(plan())
    nat = text[text.index("table ip netwire_nat"):]
    assert nat.index("chain prerouting") < nat.index("chain output") < nat.index("chain postrouting")


def test_render_unknown_expression_falls_back_to_json():
    assert rs.render_expr({"counter": {"packets": 1, "bytes": 2}}) == '{"counter": {"bytes": 2, "packets": 1}}'
    assert rs.render_expr({"jump": {"target": "x"}}) == "jump x"


@pytest.mark.parametrize("n", [1, 5, 40])
def test_plan_scales_linearly(n):
    nets = [{"name": "n%d" % i, "subnet": "10.%d.0.0/24" % (i + 1), "bridge": "nw-n%d" % i,
             "icc": bool(i % 2)} for i in range(n)]
    ruleset = plan(networks=nets, flows=[], publications=[])
    fwd = chain(ruleset, "inet", "forward")["rules"]
    # per network: its zone and its reverse-path check; plus established, and two final drops
    assert len(fwd) == 2 * n + 3
    assert len(chain(ruleset, "inet", "input")["rules"]) == n + 4


def test_icc_off_keeps_published_container_ports_reachable_from_siblings():
    nets = [dict(NETS[0], icc=False)] + NETS[1:]
    assert rendered_rules(plan(networks=nets), "bridge", "forward") == [
        "ip daddr 10.1.0.10 tcp dport 80 accept",
        "ip saddr 10.1.0.10 tcp sport 80 accept",
        "ip saddr 10.1.0.0/24 ip daddr 10.1.0.0/24 drop",
        "ip saddr 10.2.0.0/24 ip daddr 10.2.0.0/24 drop"]


# --------------------------------------------------------------------------- hostile containers

TUNNELS = [{"network": "app", "type": "vxlan", "port": 8472, "local_address": "198.19.0.12", "device": "nwu-eth1",
            "peers": ["198.19.0.13", "198.19.0.11"]},
           {"network": "backend", "type": "vxlan", "local_address": "198.19.0.12", "device": "nwu-eth1",
            "peers": ["198.19.0.13"]},
           {"network": "dmz", "type": "gre", "local_address": "198.19.0.12", "device": "nwu-eth1",
            "peers": ["198.19.0.11"]}]
HOSTS = ["198.19.0.11", "198.19.0.12", "198.19.0.13", "198.18.0.11"]
SERVICES = [{"address": "198.19.0.11", "proto": "tcp", "port": 8080}]


def hostile_plan(**kw):
    args = dict(tunnels=TUNNELS, host_addresses=HOSTS, host_services=SERVICES)
    args.update(kw)
    return fw.plan_ruleset(fw.build_spec(NETS, FLOWS, PUBS, "netwire", **args))


def test_tunnel_endpoints_accept_only_peers_on_the_underlay_device_and_local_address():
    rules = rendered_rules(hostile_plan(), "inet", "input")
    assert rules[:6] == [
        'iifname "nwu-eth1" ip daddr 198.19.0.12 ip saddr @peers_udp_8472 udp dport 8472 accept',
        "udp dport 8472 drop",
        'iifname "nwu-eth1" ip daddr 198.19.0.12 ip saddr @peers_udp_4789 udp dport 4789 accept',
        "udp dport 4789 drop",
        'iifname "nwu-eth1" ip daddr 198.19.0.12 ip saddr @peers_gre ip protocol gre accept',
        "ip protocol gre drop"]
    sets = dict((s["name"], s["elem"]) for s in table(hostile_plan(), "inet")["sets"])
    assert sets["peers_udp_8472"] == ["198.19.0.11", "198.19.0.13"]
    assert sets["peers_udp_4789"] == ["198.19.0.13"]
    assert sets["peers_gre"] == ["198.19.0.11"]


def test_tunnels_without_a_device_still_check_peers_and_address():
    tunnels = [dict(TUNNELS[0], device=None)]
    assert rendered_rules(hostile_plan(tunnels=tunnels), "inet", "input")[0] == \
        "ip daddr 198.19.0.12 ip saddr @peers_udp_8472 udp dport 8472 accept"


def test_containers_reach_the_host_only_for_icmp_to_their_gateway():
    rules = rendered_rules(hostile_plan(), "inet", "input")[6:]
    assert rules == [
        'iifname "nw-dmz" fib saddr . iif oif missing drop',
        'iifname "nw-app" fib saddr . iif oif missing drop',
        'iifname "nw-db" fib saddr . iif oif missing drop',
        "iifname @bridges ct state established,related accept",
        "iifname @bridges icmp type { destination-unreachable, echo-request, "
        "parameter-problem, time-exceeded } accept",
        "iifname @bridges jump services",
        "iifname @bridges drop"]
    services = chain(hostile_plan(), "inet", "services")
    assert services["rules"] == [] and "hook" not in services


def test_containers_reach_fabric_hosts_only_on_published_ports():
    rules = rendered_rules(hostile_plan(), "inet", "forward")
    allow = "iifname @bridges ip daddr 198.19.0.11 tcp dport 8080 accept"
    deny = "iifname @bridges ip daddr @hosts drop"
    assert rules.index("ct state established,related accept") < rules.index(allow) < rules.index(deny)
    # before any zone or publication accept
    assert rules.index(deny) < min(i for i, r in enumerate(rules) if "zone" in r or "dnat" in r)
    hosts = [s for s in table(hostile_plan(), "inet")["sets"] if s["name"] == "hosts"][0]
    assert hosts["elem"] == ["198.18.0.11", "198.19.0.11", "198.19.0.12", "198.19.0.13"]


def test_no_host_rules_without_host_addresses():
    rules = rendered_rules(plan(), "inet", "forward")
    assert not any("@hosts" in r for r in rules)
    assert "hosts" not in [s["name"] for s in table(plan(), "inet")["sets"]]


@pytest.mark.parametrize("kw, message", [
    ({"tunnels": [dict(TUNNELS[0], type="ipip")]}, "Failed to plan firewall tunnel 'app': type must be one of"),
    ({"tunnels": [dict(TUNNELS[0], local_address=None)]}, "Failed to plan firewall tunnel 'app': local_address"),
    ({"tunnels": [dict(TUNNELS[0], peers=["nope"])]}, "Failed to plan firewall tunnel 'app': peer 'nope'"),
    ({"tunnels": [dict(TUNNELS[0], port=0)]}, "Failed to plan firewall tunnel 'app': port 0 is out of range"),
    ({"host_addresses": ["198.19.0.300"]}, "Failed to plan firewall host address"),
    ({"host_services": [{"address": "198.19.0.11", "proto": "sctp", "port": 1}]},
     "Failed to plan firewall host service 'host_services[0]': proto"),
])
def test_bad_tunnel_and_host_parameters_fail_clearly(kw, message):
    from ansible_collections.netwire.fabric.plugins.module_utils._errors import InvalidParameter
    with pytest.raises(InvalidParameter) as err:
        hostile_plan(**kw)
    assert message in str(err.value)


def test_ports_of_a_network_are_its_ingress_too_with_a_subnet_check():
    nets = [dict(NETS[0], ports=["nw0000000000001", "nw0000000000002"])] + NETS[1:]
    ruleset = fw.plan_ruleset(fw.build_spec(nets, FLOWS, PUBS))
    sets = dict((s["name"], s["elem"]) for s in table(ruleset, "inet")["sets"])
    assert sets["ports_dmz"] == ["nw0000000000001", "nw0000000000002"]
    assert sets["bridges_dmz"] == ["nw-dmz", "nw0000000000001", "nw0000000000002"]
    assert {"nw-dmz", "nw0000000000001"} <= set(sets["bridges"])
    rules = rendered_rules(ruleset, "inet", "forward")
    assert rules[1] == "iifname @ports_dmz ip saddr != 10.1.0.0/24 drop"
    # no route points at a port: the input chain checks its sources against the subnet too
    assert rendered_rules(ruleset, "inet", "input")[:2] == [
        'iifname "nw-dmz" fib saddr . iif oif missing drop', "iifname @ports_dmz ip saddr != 10.1.0.0/24 drop"]


# --------------------------------------------------------------------------- the entry point (issue 17): zones only

LB = {"address": "198.19.0.13", "proto": "tcp", "port": 8081}


def test_a_host_service_with_zones_is_forwarded_only_from_those_zones_bridges():
    rules = rendered_rules(hostile_plan(host_services=SERVICES + [dict(LB, zones=["dmz", "app"])]), "inet", "forward")
    allow = ["iifname @bridges_app ip daddr 198.19.0.13 tcp dport 8081 accept",
             "iifname @bridges_dmz ip daddr 198.19.0.13 tcp dport 8081 accept"]
    deny = "iifname @bridges ip daddr @hosts drop"
    assert [r for r in rules if "8081" in r] == allow
    assert all(rules.index(a) < rules.index(deny) for a in allow)
    assert "iifname @bridges ip daddr 198.19.0.11 tcp dport 8080 accept" in rules  # a published port: any zone
    comments_ = [c for c in comments(hostile_plan(host_services=[dict(LB, zones=["app"])]), "inet", "forward")
                 if c and "8081" in c]
    assert comments_ == ["published tcp 198.19.0.13:8081 for bridges_app"]


def test_a_local_host_service_goes_to_the_services_chain_for_its_zones_only():
    ruleset = hostile_plan(host_services=[dict(LB, zones=["backend"], local=True)])
    assert not any("8081" in r for r in rendered_rules(ruleset, "inet", "forward"))
    assert rendered_rules(ruleset, "inet", "services") == [
        'iifname @bridges_backend ip daddr 198.19.0.13 tcp dport 8081 accept']
    # the input chain still drops everything else from containers after the jump
    assert rendered_rules(ruleset, "inet", "input")[-2:] == ["iifname @bridges jump services", "iifname @bridges drop"]


def test_a_local_host_service_without_zones_is_for_every_container_and_a_foreign_one_stays_out_of_services():
    ruleset = hostile_plan(host_services=[dict(LB, local=True)])
    assert rendered_rules(ruleset, "inet", "services") == ["iifname @bridges ip daddr 198.19.0.13 tcp dport 8081 accept"]
    assert rendered_rules(hostile_plan(), "inet", "services") == []


def test_a_bridge_address_service_with_zones_only_when_its_network_is_of_one():
    services = [{"address": "10.1.0.1", "proto": "tcp", "port": 8081, "zones": ["dmz"]},
                {"address": "10.2.0.1", "proto": "tcp", "port": 8081, "zones": ["dmz"]}]
    assert rendered_rules(hostile_plan(host_services=services), "inet", "services") == [
        'iifname "nw-dmz" ip daddr 10.1.0.1 tcp dport 8081 accept']


def test_host_services_differing_in_zones_or_place_are_kept_and_equal_ones_once():
    spec = fw.build_spec(NETS, FLOWS, PUBS, "netwire", host_addresses=HOSTS, host_services=[
        LB, dict(LB), dict(LB, zones=["app"]), dict(LB, zones=["app"]), dict(LB, zones=["app"], local=True)])
    assert [(s.zones, s.local) for s in spec.host_services] == [(None, False), (["app"], False), (["app"], True)]


@pytest.mark.parametrize("svc, message", [
    (dict(LB, zones=["nope"]), "Failed to plan firewall host service 'host_services[0]': unknown zone 'nope'"),
    (dict(LB, zones="dmz"), "Failed to plan firewall host service 'host_services[0]': zones must be a list"),
    (dict(LB, zones=["bad zone"]), "Failed to plan firewall zone 'bad zone'"),
])
def test_bad_host_service_zones_fail_clearly(svc, message):
    from ansible_collections.netwire.fabric.plugins.module_utils._errors import InvalidParameter
    with pytest.raises(InvalidParameter) as err:
        hostile_plan(host_services=[svc])
    assert message in str(err.value)
