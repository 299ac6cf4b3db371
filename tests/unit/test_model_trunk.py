"""Networks on a VLAN of a trunk bridge (issue 19): netwire_trunks, a network's trunk, the plan's fake VLAN bridges."""

import pytest

from tests.unit.model_cases import assert_finding, base, findings, hosts
from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.module_utils._ovs import bridge as ovs_bridge
from ansible_collections.netwire.fabric.plugins.plugin_utils import model as m


def trunked(**trunk):
    """base() with the trunk core (Geneve 144) carrying back (VLAN 20) and side (VLAN 30, on h1 only)."""
    model = base()
    model["netwire_trunks"] = {"core": dict({"overlay": "geneve", "key": 144}, **trunk)}
    back = model["netwire_networks"]["back"]
    for key in ("overlay", "key"):
        del back[key]
    back.update(trunk="core", vlan=20)
    model["netwire_zones"]["side"] = {}
    model["netwire_networks"]["side"] = {"subnet": "10.3.0.0/24", "zone": "side", "backend": "ovs", "trunk": "core",
                                         "vlan": 30}
    model["netwire_containers"]["s1"] = {"host": "h1", "interfaces": [{"network": "side"}]}
    return model


def plans(model):
    return m.plan(model, hosts())


def test_a_trunked_model_is_sound_and_its_networks_have_no_overlay_of_their_own():
    normalized, found, warnings = m.analyze(trunked(), hosts())
    assert found == [] and warnings == []
    core = normalized["trunks"]["core"]
    assert (core["bridge"], core["hosts"], core["overlay"], core["key"], core["port"]) == \
        ("nwk-core", ["h1", "h2"], "geneve", 144, 6081)
    back = normalized["networks"]["back"]
    assert (back["trunk"], back["vlan"], back["overlay"], back["bridge"]) == ("core", 20, "none", "nw-back")
    # the trunk's Geneve (50) and the tag (4) over 1500
    assert back["mtu"] == normalized["networks"]["side"]["mtu"] == 1500 - 54


def test_the_plan_builds_the_trunk_first_then_its_vlans_as_fake_bridges():
    p = plans(trunked())["h1"]
    names = [b["name"] for b in p["ovs_bridges"]]
    assert names.index("nwk-core") < names.index("nw-back") and names.index("nwk-core") < names.index("nw-side")
    trunk = [b for b in p["ovs_bridges"] if b["name"] == "nwk-core"][0]
    assert trunk == {"name": "nwk-core", "datapath_type": "system", "ports": [{"name": "nwk-core", "type": "internal"}]}
    back = [b for b in p["ovs_bridges"] if b["name"] == "nw-back"][0]
    assert back == {"name": "nw-back", "parent": "nwk-core", "vlan": 20,
                    "other_config": {"hwaddr": p["networks"]["back"]["mac"]},
                    "ports": [{"name": "nw-back", "type": "internal", "tag": 20, "mtu": 1446,
                               "addresses": ["10.2.0.1/24"]}]}
    # the entry is what ovs_bridge takes: a fake VLAN bridge with its interface's MTU, MAC and address
    params = ovs_bridge.normalize_params(dict(back, state="present"))
    assert params["parent"] == "nwk-core" and params["ports"][0]["addresses"] == ["10.2.0.1/24"]
    assert p["networks"]["back"]["trunk"] == "core" and p["networks"]["back"]["vlan"] == 20
    # one mesh, the trunk's, carries every VLAN: no tunnels of back's own
    ident = _names.trunk_overlay_id("core")
    assert [(t["bridge"], t["network"], t["type"], t["key"], t["remotes"]) for t in p["ovs_tunnels"]] == \
        [("nwk-core", ident, "geneve", 144, ["198.19.0.12"])]
    assert [(t["network"], t["peers"], t["device"]) for t in p["firewall"]["tunnels"] if t["network"] == ident] == \
        [(ident, ["198.19.0.12"], "eth1")]
    assert _names.ovs_tunnel_port_name("geneve", ident, "198.19.0.12") in p["names"]
    assert "nwk-core" in p["names"] and "nw-back" in p["names"]
    # the containers attach to the fake bridge with its VLAN (container_attach makes them ports of the trunk)
    attach = [a for a in p["attachments"] if a["network"] == "back"][0]
    assert (attach["bridge"], attach["bridge_type"], attach["vlan_tag"]) == ("nw-back", "ovs", 20)
    # h2 has back but not side; h3 has nothing of the trunk
    p2 = plans(trunked())
    assert [b["name"] for b in p2["h2"]["ovs_bridges"]] == ["nwk-core", "nw-back"]
    assert p2["h3"]["ovs_bridges"] == [] and p2["h3"]["ovs_tunnels"] == []


def test_a_trunk_on_the_userspace_datapath_gets_the_underlay_bridge():
    host_vars = hosts()
    for hv in host_vars.values():
        hv["netwire_host"]["ovs_datapath"] = "netdev"
    model = trunked()
    model["netwire_networks"]["back"]["hosts"] = ["h1", "h2"]
    del model["netwire_networks"]["front"]
    for c in model["netwire_containers"].values():
        c["interfaces"] = [i for i in c["interfaces"] if i["network"] != "front"]
    del model["netwire_containers"]["web1"]["publish"]
    p = m.plan(model, host_vars)["h1"]
    assert [b["name"] for b in p["ovs_bridges"]][:2] == ["nwu-eth1", "nwk-core"]
    assert p["underlay"]["bridge"] == "nwu-eth1"


def test_explicit_trunk_hosts_and_a_trunk_without_networks():
    model = trunked(hosts=["h1", "h2", "h3"])
    model["netwire_trunks"]["spare"] = {"hosts": ["h3"]}
    normalized, found, warnings = m.analyze(model, hosts())
    assert found == []
    assert normalized["trunks"]["core"]["hosts"] == ["h1", "h2", "h3"]
    assert [w["path"] for w in warnings] == ["netwire_trunks.spare"]
    assert "carries no network" in warnings[0]["msg"]
    p = m.plans_of(normalized)["h3"]
    assert [b["name"] for b in p["ovs_bridges"]] == ["nwk-core", "nwk-spare"]
    assert sorted(p["ovs_tunnels"][0]["remotes"]) == ["198.19.0.11", "198.19.0.12"]


@pytest.mark.parametrize("change,path,fragment", [
    (lambda mo: mo["netwire_networks"]["back"].update(trunk="edge"), "netwire_networks.back.trunk",
     "unknown trunk 'edge' (not in netwire_trunks)"),
    (lambda mo: mo["netwire_networks"]["back"].update(backend="linux", vlan=None), "netwire_networks.back.trunk",
     "network back is on trunk core but has backend linux"),
    (lambda mo: mo["netwire_networks"]["back"].pop("vlan"), "netwire_networks.back.trunk",
     "network back on trunk core needs a vlan"),
    (lambda mo: mo["netwire_networks"]["side"].update(vlan=20), "netwire_networks.side.vlan",
     "VLAN 20 of trunk core is also the VLAN of network back: one network per VLAN of a trunk"),
    (lambda mo: mo["netwire_networks"]["back"].update(overlay="gre", key=7), "netwire_networks.back.overlay",
     "network back is on trunk core, whose overlay joins its hosts: remove overlay, key and port"),
    (lambda mo: mo["netwire_trunks"]["core"].update(hosts=["h1"]), "netwire_networks.back.hosts",
     "network back spans h2, which trunk core does not span (its hosts: h1)"),
    (lambda mo: mo["netwire_trunks"]["core"].update(overlay="none", key=None), "netwire_trunks.core.overlay",
     "trunk core spans 2 hosts (h1, h2) but has no overlay"),
    (lambda mo: mo["netwire_trunks"]["core"].pop("key"), "netwire_trunks.core.key",
     "trunk 'core' with overlay geneve needs a key (the VNI)"),
    (lambda mo: mo["netwire_trunks"]["core"].update(overlay="vxlan", key=10, port=4790), "netwire_trunks.core.key",
     "vxlan key 10 is also the key of network front"),
    (lambda mo: mo["netwire_trunks"]["core"].update(bridge="nw-front"), "netwire_trunks.core.bridge",
     "bridge name 'nw-front' is also the bridge of network front"),
    (lambda mo: mo["netwire_trunks"]["core"].update(hosts=["h1", "h9"]), "netwire_trunks.core.hosts[1]",
     "unknown host 'h9' (not in the inventory)"),
    (lambda mo: mo["netwire_trunks"]["core"].update(colour="red"), "netwire_trunks.core.colour", "unknown key"),
    (lambda mo: mo["netwire_trunks"].update(bad="x"), "netwire_trunks.bad", "must be a mapping"),
    (lambda mo: mo["netwire_trunks"]["core"].update(overlay="vxlan"), "netwire_trunks.core.port",
     "on host h1, the vxlan overlays of trunk core (ovs) and network front (linux) both use UDP port 4789"),
    (lambda mo: mo["netwire_networks"]["back"].update(mtu=1460), "netwire_networks.back.mtu",
     "mtu 1460 does not fit geneve encapsulation (54 bytes, trunk core) over the underlay MTU 1500"),
])
def test_findings(change, path, fragment):
    model = trunked()
    change(model)
    assert_finding(findings(model), path, fragment)


def test_a_vlan_without_trunk_is_still_an_access_vlan_of_the_networks_own_bridge():
    model = base()
    model["netwire_networks"]["back"]["vlan"] = 20
    p = plans(model)["h1"]
    back = [b for b in p["ovs_bridges"] if b["name"] == "nw-back"][0]
    assert "parent" not in back and back["ports"][0]["tag"] == 20
    assert "trunk" not in p["networks"]["back"]


def test_the_trunk_bridge_name_is_derived_and_fits():
    assert _names.trunk_bridge_name("core") == "nwk-core"
    long_name = _names.trunk_bridge_name("a-very-long-trunk-name")
    assert len(long_name) <= 15 and long_name.startswith("nwk-")
    assert _names.trunk_overlay_id("core") == "trunk:core"
