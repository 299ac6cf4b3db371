"""GRE and VXLAN overlays between lab hosts on the OVS userspace datapath.

host1 and host2 each get: eth1's underlay address moved onto br-underlay (an
OVS bridge owning the NIC), a bridge br-gre carrying a GRE overlay and a bridge
br-vx carrying a VXLAN overlay (never two meshes on one bridge: a loop), and
plain namespaces attached with container_attach (bridge_type ovs). An unowned
bridge and an unowned port on br-gre must survive every step untouched.
"""

import pytest

from tests.integration.ovs_lab import (
    move_underlay_to_ovs,
    ok,
    ping,
    ping_eventually,
    ports_of,
    restore_underlay,
    rows,
    tcp,
    unowned_state,
)

pytestmark = pytest.mark.lab

MTU = 1400  # underlay 1500 minus GRE/VXLAN overhead, rounded down
GRE = {"bridge": "br-gre", "network": "ovt-gre", "type": "gre", "key": 100}
VX = {"bridge": "br-vx", "network": "ovt-vx", "type": "vxlan", "key": 5000}
UNOWNED = {"br-theirs", "theirs0"}


class NS(object):
    def __init__(self, host, name):
        self.host, self.name = host, name

    def run(self, cmd, check=True, timeout=60):
        return self.host.run(["ip", "netns", "exec", self.name] + list(cmd), check=check, timeout=timeout)


def attach(host, ns, bridge, address, network, **extra):
    params = {"container": ns.name, "container_type": "netns", "bridge": bridge, "bridge_type": "ovs",
              "ifname": "eth1", "addresses": [address], "mtu": MTU, "network": network}
    params.update(extra)
    return ok(host.module("container_attach", params))


@pytest.fixture(scope="module")
def fabric(lab):
    h1, h2, h3 = lab.host("host1"), lab.host("host2"), lab.host("host3")
    made_ns = []
    try:
        for h in (h1, h2):
            move_underlay_to_ovs(h)
            for br in ("br-gre", "br-vx"):
                ok(h.module("ovs_bridge", {"name": br, "datapath_type": "netdev"}))
        h1.run("ovs-vsctl add-br br-theirs -- set bridge br-theirs datapath_type=netdev"
               " -- add-port br-gre theirs0 -- set interface theirs0 type=internal")
        spaces = {}
        for h, idx in ((h1, 1), (h2, 2)):
            for kind, br, net, network in (("g", "br-gre", "10.41.0", GRE["network"]),
                                           ("v", "br-vx", "10.42.0", VX["network"])):
                ns = NS(h, "ovt-%s%d" % (kind, idx))
                h.run(["ip", "netns", "add", ns.name])
                made_ns.append(ns)
                ns.run(["ip", "link", "set", "lo", "up"])
                attach(h, ns, br, "%s.%d/24" % (net, idx), network)
                spaces[ns.name[4:]] = ns
        unowned = unowned_state(h1, UNOWNED)
        assert len(unowned) == 5
        yield {"h1": h1, "h2": h2, "h3": h3, "ns": spaces, "unowned": unowned}
    finally:
        for ns in reversed(made_ns):
            ns.host.run("ip netns pids %s | xargs -r kill -9" % ns.name, check=False)
            ns.host.module("container_attach", {"container": ns.name, "container_type": "netns",
                                                "ifname": "eth1", "state": "absent"})
            ns.host.run(["ip", "netns", "del", ns.name], check=False)
        h1.run("ovs-vsctl --if-exists del-port br-gre theirs0 -- --if-exists del-br br-theirs", check=False)
        for h in (h1, h2):
            for br in ("br-gre", "br-vx", "br-vlan", "br-seqt"):
                h.module("ovs_bridge", {"name": br, "state": "absent"})
            restore_underlay(h)


@pytest.fixture(autouse=True)
def unowned_untouched(fabric):
    yield
    assert unowned_state(fabric["h1"], UNOWNED) == fabric["unowned"]


def tunnel(host, base, diff=False, **kw):
    params = dict(base)
    params.update(kw)
    return ok(host.module("ovs_tunnel", params, diff=diff))


def test_gre_overlay_carries_ping_and_tcp(fabric):
    h1, h2, ns = fabric["h1"], fabric["h2"], fabric["ns"]
    r1 = tunnel(h1, GRE, remotes=[h2.underlay_ip, fabric["h3"].underlay_ip])
    r2 = tunnel(h2, GRE, remotes=[h1.underlay_ip])
    for r in (r1, r2):
        assert all(t["ofport"] and t["ofport"] > 0 for t in r["tunnels"]), r["tunnels"]
    iface = rows(h1, "Interface")[r1["tunnels"][0]["port"]]
    assert iface["type"] == "gre" and iface["options"]["key"] == "100" and iface["error"] == []
    # netdev bridge: container_attach turned TX checksum offload off on both veth ends
    assert "tx-checksumming: off" in ns["g1"].run(["ethtool", "-k", "eth1"]).stdout
    host_end = [a for a in ok(h1.module("net_info", {}))["attachments"] if a["identity"] == "netns:ovt-g1"][0]
    assert "tx-checksumming: off" in h1.run(["ethtool", "-k", host_end["host_ifname"]]).stdout
    assert ping_eventually(ns["g1"], "10.41.0.2")
    assert tcp(ns["g2"], ns["g1"], "10.41.0.2"), "TCP across the GRE overlay failed"
    # the VXLAN overlay is a separate bridge: no tunnels there yet, so no path
    assert not ping(ns["v1"], "10.42.0.2", count=1, wait=1)


def test_vxlan_overlay_carries_ping_and_tcp(fabric):
    h1, h2, ns = fabric["h1"], fabric["h2"], fabric["ns"]
    tunnel(h1, VX, remotes=[h2.underlay_ip])
    tunnel(h2, VX, remotes=[h1.underlay_ip])
    assert ping_eventually(ns["v2"], "10.42.0.1")
    assert tcp(ns["v1"], ns["v2"], "10.42.0.1"), "TCP across the VXLAN overlay failed"
    # overlays stay apart: a GRE container cannot reach the VXLAN subnet
    assert not ping(ns["g1"], "10.42.0.2", count=1, wait=1)


def test_remove_a_remote_leaves_the_others_untouched(fabric):
    h1, h2, h3 = fabric["h1"], fabric["h2"], fabric["h3"]
    full = tunnel(h1, GRE, remotes=[h2.underlay_ip, h3.underlay_ip])
    ports = dict((t["remote"], t["port"]) for t in full["tunnels"])
    kept_before = rows(h1, "Interface")[ports[h2.underlay_ip]]
    r = tunnel(h1, GRE, remotes=[h2.underlay_ip], diff=True)
    assert r["changed"] and r["actions"] == ["remove tunnel port %s (remote %s)" % (ports[h3.underlay_ip],
                                                                                    h3.underlay_ip)]
    assert ports[h3.underlay_ip] not in ports_of(h1, "br-gre")
    kept_after = rows(h1, "Interface")[ports[h2.underlay_ip]]
    assert (kept_after["_uuid"], kept_after["ofport"], kept_after["options"]) == (
        kept_before["_uuid"], kept_before["ofport"], kept_before["options"])
    assert not tunnel(h1, GRE, remotes=[h2.underlay_ip])["changed"]
    assert ping_eventually(fabric["ns"]["g1"], "10.41.0.2")


def test_changed_key_is_converged_and_traffic_flows_again(fabric):
    h1, h2, ns = fabric["h1"], fabric["h2"], fabric["ns"]
    tunnel(h1, GRE, remotes=[h2.underlay_ip])
    tunnel(h2, GRE, remotes=[h1.underlay_ip])
    port = tunnel(h1, GRE, remotes=[h2.underlay_ip])["tunnels"][0]["port"]
    uuid = rows(h1, "Interface")[port]["_uuid"]
    r = h1.module("ovs_tunnel", dict(GRE, key=200, remotes=[h2.underlay_ip]), diff=True)
    assert ok(r)["changed"]
    assert r["diff"]["before"]["tunnels"][h2.underlay_ip]["options"]["key"] == "100"
    assert r["diff"]["after"]["tunnels"][h2.underlay_ip]["options"]["key"] == "200"
    iface = rows(h1, "Interface")[port]
    assert iface["options"]["key"] == "200" and iface["_uuid"] == uuid  # converged in place
    # keys differ between the hosts now: the overlay is cut
    assert not ping(ns["g1"], "10.41.0.2", count=2, wait=1)
    tunnel(h2, GRE, key=200, remotes=[h1.underlay_ip])
    assert ping_eventually(ns["g1"], "10.41.0.2")
    assert tcp(ns["g2"], ns["g1"], "10.41.0.2")
    tunnel(h1, GRE, remotes=[h2.underlay_ip])
    tunnel(h2, GRE, remotes=[h1.underlay_ip])


def test_attachment_is_found_again_after_a_container_restart(fabric):
    h1, h2, ns = fabric["h1"], fabric["h2"], fabric["ns"]
    tunnel(h1, GRE, remotes=[h2.underlay_ip])
    tunnel(h2, GRE, remotes=[h1.underlay_ip])
    g2 = ns["g2"]
    first = attach(h2, g2, "br-gre", "10.41.0.2/24", GRE["network"])["attachment"]
    port = first["host_ifname"]
    ids = rows(h2, "Port")[port]["external_ids"]
    assert ids["netwire-role"] == "attach" and ids["netwire-container"] == g2.name
    assert ids["netwire-interface"] == "eth1" and ids["netwire-network"] == GRE["network"]
    # "restart": the namespace (and with it the veth) is gone; OVS keeps a dead port
    h2.run(["ip", "netns", "del", g2.name])
    h2.run(["ip", "netns", "add", g2.name])
    g2.run(["ip", "link", "set", "lo", "up"])
    r = attach(h2, g2, "br-gre", "10.41.0.2/24", GRE["network"])
    assert r["changed"] and "re-add OVS port %s on bridge br-gre for the new veth" % port in r["actions"]
    assert rows(h2, "Interface")[port]["ofport"] > 0
    assert not attach(h2, g2, "br-gre", "10.41.0.2/24", GRE["network"])["changed"]
    assert ping_eventually(ns["g1"], "10.41.0.2")
    assert tcp(ns["g1"], g2, "10.41.0.1")


def test_tunnel_lifecycle_check_apply_rerun_diff_change_absent(fabric):
    h1, h2, h3 = fabric["h1"], fabric["h2"], fabric["h3"]
    ok(h1.module("ovs_bridge", {"name": "br-seqt", "datapath_type": "netdev"}))
    base = {"bridge": "br-seqt", "network": "ovt-seq", "type": "geneve", "key": 7,
            "remotes": [h2.underlay_ip, h3.underlay_ip]}

    r = ok(h1.module("ovs_tunnel", base, check=True))
    assert r["changed"] and len(r["actions"]) == 2 and [t["ofport"] for t in r["tunnels"]] == [None, None]
    assert ports_of(h1, "br-seqt") == {"br-seqt"}

    r = ok(h1.module("ovs_tunnel", base))
    assert r["changed"] and all(t["ofport"] > 0 for t in r["tunnels"])
    names = set(t["port"] for t in r["tunnels"])
    assert ports_of(h1, "br-seqt") == names | {"br-seqt"}
    assert all(len(n) <= 15 and n.startswith("gnv-") for n in names)
    port_rows = rows(h1, "Port")
    for t in r["tunnels"]:
        ids = port_rows[t["port"]]["external_ids"]
        assert ids["netwire-owner"] == "netwire.fabric" and ids["netwire-network"] == "ovt-seq"
        assert ids["netwire-remote"] == t["remote"]

    assert not ok(h1.module("ovs_tunnel", base))["changed"]

    changed = dict(base, key=8, dst_port=6090, options={"csum": True})
    r = ok(h1.module("ovs_tunnel", changed, diff=True))
    assert r["changed"]
    assert r["diff"]["before"]["tunnels"][h2.underlay_ip]["options"] == {"remote_ip": h2.underlay_ip, "key": "7"}
    assert r["diff"]["after"]["tunnels"][h2.underlay_ip]["options"] == {
        "remote_ip": h2.underlay_ip, "key": "8", "dst_port": "6090", "csum": "true"}
    for name in names:
        assert rows(h1, "Interface")[name]["options"]["dst_port"] == "6090"
    assert not ok(h1.module("ovs_tunnel", changed))["changed"]

    r = ok(h1.module("ovs_tunnel", dict(base, state="absent"), check=True))
    assert r["changed"] and ports_of(h1, "br-seqt") == names | {"br-seqt"}
    r = ok(h1.module("ovs_tunnel", dict(base, state="absent")))
    assert r["changed"] and ports_of(h1, "br-seqt") == {"br-seqt"}
    r = ok(h1.module("ovs_tunnel", dict(base, state="absent")))
    assert not r["changed"]


@pytest.mark.parametrize("bad, message", [
    ({"remotes": ["198.19.0.300"]}, "Invalid remote '198.19.0.300'"),
    ({"key": 2 ** 24, "type": "vxlan"}, "between 0 and 16777215"),
    ({"type": "stt"}, "value of type must be one of"),
    ({"bridge": "br-missing"}, "OVS bridge 'br-missing' does not exist"),
    ({"bridge": "br-theirs"}, "not created by netwire.fabric"),
    ({"ovsdb_socket": "/run/openvswitch/none.sock"}, "Open vSwitch is not running"),
])
def test_clear_errors_change_nothing(fabric, bad, message):
    h1 = fabric["h1"]
    before = (rows(h1, "Port"), rows(h1, "Interface"))
    params = dict(GRE, remotes=[fabric["h2"].underlay_ip, fabric["h3"].underlay_ip])
    params.update(bad)
    r = h1.module("ovs_tunnel", params)
    assert r.get("failed") and message in r["msg"], r
    after = (rows(h1, "Port"), rows(h1, "Interface"))
    assert set(before[0]) == set(after[0]) and all(
        before[1][n]["options"] == after[1][n]["options"] for n in before[1])


def test_vlan_tagged_containers_reach_only_their_vlan(fabric):
    h1 = fabric["h1"]
    ok(h1.module("ovs_bridge", {"name": "br-vlan", "datapath_type": "netdev"}))
    spaces = []
    try:
        for i, tag in ((1, 10), (2, 10), (3, 20), (4, 20)):
            ns = NS(h1, "ovt-l%d" % i)
            h1.run(["ip", "netns", "add", ns.name])
            spaces.append(ns)
            ns.run(["ip", "link", "set", "lo", "up"])
            r = attach(h1, ns, "br-vlan", "10.43.0.%d/24" % i, "ovt-vlan", vlan_tag=tag)
            assert r["attachment"]["vlan_tag"] == tag
            assert rows(h1, "Port")[r["attachment"]["host_ifname"]]["tag"] == tag
        l1, l2, l3, l4 = spaces
        assert ping_eventually(l1, "10.43.0.2")
        assert ping_eventually(l3, "10.43.0.4")
        assert not ping(l1, "10.43.0.3", count=2, wait=1)
        assert not ping(l4, "10.43.0.2", count=2, wait=1)
        # retag l3 into VLAN 10: now it reaches l1 and no longer l4
        r = attach(h1, l3, "br-vlan", "10.43.0.3/24", "ovt-vlan", vlan_tag=10)
        assert r["changed"]
        assert ping_eventually(l3, "10.43.0.1")
        assert not ping(l3, "10.43.0.4", count=2, wait=1)
    finally:
        for ns in spaces:
            h1.module("container_attach", {"container": ns.name, "container_type": "netns", "ifname": "eth1",
                                           "state": "absent"})
            h1.run(["ip", "netns", "del", ns.name], check=False)
        ok(h1.module("ovs_bridge", {"name": "br-vlan", "state": "absent"}))


def test_net_info_reports_owned_ovs_objects_only(fabric):
    h1, h2 = fabric["h1"], fabric["h2"]
    gre = tunnel(h1, GRE, remotes=[h2.underlay_ip])["tunnels"][0]
    info = ok(h1.module("net_info", {}))
    ovs = info["ovs"]
    assert ovs["available"] and not info["changed"]
    bridges = dict((b["name"], b) for b in ovs["bridges"])
    assert {"br-gre", "br-vx", "br-underlay"} <= set(bridges) and "br-theirs" not in bridges
    assert bridges["br-gre"]["datapath_type"] == "netdev"
    assert [(t["name"], t["remote"], t["network"]) for t in ovs["tunnels"] if t["bridge"] == "br-gre"] == [
        (gre["port"], h2.underlay_ip, GRE["network"])]
    assert "theirs0" not in [p["name"] for p in ovs["ports"] + ovs["attachments"]]
    assert [p["name"] for p in ovs["ports"]] == ["eth1"]  # br-underlay's member
    ours = [a for a in info["attachments"] if a["identity"] == "netns:ovt-g1"]
    assert len(ours) == 1 and ours[0]["bridge"] == "br-gre" and ours[0]["bridge_type"] == "ovs"
    missing = ok(h1.module("net_info", {"ovsdb_socket": "/run/openvswitch/none.sock"}))["ovs"]
    assert missing["available"] is False and "not running" in missing["reason"]


def test_interface_ovs_rejects_is_reported_and_rolled_back(fabric):
    """Two overlays with the same type, VNI and remote on one host: OVS refuses the
    second tunnel (ofport -1, 'File exists'); the module says so and leaves nothing behind."""
    h1, h2 = fabric["h1"], fabric["h2"]
    tunnel(h1, VX, remotes=[h2.underlay_ip])
    ok(h1.module("ovs_bridge", {"name": "br-seqt", "datapath_type": "netdev"}))
    dup = dict(VX, bridge="br-seqt", network="ovt-dup", remotes=[h2.underlay_ip])
    r = h1.module("ovs_tunnel", dup)
    assert r.get("failed") and "File exists" in r["msg"] and "rolled back" in r["msg"], r
    assert ports_of(h1, "br-seqt") == {"br-seqt"}
    ok(h1.module("ovs_bridge", {"name": "br-seqt", "state": "absent"}))
    tunnel(h2, VX, remotes=[h1.underlay_ip])
    assert ping_eventually(fabric["ns"]["v1"], "10.42.0.2")


def test_docker_container_on_ovs_across_gre_and_after_restart(fabric, container):
    h1, h2 = fabric["h1"], fabric["h2"]
    tunnel(h1, GRE, remotes=[h2.underlay_ip])
    tunnel(h2, GRE, remotes=[h1.underlay_ip])
    c = container()
    params = {"container": c.name, "container_type": "docker", "bridge": "br-gre", "ifname": "eth1",
              "addresses": ["10.41.0.11/24"], "mtu": MTU, "network": GRE["network"]}

    def reaches_g2():
        return any(c.exec(["ping", "-c", "1", "-W", "1", "10.41.0.2"]).returncode == 0 for _attempt in range(4))

    try:
        r = ok(h1.module("container_attach", params))  # bridge_type auto: detected as OVS
        assert r["attachment"]["bridge_type"] == "ovs"
        port = r["attachment"]["host_ifname"]
        assert rows(h1, "Port")[port]["external_ids"]["netwire-container"] == c.name
        assert reaches_g2()
        c.restart()
        r = ok(h1.module("container_attach", params))
        assert r["changed"] and any(a.startswith("re-add OVS port %s" % port) for a in r["actions"])
        assert not ok(h1.module("container_attach", params))["changed"]
        assert reaches_g2()
    finally:
        ok(h1.module("container_attach", {"container": c.name, "ifname": "eth1", "state": "absent"}))
    assert port not in rows(h1, "Port")
