"""netwire.fabric.firewall in the lab: real nftables tables, real packets (bounded).

One lab host (host1) carries three Linux bridges made with plain ``ip`` commands
(dmz, app, backend; one zone each) and plain network namespaces as containers:

    fwt-dmz 10.61.1.1/24   dmz1 .10  dmz2 .11
    fwt-app 10.61.2.1/24   app1 .10  app2 .11
    fwt-be  10.61.3.1/24   be1  .10
    fwt-oth 10.62.0.1/24   oth1 .10  (a bridge the firewall does not manage)

Every container runs ``busybox nc`` on port 80 answering its own name. The lab
router does not NAT, so the outside host sees whatever source the lab host sends.
"""

import json
import subprocess
import time

import pytest

from tests.integration.linux_helpers import fixed_mac

pytestmark = pytest.mark.lab

MODULE = "netwire.fabric.firewall"
OWNED = {("inet", "netwire"), ("ip", "netwire_nat"), ("bridge", "netwire_icc")}
BRIDGES = {"dmz": ("fwt-dmz", "10.61.1"), "app": ("fwt-app", "10.61.2"),
           "be": ("fwt-be", "10.61.3"), "oth": ("fwt-oth", "10.62.0")}
CONTAINERS = {"dmz1": ("dmz", 10), "dmz2": ("dmz", 11), "app1": ("app", 10), "app2": ("app", 11),
              "be1": ("be", 10), "oth1": ("oth", 10)}
NS_PREFIX = "fwt-"
SENTINEL = """table inet sentinel {
  set s { type ipv4_addr; flags interval; elements = { 10.61.0.0/16 }; }
  chain forward { type filter hook forward priority 10; policy accept; ip saddr 10.99.0.0/16 counter drop; }
}
table ip netwire_natx {
  chain post { type nat hook postrouting priority 50; policy accept; ip daddr 10.99.9.9 counter; }
}
"""


def addr(name):
    net, host = CONTAINERS[name]
    return "%s.%d" % (BRIDGES[net][1], host)


def bridge_mac(prefix):
    """The fixed MAC of the bridge of ``prefix``, from its .1 (linux_helpers.fixed_mac says why: a Docker
    container's veth once moved the gateway's MAC under dmz1 in test_docker_container_egress_and_published_port)."""
    return fixed_mac(prefix + ".1")


class Bed(object):
    def __init__(self, lab):
        self.lab = lab
        self.host = lab.host("host1")
        self.underlay = self.host.underlay_ip

    def ns(self, name, cmd, check=False, timeout=20):
        inner = cmd if isinstance(cmd, list) else ["/bin/sh", "-c", cmd]
        return self.host.run(["ip", "netns", "exec", NS_PREFIX + name] + inner, check=check, timeout=timeout)

    def listening(self, netns_paths, port=80, seconds=10):
        """Wait, at most about ``seconds`` in all, until a TCP server listens on ``port`` in each network namespace
        (paths): a server started in the background is not there at once, and a client before it gets nothing."""
        script = ("i=0; for ns in %s; do until nsenter --net=$ns ss -Hltn 'sport = :%d' | grep -q .; do"
                  " i=$((i+1)); [ $i -le %d ] || { echo $ns; exit 1; }; sleep 0.1; done; done"
                  % (" ".join(netns_paths), port, seconds * 10))
        proc = self.host.run(script, check=False, timeout=seconds + 30)
        assert proc.returncode == 0, "no server listens on tcp/%d in %s" % (port, proc.stdout.strip() or proc.stderr)

    def tcp(self, name, target, port=80):
        """What the server at target:port answers to a TCP client in container ``name`` ('' if nothing)."""
        cmd = "timeout 4 busybox nc -w 2 %s %d </dev/null" % (target, port)
        out = self.ns(name, cmd).stdout if name != "host" else self.host.run(cmd, check=False).stdout
        return out.strip()

    def answers(self, name, target, port=80, want=None, attempts=3):
        """True when ``want`` answers at target:port; a few bounded attempts, since the first
        connection through new rules can lose its SYN while ARP and conntrack settle under load."""
        seen = []
        for _attempt in range(attempts):
            seen.append(self.tcp(name, target, port))
            if seen[-1] == want:
                return True
        # what the failure looked like (shown by pytest with the failed assertion)
        print("%s -> %s:%d answered %r, not %r" % (name, target, port, seen, want))
        for cmd in (["conntrack", "-L"], ["ip", "neigh"], ["nft", "list", "ruleset"]):
            print("$ %s\n%s" % (" ".join(cmd), self.host.run(cmd, check=False).stdout))
        if name != "host":
            print("$ ip neigh (in %s)\n%s" % (name, self.ns(name, ["ip", "neigh"]).stdout))
        return False

    def ping(self, name, target):
        return self.ns(name, ["ping", "-c", "1", "-W", "1", target]).returncode == 0

    def tables(self):
        return set((t["table"]["family"], t["table"]["name"])
                   for t in self.host.json(["nft", "-j", "list", "tables"])["nftables"] if "table" in t)

    def sentinel(self):
        return (self.host.run(["nft", "-j", "list", "table", "inet", "sentinel"]).stdout,
                self.host.run(["nft", "-j", "list", "table", "ip", "netwire_natx"]).stdout)

    def module(self, params, check=False, diff=False):
        return self.host.module(MODULE, params, check=check, diff=diff)

    def params(self, icc_app=True, flows=None, state="present", **extra):
        params = {
            "state": state,
            "networks": [
                {"name": "dmz", "subnet": "10.61.1.0/24", "bridge": "fwt-dmz", "zone": "dmz"},
                {"name": "app", "subnet": "10.61.2.0/24", "bridge": "fwt-app", "zone": "app", "icc": icc_app},
                {"name": "be", "subnet": "10.61.3.0/24", "bridge": "fwt-be", "zone": "backend", "nat": False},
            ],
            "flows": [{"from": "dmz", "to": "app"}, {"from": "app", "to": "backend"}] if flows is None else flows,
            "publications": [
                {"name": "web", "network": "dmz", "host_port": 8080, "bind_address": self.underlay,
                 "container_address": addr("dmz1"), "container_port": 80},
            ],
        }
        params.update(extra)
        return params


BRNF = "net.bridge.bridge-nf-call-iptables"


def _cleanup_script():
    # host ends first: a namespace is freed asynchronously, and its veth peers with it
    lines = []
    for name in CONTAINERS:
        ns = NS_PREFIX + name
        lines += ["ip link del fwt-v%s 2>/dev/null" % name,
                  "ip netns pids %s 2>/dev/null | xargs -r kill -9" % ns,
                  "ip netns del %s 2>/dev/null" % ns]
    lines += ["ip link del %s 2>/dev/null" % br for br, _subnet in BRIDGES.values()]
    return "\n".join(lines) + "\ntrue"


@pytest.fixture(scope="module", params=[0, 1], ids=["plain-bridge", "br_netfilter"])
def bed(lab, request):
    """The test bed, once with bridged traffic invisible to the IP hooks (the supported, documented
    case) and once with br_netfilter passing it through them (this kernel has it built in)."""
    bed = Bed(lab)
    bed.brnf = request.param
    h = bed.host
    forward = h.run(["sysctl", "-n", "net.ipv4.ip_forward"]).stdout.strip()
    brnf = h.run(["sysctl", "-n", BRNF], check=False).stdout.strip()
    if not brnf and bed.brnf:
        pytest.skip("no br_netfilter in this kernel: the plain-bridge run covers everything")
    script = ["set -e", "sysctl -qw net.ipv4.ip_forward=1"]
    if brnf:
        script.append("sysctl -qw %s=%d" % (BRNF, bed.brnf))
    for br, prefix in BRIDGES.values():
        script += ["ip link add %s address %s type bridge" % (br, bridge_mac(prefix)),
                   "ip addr add %s.1/24 dev %s" % (prefix, br), "ip link set %s up" % br]
    for name, (net, host_id) in CONTAINERS.items():
        br, prefix = BRIDGES[net]
        ns = NS_PREFIX + name
        script += ["ip netns add %s" % ns,
                   "ip link add fwt-v%s type veth peer name eth0 netns %s" % (name, ns),
                   "ip link set fwt-v%s master %s up" % (name, br),
                   "ip -n %s link set lo up" % ns,
                   "ip -n %s addr add %s.%d/24 dev eth0" % (ns, prefix, host_id),
                   "ip -n %s link set eth0 up" % ns,
                   "ip -n %s route add default via %s.1" % (ns, prefix),
                   # bounded server: answers its name on tcp/80 for at most 10 minutes
                   "ip netns exec %s timeout 600 busybox nc -ll -p 80 -e busybox echo %s "
                   ">/dev/null 2>&1 </dev/null &" % (ns, name)]
    h.run(_cleanup_script(), check=False)  # leftovers of an interrupted run
    h.run("\n".join(script), timeout=60)
    h.run(["nft", "-f", "-"], input=SENTINEL)
    try:
        bed.listening(["/run/netns/" + NS_PREFIX + name for name in CONTAINERS])
        yield bed
    finally:
        bed.module({"state": "absent"})
        bed.module({"state": "absent", "table_name": "fwalt"})
        h.run("nft delete table inet sentinel; nft delete table ip netwire_natx", check=False)
        h.run(_cleanup_script(), check=False)
        h.run(["sysctl", "-qw", "net.ipv4.ip_forward=%s" % forward], check=False)
        if brnf:
            h.run(["sysctl", "-qw", "%s=%s" % (BRNF, brnf)], check=False)


# --------------------------------------------------------------------------- lifecycle

def test_check_apply_rerun_diff_change_absent(bed):
    sentinel = bed.sentinel()
    assert not OWNED & bed.tables()
    # before: everything talks (no firewall)
    assert bed.ping("be1", addr("dmz1")) and bed.ping("app1", addr("app2"))

    res = bed.module(bed.params(), check=True, diff=True)
    assert res["changed"] is True, res
    assert not res.get("failed"), res
    assert sorted(res["actions"]) == ["create table inet netwire", "create table ip netwire_nat"]
    assert res["diff"]["before"] == ""
    assert "table inet netwire {" in res["diff"]["after"]
    assert not OWNED & bed.tables(), "check mode applied something"

    res = bed.module(bed.params())
    assert res["changed"] is True and not res.get("failed"), res
    assert bed.tables() >= {("inet", "netwire"), ("ip", "netwire_nat")}
    assert ("bridge", "netwire_icc") not in bed.tables()
    assert bed.sentinel() == sentinel

    res = bed.module(bed.params())
    assert res["changed"] is False, res["actions"]
    res = bed.module(bed.params(), check=True, diff=True)
    assert res["changed"] is False
    assert res["diff"]["before"] == res["diff"]["after"]
    assert 'ip saddr @zone_dmz ip daddr @zone_app accept comment "flow dmz -> app"' in res["diff"]["after"]

    # change: icc off on app, and drop the app -> backend flow
    assert bed.ping("app1", addr("app2")) and bed.ping("app1", addr("be1"))
    changed = bed.params(icc_app=False, flows=[{"from": "dmz", "to": "app"}])
    res = bed.module(changed, diff=True)
    assert res["changed"] is True, res
    assert sorted(res["actions"]) == ["create table bridge netwire_icc", "replace table inet netwire"]
    assert "flow app -> backend" in res["diff"]["before"]
    assert "flow app -> backend" not in res["diff"]["after"]
    assert "table bridge netwire_icc {" in res["diff"]["after"]
    assert ("bridge", "netwire_icc") in bed.tables()
    assert bed.sentinel() == sentinel
    assert not bed.ping("app1", addr("app2")), "icc off did not stop bridged traffic"
    assert not bed.ping("app1", addr("be1")), "removed flow still allowed"
    assert bed.module(changed)["changed"] is False

    res = bed.module({"state": "absent"}, check=True)
    assert res["changed"] is True and ("inet", "netwire") in bed.tables()
    res = bed.module({"state": "absent"}, diff=True)
    assert res["changed"] is True and res["diff"]["after"] == ""
    assert not OWNED & bed.tables()
    assert bed.sentinel() == sentinel
    assert bed.ping("app1", addr("app2")) and bed.ping("be1", addr("dmz1"))
    res = bed.module({"state": "absent"})
    assert res["changed"] is False
    assert bed.sentinel() == sentinel


def test_a_second_table_name_coexists(bed):
    alt = bed.params(table_name="fwalt", publications=[])
    assert bed.module(bed.params())["changed"] is True
    before = bed.host.run(["nft", "-j", "list", "table", "inet", "netwire"]).stdout
    assert bed.module(alt)["changed"] is True
    assert {("inet", "fwalt"), ("ip", "fwalt_nat"), ("inet", "netwire")} <= bed.tables()
    assert bed.module(bed.params())["changed"] is False
    assert bed.module({"state": "absent", "table_name": "fwalt"})["changed"] is True
    assert not {("inet", "fwalt"), ("ip", "fwalt_nat")} & bed.tables()
    assert bed.host.run(["nft", "-j", "list", "table", "inet", "netwire"]).stdout == before
    assert bed.module({"state": "absent"})["changed"] is True


# --------------------------------------------------------------------------- errors

@pytest.mark.parametrize("mutate, message", [
    (lambda p: p["publications"].append(dict(p["publications"][0], name="again", container_address="10.61.1.11")),
     "Failed to plan firewall publication 'again': host port tcp %(u)s:8080 is already published by 'web'"),
    (lambda p: p["publications"].__setitem__(0, dict(p["publications"][0], network="nope")),
     "Failed to plan firewall publication 'web': unknown network 'nope'"),
    (lambda p: p["publications"].__setitem__(0, dict(p["publications"][0], host_port=70000)),
     "Failed to plan firewall publication 'web': port 70000 is out of range 1-65535"),
    (lambda p: p["flows"].append({"from": "dmz", "to": "nowhere"}),
     "Failed to plan firewall flow 'dmz -> nowhere': unknown zone 'nowhere'"),
    (lambda p: p["networks"].append({"name": "x", "subnet": "10.61.0.0/16", "bridge": "fwt-x"}),
     "Failed to plan firewall network 'x': subnet 10.61.0.0/16 overlaps"),
])
def test_bad_input_fails_clearly_and_changes_nothing(bed, mutate, message):
    assert bed.module(bed.params())["changed"] in (True, False)
    listing = bed.host.run(["nft", "-j", "list", "ruleset"]).stdout
    params = bed.params()
    mutate(params)
    res = bed.module(params)
    assert res.get("failed") is True
    assert message % {"u": bed.underlay} in res["msg"]
    assert bed.host.run(["nft", "-j", "list", "ruleset"]).stdout == listing


def test_bad_option_type_is_rejected_by_ansible(bed):
    params = bed.params()
    params["publications"][0]["host_port"] = "http"
    res = bed.module(params)
    assert res.get("failed") is True and "host_port" in res["msg"]


# --------------------------------------------------------------------------- traffic

@pytest.fixture(scope="module")
def applied(bed):
    res = bed.module(bed.params())
    assert not res.get("failed"), res
    yield bed
    bed.module({"state": "absent"})


def test_nat_egress_reaches_outside_with_the_underlay_address(applied):
    bed, outside = applied, applied.lab.outside
    cap = outside.popen(["timeout", "8", "tcpdump", "-l", "-n", "-c", "1", "-i", "eth0", "icmp[icmptype] == 8"],
                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        time.sleep(1.0)
        # a few requests, so that a slow tcpdump start cannot miss them all
        assert bed.ns("dmz1", ["ping", "-c", "3", "-i", "0.5", "-W", "1", outside.ip]).returncode == 0
        out, _err = cap.communicate(timeout=10)
    finally:
        if cap.poll() is None:
            cap.kill()
    assert "IP %s > %s: ICMP echo request" % (bed.underlay, outside.ip) in out, out
    # backend has nat: false, and the router does not NAT: no way out
    assert not bed.ping("be1", outside.ip)


def test_published_port_from_outside_host_and_sibling(applied):
    bed = applied
    target = bed.underlay
    assert bed.lab.outside.run("timeout 4 busybox nc -w 2 %s 8080 </dev/null" % target,
                               check=False).stdout.strip() == "dmz1"
    assert bed.answers("host", target, 8080, want="dmz1")
    # hairpin: a sibling on the same bridge through the host address
    assert bed.answers("dmz2", target, 8080, want="dmz1")
    if bed.brnf == 0:
        # a container reaching its own published port: routed back out of the port it came from
        # (with br_netfilter this needs hairpin mode on the bridge port instead; not covered)
        assert bed.answers("dmz1", target, 8080, want="dmz1")
    # another network reaches the published port too (like the outside does)
    assert bed.answers("be1", target, 8080, want="dmz1")
    # the port is published on the bound address only
    assert bed.tcp("dmz2", "10.61.1.1", 8080) == ""
    assert bed.tcp("host", target, 8081) == ""


def test_zones_allow_declared_directions_only(applied):
    bed = applied
    # allowed flows, new connections and their replies
    assert bed.answers("dmz1", addr("app1"), want="app1")
    assert bed.ping("dmz1", addr("app1"))
    assert bed.answers("app1", addr("be1"), want="be1")
    assert bed.ping("app1", addr("be1"))
    # dmz -> backend denied both ways; reverse of allowed flows denied
    for src, dst in (("dmz1", "be1"), ("be1", "dmz1"), ("app1", "dmz1"), ("be1", "app1")):
        assert bed.tcp(src, addr(dst)) == "", (src, dst)
        assert not bed.ping(src, addr(dst)), (src, dst)
    # within one network (icc on) traffic is bridged and untouched
    assert bed.answers("dmz1", addr("dmz2"), want="dmz2")
    assert bed.answers("app1", addr("app2"), want="app2")


def test_traffic_of_networks_we_do_not_manage_is_not_affected(applied):
    bed = applied
    assert bed.answers("oth1", addr("dmz1"), want="dmz1")
    assert bed.answers("be1", addr("oth1"), want="oth1")
    assert bed.ping("oth1", addr("be1"))


def test_masquerade_is_not_applied_between_our_networks(applied):
    bed = applied
    rules = json.loads(bed.host.run(["nft", "-j", "list", "chain", "ip", "netwire_nat", "postrouting"]).stdout)
    egress = [i["rule"] for i in rules["nftables"] if "rule" in i and i["rule"].get("comment", "").startswith("egress")]
    assert [r["comment"] for r in egress] == ["egress dmz", "egress app"]
    assert all({"match": {"op": "!=", "left": {"payload": {"protocol": "ip", "field": "daddr"}},
                          "right": "@subnets"}} in r["expr"] for r in egress)


def test_loopback_publication_is_the_default_and_needs_route_localnet(bed):
    params = bed.params(publications=[{"network": "dmz", "host_port": 9090, "container_address": addr("dmz2"),
                                       "container_port": 80}])
    key = "net.ipv4.conf.fwt-dmz.route_localnet"
    try:
        res = bed.module(params)
        assert not res.get("failed"), res
        assert any("route_localnet" in str(w) for w in res.get("warnings", [])), res
        # only reachable on the host's loopback, never from another host or container
        assert bed.lab.outside.run("timeout 4 busybox nc -w 2 %s 9090 </dev/null" % bed.underlay,
                                   check=False).stdout.strip() == ""
        assert bed.tcp("dmz1", bed.underlay, 9090) == ""
        bed.host.run(["sysctl", "-qw", key + "=1"])
        assert bed.answers("host", "127.0.0.1", 9090, want="dmz2")
        res = bed.module(params)
        assert res["changed"] is False and not res.get("warnings"), res
    finally:
        bed.host.run(["sysctl", "-qw", key + "=0"], check=False)
        bed.module({"state": "absent"})


def test_over_ssh_with_ansible_check_and_diff(bed):
    args = bed.params()
    res = bed.lab.ansible("host1", MODULE, args, check=True, diff=True)["host1"]
    assert res["changed"] is True and not res.get("failed"), res
    assert not OWNED & bed.tables()
    res = bed.lab.ansible("host1", MODULE, args)["host1"]
    assert res["changed"] is True and sorted(res["tables"]) == ["inet netwire", "ip netwire_nat"], res
    res = bed.lab.ansible("host1", MODULE, args)["host1"]
    assert res["changed"] is False, res
    res = bed.lab.ansible("host1", MODULE, {"state": "absent"})["host1"]
    assert res["changed"] is True and not OWNED & bed.tables()


def test_icc_off_blocks_siblings_but_not_the_host_paths(bed):
    params = bed.params()
    params["networks"][0]["icc"] = False
    try:
        assert bed.module(params)["changed"] is True
        assert bed.module(params)["changed"] is False
        assert bed.tcp("dmz1", addr("dmz2")) == ""
        assert not bed.ping("dmz2", addr("dmz1"))
        # a published container port stays reachable from siblings (it is, through the host, anyway)
        assert bed.answers("dmz2", addr("dmz1"), want="dmz1")
        # through the host: gateway, published port (hairpin), egress to the outside
        assert bed.ping("dmz2", "10.61.1.1")
        assert bed.answers("dmz2", bed.underlay, 8080, want="dmz1")
        assert bed.ping("dmz2", bed.lab.outside.ip)
    finally:
        bed.module({"state": "absent"})


def test_docker_container_egress_and_published_port(bed, container):
    """The same paths with a real Docker container (its namespace wired with plain ip commands)."""
    web = container()
    pid = web.pid
    h = bed.host
    try:
        h.run("ip link add fwt-vweb type veth peer name eth0 netns %d && ip link set fwt-vweb master fwt-dmz up"
              % pid)
        nsenter = "nsenter --net=/proc/%d/ns/net -- " % pid
        h.run(nsenter + "sh -c 'ip link set lo up; ip addr add 10.61.1.20/24 dev eth0; ip link set eth0 up; "
              "ip route add default via 10.61.1.1'")
        web.exec("timeout 300 busybox nc -ll -p 80 -e busybox echo web >/dev/null 2>&1 </dev/null &")
        bed.listening(["/proc/%d/ns/net" % pid])
        params = bed.params()
        params["publications"].append({"name": "docker-web", "network": "dmz", "host_port": 8082,
                                       "bind_address": bed.underlay, "container_address": "10.61.1.20",
                                       "container_port": 80})
        assert bed.module(params)["changed"] is True
        assert web.exec(["ping", "-c", "1", "-W", "2", bed.lab.outside.ip]).returncode == 0
        assert bed.lab.outside.run("timeout 4 busybox nc -w 2 %s 8082 </dev/null" % bed.underlay,
                                   check=False).stdout.strip() == "web"
        assert bed.answers("dmz1", bed.underlay, 8082, want="web")
        assert bed.tcp("be1", "10.61.1.20") == ""  # backend -> dmz stays closed
    finally:
        h.run(["ip", "link", "del", "fwt-vweb"], check=False)
        bed.module({"state": "absent"})


BINDING_SCRIPT = r"""
import json, sys
from ansible_collections.netwire.fabric.plugins.module_utils._firewall.nft import NftClient
from ansible_collections.netwire.fabric.plugins.module_utils._firewall.manager import FirewallManager
from ansible_collections.netwire.fabric.plugins.module_utils._contract import Context
params = json.loads(sys.argv[1])
out = []
for step in ("check", "apply", "rerun", "absent"):
    mgr = FirewallManager(Context(step == "check", nft=NftClient(backend="binding")), {"table_name": "fwbind"})
    res = mgr.absent() if step == "absent" else mgr.present(params["networks"], params["flows"],
                                                            params["publications"])
    out.append([step, res["changed"], sorted(res["tables"])])
print(json.dumps(out))
"""


def test_python_binding_backend_gives_the_same_result(bed):
    """libnftables through its Python binding (used when the nft command is missing)."""
    probe = bed.host.run(["/usr/bin/python3", "-c", "import nftables"], check=False)
    if probe.returncode != 0:
        pytest.skip("python3-nftables is not installed on this machine")
    from tests.lab.modrun import ensure_collection_link
    params = bed.params()
    proc = bed.host.run(["/usr/bin/python3", "-c", BINDING_SCRIPT, json.dumps(params)],
                        env={"PYTHONPATH": str(ensure_collection_link()), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    steps = json.loads(proc.stdout)
    tables = ["inet fwbind", "ip fwbind_nat"]
    assert steps == [["check", True, tables], ["apply", True, tables], ["rerun", False, tables],
                     ["absent", True, []]], steps
    assert not {("inet", "fwbind"), ("ip", "fwbind_nat")} & bed.tables()


def test_any_address_publication_answers_on_every_non_loopback_host_address(bed):
    params = bed.params()
    params["publications"] = [{"name": "any", "network": "dmz", "host_port": 8083, "bind_address": "0.0.0.0",
                               "container_address": addr("dmz1"), "container_port": 80},
                              {"name": "dns", "network": "app", "proto": "udp", "host_port": 8083,
                               "bind_address": "0.0.0.0", "container_address": addr("app1"), "container_port": 53}]
    try:
        assert bed.module(params)["changed"] is True
        assert bed.module(params)["changed"] is False
        assert bed.lab.outside.run("timeout 4 busybox nc -w 2 %s 8083 </dev/null" % bed.underlay,
                                   check=False).stdout.strip() == "dmz1"
        assert bed.answers("dmz2", "10.61.1.1", 8083, want="dmz1")      # the bridge's own address
        assert bed.answers("app1", "10.61.2.1", 8083, want="dmz1")      # another bridge's address
        assert bed.answers("host", bed.underlay, 8083, want="dmz1")
        assert bed.tcp("host", "127.0.0.1", 8083) == ""          # loopback needs an explicit bind
    finally:
        bed.module({"state": "absent"})
