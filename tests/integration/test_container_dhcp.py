"""container_attach with dhcp and resolver: a real dnsmasq on a lab host's bridge, real DHCP packets.

The test's own dnsmasq (its conf, leases and log in a tmp dir) serves static reservations only:
a MAC without one gets nothing. Its log counts the DHCP packets it sees, so "sends nothing"
(reruns, check mode) is measured, not assumed.
"""

import os
import subprocess
import time
import uuid

import pytest

from tests.integration.linux_helpers import addresses, assert_failed, link_in, routes

pytestmark = pytest.mark.lab

BR = "nwt-dhb"
NET = "10.36.14.0"
ROUTER = "10.36.14.1"
MAC_OK = "02:36:14:00:00:11"       # reserved: 10.36.14.11
MAC_WRONG = "02:36:14:00:00:12"    # reserved: 10.36.14.99, while the model says 10.36.14.12
MAC_ROUTER = "02:36:14:00:00:14"   # reserved: 10.36.14.14, the model's gateway is another
RESERVATIONS = [(MAC_OK, "10.36.14.11"), (MAC_WRONG, "10.36.14.99"), (MAC_ROUTER, "10.36.14.14")]


class Dnsmasq(object):
    def __init__(self, host, workdir):
        self.host = host
        self.dir = workdir
        self.log = os.path.join(workdir, "dnsmasq.log")
        self.leases = os.path.join(workdir, "dnsmasq.leases")
        conf = os.path.join(workdir, "dnsmasq.conf")
        with open(conf, "w") as f:
            f.write("# the test's own dnsmasq: DHCP reservations on %s only\n" % BR)
        argv = ["/usr/sbin/dnsmasq", "--keep-in-foreground", "--conf-file=%s" % conf, "--no-resolv", "--no-hosts",
                "--port=0", "--bind-interfaces", "--interface=%s" % BR, "--listen-address=%s" % ROUTER,
                "--dhcp-range=%s,static,255.255.255.0,infinite" % NET, "--dhcp-option=option:router,%s" % ROUTER,
                "--dhcp-leasefile=%s" % self.leases, "--pid-file=%s" % os.path.join(workdir, "dnsmasq.pid"),
                "--log-dhcp", "--log-facility=%s" % self.log, "--user=root", "--group=root"]
        argv += ["--dhcp-host=%s,%s" % r for r in RESERVATIONS]
        self.proc = host.popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 10
        while "started, version" not in self.read_log():
            assert self.proc.poll() is None, "dnsmasq exited: %s" % self.proc.stderr.read()
            assert time.time() < deadline, "dnsmasq did not start within 10 s"
            time.sleep(0.1)

    def read_log(self):
        try:
            with open(self.log) as f:
                return f.read()
        except IOError:
            return ""

    def packets(self, kind="DHCPDISCOVER"):
        return self.read_log().count("%s(%s)" % (kind, BR))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


@pytest.fixture
def server(lab, tmp_path):
    h = lab.host("host1")
    res = h.module("linux_bridge", {"name": BR, "addresses": ["%s/24" % ROUTER]})
    assert not res.get("failed"), res
    os.chmod(str(tmp_path), 0o755)
    d = Dnsmasq(h, str(tmp_path))
    yield h, d
    d.stop()
    h.run("ip link del %s 2>/dev/null; true" % BR)


def lifetimes(host, netns_path, ifname):
    data = host.json(["nsenter", "--net=%s" % netns_path, "ip", "-j", "-4", "addr", "show", "dev", ifname])
    return [(a["local"], a["valid_life_time"]) for a in data[0]["addr_info"]]


def test_docker_container_gets_exactly_its_model_address_by_dhcp(server, container):
    host, dnsmasq = server
    c = container()
    ns = "/proc/%d/ns/net" % c.pid
    params = {"container": c.name, "bridge": BR, "addresses": ["10.36.14.11/24"], "gateway": ROUTER,
              "mac": MAC_OK, "dhcp": True}

    res = host.module("container_attach", params, check=True)
    assert res["changed"] and "obtain 10.36.14.11/24 by DHCP on eth1" in res["actions"], res
    assert link_in(host, ns, "eth1") is None
    time.sleep(1)
    assert dnsmasq.packets() == 0, "check mode sent DHCP"

    started = time.time()
    res = host.module("container_attach", params)
    took = time.time() - started
    assert res["changed"] and not res.get("failed"), res
    print("dhcp attach took %.2f s" % took)
    assert took < 15
    assert addresses(host, "eth1", ns) == ["10.36.14.11/24"]
    assert lifetimes(host, ns, "eth1") == [("10.36.14.11", 4294967295)], "the address must not expire"
    default = [r for r in routes(host, ns) if r["dst"] == "default"]
    assert len(default) == 1 and default[0]["gateway"] == ROUTER and default[0]["protocol"] == "110"
    assert dnsmasq.packets("DHCPACK") == 1
    with open(dnsmasq.leases) as f:
        assert "%s 10.36.14.11" % MAC_OK in f.read()
    assert c.exec(["ping", "-c", "2", "-W", "2", ROUTER]).returncode == 0

    sent = dnsmasq.packets(), dnsmasq.packets("DHCPREQUEST")
    again = host.module("container_attach", params)
    assert not again["changed"], again["actions"]
    check = host.module("container_attach", params, check=True)
    assert not check["changed"], check["actions"]
    time.sleep(1)
    assert (dnsmasq.packets(), dnsmasq.packets("DHCPREQUEST")) == sent, "a rerun sent DHCP"

    # the container restarts (a new namespace, the address is gone): the rerun gets the same lease again
    c.restart()
    ns = "/proc/%d/ns/net" % c.pid
    res = host.module("container_attach", params)
    assert res["changed"] and "obtain 10.36.14.11/24 by DHCP on eth1" in res["actions"], res
    assert addresses(host, "eth1", ns) == ["10.36.14.11/24"] and dnsmasq.packets("DHCPACK") == 2

    assert host.module("container_attach", {"container": c.name, "state": "absent"})["changed"]
    assert link_in(host, ns, "eth1") is None


def test_an_unknown_mac_gets_no_lease_and_no_address(server, netns):
    host, dnsmasq = server
    ns = netns(host, "nwt-dhrand")
    params = {"container": ns.name, "bridge": BR, "addresses": ["10.36.14.13/24"], "gateway": ROUTER,
              "mac_seed": uuid.uuid4().hex, "dhcp": True}
    started = time.time()
    res = host.module("container_attach", params)
    took = time.time() - started
    print("no answer took %.2f s" % took)
    assert_failed(res, "no DHCP server answered on %s within" % BR, "for 10.36.14.13/24; no address was set")
    assert took < 15
    assert addresses(host, "eth1", ns.path) == []
    assert not [r for r in routes(host, ns.path) if r.get("protocol") == "110"]
    assert dnsmasq.packets() >= 1 and "no address available" in dnsmasq.read_log()


def test_a_wrong_reservation_or_router_fails_clearly_and_leaves_no_address(server, netns):
    host, dnsmasq = server
    ns = netns(host, "nwt-dhwrong")
    params = {"container": ns.name, "bridge": BR, "addresses": ["10.36.14.12/24"], "gateway": ROUTER,
              "mac": MAC_WRONG, "dhcp": True}
    res = host.module("container_attach", params)
    assert_failed(res, "expected the lease 10.36.14.12/24, the DHCP server (server %s) offered 10.36.14.99/24"
                  % ROUTER, "no address was set")
    assert addresses(host, "eth1", ns.path) == []

    ns2 = netns(host, "nwt-dhrouter")
    params = {"container": ns2.name, "bridge": BR, "addresses": ["10.36.14.14/24"], "gateway": "10.36.14.254",
              "mac": MAC_ROUTER, "dhcp": True}
    res = host.module("container_attach", params)
    assert_failed(res, "expected the router 10.36.14.254 in the lease of 10.36.14.14/24", "gave %s" % ROUTER)
    assert addresses(host, "eth1", ns2.path) == []
    assert not [r for r in routes(host, ns2.path) if r.get("protocol") == "110"]


def _host_resolv():
    with open("/etc/resolv.conf", "rb") as f:
        return f.read()


def test_docker_resolver_is_the_containers_own(server, container):
    host, _dnsmasq = server
    c = container()
    host_before = _host_resolv()
    original = c.exec(["cat", "/etc/resolv.conf"], check=True).stdout
    resolver = {"servers": [ROUTER], "search": ["dmz.netwire.internal", "netwire.internal"]}
    params = {"container": c.name, "bridge": BR, "addresses": ["10.36.14.21/24"], "resolver": resolver}

    res = host.module("container_attach", params, check=True, diff=True)
    assert res["changed"] and res["diff"]["before"]["resolv_conf"] == original
    assert res["diff"]["after"]["resolv_conf"].startswith("# managed by netwire.fabric\n")
    assert c.exec(["cat", "/etc/resolv.conf"], check=True).stdout == original, "check mode wrote"

    res = host.module("container_attach", params, diff=True)
    assert res["changed"], res
    inside = c.exec(["cat", "/etc/resolv.conf"], check=True).stdout
    assert inside == res["diff"]["after"]["resolv_conf"]
    assert inside.splitlines()[0] == "# managed by netwire.fabric"
    assert "nameserver %s" % ROUTER in inside.splitlines()
    assert "search dmz.netwire.internal netwire.internal" in inside.splitlines()
    again = host.module("container_attach", params)
    assert not again["changed"], again["actions"]

    # a restart keeps the container's file (the engine does not rewrite a file someone changed) or
    # regenerates it: either way the rerun leaves it ours, and detach puts back an unmarked original
    c.restart()
    assert not host.module("container_attach", params).get("failed")
    assert c.exec(["cat", "/etc/resolv.conf"], check=True).stdout == inside
    assert not host.module("container_attach", params)["changed"]

    assert host.module("container_attach", {"container": c.name, "state": "absent"})["changed"]
    assert c.exec(["cat", "/etc/resolv.conf"], check=True).stdout == original
    assert _host_resolv() == host_before

    # someone else takes the file over (the mark is gone): detach leaves it alone
    assert host.module("container_attach", params)["changed"]
    c.exec(["sh", "-c", "echo 'nameserver 192.0.2.53' > /etc/resolv.conf"], check=True)
    res = host.module("container_attach", {"container": c.name, "state": "absent"})
    assert not res.get("failed"), res
    assert c.exec(["cat", "/etc/resolv.conf"], check=True).stdout == "nameserver 192.0.2.53\n"
    assert _host_resolv() == host_before


def test_named_namespace_resolver_file(server, netns, lab):
    host, _dnsmasq = server
    name = "nwt-dhres%d" % lab.instance
    ns = netns(host, name)
    path = "/etc/netns/%s/resolv.conf" % name
    host_before = _host_resolv()
    params = {"container": name, "bridge": BR, "addresses": ["10.36.14.22/24"],
              "resolver": {"servers": [ROUTER], "search": []}}
    try:
        assert host.module("container_attach", params)["changed"]
        seen = ns.run(["cat", "/etc/resolv.conf"]).stdout
        assert seen.startswith("# managed by netwire.fabric\n") and "nameserver %s\n" % ROUTER in seen
        assert not host.module("container_attach", params)["changed"]
        assert host.module("container_attach", {"container": name, "state": "absent"})["changed"]
        assert not os.path.exists(path) and not os.path.exists(os.path.dirname(path))
        assert _host_resolv() == host_before
    finally:
        host.run("rm -rf /etc/netns/%s" % name, check=False)


def test_pid_reference_resolver_is_skipped_with_a_warning(server, container):
    host, _dnsmasq = server
    c = container()
    res = host.module("container_attach", {"container": str(c.pid), "bridge": BR, "addresses": ["10.36.14.23/24"],
                                           "resolver": {"servers": [ROUTER]}})
    assert res["changed"] and not res.get("failed"), res
    assert any("no resolv.conf that netwire can own" in str(w) for w in res.get("warnings", [])), res
