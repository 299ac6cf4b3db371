"""container_attach: Docker containers and plain namespaces on a Linux bridge in a lab host."""

import json
import subprocess
import time
import uuid

import pytest

from tests.lab.core import CONTAINER_LABEL, IMAGE, REPO, sh, venv_python
from tests.lab.pytest_plugin import Container

from tests.integration.linux_helpers import (
    addresses,
    assert_failed,
    kind,
    link,
    link_in,
    routes,
    snapshot,
    stable,
)

pytestmark = pytest.mark.lab

BR = "nwt-abr"
FOREIGN = ["nwt-abrx", "nwt-abrv", "nwt-abrw"]  # unowned bridge and veth pair, names like ours


@pytest.fixture
def host(lab):
    h = lab.host("host1")
    res = h.module("linux_bridge", {"name": BR, "addresses": ["10.34.0.1/24", "fd00:34::1/64"]})
    assert not res.get("failed"), res
    h.run("ip link add nwt-abrx type bridge; ip link add nwt-abrv type veth peer name nwt-abrw;"
          " ip link set nwt-abrv master nwt-abrx")
    yield h
    h.run("for l in %s; do ip link del $l 2>/dev/null; done; true" % " ".join([BR] + FOREIGN))


def host_ends(host, identity):
    """Links of the host that carry this container's attachment mark."""
    alias_prefix = "netwire:attach:%s/" % identity
    return sorted(l["ifname"] for l in host.json(["ip", "-j", "link"]) if (l.get("ifalias") or "").startswith(alias_prefix))


def ns_path(c):
    return "/proc/%d/ns/net" % c.pid


def test_docker_attach_lifecycle(host, container):
    c = container()
    identity = "docker:%s" % c.name
    foreign_before = snapshot(host, FOREIGN)
    params = {"container": c.name, "bridge": BR, "addresses": ["10.34.0.11/24"], "gateway": "10.34.0.1"}

    res = host.module("container_attach", params, check=True, diff=True)
    assert res["changed"] and res["diff"]["before"] == {}, res
    planned = res["attachment"]
    assert len(planned["host_ifname"]) <= 15 and planned["bridge"] == BR and planned["mtu"] == 1500
    assert link(host, planned["host_ifname"]) is None, "check mode created the host end"
    assert link_in(host, ns_path(c), "eth1") is None, "check mode created the container end"

    res = host.module("container_attach", params)
    assert res["changed"], res
    hend = link(host, planned["host_ifname"])
    assert kind(hend) == "veth" and hend["master"] == BR and "UP" in hend["flags"]
    assert hend["ifalias"] == "netwire:attach:%s/eth1" % identity
    cend = link_in(host, ns_path(c), "eth1")
    assert cend["address"] == planned["mac"] and "UP" in cend["flags"] and cend["mtu"] == 1500
    assert addresses(host, "eth1", ns_path(c)) == ["10.34.0.11/24"]
    default = [r for r in routes(host, ns_path(c)) if r["dst"] == "default"]
    assert default == [dict(default[0], gateway="10.34.0.1", dev="eth1")] and default[0]["protocol"] == "110"

    assert not host.module("container_attach", params)["changed"]
    # the same container by ID is the same attachment; by PID it is another identity, which must not take it over
    assert not host.module("container_attach", dict(params, container=c.id, container_type="docker"))["changed"]
    by_pid = host.module("container_attach", dict(params, container=str(c.pid)))
    assert_failed(by_pid, "belongs to another netwire attachment (netwire:attach:%s/eth1)" % identity)
    assert link(host, planned["host_ifname"])["ifindex"] == hend["ifindex"]

    changed = dict(params, addresses=["10.34.0.12/24"], mtu=1400, hairpin=True, mac_seed="web-seed")
    res = host.module("container_attach", changed, check=True, diff=True)
    assert res["changed"]
    assert res["diff"]["before"]["addresses"] == ["10.34.0.11/24"]
    assert res["diff"]["after"]["addresses"] == ["10.34.0.12/24"]
    assert res["diff"]["before"]["mtu"] == 1500 and res["diff"]["after"]["mtu"] == 1400
    assert res["diff"]["before"]["hairpin"] is False and res["diff"]["after"]["hairpin"] is True
    assert addresses(host, "eth1", ns_path(c)) == ["10.34.0.11/24"], "check mode changed the address"

    res = host.module("container_attach", changed)
    assert res["changed"]
    cend = link_in(host, ns_path(c), "eth1")
    assert cend["mtu"] == 1400 and cend["address"] == res["attachment"]["mac"] != planned["mac"]
    assert addresses(host, "eth1", ns_path(c)) == ["10.34.0.12/24"]
    hend = link(host, planned["host_ifname"])
    assert hend["mtu"] == 1400 and hend["linkinfo"]["info_slave_data"]["hairpin"] is True
    again = host.module("container_attach", changed)
    assert not again["changed"], again["actions"]

    absent = {"container": c.name, "state": "absent"}
    res = host.module("container_attach", absent, check=True)
    assert res["changed"] and link(host, planned["host_ifname"]) is not None
    assert host.module("container_attach", absent)["changed"]
    assert link(host, planned["host_ifname"]) is None and link_in(host, ns_path(c), "eth1") is None
    assert not host.module("container_attach", absent)["changed"]
    c.remove()
    gone = host.module("container_attach", absent)
    assert not gone.get("failed") and not gone["changed"], gone
    assert snapshot(host, FOREIGN) == foreign_before


def test_two_containers_talk_and_the_host_reaches_them(host, container, netns):
    web = container()
    db = netns(host, "nwt-db")
    res = host.module("container_attach", {"container": web.name, "bridge": BR, "addresses": ["10.34.0.21/24"]})
    assert res["changed"], res
    res = host.module("container_attach", {"container": db.name, "bridge": BR,
                                           "addresses": ["10.34.0.22/24", "fd00:34::22/64"]})
    assert res["changed"], res
    assert web.exec(["ping", "-c", "2", "-W", "2", "10.34.0.22"]).returncode == 0
    assert db.run(["ping", "-c", "2", "-i", "0.2", "-W", "2", "10.34.0.21"], check=False).returncode == 0
    assert host.run(["ping", "-c", "2", "-i", "0.2", "-W", "2", "10.34.0.21"], check=False).returncode == 0
    assert db.run(["ping", "-6", "-c", "2", "-i", "0.2", "-W", "2", "fd00:34::1"], check=False).returncode == 0


GARP_WATCH = r"""
import socket, struct, sys, time
bridge, want = sys.argv[1], socket.inet_aton(sys.argv[2])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
s.bind((bridge, 0))
s.settimeout(0.5)
print("ready", flush=True)
deadline = time.time() + 25  # a module run on a loaded CI machine, not a wait for the frame
while time.time() < deadline:
    try:
        frame = s.recv(128)
    except socket.timeout:
        continue
    op, sha, spa, tha, tpa = struct.unpack("!6xH6s4s6s4s", frame[14:42])
    if op == 1 and spa == want and tpa == want:
        print("garp", ":".join("%02x" % b for b in sha), flush=True)
        sys.exit(0)
sys.exit(1)
"""


def test_new_addresses_are_announced_with_gratuitous_arp(host, netns):
    # Several fresh attachments: the announcement follows "set up" at once, and a link the kernel has
    # not finished bringing up (linkwatch) drops it silently (lost in 6 of 80 on a loaded host, before
    # the module waited for both ends to pass frames).
    for i in range(4):
        ns = netns(host, "nwt-garp%d" % i)
        address = "10.34.0.%d" % (71 + i)
        watch = host.popen([venv_python(), "-c", GARP_WATCH, BR, address], stdout=subprocess.PIPE, text=True)
        try:
            assert watch.stdout.readline().strip() == "ready"
            res = host.module("container_attach", {"container": ns.name, "bridge": BR,
                                                   "addresses": [address + "/24"]})
            assert "announce %s with gratuitous ARP" % address in res["actions"]
            assert watch.wait(timeout=30) == 0, "no gratuitous ARP for %s seen on the bridge" % address
            assert watch.stdout.read().split() == ["garp", res["attachment"]["mac"]]
        finally:
            if watch.poll() is None:
                watch.kill()
                watch.wait()


def test_docker_restart_reattaches_without_stale_host_end(host, container):
    c = container()
    params = {"container": c.name, "bridge": BR, "addresses": ["10.34.0.31/24"], "gateway": "10.34.0.1"}
    first = host.module("container_attach", params)
    assert first["changed"]
    old_ns = c.pid
    c.restart()
    assert c.pid != old_ns
    res = host.module("container_attach", params)
    assert res["changed"] and any(a.startswith("create veth") for a in res["actions"]), res
    assert host_ends(host, "docker:%s" % c.name) == [first["attachment"]["host_ifname"]]
    assert addresses(host, "eth1", ns_path(c)) == ["10.34.0.31/24"]
    assert c.exec(["ping", "-c", "2", "-W", "2", "10.34.0.1"]).returncode == 0
    assert not host.module("container_attach", params)["changed"]


def test_stale_host_end_of_a_held_namespace_is_replaced(host, netns):
    ns = netns(host, "nwt-held")
    params = {"container": ns.name, "bridge": BR, "addresses": ["10.34.0.41/24"]}
    first = host.module("container_attach", params)
    assert first["changed"]
    # Something keeps the old namespace alive (so the old veth survives) while the "container" gets a new one.
    holder = int(ns.run("sleep 60 >/dev/null 2>&1 & echo $!").stdout.strip())
    try:
        host.run(["ip", "netns", "del", ns.name])
        host.run(["ip", "netns", "add", ns.name])
        stale = link(host, first["attachment"]["host_ifname"])
        assert stale is not None, "the test needs the old host end to survive"
        res = host.module("container_attach", params)
        assert res["changed"]
        assert res["actions"][0].startswith("remove stale host end %s" % first["attachment"]["host_ifname"])
        assert host_ends(host, "netns:%s" % ns.name) == [first["attachment"]["host_ifname"]]
        fresh = link(host, first["attachment"]["host_ifname"])
        assert fresh["ifindex"] != stale["ifindex"]
        assert addresses(host, "eth1", ns.path) == ["10.34.0.41/24"]
        assert not host.module("container_attach", params)["changed"]
    finally:
        host.run(["kill", "-9", str(holder)], check=False)


def test_gateway_outside_the_subnet_and_exact_routes(host, netns):
    ns = netns(host, "nwt-rt")
    params = {"container": ns.path, "bridge": BR, "addresses": ["10.34.0.51/24", "fd00:34::51/64"],
              "gateway": "10.99.0.1", "gateway6": "fd00:99::1",
              "routes": [{"dest": "10.77.0.0/16", "via": "10.34.0.1"}]}
    assert host.module("container_attach", params)["changed"]
    have = {(r["dst"], r.get("gateway")) for r in routes(host, ns.path) if r.get("protocol") == "110"}
    assert have == {("default", "10.99.0.1"), ("10.99.0.1", None), ("10.77.0.0/16", "10.34.0.1")}
    have6 = {(r["dst"], r.get("gateway")) for r in routes(host, ns.path, "-6") if r.get("protocol") == "110"}
    assert have6 == {("default", "fd00:99::1"), ("fd00:99::1", None)}
    assert not host.module("container_attach", params)["changed"]
    params.update(gateway="10.34.0.1", gateway6=None, routes=[{"dest": "10.78.0.0/16", "via": "10.34.0.1"}])
    res = host.module("container_attach", params, diff=True)
    assert res["changed"]
    have = {(r["dst"], r.get("gateway")) for r in routes(host, ns.path) if r.get("protocol") == "110"}
    assert have == {("default", "10.34.0.1"), ("10.78.0.0/16", "10.34.0.1")}
    assert not [r for r in routes(host, ns.path, "-6") if r.get("protocol") == "110"]
    assert not host.module("container_attach", params)["changed"]


@pytest.fixture(scope="module")
def bad_setup(lab):
    """Shared by every bad-input case (read-only for them): a stopped and a running container, and a
    namespace whose eth1 netwire did not create."""
    h = lab.host("host1")
    stopped = Container("nwt-bad-stopped-%d" % lab.instance, lab.instance)
    running = Container("nwt-bad-running-%d" % lab.instance, lab.instance)
    for c in (stopped, running):
        c.remove()
        c.start()
    stopped.stop()
    h.run("ip netns del nwt-feth 2>/dev/null; ip netns add nwt-feth;"
          " ip netns exec nwt-feth ip link add eth1 type veth peer name eth9")
    h.run("ip netns del nwt-froute 2>/dev/null; ip netns add nwt-froute;"
          " ip netns exec nwt-froute sh -c 'ip link add eth0 type veth peer name eth9;"
          " ip addr add 10.77.0.2/24 dev eth0; ip link set eth0 up; ip link set eth9 up;"
          " ip route add default via 10.77.0.1'")
    yield {"stopped": stopped.name, "running": running.name, "foreign_ns": "nwt-feth", "routed_ns": "nwt-froute"}
    for c in (stopped, running):
        c.remove()
    h.run(["ip", "netns", "del", "nwt-feth"], check=False)
    h.run(["ip", "netns", "del", "nwt-froute"], check=False)


CASES = [
    ({"addresses": ["10.34.0.300/24"]}, ["Failed to attach container interface", "not a valid CIDR"]),
    ({"addresses": ["10.34.0.61"]}, ["no prefix length"]),
    ({"addresses": ["10.34.0.0/24"]}, ["network address"]),
    ({"addresses": ["10.34.0.255/24"]}, ["broadcast address"]),
    ({"ifname": "eth-name-too-long"}, ["longer than 15"]),
    ({"host_ifname": "host-name-too-long"}, ["longer than 15"]),
    ({"container": "nwt-no-such-container"}, ["'nwt-no-such-container:eth1'", "no running Docker or Podman container"]),
    ({"container": "{stopped}"}, ["is not running"]),
    ({"bridge": "nwt-nobr"}, ["bridge 'nwt-nobr' does not exist"]),
    ({"bridge": "nwt-abrv"}, ["'nwt-abrv' is a veth, not a known bridge"]),
    ({"host_ifname": "nwt-abrv"}, ["host interface 'nwt-abrv' exists but is not this attachment"]),
    ({"container": "{foreign_ns}"}, ["already has an interface 'eth1' that netwire did not create"]),
    ({"mac": "02:00:00:00:00:01", "mac_seed": "x"}, ["mutually exclusive"]),
    ({"container": "{routed_ns}", "gateway": "10.34.0.1"},
     ["already has a route to 0.0.0.0/0 (via 10.77.0.1) that this attachment does not own"]),
    ({"addresses": ["10.34.0.61/24"], "gateway": "fd00:34::1"}, ["is not an IPv4 address"]),
    ({"addresses": ["fd00:34::61/64"]}, ["IPv6 is disabled in the container"]),
    ({"addresses": ["10.34.0.61/24"], "routes": [{"dest": "10.9.0.0/16", "via": "fd00::1"}]}, ["mixes IPv4"]),
    ({"rules": [{"priority": 32766, "table": 100}]}, ["rules[0] priority 32766 is the kernel's own rule"]),
    ({"qdisc": {"rate": "10mbit", "burst": "1kb", "limit": "64kb"}}, ["qdisc burst 1024 bytes is smaller than a full"
                                                                      " frame"]),
    ({"qdisc": {"rate": "10mbit", "burst": "32kb"}}, ["one of the following is required: limit, latency"]),
]


@pytest.mark.parametrize("override,fragments", CASES, ids=[str(i) for i in range(len(CASES))])
def test_bad_input_changes_nothing(host, bad_setup, override, fragments):
    params = {"container": bad_setup["running"], "bridge": BR, "addresses": ["10.34.0.61/24"]}
    params.update(json.loads(json.dumps(override).replace("{stopped}", bad_setup["stopped"])
                             .replace("{foreign_ns}", bad_setup["foreign_ns"])
                             .replace("{routed_ns}", bad_setup["routed_ns"])))
    names = [BR] + FOREIGN
    before = snapshot(host, names)
    before_links = sorted(l["ifname"] for l in host.json(["ip", "-j", "link"]))
    for check in (True, False):
        assert_failed(host.module("container_attach", params, check=check), *fragments)
    assert snapshot(host, names) == before
    assert sorted(l["ifname"] for l in host.json(["ip", "-j", "link"])) == before_links


# ---------------------------------------------------------------- detach is exact

OVS_BR = "nwt-aovs"


@pytest.fixture
def ovs_host(lab):
    h = lab.host("host1")
    res = h.module("ovs_bridge", {"name": OVS_BR, "datapath_type": "netdev"})
    assert not res.get("failed"), res
    yield h
    h.module("ovs_bridge", {"name": OVS_BR, "state": "absent"})
    h.run("for p in $(ovs-vsctl list-ports %s 2>/dev/null); do ovs-vsctl del-port %s $p; done;"
          " ovs-vsctl --if-exists del-br %s" % (OVS_BR, OVS_BR, OVS_BR), check=False)


def ovs_ports(host):
    return sorted(host.run(["ovs-vsctl", "list-ports", OVS_BR]).stdout.split())


def test_absent_for_a_removed_container_removes_its_ovs_port(ovs_host, container):
    c = container()
    params = {"container": c.name, "bridge": OVS_BR, "bridge_type": "ovs", "addresses": ["10.35.0.11/24"]}
    res = ovs_host.module("container_attach", params)
    assert res["changed"], res
    port = res["attachment"]["host_ifname"]
    assert ovs_ports(ovs_host) == [port]
    c.remove()
    assert link(ovs_host, port) is None, "the veth should have died with the container"
    assert ovs_ports(ovs_host) == [port], "the test needs the port to outlive the container"
    absent = {"container": c.name, "state": "absent"}
    res = ovs_host.module("container_attach", absent, check=True)
    assert res["changed"] and ovs_ports(ovs_host) == [port], res
    res = ovs_host.module("container_attach", absent)
    assert res["changed"], res
    assert ovs_ports(ovs_host) == []
    again = ovs_host.module("container_attach", absent)
    assert not again.get("failed") and not again["changed"], again


def test_absent_by_container_and_ifname_finds_a_custom_host_end(host, ovs_host, container):
    c = container()
    # one attachment on a Linux bridge, one on OVS, both with a custom host end
    params = [{"container": c.name, "bridge": BR, "ifname": "eth1", "host_ifname": "nwt-custom1",
               "addresses": ["10.34.0.81/24"]},
              {"container": c.name, "bridge": OVS_BR, "ifname": "eth2", "host_ifname": "nwt-custom2",
               "addresses": ["10.35.0.81/24"]}]
    for p in params:
        assert host.module("container_attach", p)["changed"]
    assert host_ends(host, "docker:%s" % c.name) == ["nwt-custom1", "nwt-custom2"]
    assert ovs_ports(host) == ["nwt-custom2"]
    for ifname in ("eth1", "eth2"):
        absent = {"container": c.name, "ifname": ifname, "state": "absent"}
        res = host.module("container_attach", absent)
        assert res["changed"], res
        assert not host.module("container_attach", absent)["changed"]
    assert host_ends(host, "docker:%s" % c.name) == []
    assert link(host, "nwt-custom1") is None and link(host, "nwt-custom2") is None
    assert link_in(host, ns_path(c), "eth1") is None and link_in(host, ns_path(c), "eth2") is None
    assert ovs_ports(host) == []


def test_attach_right_after_docker_restart(host, container):
    """A few rounds of what scripts/bench_restart_attach.py does 50 times: attach as soon as
    `docker restart` returns; it works, or it fails with a message that says to retry."""
    c = container()
    params = {"container": c.name, "bridge": BR, "addresses": ["10.34.0.91/24"], "gateway": "10.34.0.1"}
    assert host.module("container_attach", params)["changed"]
    for _round in range(3):
        c.restart()
        res = host.module("container_attach", params)
        if res.get("failed"):
            assert "retry" in res["msg"], res["msg"]
            res = host.module("container_attach", params)
        assert res["changed"] and not res.get("failed"), res
        assert addresses(host, "eth1", ns_path(c)) == ["10.34.0.91/24"]
        assert c.exec(["ping", "-c", "1", "-W", "2", "10.34.0.1"]).returncode == 0
        assert host_ends(host, "docker:%s" % c.name) == [res["attachment"]["host_ifname"]]


# ---------------------------------------------------------------- default route takeover (pipework #183)

def _routes_json(ns):
    return json.loads(ns.run(["ip", "-j", "-4", "route", "show", "table", "all"]).stdout)


def test_gateway_takeover_and_exact_restore_on_detach(host, netns):
    ns = netns(host, "nwt-takeover")
    ns.run("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1"
           " && ip link add eth0 type veth peer name eth9 && ip addr add 10.77.0.2/24 dev eth0 && ip link set eth0 up"
           " && ip link set eth9 up && ip route add default via 10.77.0.1 dev eth0 proto static metric 7")
    before = _routes_json(ns)
    params = {"container": ns.name, "bridge": BR, "ifname": "eth1", "addresses": ["10.34.0.95/24"],
              "gateway": "10.34.0.1"}
    # the default: a route we do not own is refused, and nothing is applied
    refused = host.module("container_attach", params)
    assert_failed(refused, "already has a route to 0.0.0.0/0 (via 10.77.0.1)", "gateway_takeover")
    assert _routes_json(ns) == before and link_in(host, ns.path, "eth1") is None
    takeover = dict(params, gateway_takeover=True)
    res = host.module("container_attach", takeover, check=True)
    assert res["changed"] and any(a.startswith("take over the default route 0.0.0.0/0 via 10.77.0.1")
                                  for a in res["actions"]), res
    assert _routes_json(ns) == before, "check mode changed the routes"
    res = host.module("container_attach", takeover)
    assert res["changed"], res
    default = [r for r in routes(host, ns.path) if r["dst"] == "default"]
    assert [(r["gateway"], r["dev"], r["protocol"]) for r in default] == [("10.34.0.1", "eth1", "110")], default
    assert ns.run(["ping", "-c", "1", "-W", "2", "10.34.0.1"], check=False).returncode == 0
    assert not host.module("container_attach", takeover)["changed"]
    absent = {"container": ns.name, "ifname": "eth1", "state": "absent"}
    res = host.module("container_attach", absent, check=True)
    assert res["changed"] and any(a.startswith("restore the default route 0.0.0.0/0 via 10.77.0.1")
                                  for a in res["actions"]), res
    res = host.module("container_attach", absent)
    assert res["changed"], res
    assert _routes_json(ns) == before, "the replaced default route did not come back exactly"
    assert not host.module("container_attach", absent)["changed"]


def test_host_network_purge_and_absent_restore_a_taken_over_default_route(host, netns):
    """The takeover made through host_network (the roles' path) is undone by its purge (the interface left
    the model) and by state=absent (down.yml), exactly as container_attach's detach does."""
    ns = netns(host, "nwt-takeover2")
    ns.run("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1"
           " && ip link add eth0 type veth peer name eth9 && ip addr add 10.77.0.2/24 dev eth0 && ip link set eth0 up"
           " && ip link set eth9 up && ip route add default via 10.77.0.1 dev eth0 proto static metric 7")
    before = _routes_json(ns)
    att = {"container": ns.name, "bridge": BR, "ifname": "eth1", "host_ifname": "nwt-tko1",
           "addresses": ["10.34.0.96/24"], "gateway": "10.34.0.1", "gateway_takeover": True}

    def host_network(attachments, check=False, **extra):
        params = dict({"plan": {"attachments": attachments}, "sections": ["containers"]}, **extra)
        res = host.module("host_network", params, check=check)
        assert not res.get("failed"), res
        return res

    def taken_over():
        default = [r for r in routes(host, ns.path) if r["dst"] == "default"]
        return [(r["gateway"], r["dev"]) for r in default] == [("10.34.0.1", "eth1")]

    for undo in ({"attachments": []}, {"attachments": [], "state": "absent"}):
        assert host_network([att])["changed"]
        assert taken_over() and not host_network([att])["changed"]
        res = host_network(check=True, **undo)
        assert res["changed"] and any("restore the default route 0.0.0.0/0 via 10.77.0.1" in a
                                      for a in res["actions"]), res
        assert taken_over(), "check mode changed the routes"
        assert host_network(**undo)["changed"]
        assert _routes_json(ns) == before, "the replaced default route did not come back exactly (%s)" % undo
        assert link(host, "nwt-tko1") is None
        assert not host_network(**undo)["changed"]


def _addrs(listing):
    """Addresses per link, without the link-local ones the kernel adds by itself."""
    return [(a["ifname"], sorted((x["local"], x["prefixlen"]) for x in a.get("addr_info", [])
                                 if x.get("scope") != "link")) for a in listing]


def test_vlan_tag_on_a_linux_bridge_fails_clearly_with_nothing_applied(host, container):
    """This kernel has no bridge VLAN filtering: a tagged port would land on the untagged LAN (an isolation
    breach), so the attach is refused, in check mode too, and the host and the container stay exactly as they were."""
    probe = host.run("ip netns add nwt-vlprobe && ip netns exec nwt-vlprobe ip link add b0 type bridge vlan_filtering 1;"
                     " rc=$?; ip netns del nwt-vlprobe; exit $rc", check=False)
    if probe.returncode == 0:
        pytest.skip("this kernel filters VLANs on bridges: the refusal is for kernels that cannot")
    c = container()

    def state():
        inside = ["nsenter", "--net=%s" % ns_path(c)]
        return ([stable(l) for l in host.json(["ip", "-j", "-d", "link"])],
                _addrs(host.json(["ip", "-j", "addr"])),
                host.json(["bridge", "-j", "fdb", "show", "br", BR]),
                [stable(l) for l in host.json(inside + ["ip", "-j", "-d", "link"])],
                _addrs(host.json(inside + ["ip", "-j", "addr"])),
                host.json(inside + ["ip", "-j", "route", "show", "table", "all"]))

    before = state()
    params = {"container": c.name, "bridge": BR, "addresses": ["10.34.0.97/24"], "vlan_tag": 10}
    for check in (True, False):
        res = host.module("container_attach", params, check=check)
        assert_failed(res, "vlan_tag 10 on Linux bridge '%s'" % BR, "CONFIG_BRIDGE_VLAN_FILTERING",
                      "the port would be untagged")
    assert state() == before


# ---------------------------------------------------------------- rules and qdisc (issue 19)

def _rules(ns):
    """(priority, from, table, protocol) of every rule of the namespace, IPv4."""
    return sorted((r["priority"], r.get("src", "all") + ("/%d" % r["srclen"] if "srclen" in r else ""),
                   str(r["table"]), r.get("protocol")) for r in ns.json("ip -j -4 rule show"))


def _root_qdisc(ns, dev="eth1"):
    return [q for q in ns.json("tc -j -s qdisc show dev %s" % dev) if q.get("root")][0]


def test_rules_and_qdisc_applied_exactly_in_place_and_only_ours_removed(host, netns):
    """A packet from the container takes the rule's table (the only route to 10.88.0.0/24 is in table 100,
    through the 'router' namespace); the tbf has its rate; a new rate is applied in place (the counters
    survive); a rule and a qdisc that are not ours are left alone, and absent removes only ours."""
    c, r = netns(host, "nwt-pr-c"), netns(host, "nwt-pr-r")
    res = host.module("container_attach", {"container": r.path, "bridge": BR, "addresses": ["10.34.0.62/24"]})
    assert res["changed"], res
    r.run("ip addr add 10.88.0.1/32 dev lo")
    c.run("ip rule add priority 1000 from 10.34.0.61 table 300")   # a sentinel, not ours, at our priority
    sentinel = (1000, "10.34.0.61", "300", None)
    base = {"container": c.path, "bridge": BR, "addresses": ["10.34.0.61/24"],
            "routes": [{"dest": "10.88.0.0/24", "via": "10.34.0.62", "table": 100}]}
    assert host.module("container_attach", dict(base, rules=[]))["changed"]
    assert [x for x in _rules(c) if x[0] == 1000] == [sentinel]
    assert c.run("ping -c 1 -W 1 -I 10.34.0.61 10.88.0.1", check=False).returncode != 0, "reached table 100 without the rule"

    rule = {"priority": 1000, "from": "10.34.0.61/32", "table": 100}
    params = dict(base, rules=[rule], qdisc={"rate": "10mbit", "burst": "32kb", "limit": "64kb"})
    res = host.module("container_attach", params, check=True, diff=True)
    assert res["changed"], res
    assert res["diff"]["before"]["rules"] == [] and res["diff"]["before"]["qdisc"] is None, res["diff"]
    assert res["diff"]["after"]["qdisc"] == {"kind": "tbf", "rate": 10000000, "burst": 32768, "limit": 65536}
    assert [x for x in _rules(c) if x[0] == 1000] == [sentinel], "check mode added a rule"
    assert _root_qdisc(c)["kind"] == "noqueue", "check mode set a qdisc"

    res = host.module("container_attach", params)
    assert res["changed"], res
    assert [x for x in _rules(c) if x[0] == 1000] == sorted([sentinel, (1000, "10.34.0.61", "100", "110")])
    q = _root_qdisc(c)   # the kernel keeps the burst as time at the rate: tc shows it back within a few bytes
    assert (q["kind"], q["handle"], q["options"]["rate"]) == ("tbf", "4e57:", 1250000), q
    assert abs(q["options"]["burst"] - 32768) < 8, q
    assert res["attachment"]["qdisc"] == {"kind": "tbf", "rate": 10000000, "burst": 32768, "limit": 65536}
    assert c.run("ping -c 3 -i 0.2 -W 1 -I 10.34.0.61 10.88.0.1", check=False).returncode == 0, "the rule's table is not used"
    again = host.module("container_attach", params)
    assert not again["changed"], again["actions"]
    sent = _root_qdisc(c)["bytes"]
    assert sent > 0

    faster = dict(params, qdisc={"rate": "20mbit", "burst": "32kb", "limit": "64kb"})
    res = host.module("container_attach", faster, check=True, diff=True)
    assert res["changed"] and res["diff"]["after"]["qdisc"]["rate"] == 20000000, res
    assert _root_qdisc(c)["options"]["rate"] == 1250000, "check mode changed the rate"
    res = host.module("container_attach", faster)
    assert res["changed"] and any(a.startswith("change qdisc tbf rate 20000000bit") for a in res["actions"]), res
    q = _root_qdisc(c)
    assert q["handle"] == "4e57:" and q["options"]["rate"] == 2500000, q
    assert q["bytes"] >= sent, "the qdisc was deleted and added, not changed in place (counters reset: %s)" % q
    assert not host.module("container_attach", faster)["changed"]

    # someone else's root qdisc is never replaced nor removed
    r.run("tc qdisc add dev eth1 root handle 1: tbf rate 1mbit burst 32kb limit 64kb")
    r_params = {"container": r.path, "bridge": BR, "addresses": ["10.34.0.62/24"]}
    assert not host.module("container_attach", r_params)["changed"]
    mine = {"rate": "1mbit", "burst": "32kb", "limit": "64kb"}
    assert_failed(host.module("container_attach", dict(r_params, qdisc=mine)),
                  "root qdisc tbf (handle 1:) that netwire did not create")
    assert _root_qdisc(r)["handle"] == "1:"

    # qdisc omitted: ours goes; rules omitted: left as they are
    res = host.module("container_attach", dict(base))
    assert res["changed"] and _root_qdisc(c)["kind"] == "noqueue", res
    assert (1000, "10.34.0.61", "100", "110") in _rules(c)
    absent = {"container": c.path, "state": "absent"}
    res = host.module("container_attach", absent, check=True)
    assert res["changed"] and (1000, "10.34.0.61", "100", "110") in _rules(c), res
    assert host.module("container_attach", absent)["changed"]
    assert [x for x in _rules(c) if x[0] == 1000] == [sentinel], "absent did not remove exactly our rule"
    assert not host.module("container_attach", absent)["changed"]


# ---------------------------------------------------------------- netwire-wait (issue 19)

def _waiting(lab, timeout):
    """A container whose entrypoint waits for eth1 with the shipped helper, then execs its server, as
    docs/linux.md shows (the server: a sleep; the helper's exit code goes to the logs)."""
    c = Container("nwt-wait-%s" % uuid.uuid4().hex[:8], lab.instance)
    c.id = sh(["docker", "run", "-d", "--network", "none", "--name", c.name,
               "--label", "%s=%d" % (CONTAINER_LABEL, lab.instance), "--stop-timeout", "1",
               "-v", "%s:/usr/local/bin/netwire-wait:ro" % (REPO / "files" / "netwire-wait"), IMAGE,
               "sh", "-c", "netwire-wait eth1 %d; echo rc=$?; exec sleep 120" % timeout]).stdout.strip()
    return c


def _waited(c, seconds):
    """The logs of ``c`` once its netwire-wait returned (bounded)."""
    deadline = time.time() + seconds
    while True:
        proc = sh(["docker", "logs", c.name])
        if "rc=" in proc.stdout or time.time() > deadline:
            return proc.stdout.strip(), proc.stderr.strip()
        time.sleep(0.2)


def test_netwire_wait_returns_once_the_attachment_arrives_and_fails_at_its_timeout(host, lab):
    ready, never = _waiting(lab, 30), _waiting(lab, 2)
    try:
        assert _waited(ready, 0)[0] == "", "netwire-wait returned before anything was attached"
        res = host.module("container_attach", {"container": ready.name, "bridge": BR, "addresses": ["10.34.0.71/24"]})
        assert res["changed"], res
        assert _waited(ready, 30) == ("rc=0", "")
        out, err = _waited(never, 20)
        assert out == "rc=1" and err == "netwire-wait: eth1 does not exist after 2 s", (out, err)
    finally:
        ready.remove()
        never.remove()
