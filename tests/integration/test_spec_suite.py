"""The spec suite can fail, and fails exactly where the lab is broken.

The demo model is deployed with site.yml; the audit (tests/spec, run as users
run it: a pytest subprocess over the lab's inventory and the model, with
--junitxml for per-check outcomes) must pass. Then one thing at a time is
broken by hand, the audit rerun, and exactly the checks of that thing must fail
while every other check keeps its outcome; site.yml (or the inverse command)
repairs it before the next break. After down.yml every check of the deployment
fails.

The expected failures are written out by hand from examples/model (web1 on
host1 and web2 on host2 share dmz, an OVS GRE network; app1 on host2 sits on
app, a kernel VXLAN network over all hosts; db1 on host3 on backend; flows
dmz -> app -> backend) rather than computed by the suite's own code.

The name and DHCP checks are broken the same way on the same deployment (the demo
model has names on every network and DHCP on app; app2 on host2 takes its
address by DHCP): a stopped dnsmasq, a record changed by hand, a stranger's
0.0.0.0:67 socket. They share this file's deployment rather than building one of
their own: one site.yml and baseline audit less per run.
"""

import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest
import yaml

from tests.lab.core import LAB_ENV, REPO, ensure_container, sh
from tests.integration.docker_firewall import add_docker_chains, remove_docker_chains
from ansible_collections.netwire.fabric.plugins.module_utils._names import veth_host_name

pytestmark = pytest.mark.lab

EXAMPLE = REPO / "examples" / "model"
CONTAINERS = ("web1", "web2", "app1", "app2", "db1")
STALE_PEER = "198.19.0.99"   # in the lab's underlay range, where nothing answers

# Checks that stay true on hosts without anything of ours (the model itself, and
# "nothing undeclared is there"): after down.yml these pass, every other check fails.
TRUE_WHEN_EMPTY = re.compile(r"^(test_model_valid|test_no_stray_links\[.*|test_no_stray_ovs\[.*|"
                             r"test_nft_nothing_else\[.*|test_other_firewalls\[.*)$")


class Deployment:
    def __init__(self, lab, model_dir):
        self.lab = lab
        self.model = model_dir
        self.docker = dict((c, "lab%d-%s" % (lab.instance, c)) for c in CONTAINERS)
        self.baseline = None
        self.baseline_output = ""
        self.last_output = ""

    @classmethod
    def of_model(cls, lab, model_dir, model, containers):
        """A deployment of ``model`` (inventory variables) beside the example's hosts: its containers are this lab
        instance's (created when missing), as the model's refs; nothing is built yet."""
        shutil.copytree(str(REPO / "examples" / "model" / "host_vars"), str(model_dir / "host_vars"))
        shutil.copy(str(REPO / "examples" / "model" / "hosts.yml"), str(model_dir / "hosts.yml"))
        (model_dir / "group_vars").mkdir()
        model = yaml.safe_load(yaml.safe_dump(model))
        d = cls(lab, model_dir)
        d.docker = dict((c, "lab%d-%s" % (lab.instance, c)) for c in containers)
        for name in containers:
            model["netwire_containers"][name]["ref"] = d.docker[name]
            ensure_container(d.docker[name], lab.instance)
        (model_dir / "group_vars" / "all.yml").write_text(yaml.safe_dump(model, sort_keys=False))
        return d

    def remove_containers(self):
        for name in self.docker.values():
            sh(["docker", "rm", "-f", name], check=False)

    def env(self):
        env = dict(LAB_ENV)
        env.update({"PATH": "%s:%s" % (REPO / ".venv" / "bin", LAB_ENV["PATH"]),
                    "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_DEPRECATION_WARNINGS": "0",
                    "ANSIBLE_NOCOLOR": "1", "PY_COLORS": "0"})
        return env

    def playbook(self, name):
        proc = subprocess.run([str(REPO / ".venv" / "bin" / "ansible-playbook"), "-i", str(self.lab.inventory),
                               "-i", str(self.model), str(REPO / "playbooks" / name)],
                              capture_output=True, text=True, timeout=600, env=self.env(), cwd=str(REPO),
                              check=False)
        assert proc.returncode == 0, "%s failed:\n%s\n%s" % (name, proc.stdout[-4000:], proc.stderr[-2000:])
        return proc

    def audit_and_repair(self, tmp_path):
        """The audit of a lab broken by the test; then site.yml repairs it (also when the audit fails)."""
        try:
            return self.audit(tmp_path)
        finally:
            self.playbook("site.yml")

    def audit(self, tmp_path):
        """Run the spec suite; {test id: passed|failed|skipped}."""
        report = tmp_path / ("audit-%d.xml" % len(list(tmp_path.glob("audit-*.xml"))))
        proc = subprocess.run([str(REPO / ".venv" / "bin" / "python"), "-m", "pytest",
                               "--hosts=ansible://all", "--ansible-inventory=%s" % self.lab.inventory,
                               "--ansible-inventory=%s" % self.model, "-p", "no:cacheprovider", "-q",
                               "--junitxml=%s" % report, str(REPO / "tests" / "spec")],
                              capture_output=True, text=True, timeout=300, env=self.env(), cwd=str(REPO),
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

    def pid(self, container):
        return int(sh(["docker", "inspect", "-f", "{{.State.Pid}}", self.docker[container]]).stdout.strip())


@pytest.fixture(scope="module")
def deployed(lab, tmp_path_factory):
    model_dir = tmp_path_factory.mktemp("spec-model") / "model"
    shutil.copytree(str(EXAMPLE), str(model_dir))
    all_vars = model_dir / "group_vars" / "all.yml"
    model = yaml.safe_load(all_vars.read_text())
    d = Deployment(lab, model_dir)
    # Docker names are global to the machine: each lab instance audits its own containers.
    for name in CONTAINERS:
        model["netwire_containers"][name]["ref"] = d.docker[name]
        ensure_container(d.docker[name], lab.instance)
    all_vars.write_text(yaml.safe_dump(model, sort_keys=False))
    # A lab kept up (NETWIRE_LAB_REUSE=1) may hold another deployment of these names: start clean.
    d.playbook("down.yml")
    d.playbook("site.yml")
    d.baseline = d.audit(tmp_path_factory.mktemp("audit"))
    d.baseline_output = d.last_output
    yield d
    subprocess.run([str(REPO / ".venv" / "bin" / "ansible-playbook"), "-i", str(lab.inventory), "-i",
                    str(model_dir), str(REPO / "playbooks" / "down.yml")], capture_output=True, timeout=600,
                   env=d.env(), cwd=str(REPO), check=False)
    for name in CONTAINERS:
        sh(["docker", "rm", "-f", d.docker[name]], check=False)


def failed(outcomes):
    return set(i for i, o in outcomes.items() if o == "failed")


def naming(outcomes, *names):
    """Ids of the checks whose parameters name one of ``names`` (a container or a host)."""
    out = set()
    for test_id in outcomes:
        params = test_id.partition("[")[2]
        if set(re.split(r"[^\w]+", params)) & set(names):
            out.add(test_id)
    return out


def asked_from_elsewhere(outcomes, container):
    """Name checks that name ``container`` but are asked from another container (netwire_dns): the
    server answers them from its records whatever state that container is in."""
    out = set()
    for test_id in outcomes:
        m = re.match(r"^test_name_(resolves|hidden|not_forwarded)\[([\w-]+?)(->.*)?\]$", test_id)
        if m and m.group(2) != container:
            out.add(test_id)
    return out


def assert_exactly(deployment, outcomes, expected):
    """The expected checks fail; every other one has its baseline outcome."""
    base = deployment.baseline
    unknown = sorted(expected - set(outcomes))
    assert not unknown, "expected checks that the audit does not have: %s" % unknown
    known_bad = failed(base)   # failing before the break (a bug of the collection): left out
    missed = sorted(expected - failed(outcomes) - known_bad)
    extra = sorted(failed(outcomes) - expected - known_bad)
    assert not missed and not extra, (
        "checks that should fail but pass: %s\nchecks that fail but should not: %s\n(failing before the break, "
        "left out: %s)\n%s" % (missed, extra, sorted(known_bad), deployment.last_output[-3000:]))


# ---------------------------------------------------------------- the converged lab

def test_audit_passes_on_the_converged_lab(deployed):
    base = deployed.baseline
    assert len(base) > 80, "the audit ran only %d checks" % len(base)
    assert sorted(failed(base)) == [], "the audit fails on a freshly built lab:\n%s" % deployed.baseline_output[-3000:]
    expected_ids = {"test_bridge[host1-nw-dmz]", "test_tunnel_peers[host2-app]", "test_container_interface[db1.eth1]",
                    "test_host_end[web1.eth1]", "test_reachable[web1->app1-tcp]", "test_isolated[app1->web1-icmp]",
                    "test_published[web1:tcp/8080]", "test_mtu_path[web1->web2]", "test_nat_egress[web1]",
                    "test_no_nat_egress[db1]", "test_no_drift[host3]", "test_no_host_ssh[db1->host3]",
                    "test_spoofed_source_gets_nothing_through[web1->db1 as app]",
                    "test_injected_tunnel_frame_reaches_nothing[web1->host2:8472 vni 120->app1]",
                    "test_nft[host1-ip/netwire_nat/postrouting/egress dmz]", "test_container_rules[db1]",
                    "test_container_qdisc[db1.eth1]"}
    assert expected_ids <= set(base), sorted(expected_ids - set(base))


# ---------------------------------------------------------------- one break at a time

def test_deleted_tunnel_port(deployed, lab, tmp_path):
    host1 = lab.host("host1")
    rows = json.loads(host1.run(["ovs-vsctl", "-f", "json", "--columns=name", "find", "Interface",
                                 "type=gre"]).stdout)["data"]
    assert len(rows) == 1, rows
    host1.run(["ovs-vsctl", "del-port", "nw-dmz", rows[0][0]])
    outcomes = deployed.audit_and_repair(tmp_path)
    # host1 lost its GRE port to host2: dmz is cut in two, and app1's and app2's replies to web1 come back over dmz
    assert_exactly(deployed, outcomes, {
        "test_tunnel_peers[host1-dmz]", "test_no_drift[host1]",
        "test_reachable[web1->web2-icmp]", "test_reachable[web1->web2-tcp]",
        "test_reachable[web2->web1-icmp]", "test_reachable[web2->web1-tcp]",
        "test_reachable[web1->app1-icmp]", "test_reachable[web1->app1-tcp]",
        "test_reachable[web1->app2-icmp]", "test_reachable[web1->app2-tcp]",
        "test_mtu_path[web1->web2]", "test_mtu_path[web2->web1]"})


def test_removed_container_address(deployed, lab, tmp_path):
    netns = "/proc/%d/ns/net" % deployed.pid("web2")
    link = json.loads(sh(["nsenter", "--net=" + netns, "ip", "-j", "-4", "addr", "show", "dev", "eth1"]).stdout)[0]
    for a in link["addr_info"]:
        sh(["nsenter", "--net=" + netns, "ip", "addr", "del", "%s/%d" % (a["local"], a["prefixlen"]), "dev", "eth1"])
    outcomes = deployed.audit_and_repair(tmp_path)
    # every check of web2 (its host end is still the right veth; the others still find its name), and
    # host2 would re-address it
    expected = naming(outcomes, "web2") - {"test_host_end[web2.eth1]"} - asked_from_elsewhere(outcomes, "web2") | {
        "test_no_drift[host2]"}
    assert_exactly(deployed, outcomes, expected)


def test_flushed_firewall_rule(deployed, lab, tmp_path):
    host2 = lab.host("host2")
    listing = host2.json(["nft", "-j", "list", "chain", "inet", "netwire", "forward"])["nftables"]
    handles = [i["rule"]["handle"] for i in listing if "rule" in i and i["rule"].get("comment") == "flow dmz -> app"]
    assert len(handles) == 1, listing
    host2.run(["nft", "delete", "rule", "inet", "netwire", "forward", "handle", str(handles[0])])
    outcomes = deployed.audit_and_repair(tmp_path)
    # app1's host drops new dmz -> app connections routed there (web2's). web1's are routed by host1
    # (which checked them) and bridged into host2 over VXLAN: app's own bridge is their ingress there.
    assert_exactly(deployed, outcomes, {
        "test_nft[host2-inet/netwire/forward/flow dmz -> app]", "test_no_drift[host2]",
        "test_reachable[web2->app1-icmp]", "test_reachable[web2->app1-tcp]",
        "test_reachable[web2->app2-icmp]", "test_reachable[web2->app2-tcp]"})


def _rule_handles(host, chain, *comments):
    listing = host.json(["nft", "-j", "list", "chain", "inet", "netwire", chain])["nftables"]
    handles = dict((i["rule"].get("comment"), i["rule"]["handle"]) for i in listing if "rule" in i)
    assert all(c in handles for c in comments), (comments, sorted(handles))
    return [handles[c] for c in comments]


def test_removed_rule_for_containers_to_hosts(deployed, lab, tmp_path):
    """Without the rule, host2's containers reach the other hosts' sshd and, masqueraded to host2's
    underlay address (a backend peer), inject frames into backend on host3."""
    host2 = lab.host("host2")
    handle, = _rule_handles(host2, "forward", "containers to the fabric's hosts")
    host2.run(["nft", "delete", "rule", "inet", "netwire", "forward", "handle", str(handle)])
    outcomes = deployed.audit_and_repair(tmp_path)
    assert_exactly(deployed, outcomes, {
        "test_nft[host2-inet/netwire/forward/containers to the fabric's hosts]", "test_no_drift[host2]",
        "test_no_host_ssh[web2->host1]", "test_no_host_ssh[web2->host3]",
        "test_no_host_ssh[app1->host1]", "test_no_host_ssh[app1->host3]",
        "test_no_host_ssh[app2->host1]", "test_no_host_ssh[app2->host3]",
        "test_injected_tunnel_frame_reaches_nothing[web2->host3:4789 vni 130->db1]",
        "test_injected_tunnel_frame_reaches_nothing[app1->host3:4789 vni 130->db1]",
        "test_injected_tunnel_frame_reaches_nothing[app2->host3:4789 vni 130->db1]"})


def test_zone_rules_keyed_on_the_source_only(deployed, lab, tmp_path):
    """host2 as it was before: no reverse-path check for dmz, app -> backend keyed on the source
    address only. web2 (dmz) with an app source then reaches db1 (backend)."""
    host2 = lab.host("host2")
    rpf, rpf_ports, flow = _rule_handles(host2, "forward", "spoofed source from dmz", "spoofed source from dmz ports",
                                         "flow app -> backend")
    host2.run(["nft", "delete", "rule", "inet", "netwire", "forward", "handle", str(rpf)])
    host2.run(["nft", "delete", "rule", "inet", "netwire", "forward", "handle", str(rpf_ports)])
    host2.run(["nft", "replace", "rule", "inet", "netwire", "forward", "handle", str(flow), "ip", "saddr",
               "@zone_app", "ip", "daddr", "@zone_backend", "accept", "comment", '"flow app -> backend"'])
    outcomes = deployed.audit_and_repair(tmp_path)
    assert_exactly(deployed, outcomes, {
        "test_nft[host2-inet/netwire/forward/spoofed source from dmz]",
        "test_nft[host2-inet/netwire/forward/spoofed source from dmz ports]",
        "test_nft[host2-inet/netwire/forward/flow app -> backend]", "test_nft_nothing_else[host2]",
        "test_no_drift[host2]", "test_spoofed_source_gets_nothing_through[web2->db1 as app]"})


def test_stopped_container(deployed, lab, tmp_path):
    host2 = lab.host("host2")
    gateway = host2.json(["ip", "-j", "link", "show", "dev", "nw-app"])[0]["address"]
    # app1's host end gets the lowest MAC on the bridge: an unpinned bridge would take it now and move
    # when app1 stops
    host2.run(["ip", "link", "set", "dev", veth_host_name("app1", "eth1"), "address", "02:00:00:00:00:01"])
    taken = host2.json(["ip", "-j", "link", "show", "dev", "nw-app"])[0]["address"]
    sh(["docker", "stop", "-t", "1", deployed.docker["app1"]], timeout=60)
    try:
        outcomes = deployed.audit(tmp_path)
        # app1's port left host2's nw-app; app2's gateway keeps its MAC (pinned: a bridge that takes its
        # lowest port's MAC moves it then, and app2 lost its routes and DNS until ARP gave up on the old one)
        after = host2.json(["ip", "-j", "link", "show", "dev", "nw-app"])[0]["address"]
    finally:
        sh(["docker", "start", deployed.docker["app1"]], timeout=60)
        deployed.playbook("site.yml")
    assert taken == gateway and after == gateway, "host2's nw-app moved its MAC: %s, with app1's port at the " \
        "lowest MAC %s, after app1 stopped %s" % (gateway, taken, after)
    # every check naming app1: its interface, host end, and all traffic to or from it (isolation included:
    # nothing can be proven about a container that is not there); and host2's drift check: host_network's
    # preflight refuses a plan whose container is not running, so host2 cannot converge as it is.
    # Its name still resolves from the others (the records come from the model, not from the container).
    assert_exactly(deployed, outcomes, naming(outcomes, "app1") - asked_from_elsewhere(outcomes, "app1") | {
        "test_no_drift[host2]"})


def test_removed_rule_and_qdisc_in_a_container(deployed, lab, tmp_path):
    """db1's source rule and its tbf (examples/model) removed by hand: exactly their checks fail (db1's
    traffic takes the main table, a copy of table 130), and host3 would put them back."""
    netns = "/proc/%d/ns/net" % deployed.pid("db1")
    rules = json.loads(sh(["nsenter", "--net=" + netns, "ip", "-j", "-4", "rule", "show"]).stdout)
    assert [(r["priority"], r["table"]) for r in rules if r.get("protocol") == "110"] == [(1000, "130")], rules
    sh(["nsenter", "--net=" + netns, "ip", "rule", "del", "priority", "1000", "from", "10.30.0.20", "table", "130"])
    sh(["nsenter", "--net=" + netns, "tc", "qdisc", "del", "dev", "eth1", "root"])
    outcomes = deployed.audit_and_repair(tmp_path)
    assert_exactly(deployed, outcomes, {"test_container_rules[db1]", "test_container_qdisc[db1.eth1]",
                                        "test_no_drift[host3]"})


def test_stale_fdb_peer_and_a_moved_bridge_mac(deployed, lab, tmp_path):
    """Two breaks on two hosts, audited once: a stale flood entry on host1, and host3's nw-app with
    another MAC than the model's (host3 only routes into app: nothing of its traffic depends on it)."""
    host1, host3 = lab.host("host1"), lab.host("host3")
    pinned = host3.json(["ip", "-j", "link", "show", "dev", "nw-app"])[0]["address"]
    moved = "02:00:5e:10:20:03" if pinned != "02:00:5e:10:20:03" else "02:00:5e:10:20:04"
    host1.run(["bridge", "fdb", "append", "00:00:00:00:00:00", "dev", "nwx-app", "dst", STALE_PEER])
    host3.run(["ip", "link", "set", "dev", "nw-app", "address", moved])
    try:
        outcomes = deployed.audit(tmp_path)
    finally:
        host1.run(["bridge", "fdb", "del", "00:00:00:00:00:00", "dev", "nwx-app", "dst", STALE_PEER], check=False)
        host3.run(["ip", "link", "set", "dev", "nw-app", "address", pinned], check=False)
    assert_exactly(deployed, outcomes, {"test_tunnel_peers[host1-app]", "test_no_drift[host1]",
                                        "test_bridge[host3-nw-app]", "test_no_drift[host3]"})


# ---------------------------------------------------------------- what the audit needs on a host

class Hidden:
    """Hide programs in one lab host's mount namespace (a bind mount of /dev/null: not executable)."""

    def __init__(self, host, *programs):
        self.host = host
        self.paths = []
        for prog in programs:
            found = host.run(["sh", "-c", "command -v %s" % prog], check=False).stdout.strip()
            if found:
                self.paths.append(os.path.realpath(found))

    def __enter__(self):
        for path in self.paths:
            self.host.run(["mount", "--bind", "/dev/null", path])
        return self

    def __exit__(self, *exc):
        for path in self.paths:
            self.host.run(["umount", path], check=False)


def test_the_audit_needs_no_ping_on_the_hosts(deployed, lab, tmp_path):
    host2 = lab.host("host2")
    with Hidden(host2, "ping"):
        assert host2.run(["sh", "-c", "command -v ping"], check=False).returncode != 0
        outcomes = deployed.audit(tmp_path)
    assert_exactly(deployed, outcomes, set())


def test_a_missing_prerequisite_stops_the_audit_once_naming_program_and_package(deployed, lab, tmp_path):
    host3 = lab.host("host3")
    with Hidden(host3, "bridge"):
        proc = subprocess.run([str(REPO / ".venv" / "bin" / "python"), "-m", "pytest", "--hosts=ansible://all",
                               "--ansible-inventory=%s" % lab.inventory, "--ansible-inventory=%s" % deployed.model,
                               "-q", str(REPO / "tests" / "spec")],
                              capture_output=True, text=True, timeout=300, env=deployed.env(), cwd=str(REPO),
                              check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 3, out[-3000:]
    assert "netwire audit cannot run: host3 lacks `bridge` (Debian package iproute2)" in out, out[-3000:]
    assert out.count("lacks") == 1 and "FAILED" not in out and " passed" not in out, out[-3000:]


def test_docker_forward_drop(deployed, lab, tmp_path):
    """Docker (iptables on) starts on host1 after the deployment: its FORWARD policy drop breaks what host1
    forwards, and the audit says so; site.yml then adds netwire's rules to DOCKER-USER and the audit passes."""
    host1 = lab.host("host1")
    add_docker_chains(host1)
    try:
        outcomes = deployed.audit(tmp_path)
        # host1 routes web1's egress, web1 -> app1 (dmz -> app) and the DNAT of web1's published port;
        # web1 <-> web2 is bridged (GRE), app1's and db1's traffic is routed by host2 and host3
        assert_exactly(deployed, outcomes, {
            "test_other_firewalls[host1]", "test_no_drift[host1]", "test_nat_egress[web1]",
            "test_reachable[web1->app1-icmp]", "test_reachable[web1->app1-tcp]",
            "test_reachable[web1->app2-icmp]", "test_reachable[web1->app2-tcp]", "test_published[web1:tcp/8080]"})
        deployed.playbook("site.yml")
        assert_exactly(deployed, deployed.audit(tmp_path), set())
    finally:
        remove_docker_chains(host1)
    # netwire's rules went with Docker's table: without Docker there is nothing to repair
    deployed.playbook("site.yml")


# ---------------------------------------------------------------- names and DHCP
#
# On host2, nw-app's server answers app1 and app2 (zone view app + backend: app1, app2, db1),
# nw-dmz's answers web2 (view dmz + app: web1, web2, app1, app2).

SPARE = "10.10.0.250"   # an address of dmz no container holds


def asked_by(outcomes, *containers):
    """The name checks asked from inside one of ``containers`` (their id starts with it)."""
    out = set()
    for test_id in outcomes:
        m = re.match(r"^test_name_(resolves|hidden|not_forwarded)\[([\w-]+?)(->.*)?\]$", test_id)
        if m and m.group(2) in containers:
            out.add(test_id)
    return out


def _pid(host, name):
    return int(host.run(["cat", "/run/netwire/dnsmasq-%s.pid" % name]).stdout.strip())


def test_the_audit_has_the_name_and_dhcp_checks(deployed):
    base = deployed.baseline
    ids = {"test_name_resolves[web1->web2.dmz.netwire.internal]", "test_name_resolves[web1->web2]",
           "test_name_resolves[web1->app1.app]", "test_name_resolves[app1->db1.backend.netwire.internal]",
           "test_name_hidden[web1->db1.backend.netwire.internal]", "test_name_hidden[db1->web1.dmz.netwire.internal]",
           "test_name_not_forwarded[db1]", "test_dns_server[host2-app]", "test_dns_server[host3-backend]",
           "test_dhcp_server_listens_on_its_bridge_only[host2-app]", "test_dhcp_lease[app2.eth1]"}
    assert ids <= set(base), sorted(ids - set(base))
    assert "test_name_hidden[web1->app1.app.netwire.internal]" not in base      # dmz may reach app
    assert "test_dhcp_server_listens_on_its_bridge_only[host2-dmz]" not in base  # no DHCP on dmz
    # one server per network on every host that carries it: host1 app, dmz; host2 all three; host3 app, backend
    assert len([i for i in base if i.startswith("test_dns_server[")]) == 7
    assert len(asked_by(base, "app1")) == 11 and len(asked_by(base, "web1")) == 12
    ours = [i for i in base if i.startswith("test_name") or "dns" in i or "dhcp" in i]
    assert sorted(i for i in ours if base[i] == "failed") == []


def test_stopped_dnsmasq(deployed, lab, tmp_path):
    host2 = lab.host("host2")
    host2.run(["kill", str(_pid(host2, "nw-app"))])
    outcomes = deployed.audit_and_repair(tmp_path)
    # every name app1 and app2 ask (their resolver is host2's nw-app), that server's own checks, and
    # host2's drift (site would start it); web1, web2 and db1 ask other servers and keep their answers
    expected = asked_by(outcomes, "app1", "app2") | {
        "test_dns_server[host2-app]", "test_dhcp_server_listens_on_its_bridge_only[host2-app]",
        "test_no_drift[host2]"}
    assert len(expected) == 25, sorted(expected)
    assert_exactly(deployed, outcomes, expected)


def test_record_changed_by_hand(deployed, lab, tmp_path):
    """web1's record on host2's dmz server points elsewhere: web2 gets the wrong address for web1 by
    every name of it; the server's files differ from the plan and host2 would rewrite them."""
    host2 = lab.host("host2")
    records = "/etc/netwire/dnsmasq/nw-dmz.hosts.d/records"
    text = host2.run(["cat", records]).stdout
    assert re.search(r"^\S+ web1\.dmz\.netwire\.internal$", text, re.M), text
    changed = re.sub(r"^\S+ (web1\.dmz\.netwire\.internal)$", r"%s \1" % SPARE, text, flags=re.M)
    host2.run(["sh", "-c", "cat > %s.new && mv %s.new %s" % (records, records, records)], input=changed)
    host2.run(["kill", "-HUP", str(_pid(host2, "nw-dmz"))])
    outcomes = deployed.audit_and_repair(tmp_path)
    assert_exactly(deployed, outcomes, {
        "test_name_resolves[web2->web1.dmz.netwire.internal]", "test_name_resolves[web2->web1]",
        "test_name_resolves[web2->web1.dmz]", "test_dns_server[host2-dmz]", "test_no_drift[host2]"})


def test_stranger_takes_dhcp_on_the_host(deployed, lab, tmp_path):
    """A socket on 0.0.0.0:67 not bound to a device (what a system dnsmasq or dhcpd holds) would take
    DHCP on every bridge of host2: the DHCP check of host2's app network fails, nothing else."""
    host2 = lab.host("host2")
    stranger = host2.popen(["timeout", "120", "python3", "-c",
                            "import socket, time; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
                            "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0', 67)); "
                            "print('bound', flush=True); time.sleep(120)"], stdout=subprocess.PIPE)
    try:
        assert stranger.stdout.readline().strip() == b"bound"
        outcomes = deployed.audit(tmp_path)
    finally:
        stranger.terminate()
        stranger.wait(timeout=10)
    assert_exactly(deployed, outcomes, {"test_dhcp_server_listens_on_its_bridge_only[host2-app]"})


# ---------------------------------------------------------------- nothing left

def test_after_down_every_check_of_the_deployment_fails(deployed, tmp_path):
    deployed.playbook("down.yml")
    # db1 still runs: its rule went with its last attachment (its qdisc with its veth)
    netns = "/proc/%d/ns/net" % deployed.pid("db1")
    rules = json.loads(sh(["nsenter", "--net=" + netns, "ip", "-j", "-4", "rule", "show"]).stdout)
    assert not [r for r in rules if r.get("protocol") == "110"], rules
    outcomes = deployed.audit(tmp_path)
    # a check over a kind of object this model has none of (EVPN sessions, the catalog) has an empty
    # parameter list: pytest skips it as [NOTSET], and it checks nothing of this deployment
    still = sorted(i for i, o in outcomes.items() if o != "failed" and not TRUE_WHEN_EMPTY.match(i)
                   and not (o == "skipped" and i.endswith("[NOTSET]")))
    assert not still, "checks that pass with nothing deployed: %s" % still
    empty_ok = sorted(i for i in outcomes if TRUE_WHEN_EMPTY.match(i))
    assert all(outcomes[i] == "passed" for i in empty_ok), dict((i, outcomes[i]) for i in empty_ok)
