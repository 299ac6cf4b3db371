"""Encrypted overlays on the host side: the firewall's drop of clear overlay UDP, the peers' public keys
host_network fills in, and the wireguard kind in host_network's registry (pure, no root)."""

import pytest

from ansible_collections.netwire.fabric.plugins.module_utils._errors import InvalidParameter
from ansible_collections.netwire.fabric.plugins.module_utils._firewall import planner as fw
from ansible_collections.netwire.fabric.plugins.module_utils._firewall import ruleset as rs
from ansible_collections.netwire.fabric.plugins.module_utils._host import kinds
from ansible_collections.netwire.fabric.plugins.module_utils._host.network import fill_wireguard_keys

NETS = [{"name": "app", "subnet": "10.2.0.0/24", "bridge": "nw-app", "zone": "app"}]
ENCRYPTED = {"network": "app", "type": "vxlan", "port": 4789, "local_address": "10.99.0.1", "device": "nw-wg0",
             "peers": ["10.99.0.2"], "encrypted": True}
KEY_A = "A" * 43 + "="
KEY_B = "B" * 43 + "="


def inet(tunnels):
    ruleset = fw.plan_ruleset(fw.build_spec(NETS, [], [], "netwire", tunnels=tunnels))
    return next(t for t in ruleset["tables"] if t["family"] == "inet")


def input_rules(tunnels):
    chain = next(c for c in inet(tunnels)["chains"] if c["name"] == "input")
    return [" ".join(rs.render_expr(e) for e in r["expr"]) for r in chain["rules"]]


def test_clear_overlay_udp_of_an_encrypted_network_is_dropped_and_counted_before_any_accept():
    rules = input_rules([ENCRYPTED])
    assert rules[:3] == [
        'iifname != "nw-wg0" udp dport 4789 counter name "clear_overlay" drop',
        'iifname "nw-wg0" ip daddr 10.99.0.1 ip saddr @peers_udp_4789 udp dport 4789 accept',
        "udp dport 4789 drop"]
    assert inet([ENCRYPTED])["counters"] == ["clear_overlay"]


def test_a_clear_network_has_no_counter_and_no_clear_overlay_rule():
    clear = dict(ENCRYPTED, encrypted=False, device="eth1", local_address="198.19.0.11", peers=["198.19.0.12"])
    assert "counters" not in inet([clear])
    assert not any("clear_overlay" in r for r in input_rules([clear]))


def test_gre_inside_wireguard_is_dropped_on_the_underlay():
    gre = dict(ENCRYPTED, type="gre", port=None)
    assert input_rules([gre])[0] == 'iifname != "nw-wg0" ip protocol gre counter name "clear_overlay" drop'


def test_an_encrypted_tunnel_needs_its_device():
    with pytest.raises(InvalidParameter, match="an encrypted tunnel needs its device"):
        fw.build_spec(NETS, [], [], "netwire", tunnels=[dict(ENCRYPTED, device=None)])


# ---------------------------------------------------------------- public keys

def plan(*peers):
    return {"wireguard": [{"name": "nw-wg0", "address": "10.99.0.1/24",
                           "peers": [dict(p, endpoint="198.19.0.12:51820", allowed_ips=["10.99.0.2/32"])
                                     for p in peers]}]}


def test_peers_get_the_public_keys_the_play_collected():
    filled, pending = fill_wireguard_keys(plan({"host": "h2"}), {"h1": KEY_A, "h2": KEY_B}, False)
    assert pending == []
    assert filled["wireguard"][0]["peers"] == [{"public_key": KEY_B, "endpoint": "198.19.0.12:51820",
                                                "allowed_ips": ["10.99.0.2/32"]}]


def test_a_peer_without_a_key_fails_except_in_check_mode():
    with pytest.raises(InvalidParameter, match="no public key for the WireGuard peer h2"):
        fill_wireguard_keys(plan({"host": "h2"}), {"h2": None}, False)
    filled, pending = fill_wireguard_keys(plan({"host": "h2"}), {}, True)
    assert filled["wireguard"][0]["peers"] == [] and pending == [("nw-wg0", "h2")]


def test_a_plan_without_wireguard_is_left_alone():
    p = {"linux_bridges": []}
    assert fill_wireguard_keys(p, {}, False) == (p, [])
    # a peer given with its key (the wireguard module's own shape) is kept as it is
    filled, _pending = fill_wireguard_keys(plan({"public_key": KEY_B}), {}, False)
    assert filled["wireguard"][0]["peers"][0]["public_key"] == KEY_B


def test_the_wireguard_kind_comes_before_the_tunnels_that_run_over_it():
    order = [k.key for k in kinds.of_section("fabric", ovs=False)]
    assert order.index("wireguard") < order.index("linux_tunnels")
    assert kinds.BY_KEY["wireguard"].creates == "wireguard"
