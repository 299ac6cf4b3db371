"""ovs_tunnel planner: names, validation, exclusivity, option convergence."""

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.ovs_snap import apply_ops, bridge, foreign, member, port, snap

from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.module_utils._ovs import tunnel as ot
from ansible_collections.netwire.fabric.plugins.module_utils._ovs import ovsdb as _ovsdb
from ansible_collections.netwire.fabric.plugins.module_utils._errors import BackendError, InvalidParameter, NotOwned


def params(**kw):
    base = {"bridge": "br-app", "network": "app", "type": "gre", "remotes": ["198.19.0.12", "198.19.0.13"],
            "key": 42, "dst_port": None, "local_ip": None, "options": {}, "state": "present"}
    base.update(kw)
    return ot.normalize_params(base)


def converge(s, p):
    ops, tracker, before, after, touched = ot.plan(s, p)
    apply_ops(s, ops)
    again = ot.plan(s, p)
    assert again[0] == [] and not again[1].changed, "second run should change nothing: %r" % (again[0],)
    return ops, tracker, before, after, touched


def names(p):
    return sorted(ot.desired_tunnels(p))


@given(st.sampled_from(sorted(_names.OVERLAYS)), st.text(min_size=1, max_size=40), st.ip_addresses().map(str))
@settings(max_examples=200, deadline=None)
def test_port_names_are_deterministic_short_and_prefixed(ttype, network, remote):
    name = _names.ovs_tunnel_port_name(ttype, network, remote)
    assert name == _names.ovs_tunnel_port_name(ttype, network, remote)
    assert len(name) <= 15 and name.startswith(_names.OVERLAYS[ttype].ovs_port_prefix + "-")


def test_port_names_differ_by_type_network_and_remote():
    base = _names.ovs_tunnel_port_name("gre", "app", "198.19.0.12")
    assert base != _names.ovs_tunnel_port_name("vxlan", "app", "198.19.0.12")
    assert base != _names.ovs_tunnel_port_name("gre", "db", "198.19.0.12")
    assert base != _names.ovs_tunnel_port_name("gre", "app", "198.19.0.13")


def test_fresh_mesh_adds_one_marked_port_per_remote():
    s = snap(bridge("br-app"))
    ops, tracker, before, after, touched = converge(s, params())
    assert [o["op"] for o in ops] == ["add_port", "add_port"]
    for o in ops:
        opts = o["interface"]["options"]
        assert o["interface"]["type"] == "gre" and opts["key"] == "42"
        ids = o["port"]["external_ids"]
        assert ids["netwire-owner"] == "netwire.fabric" and ids["netwire-role"] == "tunnel"
        assert ids["netwire-network"] == "app" and ids["netwire-remote"] == opts["remote_ip"]
    assert sorted(touched) == names(params())
    assert before["tunnels"] == {} and set(after["tunnels"]) == {"198.19.0.12", "198.19.0.13"}


def test_removed_remote_goes_others_untouched():
    s = snap(bridge("br-app"))
    converge(s, params())
    gone = _names.ovs_tunnel_port_name("gre", "app", "198.19.0.13")
    ops, tracker, before, after, touched = converge(s, params(remotes=["198.19.0.12"]))
    assert ops == [_ovsdb.op("del_port", bridge="br-app", name=gone)]
    assert touched == []
    assert "198.19.0.13" in before["tunnels"] and "198.19.0.13" not in after["tunnels"]


def test_changed_key_port_and_local_ip_are_converged_in_place():
    s = snap(bridge("br-app"))
    converge(s, params(type="vxlan", key=100))
    ops, tracker, before, after, touched = converge(
        s, params(type="vxlan", key=200, dst_port=4790, local_ip="198.19.0.11"))
    assert {o["op"] for o in ops} == {"update_interface"} and len(ops) == 2
    b, a = tracker.get_before_after()
    entry = "tunnels.198.19.0.12.options"
    assert b[entry] == {"dst_port": None, "key": "100", "local_ip": None}
    assert a[entry] == {"dst_port": "4790", "key": "200", "local_ip": "198.19.0.11"}
    assert sorted(touched) == names(params(type="vxlan"))


def test_hand_edited_remote_ip_is_put_back():
    s = snap(bridge("br-app"))
    converge(s, params())
    name = _names.ovs_tunnel_port_name("gre", "app", "198.19.0.12")
    s["interfaces"][name]["options"]["remote_ip"] = "198.19.0.99"
    ops, tracker, _before, _after, _touched = converge(s, params())
    assert ops == [_ovsdb.op("update_interface", name=name, columns={
        "options": {"remote_ip": "198.19.0.12", "key": "42"}})]


def test_other_overlays_foreign_ports_and_members_are_never_touched():
    other = ot.desired_tunnels(params(network="db"))
    s = snap(bridge("br-app", ports=[foreign("theirs0", "gre"), member("eth1", "br-app")]
                    + [port(n, "gre", t["external_ids"], options=t["options"]) for n, t in other.items()]))
    ops, _tracker, _before, _after, _touched = converge(s, params(remotes=[]))
    assert ops == []
    ops, _tracker, _before, _after, _touched = converge(s, params(state="absent"))
    assert ops == []
    assert set(other) <= set(s["ports"]) and "theirs0" in s["ports"]


def test_absent_removes_every_port_of_the_overlay_even_when_bridge_is_gone_from_plan():
    s = snap(bridge("br-app"))
    converge(s, params())
    ops, tracker, before, after, _touched = converge(s, params(state="absent", remotes=[]))
    assert [o["op"] for o in ops] == ["del_port", "del_port"]
    assert after["tunnels"] == {}
    assert ot.plan(snap(), params(state="absent"))[0] == []  # no bridge, nothing to do


def test_missing_or_unowned_bridge_is_a_clear_error():
    with pytest.raises(InvalidParameter, match="does not exist"):
        ot.plan(snap(), params())
    # in check mode the bridge may come from an earlier (also unapplied) task
    ops, tracker, _before, after, _touched = ot.plan(snap(), params(), check_mode=True)
    assert tracker.actions[0] == "bridge br-app does not exist yet (check mode): assuming it will"
    assert len(ops) == 2 and len(after["tunnels"]) == 2
    with pytest.raises(NotOwned, match="not created by netwire.fabric"):
        ot.plan(snap(bridge("br-app", owned=False)), params())


def test_name_clash_with_foreign_port_fails_without_plan():
    name = _names.ovs_tunnel_port_name("gre", "app", "198.19.0.12")
    s = snap(bridge("br-app"), bridge("br-x", owned=False, ports=[foreign(name, "gre")]))
    before = copy.deepcopy(s)
    with pytest.raises(NotOwned, match=name):
        ot.plan(s, params())
    assert s == before


def test_name_clash_with_another_of_our_ports_is_reported():
    name = _names.ovs_tunnel_port_name("gre", "app", "198.19.0.12")
    s = snap(bridge("br-app", ports=[port(name, "", _ovsdb.owner_ids("attach", container="c"))]))
    with pytest.raises(BackendError, match="another netwire.fabric port"):
        ot.plan(s, params())


def test_overlay_moves_to_another_of_our_bridges():
    s = snap(bridge("br-old"), bridge("br-app"))
    converge(s, params(bridge="br-old"))
    ops, _tracker, _before, _after, _touched = converge(s, params())
    assert [o["op"] for o in ops] == ["del_port", "add_port", "del_port", "add_port"]
    assert all(s["ports"][n]["bridge"] == "br-app" for n in names(params()))


def test_remotes_are_canonical_and_deduplicated():
    p = params(remotes=["198.19.0.13", " 198.19.0.12", "198.19.0.13", "fd00:0::1"])
    assert p["remotes"] == ["198.19.0.12", "198.19.0.13", "fd00::1"]


def test_extra_options_are_merged_and_stringified():
    p = params(options={"csum": True, "tos": "inherit"})
    t = list(ot.desired_tunnels(p).values())[0]
    assert t["options"] == {"remote_ip": t["remote"], "key": "42", "csum": "true", "tos": "inherit"}


@pytest.mark.parametrize("bad, match", [
    ({"remotes": ["198.19.0.300"]}, "Invalid remote"),
    ({"remotes": ["host2"]}, "Invalid remote"),
    ({"type": "vxlan", "key": 2 ** 24}, "between 0 and 16777215"),
    ({"type": "gre", "key": 2 ** 32}, "between 0 and 4294967295"),
    ({"key": -1}, "between"),
    ({"key": "abc"}, "integer"),
    ({"type": "gre", "dst_port": 4789}, "GRE has no UDP"),
    ({"type": "vxlan", "dst_port": 70000}, "between 1 and 65535"),
    ({"type": "stt"}, "Invalid tunnel type"),
    ({"local_ip": "nope"}, "Invalid local_ip"),
    ({"local_ip": "198.19.0.12"}, "local_ip of this host"),
    ({"options": {"key": "5"}}, "own parameter"),
    ({"network": ""}, "Invalid network"),
    ({"bridge": "x" * 16}, "at most 15"),
])
def test_invalid_parameters(bad, match):
    with pytest.raises(InvalidParameter, match=match):
        params(**bad)


def manager(s, check_mode=False, errors=None, **kw):
    from tests.unit.ovs_snap import FakeClient, ovs_ctx

    client = FakeClient(s, errors)
    base = {"bridge": "br-app", "network": "app", "type": "gre", "remotes": ["198.19.0.12", "198.19.0.13"],
            "key": 42}
    base.update(kw)
    return ot.OvsTunnelManager(ovs_ctx(client, check_mode), base), client


def test_manager_check_mode_applies_nothing_and_predicts_the_diff():
    s = snap(bridge("br-app"))
    m, client = manager(s, check_mode=True)
    result = m.run()
    assert result["changed"] and client.transactions == []
    assert set(result["diff"]["after"]["tunnels"]) == {"198.19.0.12", "198.19.0.13"}
    assert [t["ofport"] for t in result["tunnels"]] == [None, None]


def test_manager_applies_in_one_transaction_then_is_idempotent():
    s = snap(bridge("br-app"))
    m, client = manager(s)
    assert m.run()["changed"] and len(client.transactions) == 1
    m, client = manager(s)
    result = m.run()
    assert not result["changed"] and client.transactions == [] and result["actions"] == []
    assert all(t["ofport"] == 7 for t in result["tunnels"])


def test_manager_reports_ovs_interface_error():
    s = snap(bridge("br-app"))
    bad = _names.ovs_tunnel_port_name("gre", "app", "198.19.0.12")
    m, client = manager(s, errors={bad: "could not add network device"})
    with pytest.raises(BackendError, match="could not add network device") as err:
        m.run()
    assert bad in str(err.value) and err.value.details["actions"]


def test_rejected_interfaces_are_rolled_back_to_the_previous_state():
    s = snap(bridge("br-app"))
    m, client = manager(s, key=42)
    m.run()
    before = copy.deepcopy(s)
    # a key change plus a new remote, which OVS rejects
    new = _names.ovs_tunnel_port_name("gre", "app", "198.19.0.14")
    m, client = manager(s, key=43, remotes=["198.19.0.12", "198.19.0.14"],
                        errors={new: "could not add network device %s to ofproto (File exists)" % new})
    with pytest.raises(BackendError, match=r"File exists\); the change was rolled back"):
        m.run()
    assert len(client.transactions) == 2
    assert s["ports"].keys() == before["ports"].keys()
    for name in before["interfaces"]:
        assert s["interfaces"][name]["options"] == before["interfaces"][name]["options"]


def test_inverse_ops_undo_every_kind_of_op():
    s = snap(bridge("br-a", ports=[member("eth1", "br-a", tag=5)]), bridge("br-b"))
    s["bridges"]["br-b"]["fail_mode"] = "secure"
    original = copy.deepcopy(s)
    ops = [
        _ovsdb.op("update_bridge", name="br-b", columns={"fail_mode": None, "other_config": {"a": "1"}}),
        _ovsdb.op("del_port", bridge="br-a", name="eth1"),
        _ovsdb.op("add_port", bridge="br-b", name="eth1", port={"tag": 7, "external_ids": {}},
                  interface={"type": "", "external_ids": {}}),
        _ovsdb.op("update_interface", name="eth1", columns={"type": "internal"}),
        _ovsdb.op("add_bridge", name="br-c", bridge={}, port={}, interface={}),
    ]
    apply_ops(s, ops)
    apply_ops(s, _ovsdb.inverse_ops(original, ops))
    for table in ("bridges", "ports"):
        assert s[table] == original[table]
    assert s["interfaces"]["eth1"]["type"] == original["interfaces"]["eth1"]["type"]


REMOTES = ["198.19.0.%d" % i for i in range(11, 17)]


@given(
    first=st.lists(st.sampled_from(REMOTES), max_size=5),
    second=st.lists(st.sampled_from(REMOTES), max_size=5),
    ttype=st.sampled_from(["gre", "vxlan", "geneve"]),
    keys=st.tuples(st.integers(0, 2 ** 24 - 1), st.integers(0, 2 ** 24 - 1)),
    other_remotes=st.lists(st.sampled_from(REMOTES), max_size=3),
)
@settings(max_examples=150, deadline=None)
def test_converges_exclusively_within_our_overlay(first, second, ttype, keys, other_remotes):
    other = ot.desired_tunnels(params(network="other", type=ttype, remotes=other_remotes))
    s = snap(bridge("br-app", ports=[foreign("theirs0", "gre", tag=3)]
                    + [port(n, t["type"], t["external_ids"], options=t["options"]) for n, t in other.items()]))

    def untouched(snapshot):
        return dict((n, snapshot["interfaces"][n]) for n in list(other) + ["theirs0"])

    baseline = copy.deepcopy(untouched(s))
    for remotes, key in ((first, keys[0]), (second, keys[1])):
        p = params(type=ttype, remotes=remotes, key=key)
        converge(s, p)
        mine = ot.current_tunnels(s, "br-app", "app")
        assert sorted(t["remote"] for t in mine.values()) == sorted(set(remotes))
        assert all(t["options"]["key"] == str(key) for t in mine.values())
        assert untouched(s) == baseline
    converge(s, params(type=ttype, state="absent"))
    assert ot.current_tunnels(s, "br-app", "app") == {} and untouched(s) == baseline


def test_tunnel_ports_are_protected_split_horizon():
    """A full mesh over three or more hosts loops every broadcast unless a frame that
    came in over one tunnel never leaves over another: tunnel ports are protected."""
    s = snap(bridge("br-app", owned=True))
    ops, _tracker, _before, _after, _touched = converge(s, params())
    assert all(o["port"]["protected"] is True for o in ops if o["op"] == "add_port")
    assert all(s["ports"][n]["protected"] for n in names(params()))
    # a tunnel port of ours made before ports were protected is converged in place
    first = names(params())[0]
    s["ports"][first]["protected"] = False
    ops, tracker, _before, _after, _touched = ot.plan(s, params())
    assert ops == [_ovsdb.op("update_port", name=first, columns={"protected": True})]
    assert "protect tunnel port %s (split horizon)" % first in tracker.actions
    undo = _ovsdb.inverse_ops(s, ops)
    assert undo == [_ovsdb.op("update_port", name=first, columns={"protected": False})]
