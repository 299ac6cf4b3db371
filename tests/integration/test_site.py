"""The example model end to end: site.yml builds it, reruns change nothing, the
zones hold across hosts, a broken model stops before any host is touched, and
down.yml leaves nothing of ours behind.

The expectations below are written out by hand from examples/model (three
zones: dmz -> app -> backend), not computed by the collection's own model code,
so that this test checks the collection instead of repeating it.
"""

import json
import os
import re
import time

import pytest
import yaml

from tests.lab.core import ensure_container, sh
from tests.integration.site_helpers import CONTAINERS, Containers, copy_example, ok, owned_state

pytestmark = pytest.mark.lab

DOCKER = Containers(tcp_port=7001)
container_address, ping, tcp = DOCKER.address, DOCKER.ping, DOCKER.tcp
MODEL = None

# (source, destination): may a new connection be opened?
REACH = {
    ("web1", "web2"): True, ("web2", "web1"): True,      # same network (dmz, icc on), across hosts (GRE)
    ("web1", "app1"): True, ("web2", "app1"): True,      # dmz -> app allowed (kernel VXLAN network)
    ("app1", "db1"): True,                               # app -> backend allowed (OVS VXLAN network)
    ("app1", "web1"): False, ("app1", "web2"): False,    # app -> dmz: not allowed
    ("db1", "app1"): False, ("db1", "web1"): False,      # backend -> anything: not allowed
    ("web1", "db1"): False, ("web2", "db1"): False,      # dmz -> backend: not allowed
}


ARP_IGNORE_BEFORE = {}


def nic_arp_ignore(host):
    return host.run(["cat", "/proc/sys/net/ipv4/conf/%s/arp_ignore" % host.underlay_if]).stdout.strip()


@pytest.fixture(scope="module")
def site(lab, tmp_path_factory):
    global MODEL
    MODEL = tmp_path_factory.mktemp("model") / "model"
    copy_example(MODEL, DOCKER, lab.instance)
    SENTINEL.start(lab.host("host2"), lab.instance)
    for h in lab.hosts:
        ARP_IGNORE_BEFORE[h.name] = nic_arp_ignore(h)
    first = lab.playbook("playbooks/site.yml", [MODEL])
    yield first
    lab.playbook("playbooks/down.yml", [MODEL])
    DOCKER.remove()
    SENTINEL.stop()


def test_site_builds_the_example_on_every_host(site, lab):
    ok(site, "site.yml")
    assert sorted(site.recap) == sorted(h.name for h in lab.hosts)
    assert all(changes > 0 for changes in site.changed().values()), site.recap
    for name in CONTAINERS:
        assert container_address(name), "%s has no address on eth1" % name
    # one DNS server per network a host carries: host1 dmz+app, host2 dmz+app+backend, host3 app+backend
    assert dict((h.name, len(our_dnsmasqs(h))) for h in lab.hosts) == {"host1": 2, "host2": 3, "host3": 2}
    assert SENTINEL.alive(), "site.yml stopped a dnsmasq that is not ours"


def test_rerun_changes_nothing(site, lab):
    servers = dict((h.name, our_dnsmasqs(h)) for h in lab.hosts)
    again = ok(lab.playbook("playbooks/site.yml", [MODEL]), "site.yml rerun")
    assert set(again.changed().values()) == {0}, again.recap
    assert dict((h.name, our_dnsmasqs(h)) for h in lab.hosts) == servers, "a rerun restarted a DNS server"


def test_check_diff_on_a_converged_lab_changes_nothing(site, lab):
    check = ok(lab.playbook("playbooks/site.yml", [MODEL], check=True, diff=True), "site.yml --check --diff")
    assert set(check.changed().values()) == {0}, check.recap


ARPING_MAC = re.compile(r"reply from \S+ \[([0-9a-f:]{17})\]", re.I)


def answering_macs(arping):
    """The MACs that answered a broadcast ``arping`` (busybox; 3 probes, bounded)."""
    return set(m.lower() for m in ARPING_MAC.findall(arping.stdout))


def test_each_address_on_a_userspace_bridge_is_answered_by_one_mac(site, lab):
    """The userspace datapath reads its ports with packet sockets, so the underlay NIC and the
    veths' host ends stay live interfaces of the host: unless told not to (arp_ignore), the host
    answers ARP on them too, with their own MACs, and frames sent there bypass OVS (tunnels and
    routed TCP then failed now and then while ping passed). Break it on one NIC and one host end:
    two MACs answer; site.yml puts it right: one again."""
    h1, h2 = lab.host("host1"), lab.host("host2")
    bridge_mac = h1.json(["ip", "-j", "link", "show", "nw-dmz"])[0]["address"]
    underlay_mac = h1.json(["ip", "-j", "link", "show", "nwu-eth1"])[0]["address"]
    host_end = [link["ifname"] for link in h1.json(["ip", "-j", "link"])
                if (link.get("ifalias") or "").startswith("netwire:attach")][0]

    def gateway():
        return answering_macs(sh(["docker", "exec", DOCKER["web1"], "arping", "-b", "-c", "3", "-w", "4", "-I",
                                  "eth1", "10.10.0.1"], check=False, timeout=15))

    def underlay():
        return answering_macs(h2.run(["busybox", "arping", "-b", "-c", "3", "-w", "4", "-I", "nwu-eth1",
                                      h1.underlay_ip], check=False, timeout=15))

    def web1_netns():
        pid = sh(["docker", "inspect", "-f", "{{.State.Pid}}", DOCKER["web1"]]).stdout.strip()
        return ["nsenter", "-t", pid, "-n"]

    def learnt():
        """What web1 holds for its gateway and host2 for host1's underlay address (the MACs frames go to)."""
        gw = sh(web1_netns() + ["ip", "-j", "neigh", "show", "10.10.0.1", "dev", "eth1"]).stdout
        peer = h2.run(["ip", "-j", "neigh", "show", h1.underlay_ip, "dev", "nwu-eth1"]).stdout
        return [(json.loads(out) or [{}])[0].get("lladdr") for out in (gw, peer)]

    assert gateway() == {bridge_mac} and underlay() == {underlay_mac}
    host_end_mac = h1.json(["ip", "-j", "link", "show", host_end])[0]["address"]
    nic_mac = h1.json(["ip", "-j", "link", "show", h1.underlay_if])[0]["address"]
    h1.run("echo 0 > /proc/sys/net/ipv4/conf/eth1/arp_ignore; echo 0 > /proc/sys/net/ipv4/conf/%s/arp_ignore"
           % host_end)
    try:
        assert len(gateway()) == 2 and len(underlay()) == 2, "the probe cannot see a second answer"
        # what the second answers teach when they come first (the first answer wins: locktime)
        sh(web1_netns() + ["ip", "neigh", "replace", "10.10.0.1", "lladdr", host_end_mac, "dev", "eth1",
                           "nud", "stale"])
        h2.run(["ip", "neigh", "replace", h1.underlay_ip, "lladdr", nic_mac, "dev", "nwu-eth1", "nud", "stale"])
        assert learnt() == [host_end_mac, nic_mac]
    finally:
        repair = ok(lab.playbook("playbooks/site.yml", [MODEL]), "site.yml repairs arp_ignore")
    assert repair.changed() == {"host1": 2, "host2": 0, "host3": 0}, repair.recap
    # the repair announced both addresses again (gratuitous ARP): the neighbours hold the bridges' MACs at once
    assert learnt() == [bridge_mac, underlay_mac], "a neighbour still sends to the MAC of the wrong answer"
    assert gateway() == {bridge_mac} and underlay() == {underlay_mac}


def test_one_module_call_per_host_and_section(site):
    # The play output names each task once per host; whatever the number of networks,
    # tunnels and containers, host_network runs twice per host (fabric, containers).
    assert site.stdout.count("TASK [netwire.fabric.fabric : Converge bridges and tunnels]") == 1
    assert site.stdout.count("TASK [netwire.fabric.containers : Converge the container attachments and the firewall]") == 1


@pytest.mark.parametrize("pair", sorted(REACH), ids=lambda p: "%s->%s" % p)
def test_zones_hold_across_hosts(site, pair):
    src, dst = pair
    dst_ip = container_address(dst)
    assert dst_ip
    expected = REACH[pair]
    assert ping(src, dst_ip) is expected, "ICMP %s -> %s (%s) should %s" % (
        src, dst, dst_ip, "pass" if expected else "be blocked")
    assert tcp(src, dst, dst_ip) is expected, "TCP %s -> %s (%s) should %s" % (
        src, dst, dst_ip, "connect" if expected else "be blocked")


def test_nat_egress_only_for_networks_with_nat(site, lab):
    outside = lab.outside.ip
    assert ping("web1", outside), "dmz has nat: true, web1 should reach the outside host"
    assert ping("app1", outside), "app has nat: true"
    assert not ping("db1", outside), "backend has nat: false, db1 must not reach the outside host"


def test_published_port_answers_from_the_outside_host(site, lab):
    out = DOCKER.published_reply(lab)
    assert "hello-web1" in out.stdout, out


def test_restarted_container_is_reattached_with_the_same_address(site, lab):
    before = container_address("web2")
    sh(["docker", "restart", "-t", "1", DOCKER["web2"]], timeout=60)
    assert container_address("web2") is None, "a restarted container starts without our interface"
    rerun = ok(lab.playbook("playbooks/site.yml", [MODEL]), "site.yml after a restart")
    assert rerun.changed() == {"host1": 0, "host2": 1, "host3": 0}, rerun.recap
    assert container_address("web2") == before
    stale = [l["ifname"] for l in lab.host("host2").json(["ip", "-j", "link"])
             if (l.get("ifalias") or "").startswith("netwire:attach") and l.get("operstate") == "DOWN"]
    assert stale == [], "stale host ends left behind: %s" % stale
    assert ping("web1", before)


def test_changing_a_containers_reference_moves_its_attachment(site, lab):
    """web2 now names another Docker container: the attachment moves, address and all."""
    old_ref, new_ref = DOCKER["web2"], DOCKER["web2"] + "b"
    address = container_address("web2")
    all_vars = MODEL / "group_vars" / "all.yml"
    model = yaml.safe_load(all_vars.read_text())
    ensure_container(new_ref, lab.instance)
    model["netwire_containers"]["web2"]["ref"] = new_ref
    all_vars.write_text(yaml.safe_dump(model, sort_keys=False))
    DOCKER["web2"] = new_ref
    try:
        ok(lab.playbook("playbooks/site.yml", [MODEL]), "site.yml after changing web2's ref")
        assert container_address("web2") == address
        assert "eth1" not in sh(["docker", "exec", old_ref, "ip", "-o", "link"]).stdout
        assert ping("web1", address)
    finally:
        model["netwire_containers"]["web2"]["ref"] = old_ref
        all_vars.write_text(yaml.safe_dump(model, sort_keys=False))
        DOCKER["web2"] = old_ref
    ok(lab.playbook("playbooks/site.yml", [MODEL]), "site.yml back to the first ref")
    assert container_address("web2") == address
    sh(["docker", "rm", "-f", new_ref], check=False)


def test_broken_model_stops_before_any_host_is_touched(site, lab):
    states = dict((h.name, owned_state(h)) for h in lab.hosts)
    broken = {"netwire_networks": {
        "dmz": {"subnet": "10.10.0.0/24", "zone": "dmz", "backend": "ovs", "overlay": "gre", "key": 110},
        "app": {"subnet": "10.10.0.128/25", "zone": "app", "backend": "linux", "overlay": "vxlan", "key": 120,
                "port": 8472, "hosts": ["host1", "host2", "host3"]},
        "backend": {"subnet": "10.30.0.0/24", "zone": "backend", "backend": "ovs", "overlay": "vxlan", "key": 130,
                    "hosts": ["host2", "host3"]},
    }}
    run = lab.playbook("playbooks/site.yml", [MODEL], extra_vars=broken)
    assert run.rc != 0
    assert "netwire_networks.dmz.subnet: subnet 10.10.0.0/24 overlaps subnet 10.10.0.128/25" in run.stdout, run
    assert "Converge bridges" not in run.stdout and "Prepare the hosts" not in run.stdout
    assert dict((h.name, owned_state(h)) for h in lab.hosts) == states


def test_the_firewalls_warnings_reach_the_user_through_the_roles(site, lab):
    """IPv4 forwarding off on a host (host_prep told not to touch it): the firewall warns,
    and the warning reaches the playbook's output (host_network used to drop it: issue 13)."""
    host = lab.hosts[0]
    host.run(["sysctl", "-qw", "net.ipv4.ip_forward=0"])
    try:
        run = ok(lab.playbook("playbooks/site.yml", [MODEL], extra_vars={"host_prep_forwarding": False}),
                 "site.yml with forwarding off")
        output = run.stdout + run.stderr
        assert "net.ipv4.ip_forward is 0 in this network namespace" in output, run
        assert re.search(r"\[WARNING\]: .*net\.ipv4\.ip_forward is 0", output), run
    finally:
        host.run(["sysctl", "-qw", "net.ipv4.ip_forward=1"])


# ---------------------------------------------------------------- names and addresses by DHCP
# From examples/model: every network has names (netwire_dns, domain netwire.internal, no forwarders);
# app serves DHCP and app2 (host2) takes its model address 10.20.0.174 from host2's nw-app (10.20.0.2).
# Zone views: dmz sees dmz and app names, app sees app and backend, backend only its own.

APP2_ADDRESS, APP2_ROUTER = "10.20.0.174", "10.20.0.2"


class Sentinel:
    """A dnsmasq that is not ours, on host2 (its own pidfile and port, bound to host2's underlay address)."""

    def __init__(self):
        self.host = self.pid = self.pidfile = None

    def start(self, host, instance):
        self.host = host
        self.pidfile = "/tmp/nw-sentinel-dnsmasq-lab%d-%s.pid" % (instance, host.name)
        host.run("kill $(cat %s) 2>/dev/null; rm -f %s" % (self.pidfile, self.pidfile), check=False)
        host.run(["dnsmasq", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--bind-interfaces",
                  "--listen-address=%s" % host.underlay_ip, "--port=5399", "--pid-file=%s" % self.pidfile])
        for _try in range(50):
            text = host.run(["cat", self.pidfile], check=False).stdout.strip()
            if text.isdigit():
                self.pid = int(text)
                return
            time.sleep(0.1)
        raise AssertionError("the sentinel dnsmasq wrote no pidfile")

    def alive(self):
        try:
            with open("/proc/%d/cmdline" % self.pid, "rb") as f:
                return b"--port=5399" in f.read()
        except OSError:
            return False

    def stop(self):
        if self.pid and self.alive():
            os.kill(self.pid, 15)
        if self.host:
            self.host.run(["rm", "-f", self.pidfile], check=False)


SENTINEL = Sentinel()


def our_dnsmasqs(host):
    """Pids of dnsmasq processes in this lab host's network namespace run from our config dir."""
    ns = os.stat(host.netns_path).st_ino
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                argv = f.read().split(b"\0")
            if os.path.basename(argv[0]) != b"dnsmasq" or os.stat("/proc/%s/ns/net" % entry).st_ino != ns:
                continue
        except OSError:
            continue
        if any(b"/etc/netwire/" in a for a in argv):
            pids.append(int(entry))
    return sorted(pids)


def lookup(container, name):
    """busybox nslookup in the container, through its resolv.conf: (answered addresses, output)."""
    out = sh(["docker", "exec", DOCKER[container], "timeout", "8", "nslookup", "-type=a", name], check=False,
             timeout=20)
    text = out.stdout + out.stderr
    answer = text.split("Name:", 1)[1] if "Name:" in text else ""
    return re.findall(r"Address:\s*(\d+\.\d+\.\d+\.\d+)", answer), text


def resolved(container, name):
    """The address the container's own resolver (getaddrinfo: the search path, ndots) gives ``name``, or None.

    busybox nslookup never applies the search path to a name with a dot; ping resolves like any program.
    """
    out = sh(["docker", "exec", DOCKER[container], "timeout", "8", "ping", "-c", "1", "-W", "1", name], check=False,
             timeout=20)
    found = re.search(r"^PING \S+ \((\d+\.\d+\.\d+\.\d+)\)", out.stdout, re.M)
    return found.group(1) if found else None


def dhcp_client(host, name, plug, then="", unplug=""):
    """One bounded DHCP exchange (2 discovers, 1 s apart) from a new namespace whose random-MAC veth
    ``plug`` puts on a bridge of ``host``; then ``then`` in it. Returns udhcpc's output and ``rc=N``."""
    ns, veth = "nwsite-" + name, "nwsite-%s0" % name
    script = ("ip netns add {ns}; ip link add {veth} type veth peer name eth0 netns {ns}; ip link set {veth} up;"
              " {plug}; ip -n {ns} link set eth0 up;"
              " ip netns exec {ns} timeout 10 busybox udhcpc -i eth0 -t 2 -T 1 -n -q -s /bin/true 2>&1;"
              " echo rc=$?; {then}").format(ns=ns, veth=veth, plug=plug, then=then or "true")
    try:
        return host.run(script, check=False, timeout=30).stdout
    finally:
        host.run("%s; ip link del %s; ip netns del %s" % (unplug or "true", veth, ns), check=False)


def test_the_dhcp_container_holds_its_model_address_from_its_hosts_bridge(site, lab):
    assert container_address("app2") == APP2_ADDRESS
    inside = sh(["docker", "exec", DOCKER["app2"], "ip", "-o", "route", "show", "default"]).stdout
    assert "via %s dev eth1" % APP2_ROUTER in inside, inside
    host2 = lab.host("host2")
    leases = host2.run(["cat", "/var/lib/netwire/dnsmasq-nw-app.leases"]).stdout
    assert APP2_ADDRESS in leases, leases
    # host1 and host3 serve nw-app too, but hold no reservation for app2 and answered nothing
    for other in ("host1", "host3"):
        held = lab.host(other).run(["cat", "/var/lib/netwire/dnsmasq-nw-app.leases"], check=False).stdout
        assert APP2_ADDRESS not in held, (other, held)


def test_names_resolve_across_hosts_within_the_zone_view(site, lab):
    web2, app1 = container_address("web2"), container_address("app1")
    assert lookup("web1", "web2.dmz.netwire.internal")[0] == [web2]      # host1 -> host2's container
    assert lookup("web1", "web2")[0] == [web2]                           # the search path
    assert lookup("web1", "app1.app.netwire.internal")[0] == [app1]      # dmz may reach app
    assert resolved("web1", "app1.app") == app1                          # <container>.<network>: the search path
    assert resolved("app1", "db1.backend") == "10.30.0.20"               # app may reach backend
    hidden = lookup("web1", "db1.backend.netwire.internal")
    assert hidden[0] == [] and "NXDOMAIN" in hidden[1], hidden[1]        # dmz may not reach backend
    outside = lookup("web1", "example.org")
    assert outside[0] == [] and "REFUSED" in outside[1], outside[1]      # no forwarders: nothing leaves


def test_a_client_unknown_to_the_server_gets_no_lease_and_no_dhcp_crosses_a_tunnel(site, lab):
    host1, host2, host3 = lab.host("host1"), lab.host("host2"), lab.host("host3")

    def guard_drops():
        data = host2.json(["nft", "-j", "list", "counters", "table", "bridge", "netwire_dhcp_guard"])
        return sum(i["counter"]["packets"] for i in data["nftables"] if "counter" in i)

    def tunnel_counters():
        """(DHCP frames, all frames) host2's VXLAN device of app transmitted since the probe table was made."""
        rules = [i["rule"] for i in host2.json(["nft", "-j", "list", "chain", "netdev", "nwsite_probe",
                                                "tunnel_out"])["nftables"] if "rule" in i]
        return tuple([e["counter"]["packets"] for e in r["expr"] if "counter" in e][0] for r in rules)

    # a counter on the tunnel device itself (netdev egress: what the device really sends), the test's own table
    host2.run(["nft", "-f", "-"], input='table netdev nwsite_probe {\n chain tunnel_out {\n'
              '  type filter hook egress device "nwx-app" priority 0;\n  udp dport { 67, 68 } counter\n'
              '  counter\n }\n}\n')
    captures = [h.popen(["timeout", "10", "tcpdump", "-i", h.underlay_if, "-nn", "-l", "-c", "100", "udp", "port",
                         "8472"], stdout=-1, stderr=-1) for h in (host1, host3)]
    before = guard_drops()
    time.sleep(1.5)   # the captures listen
    # then an ARP probe for an address nobody holds: a broadcast the tunnel does carry
    arp = "ip netns exec nwsite-rnd timeout 5 busybox arping -c 1 -w 1 -I eth0 10.20.0.250 >/dev/null 2>&1"
    try:
        out = dhcp_client(host2, "rnd", "ip link set nwsite-rnd0 master nw-app", arp)
        dhcp_sent, all_sent = tunnel_counters()
    finally:
        host2.run("nft delete table netdev nwsite_probe", check=False)
    frames = []
    for proc in captures:
        text = proc.communicate(timeout=20)[0].decode("utf-8", "replace")
        frames += [l for l in text.splitlines() if "BOOTP" in l or ".67:" in l or ".68:" in l]
    assert "lease of" not in out and "rc=0" not in out, out               # a random MAC: no reservation
    assert guard_drops() > before, "the DHCP guard on host2's tunnel devices saw no DISCOVER"
    assert all_sent > 0, "the tunnel device's counter saw nothing at all: it proves nothing"
    assert dhcp_sent == 0, "host2's tunnel device sent %d DHCP frames" % dhcp_sent
    assert frames == [], "DHCP crossed the VXLAN tunnels of app: %s" % frames[:5]


def test_a_network_without_dhcp_gives_no_lease(site, lab):
    out = dhcp_client(lab.host("host2"), "dmz", "ethtool -K nwsite-dmz0 tx off >/dev/null;"
                      " ovs-vsctl add-port nw-dmz nwsite-dmz0", unplug="ovs-vsctl --if-exists del-port nw-dmz nwsite-dmz0")
    assert "no lease" in out and "lease of" not in out, out


def test_names_follow_a_moved_container_and_leave_with_a_removed_one(site, lab):
    """app1 moves from host2 to host1 and web2 leaves the model: one rerun; then both come back.

    (host1, not host3: a container answers through its own host, and host3 carries no dmz.) On host1,
    app1 is another Docker container: every lab host sees the same Docker, and with the same container
    host1 would attach into the namespace host2 detaches from in the same run (a real container lives
    on one host)."""
    all_vars = MODEL / "group_vars" / "all.yml"
    model = yaml.safe_load(all_vars.read_text())
    pristine = yaml.safe_dump(model, sort_keys=False)
    web2 = container_address("web2")
    old_ref, new_ref = DOCKER["app1"], DOCKER["app1"] + "m"
    ensure_container(new_ref, lab.instance)
    model["netwire_containers"]["app1"]["host"] = "host1"
    model["netwire_containers"]["app1"]["ref"] = new_ref
    del model["netwire_containers"]["web2"]
    all_vars.write_text(yaml.safe_dump(model, sort_keys=False))
    DOCKER["app1"] = new_ref
    try:
        ok(lab.playbook("playbooks/site.yml", [MODEL]), "site.yml after moving app1 and removing web2")
        app1 = container_address("app1")
        assert app1 and lookup("web1", "app1.app.netwire.internal")[0] == [app1]
        hidden = lookup("db1", "app1.app.netwire.internal")    # backend does not see app, wherever app1 is
        assert hidden[0] == [] and "NXDOMAIN" in hidden[1], hidden[1]
        assert resolved("web1", "app1.app") == app1, "app1's short name from dmz after the move (now on host1)"
        assert tcp("web1", "app1", app1), "dmz -> app1 on the same host after the move"
        assert resolved("app2", "app1") == app1, "from host2's app2, by the bare name (same network)"
        gone = lookup("web1", "web2.dmz.netwire.internal")
        assert gone[0] == [] and "NXDOMAIN" in gone[1], gone[1]
    finally:
        all_vars.write_text(pristine)
        DOCKER["app1"] = old_ref
    ok(lab.playbook("playbooks/site.yml", [MODEL]), "site.yml with the model back")
    sh(["docker", "rm", "-f", new_ref], check=False)
    assert lookup("web1", "web2.dmz.netwire.internal")[0] == [web2]


def test_down_leaves_nothing_of_ours(site, lab):
    down = ok(lab.playbook("playbooks/down.yml", [MODEL]), "down.yml")
    assert all(c > 0 for c in down.changed().values()), down.recap
    for h in lab.hosts:
        assert owned_state(h) == {"links": [], "ovs_bridges": [], "nft_tables": []}, h.name
        addrs = [a["local"] for a in h.json(["ip", "-j", "-4", "addr", "show", "dev", h.underlay_if])[0]["addr_info"]]
        assert addrs == [h.underlay_ip], "%s: the underlay address is back on %s" % (h.name, h.underlay_if)
        routes = h.json(["ip", "-j", "route", "show", "default"])
        assert [(r["gateway"], r["dev"]) for r in routes] == [("198.19.0.1", h.underlay_if)]
        assert nic_arp_ignore(h) == ARP_IGNORE_BEFORE[h.name], "%s: %s's arp_ignore is not its own again" % (
            h.name, h.underlay_if)
        assert our_dnsmasqs(h) == [], "%s: our dnsmasq still runs" % h.name
        # (/run/netwire/lock is the host lock every run takes: a lock file is never removed under its holders)
        left = h.run(["find", "/etc/netwire", "/var/lib/netwire", "/run/netwire", "-mindepth", "1", "!", "-path",
                      "/run/netwire/lock"], check=False).stdout
        assert left.split() == [], "%s: files of our dnsmasq left: %s" % (h.name, left)
    assert SENTINEL.alive(), "down.yml stopped a dnsmasq that is not ours"
    for name in CONTAINERS:
        assert container_address(name) is None
    again = ok(lab.playbook("playbooks/down.yml", [MODEL]), "down.yml again")
    assert set(again.changed().values()) == {0}, again.recap
    # the underlay still carries traffic between the hosts
    out = lab.hosts[0].run(["ping", "-c", "1", "-W", "2", lab.hosts[1].underlay_ip], check=False)
    assert out.returncode == 0
