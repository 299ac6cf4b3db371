"""ovs_bridge planner: pure functions over OVSDB snapshots."""

import copy

import pytest

from tests.unit.linux_fakes import FakeSession, link as fake_link
from tests.unit.ovs_snap import apply_ops, bridge, foreign, member, ovs_ctx, port, snap

from ansible_collections.netwire.fabric.plugins.module_utils._ovs import bridge as ob
from ansible_collections.netwire.fabric.plugins.module_utils._ovs import ovsdb as _ovsdb
from ansible_collections.netwire.fabric.plugins.module_utils._errors import InvalidParameter, NotOwned


def params(**kw):
    base = {"name": "br-app", "state": "present", "datapath_type": "netdev", "fail_mode": None,
            "external_ids": {}, "other_config": {}, "ports": None}
    base.update(kw)
    return ob.normalize_params(base)


def converge(s, p):
    """Plan, apply in memory, and assert a second plan is empty (idempotency)."""
    ops, tracker, _internal = ob.plan(s, p)
    apply_ops(s, ops)
    again, tracker2, _internal = ob.plan(s, p)
    assert again == [] and not tracker2.changed, "second run should change nothing: %r" % again
    return ops, tracker


def test_create_marks_bridge_port_and_interface_as_ours():
    s = snap()
    ops, tracker, _internal = ob.plan(s, params(fail_mode="secure", external_ids={"zone": "a"}))
    assert [o["op"] for o in ops] == ["add_bridge"]
    add = ops[0]
    assert add["bridge"]["datapath_type"] == "netdev"
    assert add["bridge"]["fail_mode"] == "secure"
    assert add["bridge"]["external_ids"] == {"zone": "a", "netwire-owner": "netwire.fabric", "netwire-role": "bridge"}
    assert _ovsdb.is_owned(add["port"]["external_ids"]) and _ovsdb.is_owned(add["interface"]["external_ids"])
    assert tracker.changed and tracker.actions == ["create bridge br-app (datapath netdev)"]


def test_existing_bridge_is_idempotent_and_system_means_empty_datapath():
    s = snap(bridge("br-app", datapath_type=""))
    ops, tracker, _internal = ob.plan(s, params(datapath_type="system"))
    assert ops == [] and not tracker.changed


def test_changed_datapath_fail_mode_and_config_are_converged_and_foreign_keys_kept():
    s = snap(bridge("br-app", datapath_type="system", external_ids={"other-tool": "keep"},
                    other_config={"hwaddr": "02:00:00:00:00:01"}))
    ops, tracker = converge(s, params(datapath_type="netdev", fail_mode="standalone",
                                      other_config={"mac-aging-time": 60}))
    assert [o["op"] for o in ops] == ["update_bridge"]
    cols = ops[0]["columns"]
    assert cols["datapath_type"] == "netdev" and cols["fail_mode"] == "standalone"
    assert cols["other_config"] == {"hwaddr": "02:00:00:00:00:01", "mac-aging-time": "60"}
    assert "external_ids" not in cols
    assert s["bridges"]["br-app"]["external_ids"]["other-tool"] == "keep"
    before, after = tracker.get_before_after()
    assert before["datapath_type"] == "system" and after["datapath_type"] == "netdev"


def test_unowned_bridge_is_never_touched():
    s = snap(bridge("br-app", owned=False))
    for state in ("present", "absent"):
        with pytest.raises(NotOwned, match="not created by netwire.fabric"):
            ob.plan(s, params(state=state))


def test_absent_removes_owned_bridge_and_is_idempotent():
    s = snap(bridge("br-app", ports=[member("eth1", "br-app")]))
    ops, tracker, _internal = ob.plan(s, params(state="absent"))
    assert ops == [_ovsdb.op("del_bridge", name="br-app")]
    apply_ops(s, ops)
    assert ob.plan(s, params(state="absent"))[0] == []


def test_absent_refuses_when_bridge_carries_a_foreign_port():
    s = snap(bridge("br-app", ports=[foreign("theirs0")]))
    with pytest.raises(NotOwned, match="theirs0"):
        ob.plan(s, params(state="absent"))


def test_member_ports_are_exclusive_among_our_members_only():
    tunnel = ("gre-0123456789a", "gre")
    s = snap(bridge("br-u", ports=[member("old0", "br-u"), foreign("theirs0"),
                                   port(tunnel[0], tunnel[1], _ovsdb.owner_ids("tunnel", network="n"))]))
    p = params(name="br-u", ports=[{"name": "eth1"}, {"name": "br-u", "addresses": ["198.19.0.11/24"]}])
    ops, tracker = converge(s, p)
    kinds = [(o["op"], o.get("name")) for o in ops]
    assert ("add_port", "eth1") in kinds and ("del_port", "old0") in kinds
    assert all(name not in ("theirs0", tunnel[0], "br-u") for _op, name in kinds)
    eth1 = [o for o in ops if o.get("name") == "eth1"][0]
    assert eth1["interface"]["type"] == "" and eth1["port"]["external_ids"]["netwire-role"] == "member"
    assert set(s["bridges"]["br-u"]["ports"]) == {"br-u", "eth1", "theirs0", tunnel[0]}


def test_internal_ports_are_returned_for_address_management():
    s = snap(bridge("br-u"))
    p = params(name="br-u", ports=[{"name": "br-u", "addresses": ["198.19.0.11/24"]},
                                   {"name": "mgmt0", "type": "internal"}])
    ops, _tracker, internal = ob.plan(s, p)
    assert internal == [{"name": "br-u", "addresses": ["198.19.0.11/24"]}, {"name": "mgmt0", "addresses": None}]
    assert [o["interface"]["type"] for o in ops if o["op"] == "add_port"] == ["internal"]


def test_port_tag_and_type_changes_are_converged():
    s = snap(bridge("br-app", ports=[member("p1", "br-app", tag=10)]))
    ops, tracker = converge(s, params(ports=[{"name": "p1", "tag": 20, "type": "internal"}]))
    assert {o["op"] for o in ops} == {"update_port", "update_interface"}
    assert s["ports"]["p1"]["tag"] == 20 and s["interfaces"]["p1"]["type"] == "internal"


def test_listing_a_foreign_port_fails_and_changes_nothing():
    s = snap(bridge("br-app"), bridge("br-x", owned=False, ports=[foreign("eth1")]))
    before = copy.deepcopy(s)
    with pytest.raises(NotOwned, match="eth1"):
        ob.plan(s, params(ports=["eth1"]))
    assert s == before


def test_our_member_moves_between_our_bridges():
    s = snap(bridge("br-a", ports=[member("eth1", "br-a")]), bridge("br-b"))
    ops, _tracker = converge(s, params(name="br-b", ports=["eth1"]))
    assert [o["op"] for o in ops] == ["del_port", "add_port"]
    assert s["ports"]["eth1"]["bridge"] == "br-b"


@pytest.mark.parametrize("bad, match", [
    ({"name": "a-name-longer-than-15"}, "at most 15"),
    ({"datapath_type": "dpdk"}, "datapath_type"),
    ({"fail_mode": "open"}, "fail_mode"),
    ({"external_ids": {"netwire-owner": "me"}}, "reserved"),
    ({"ports": [{"name": "eth1", "addresses": ["10.0.0.1/24"]}]}, "only supported on internal"),
    ({"ports": [{"name": "p", "type": "internal", "addresses": ["10.0.0.300/24"]}]}, "Invalid address"),
    ({"ports": [{"name": "p", "tag": 5000}]}, "0..4095"),
    ({"ports": ["p", "p"]}, "twice"),
    ({"ports": [{"name": "br-app", "type": "system"}]}, "always internal"),
])
def test_invalid_parameters(bad, match):
    base = {"name": "br-app", "state": "present", "datapath_type": "netdev", "fail_mode": None,
            "external_ids": {}, "other_config": {}, "ports": None}
    base.update(bad)
    with pytest.raises(InvalidParameter, match=match):
        ob.normalize_params(base)


def test_bridge_view_reports_ports_roles_and_ownership():
    s = snap(bridge("br-app", datapath_type="netdev", ports=[member("eth1", "br-app"), foreign("x0")]))
    v = ob.bridge_view(s, "br-app")
    assert v["owned"] and v["datapath_type"] == "netdev"
    assert v["ports"]["eth1"]["role"] == "member" and v["ports"]["x0"] == {
        "type": "system", "tag": None, "owned": False, "role": None}
    assert ob.bridge_view(s, "nope") == {"name": "nope", "state": "absent"}


def test_manager_check_mode_and_apply_with_fake_ovsdb():
    from tests.unit.ovs_snap import FakeClient

    s = snap()
    client = FakeClient(s)
    args = {"name": "br-app", "datapath_type": "netdev", "external_ids": {}, "other_config": {}}
    result = ob.OvsBridgeManager(ovs_ctx(client, True), args).run()
    assert result["changed"] and client.transactions == [] and s["bridges"] == {}
    assert result["diff"]["before"]["state"] == "absent" and result["diff"]["after"]["datapath_type"] == "netdev"
    result = ob.OvsBridgeManager(ovs_ctx(client), args).run()
    assert result["changed"] and len(client.transactions) == 1
    assert result["bridge"]["owned"] and result["bridge"]["ports"]["br-app"]["role"] == "bridge"
    result = ob.OvsBridgeManager(ovs_ctx(client), args).run()
    assert not result["changed"] and len(client.transactions) == 1


def test_check_mode_prediction_matches_the_applied_result():
    from tests.unit.ovs_snap import FakeClient

    s = snap(bridge("br-app", ports=[member("old0", "br-app"), foreign("x0")]))
    args = {"name": "br-app", "datapath_type": "netdev", "fail_mode": "secure", "external_ids": {"k": "v"},
            "other_config": {"a": 1}, "ports": [{"name": "new0", "type": "internal", "tag": 3}]}
    predicted = ob.OvsBridgeManager(ovs_ctx(FakeClient(s), True, netlink=_LinksUp()), args).run()
    applied = ob.OvsBridgeManager(ovs_ctx(FakeClient(s), netlink=_LinksUp()), args).run()
    assert predicted["bridge"] == applied["bridge"] and predicted["actions"] == applied["actions"]
    assert set(applied["bridge"]["ports"]) == {"br-app", "new0", "x0"}


class _Every(dict):
    def get(self, name, default=None):
        return fake_link(1, name)


class _LinksUp(FakeSession):
    """A NetlinkSession stand-in: every link exists, is up and has no address."""

    def links(self, netns=None):
        return _Every()

    def read_link(self, name, netns=None):
        return fake_link(1, name)


def test_internal_port_mtu_is_requested_from_ovs_and_converged():
    """Without mtu_request OVS gives an internal port the smallest MTU of the other ports
    (or 1500 on a bridge with none): an overlay bridge would then exceed its network MTU."""
    s = snap()
    p = params(ports=[{"name": "br-app", "type": "internal", "mtu": 1450},
                      {"name": "vi-app", "type": "internal", "mtu": 1400}])
    ops, tracker = converge(s, p)
    assert s["interfaces"]["br-app"]["mtu_request"] == 1450
    assert s["interfaces"]["vi-app"]["mtu_request"] == 1400
    assert "set mtu of br-app to 1450" in tracker.actions
    ops, tracker, _internal = ob.plan(s, params(ports=[{"name": "br-app", "type": "internal", "mtu": 1400},
                                                       {"name": "vi-app", "type": "internal", "mtu": 1400}]))
    assert ops == [_ovsdb.op("update_interface", name="br-app", columns={"mtu_request": 1400})]
    assert tracker.get_before_after() == ({"ports.br-app.mtu": 1450}, {"ports.br-app.mtu": 1400})
    # leaving mtu out leaves it to OVS: no change either way
    ops, tracker, _internal = ob.plan(s, params(ports=[{"name": "br-app", "type": "internal"},
                                                       {"name": "vi-app", "type": "internal"}]))
    assert ops == [] and not tracker.changed


@pytest.mark.parametrize("port,match", [
    ({"name": "eth9", "type": "system", "mtu": 1400}, "only set on internal ports"),
    ({"name": "br-app", "type": "internal", "mtu": 20}, "68..65535"),
])
def test_invalid_port_mtu(port, match):
    with pytest.raises(InvalidParameter, match=match):
        params(ports=[port])


def test_purge_removes_our_undeclared_bridges_and_refuses_one_with_a_port_not_ours():
    from tests.unit.ovs_snap import FakeClient
    s = snap(bridge("nw-dmz", ports=[member("m1", "nw-dmz")]), bridge("nw-app"), bridge("br-user", owned=False))
    client = FakeClient(s)
    ctx = ovs_ctx(client)
    results = ob.OvsBridgeManager.purge(ctx, keep={"nw-app"})
    assert [(r.label, r.actions) for r in results] == [("nw-dmz", ["delete OVS bridge nw-dmz (owned, not declared)"])]
    ctx.ovs.commit()
    assert sorted(client.s["bridges"]) == ["br-user", "nw-app"]

    client = FakeClient(snap(bridge("nw-dmz", ports=[foreign("eth9")])))
    with pytest.raises(NotOwned) as err:
        ob.OvsBridgeManager.purge(ovs_ctx(client), keep=set())
    assert "port eth9 on OVS bridge nw-dmz" in str(err.value) and client.transactions == []
