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
