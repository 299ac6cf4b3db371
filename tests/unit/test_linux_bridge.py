"""linux_bridge: normalizer and planner against an in-memory session."""

import pytest

from tests.unit.linux_fakes import FakeSession, link

from ansible_collections.netwire.fabric.plugins.module_utils._linux import bridge as lb
from ansible_collections.netwire.fabric.plugins.module_utils._errors import InvalidParameter, NotOwned

BASE = dict(state="present", mtu=None, stp=False, forward_delay=None, vlan_filtering=False, mac=None,
            addresses=None, ports=None, purge_ports=False, up=True)


def params(**kw):
    p = dict(BASE)
    p.update(kw)
    return p


def owned_bridge(index=5, name="nwbr", **kw):
    data = {"stp_state": 0, "forward_delay": 1500, "vlan_filtering": 0}
    return link(index, name, kind="bridge", alias="netwire:bridge", data=data, **kw)


def test_create_in_check_mode_plans_everything_and_calls_nothing():
    ctx = FakeSession([link(2, "eth1", kind="veth")], check_mode=True)
    res = lb.LinuxBridgeManager(ctx, params(name="nwbr", mtu=1450, addresses=["10.1.0.1/24"],
                                            ports=["eth1"])).run()
    assert res["changed"]
    assert res["actions"] == ["create bridge nwbr", "add port eth1 to nwbr", "set nwbr mtu 1450",
                              "add address 10.1.0.1/24 to nwbr", "set nwbr up"]
    assert ctx.calls == []
    assert res["diff"]["before"] == {}
    assert res["bridge"]["addresses"] == ["10.1.0.1/24"] and res["bridge"]["ports"] == ["eth1"]


def test_converged_bridge_plans_nothing():
    br = owned_bridge(mtu=1450)
    ctx = FakeSession([br, link(2, "eth1", kind="veth", master=5)], addresses={(None, 5): ["10.1.0.1/24"]})
    res = lb.LinuxBridgeManager(ctx, params(name="nwbr", mtu=1450, addresses=["10.1.0.1/24"],
                                            ports=["eth1"])).run()
    assert not res["changed"] and res["actions"] == [] and ctx.calls == []


def test_purge_releases_only_unlisted_ports_not_owned_by_other_modules():
    ctx = FakeSession([owned_bridge(), link(2, "eth1", kind="veth", master=5),
                       link(3, "nwattach", kind="veth", master=5, alias="netwire:attach:netns:c1/eth1"),
                       link(4, "vx", kind="vxlan", master=5, alias="netwire:tunnel")], check_mode=True)
    res = lb.LinuxBridgeManager(ctx, params(name="nwbr", ports=[], purge_ports=True)).run()
    assert res["actions"] == ["release port eth1 from nwbr"]
    assert res["bridge"]["ports"] == ["nwattach", "vx"]


def test_address_changes_are_exact_and_ignore_nothing_else():
    ctx = FakeSession([owned_bridge()], addresses={(None, 5): ["10.1.0.1/24", "10.2.0.1/24"]}, check_mode=True)
    res = lb.LinuxBridgeManager(ctx, params(name="nwbr", addresses=["10.1.0.1/24", "fd00::1/64"])).run()
    assert res["actions"] == ["remove address 10.2.0.1/24 from nwbr", "add address fd00::1/64 to nwbr"]


def test_unowned_interface_is_refused_for_present_and_absent():
    ctx = FakeSession([link(5, "br0", kind="bridge")])
    for state in ("present", "absent"):
        with pytest.raises(NotOwned, match="Failed to (manage|remove) bridge 'br0': .*did not create"):
            lb.LinuxBridgeManager(ctx, params(name="br0", state=state)).run()
    assert ctx.calls == []


def test_owned_non_bridge_is_refused():
    ctx = FakeSession([link(5, "nwx", kind="veth", alias="netwire:bridge")])
    with pytest.raises(InvalidParameter, match="is a veth, not a bridge"):
        lb.LinuxBridgeManager(ctx, params(name="nwx")).run()


@pytest.mark.parametrize("kw,fragment", [
    (dict(name="x" * 16), "longer than 15"),
    (dict(name="nwbr", addresses=["10.1.0.0/24"]), "network address"),
    (dict(name="nwbr", addresses=["10.1.0.1"]), "no prefix"),
    (dict(name="nwbr", mtu=20), "out of range"),
    (dict(name="nwbr", ports=["nwbr"]), "port of itself"),
    (dict(name="nwbr", ports=["nope"]), "port 'nope' does not exist"),
    (dict(name="nwbr", purge_ports=True), "purge_ports needs ports"),
    (dict(name="nwbr", stp=True, forward_delay=1), "out of range"),
    (dict(name="nwbr", mac="01:00:5e:00:00:01"), "multicast"),
])
def test_bad_input_fails_before_any_call(kw, fragment):
    ctx = FakeSession([owned_bridge()])
    with pytest.raises(InvalidParameter, match=fragment):
        lb.LinuxBridgeManager(ctx, params(**kw)).run()
    assert ctx.calls == []


def test_absent_deletes_owned_bridge_only_once():
    ctx = FakeSession([owned_bridge()])
    res = lb.LinuxBridgeManager(ctx, params(name="nwbr", state="absent")).run()
    assert res["changed"] and [c[0] for c in ctx.calls] == ["link"]
    ctx2 = FakeSession([])
    assert not lb.LinuxBridgeManager(ctx2, params(name="nwbr", state="absent")).run()["changed"]
