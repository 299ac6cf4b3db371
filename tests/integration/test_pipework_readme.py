"""Acceptance cases from pipework's README, each as container_attach does it, with real packets (issue 19).

pipework br1 $CID 10.39.1.5/24@10.39.1.254 26:2e:71:98:60:8f   (-i eth2: the interface name)
pipework route $CID add 10.39.9.0/24 via 10.39.1.254
pipework eth2 $CID 10.39.2.11/24                                 (a host NIC: macvlan)
pipework --direct-phys eth3 $CID 10.39.3.5/24                    (the NIC itself), then by mac:
pipework eth2.100 $CID ...                                        (a VLAN sub-interface: this kernel has no 8021q)

A veth pair in the lab host stands for each NIC; nothing leaves the lab host's namespaces.
"""

import pytest

from tests.integration.linux_helpers import addresses, assert_failed, link, link_in

pytestmark = pytest.mark.lab

BR = "nwt-pwbr"
NIC = "nwt-pweth2"     # the NIC of the macvlan case (its peer stays in the host, up: carrier)
PHYS = "nwt-pweth3"    # the NIC handed over (its peer is the far end, in a lab namespace)


@pytest.fixture(scope="module")
def host(lab):
    h = lab.host("host1")
    res = h.module("linux_bridge", {"name": BR, "addresses": ["10.39.1.254/24", "10.39.9.1/32"]})
    assert not res.get("failed"), res
    h.run("ip link add {0} type veth peer name {0}p && ip link set {0} up && ip link set {0}p up".format(NIC))
    yield h
    h.run("for l in %s %s %s; do ip link del $l 2>/dev/null; done; true" % (BR, NIC, PHYS))


def _ns(c):
    return "/proc/%d/ns/net" % c.pid


def test_bridge_ip_with_gateway_mac_ifname_and_a_route(host, container):
    c = container()
    params = {"container": c.name, "bridge": BR, "ifname": "eth2", "addresses": ["10.39.1.5/24"],
              "gateway": "10.39.1.254", "mac": "26:2e:71:98:60:8f",
              "routes": [{"dest": "10.39.9.0/24", "via": "10.39.1.254"}]}
    assert host.module("container_attach", params)["changed"]
    assert not host.module("container_attach", params)["changed"]
    end = link_in(host, _ns(c), "eth2")
    assert end["address"] == "26:2e:71:98:60:8f" and addresses(host, "eth2", _ns(c)) == ["10.39.1.5/24"]
    routes = dict((r["dst"], r.get("gateway")) for r in host.json(["nsenter", "--net=%s" % _ns(c), "ip", "-j", "route"]))
    assert routes["default"] == "10.39.1.254" and routes["10.39.9.0/24"] == "10.39.1.254", routes
    assert c.exec("ping -c 1 -W 1 10.39.1.254").returncode == 0
    assert c.exec("ping -c 1 -W 1 10.39.9.1").returncode == 0, "the route's destination is not reached"


def test_macvlan_on_a_host_nic(host, container):
    one, two = container(), container()
    for c, ip in ((one, "10.39.2.11/24"), (two, "10.39.2.12/24")):
        res = host.module("container_attach", {"container": c.name, "kind": "macvlan", "parent": NIC,
                                               "addresses": [ip]})
        assert res["changed"], res
    assert one.exec("ping -c 2 -W 1 10.39.2.12").returncode == 0
    for c in (one, two):
        assert host.module("container_attach", {"container": c.name, "state": "absent"})["changed"]


def test_direct_phys_by_name_then_by_mac(host, container, netns):
    far = netns(host, "nwt-pwfar")
    host.run("ip link add {0} type veth peer name {0}p && ip link set {0}p netns nwt-pwfar".format(PHYS))
    far.run("ip addr add 10.39.3.1/24 dev {0}p && ip link set {0}p up".format(PHYS))
    mac = link(host, PHYS)["address"]
    c = container()
    params = {"container": c.name, "kind": "phys", "parent": PHYS, "addresses": ["10.39.3.5/24"]}
    assert host.module("container_attach", params)["changed"]
    assert link(host, PHYS) is None and link_in(host, _ns(c), "eth1")["address"] == mac
    assert c.exec("ping -c 2 -W 1 10.39.3.1").returncode == 0
    absent = {"container": c.name, "state": "absent"}
    assert host.module("container_attach", absent)["changed"] and link(host, PHYS)["address"] == mac
    by_mac = dict(params, parent="mac:%s" % mac)
    assert host.module("container_attach", by_mac)["changed"]
    assert c.exec("ping -c 2 -W 1 10.39.3.1").returncode == 0
    assert host.module("container_attach", absent)["changed"] and link(host, PHYS) is not None


def test_vlan_sub_interface_on_this_kernel(host, container):
    probe = host.run("ip netns add nwt-pwprobe && ip netns exec nwt-pwprobe sh -c 'ip link add v0 type veth peer"
                     " name v1 && ip link add link v0 name v0.5 type vlan id 5'; rc=$?; ip netns del nwt-pwprobe;"
                     " exit $rc", check=False)
    if probe.returncode == 0:
        pytest.skip("this kernel has VLAN sub-interfaces")
    c = container()
    res = host.module("container_attach", {"container": c.name, "kind": "vlan", "parent": NIC, "vlan": 100,
                                           "addresses": ["10.39.4.5/24"]})
    assert_failed(res, "cannot create vlan interfaces", "8021q")
    assert link(host, "%s.100" % NIC) is None and link_in(host, _ns(c), "eth1") is None
