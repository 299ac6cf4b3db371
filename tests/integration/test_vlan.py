"""VLAN networks on Open vSwitch, across hosts, with real packets and the spec suite.

Two OVS networks carry an access VLAN over all three hosts: mid (VLAN 10) on a bridge and
VXLAN mesh of its own, back (VLAN 20) on the trunk core (issue 19: ``netwire_trunks``; its
bridge nw-back is a fake VLAN bridge of nwk-core, whose one VXLAN mesh carries every VLAN).
side is VLAN 10 of the same trunk, on host1 only: acc-b3 (back, host3) must not reach acc-s1
(side, host1) at layer 2 across the trunk, while it reaches acc-m2.eth2 (back, host2) so.
A front network without VLAN routes into mid. acc-m2 (host2) has an
interface on each VLAN network, so the spec suite also probes a container's second
interface (acc-b3 -> acc-m2.eth2, across hosts, and acc-m1 -> acc-m2.eth2, routed
into the VLAN on host1 and answered straight back over mid).

The bridge's internal port is the containers' gateway: it must be an access port
of the network's VLAN like the containers' ports, or the gateway, routing, NAT and
zone flows of the network are gone. Then the tag is removed by hand on one host (from
mid's own bridge port and from back's fake VLAN bridge) and the audit must fail there,
and only there; the observed picture (graph.yml) draws the trunk and marks exactly back's VLAN
on host2.
"""

import json


import pytest

from tests.lab.core import sh
from tests.integration.test_graph import draw, marked, read
from tests.integration.test_spec_suite import Deployment, failed

pytestmark = pytest.mark.lab

OUTSIDE = "203.0.113.10"
CONTAINERS = ("acc-f1", "acc-m1", "acc-m2", "acc-b3", "acc-s1")

MODEL = {
    "netwire_zones": {"front": {"allow_to": ["mid"]}, "mid": {"allow_to": ["back"]}, "back": {}, "side": {}},
    "netwire_trunks": {"core": {"overlay": "vxlan", "key": 144}},
    "netwire_networks": {
        "front": {"subnet": "10.41.0.0/24", "zone": "front", "backend": "ovs", "overlay": "gre", "key": 141,
                  "nat": True, "hosts": ["host1", "host2"]},
        "mid": {"subnet": "10.42.0.0/24", "zone": "mid", "backend": "ovs", "overlay": "vxlan", "key": 142,
                "vlan": 10, "nat": True, "hosts": ["host1", "host2", "host3"]},
        "back": {"subnet": "10.43.0.0/24", "zone": "back", "backend": "ovs", "trunk": "core",
                 "vlan": 20, "nat": False, "hosts": ["host1", "host2", "host3"]},
        "side": {"subnet": "10.45.0.0/24", "zone": "side", "backend": "ovs", "trunk": "core", "vlan": 10},
    },
    "netwire_containers": {
        "acc-f1": {"host": "host1", "interfaces": [{"network": "front"}]},
        "acc-m1": {"host": "host1", "interfaces": [{"network": "mid", "address": "10.42.0.31"}]},
        "acc-m2": {"host": "host2", "interfaces": [{"network": "mid", "address": "10.42.0.32"},
                                                   {"network": "back", "address": "10.43.0.32"}]},
        "acc-b3": {"host": "host3", "interfaces": [{"network": "back", "address": "10.43.0.33"}]},
        "acc-s1": {"host": "host1", "interfaces": [{"network": "side", "address": "10.45.0.31"}]},
    },
    "netwire_host_defaults": {"underlay_interface": "eth1", "underlay_mtu": 1500, "ovs_datapath": "netdev"},
}


class VlanDeployment(Deployment):
    def __init__(self, lab, model_dir):
        Deployment.__init__(self, lab, model_dir)
        self.docker = dict((c, "lab%d-%s" % (lab.instance, c)) for c in CONTAINERS)

    def ping(self, container, address, count=2):
        return sh(["docker", "exec", self.docker[container], "ping", "-c", str(count), "-W", "2", address],
                  check=False, timeout=30).returncode == 0


@pytest.fixture(scope="module")
def vlan(lab, tmp_path_factory):
    d = VlanDeployment.of_model(lab, tmp_path_factory.mktemp("vlan-model") / "model", MODEL, CONTAINERS)
    d.playbook("site.yml")
    yield d
    d.playbook("down.yml")
    d.remove_containers()


def _tag(host, port):
    out = host.run(["ovs-vsctl", "get", "Port", port, "tag"]).stdout.strip()
    return None if out == "[]" else int(out)


def test_internal_ports_carry_the_vlan(vlan, lab):
    for name in ("host1", "host2", "host3"):
        h = lab.host(name)
        assert (_tag(h, "nw-mid"), _tag(h, "nw-back"), _tag(h, "nw-front") if name != "host3" else None) == \
            (10, 20, None), name


def test_vlan_traffic_across_hosts_and_through_nat(vlan):
    # the gateways (each container's local host, on its VLAN)
    assert vlan.ping("acc-m2", "10.42.0.2"), "acc-m2 cannot reach its gateway on mid (VLAN 10)"
    assert vlan.ping("acc-m1", "10.42.0.1"), "acc-m1 cannot reach its gateway on mid (VLAN 10)"
    assert vlan.ping("acc-b3", "10.43.0.3"), "acc-b3 cannot reach its gateway on back (VLAN 20)"
    # across hosts on one VLAN, and a container's second interface
    assert vlan.ping("acc-m1", "10.42.0.32"), "acc-m1 (host1) cannot reach acc-m2 (host2) on mid"
    assert vlan.ping("acc-b3", "10.43.0.32"), "acc-b3 (host3) cannot reach acc-m2.eth2 (host2) on back"
    # routed into a VLAN network (zone flows front -> mid -> back) and denied the other way
    assert vlan.ping("acc-f1", "10.42.0.32"), "front -> mid (routed into VLAN 10 on host1) fails"
    assert vlan.ping("acc-m1", "10.43.0.33"), "mid -> back (routed from VLAN 10 into VLAN 20 on host1) fails"
    assert not vlan.ping("acc-b3", "10.42.0.31", count=1), "back -> mid is not allowed by the model"
    # NAT egress from a VLAN network; none from back (nat: false)
    assert vlan.ping("acc-m2", OUTSIDE), "acc-m2 gets no NAT egress from mid (VLAN 10)"
    assert vlan.ping("acc-m1", OUTSIDE), "acc-m1 gets no NAT egress from mid (VLAN 10)"
    assert not vlan.ping("acc-b3", OUTSIDE, count=1), "back has nat: false but reaches the outside"


def _inside(container, *argv):
    """``argv`` in a container's network namespace (the lab's containers have no NET_ADMIN of their own)."""
    pid = json.loads(sh(["docker", "inspect", container]).stdout)[0]["State"]["Pid"]
    sh(["nsenter", "--net=/proc/%d/ns/net" % pid] + list(argv), timeout=10)


def test_networks_on_a_trunk_are_its_vlans(vlan, lab):
    for name in ("host1", "host2", "host3"):
        h = lab.host(name)
        assert h.run("ovs-vsctl br-to-parent nw-back").stdout.strip() == "nwk-core", name
        assert h.run("ovs-vsctl br-to-vlan nw-back").stdout.strip() == "20", name
    assert lab.host("host1").run("ovs-vsctl br-to-vlan nw-side").stdout.strip() == "10"
    # Layer 2 across the trunk: an address of back's subnet is on-link for acc-b3 (back, VLAN 20, host3), so its
    # ping is an ARP broadcast on VLAN 20 over the trunk's mesh. On acc-s1 (side: VLAN 10 of the same trunk,
    # host1) nothing answers; on acc-m2.eth2 (back, host2) the same address answers.
    probe = "10.43.0.99/24"
    for container, ifname, reached in (("acc-s1", "eth1", False), ("acc-m2", "eth2", True)):
        _inside(vlan.docker[container], "ip", "addr", "add", probe, "dev", ifname)
        try:
            got = vlan.ping("acc-b3", probe.split("/", maxsplit=1)[0], count=2 if reached else 1)
        finally:
            _inside(vlan.docker[container], "ip", "addr", "del", probe, "dev", ifname)
        assert got == reached, "acc-b3 (VLAN 20 of trunk core) %s %s.%s (%s)" % (
            "cannot reach" if reached else "reaches", container, ifname,
            "VLAN 20 of core, across the trunk" if reached else "VLAN 10 of core: the VLANs leak")


def test_audit_passes_and_fails_where_the_tag_is_removed(vlan, lab, tmp_path):
    base = vlan.audit(tmp_path)
    assert not failed(base), "the audit fails on the converged VLAN lab:\n%s" % vlan.last_output[-3000:]
    for pair in ("acc-b3->acc-m2.eth2", "acc-m1->acc-m2.eth2", "acc-f1->acc-m2.eth1"):
        assert base.get("test_reachable[%s-icmp]" % pair) == "passed", pair
        assert base.get("test_reachable[%s-tcp]" % pair) == "passed", pair
    # the picture of the hosts as they are (graph.yml observed=true) draws the trunk and marks nothing
    svg = read(draw(lab, vlan.model, tmp_path / "graph-ok") / "observed-topology.svg")
    for eid in ("trunk:host1:core", "vlan:host3:back", "vlan:host1:side", "tunnel:trunk:core:host2:host3"):
        assert 'id="%s"' % eid in svg, eid
    assert marked(svg, "missing") == set() and marked(svg, "extra") == set()
    host2 = lab.host("host2")
    host2.run(["ovs-vsctl", "remove", "Port", "nw-mid", "tag", "10"])
    assert _tag(host2, "nw-mid") is None
    host2.run(["ovs-vsctl", "remove", "Port", "nw-back", "tag", "20"])  # back's fake VLAN bridge on trunk core
    assert _tag(host2, "nw-back") is None
    try:
        broken = vlan.audit(tmp_path)
        # and marks exactly back's VLAN on host2 (mid's own bridge is not a trunk's VLAN: the audit sees it)
        svg = read(draw(lab, vlan.model, tmp_path / "graph-broken") / "observed-topology.svg")
        assert marked(svg, "missing") == {"vlan:host2:back"}, svg
        assert "nw-back without a vlan" in svg
    finally:
        vlan.playbook("site.yml")
    bad = failed(broken)
    # host2's mid gateway is gone: its bridge and drift checks, and acc-m2's way out
    must = {"test_bridge[host2-nw-mid]", "test_no_drift[host2]", "test_nat_egress[acc-m2]"}
    assert must <= bad, "checks that should fail but pass: %s\n%s" % (sorted(must - bad), vlan.last_output[-3000:])
    assert "test_bridge[host2-nw-back]" in bad, "the audit does not see the fake VLAN bridge's tag removed"
    # nothing else: every failure is about host2 or a container that needs host2's mid gateway
    unrelated = sorted(i for i in bad if "host2" not in i and "acc-m2" not in i)
    assert not unrelated, "checks fail that do not depend on host2's mid gateway: %s" % unrelated
    # site.yml put the tag back
    assert _tag(host2, "nw-mid") == 10
    assert _tag(host2, "nw-back") == 20
    assert not failed(vlan.audit(tmp_path)), vlan.last_output[-3000:]
