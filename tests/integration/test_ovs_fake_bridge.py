"""Fake VLAN bridges on Open vSwitch (issue 19; the wire tool's `add-br <net> <trunk> <vid>`), with real packets.

Two trunk bridges (userspace datapath) joined by a veth trunk (untagged ports carry every VLAN); each has
fake bridges for VLANs 10 and 20. A container on trk1's VLAN 10 reaches one on trk2's VLAN 10 across the
trunk, and not one on trk2's VLAN 20.
"""

import pytest

from tests.integration.linux_helpers import assert_failed, link

pytestmark = pytest.mark.lab

T1, T2 = "nwt-trk1", "nwt-trk2"
MIG = "nwt-mig"
FAKES = {"nwt-t1v10": (T1, 10), "nwt-t2v10": (T2, 10), "nwt-t2v20": (T2, 20)}


@pytest.fixture
def host(lab):
    h = lab.host("host1")
    h.run("ip link add nwt-trka type veth peer name nwt-trkb && ip link set nwt-trka up && ip link set nwt-trkb up")
    yield h
    for name in list(FAKES) + [MIG, T1, T2]:
        h.run("ovs-vsctl --if-exists del-port %s; ovs-vsctl --if-exists del-br %s" % (name, name), check=False)
    h.run("ip link del nwt-trka 2>/dev/null; true")


def test_fake_vlan_bridges_across_a_trunk(host, netns):
    h = host
    for trunk, nic in ((T1, "nwt-trka"), (T2, "nwt-trkb")):
        res = h.module("ovs_bridge", {"name": trunk, "datapath_type": "netdev", "ports": [{"name": trunk},
                                                                                          {"name": nic}]})
        assert res["changed"] and not res.get("failed"), res
    child = {"name": "nwt-t1v10", "parent": T1, "vlan": 10}
    res = h.module("ovs_bridge", child, check=True, diff=True)
    assert res["changed"] and res["diff"]["after"]["vlan"] == 10, res
    assert h.run("ovs-vsctl --if-exists get port nwt-t1v10 tag").stdout.strip() == ""
    for name, (parent, vlan) in sorted(FAKES.items()):
        res = h.module("ovs_bridge", {"name": name, "parent": parent, "vlan": vlan})
        assert res["changed"] and res["bridge"] == {"name": name, "state": "present", "owned": True,
                                                    "parent": parent, "vlan": vlan}, res
        # ovs-vsctl sees a fake bridge of the parent, on the VLAN
        assert h.run("ovs-vsctl br-to-parent %s" % name).stdout.strip() == parent
        assert h.run("ovs-vsctl br-to-vlan %s" % name).stdout.strip() == str(vlan)
    assert not h.module("ovs_bridge", child)["changed"]
    assert link(h, "nwt-t1v10") is not None, "no host interface for the fake bridge"

    a, b, c = netns(h, "nwt-fba"), netns(h, "nwt-fbb"), netns(h, "nwt-fbc")
    for ns, bridge, ip in ((a, "nwt-t1v10", "10.44.0.1/24"), (b, "nwt-t2v10", "10.44.0.2/24"),
                           (c, "nwt-t2v20", "10.44.0.3/24")):
        res = h.module("container_attach", {"container": ns.path, "bridge": bridge, "addresses": [ip]})
        assert res["changed"] and res["attachment"]["bridge"] in (T1, T2), res
        assert res["attachment"]["vlan_tag"] == FAKES[bridge][1]
        assert not h.module("container_attach", {"container": ns.path, "bridge": bridge, "addresses": [ip]})["changed"]
    # net_info: the fake bridges with their parent and VLAN; the containers on them are ports of the parents
    info = h.module("net_info", {})
    assert dict((f["name"], (f["parent"], f["vlan"])) for f in info["ovs"]["fake_bridges"]) == FAKES, info["ovs"]
    assert sorted((x["bridge"], x["tag"]) for x in info["ovs"]["attachments"]) == [(T1, 10), (T2, 10), (T2, 20)]
    assert a.run("ping -c 2 -W 2 10.44.0.2", check=False).returncode == 0, "VLAN 10 does not cross the trunk"
    assert a.run("ping -c 2 -W 1 10.44.0.3", check=False).returncode != 0, "VLAN 10 reached VLAN 20"

    # the parent goes last: refused while a fake bridge sits on it, then the child, then the parent
    for ns in (a, b, c):
        assert h.module("container_attach", {"container": ns.path, "state": "absent"})["changed"]
    assert_failed(h.module("ovs_bridge", {"name": T2, "state": "absent"}), "sit on it: remove them first")
    for name in ("nwt-t2v10", "nwt-t2v20"):
        assert h.module("ovs_bridge", {"name": name, "state": "absent"})["changed"]
        assert not h.module("ovs_bridge", {"name": name, "state": "absent"})["changed"]
    assert h.module("ovs_bridge", {"name": T2, "state": "absent"})["changed"]
    assert [f["name"] for f in h.module("net_info", {})["ovs"]["fake_bridges"]] == ["nwt-t1v10"]


def test_a_bridge_of_ours_becomes_a_gateway_fake_bridge_and_back(host):
    """A model network moving onto a trunk (and off it): its own bridge becomes a fake VLAN bridge with the
    gateway's MTU, MAC and address, in one OVSDB transaction, and back."""
    h = host
    assert h.module("ovs_bridge", {"name": T1, "datapath_type": "netdev", "ports": [{"name": T1}]})["changed"]
    port = {"name": MIG, "mtu": 1400, "addresses": ["10.44.9.1/24"]}
    own = {"name": MIG, "datapath_type": "netdev", "ports": [port]}
    assert h.module("ovs_bridge", own)["changed"]
    gateway = {"name": MIG, "parent": T1, "vlan": 30, "other_config": {"hwaddr": "02:00:00:44:09:01"},
               "ports": [port]}
    res = h.module("ovs_bridge", gateway)
    assert res["changed"] and "delete bridge %s (it becomes a fake VLAN bridge of %s)" % (MIG, T1) in res["actions"]
    assert h.run("ovs-vsctl br-to-parent %s" % MIG).stdout.strip() == T1
    assert h.run("ovs-vsctl br-to-vlan %s" % MIG).stdout.strip() == "30"
    itf = h.json(["ip", "-j", "addr", "show", "dev", MIG])[0]
    assert (itf["address"], itf["mtu"]) == ("02:00:00:44:09:01", 1400), itf
    assert ["10.44.9.1/24"] == ["%s/%d" % (a["local"], a["prefixlen"]) for a in itf["addr_info"]
                                if a["family"] == "inet"], itf
    assert not h.module("ovs_bridge", gateway)["changed"]
    res = h.module("ovs_bridge", own)
    assert res["changed"] and h.run("ovs-vsctl br-to-parent %s" % MIG).stdout.strip() == MIG, res
    assert h.module("ovs_bridge", {"name": MIG, "state": "absent"})["changed"]
