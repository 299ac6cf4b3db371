"""The observed view (plugins/plugin_utils/graph/observed.py): net_info reports against the model.

The reports are made up from the plans (graph_cases.reports: a faithful deployment), then broken
one thing at a time, as the lab test breaks real hosts.
"""

import re

import pytest

from ansible_collections.netwire.fabric.plugins.module_utils._names import ovs_tunnel_port_name, veth_host_name
from ansible_collections.netwire.fabric.plugins.plugin_utils import graph
from ansible_collections.netwire.fabric.plugins.plugin_utils.graph import Observation

from tests.unit import graph_cases
from tests.unit.model_cases import demo


@pytest.fixture
def norm():
    model, host_vars = demo()
    return graph_cases.normalized(model, host_vars)


def statuses(norm, reports, status):
    """Ids drawn with ``status`` in the observed topology's DOT."""
    dot = graph.files(norm, reports)["observed-topology.dot"]
    return set(re.findall(r'\[id="([^"]+)", class="\w+ %s"' % status, dot)) - set(
        i for i in re.findall(r'\[id="([^"]+)"', dot) if re.search(r":([ab]|link)$", i))


def test_a_faithful_deployment_has_no_drift(norm):
    reports = graph_cases.reports(norm)
    files = graph.files(norm, reports)
    assert files["observed-summary.txt"] == "missing 0, extra 0, not reported 0\n"
    for status in ("missing", "extra", "unknown"):
        assert statuses(norm, reports, status) == set()
    # the same picture as the model's, but for its name and title
    model = files["topology.dot"]
    observed = files["observed-topology.dot"].replace("observed-topology", "topology").replace(
        "netwire topology as observed", "netwire topology")
    assert observed == model


def test_a_deleted_ovs_tunnel_port_is_exactly_that_edge(norm):
    reports = graph_cases.reports(norm)
    port = ovs_tunnel_port_name("gre", "dmz", "198.19.0.12")
    tunnels = reports["host1"]["ovs"]["tunnels"]
    reports["host1"]["ovs"]["tunnels"] = [t for t in tunnels if t["name"] != port]
    assert len(reports["host1"]["ovs"]["tunnels"]) == len(tunnels) - 1
    assert statuses(norm, reports, "missing") == {"tunnel:dmz:host1:host2"}
    dot = graph.files(norm, reports)["observed-topology.dot"]
    line = [l for l in dot.splitlines() if l.strip().startswith('"tunnel:dmz:host1:host2" [')][0]
    assert "no %s on host1\\nMISSING" % port in line
    assert 'style="filled,rounded,dashed"' in line and 'color="#dc2626"' in line
    halves = [l for l in dot.splitlines() if 'id="tunnel:dmz:host1:host2:' in l]
    assert len(halves) == 2 and all('style="dashed"' in l and 'color="#dc2626"' in l for l in halves)
    mmd = graph.files(norm, reports)["observed-topology.mmd"]
    assert re.search(r"-\.-\|\"dmz: gre key 110<br/>mtu 1458<br/>no %s on host1<br/>MISSING\"\|" % port, mmd)
    assert "MISSING" in mmd.split("subgraph legend")[1]


def test_a_deleted_vxlan_flood_entry_is_exactly_that_edge(norm):
    reports = graph_cases.reports(norm)
    reports["host2"]["tunnels"]["nwx-app"]["remotes"].remove("198.19.0.13")
    assert statuses(norm, reports, "missing") == {"tunnel:app:host2:host3"}
    assert Observation(norm, reports).notes("tunnel:app:host2:host3") == ["no flood to 198.19.0.13 in nwx-app on host2"]


def test_a_deleted_vxlan_device_takes_its_hosts_tunnels(norm):
    reports = graph_cases.reports(norm)
    del reports["host3"]["tunnels"]["nwx-app"]
    assert statuses(norm, reports, "missing") == {"tunnel:app:host1:host3", "tunnel:app:host2:host3"}


def test_missing_bridge_and_attachment(norm):
    reports = graph_cases.reports(norm)
    del reports["host3"]["bridges"]["nw-app"]
    reports["host2"]["attachments"] = [a for a in reports["host2"]["attachments"]
                                       if a["host_ifname"] != veth_host_name("app1", "eth1")]
    reports["host3"]["ovs"]["bridges"] = [b for b in reports["host3"]["ovs"]["bridges"] if b["name"] != "nw-backend"]
    assert statuses(norm, reports, "missing") == {"bridge:host3:app", "attach:app1:eth1", "container:app1",
                                                  "bridge:host3:backend"}


def test_an_attachment_on_another_bridge_is_missing_where_the_model_wants_it(norm):
    reports = graph_cases.reports(norm)
    for a in reports["host2"]["attachments"]:
        if a["host_ifname"] == veth_host_name("web2", "eth1"):
            a["bridge"] = "nw-app"
    observation = Observation(norm, reports)
    assert observation.status("attach:web2:eth1") == "missing"
    assert observation.notes("attach:web2:eth1") == ["on nw-app"]


def test_owned_objects_the_model_lacks_are_extra(norm):
    reports = graph_cases.reports(norm)
    reports["host3"]["bridges"]["nw-stray"] = {"name": "nw-stray", "owned": True}
    reports["host1"]["ovs"]["bridges"].append({"name": "nw-old"})
    reports["host2"]["attachments"].append({"host_ifname": "nw0123456789abc", "identity": "docker:ghost",
                                            "ifname": "eth1", "bridge": "nw-app"})
    reports["host2"]["tunnels"]["nwx-app"]["remotes"].append("198.19.0.99")
    reports["host3"]["ovs"]["tunnels"].append({"name": "vxl-0000000000a", "bridge": "nw-backend", "type": "vxlan",
                                               "remote": "198.19.0.99"})
    assert statuses(norm, reports, "extra") == {
        "extra:host3:bridge:nw-stray", "extra:host1:ovs-bridge:nw-old", "extra:host2:attach:nw0123456789abc",
        "extra:host2:remote:nwx-app:198.19.0.99", "extra:host3:ovs-tunnel:vxl-0000000000a"}
    assert statuses(norm, reports, "missing") == set()
    dot = graph.files(norm, reports)["observed-topology.dot"]
    # an extra on a drawn bridge hangs from it
    assert '"bridge:host2:app" -> "extra:host2:attach:nw0123456789abc"' in dot
    assert "docker:ghost/eth1\\nhost end nw0123456789abc\\nEXTRA (not in the model)" in dot
    assert graph.files(norm, reports)["observed-summary.txt"] == "missing 0, extra 5, not reported 0\n"


def test_the_underlay_bridge_is_declared_not_extra(norm):
    reports = graph_cases.reports(norm)
    assert "nwu-eth1" in [b["name"] for b in reports["host1"]["ovs"]["bridges"]]
    assert statuses(norm, reports, "extra") == set()


def test_a_host_that_did_not_report_is_unknown(norm):
    reports = graph_cases.reports(norm)
    reports["host3"] = {"unreachable": True, "msg": "ssh: connect to host"}
    observation = Observation(norm, reports)
    assert observation.host_status("host3") == "unknown"
    assert statuses(norm, reports, "unknown") >= {"bridge:host3:app", "container:db1", "tunnel:app:host1:host3",
                                                  "tunnel:backend:host2:host3"}
    assert statuses(norm, reports, "missing") == set()
    del reports["host2"]
    assert Observation(norm, reports).host_status("host2") == "unknown"
    # a failed read and a missing end: the missing end wins
    reports = graph_cases.reports(norm)
    reports["host3"] = {"failed": True, "msg": "pyroute2 missing"}
    del reports["host2"]["tunnels"]["nwx-app"]
    assert Observation(norm, reports).status("tunnel:app:host2:host3") == "missing"


def test_observed_addresses_show_when_they_differ(norm):
    reports = graph_cases.reports(norm)
    reports["host2"]["containers"] = {
        "app1": {"links": [{"name": "eth1", "addresses": ["10.20.0.99/24"]}]},
        "web2": {"links": [{"name": "eth1", "addresses": ["10.10.0.188/24"]}]},
    }
    dot = graph.files(norm, reports)["observed-topology.dot"]
    assert 'label="app1\\neth1 10.20.0.99/24 (model 10.20.0.96/24)"' in dot
    assert 'label="web2\\neth1 10.10.0.188/24"' in dot


def test_large_model_observed_marks_the_network_pictures(norm):
    large = graph_cases.large()
    reports = graph_cases.reports(large)
    reports["h03"]["tunnels"]["nwx-app"]["remotes"].remove("198.19.0.17")   # h03 -> h07 on app (a star)
    port = ovs_tunnel_port_name("gre", "edge", "198.19.0.12")
    reports["h01"]["ovs"]["tunnels"] = [t for t in reports["h01"]["ovs"]["tunnels"] if t["name"] != port]
    reports["h05"]["bridges"]["nw-stray"] = {"name": "nw-stray", "owned": True}
    files = graph.files(large, reports)
    assert files["observed-summary.txt"] == "missing 2, extra 1, not reported 0\n"
    app = files["observed-network-app.dot"]
    assert set(re.findall(r'"(spoke:[^"]+)" \[id="[^"]+", class="tunnel missing"', app)) == {"spoke:app:h03",
                                                                                             "spoke:app:h07"}
    assert "tunnel to h07 missing" in app and "tunnel to h03 missing" in app
    edge = files["observed-network-edge.dot"]
    assert re.findall(r'"(tunnel:[^"]+)" \[id="[^"]+", class="tunnel missing"', edge) == ["tunnel:edge:h01:h02"]
    overview = files["observed-topology.dot"]
    assert set(re.findall(r'\[id="(carries:[^"]+)", class="link missing"', overview)) == {
        "carries:h01:edge", "carries:h02:edge", "carries:h03:app", "carries:h07:app"}
    assert '"carries:h01:edge", class="link missing", label="1 missing\\nMISSING"' in overview
    # an extra object of a host is counted on the host in the overview, drawn in no network picture
    assert re.findall(r'\[id="([^"]+)", class="host extra", label="([^"]+)"', overview) == [
        ("host:h05", "h05\\nunderlay 198.19.0.15\\n5 containers\\n1 extra objects")]
    assert not [name for name, text in files.items() if "nw-stray" in text]


def test_networks_on_a_trunk_are_observed_on_their_fake_bridges():
    """net_info lists a fake VLAN bridge apart from the bridges, and a container on it as a port of the trunk's
    bridge: a faithful trunk deployment has no drift, and the trunk's mesh is declared, not extra."""
    from ansible_collections.netwire.fabric.plugins.plugin_utils.model import plans_of
    from tests.unit.model_cases import hosts
    from tests.unit.test_model_trunk import trunked

    norm = graph_cases.normalized(trunked(), hosts())
    reports = graph_cases.trunk_reports(norm)
    assert [b["name"] for b in reports["h1"]["ovs"]["fake_bridges"]] == ["nw-back", "nw-side"]
    assert graph.files(norm, reports)["observed-summary.txt"] == "missing 0, extra 0, not reported 0\n"
    # the container on back, seen on another bridge than the trunk's, is missing there
    web = [a for a in reports["h1"]["attachments"] if a["host_ifname"] == veth_host_name("web1", "eth2")][0]
    assert web["bridge"] == "nwk-core"
    web["bridge"] = "nw-other"
    assert "missing 1" in graph.files(norm, reports)["observed-summary.txt"]


def test_a_trunks_bridge_vlans_and_mesh_are_observed():
    """The trunk's bridge, each network's VLAN on it and the trunk's mesh are marked one thing at a time: a
    deleted mesh port is exactly that tunnel, a fake bridge on another VLAN or parent exactly that VLAN edge, a
    deleted trunk bridge that node; a host that did not report leaves them unknown."""
    from tests.unit.model_cases import hosts
    from tests.unit.test_model_trunk import trunked

    norm = graph_cases.normalized(trunked(), hosts())

    def marked(reports, status):
        dot = graph.files(norm, reports)["observed-topology.dot"]
        return set(re.findall(r'\[id="([^"]+)", class="\w+ %s"' % status, dot)) - set(
            i for i in re.findall(r'\[id="([^"]+)"', dot) if re.search(r":([ab]|link)$", i))

    reports = graph_cases.trunk_reports(norm)
    port = ovs_tunnel_port_name("geneve", "trunk:core", norm["hosts"]["h1"]["underlay_address"])
    reports["h2"]["ovs"]["tunnels"] = [t for t in reports["h2"]["ovs"]["tunnels"] if t["name"] != port]
    assert marked(reports, "missing") == {"tunnel:trunk:core:h1:h2"}
    assert "no %s on h2" % port in graph.files(norm, reports)["observed-topology.dot"]

    reports = graph_cases.trunk_reports(norm)
    side = [b for b in reports["h1"]["ovs"]["fake_bridges"] if b["name"] == "nw-side"][0]
    side["vlan"] = 31
    assert marked(reports, "missing") == {"vlan:h1:side"}
    assert "nw-side with vlan 31" in graph.files(norm, reports)["observed-topology.dot"]
    side["vlan"] = None  # the tag removed by hand (test_vlan.py)
    assert marked(reports, "missing") == {"vlan:h1:side"}
    assert "nw-side without a vlan" in graph.files(norm, reports)["observed-topology.dot"]
    side.update(vlan=30, parent="nw-other")
    assert marked(reports, "missing") == {"vlan:h1:side"}
    assert "nw-side on nw-other" in graph.files(norm, reports)["observed-topology.dot"]

    reports = graph_cases.trunk_reports(norm)
    reports["h1"]["ovs"]["bridges"] = [b for b in reports["h1"]["ovs"]["bridges"] if b["name"] != "nwk-core"]
    assert marked(reports, "missing") == {"trunk:h1:core"}

    reports = graph_cases.trunk_reports(norm)
    del reports["h2"]
    assert {"trunk:h2:core", "vlan:h2:back", "tunnel:trunk:core:h1:h2"} <= marked(reports, "unknown")
