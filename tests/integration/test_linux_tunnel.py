"""linux_tunnel: kernel VXLAN between two lab hosts, FDB flood entries, ownership, missing kernel kinds."""

import pytest

from tests.integration.linux_helpers import all_links, assert_failed, fdb_remotes, kind, link, snapshot

pytestmark = pytest.mark.lab

BR, VX, FOREIGN_VX = "nwt-vxbr", "nwt-vx", "nwt-vxf"
SUBNET = "10.33.0.%d/24"


def tunnel(host, peers, **extra):
    params = {"name": VX, "vni": 3301, "dev": "eth1", "master": BR, "remotes": [p.underlay_ip for p in peers]}
    params.update(extra)
    return params


@pytest.fixture
def overlay(lab, netns, container):
    """host1 with a namespace container, host2 with a Docker container, each on its own bridge; no tunnel yet."""
    h1, h2, h3 = lab.host("host1"), lab.host("host2"), lab.host("host3")
    c1, c2 = netns(h1, "nwt-c1"), container()
    for i, h, ref in ((1, h1, c1.name), (2, h2, c2.name)):
        res = h.module("linux_bridge", {"name": BR, "mtu": 1450, "addresses": [SUBNET % i]})
        assert not res.get("failed"), res
        res = h.module("container_attach", {"container": ref, "bridge": BR, "addresses": [SUBNET % (10 + i)]})
        assert not res.get("failed") and res["attachment"]["mtu"] == 1450, res
    h1.run("ip link add %s type vxlan id 99 dstport 4789 dev eth1; ip link set %s mtu 1400" % (FOREIGN_VX, FOREIGN_VX))
    yield h1, h2, h3, c1, c2
    for h in (h1, h2):
        h.run("ip link del %s 2>/dev/null; ip link del %s 2>/dev/null; ip link del %s 2>/dev/null; true"
              % (VX, BR, FOREIGN_VX))


@pytest.fixture
def one_host(lab):
    """host1 with our bridge and an unowned VXLAN device."""
    h1 = lab.host("host1")
    assert not h1.module("linux_bridge", {"name": BR}).get("failed")
    h1.run("ip link add %s type vxlan id 99 dstport 4789 dev eth1" % FOREIGN_VX)
    yield h1
    h1.run("ip link del %s 2>/dev/null; ip link del %s 2>/dev/null; true" % (BR, FOREIGN_VX))


def ping(ns, address, count=3):
    return ns.run(["ping", "-c", str(count), "-i", "0.2", "-W", "2", address], check=False)


def tcp_exchange(server, client, address, port=5033):
    """A bounded TCP exchange: the Docker container answers with its hostname (its short ID)."""
    server.exec("(timeout 10 nc -l -p %d -e /bin/hostname >/dev/null 2>&1 &)" % port)
    for dummy in range(20):
        out = client.run("timeout 3 busybox nc %s %d </dev/null" % (address, port), check=False)
        if out.stdout.strip():
            return out.stdout.strip()
    return ""


def test_vxlan_lifecycle_traffic_and_exact_fdb(overlay):
    h1, h2, h3, c1, c2 = overlay
    foreign_before = snapshot(h1, [FOREIGN_VX])
    p1, p2 = tunnel(h1, [h2]), tunnel(h2, [h1])

    res = h1.module("linux_tunnel", p1, check=True, diff=True)
    assert res["changed"] and res["diff"]["before"] == {}
    assert res["diff"]["after"]["remotes"] == [h2.underlay_ip]
    assert link(h1, VX) is None, "check mode created the tunnel"

    for h, p in ((h1, p1), (h2, p2)):
        res = h.module("linux_tunnel", p)
        assert res["changed"] and not res.get("failed"), res
    vx = link(h1, VX)
    data = vx["linkinfo"]["info_data"]
    assert kind(vx) == "vxlan" and data["id"] == 3301 and data["local"] == h1.underlay_ip
    assert data["port"] == 4789 and data["learning"] is False and vx["master"] == BR
    assert vx["ifalias"] == "netwire:tunnel" and "UP" in vx["flags"]
    assert fdb_remotes(h1, VX) == [h2.underlay_ip]
    assert fdb_remotes(h2, VX) == [h1.underlay_ip]

    for h, p in ((h1, p1), (h2, p2)):
        res = h.module("linux_tunnel", p)
        assert not res["changed"], res["actions"]

    assert ping(c1, "10.33.0.12").returncode == 0
    assert c2.exec(["ping", "-c", "2", "-W", "2", "10.33.0.11"]).returncode == 0
    assert tcp_exchange(c2, c1, "10.33.0.12") == c2.id[:12]

    # a third peer joins, then leaves: the FDB holds exactly the declared peers
    wide = tunnel(h1, [h2, h3])
    res = h1.module("linux_tunnel", wide, check=True, diff=True)
    assert res["diff"]["before"]["remotes"] == [h2.underlay_ip]
    assert res["diff"]["after"]["remotes"] == [h2.underlay_ip, h3.underlay_ip]
    assert fdb_remotes(h1, VX) == [h2.underlay_ip]
    assert h1.module("linux_tunnel", wide)["changed"]
    assert fdb_remotes(h1, VX) == [h2.underlay_ip, h3.underlay_ip]
    res = h1.module("linux_tunnel", p1, diff=True)
    assert res["changed"] and res["actions"] == ["remove flood entry for %s from %s" % (h3.underlay_ip, VX)]
    assert fdb_remotes(h1, VX) == [h2.underlay_ip]
    assert ping(c1, "10.33.0.12").returncode == 0

    # a parameter the kernel cannot change in place: the device is recreated with its master and FDB
    for h, p in ((h1, tunnel(h1, [h2], vni=3302, ttl=16, udp_checksum=False)),
                 (h2, tunnel(h2, [h1], vni=3302, ttl=16, udp_checksum=False))):
        res = h.module("linux_tunnel", p)
        assert res["changed"] and "recreate vxlan %s (vni, ttl, udp_checksum changed)" % VX in res["actions"], res
    data = link(h1, VX)["linkinfo"]["info_data"]
    assert data["id"] == 3302 and data["ttl"] == 16 and data["udp_csum"] is False and link(h1, VX)["master"] == BR
    assert fdb_remotes(h1, VX) == [h2.underlay_ip]
    assert ping(c1, "10.33.0.12").returncode == 0
    assert not h1.module("linux_tunnel", tunnel(h1, [h2], vni=3302, ttl=16, udp_checksum=False))["changed"]

    res = h1.module("linux_tunnel", {"name": VX, "state": "absent"}, check=True)
    assert res["changed"] and link(h1, VX) is not None
    assert h1.module("linux_tunnel", {"name": VX, "state": "absent"})["changed"]
    assert link(h1, VX) is None and link(h1, BR) is not None
    assert not h1.module("linux_tunnel", {"name": VX, "state": "absent"})["changed"]
    assert ping(c1, "10.33.0.12", count=1).returncode != 0, "traffic still flows without the tunnel"

    assert snapshot(h1, [FOREIGN_VX]) == foreign_before


@pytest.mark.parametrize("tunnel_kind,module", [("gretap", "ip_gre"), ("geneve", "geneve")])
def test_missing_kernel_kind_is_named(lab, tunnel_kind, module):
    h1 = lab.host("host1")
    name = "nwt-%s" % tunnel_kind[:3]
    params = {"name": name, "kind": tunnel_kind, "vni": 7, "remotes": ["198.19.0.12"]}
    for check in (True, False):
        res = h1.module("linux_tunnel", params, check=check)
        assert_failed(res, "Failed to create tunnel '%s'" % name, "cannot create %s devices" % tunnel_kind, module)
    assert link(h1, name) is None
    assert [l["ifname"] for l in all_links(h1).values() if kind(l) == tunnel_kind] == []


@pytest.mark.parametrize("params,fragments", [
    ({"name": VX, "vni": 0}, ["Failed to manage tunnel 'nwt-vx'", "vni 0 is out of range"]),
    ({"name": VX, "vni": 16777216}, ["out of range"]),
    ({"name": VX, "vni": 5, "remotes": ["198.19.0.300"]}, ["remote '198.19.0.300' is not a valid IP"]),
    ({"name": VX, "vni": 5, "master": "nwt-nobr"}, ["master bridge 'nwt-nobr' does not exist"]),
    ({"name": VX, "vni": 5, "master": "eth1"}, ["master 'eth1' is a", "not a bridge"]),
    ({"name": VX, "vni": 5, "dev": "nwt-nodev"}, ["underlay device 'nwt-nodev' does not exist"]),
    ({"name": "nwt-vxlan-too-long", "vni": 5}, ["longer than 15"]),
    ({"name": FOREIGN_VX, "vni": 99}, ["Failed to manage tunnel 'nwt-vxf'", "did not create"]),
    ({"name": FOREIGN_VX, "state": "absent"}, ["Failed to remove tunnel 'nwt-vxf'", "did not create"]),
    ({"name": VX, "vni": 5, "kind": "geneve", "remotes": []}, ["exactly one remote"]),
])
def test_bad_input_changes_nothing(one_host, params, fragments):
    h1 = one_host
    before = snapshot(h1, [VX, FOREIGN_VX, BR])
    for check in (True, False):
        assert_failed(h1.module("linux_tunnel", params, check=check), *fragments)
    assert snapshot(h1, [VX, FOREIGN_VX, BR]) == before
