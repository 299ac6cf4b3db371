"""Fake VLAN bridges (issue 19): pure planners on OVSDB snapshots."""

import pytest

from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.module_utils._errors import InvalidParameter, NotOwned
from ansible_collections.netwire.fabric.plugins.module_utils._ovs import bridge as b
from ansible_collections.netwire.fabric.plugins.module_utils._ovs import fake_bridge as fake
from ansible_collections.netwire.fabric.plugins.module_utils._ovs import ovsdb

OURS = ovsdb.owner_ids(_names.OVS_ROLE_BRIDGE)


def trunk():
    snap = ovsdb.empty_snapshot()
    return ovsdb.simulate(snap, [ovsdb.op("add_bridge", name="trk", bridge={"external_ids": OURS},
                                          port={"external_ids": OURS}, interface={"external_ids": OURS})])


def params(**kw):
    p = {"name": "trk-v10", "parent": "trk", "vlan": 10, "state": "present"}
    p.update(kw)
    return b.normalize_params(p)


def test_created_on_its_parent_then_converged_and_moved_to_another_vlan():
    snap = trunk()
    ops, tracker, _internal = b.plan(snap, params())
    assert tracker.actions == ["create fake VLAN bridge trk-v10 (VLAN 10 of trk)"]
    after = ovsdb.simulate(snap, ops)
    port = after["ports"]["trk-v10"]
    assert (port["bridge"], port["tag"], port["fake_bridge"]) == ("trk", 10, True)
    assert after["interfaces"]["trk-v10"]["type"] == "internal"
    assert fake.resolve(after, "trk-v10") == ("trk", 10) and fake.resolve(after, "trk") is None
    view = {"name": "trk-v10", "state": "present", "owned": True, "parent": "trk", "vlan": 10}
    assert b.bridge_view(after, "trk-v10") == view
    assert b.plan(after, params())[0] == []
    ops, tracker, _internal = b.plan(after, params(vlan=20))
    assert tracker.actions == ["set VLAN of fake bridge trk-v10 to 20"]
    assert ovsdb.simulate(after, ops)["ports"]["trk-v10"]["tag"] == 20


def test_parent_first_and_deleted_last():
    with pytest.raises(InvalidParameter, match="parent bridge 'trk' does not exist"):
        b.plan(ovsdb.empty_snapshot(), params())
    after = ovsdb.simulate(trunk(), b.plan(trunk(), params())[0])
    with pytest.raises(InvalidParameter, match="fake VLAN bridge trk-v10 sits on it: remove it first"):
        b.plan(after, b.normalize_params({"name": "trk", "state": "absent"}))
    ops, tracker, _internal = b.plan(after, b.normalize_params({"name": "trk-v10", "state": "absent"}))
    assert tracker.actions == ["delete fake VLAN bridge trk-v10 (VLAN 10 of trk)"]
    gone = ovsdb.simulate(after, ops)
    assert "trk-v10" not in gone["ports"] and b.plan(gone, b.normalize_params({"name": "trk", "state": "absent"}))[0]


def test_a_port_of_someone_else_is_never_taken_for_a_fake_bridge():
    snap = ovsdb.simulate(trunk(), [ovsdb.op("add_port", bridge="trk", name="trk-v10", port={"tag": 10},
                                             interface={"type": "internal"})])
    with pytest.raises(NotOwned, match="not netwire's fake VLAN bridge"):
        b.plan(snap, params())


@pytest.mark.parametrize("kw,fragment", [
    (dict(vlan=None), "needs both parent and vlan"),
    (dict(vlan=4095), "1..4094"),
    (dict(parent="trk-v10"), "its own parent"),
    (dict(ports=[]), "no ports of its own"),
])
def test_bad_fake_bridge_parameters(kw, fragment):
    p = {"name": "trk-v10", "parent": "trk", "vlan": 10, "state": "present"}
    p.update(kw)
    with pytest.raises(InvalidParameter, match=fragment):
        b.normalize_params(p)


def test_net_info_lists_our_fake_bridges_with_parent_and_vlan():
    from ansible_collections.netwire.fabric.plugins.module_utils._ovs import facts as ovs_facts

    snap = trunk()
    for name, vlan in (("trk-v10", 10), ("trk-v20", 20)):
        snap = ovsdb.simulate(snap, b.plan(snap, params(name=name, vlan=vlan))[0])
    # someone else's fake bridge (ovs-vsctl add-br theirs trk 30) is not listed, as nothing of theirs is
    snap["bridges"]["trk"]["ports"] = sorted(snap["bridges"]["trk"]["ports"] + ["theirs"])
    snap["ports"]["theirs"] = dict(snap["ports"]["trk-v10"], name="theirs", tag=30, external_ids={})
    snap["interfaces"]["theirs"] = dict(snap["interfaces"]["trk-v10"], name="theirs", external_ids={})
    facts = ovs_facts.facts_from_snapshot(snap)
    assert [(f["name"], f["parent"], f["vlan"]) for f in facts["fake_bridges"]] == [
        ("trk-v10", "trk", 10), ("trk-v20", "trk", 20)]
    assert sorted(facts["fake_bridges"][0]) == ["error", "name", "ofport", "parent", "vlan"]
    # a fake bridge is no bridge of its own, no member port and no attachment
    assert [x["name"] for x in facts["bridges"]] == ["trk"]
    assert facts["ports"] == [] and facts["attachments"] == [] and facts["tunnels"] == []


def test_net_info_without_ovs_has_no_fake_bridges(tmp_path):
    from ansible_collections.netwire.fabric.plugins.module_utils._ovs import facts as ovs_facts

    facts = ovs_facts.ovs_facts(socket_path=str(tmp_path / "db.sock"))
    assert facts["available"] is False and facts["fake_bridges"] == []


def gateway(**kw):
    """A fake bridge that is a network's gateway (the model's network on a trunk): MTU, MAC and address."""
    return params(other_config={"hwaddr": "22:BA:06:1A:46:FF"},
                  ports=[dict({"name": "trk-v10", "type": "internal", "tag": 10, "mtu": 1446,
                               "addresses": ["10.2.0.1/24"]}, **kw)])


def test_a_gateway_fake_bridge_sets_its_interfaces_mtu_and_mac_and_manages_its_addresses():
    snap = trunk()
    ops, tracker, internal = b.plan(snap, gateway())
    assert internal == [{"name": "trk-v10", "addresses": ["10.2.0.1/24"]}]
    after = ovsdb.simulate(snap, ops)
    iface = after["interfaces"]["trk-v10"]
    assert (iface["mtu_request"], iface["mac"], after["ports"]["trk-v10"]["tag"]) == (1446, "22:ba:06:1a:46:ff", 10)
    assert b.plan(after, gateway())[0] == []
    ops, tracker, _internal = b.plan(after, gateway(mtu=1400))
    assert tracker.actions == ["set mtu of fake bridge trk-v10 to 1400"]
    assert ovsdb.simulate(after, ops)["interfaces"]["trk-v10"]["mtu_request"] == 1400
    # the MAC set by hand elsewhere converges back; undone, the MAC goes back as it was
    drifted = ovsdb.simulate(after, [ovsdb.op("update_interface", name="trk-v10", columns={"mac": "02:00:00:00:00:01"})])
    ops, tracker, _internal = b.plan(drifted, gateway())
    assert tracker.actions == ["set mac of fake bridge trk-v10 to 22:ba:06:1a:46:ff"]
    assert ovsdb.inverse_ops(drifted, ops) == [ovsdb.op("update_interface", name="trk-v10",
                                                        columns={"mac": "02:00:00:00:00:01"})]
    # a removed tag (by hand) comes back
    untagged = ovsdb.simulate(after, [ovsdb.op("update_port", name="trk-v10", columns={"tag": None})])
    assert b.plan(untagged, gateway())[1].actions == ["set VLAN of fake bridge trk-v10 to 10"]


@pytest.mark.parametrize("kw,fragment", [
    (dict(ports=[{"name": "veth1"}]), "only its own interface 'trk-v10' may be listed"),
    (dict(ports=[{"name": "trk-v10", "tag": 20}]), "is on its VLAN 10"),
    (dict(ports=[{"name": "trk-v10", "type": "system"}]), "always internal"),
    (dict(other_config={"stp-enable": "true"}), "has only hwaddr"),
    (dict(other_config={"hwaddr": "01:00:00:00:00:01"}), "multicast"),
    (dict(fail_mode="secure"), "no fail_mode of its own"),
])
def test_bad_gateway_fake_bridge_parameters(kw, fragment):
    p = {"name": "trk-v10", "parent": "trk", "vlan": 10, "state": "present"}
    p.update(kw)
    with pytest.raises(InvalidParameter, match=fragment):
        b.normalize_params(p)


def test_a_network_moves_onto_a_trunk_and_back():
    """A network's own bridge (ours) becomes a fake VLAN bridge of a trunk, and back, in one run each."""
    own = ovsdb.simulate(trunk(), [ovsdb.op("add_bridge", name="trk-v10", bridge={"external_ids": OURS},
                                            port={"external_ids": OURS}, interface={"external_ids": OURS})])
    ops, tracker, internal = b.plan(own, gateway())
    assert tracker.actions[0] == "delete bridge trk-v10 (it becomes a fake VLAN bridge of trk)"
    # the interface is made again: its addresses are set on the new one
    assert internal == [{"name": "trk-v10", "addresses": ["10.2.0.1/24"], "fresh": True}]
    fake_now = ovsdb.simulate(own, ops)
    assert "trk-v10" not in fake_now["bridges"] and fake.resolve(fake_now, "trk-v10") == ("trk", 10)
    ops, tracker, _internal = b.plan(fake_now, b.normalize_params({"name": "trk-v10", "ports": [{"name": "trk-v10"}]}))
    assert tracker.actions[0] == "delete fake VLAN bridge trk-v10 (VLAN 10 of trk: it becomes a bridge)"
    back = ovsdb.simulate(fake_now, ops)
    assert "trk-v10" in back["bridges"] and back["ports"]["trk-v10"]["bridge"] == "trk-v10"


def test_a_bridge_with_a_port_not_ours_never_becomes_a_fake_bridge():
    own = ovsdb.simulate(trunk(), [
        ovsdb.op("add_bridge", name="trk-v10", bridge={"external_ids": OURS}, port={"external_ids": OURS},
                 interface={"external_ids": OURS}),
        ovsdb.op("add_port", bridge="trk-v10", name="eth9", port={}, interface={})])
    with pytest.raises(NotOwned, match="carries ports netwire.fabric does not own \\(eth9\\)"):
        b.plan(own, gateway())
    foreign = ovsdb.simulate(trunk(), [ovsdb.op("add_bridge", name="trk-v10", bridge={}, port={}, interface={})])
    with pytest.raises(InvalidParameter, match="is a bridge of its own"):
        b.plan(foreign, gateway())


def test_a_parent_or_the_underlay_bridge_never_becomes_a_fake_bridge():
    parent = ovsdb.simulate(trunk(), b.plan(trunk(), params())[0])
    with pytest.raises(InvalidParameter, match="sits on it: remove it first"):
        b.plan(parent, b.normalize_params({"name": "trk", "parent": "trk-v10", "vlan": 20}))
    ids = dict(OURS, **{_names.OVS_UNDERLAY_NIC_KEY: "eth1"})
    underlay = ovsdb.simulate(trunk(), [ovsdb.op("add_bridge", name="nwu-eth1", bridge={"external_ids": ids},
                                                 port={"external_ids": OURS}, interface={"external_ids": OURS})])
    with pytest.raises(InvalidParameter, match="bridge of the host's underlay NIC"):
        b.plan(underlay, b.normalize_params({"name": "nwu-eth1", "parent": "trk", "vlan": 20}))
