"""The encrypted example (examples/encrypted, issue 16) end to end on three lab hosts, with real packets.

site.yml builds the network ``secure`` (kernel VXLAN over WireGuard, wireguard-go here: this kernel has no
WireGuard) on host1-3. The lab's router namespace bridges every underlay packet between the hosts, so
counters there (a bridge table of this test's own, removed after) see exactly what crosses the underlay:
while containers ping and move a bounded TCP transfer across hosts it must count no ICMP, no TCP and no
overlay UDP between the hosts' underlay addresses, and WireGuard UDP. Every probe is bounded (count,
deadline, ``timeout``). Expectations are written out by hand from examples/encrypted.
"""

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest
import yaml

from tests.lab.core import LAB_ENV, REPO, ensure_container, sh
from tests.spec._state import ATTACK

pytestmark = pytest.mark.lab

EXAMPLE = REPO / "examples" / "encrypted"
DEV = "nw-wg0"
KEY = "/etc/netwire/wireguard/%s.key" % DEV
PIDFILE = "/run/netwire/wireguard-go-%s.pid" % DEV
SENTINEL = "nwt-wgs"           # a WireGuard device that is not ours (a wireguard-go started by hand)
ADDRESS = {"s1": "10.40.0.21", "s2": "10.40.0.22", "s3": "10.40.0.23"}
HOST_OF = {"s1": "host1", "s2": "host2", "s3": "host3"}
TUNNEL = {"host1": "10.99.0.1", "host2": "10.99.0.2", "host3": "10.99.0.3"}
OVERLAY_MTU = 1500 - 80 - 50   # the underlay less WireGuard and VXLAN
VNI = 140
PY = str(REPO / ".venv" / "bin" / "python")
COUNTERS = ("icmp", "tcp", "overlay", "wg")   # named n_<what> in the router (icmp, tcp are nft keywords)
ROUTER_TABLE = "nwtest_encrypted"
# The client of a bounded TCP transfer (busybox nc closes on its input's end before its data is sent).
SEND = r'''
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
s.sendall(b"\0" * int(sys.argv[3]))
s.shutdown(socket.SHUT_WR)
while s.recv(65536):
    pass
'''


class Site(object):
    def __init__(self, lab, model):
        self.lab, self.model = lab, model
        self.refs = {}

    def playbook(self, name, **kw):
        return self.lab.playbook("playbooks/%s" % name, [self.model], **kw)

    def pid(self, name):
        return int(sh(["docker", "inspect", "-f", "{{.State.Pid}}", self.refs[name]]).stdout.strip())

    def nsenter(self, name, cmd, timeout=30):
        """A command of the machine (iputils ping, python) in a container's network namespace."""
        return sh(["nsenter", "--net=/proc/%d/ns/net" % self.pid(name), "--"] + list(cmd), check=False,
                  timeout=timeout)

    def ping(self, src, dst, count=3, size=None, df=False):
        cmd = ["timeout", "10", "ping", "-n", "-q", "-c", str(count), "-i", "0.3", "-w", "6"]
        if size is not None:
            cmd += ["-s", str(size)]
        if df:
            cmd += ["-M", "do"]
        return self.nsenter(src, cmd + [ADDRESS[dst]], timeout=15).returncode == 0

    def transfer(self, src, dst, size=200000, port=7140):
        """A bounded TCP transfer of ``size`` bytes from ``src`` to ``dst``: the bytes ``dst`` received."""
        sh(["docker", "exec", "-d", self.refs[dst], "sh", "-c",
            "timeout 10 nc -l -p %d | wc -c > /tmp/received" % port])
        sh(["sleep", "0.5"])
        self.nsenter(src, ["timeout", "8", PY, "-c", SEND, ADDRESS[dst], str(port), str(size)], timeout=15)
        for _attempt in range(20):
            out = sh(["docker", "exec", self.refs[dst], "cat", "/tmp/received"], check=False).stdout.strip()
            if out.isdigit():
                return int(out)
            sh(["sleep", "0.25"])
        return None

    def audit(self, tmp_path):
        """The spec suite (tests/spec) over the lab and this model: {test id: passed|failed|skipped}."""
        report = tmp_path / "audit.xml"
        env = dict(LAB_ENV, PATH="%s:%s" % (REPO / ".venv" / "bin", LAB_ENV["PATH"]),
                   ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1", PY_COLORS="0")
        proc = subprocess.run([PY, "-m", "pytest", "--hosts=ansible://all",
                               "--ansible-inventory=%s" % self.lab.inventory, "--ansible-inventory=%s" % self.model,
                               "-p", "no:cacheprovider", "-q", "--junitxml=%s" % report, str(REPO / "tests" / "spec")],
                              capture_output=True, text=True, timeout=300, env=env, cwd=str(REPO), check=False)
        assert report.exists(), proc.stdout[-3000:] + proc.stderr[-2000:]
        out = {}
        for case in ET.parse(str(report)).getroot().iter("testcase"):
            kind = [c.tag for c in case if c.tag in ("failure", "error", "skipped")]
            out[case.get("name")] = {"failure": "failed", "error": "failed",
                                     "skipped": "skipped"}.get(kind[0] if kind else None, "passed")
        return out

    def echoes(self, name):
        lines = self.nsenter(name, ["cat", "/proc/net/snmp"]).stdout.splitlines()
        for head, values in zip(lines[0::2], lines[1::2]):
            if head.startswith("Icmp:"):
                return dict(zip(head.split()[1:], (int(v) for v in values.split()[1:])))["InEchos"]
        raise AssertionError("no Icmp line in %s's /proc/net/snmp" % name)


def host_counter(host, name):
    """A named nft counter of our inet table on a lab host (packets)."""
    out = host.json(["nft", "-j", "list", "counter", "inet", "netwire", name])
    return [o["counter"]["packets"] for o in out["nftables"] if "counter" in o][0]


def key_state(host):
    return host.run("stat -c '%%Y.%%y %%a' %s && sha256sum %s" % (KEY, KEY)).stdout


def alive(host, pid):
    """Is ``pid`` a running wireguard-go for our device (its argv)? (Lab hosts share the pid namespace.)"""
    cmdline = host.run("tr '\\0' ' ' < /proc/%d/cmdline 2>/dev/null || true" % pid).stdout.strip()
    return cmdline.startswith("/usr/bin/wireguard-go -f %s" % DEV) or cmdline == "wireguard-go -f %s" % DEV


def our_wireguard_go(host):
    """The pid of our wireguard-go on the host (its pidfile), or None when it has none running."""
    out = host.run("cat %s 2>/dev/null || true" % PIDFILE).stdout.strip()
    return int(out) if out.isdigit() and alive(host, int(out)) else None


def has_link(host, name):
    return host.run(["ip", "link", "show", name], check=False).returncode == 0


# ---------------------------------------------------------------- the router's view of the underlay

def router_counters(lab, start=False):
    """Counters in the router namespace on the underlay bridge: what crosses between the hosts' addresses.

    ``start`` (re)creates the table with zeroed counters; returns ``{icmp, tcp, overlay, wg}`` packets."""
    router = lab.router
    if start:
        router.run("nft delete table bridge %s 2>/dev/null; true" % ROUTER_TABLE)
        hosts = ", ".join(h.underlay_ip for h in lab.hosts)
        between = "ip saddr { %s } ip daddr { %s }" % (hosts, hosts)
        rules = "\n".join([
            "table bridge %s {" % ROUTER_TABLE,
            "\n".join("  counter n_%s { }" % c for c in COUNTERS),
            "  chain forward {",
            "    type filter hook forward priority 0; policy accept;",
            "    %s ip protocol icmp counter name n_icmp" % between,
            "    %s ip protocol tcp counter name n_tcp" % between,
            "    %s udp dport { 4789, 6081, 8472 } counter name n_overlay" % between,
            "    %s ip protocol gre counter name n_overlay" % between,
            "    %s udp dport 51820 counter name n_wg" % between,
            "  }",
            "}"])
        router.run(["nft", "-f", "-"], input=rules + "\n")
    out = json.loads(router.run(["nft", "-j", "list", "counters", "table", "bridge", ROUTER_TABLE]).stdout)
    return dict((o["counter"]["name"][2:], o["counter"]["packets"]) for o in out["nftables"] if "counter" in o)


# ---------------------------------------------------------------- the deployment

@pytest.fixture(scope="module")
def site(lab, tmp_path_factory):
    model = tmp_path_factory.mktemp("encrypted") / "model"
    shutil.copytree(str(EXAMPLE), str(model))
    s = Site(lab, model)
    all_vars = model / "group_vars" / "all.yml"
    data = yaml.safe_load(all_vars.read_text())
    for name in ADDRESS:
        s.refs[name] = "lab%d-enc-%s" % (lab.instance, name)
        data["netwire_containers"][name]["ref"] = s.refs[name]
        ensure_container(s.refs[name], lab.instance)
    all_vars.write_text(yaml.safe_dump(data, sort_keys=False))
    h1 = lab.host("host1")
    sentinel = int(h1.run("setsid wireguard-go -f %s </dev/null >/dev/null 2>&1 & echo $!" % SENTINEL).stdout.strip())
    h1.run("for i in $(seq 50); do ip link show %s >/dev/null 2>&1 && exit 0; sleep 0.1; done; exit 1" % SENTINEL)
    s.sentinel = sentinel
    s.first = s.playbook("site.yml")
    yield s
    s.playbook("down.yml")
    for h in lab.hosts:
        h.module("wireguard", {"name": DEV, "state": "absent", "remove_key": True})
    lab.router.run("nft delete table bridge %s 2>/dev/null; true" % ROUTER_TABLE, check=False)
    h1.run(["kill", str(sentinel)], check=False)
    h1.run("ip link del %s 2>/dev/null; true" % SENTINEL, check=False)
    for ref in s.refs.values():
        sh(["docker", "rm", "-f", ref], check=False)


def test_site_builds_wireguard_between_the_hosts(site, lab):
    assert site.first.rc == 0, site.first
    assert all(n > 0 for n in site.first.changed().values()), site.first.recap
    assert "runs in userspace (wireguard-go)" in site.first.stdout + site.first.stderr
    keys = {}
    for h in lab.hosts:
        link = h.json(["ip", "-j", "-d", "addr", "show", DEV])[0]
        assert link.get("ifalias") == "netwire:wireguard", link
        assert [a["local"] for a in link["addr_info"] if a["family"] == "inet"] == [TUNNEL[h.name]]
        assert link["mtu"] == 1420
        assert our_wireguard_go(h) is not None
        assert h.run("stat -c %a " + KEY).stdout.strip() == "600"
        keys[h.name] = h.run("wg pubkey < %s" % KEY).stdout.strip()
    for h in lab.hosts:
        # the peers are exactly the other hosts, by their public keys, endpoints and tunnel addresses
        dump = h.run(["wg", "show", DEV, "dump"]).stdout.splitlines()[1:]
        peers = sorted((f[0], f[2], f[3]) for f in (line.split("\t") for line in dump))
        want = sorted((keys[o.name], "%s:51820" % o.underlay_ip, "%s/32" % TUNNEL[o.name])
                      for o in lab.hosts if o.name != h.name)
        assert peers == want, (h.name, peers)
        # the overlay runs between the tunnel addresses, over WireGuard
        vxlan = h.json(["ip", "-j", "-d", "link", "show", "nwx-secure"])[0]["linkinfo"]["info_data"]
        assert vxlan["local"] == TUNNEL[h.name] and vxlan["link"] == DEV, vxlan
    # no private key in anything the play printed
    for h in lab.hosts:
        assert h.run("cat " + KEY).stdout.strip() not in site.first.stdout


def test_nothing_crosses_the_underlay_in_clear(site, lab):
    router_counters(lab, start=True)
    for src, dst in (("s1", "s2"), ("s2", "s3"), ("s3", "s1")):
        assert site.ping(src, dst, count=5), "%s -> %s" % (src, dst)
    assert site.transfer("s1", "s2") == 200000
    assert site.transfer("s3", "s2", port=7141) == 200000
    seen = router_counters(lab)
    assert seen["icmp"] == 0 and seen["tcp"] == 0 and seen["overlay"] == 0, seen
    assert seen["wg"] > 30, seen   # 15 echo pairs and two 200 kB transfers, all inside WireGuard
    # positive control: the router's counters do see clear traffic between the hosts' underlay addresses
    h1, h2 = lab.host("host1"), lab.host("host2")
    assert h1.run(["ping", "-n", "-q", "-c", "2", "-i", "0.2", "-w", "4", h2.underlay_ip], check=False).returncode == 0
    assert router_counters(lab)["icmp"] >= 4


@pytest.mark.parametrize("sender", ["router", "host1"])
def test_clear_vxlan_injected_on_the_underlay_is_dropped(site, lab, sender):
    """Hand-made VXLAN (VNI 140) aimed at s2, to host2's overlay port: from the router, and from host1's
    underlay address (a peer's: accepted before the network was encrypted)."""
    h2 = lab.host("host2")
    victim_mac = json.loads(site.nsenter("s2", ["ip", "-j", "link", "show", "eth1"]).stdout)[0]["address"]
    before, echoes = host_counter(h2, "clear_overlay"), site.echoes("s2")
    args = [PY, "-c", ATTACK, "vxlan", h2.underlay_ip, "4789", str(VNI), victim_mac, ADDRESS["s2"], "10.40.0.250"]
    node = lab.router if sender == "router" else lab.host(sender)
    out = node.run(args, check=False)
    assert out.returncode == 0 and out.stdout.strip() == "3", out
    sh(["sleep", "1"])
    assert host_counter(h2, "clear_overlay") - before == 3
    assert site.echoes("s2") == echoes


def test_a_df_ping_of_the_overlay_mtu_passes_and_one_byte_more_fails(site):
    payload = OVERLAY_MTU - 28   # IPv4 20 + ICMP 8
    assert site.ping("s1", "s3", count=2, size=payload, df=True)
    assert not site.ping("s1", "s3", count=2, size=payload + 1, df=True)


def test_the_audit_passes_with_the_wireguard_checks(site, tmp_path):
    outcomes = site.audit(tmp_path)
    failed = sorted(t for t, o in outcomes.items() if o == "failed")
    assert not failed, failed
    assert [t for t in outcomes if t.startswith("test_wireguard_peers")] == [
        "test_wireguard_peers[host%d-%s]" % (i, DEV) for i in (1, 2, 3)]


def test_a_wrong_peer_key_isolates_exactly_that_pair(site, lab, tmp_path):
    h1 = lab.host("host1")
    stranger = h1.run("wg genkey | wg pubkey").stdout.strip()
    h3_key = lab.host("host3").run("wg pubkey < %s" % KEY).stdout.strip()
    h1.run(["wg", "set", DEV, "peer", h3_key, "remove"])
    h1.run(["wg", "set", DEV, "peer", stranger, "allowed-ips", "%s/32" % TUNNEL["host3"],
            "endpoint", "%s:51820" % lab.host("host3").underlay_ip])
    try:
        assert not site.ping("s1", "s3", count=2)
        assert site.ping("s1", "s2") and site.ping("s2", "s3")
        # the audit sees it: host1's peers are not the model's (host3's side still has a recent handshake)
        outcomes = site.audit(tmp_path)
        assert outcomes["test_wireguard_peers[host1-%s]" % DEV] == "failed"
        assert outcomes["test_wireguard_peers[host2-%s]" % DEV] == "passed"
        assert outcomes["test_no_drift[host1]"] == "failed" and outcomes["test_no_drift[host2]"] == "passed"
    finally:
        # site.yml puts the right key back, on host1 only
        again = site.playbook("site.yml")
        assert again.rc == 0, again
        assert again.changed() == {"host1": 1, "host2": 0, "host3": 0}, again.recap
    assert site.ping("s1", "s3")


def test_rerun_changes_nothing_and_the_keys_stay(site, lab):
    keys = dict((h.name, key_state(h)) for h in lab.hosts)
    pids = dict((h.name, our_wireguard_go(h)) for h in lab.hosts)
    again = site.playbook("site.yml")
    assert again.rc == 0 and set(again.changed().values()) == {0}, again
    assert dict((h.name, key_state(h)) for h in lab.hosts) == keys
    assert dict((h.name, our_wireguard_go(h)) for h in lab.hosts) == pids


def test_check_mode_changes_nothing(site, lab):
    h1 = lab.host("host1")
    conf = h1.run("cat /etc/netwire/wireguard/%s.conf" % DEV).stdout
    keys = dict((h.name, key_state(h)) for h in lab.hosts)
    check = site.playbook("site.yml", check=True, diff=True)
    assert check.rc == 0 and set(check.changed().values()) == {0}, check
    # another WireGuard port: reported, not applied
    check = site.playbook("site.yml", check=True, diff=True,
                          extra_vars={"netwire_encryption": {"subnet": "10.99.0.0/24", "port": 51821}})
    assert check.rc == 0 and all(n > 0 for n in check.changed().values()), check
    assert h1.run(["wg", "show", DEV, "listen-port"]).stdout.strip() == "51820"
    assert h1.run("cat /etc/netwire/wireguard/%s.conf" % DEV).stdout == conf
    assert dict((h.name, key_state(h)) for h in lab.hosts) == keys
    assert site.ping("s1", "s2")


def test_down_leaves_no_wireguard_of_ours_and_keeps_the_keys(site, lab):
    keys = dict((h.name, key_state(h)) for h in lab.hosts)
    pids = dict((h.name, our_wireguard_go(h)) for h in lab.hosts)
    assert all(pids.values()), pids
    down = site.playbook("down.yml")
    assert down.rc == 0, down
    for h in lab.hosts:
        assert not has_link(h, DEV) and not alive(h, pids[h.name])
        assert h.run(["test", "-e", PIDFILE], check=False).returncode != 0
        assert key_state(h) == keys[h.name]
    h1 = lab.host("host1")
    assert has_link(h1, SENTINEL) and h1.run(["kill", "-0", str(site.sentinel)], check=False).returncode == 0
    assert "netwire" not in h1.run(["ip", "-d", "link", "show", SENTINEL]).stdout
    # asked: the keys go too, and our directory with them
    down = site.playbook("down.yml", extra_vars={"netwire_remove_wireguard_keys": True})
    assert down.rc == 0 and all(n == 1 for n in down.changed().values()), down.recap
    for h in lab.hosts:
        assert h.run(["test", "-e", "/etc/netwire/wireguard"], check=False).returncode != 0
    assert has_link(h1, SENTINEL)
