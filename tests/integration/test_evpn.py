"""examples/evpn end to end (issue 15): a kernel VXLAN network whose remote VTEPs come from BGP EVPN.

site.yml builds it on three lab hosts (host1 the route reflector); zebra installs the flood entries and the
remote MACs, netwire none. The containers ping and connect across hosts; each VXLAN device's flood entries
are exactly the other VTEPs; a rerun and check mode change nothing; the audit (tests/spec) passes, and fails
on the session and the VNI when a bgpd stops or a host runs another AS, on the VNI when a host's route
target differs; host4 joins and only host4 and the
reflector change; a container moved to another host takes its remote FDB entries along; down.yml removes our
FRR and a sentinel bgpd with its own files survives.

The expectations are written out by hand from examples/evpn (host1-3 at 198.19.0.11-13, VNI 150), not computed
by the collection's model. Every wait and every probe is bounded. Needs a lab of 4 hosts (LAB_HOSTS=4) for the
host4 test (skipped otherwise).
"""

import json
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest
import yaml

from tests.lab.core import LAB_ENV, REPO, ensure_container, sh

pytestmark = pytest.mark.lab

EXAMPLE = REPO / "examples" / "evpn"
VTEP = {"host1": "198.19.0.11", "host2": "198.19.0.12", "host3": "198.19.0.13", "host4": "198.19.0.14"}
VX = "nwx-evpn"           # linux_tunnel_name('vxlan', 'evpn')
BRIDGE = "nw-evpn"
VNI = 150
NULL_MAC = "00:00:00:00:00:00"
CONF = "/etc/frr/frr.conf"
SENTINEL_DIR = "/run/nwt-frr-sentinel"
SENTINEL_CONF = SENTINEL_DIR + "/bgpd.conf"
SENTINEL_PID = SENTINEL_DIR + "/bgpd.pid"
SENTINEL_FILE = "/etc/frr/sentinel.conf"     # an FRR file that is not ours, next to ours
EVPN_CHECKS = "bgp_session or evpn_vni or tunnel_peers"


def wait_for(what, check, timeout):
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError("%s: not within %s s" % (what, timeout))
        time.sleep(0.3)


def flood(host):
    """The remote VTEPs of our VXLAN device's flood entries (None: no device)."""
    proc = host.run(["bridge", "-j", "fdb", "show", "dev", VX], check=False)
    if proc.returncode != 0:
        return None
    return sorted(e["dst"] for e in json.loads(proc.stdout or "[]") if e["mac"] == NULL_MAC and "dst" in e)


def others(name, names):
    return sorted(VTEP[n] for n in names if n != name)


def pid_of(host, path):
    out = host.run("cat %s 2>/dev/null" % path, check=False).stdout.strip()
    return int(out) if out.isdigit() else None


def cmdline(host, pid):
    return host.run("tr '\\0' ' ' < /proc/%d/cmdline 2>/dev/null" % pid, check=False).stdout.strip()


def sentinel_alive(host):
    pid = pid_of(host, SENTINEL_PID)
    return pid is not None and SENTINEL_CONF in cmdline(host, pid)


class Evpn:
    """The deployment: the model directory, the containers, playbooks and the audit over the lab."""

    def __init__(self, lab, model_dir):
        self.lab = lab
        self.model = model_dir
        self.docker = {}

    def env(self):
        env = dict(LAB_ENV)
        env.update({"PATH": "%s:%s" % (REPO / ".venv" / "bin", LAB_ENV["PATH"]),
                    "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_DEPRECATION_WARNINGS": "0",
                    "ANSIBLE_NOCOLOR": "1", "PY_COLORS": "0"})
        return env

    def write_model(self, hosts):
        """The example's model with containers c<i> on ``hosts`` (this lab's Docker names)."""
        all_vars = self.model / "group_vars" / "all.yml"
        model = yaml.safe_load((EXAMPLE / "group_vars" / "all.yml").read_text())
        model["netwire_networks"]["evpn"]["hosts"] = list(hosts)
        model["netwire_containers"] = {}
        for h in hosts:
            c = "c%s" % h[-1]
            self.docker[c] = "lab%d-evpn-%s" % (self.lab.instance, c)
            ensure_container(self.docker[c], self.lab.instance)
            model["netwire_containers"][c] = {"host": h, "ref": self.docker[c], "interfaces": [{"network": "evpn"}]}
        all_vars.write_text(yaml.safe_dump(model, sort_keys=False))
        (self.model / "hosts.yml").write_text(yaml.safe_dump({"lab": {"hosts": dict((h, None) for h in hosts)}}))

    def playbook(self, name, check=False):
        return self.lab.playbook("playbooks/%s" % name, [self.model], check=check, diff=check)

    def audit(self, tmp_path, select=None):
        """The spec suite over the lab: {test id: passed|failed|skipped}."""
        report = tmp_path / ("audit-%d.xml" % len(list(tmp_path.glob("audit-*.xml"))))
        argv = [str(REPO / ".venv" / "bin" / "python"), "-m", "pytest", "--hosts=ansible://all",
                "--ansible-inventory=%s" % self.lab.inventory, "--ansible-inventory=%s" % self.model,
                "-p", "no:cacheprovider", "-q", "--junitxml=%s" % report, str(REPO / "tests" / "spec")]
        if select:
            argv += ["-k", select]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=self.env(), cwd=str(REPO),
                              check=False)
        assert report.exists(), "the audit wrote no report (rc %d):\n%s\n%s" % (
            proc.returncode, proc.stdout[-3000:], proc.stderr[-2000:])
        outcomes = {}
        for case in ET.parse(str(report)).getroot().iter("testcase"):
            kind = [c.tag for c in case if c.tag in ("failure", "error", "skipped")]
            outcomes[case.get("name")] = {"failure": "failed", "error": "failed",
                                          "skipped": "skipped"}.get(kind[0] if kind else None, "passed")
        assert outcomes, proc.stdout[-3000:]
        self.last_output = proc.stdout
        return outcomes

    def ping(self, src, ip):
        return sh(["docker", "exec", self.docker[src], "ping", "-c", "2", "-i", "0.3", "-W", "2", "-q", ip],
                  check=False, timeout=15).returncode == 0

    def address(self, name):
        out = sh(["docker", "exec", self.docker[name], "ip", "-o", "-4", "addr", "show", "dev", "eth1"],
                 check=False).stdout
        return out.split("inet ")[1].split("/")[0] if "inet " in out else None

    def tcp(self, src, dst, port=7015):
        sh(["docker", "exec", "-d", self.docker[dst], "timeout", "8", "nc", "-l", "-p", str(port), "-e", "echo",
            "hi-" + dst])
        try:
            for _attempt in range(10):
                out = sh(["docker", "exec", self.docker[src], "timeout", "3", "nc", "-w", "2", self.address(dst),
                          str(port)], check=False, timeout=10, input="")
                if ("hi-" + dst) in out.stdout:
                    return True
                time.sleep(0.5)
            return False
        finally:
            sh(["docker", "exec", self.docker[dst], "pkill", "-f", "nc -l -p %d" % port], check=False)


def sessions_up(host, peers):
    proc = host.run(["vtysh", "-c", "show bgp summary json"], check=False)
    try:
        got = json.loads(proc.stdout).get("l2VpnEvpn", {}).get("peers", {}) if proc.returncode == 0 else {}
    except ValueError:
        got = {}
    return set(got) == set(peers) and all(p["state"] == "Established" for p in got.values())


def converged(lab, names):
    """Every host of ``names`` has exactly the other hosts' flood entries (bounded)."""
    for n in names:
        h = lab.host(n)
        wait_for("%s: flood entries of the other VTEPs" % n, lambda h=h, n=n: flood(h) == others(n, names), 30)


@pytest.fixture(scope="module")
def evpn(lab, tmp_path_factory):
    model_dir = tmp_path_factory.mktemp("evpn") / "model"
    shutil.copytree(str(EXAMPLE), str(model_dir))
    d = Evpn(lab, model_dir)
    d.write_model(["host1", "host2", "host3"])
    # a lab kept up may hold another deployment: start clean
    d.playbook("down.yml")
    s = lab.host("host2")
    s.run("mkdir -p %s && chown frr:frr %s && printf 'router bgp 65099\\n bgp router-id 192.0.2.99\\n' > %s &&"
          " printf '! not netwire\\n' > %s &&"
          " /usr/lib/frr/bgpd -d -p 0 -P 0 -f %s -i %s --vty_socket %s -z %s/zserv.api"
          % (SENTINEL_DIR, SENTINEL_DIR, SENTINEL_CONF, SENTINEL_FILE, SENTINEL_CONF, SENTINEL_PID, SENTINEL_DIR,
             SENTINEL_DIR))
    wait_for("sentinel bgpd", lambda: sentinel_alive(s), 10)
    d.first = d.playbook("site.yml")
    yield d
    d.playbook("down.yml")
    for name in d.docker.values():
        sh(["docker", "rm", "-f", name], check=False)
    pid = pid_of(s, SENTINEL_PID)
    if pid and SENTINEL_CONF in cmdline(s, pid):
        s.run(["kill", str(pid)], check=False)
    s.run(["rm", "-rf", SENTINEL_DIR, SENTINEL_FILE], check=False)


THREE = ("host1", "host2", "host3")


def test_site_builds_evpn_and_zebra_installs_the_flood_entries(evpn, lab):
    assert evpn.first.rc == 0, evpn.first
    changed = evpn.first.changed()
    assert all(changed[h] > 0 for h in THREE), evpn.first.recap
    wait_for("reflector sessions", lambda: sessions_up(lab.host("host1"), [VTEP["host2"], VTEP["host3"]]), 30)
    for h in ("host2", "host3"):
        wait_for("%s session" % h, lambda h=h: sessions_up(lab.host(h), [VTEP["host1"]]), 30)
    converged(lab, THREE)
    for h in THREE:
        link = lab.host(h).json(["ip", "-j", "-d", "link", "show", VX])[0]
        info = link["linkinfo"]
        assert info["info_data"].get("learning") is False and info["info_data"]["id"] == VNI, info
        slave = info["info_slave_data"]
        assert slave["learning"] is False and slave["neigh_suppress"] is True, slave
    assert sentinel_alive(lab.host("host2")), "site.yml stopped a bgpd that is not ours"


def test_containers_ping_and_connect_across_hosts(evpn, lab):
    converged(lab, THREE)
    for src, dst in (("c1", "c2"), ("c2", "c3"), ("c3", "c1")):
        assert evpn.ping(src, evpn.address(dst)), "%s cannot ping %s" % (src, dst)
    assert evpn.tcp("c1", "c3") and evpn.tcp("c2", "c1")
    # the remote MACs came by BGP (zebra's entries: extern_learn), not by data-plane learning
    entries = lab.host("host1").json(["bridge", "-j", "fdb", "show", "dev", VX])
    remote = [e for e in entries if e["mac"] != NULL_MAC and e.get("dst") in (VTEP["host2"], VTEP["host3"])]
    assert remote and all("extern_learn" in e.get("flags", []) for e in remote), entries


def test_no_flood_entry_is_ours(evpn, lab):
    """With host3's FRR stopped, its VXLAN device has no flood entry at all: none was ours. site.yml then
    brings host3 back, changing host3 only."""
    h3 = lab.host("host3")
    res = h3.module("frr", {"state": "absent"})
    assert res["changed"] and not res.get("failed"), res
    wait_for("host3 without flood entries", lambda: flood(h3) == [], 15)
    # the drift check (host_network --check) does not report zebra's entries, nor their absence
    again = evpn.playbook("site.yml")
    assert again.rc == 0, again
    changed = again.changed()
    assert changed["host3"] > 0 and changed["host1"] == 0 and changed["host2"] == 0, again.recap
    converged(lab, THREE)


def test_rerun_and_check_mode_change_nothing(evpn, lab):
    converged(lab, THREE)
    pids = dict((h, pid_of(lab.host(h), "/run/frr/bgpd.pid")) for h in THREE)
    again = evpn.playbook("site.yml")
    assert again.rc == 0 and set(again.changed()[h] for h in THREE) == {0}, again.recap
    check = evpn.playbook("site.yml", check=True)
    assert check.rc == 0 and set(check.changed()[h] for h in THREE) == {0}, check.recap
    assert dict((h, pid_of(lab.host(h), "/run/frr/bgpd.pid")) for h in THREE) == pids


def test_the_audit_passes_and_fails_on_a_stopped_bgpd_and_an_asn_mismatch(evpn, lab, tmp_path):
    converged(lab, THREE)
    base = evpn.audit(tmp_path)
    assert "test_bgp_session[host1-198.19.0.13]" in base and "test_evpn_vni[host2-evpn]" in base, sorted(base)
    failed = sorted(t for t, o in base.items() if o == "failed")
    assert not failed, "the audit of a healthy EVPN deployment fails: %s\n%s" % (failed, evpn.last_output[-3000:])

    # a stopped (frozen) bgpd on host3: its sessions drop after the hold time, and its VTEP is withdrawn
    h3 = lab.host("host3")
    pid = pid_of(h3, "/run/frr/bgpd.pid")
    h3.run("kill -STOP %d" % pid)
    try:
        for h in ("host1", "host2"):
            wait_for("%s drops host3" % h, lambda h=h: VTEP["host3"] not in (flood(lab.host(h)) or []), 9 + 5)
        broken = evpn.audit(tmp_path, EVPN_CHECKS)
    finally:
        h3.run("kill -KILL %d" % pid, check=False)
        wait_for("bgpd gone", lambda: not cmdline(h3, pid), 5)
        repaired = evpn.playbook("site.yml")
    assert repaired.rc == 0, repaired
    bad = set(t for t, o in broken.items() if o == "failed")
    assert {"test_bgp_session[host1-198.19.0.13]", "test_evpn_vni[host1-evpn]", "test_evpn_vni[host2-evpn]",
            "test_tunnel_peers[host1-evpn]", "test_tunnel_peers[host2-evpn]"} <= bad, sorted(bad)
    assert "test_bgp_session[host2-198.19.0.11]" not in bad, sorted(bad)
    converged(lab, THREE)

    # host3 in another AS: no session, no remote entries on host3, the audit fails on both
    params = {"asn": 65011, "router_id": VTEP["host3"], "neighbors": [VTEP["host1"]]}
    res = h3.module("frr", params)
    assert res["changed"] and not res.get("failed"), res
    try:
        wait_for("host3 without remote VTEPs", lambda: flood(h3) == [], 9 + 5)
        wait_for("host1 without host3", lambda: VTEP["host3"] not in flood(lab.host("host1")), 9 + 5)
        broken = evpn.audit(tmp_path, EVPN_CHECKS)
    finally:
        assert evpn.playbook("site.yml").rc == 0
    bad = set(t for t, o in broken.items() if o == "failed")
    assert {"test_bgp_session[host3-198.19.0.11]", "test_bgp_session[host1-198.19.0.13]",
            "test_evpn_vni[host3-evpn]", "test_tunnel_peers[host3-evpn]"} <= bad, sorted(bad)
    converged(lab, THREE)


def test_a_route_target_mismatch_leaves_the_session_up_but_no_remote_entries(evpn, lab, tmp_path):
    """host3 imports and exports VNI 150 under another route target (set by hand in its running bgpd):
    the session stays Established, yet host3 learns no remote VTEP and the others forget host3; the
    audit fails on the VNIs and flood entries, not on the sessions."""
    converged(lab, THREE)
    h3 = lab.host("host3")
    h3.run(["vtysh", "-c", "configure terminal", "-c", "router bgp 65010", "-c", "address-family l2vpn evpn",
            "-c", "vni %d" % VNI, "-c", "route-target import 65010:999", "-c", "route-target export 65010:999",
            "-c", "no route-target import 65010:%d" % VNI, "-c", "no route-target export 65010:%d" % VNI],
           timeout=20)
    try:
        wait_for("host3 without remote VTEPs", lambda: flood(h3) == [], 15)
        wait_for("host1 without host3", lambda: VTEP["host3"] not in flood(lab.host("host1")), 15)
        assert sessions_up(h3, [VTEP["host1"]]), "the session should stay up"
        broken = evpn.audit(tmp_path, EVPN_CHECKS)
    finally:
        # the running config differs from our file: our FRR on host3 goes, and site.yml starts it again
        res = h3.module("frr", {"state": "absent"})
        assert not res.get("failed"), res
        assert evpn.playbook("site.yml").rc == 0
    bad = set(t for t, o in broken.items() if o == "failed")
    assert {"test_evpn_vni[host3-evpn]", "test_evpn_vni[host1-evpn]", "test_tunnel_peers[host3-evpn]"} <= bad, \
        sorted(bad)
    assert not [t for t in bad if t.startswith("test_bgp_session")], sorted(bad)
    converged(lab, THREE)


def test_host4_joins_and_only_it_and_the_reflector_change(evpn, lab):
    if len(lab.hosts) < 4:
        pytest.skip("needs a lab of 4 hosts (LAB_HOSTS=4)")
    four = THREE + ("host4",)
    converged(lab, THREE)
    evpn.write_model(list(four))
    try:
        run = evpn.playbook("site.yml")
        assert run.rc == 0, run
        changed = run.changed()
        assert changed["host4"] > 0 and changed["host1"] > 0, run.recap
        assert changed["host2"] == 0 and changed["host3"] == 0, run.recap
        # the others learn host4 by BGP
        converged(lab, four)
        assert evpn.ping("c2", evpn.address("c4")) and evpn.ping("c4", evpn.address("c3"))
        again = evpn.playbook("site.yml")
        assert again.rc == 0 and set(again.changed().values()) == {0}, again.recap
    finally:
        evpn.write_model(list(THREE))
        back = evpn.playbook("site.yml")
        assert back.rc == 0, back
        sh(["docker", "rm", "-f", evpn.docker.pop("c4")], check=False)
    converged(lab, THREE)


def remote_mac(host, mac):
    """Where ``host``'s VXLAN device sends ``mac``: (dst, flags) of its FDB entry, or None."""
    for e in host.json(["bridge", "-j", "fdb", "show", "dev", VX]):
        if e["mac"] == mac and e.get("dst"):
            return e["dst"], e.get("flags", [])
    return None


def test_a_moved_container_takes_its_remote_fdb_entries_along(evpn, lab):
    """c3 moves from host3 to host2 (host3 keeps the network): host1's entry for c3's MAC follows it, by BGP.

    Every lab host sees the same Docker container, so a move is two runs: c3 leaves the model (host3
    detaches it), then joins it on the other host. In one run, the host that attaches and the host that
    detaches would work in the same container namespace at once (a real container lives on one host)."""
    converged(lab, THREE)
    mac = sh(["docker", "exec", evpn.docker["c3"], "cat", "/sys/class/net/eth1/address"]).stdout.strip()
    h1 = lab.host("host1")
    assert evpn.ping("c3", evpn.address("c1"))
    wait_for("host1 sends c3's MAC to host3", lambda: (remote_mac(h1, mac) or ("",))[0] == VTEP["host3"], 15)
    all_vars = evpn.model / "group_vars" / "all.yml"
    pristine = all_vars.read_text()

    def write(host):
        model = yaml.safe_load(pristine)
        if host is None:
            del model["netwire_containers"]["c3"]
        else:
            model["netwire_containers"]["c3"]["host"] = host
        all_vars.write_text(yaml.safe_dump(model, sort_keys=False))
        run = evpn.playbook("site.yml")
        assert run.rc == 0, run.stdout[-6000:]

    try:
        write(None)
        write("host2")
        assert evpn.ping("c3", evpn.address("c1")), "c3 on host2 cannot reach c1"
        moved = wait_for("host1 sends c3's MAC to host2",
                         lambda: (remote_mac(h1, mac) or ("",))[0] == VTEP["host2"] and remote_mac(h1, mac), 15)
        assert "extern_learn" in moved[1], moved
        assert remote_mac(lab.host("host3"), mac)[0] == VTEP["host2"]
    finally:
        write(None)
        all_vars.write_text(pristine)
        back = evpn.playbook("site.yml")
    assert back.rc == 0, back.stdout[-6000:]
    assert evpn.ping("c3", evpn.address("c1"))
    wait_for("host1 sends c3's MAC to host3 again", lambda: (remote_mac(h1, mac) or ("",))[0] == VTEP["host3"], 15)


def test_down_removes_our_frr_and_a_sentinel_survives(evpn, lab):
    ours = dict((h, [pid_of(lab.host(h), "/run/frr/%s.pid" % d) for d in ("zebra", "bgpd")]) for h in THREE)
    down = evpn.playbook("down.yml")
    assert down.rc == 0, down
    for h in THREE:
        host = lab.host(h)
        assert host.run(["test", "-e", CONF], check=False).returncode != 0, "%s keeps our frr.conf" % h
        assert host.run(["test", "-e", "/etc/frr/daemons"], check=False).returncode != 0
        assert all(p and not cmdline(host, p) for p in ours[h]), "%s: our FRR still runs" % h
        assert flood(host) is None, "%s keeps our VXLAN device" % h
    s = lab.host("host2")
    assert sentinel_alive(s) and "router bgp 65099" in s.run(["cat", SENTINEL_CONF]).stdout
    assert s.run(["cat", SENTINEL_FILE]).stdout == "! not netwire\n"
    again = evpn.playbook("down.yml")
    assert again.rc == 0 and set(again.changed().values()) == {0}, again.recap
    # the rest of the module's tests are done: build it again for the fixture's own down.yml
