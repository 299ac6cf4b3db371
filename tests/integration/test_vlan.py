"""VLAN networks on Open vSwitch, across hosts, with real packets and the spec suite.

Two OVS networks carry an access VLAN (mid: 10, back: 20) over VXLAN meshes of all
three hosts; a front network without VLAN routes into mid. acc-m2 (host2) has an
interface on each VLAN network, so the spec suite also probes a container's second
interface (acc-b3 -> acc-m2.eth2, across hosts, and acc-m1 -> acc-m2.eth2, routed
into the VLAN on host1 and answered straight back over mid).

The bridge's internal port is the containers' gateway: it must be an access port
of the network's VLAN like the containers' ports, or the gateway, routing, NAT and
zone flows of the network are gone. Then the tag is removed by hand on one host and
the audit must fail there, and only there.
"""


import pytest

from tests.lab.core import sh
from tests.integration.test_spec_suite import Deployment, failed

pytestmark = pytest.mark.lab

OUTSIDE = "203.0.113.10"
CONTAINERS = ("acc-f1", "acc-m1", "acc-m2", "acc-b3")

MODEL = {
    "netwire_zones": {"front": {"allow_to": ["mid"]}, "mid": {"allow_to": ["back"]}, "back": {}},
    "netwire_networks": {
        "front": {"subnet": "10.41.0.0/24", "zone": "front", "backend": "ovs", "overlay": "gre", "key": 141,
                  "nat": True, "hosts": ["host1", "host2"]},
        "mid": {"subnet": "10.42.0.0/24", "zone": "mid", "backend": "ovs", "overlay": "vxlan", "key": 142,
                "vlan": 10, "nat": True, "hosts": ["host1", "host2", "host3"]},
        "back": {"subnet": "10.43.0.0/24", "zone": "back", "backend": "ovs", "overlay": "vxlan", "key": 143,
                 "vlan": 20, "nat": False, "hosts": ["host1", "host2", "host3"]},
    },
    "netwire_containers": {
        "acc-f1": {"host": "host1", "interfaces": [{"network": "front"}]},
        "acc-m1": {"host": "host1", "interfaces": [{"network": "mid", "address": "10.42.0.31"}]},
        "acc-m2": {"host": "host2", "interfaces": [{"network": "mid", "address": "10.42.0.32"},
                                                   {"network": "back", "address": "10.43.0.32"}]},
        "acc-b3": {"host": "host3", "interfaces": [{"network": "back", "address": "10.43.0.33"}]},
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


def test_audit_passes_and_fails_where_the_tag_is_removed(vlan, lab, tmp_path):
    base = vlan.audit(tmp_path)
    assert not failed(base), "the audit fails on the converged VLAN lab:\n%s" % vlan.last_output[-3000:]
    for pair in ("acc-b3->acc-m2.eth2", "acc-m1->acc-m2.eth2", "acc-f1->acc-m2.eth1"):
        assert base.get("test_reachable[%s-icmp]" % pair) == "passed", pair
        assert base.get("test_reachable[%s-tcp]" % pair) == "passed", pair
    host2 = lab.host("host2")
    host2.run(["ovs-vsctl", "remove", "Port", "nw-mid", "tag", "10"])
    assert _tag(host2, "nw-mid") is None
    try:
        broken = vlan.audit(tmp_path)
    finally:
        vlan.playbook("site.yml")
    bad = failed(broken)
    # host2's mid gateway is gone: its bridge and drift checks, and acc-m2's way out
    must = {"test_bridge[host2-nw-mid]", "test_no_drift[host2]", "test_nat_egress[acc-m2]"}
    assert must <= bad, "checks that should fail but pass: %s\n%s" % (sorted(must - bad), vlan.last_output[-3000:])
    # nothing else: every failure is about host2 or a container that needs host2's mid gateway
    unrelated = sorted(i for i in bad if "host2" not in i and "acc-m2" not in i)
    assert not unrelated, "checks fail that do not depend on host2's mid gateway: %s" % unrelated
    # site.yml put the tag back
    assert _tag(host2, "nw-mid") == 10
    assert not failed(vlan.audit(tmp_path)), vlan.last_output[-3000:]
