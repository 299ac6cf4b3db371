"""Encrypted overlays in the model: netwire_encryption, a network's encrypt, the plan's wireguard entry."""

import pytest

from tests.unit.model_cases import assert_finding, base, findings, hosts
from ansible_collections.netwire.fabric.plugins.plugin_utils import model as m

ENC = {"subnet": "10.99.0.0/24"}


def encrypted(**enc):
    """base() with front (Linux, VXLAN, h1-h2) encrypted; back (OVS) left clear."""
    model = base()
    model["netwire_encryption"] = dict(ENC, **enc)
    model["netwire_networks"]["front"]["encrypt"] = True
    return model


def plans(model, host_vars=None):
    return m.plan(model, hosts() if host_vars is None else host_vars)


def test_an_encrypted_network_is_sound():
    normalized, found, warnings = m.analyze(encrypted(), hosts())
    assert found == [] and warnings == []
    assert normalized["encryption"] == {"subnet": "10.99.0.0/24", "port": 51820}
    # VXLAN 50 + WireGuard 80 over 1500
    assert normalized["networks"]["front"]["mtu"] == 1370
    assert normalized["networks"]["back"]["mtu"] == 1500 - 42


def test_each_host_gets_a_device_whose_peers_are_the_hosts_sharing_an_encrypted_network():
    p = plans(encrypted(port=51999))
    assert p["h1"]["wireguard"] == [{
        "name": "nw-wg0", "address": "10.99.0.1/24", "listen_port": 51999, "mtu": 1420,
        "peers": [{"host": "h2", "endpoint": "198.19.0.12:51999", "allowed_ips": ["10.99.0.2/32"]}]}]
    assert p["h2"]["wireguard"][0]["address"] == "10.99.0.2/24"
    assert [peer["host"] for peer in p["h2"]["wireguard"][0]["peers"]] == ["h1"]
    assert "nw-wg0" in p["h1"]["names"]
    # h3 carries no encrypted network: no device
    model = encrypted()
    model["netwire_containers"]["db"] = {"host": "h3", "interfaces": [{"network": "back"}]}
    assert plans(model)["h3"]["wireguard"] == []


def test_the_tunnel_address_follows_the_host_index_only():
    host_vars = hosts()
    host_vars["h2"]["netwire_host"]["index"] = 7
    assert plans(encrypted(), host_vars)["h2"]["wireguard"][0]["address"] == "10.99.0.7/24"


def test_the_overlay_of_an_encrypted_network_runs_between_the_wireguard_addresses():
    p = plans(encrypted())["h1"]
    vxlan = [t for t in p["linux_tunnels"] if t["master"] == "nw-front"][0]
    assert vxlan["local"] == "10.99.0.1" and vxlan["remotes"] == ["10.99.0.2"] and vxlan["dev"] == "nw-wg0"
    assert vxlan["mtu"] == 1370
    # the firewall accepts its overlay UDP through WireGuard only, and counts the clear copies it drops
    ends = [t for t in p["firewall"]["tunnels"] if t["network"] == "front"]
    assert ends == [{"network": "front", "type": "vxlan", "local_address": "10.99.0.1", "device": "nw-wg0",
                     "peers": ["10.99.0.2"], "port": 4789, "encrypted": True}]
    # the OVS network stays on the underlay
    assert [t["local_ip"] for t in p["ovs_tunnels"]] == ["198.19.0.11"]


def test_a_clear_model_has_no_wireguard():
    p = plans(base())
    assert all(plan["wireguard"] == [] for plan in p.values())
    assert all("encrypted" not in t for plan in p.values() for t in plan["firewall"]["tunnels"])


def test_the_device_mtu_is_the_lowest_underlay_towards_any_peer():
    host_vars = hosts()
    host_vars["h2"]["netwire_host"]["underlay_mtu"] = 1400
    normalized, found, _w = m.analyze(encrypted(), host_vars)
    assert found == []
    assert normalized["networks"]["front"]["mtu"] == 1400 - 130
    p = m.plans_of(normalized)
    assert p["h1"]["wireguard"][0]["mtu"] == 1320 and p["h2"]["wireguard"][0]["mtu"] == 1320


# ---------------------------------------------------------------- findings

def test_mtu_that_does_not_fit_wireguard_and_the_encapsulation():
    model = encrypted()
    model["netwire_networks"]["front"]["mtu"] = 1400   # fits VXLAN alone (1450), not inside WireGuard
    assert_finding(findings(model), "netwire_networks.front.mtu",
                   "mtu 1400 does not fit vxlan encapsulation inside WireGuard (50 + 80 bytes) over the underlay "
                   "MTU 1500 of host h1: at most 1370")
    model["netwire_networks"]["front"]["mtu"] = 1370
    assert findings(model) == []


def test_encrypt_without_netwire_encryption():
    model = encrypted()
    del model["netwire_encryption"]
    assert_finding(findings(model), "netwire_networks.front.encrypt", "encrypt needs netwire_encryption")


def test_encrypt_on_an_ovs_network_is_refused():
    model = encrypted()
    model["netwire_networks"]["back"]["encrypt"] = True
    assert_finding(findings(model), "netwire_networks.back.encrypt", "not supported on an OVS network")


def test_encrypt_without_an_overlay():
    model = encrypted()
    model["netwire_networks"]["solo"] = {"subnet": "10.5.0.0/24", "zone": "app", "encrypt": True}
    assert_finding(findings(model), "netwire_networks.solo.encrypt", "nothing to encrypt")


def test_encrypt_must_be_a_boolean():
    model = encrypted()
    model["netwire_networks"]["front"]["encrypt"] = "sometimes"
    assert any(f["path"] == "netwire_networks.front.encrypt" for f in findings(model))


@pytest.mark.parametrize("subnet, fragment", [
    ("10.99.0.1/24", "without host bits"),
    ("10.99.0.0", "without host bits"),
    ("fd00::/64", "not an IPv4 network"),
    ("10.99.0.0/30", "too small"),
    (None, "needs a subnet"),
])
def test_bad_encryption_subnet(subnet, fragment):
    model = encrypted()
    model["netwire_encryption"] = {"subnet": subnet} if subnet else {"port": 51820}
    assert_finding(findings(model), "netwire_encryption.subnet", fragment)


def test_encryption_subnet_overlapping_a_network():
    model = encrypted()
    model["netwire_encryption"]["subnet"] = "10.1.0.0/16"
    assert_finding(findings(model), "netwire_encryption.subnet", "overlaps subnet 10.1.0.0/24 of network front")


def test_encryption_subnet_holding_an_underlay_address():
    model = encrypted()
    model["netwire_encryption"]["subnet"] = "198.19.0.0/24"
    assert_finding(findings(model), "netwire_encryption.subnet", "holds the underlay address 198.19.0.11 of host h1")


def test_host_index_beyond_the_encryption_subnet():
    host_vars = hosts()
    host_vars["h2"]["netwire_host"]["index"] = 9
    model = encrypted(subnet="10.99.0.0/29")
    assert_finding(findings(model, host_vars), "hostvars.h2.netwire_host.index",
                   "holds tunnel addresses for indexes 1 to 6")


def test_bad_port_and_unknown_key():
    model = encrypted(port=70000, cipher="aes")
    found = findings(model)
    assert any(f["path"] == "netwire_encryption.port" for f in found), found
    assert any(f["path"].startswith("netwire_encryption") and "cipher" in f["path"] + f["msg"] for f in found), found


def test_a_clear_and_an_encrypted_overlay_on_one_transport():
    model = encrypted()
    model["netwire_networks"]["side"] = {"subnet": "10.6.0.0/24", "zone": "app", "overlay": "vxlan", "key": 60,
                                         "hosts": ["h1", "h2"]}
    assert_finding(findings(model), "netwire_networks.side.port", "cannot share a transport")
    model["netwire_networks"]["side"]["port"] = 8472
    assert findings(model) == []


def test_encrypt_with_an_evpn_control_plane_is_refused():
    model = encrypted()
    model["netwire_networks"]["front"]["control"] = "evpn"
    assert_finding(findings(model), "netwire_networks.front.encrypt", "not supported with control evpn")
