"""The lab itself: each simulated host behaves like a separate machine.

Everything here goes through the same paths the collection uses: Ansible over
real SSH to each host's management address, and commands inside the host's
namespaces. Traffic stays between lab namespaces and is bounded.
"""

import json
import os
import subprocess

import pytest

pytestmark = pytest.mark.lab


def _command(lab, pattern, cmd):
    results = lab.ansible(pattern, "ansible.builtin.command", {"argv": cmd})
    for name, res in results.items():
        assert not res.get("failed"), (name, res)
    return results


def test_ansible_ping_reaches_every_host_over_ssh(lab):
    results = lab.ansible("all", "ansible.builtin.ping")
    assert sorted(results) == sorted(h.name for h in lab.hosts)
    for name, res in results.items():
        assert res.get("ping") == "pong", (name, res)


def test_each_host_sees_its_own_hostname_over_ssh(lab):
    results = _command(lab, "all", ["hostname"])
    assert {name: res["stdout"].strip() for name, res in results.items()} == {h.name: h.name for h in lab.hosts}


def test_each_host_has_its_own_empty_ovs_database(lab):
    results = _command(lab, "all", ["ovs-vsctl", "--format=json", "--columns=_uuid,external_ids,bridges",
                                    "list", "Open_vSwitch"])
    uuids = set()
    for name, res in results.items():
        rows = json.loads(res["stdout"])["data"]
        assert len(rows) == 1, (name, rows)
        uuid, external_ids, bridges = rows[0]
        uuids.add(uuid[1])
        assert dict(external_ids[1])["hostname"] == name
        assert bridges == ["set", []], (name, bridges)
    assert len(uuids) == len(lab.hosts), "hosts share an OVS database"
    show = _command(lab, "all", ["ovs-vsctl", "show"])
    for name, res in show.items():
        assert "Bridge" not in res["stdout"], (name, res["stdout"])
    # The daemons are up: vswitchd answers on the host's own control socket.
    for h in lab.hosts:
        assert "ovs-vswitchd" in h.run(["ovs-appctl", "version"]).stdout


def test_each_host_has_its_own_daemon_directories(lab):
    """/etc/netwire and /var/lib/netwire (bind mounts) and /run/netwire (in the private /run) are per host."""
    hosts = lab.hosts[:2]
    dirs = ("/etc/netwire", "/var/lib/netwire", "/run/netwire")
    try:
        for h in hosts:
            for d in dirs:
                h.run("mkdir -p %s && echo %s > %s/nwt-owner" % (d, h.name, d))
        for h in hosts:
            for d in dirs:
                assert h.run(["cat", "%s/nwt-owner" % d]).stdout.strip() == h.name, (h.name, d)
        for d in dirs:
            assert not os.path.exists("%s/nwt-owner" % d), "%s of a lab host is the machine's" % d
    finally:
        for h in hosts:
            h.run("rm -f %s" % " ".join("%s/nwt-owner" % d for d in dirs), check=False)


def test_each_host_sees_only_its_own_interfaces(lab):
    root_links = {l["ifname"]: l.get("address") for l in json.loads(
        subprocess.run(["ip", "-j", "link"], capture_output=True, text=True, check=True).stdout)}
    macs = set()
    for h in lab.hosts:
        links = h.json(["ip", "-j", "link"])
        assert sorted(l["ifname"] for l in links) == ["eth0", "eth1", "lo"], h.name
        # sysfs is remounted per host, so tools that read /sys agree with netlink
        assert sorted(h.run(["ls", "/sys/class/net"]).stdout.split()) == ["eth0", "eth1", "lo"]
        for l in links:
            if l["ifname"] != "lo":
                macs.add(l["address"])
                assert l["address"] not in root_links.values()
        addrs = {a["ifname"]: [i["local"] for i in a["addr_info"] if i["family"] == "inet"]
                 for a in h.json(["ip", "-j", "addr"])}
        assert addrs["eth0"] == [h.mgmt_ip]
        assert addrs["eth1"] == [h.underlay_ip]
    assert len(macs) == 2 * len(lab.hosts)
    # The root namespace holds no lab interface but the management bridge and its ports.
    lab_links = sorted(n for n in root_links if n.startswith(lab.prefix))
    assert lab_links == sorted([lab.mgmt_bridge] + ["%sm%d" % (lab.prefix, h.index) for h in lab.hosts])


def test_hosts_reach_each_other_over_the_underlay(lab):
    for src in lab.hosts:
        for dst in lab.hosts:
            if src is dst:
                continue
            out = src.run(["ping", "-c", "2", "-i", "0.2", "-W", "2", "-I", src.underlay_if, dst.underlay_ip])
            assert " 0% packet loss" in out.stdout, (src.name, dst.name, out.stdout)


def test_underlay_mtu_and_default_route(lab):
    for h in lab.hosts:
        (eth1,) = h.json(["ip", "-j", "link", "show", "eth1"])
        assert eth1["mtu"] == lab.mtu
        routes = h.json(["ip", "-j", "route", "show", "default"])
        assert [(r["gateway"], r["dev"]) for r in routes] == [("198.19.0.1", "eth1")]


def test_outside_host_is_reachable_only_through_the_router(lab):
    h = lab.hosts[0]
    out = h.run(["ping", "-c", "2", "-i", "0.2", "-W", "2", lab.outside.ip])
    assert " 0% packet loss" in out.stdout
    # The outside host runs nothing: no listening sockets at all.
    listening = lab.outside.run(["ss", "-Htlun"]).stdout.strip()
    assert listening == ""
    # It has no route into the management range: management stays management.
    route = lab.outside.run(["ip", "route", "get", lab.hosts[0].mgmt_ip], check=False)
    assert "via 203.0.113.1" in route.stdout  # only via the router, which has no such route
    ping = lab.outside.run(["ping", "-c", "1", "-W", "1", lab.hosts[0].mgmt_ip], check=False)
    assert ping.returncode != 0


def test_hosts_cannot_reach_outside_the_lab(lab):
    """The lab's router knows only lab ranges: the machine's own uplink is unreachable."""
    r = lab.router.json(["ip", "-j", "route"])
    assert sorted(x["dst"] for x in r) == ["198.19.0.0/24", "203.0.113.0/24"]
    h = lab.hosts[0]
    # Route lookup only: no packet is sent anywhere outside the lab.
    got = lab.router.run(["ip", "route", "get", "192.0.2.1"], check=False)
    assert got.returncode != 0 and "unreachable" in got.stderr
    assert h.json(["ip", "-j", "route", "get", "192.0.2.1"])[0]["gateway"] == "198.19.0.1"


def test_docker_engine_is_reachable_from_every_host(lab, container):
    c = container()
    results = _command(lab, "all", ["docker", "inspect", c.name])
    for name, res in results.items():
        assert json.loads(res["stdout"])[0]["State"]["Pid"] == c.pid, name
    # A container made with --network none has only its loopback.
    links = c.exec(["ip", "-o", "link"]).stdout
    assert [l.split(":")[1].strip() for l in links.strip().splitlines()] == ["lo"]


def test_netns_factory_makes_namespaces_private_to_a_host(lab, netns):
    h1, h2 = lab.hosts[0], lab.hosts[1]
    ns = netns(h1, "c-lab-test")
    assert "c-lab-test" in h1.run(["ip", "netns", "list"]).stdout
    assert "c-lab-test" not in h2.run(["ip", "netns", "list"]).stdout
    assert [l["ifname"] for l in ns.json(["ip", "-j", "link"])] == ["lo"]
