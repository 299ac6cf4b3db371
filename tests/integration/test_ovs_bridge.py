"""ovs_bridge in the lab (userspace datapath: the lab kernel has no openvswitch module)."""

import time

import pytest

from tests.integration.ovs_lab import ok, ports_of, rows, unowned_state

pytestmark = pytest.mark.lab

BR = "br-seq"


@pytest.fixture
def host(lab):
    h = lab.host("host1")
    yield h
    h.run("ovs-vsctl --if-exists del-port %s theirs0; ovs-vsctl --if-exists del-br br-theirs" % BR, check=False)
    h.module("ovs_bridge", {"name": BR, "state": "absent"})


def test_lifecycle_check_apply_rerun_diff_change_absent(host):
    params = {"name": BR, "datapath_type": "netdev", "external_ids": {"zone": "a"}}

    # check mode: changed, nothing applied
    r = ok(host.module("ovs_bridge", params, check=True))
    assert r["changed"] and r["actions"] == ["create bridge br-seq (datapath netdev)"]
    assert BR not in rows(host, "Bridge")

    # apply
    r = ok(host.module("ovs_bridge", params))
    assert r["changed"]
    br = rows(host, "Bridge")[BR]
    assert br["datapath_type"] == "netdev"
    assert br["external_ids"] == {"zone": "a", "netwire-owner": "netwire.fabric", "netwire-role": "bridge"}
    assert rows(host, "Port")[BR]["external_ids"]["netwire-owner"] == "netwire.fabric"
    assert rows(host, "Interface")[BR]["ofport"] == 65534

    # rerun: idempotent
    r = ok(host.module("ovs_bridge", params))
    assert not r["changed"] and r["actions"] == []

    # diff mode with a change (fail_mode, other_config, a member internal port with an address)
    changed = dict(params, fail_mode="secure", other_config={"mac-aging-time": 120},
                   ports=[{"name": "seq-in0", "type": "internal", "addresses": ["10.99.0.1/24"]}])
    r = ok(host.module("ovs_bridge", changed, diff=True))
    assert r["changed"]
    before, after = r["diff"]["before"], r["diff"]["after"]
    assert before["fail_mode"] is None and after["fail_mode"] == "secure"
    assert "seq-in0" not in before["ports"] and after["ports"]["seq-in0"]["addresses"] == ["10.99.0.1/24"]
    br = rows(host, "Bridge")[BR]
    assert br["fail_mode"] == "secure" and br["other_config"]["mac-aging-time"] == "120"
    assert ports_of(host, BR) == {BR, "seq-in0"}
    addrs = host.json(["ip", "-j", "addr", "show", "dev", "seq-in0"])[0]
    assert "UP" in addrs["flags"]
    assert [(a["local"], a["prefixlen"]) for a in addrs["addr_info"] if a["family"] == "inet"] == [("10.99.0.1", 24)]
    r = ok(host.module("ovs_bridge", changed))
    assert not r["changed"], r["actions"]

    # change the address, then drop the member port (exclusive among our members)
    r = ok(host.module("ovs_bridge", dict(changed, ports=[
        {"name": "seq-in0", "type": "internal", "addresses": ["10.99.0.2/24"]}])))
    assert r["changed"]
    addrs = host.json(["ip", "-j", "addr", "show", "dev", "seq-in0"])[0]["addr_info"]
    assert [a["local"] for a in addrs if a["family"] == "inet"] == ["10.99.0.2"]
    r = ok(host.module("ovs_bridge", dict(changed, ports=[])))
    assert r["changed"] and ports_of(host, BR) == {BR}

    # absent: check mode leaves it, apply removes it, rerun changes nothing
    r = ok(host.module("ovs_bridge", {"name": BR, "state": "absent"}, check=True))
    assert r["changed"] and BR in rows(host, "Bridge")
    r = ok(host.module("ovs_bridge", {"name": BR, "state": "absent"}))
    assert r["changed"] and BR not in rows(host, "Bridge")
    r = ok(host.module("ovs_bridge", {"name": BR, "state": "absent"}))
    assert not r["changed"]


def test_a_new_hwaddr_is_announced_to_the_neighbors(host):
    """A bridge of an earlier release gets its pinned MAC (other_config:hwaddr): once OVS applied it, a
    gratuitous ARP makes a neighbor that knew the old MAC hold the new one at once."""
    ns, first, second = "nwt-garp-ovs", "02:00:00:99:01:01", "02:00:00:99:01:02"
    host.run("ip link add seqv0 type veth peer name seqv1 && ip netns add %s && ip link set seqv1 netns %s"
             " && ip -n %s addr add 10.99.1.2/24 dev seqv1 && ip -n %s link set seqv1 up && ip link set seqv0 up"
             % (ns, ns, ns, ns))
    params = {"name": BR, "datapath_type": "netdev", "other_config": {"hwaddr": first},
              "ports": [{"name": BR, "type": "internal", "addresses": ["10.99.1.1/24"]},
                        {"name": "seqv0", "type": "system"}]}
    try:
        assert ok(host.module("ovs_bridge", params))["changed"]
        host.run("ip netns exec %s ping -c 2 -W 3 10.99.1.1" % ns, timeout=30)

        def gateway_mac():
            return host.json("ip -n %s -j neigh show 10.99.1.1 dev seqv1" % ns)[0].get("lladdr")

        assert gateway_mac() == first
        moved = dict(params, other_config={"hwaddr": second})
        r = ok(host.module("ovs_bridge", moved, check=True))
        assert "announce the new MAC of %s (gratuitous ARP)" % BR in r["actions"], r
        assert gateway_mac() == first, "check mode announced"
        r = ok(host.module("ovs_bridge", moved))
        assert r["changed"] and not r.get("warnings"), r
        assert host.json(["ip", "-j", "link", "show", "dev", BR])[0]["address"] == second
        deadline = time.time() + 2  # the frame goes through OVS userspace; without it the entry keeps the old MAC
        while gateway_mac() != second and time.time() < deadline:
            time.sleep(0.1)
        assert gateway_mac() == second
        assert not ok(host.module("ovs_bridge", moved))["changed"]
    finally:
        host.run("ip netns del %s; ip link del seqv0" % ns, check=False)


def test_unowned_bridge_and_port_are_never_touched(host):
    host.run("ovs-vsctl add-br br-theirs -- set bridge br-theirs datapath_type=netdev")
    ok(host.module("ovs_bridge", {"name": BR, "datapath_type": "netdev"}))
    host.run("ovs-vsctl add-port %s theirs0 -- set interface theirs0 type=internal" % BR)
    names = {"br-theirs", "theirs0"}
    before = unowned_state(host, names)
    assert len(before) == 5  # bridge, its port and interface, theirs0 port and interface

    for state in ("present", "absent"):
        r = host.module("ovs_bridge", {"name": "br-theirs", "state": state, "datapath_type": "netdev"})
        assert r["failed"] and "not created by netwire.fabric" in r["msg"], r
    r = host.module("ovs_bridge", {"name": BR, "state": "absent"})
    assert r["failed"] and "theirs0" in r["msg"] and BR in rows(host, "Bridge")
    r = host.module("ovs_bridge", {"name": BR, "datapath_type": "netdev", "ports": [{"name": "theirs0"}]})
    assert r["failed"] and "not created by netwire.fabric" in r["msg"]
    # an exclusive (empty) member list does not remove a port we do not own
    r = ok(host.module("ovs_bridge", {"name": BR, "datapath_type": "netdev", "ports": []}))
    assert not r["changed"]
    assert unowned_state(host, names) == before


def test_clear_errors_and_nothing_half_applied(host):
    r = host.module("ovs_bridge", {"name": BR, "datapath_type": "netdev", "ports": [{"name": "nosuch0"}]})
    assert r["failed"] and "no such host interface: nosuch0" in r["msg"]
    assert BR not in rows(host, "Bridge")
    r = host.module("ovs_bridge", {"name": "x" * 16})
    assert r["failed"] and "at most 15" in r["msg"]
    r = host.module("ovs_bridge", {"name": BR, "ports": [{"name": "p0", "addresses": ["10.0.0.1/24"]}]})
    assert r["failed"] and "internal" in r["msg"]
    # the lab kernel has no openvswitch module: the default (kernel) datapath cannot work
    r = host.module("ovs_bridge", {"name": BR})
    assert r["failed"] and "could not open the kernel datapath" in r["msg"] and "rolled back" in r["msg"], r
    assert BR not in rows(host, "Bridge")
    r = host.module("ovs_bridge", {"name": BR, "ovsdb_socket": "/run/openvswitch/nothing.sock"})
    assert r["failed"] and "Open vSwitch is not running" in r["msg"]
    assert BR not in rows(host, "Bridge")


def test_over_ssh_with_ansible(lab):
    """The modules run through a real ad-hoc Ansible call (SSH, the inventory's interpreter)."""
    h3 = lab.host("host3")
    args = {"name": "br-ssh", "datapath_type": "netdev", "fail_mode": "secure"}
    try:
        res = lab.ansible("host3", "netwire.fabric.ovs_bridge", args, check=True)["host3"]
        assert res["changed"] and "br-ssh" not in rows(h3, "Bridge")
        res = lab.ansible("host3", "netwire.fabric.ovs_bridge", args)["host3"]
        assert res["changed"] and rows(h3, "Bridge")["br-ssh"]["fail_mode"] == "secure"
        res = lab.ansible("host3", "netwire.fabric.ovs_bridge", args)["host3"]
        assert not res["changed"]
    finally:
        res = lab.ansible("host3", "netwire.fabric.ovs_bridge", {"name": "br-ssh", "state": "absent"})["host3"]
    assert "br-ssh" not in rows(h3, "Bridge")
