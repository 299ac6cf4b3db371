"""The firewall's DHCP and DNS for containers: accepted to the bridge before the spoof check, DNS scoped to the
network, and the DHCP guard (bridge <t>_dhcp_guard) on the tunnel devices of networks with ``dhcp``."""

import copy

import pytest

from ansible_collections.netwire.fabric.plugins.module_utils._contract import Context
from ansible_collections.netwire.fabric.plugins.module_utils._firewall import planner as fw
from ansible_collections.netwire.fabric.plugins.module_utils._firewall import ruleset as rs
from ansible_collections.netwire.fabric.plugins.module_utils._firewall.manager import FirewallManager
from ansible_collections.netwire.fabric.plugins.module_utils._names import linux_tunnel_name

from tests.unit.test_firewall_manager import FakeClient
from tests.unit.test_firewall_properties import listing_from_batch

NETS = [
    {"name": "dmz", "subnet": "10.30.1.0/24", "bridge": "nw-dmz", "zone": "dmz", "dhcp": True},
    {"name": "backend", "subnet": "10.40.1.0/24", "bridge": "nw-backend", "zone": "backend"},
    {"name": "app", "subnet": "10.50.1.0/24", "bridge": "nw-app", "zone": "app", "dhcp": True},
]
TUNNELS = [
    {"network": "dmz", "type": "vxlan", "local_address": "198.19.0.11", "device": "eth0",
     "peers": ["198.19.0.12", "198.19.0.13"]},
    {"network": "backend", "type": "vxlan", "local_address": "198.19.0.11", "device": "eth0",
     "peers": ["198.19.0.12"]},
    # a userspace-datapath host lists the endpoint once per underlay device: one guard device all the same
    {"network": "app", "type": "geneve", "local_address": "198.19.0.11", "device": "eth0",
     "peers": ["198.19.0.13", "198.19.0.12"]},
    {"network": "app", "type": "geneve", "local_address": "198.19.0.11", "device": "nwu-eth0",
     "peers": ["198.19.0.12", "198.19.0.13"]},
]
DNS = [{"address": "10.30.1.1", "proto": "udp", "port": 53}, {"address": "10.30.1.1", "proto": "tcp", "port": 53},
       {"address": "10.40.1.1", "proto": "udp", "port": 53}]
HOSTS = ["198.19.0.11", "198.19.0.12", "198.19.0.13"]


def plan(networks=None, tunnels=None, host_services=None, host_addresses=None, table_name="netwire"):
    return fw.plan_ruleset(fw.build_spec(
        NETS if networks is None else networks, [], [], table_name,
        tunnels=TUNNELS if tunnels is None else tunnels,
        host_addresses=HOSTS if host_addresses is None else host_addresses,
        host_services=DNS if host_services is None else host_services))


def table(ruleset, family, name):
    found = [t for t in ruleset["tables"] if (t["family"], t["name"]) == (family, name)]
    return found[0] if found else None


def rules(ruleset, family, name, chain):
    chains = [c for c in table(ruleset, family, name)["chains"] if c["name"] == chain]
    return [" ".join(rs.render_expr(e) for e in r["expr"]) for r in chains[0]["rules"]]


def without_dhcp(nets):
    return [dict((k, v) for k, v in n.items() if k != "dhcp") for n in nets]


# ---------------------------------------------------------------- nothing new without dhcp

def test_without_dhcp_the_ruleset_is_the_one_of_before():
    # dhcp: false and no dhcp key give the same tables, and no guard table
    nets = without_dhcp(NETS)
    assert plan(networks=[dict(n, dhcp=False) for n in nets]) == plan(networks=nets)
    assert [(t["family"], t["name"]) for t in plan(networks=nets)["tables"]] == \
        [("inet", "netwire"), ("ip", "netwire_nat")]
    assert not any("dhcp" in r for r in rules(plan(networks=nets), "inet", "netwire", "input"))


def test_the_guard_table_is_owned_but_not_one_of_the_zone_tables():
    assert fw.owned_tables("edge") == fw.table_names("edge") + [("bridge", "edge_dhcp_guard")]
    assert fw.guard_table_name() == "netwire_dhcp_guard"


# ---------------------------------------------------------------- input: dhcp before the spoof check

def test_dhcp_is_accepted_before_the_reverse_path_drop():
    text = rules(plan(), "inet", "netwire", "input")
    dhcp = 'iifname "nw-dmz" ip saddr { 0.0.0.0, 10.30.1.0/24 } ip daddr { 255.255.255.255, 10.30.1.0/24 } ' \
           'udp sport 68 udp dport 67 accept'
    assert dhcp in text
    spoof = 'iifname "nw-dmz" fib saddr . iif oif missing drop'
    assert text.index(dhcp) < text.index(spoof)
    # every dhcp accept precedes every spoof drop; the tunnel rules stay first
    dhcp_at = [i for i, r in enumerate(text) if "udp sport 68 udp dport 67 accept" in r]
    spoof_at = [i for i, r in enumerate(text) if "fib saddr . iif oif missing drop" in r]
    assert len(dhcp_at) == 2 and max(dhcp_at) < min(spoof_at)
    assert all("tunnel" in (r.get("comment") or "") for r in
               table(plan(), "inet", "netwire")["chains"][0]["rules"][:min(dhcp_at)])


def test_dhcp_only_for_networks_with_dhcp():
    text = rules(plan(), "inet", "netwire", "input")
    assert any(r.startswith('iifname "nw-app" ip saddr { 0.0.0.0, 10.50.1.0/24 }') for r in text)
    assert not any(r.startswith('iifname "nw-backend" ip saddr') for r in text)


# ---------------------------------------------------------------- dns: the services chain, per network

def test_a_service_on_a_bridge_address_is_reachable_from_its_network_only():
    text = rules(plan(), "inet", "netwire", "services")
    assert text == ['iifname "nw-dmz" ip daddr 10.30.1.1 udp dport 53 accept',
                    'iifname "nw-dmz" ip daddr 10.30.1.1 tcp dport 53 accept',
                    'iifname "nw-backend" ip daddr 10.40.1.1 udp dport 53 accept']
    # never forwarded: a bridge address of another host is not reachable through this host's routing
    assert not any("dport 53" in r for r in rules(plan(), "inet", "netwire", "forward"))


def test_a_service_on_a_network_with_ports_is_reachable_from_its_ports_too():
    nets = [dict(NETS[0], ports=["nwaaaa", "nwbbbb"])] + NETS[1:]
    text = rules(plan(networks=nets), "inet", "netwire", "services")
    assert text[:4] == ['iifname "nw-dmz" ip daddr 10.30.1.1 udp dport 53 accept',
                        'iifname @ports_dmz ip daddr 10.30.1.1 udp dport 53 accept',
                        'iifname "nw-dmz" ip daddr 10.30.1.1 tcp dport 53 accept',
                        'iifname @ports_dmz ip daddr 10.30.1.1 tcp dport 53 accept']


def test_other_host_services_stay_in_the_forward_chain():
    ruleset = plan(host_services=DNS + [{"address": "198.19.0.12", "proto": "tcp", "port": 8080}])
    assert 'iifname @bridges ip daddr 198.19.0.12 tcp dport 8080 accept' in \
        rules(ruleset, "inet", "netwire", "forward")
    assert not any("8080" in r for r in rules(ruleset, "inet", "netwire", "services"))


# ---------------------------------------------------------------- the guard

def test_guard_drops_dhcp_in_and_out_of_each_tunnel_device_with_a_counter_per_network():
    guard = table(plan(), "bridge", "netwire_dhcp_guard")
    assert guard["counters"] == ["dhcp_app", "dhcp_dmz"]
    sets = dict((s["name"], s) for s in guard["sets"])
    assert sorted(sets) == ["tunnels_app", "tunnels_dmz"]   # backend has no dhcp: not guarded
    assert sets["tunnels_dmz"]["elem"] == [linux_tunnel_name("vxlan", "dmz")] == ["nwx-dmz"]
    assert sets["tunnels_app"]["elem"] == sorted(linux_tunnel_name("geneve", "app", p)
                                                 for p in ("198.19.0.12", "198.19.0.13"))
    assert sets["tunnels_dmz"]["type"] == "ifname"
    chains = dict((c["name"], c) for c in guard["chains"])
    assert sorted(chains) == ["postrouting", "prerouting"]
    for name in chains:
        assert (chains[name]["type"], chains[name]["hook"], chains[name]["prio"], chains[name]["policy"]) == \
            ("filter", name, -200, "accept")
    assert rules(plan(), "bridge", "netwire_dhcp_guard", "prerouting") == [
        'iifname @tunnels_dmz udp dport { 67, 68 } counter name "dhcp_dmz" drop',
        'iifname @tunnels_app udp dport { 67, 68 } counter name "dhcp_app" drop']
    assert rules(plan(), "bridge", "netwire_dhcp_guard", "postrouting") == [
        'oifname @tunnels_dmz udp dport { 67, 68 } counter name "dhcp_dmz" drop',
        'oifname @tunnels_app udp dport { 67, 68 } counter name "dhcp_app" drop']


def test_no_guard_table_without_tunnels_of_a_dhcp_network():
    assert table(plan(tunnels=[t for t in TUNNELS if t["network"] == "backend"]),
                 "bridge", "netwire_dhcp_guard") is None
    assert table(plan(tunnels=[]), "bridge", "netwire_dhcp_guard") is None
    # the dhcp accept does not depend on tunnels
    assert any("udp dport 67 accept" in r for r in rules(plan(tunnels=[]), "inet", "netwire", "input"))


def test_guard_follows_table_name():
    assert table(plan(table_name="edge"), "bridge", "edge_dhcp_guard") is not None


# ---------------------------------------------------------------- listing, transaction, render

def test_the_batch_rebuilds_the_guard_and_a_listing_with_counter_values_compares_equal():
    desired = plan()
    batch = rs.transaction(desired, [], fw.owned_tables())
    adds = [list(c["add"])[0] for c in batch["nftables"] if "add" in c and
            list(c["add"].values())[0].get("table", list(c["add"].values())[0].get("name")) == "netwire_dhcp_guard"]
    assert adds.index("counter") < adds.index("rule")
    listing = listing_from_batch(batch)
    for item in listing["nftables"]:
        if "counter" in item:
            item["counter"].update(packets=7, bytes=2100)   # values are state: they never differ
    assert rs.normalize_listing(listing, fw.owned_tables()) == desired


def test_a_missing_or_extra_counter_is_a_difference():
    desired = plan()
    listing = listing_from_batch(rs.transaction(desired, [], fw.owned_tables()))
    fewer = copy.deepcopy(listing)
    fewer["nftables"] = [i for i in fewer["nftables"] if i.get("counter", {}).get("name") != "dhcp_app"]
    assert rs.normalize_listing(fewer, fw.owned_tables()) != desired


def test_absent_deletes_the_guard_and_never_a_foreign_bridge_table():
    batch = rs.transaction({"tables": []}, [("bridge", "netwire_dhcp_guard"), ("bridge", "other")],
                           fw.owned_tables())["nftables"]
    assert batch == [{"add": {"table": {"family": "bridge", "name": "netwire_dhcp_guard"}}},
                     {"delete": {"table": {"family": "bridge", "name": "netwire_dhcp_guard"}}}]


def test_render_shows_counters_and_their_use():
    text = rs.render(plan())
    assert "\tcounter dhcp_dmz {\n\t}\n" in text
    assert '\t\tiifname @tunnels_dmz udp dport { 67, 68 } counter name "dhcp_dmz" drop comment ' \
           '"dhcp guard dmz: nothing from its tunnels"\n' in text


# ---------------------------------------------------------------- the manager

@pytest.fixture
def proc(tmp_path):
    (tmp_path / "sys/net/ipv4/conf/all").mkdir(parents=True)
    (tmp_path / "sys/net/ipv4/ip_forward").write_text("1\n")
    return tmp_path


def params(**extra):
    out = {"table_name": "netwire", "state": "present", "networks": NETS, "flows": [], "publications": [],
           "tunnels": TUNNELS, "host_addresses": HOSTS, "host_services": DNS}
    out.update(extra)
    return out


def test_manager_creates_converges_and_removes_the_guard(proc):
    client = FakeClient({"nftables": []})
    result = FirewallManager(Context(False, nft=client), params(), proc_root=str(proc)).run()
    assert "create table bridge netwire_dhcp_guard" in result["actions"]
    assert "bridge netwire_dhcp_guard" in result["tables"]
    (batch, check), = client.batches
    assert check is False
    # converged: no change, no batch
    client = FakeClient(listing_from_batch(batch))
    result = FirewallManager(Context(False, nft=client), params(), proc_root=str(proc)).run()
    assert result["changed"] is False and client.batches == []
    # dhcp off everywhere: the guard goes, in the same one batch as the inet table's change
    result = FirewallManager(Context(False, nft=client), params(networks=without_dhcp(NETS)),
                             proc_root=str(proc)).run()
    assert sorted(result["actions"]) == ["delete table bridge netwire_dhcp_guard", "replace table inet netwire"]
    assert len(client.batches) == 1
    # absent removes it too
    client = FakeClient(listing_from_batch(batch))
    result = FirewallManager(Context(False, nft=client), {"state": "absent"}, proc_root=str(proc)).run()
    assert "delete table bridge netwire_dhcp_guard" in result["actions"]
