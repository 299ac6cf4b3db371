"""The normalizer: a real ``nft -j list ruleset`` (nft 1.0.6, captured in a namespace) equals the plan."""

import copy
import json
from pathlib import Path

from ansible_collections.netwire.fabric.plugins.module_utils._firewall import planner as fw


from ansible_collections.netwire.fabric.plugins.module_utils._firewall import ruleset as rs
LISTING = json.loads((Path(__file__).parent / "fixtures" / "firewall_listing.json").read_text())
# the parameters the captured tables were applied from (plus a hand-made ``table inet sentinel``)
NETS = [{"name": "dmz", "subnet": "10.1.0.0/24", "bridge": "br-a"},
        {"name": "app", "subnet": "10.2.0.0/24", "bridge": "br-b", "icc": False}]
FLOWS = [{"from": "dmz", "to": "app"}]
PUBS = [{"network": "dmz", "host_port": 8080, "container_address": "10.1.0.5", "container_port": 80,
         "bind_address": "198.19.0.211"}]
# tunnel endpoints and the fabric's host addresses of the captured tables
EXTRA = {"tunnels": [{"network": "app", "type": "vxlan", "port": 8472, "local_address": "198.19.0.212",
                      "device": "eth1", "peers": ["198.19.0.213", "198.19.0.211"]},
                     {"network": "dmz", "type": "gre", "local_address": "198.19.0.212", "device": "eth1",
                      "peers": ["198.19.0.211"]}],
         "host_addresses": ["198.19.0.211", "198.19.0.212", "198.18.0.211"],
         "host_services": [{"address": "198.19.0.211", "proto": "tcp", "port": 8080}]}
OWNED = fw.table_names()


def desired():
    return fw.plan_ruleset(fw.build_spec(NETS, FLOWS, PUBS, **EXTRA))


def test_captured_listing_equals_plan():
    assert rs.normalize_listing(LISTING, OWNED) == desired()


def test_listing_as_bare_list_is_accepted():
    assert rs.normalize_listing(LISTING["nftables"], OWNED) == desired()


def test_other_tables_are_ignored():
    current = rs.normalize_listing(LISTING, OWNED)
    assert ("inet", "sentinel") not in rs.present_tables(current)
    sentinel = rs.normalize_listing(LISTING, [("inet", "sentinel")])
    assert rs.present_tables(sentinel) == [("inet", "sentinel")]


def test_handles_and_metainfo_do_not_matter():
    listing = copy.deepcopy(LISTING)
    for item in listing["nftables"]:
        for obj in item.values():
            if isinstance(obj, dict) and "handle" in obj:
                obj["handle"] += 1000
    listing["nftables"][0]["metainfo"]["version"] = "9.9.9"
    assert rs.normalize_listing(listing, OWNED) == desired()


def test_set_element_order_does_not_matter():
    listing = copy.deepcopy(LISTING)
    for item in listing["nftables"]:
        if "set" in item and "elem" in item["set"]:
            item["set"]["elem"].reverse()
    assert rs.normalize_listing(listing, OWNED) == desired()


def test_single_element_list_equals_scalar():
    assert rs.canonical_expr({"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": ["new"]}}) == \
        {"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": "new"}}
    assert rs.canonical_expr({"match": {"op": "in", "left": {"ct": {"key": "state"}},
                                        "right": ["related", "established"]}})["match"]["right"] == \
        ["established", "related"]


def _rules(listing, chain):
    return [i for i in listing["nftables"] if "rule" in i and i["rule"]["chain"] == chain
            and i["rule"]["table"] == "netwire"]


def test_a_changed_rule_is_a_difference():
    listing = copy.deepcopy(LISTING)
    _rules(listing, "forward")[-1]["rule"]["expr"][-1] = {"accept": None}
    assert rs.normalize_listing(listing, OWNED) != desired()


def test_rule_order_matters():
    listing = copy.deepcopy(LISTING)
    rules = _rules(listing, "forward")
    rules[0]["rule"]["expr"], rules[-1]["rule"]["expr"] = rules[-1]["rule"]["expr"], rules[0]["rule"]["expr"]
    assert rs.normalize_listing(listing, OWNED) != desired()


def test_a_foreign_rule_inside_our_table_is_a_difference():
    listing = copy.deepcopy(LISTING)
    extra = copy.deepcopy(_rules(listing, "forward")[0])
    extra["rule"]["handle"] = 999
    extra["rule"]["expr"] = [{"drop": None}]
    listing["nftables"].append(extra)
    assert rs.normalize_listing(listing, OWNED) != desired()


def test_a_missing_set_element_is_a_difference():
    listing = copy.deepcopy(LISTING)
    for item in listing["nftables"]:
        if "set" in item and item["set"]["name"] == "subnets" and item["set"]["table"] == "netwire":
            item["set"]["elem"] = item["set"]["elem"][:1]
    assert rs.normalize_listing(listing, OWNED) != desired()


def test_a_changed_chain_policy_or_priority_is_a_difference():
    for key, value in (("policy", "drop"), ("prio", 5)):
        listing = copy.deepcopy(LISTING)
        for item in listing["nftables"]:
            if "chain" in item and item["chain"]["table"] == "netwire":
                item["chain"][key] = value
        assert rs.normalize_listing(listing, OWNED) != desired()


def test_a_missing_table_is_a_difference():
    listing = {"nftables": [i for i in LISTING["nftables"]
                            if list(i.values())[0].get("family") != "bridge"]}
    current = rs.normalize_listing(listing, OWNED)
    assert ("bridge", "netwire_icc") not in rs.present_tables(current)
    assert current != desired()


def test_an_unknown_object_in_our_table_is_kept_visible():
    listing = copy.deepcopy(LISTING)
    listing["nftables"].append({"counter": {"family": "inet", "table": "netwire", "name": "c", "handle": 77,
                                            "packets": 0, "bytes": 0}})
    assert rs.normalize_listing(listing, OWNED) != desired()


def test_empty_set_without_elem_key_equals_empty_plan_set():
    listing = {"nftables": [
        {"table": {"family": "inet", "name": "netwire", "handle": 1}},
        {"set": {"family": "inet", "table": "netwire", "name": "subnets", "type": "ipv4_addr",
                 "handle": 2, "flags": ["interval"]}},
        {"chain": {"family": "inet", "table": "netwire", "name": "forward", "handle": 3, "type": "filter",
                   "hook": "forward", "prio": 0, "policy": "accept"}},
    ]}
    current = rs.normalize_listing(listing, OWNED)
    assert current["tables"][0]["sets"][0]["elem"] == []


def test_render_of_listing_and_plan_are_identical_when_converged():
    assert rs.render(rs.normalize_listing(LISTING, OWNED)) == rs.render(desired())


def test_empty_listing():
    assert rs.normalize_listing({"nftables": []}, OWNED) == {"tables": []}
    assert rs.normalize_listing({}, OWNED) == {"tables": []}
