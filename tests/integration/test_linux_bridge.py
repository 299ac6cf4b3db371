"""linux_bridge on a lab host: the full lifecycle, ports, addresses, ownership and bad input."""

import pytest

from tests.integration.linux_helpers import addresses, assert_failed, kind, link, ports, snapshot

pytestmark = pytest.mark.lab

BR = "nwt-br0"
FOREIGN = ["nwt-br0x", "nwt-br0v", "nwt-br0w"]  # an unowned bridge and an unowned veth pair, similar names


@pytest.fixture
def host(lab):
    h = lab.host("host1")
    h.run("ip link del %s 2>/dev/null; ip link add nwt-br0x type bridge; ip link set nwt-br0x up;"
          " ip link add nwt-br0v type veth peer name nwt-br0w; ip link set nwt-br0x mtu 1400" % BR, check=False)
    yield h
    h.run("for l in %s; do ip link del $l 2>/dev/null; done; true" % " ".join([BR] + FOREIGN))


def test_bridge_lifecycle(host):
    foreign_before = snapshot(host, FOREIGN)
    params = {"name": BR, "mtu": 1450, "addresses": ["10.31.0.1/24", "fd00:31::1/64"], "ports": ["nwt-br0v"]}

    res = host.module("linux_bridge", params, check=True, diff=True)
    assert res["changed"] and not res.get("failed"), res
    assert res["diff"]["before"] == {} and res["diff"]["after"]["addresses"] == ["10.31.0.1/24", "fd00:31::1/64"]
    assert link(host, BR) is None, "check mode created the bridge"
    assert link(host, "nwt-br0v").get("master") is None

    res = host.module("linux_bridge", params)
    assert res["changed"], res
    br = link(host, BR)
    assert kind(br) == "bridge" and br["mtu"] == 1450 and br["ifalias"] == "netwire:bridge"
    assert "UP" in br["flags"] and br["linkinfo"]["info_data"]["stp_state"] == 0
    assert addresses(host, BR) == ["10.31.0.1/24", "fd00:31::1/64"]
    assert ports(host, BR) == ["nwt-br0v"]

    res = host.module("linux_bridge", params)
    assert not res["changed"], res["actions"]

    changed = dict(params, mtu=1400, addresses=["10.31.0.1/24", "10.32.0.1/24"], stp=True, forward_delay=4,
                   ports=[], purge_ports=True)
    res = host.module("linux_bridge", changed, check=True, diff=True)
    assert res["changed"]
    assert res["diff"]["before"]["mtu"] == 1450 and res["diff"]["after"]["mtu"] == 1400
    assert res["diff"]["before"]["ports"] == ["nwt-br0v"] and res["diff"]["after"]["ports"] == []
    assert res["diff"]["after"]["addresses"] == ["10.31.0.1/24", "10.32.0.1/24"]
    assert link(host, BR)["mtu"] == 1450, "check mode changed the MTU"

    res = host.module("linux_bridge", changed, diff=True)
    assert res["changed"] and res["diff"]["after"]["stp"] is True and res["diff"]["after"]["forward_delay"] == 4
    br = link(host, BR)
    assert br["mtu"] == 1400 and br["linkinfo"]["info_data"]["stp_state"] == 1
    assert br["linkinfo"]["info_data"]["forward_delay"] == 400
    assert addresses(host, BR) == ["10.31.0.1/24", "10.32.0.1/24"]
    assert ports(host, BR) == []
    assert not host.module("linux_bridge", changed)["changed"]

    res = host.module("linux_bridge", {"name": BR, "state": "absent"}, check=True)
    assert res["changed"] and link(host, BR) is not None
    res = host.module("linux_bridge", {"name": BR, "state": "absent"})
    assert res["changed"] and link(host, BR) is None
    assert not host.module("linux_bridge", {"name": BR, "state": "absent"})["changed"]

    after = snapshot(host, FOREIGN)
    # The veth was a port of ours for a while: only its master may differ, and it is released again.
    assert after == foreign_before


def test_pinned_mac_and_down_state(host):
    res = host.module("linux_bridge", {"name": BR, "mac": "02:00:00:31:00:01", "up": False})
    assert res["changed"]
    br = link(host, BR)
    assert br["address"] == "02:00:00:31:00:01" and "UP" not in br["flags"]
    assert not host.module("linux_bridge", {"name": BR, "mac": "02:00:00:31:00:01", "up": False})["changed"]


def test_a_new_mac_is_announced_to_the_neighbors(host):
    """An existing bridge that gets a new MAC (a bridge of an earlier release pinned by site.yml) sends a
    gratuitous ARP: a neighbor that knew the old MAC holds the new one at once, not after its entry expires."""
    ns = "nwt-garp"
    params = {"name": BR, "addresses": ["10.31.0.1/24"], "ports": ["nwt-br0v"]}
    assert host.module("linux_bridge", params)["changed"]
    old = link(host, BR)["address"]
    new = "02:00:00:31:00:02" if old != "02:00:00:31:00:02" else "02:00:00:31:00:03"
    try:
        host.run("ip netns add %s && ip link set nwt-br0w netns %s && ip -n %s addr add 10.31.0.2/24 dev nwt-br0w"
                 " && ip -n %s link set nwt-br0w up && ip link set nwt-br0v up" % (ns, ns, ns, ns))
        host.run("ip netns exec %s ping -c 1 -W 2 10.31.0.1" % ns)

        def gateway_mac():
            return host.json("ip -n %s -j neigh show 10.31.0.1 dev nwt-br0w" % ns)[0].get("lladdr")

        assert gateway_mac() == old
        res = host.module("linux_bridge", dict(params, mac=new), check=True)
        assert res["changed"] and "announce the new MAC of %s (gratuitous ARP)" % BR in res["actions"], res
        assert link(host, BR)["address"] == old and gateway_mac() == old, "check mode changed or announced"
        res = host.module("linux_bridge", dict(params, mac=new))
        assert res["changed"] and not res.get("warnings"), res
        assert link(host, BR)["address"] == new
        assert gateway_mac() == new
        assert not host.module("linux_bridge", dict(params, mac=new))["changed"]
    finally:
        host.run("ip netns del %s" % ns, check=False)


@pytest.mark.parametrize("params,fragments", [
    ({"name": BR, "addresses": ["10.31.0.300/24"]}, ["Failed to manage bridge 'nwt-br0'", "not a valid CIDR"]),
    ({"name": BR, "addresses": ["10.31.0.1"]}, ["no prefix length"]),
    ({"name": BR, "addresses": ["10.31.0.0/24"]}, ["network address"]),
    ({"name": BR, "addresses": ["10.31.0.255/24"]}, ["broadcast address"]),
    ({"name": "nwt-bridge-too-long"}, ["longer than 15"]),
    ({"name": "nwt-br0x"}, ["Failed to manage bridge 'nwt-br0x'", "did not create"]),
    ({"name": "nwt-br0v"}, ["did not create"]),
    ({"name": "nwt-br0x", "state": "absent"}, ["Failed to remove bridge 'nwt-br0x'", "did not create"]),
    ({"name": BR, "ports": ["nwt-missing"]}, ["port 'nwt-missing' does not exist"]),
    ({"name": BR, "ports": ["nwt-br0x"]}, ["is itself a bridge"]),
    ({"name": BR, "vlan_filtering": True}, ["no bridge VLAN filtering support"]),
    ({"name": BR, "purge_ports": True}, ["purge_ports needs ports"]),
])
def test_bad_input_changes_nothing(host, params, fragments):
    before = snapshot(host, [BR] + FOREIGN)
    for check in (True, False):
        res = host.module("linux_bridge", params, check=check)
        assert_failed(res, *fragments)
    assert snapshot(host, [BR] + FOREIGN) == before
