"""The spec suite's expectations (tests/spec/_expect.py) and its OVS JSON decoding, without hosts."""

import pytest
import yaml

from ansible_collections.netwire.fabric.plugins.plugin_utils import model as _model
from tests.lab.core import REPO
from tests.spec import _expect
from tests.spec._state import ovs_rows, ovs_value

EXAMPLE = REPO / "examples" / "model"


def _hostvars(model):
    hosts = {}
    for i, name in enumerate(("host1", "host2", "host3"), 1):
        hosts[name] = dict(model, netwire_host={"index": i, "underlay_address": "198.19.0.1%d/24" % i},
                           netwire_host_defaults={"underlay_interface": "eth1", "ovs_datapath": "netdev"})
    return hosts


def _normalized(model):
    model_in, hosts_in = _expect.model_inputs(_hostvars(model))
    normalized, findings, _warnings = _model.analyze(model_in, hosts_in)
    assert findings == []
    return normalized


@pytest.fixture(scope="module")
def demo():
    return _normalized(yaml.safe_load((EXAMPLE / "group_vars" / "all.yml").read_text()))


def test_demo_matrix_follows_the_zones(demo):
    allowed = dict((p["id"], p["allowed"]) for p in _expect.pairs(demo))
    assert sorted(i for i, a in allowed.items() if a) == [
        "app1->app2", "app1->db1", "app2->app1", "app2->db1", "web1->app1", "web1->app2", "web1->web2",
        "web2->app1", "web2->app2", "web2->web1"]
    assert len(allowed) == 20


def test_demo_mtu_pairs_are_one_network_across_hosts(demo):
    assert sorted(p["id"] for p in _expect.mtu_pairs(demo)) == ["web1->web2", "web2->web1"]
    assert set(p["mtu"] for p in _expect.mtu_pairs(demo)) == {1458}


def test_demo_elements_and_ids(demo):
    plans = _model.plans_of(demo)
    assert "host2-nw-backend" in [b["id"] for b in _expect.bridges(plans)]
    tunnels = dict((t["id"], t) for t in _expect.tunnels(plans))
    assert tunnels["host2-app"]["remotes"] == ["198.19.0.11", "198.19.0.13"]
    assert tunnels["host1-dmz"]["remotes"] == ["198.19.0.12"]
    attach = dict((a["id"], a) for a in _expect.attachments(plans, demo))
    assert attach["db1.eth1"]["path"] == "netwire_containers.db1.interfaces[0]"
    assert [(e["id"], e["nat"]) for e in _expect.egress(demo)] == [
        ("app1", True), ("app2", True), ("db1", False), ("web1", True), ("web2", True)]
    assert [p["id"] for p in _expect.publications(demo)] == ["web1:tcp/8080"]
    assert _expect.server_ports(demo, 47011)["web1"] == [("tcp", 47011), ("tcp", 80)]


def test_icc_off_and_no_route():
    model = {
        "netwire_zones": {"a": {}},
        "netwire_networks": {
            "quiet": {"subnet": "10.1.0.0/24", "zone": "a", "icc": False},
            "other": {"subnet": "10.2.0.0/24", "zone": "a"},
        },
        "netwire_containers": {
            "c1": {"host": "host1", "interfaces": [{"network": "quiet"}]},
            "c2": {"host": "host1", "interfaces": [{"network": "quiet"}]},
            "c3": {"host": "host1", "interfaces": [{"network": "other", "gateway": "none"}]},
        },
    }
    pairs = dict((p["id"], p) for p in _expect.pairs(_normalized(model)))
    assert not pairs["c1->c2"]["allowed"] and "icc off" in pairs["c1->c2"]["why"]
    assert pairs["c1->c3"]["allowed"]            # same zone, routed through the host
    assert not pairs["c3->c1"]["allowed"]        # no interface on quiet and no gateway
    assert "no gateway" in pairs["c3->c1"]["why"]


def test_inconsistent_model_between_hosts():
    hv = {"h1": {"netwire_zones": {"a": {}}}, "h2": {"netwire_zones": {"b": {}}}}
    assert _expect.inconsistent(hv) == ["hostvars.h2.netwire_zones differs from what host h1 sees"]


def test_ovs_json_cells():
    assert ovs_value(["uuid", "u1"]) == "u1"
    assert ovs_value(["set", []]) == []
    assert ovs_value(["set", [["uuid", "a"], ["uuid", "b"]]]) == ["a", "b"]
    assert ovs_value(["map", [["key", "110"], ["remote_ip", "198.19.0.12"]]]) == {
        "key": "110", "remote_ip": "198.19.0.12"}
    assert ovs_value(1458) == 1458
    doc = {"headings": ["name", "tag"], "data": [["p1", ["set", []]], ["p2", 10]]}
    assert ovs_rows(doc) == [{"name": "p1", "tag": []}, {"name": "p2", "tag": 10}]


def test_demo_rules_and_qdisc_checks(demo):
    plans = _model.plans_of(demo)
    rules, = _expect.policy_rules(plans, demo)
    assert rules["id"] == "db1" and rules["host"] == "host3"
    assert [(r["priority"], r["from"], r["table"]) for r in rules["attach"]["rules"]] == [(1000, "10.30.0.20/32", 130)]
    assert [(r["dest"], r["via"]) for r in rules["routes"]] == [("10.30.0.0/24", None), ("0.0.0.0/0", "10.30.0.3")]
    assert [q["id"] for q in _expect.policy_qdiscs(plans, demo)] == ["db1.eth1"]


DIRECT_MODEL = {
    "netwire_zones": {"lan": {}},
    "netwire_networks": {"dn": {"subnet": "10.46.0.0/24", "zone": "lan", "backend": "linux", "nat": False,
                                "hosts": ["host1"]}},
    "netwire_containers": {
        "dm1": {"host": "host1", "interfaces": [
            {"network": "dn"},
            {"kind": "macvlan", "parent": "nic0", "address": "10.47.0.11/24",
             "host_macvlan": {"addresses": ["10.47.0.1/24"]}},
            {"kind": "vlan", "parent": "nic2", "vlan": 7, "ifname": "v7", "address": "10.49.0.2/24",
             "macvlan_mode": "private"}]},
        "dm2": {"host": "host1", "interfaces": [
            {"kind": "phys", "parent": "nic1", "ifname": "lan0", "address": "10.48.0.5/24"},
            {"kind": "phys", "parent": "mac:52:54:00:AB:CD:EF", "ifname": "lan1", "address": "10.48.1.5/24"},
            {"kind": "macvlan", "parent": "nic0", "address": "10.47.0.12/24", "ifname": "mv0",
             "host_macvlan": {"addresses": ["10.47.0.1/24"]}},
            {"kind": "dummy", "ifname": "d0"}]},
    },
}


def test_direct_interfaces_are_their_own_checks_and_not_veth_ones():
    """A model with direct interfaces: every per-network expectation skips them (they were an IndexError:
    the spec suite could not even collect), and each one is a direct_interface check in the form
    container_attach normalizes it to; the host links they share are direct_host_link checks."""
    model = _normalized(DIRECT_MODEL)
    plans = _model.plans_of(model)
    assert [a["id"] for a in _expect.attachments(plans, model)] == ["dm1.eth1"]
    assert _expect.policy_rules(plans, model) == [] and _expect.policy_qdiscs(plans, model) == []
    assert _expect.name_checks(plans, model) is not None and _expect.dhcp_leases(plans, model) == []
    direct = dict((d["id"], d) for d in _expect.direct_interfaces(plans, model))
    assert sorted(direct) == ["dm1.eth2", "dm1.v7", "dm2.d0", "dm2.lan0", "dm2.lan1", "dm2.mv0"]
    mv = direct["dm1.eth2"]
    assert (mv["host"], mv["ref"], mv["lower"], mv["path"]) == (
        "host1", "dm1", "nic0", "netwire_containers.dm1.interfaces[1]")
    assert mv["attach"]["macvlan_mode"] == "bridge" and mv["attach"]["addresses"] == ["10.47.0.11/24"]
    assert direct["dm1.v7"]["lower"] == "nic2.7" and direct["dm1.v7"]["attach"]["macvlan_mode"] == "private"
    assert (direct["dm2.lan0"]["attach"]["parent"], direct["dm2.lan0"]["attach"]["parent_mac"]) == ("nic1", None)
    assert (direct["dm2.lan1"]["attach"]["parent"], direct["dm2.lan1"]["attach"]["parent_mac"]) == (
        None, "52:54:00:ab:cd:ef")
    assert direct["dm2.lan0"]["path"] == "netwire_containers.dm2.interfaces[0]"
    assert direct["dm2.d0"]["lower"] is None and direct["dm2.d0"]["attach"]["addresses"] == []
    shared = dict((s["id"], s) for s in _expect.direct_host_links(plans, model))
    assert sorted(shared) == ["host1-nic2.7", "host1-nwm-nic0"]
    side = shared["host1-nwm-nic0"]
    assert (side["kind"], side["link"], side["mode"], side["addresses"], side["users"]) == (
        "macvlan", "nic0", "bridge", ["10.47.0.1/24"], ["dm1.eth2", "dm2.mv0"])
    assert side["path"] == ("netwire_containers.dm1.interfaces[1].host_macvlan and "
                            "netwire_containers.dm2.interfaces[2].host_macvlan")
    assert (shared["host1-nic2.7"]["kind"], shared["host1-nic2.7"]["link"], shared["host1-nic2.7"]["vlan"]) == (
        "vlan", "nic2", 7)


def test_a_network_on_a_trunk_is_checked_as_a_fake_bridge_of_the_trunks_bridge():
    model = {
        "netwire_zones": {"a": {}},
        "netwire_trunks": {"core": {"overlay": "vxlan", "key": 144}},
        "netwire_networks": {"back": {"subnet": "10.43.0.0/24", "zone": "a", "backend": "ovs", "trunk": "core",
                                      "vlan": 20, "hosts": ["host1", "host2"]}},
        "netwire_containers": {},
    }
    normalized = _normalized(model)
    plans = _model.plans_of(normalized)
    found = dict((b["id"], b) for b in _expect.bridges(plans))
    back = found["host1-nw-back"]
    assert (back["kind"], back["parent"], back["vlan"], back["trunk"], back["address"]) == \
        ("ovs", "nwk-core", 20, "core", "10.43.0.1/24")
    trunk = found["host1-nwk-core"]
    assert (trunk["kind"], trunk["path"]) == ("ovs-trunk", "netwire_trunks.core (bridge nwk-core on host host1)")
    assert "host3-nwk-core" not in found
    tunnels = dict((t["id"], t) for t in _expect.tunnels(plans))
    mesh = tunnels["host1-trunk:core"]
    assert (mesh["backend"], mesh["remotes"], mesh["path"]) == \
        ("ovs", ["198.19.0.12"], "netwire_trunks.core (overlay vxlan on host host1)")
