"""OVS attachments, facts and the OVSDB snapshot conversion (pure parts)."""

import pytest

from tests.unit.ovs_snap import apply_ops, bridge, foreign, member, port, snap

from ansible_collections.netwire.fabric.plugins.module_utils._ovs import attach as oa
from ansible_collections.netwire.fabric.plugins.module_utils._ovs import facts as _ovs_facts
from ansible_collections.netwire.fabric.plugins.module_utils import _validate
from ansible_collections.netwire.fabric.plugins.module_utils._linux import linkops as _linkops
from ansible_collections.netwire.fabric.plugins.module_utils._ovs import ovsdb as _ovsdb
from ansible_collections.netwire.fabric.plugins.module_utils._errors import (
    InvalidParameter,
    MissingDependency,
    NotOwned,
)


def attached(name, container="web1", interface="eth0", network="app", br="br-app", tag=None, ofport=3):
    return port(name, "", oa.attach_ids(container, interface, network, br), tag=tag, ofport=ofport)


def test_attach_adds_a_marked_access_port_and_is_idempotent():
    s = snap(bridge("br-app"))
    ops, actions = oa.plan_attach(s, "br-app", "nw-web1-0", "web1", "eth0", "app", tag=10)
    assert [o["op"] for o in ops] == ["add_port"]
    ids = ops[0]["port"]["external_ids"]
    assert ids == {"netwire-owner": "netwire.fabric", "netwire-role": "attach", "netwire-container": "web1",
                   "netwire-interface": "eth0", "netwire-network": "app", "netwire-bridge": "br-app"}
    assert ops[0]["port"]["tag"] == 10 and ops[0]["interface"]["external_ids"] == ids
    apply_ops(s, ops)
    assert oa.plan_attach(s, "br-app", "nw-web1-0", "web1", "eth0", "app", tag=10) == ([], [])


def test_retag_and_stale_port_after_restart():
    s = snap(bridge("br-app", ports=[attached("old-web1", ofport=-1), attached("nw-web1-0", tag=10)]))
    ops, actions = oa.plan_attach(s, "br-app", "nw-web1-0", "web1", "eth0", "app", tag=20)
    assert ops == [_ovsdb.op("del_port", bridge="br-app", name="old-web1"),
                   _ovsdb.op("update_port", name="nw-web1-0", columns={"tag": 20})]
    assert actions == ["remove stale OVS port old-web1", "set tag of nw-web1-0 to 20"]


def test_find_stale_port_matches_external_ids_only():
    s = snap(bridge("br-app", ports=[attached("a1"), attached("b1", container="web2"), foreign("c1"),
                                     attached("d1", network="db")]))
    assert oa.find_stale_port(s, "web1", "eth0") == "a1"
    assert oa.find_stale_ports(s, "web1", "eth0") == ["a1", "d1"]
    assert oa.find_stale_ports(s, "web1", "eth0", network="app", keep="a1") == []
    assert oa.find_stale_port(s, "nobody", "eth0") is None


def test_detach_removes_only_that_containers_ports():
    s = snap(bridge("br-app", ports=[attached("a1"), attached("b1", container="web2"), foreign("c1")]))
    ops, actions = oa.plan_detach(s, "web1", "eth0")
    assert ops == [_ovsdb.op("del_port", bridge="br-app", name="a1")]


def test_attach_refuses_foreign_bridge_foreign_port_and_missing_bridge():
    with pytest.raises(InvalidParameter, match="does not exist"):
        oa.plan_attach(snap(), "br-app", "p1", "web1", "eth0")
    with pytest.raises(NotOwned):
        oa.plan_attach(snap(bridge("br-app", owned=False)), "br-app", "p1", "web1", "eth0")
    with pytest.raises(NotOwned, match="p1"):
        oa.plan_attach(snap(bridge("br-app", ports=[foreign("p1")])), "br-app", "p1", "web1", "eth0")
    with pytest.raises(InvalidParameter, match="member port"):
        oa.plan_attach(snap(bridge("br-app", ports=[member("p1", "br-app")])), "br-app", "p1", "web1", "eth0")
    with pytest.raises(InvalidParameter, match="0..4095"):
        oa.plan_attach(snap(bridge("br-app")), "br-app", "p1", "web1", "eth0", tag=4096)


def test_netdev_detection():
    s = snap(bridge("br-n", datapath_type="netdev"), bridge("br-s", datapath_type=""))
    assert oa.is_netdev_bridge(s, "br-n") and not oa.is_netdev_bridge(s, "br-s")
    assert not oa.is_netdev_bridge(s, "missing")


def test_facts_report_only_owned_objects_grouped_by_role():
    from ansible_collections.netwire.fabric.plugins.module_utils._ovs import tunnel as ot

    t = list(ot.desired_tunnels(ot.normalize_params({"bridge": "br-app", "network": "app", "type": "gre",
                                                     "remotes": ["198.19.0.12"], "key": 1})).items())[0]
    s = snap(bridge("br-app", ports=[attached("a1", tag=5), member("eth1", "br-app"), foreign("x1"),
                                     port(t[0], "gre", t[1]["external_ids"], options=t[1]["options"])]),
             bridge("br-theirs", owned=False))
    f = _ovs_facts.facts_from_snapshot(s)
    assert [b["name"] for b in f["bridges"]] == ["br-app"]
    assert [p["name"] for p in f["ports"]] == ["eth1"]
    assert f["tunnels"][0]["remote"] == "198.19.0.12" and f["tunnels"][0]["options"]["key"] == "1"
    assert f["attachments"] == [{"name": "a1", "bridge": "br-app", "type": "system", "tag": 5, "ofport": 3,
                                 "error": None, "network": "app", "container": "web1", "interface": "eth0"}]


def test_facts_without_ovs_is_a_fact_not_an_error(tmp_path):
    f = _ovs_facts.ovs_facts(socket_path=str(tmp_path / "db.sock"))
    assert f["available"] is False and "not running" in f["reason"] and f["bridges"] == []


def test_client_reports_ovs_not_running(tmp_path):
    with pytest.raises(MissingDependency, match="Open vSwitch is not running"):
        _ovsdb.OvsdbClient(str(tmp_path / "db.sock")).connect()


def test_client_endpoint_forms():
    assert _ovsdb.OvsdbClient().endpoint == "unix:/run/openvswitch/db.sock"
    assert _ovsdb.OvsdbClient("/tmp/x.sock").endpoint == "unix:/tmp/x.sock"
    assert _ovsdb.OvsdbClient("tcp:127.0.0.1:6640").endpoint == "tcp:127.0.0.1:6640"


def test_snapshot_from_json_flattens_optional_columns_and_links_names():
    """OVSDB's JSON (a select reply): sets as ["set", [...]] or their one element, maps as ["map", [...]]."""
    def uuid(n):
        return ["uuid", "00000000-0000-0000-0000-%012d" % n]

    iface = {"_uuid": uuid(2), "name": "p1", "type": "", "options": ["map", []],
             "external_ids": ["map", [["a", "b"]]], "ofport": 5, "error": ["set", []]}
    local_if = {"_uuid": uuid(4), "name": "br0", "type": "internal", "options": ["map", []],
                "external_ids": ["map", []], "ofport": 65534, "error": ["set", []]}
    p1 = {"_uuid": uuid(1), "name": "p1", "tag": 10, "external_ids": ["map", []], "interfaces": uuid(2),
          "protected": True}
    local = {"_uuid": uuid(3), "name": "br0", "tag": ["set", []], "external_ids": ["map", []],
             "interfaces": ["set", [uuid(4)]]}
    br = {"_uuid": uuid(9), "name": "br0", "datapath_type": "", "fail_mode": "secure", "external_ids": ["map", []],
          "other_config": ["map", []], "ports": ["set", [uuid(1), uuid(3)]]}
    s = _ovsdb.snapshot_from_json([br], [p1, local], [iface, local_if])
    assert s["bridges"]["br0"]["fail_mode"] == "secure" and s["bridges"]["br0"]["ports"] == ["br0", "p1"]
    assert s["ports"]["p1"] == {"name": "p1", "bridge": "br0", "tag": 10, "protected": True, "external_ids": {},
                                "interfaces": ["p1"]}
    assert s["ports"]["br0"]["protected"] is False
    assert s["interfaces"]["p1"]["ofport"] == 5 and s["interfaces"]["p1"]["error"] is None
    assert s["interfaces"]["p1"]["external_ids"] == {"a": "b"}
    assert s["interfaces"]["p1"]["port"] == "p1" and s["ports"]["br0"]["tag"] is None


def test_address_planning_is_exclusive_and_canonical():
    assert _validate.interface_address("fd00:0::1/64", host_prefix=True) == "fd00::1/64"
    assert _validate.interface_address("10.0.0.1", host_prefix=True) == "10.0.0.1/32"
    assert _linkops.diff_addresses(["10.0.0.1/24", "10.0.0.9/24"], ["10.0.0.1/24", "10.0.0.2/24"]) == (
        ["10.0.0.2/24"], ["10.0.0.9/24"])
    with pytest.raises(InvalidParameter):
        _validate.interface_address("10.0.0.256/24", host_prefix=True)


class _Plan(object):
    def __init__(self):
        self.steps = []

    def step(self, action, func, *args, **kwargs):
        self.steps.append((action, func, args))


class _Ctx(object):
    def __init__(self, ovs):
        self.ovs = ovs

    def link(self, name, netns=None):
        return {"mtu": 1450} if name == "br-app" else None


def _backend(s):
    from tests.unit.ovs_snap import FakeClient
    from ansible_collections.netwire.fabric.plugins.module_utils._ovs.transaction import OvsTransaction

    client = FakeClient(s)
    backend = oa.OvsBridgeBackend(netns_resolver=lambda params: "/run/netns/" + params["container"])
    return backend, client, _Ctx(OvsTransaction(client=client))


def test_backend_seam_detects_plans_one_transaction_and_turns_offload_off_and_foreign_arp_replies_off():
    s = snap(bridge("br-app", datapath_type="netdev"))
    backend, client, ctx = _backend(s)
    assert backend.detect(ctx, "br-app") and not backend.detect(ctx, "br-other")
    assert backend.bridge_mtu(ctx, "br-app") == 1450
    plan = _Plan()
    params = {"container": "c1", "container_type": "netns", "ifname": "eth1", "vlan_tag": 10, "network": "app"}
    predicted = backend.plan_attach(plan, ctx, "nwabc", None, "br-app", params, {})
    assert predicted == {"bridge": "br-app", "vlan_tag": 10}
    assert [description for description, _func, _args in plan.steps] == [
        "answer ARP only for its own addresses on nwabc (arp_ignore=1; userspace datapath)",
        "add port nwabc to OVS bridge br-app (tag 10)",
        "turn TX checksum offload off on nwabc and eth1 (userspace datapath)"]
    # the host end is quiet before it joins the bridge
    assert plan.steps[0][2] == ("nwabc", None)
    assert plan.steps[2][2] == ("nwabc", None, "eth1", "/run/netns/c1")
    action, func, args = plan.steps[1]
    func(*args)
    assert len(client.transactions) == 1 and s["ports"]["nwabc"]["tag"] == 10
    assert backend.port_state(ctx, {"ifname": "nwabc"}) == {"bridge": "br-app", "vlan_tag": 10}
    assert backend.port_state(ctx, {"ifname": "other"}) == {"bridge": None}


def test_backend_re_adds_the_port_when_the_veth_is_recreated_and_detaches():
    s = snap(bridge("br-app", datapath_type="", ports=[attached("nwabc", container="c1", interface="eth1",
                                                                network="app", ofport=-1)]))
    backend, client, ctx = _backend(s)
    plan = _Plan()
    params = {"container": "c1", "ifname": "eth1", "network": "app"}
    backend.plan_attach(plan, ctx, "nwabc", None, "br-app", params, {})
    assert [description for description, _func, _args in plan.steps] == ["re-add OVS port nwabc on bridge br-app for the new veth"]
    removal, addition = plan.steps[0][2][0]
    assert [o["op"] for o in removal] == ["del_port"] and [o["op"] for o in addition] == ["add_port"]
    plan.steps[0][1](*plan.steps[0][2])
    assert len(client.transactions) == 2 and s["ports"]["nwabc"]["external_ids"]["netwire-container"] == "c1"
    plan = _Plan()
    backend.plan_detach(plan, ctx, "nwabc", {})
    assert [description for description, _func, _args in plan.steps] == ["remove OVS port nwabc from bridge br-app"]
    plan = _Plan()
    backend.plan_detach(plan, ctx, "nwzzz", {})
    assert plan.steps == []


def test_backend_is_registered_with_container_attach_after_linux():
    from ansible_collections.netwire.fabric.plugins.module_utils._host import backends

    assert backends._BACKEND_ORDER[:2] == ["linux", "ovs"]
    assert isinstance(backends.BRIDGE_BACKENDS["ovs"], oa.OvsBridgeBackend)


def test_a_batch_puts_the_ports_of_many_attachments_in_one_transaction():
    """host_network attaches every container of a host, then flushes: one transaction for
    the new ports (two when restarted containers' ports must first go), gratuitous ARP after."""
    s = snap(bridge("br-app", datapath_type="", ports=[attached("nwold", container="c0", interface="eth1",
                                                                network="app", ofport=-1)]))
    backend, client, ctx = _backend(s)
    txn = ctx.ovs
    with txn.batch(("attach", "OVS ports", None)):
        plan = _Plan()
        for name, container in (("nwone", "c1"), ("nwtwo", "c2")):
            backend.plan_attach(plan, ctx, name, None, "br-app", {"container": container, "ifname": "eth1",
                                                                  "network": "app"}, {})
        backend.plan_attach(plan, ctx, "nwold", None, "br-app", {"container": "c0", "ifname": "eth1",
                                                                 "network": "app"}, {})
        for _action, func, args in plan.steps:
            func(*args)
        assert client.transactions == [], "nothing is applied before the flush"
        announced = []
        backend.after_attach(ctx, announced.append, "garp")
    assert txn.made == 2
    assert len(client.transactions) == 2
    assert [o["op"] for o in client.transactions[0]] == ["del_port"]
    assert sorted(o["name"] for o in client.transactions[1]) == ["nwold", "nwone", "nwtwo"]
    assert announced == ["garp"] and not txn.batching
    assert txn.commit() == 0


def test_a_kernel_datapath_bridge_leaves_the_host_ends_arp_alone():
    s = snap(bridge("br-app", datapath_type="system"))
    backend, _client, ctx = _backend(s)
    plan = _Plan()
    backend.plan_attach(plan, ctx, "nwabc", None, "br-app", {"container": "c1", "ifname": "eth1"}, {})
    assert [description for description, _func, _args in plan.steps] == ["add port nwabc to OVS bridge br-app"]


def test_sysctl_paths_take_interface_names_only():
    from ansible_collections.netwire.fabric.plugins.module_utils._linux import sysctl
    from ansible_collections.netwire.fabric.plugins.module_utils._errors import BackendError

    for bad in ("", "..", "a/b"):
        with pytest.raises(BackendError, match="not an interface name"):
            sysctl.read_ipv4_conf(bad, "arp_ignore")
    assert sysctl.read_ipv4_conf("nw-no-such-link", "arp_ignore") is None
    assert sysctl.answers_foreign_arp("nw-no-such-link") is False
