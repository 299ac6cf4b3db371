"""The spec suite checks a model's direct container interfaces (issue 19), and fails exactly where they are broken.

A small model on host1: dm1 has a veth on network dn and a macvlan on a host "NIC" (a veth pair in the
lab host, both ends up) with the host-side macvlan; dm2 has nothing but a NIC handed to it (phys, renamed
lan0). site.yml builds it, the audit passes, with the direct checks among what passed. Then, by hand,
dm1's macvlan is deleted and dm2's NIC is moved back into the host under its own name (as pipework #242
leaves it); the audit must fail exactly at those two interfaces, at host1's drift check, and at host1's
stray links (the NIC, back in the host, still carries the mark of a NIC handed to dm2). site.yml repairs it.
One build, one audit before and one after the break (the CI is near its time limit).
"""


import pytest

from tests.lab.core import sh
from tests.integration.test_spec_suite import Deployment, failed

pytestmark = pytest.mark.lab

CONTAINERS = ("dm1", "dm2")
NIC, NIC2 = "nwt-dnic0", "nwt-dnic1"
MODEL = {
    "netwire_zones": {"lan": {}},
    "netwire_networks": {"dn": {"subnet": "10.46.0.0/24", "zone": "lan", "backend": "linux", "nat": False,
                                "hosts": ["host1"]}},
    "netwire_containers": {
        "dm1": {"host": "host1", "interfaces": [
            {"network": "dn"},
            {"kind": "macvlan", "parent": NIC, "address": "10.47.0.11/24",
             "host_macvlan": {"addresses": ["10.47.0.1/24"]}}]},
        "dm2": {"host": "host1", "interfaces": [
            {"kind": "phys", "parent": NIC2, "ifname": "lan0", "address": "10.48.0.5/24"}]},
    },
    "netwire_host_defaults": {"underlay_interface": "eth1", "underlay_mtu": 1500, "ovs_datapath": "netdev"},
}
DIRECT_CHECKS = {"test_direct_interface[dm1.eth2]", "test_direct_interface[dm2.lan0]",
                 "test_direct_host_link[host1-nwm-%s]" % NIC}


@pytest.fixture(scope="module")
def direct(lab, tmp_path_factory):
    d = Deployment.of_model(lab, tmp_path_factory.mktemp("direct-model") / "model", MODEL, CONTAINERS)
    host1 = lab.host("host1")
    for nic in (NIC, NIC2):
        host1.run("ip link del {0} 2>/dev/null; ip link add {0} type veth peer name {0}p && ip link set {0} up"
                  " && ip link set {0}p up".format(nic))
    d.playbook("site.yml")
    yield d
    d.playbook("down.yml")
    d.remove_containers()
    host1.run("ip link del %s; ip link del %s; true" % (NIC, NIC2), check=False)


def test_audit_checks_direct_interfaces_and_fails_where_they_are_broken(direct, lab, tmp_path):
    base = direct.audit(tmp_path)
    assert not failed(base), "the audit fails on the converged lab:\n%s" % direct.last_output[-3000:]
    assert all(base.get(c) == "passed" for c in DIRECT_CHECKS), dict((c, base.get(c)) for c in DIRECT_CHECKS)

    host1 = lab.host("host1")
    ns1, ns2 = ("/proc/%d/ns/net" % direct.pid(c) for c in CONTAINERS)
    sh(["nsenter", "--net=%s" % ns1, "ip", "link", "del", "eth2"])
    sh(["nsenter", "--net=%s" % ns2, "ip", "link", "set", "lan0", "netns", host1.netns_path])
    host1.run("ip link set lan0 name %s" % NIC2)
    try:
        broken = direct.audit(tmp_path)
    finally:
        direct.playbook("site.yml")
    must = {"test_direct_interface[dm1.eth2]", "test_direct_interface[dm2.lan0]", "test_no_drift[host1]",
            "test_no_stray_links[host1]"}
    assert failed(broken) == must, "failed: %s, expected exactly %s\n%s" % (
        sorted(failed(broken)), sorted(must), direct.last_output[-3000:])
    assert broken["test_direct_host_link[host1-nwm-%s]" % NIC] == "passed"
    # site.yml put both back
    assert sh(["nsenter", "--net=%s" % ns1, "ip", "-j", "-d", "link", "show", "eth2"]).stdout.count('"macvlan"')
    assert sh(["nsenter", "--net=%s" % ns2, "ip", "link", "show", "lan0"], check=False).returncode == 0
