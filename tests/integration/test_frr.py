"""The frr module on three lab hosts: a BGP EVPN control plane over real kernel VXLAN devices.

Each host has a Linux bridge with a VXLAN device (nolearning, learning off, neigh_suppress on, no FDB entry of
ours); the module makes every host an iBGP peer of the others. zebra installs the flood entries; traffic
between two lab namespaces passes; a silent bgpd's entries go after the (short) hold time; a sentinel FRR
process with its own configuration survives everything. Every wait and every ping is bounded.
"""

import json
import time

import pytest

pytestmark = pytest.mark.lab

BR = "nwt-evb"
VX = "nwt-evx"
VNI = 4100
NS = ("nwt-ev1", "nwt-ev2")
NS_ADDR = ("10.77.0.1", "10.77.0.2")
NS_MAC = ("02:77:00:00:00:01", "02:77:00:00:00:02")
CONF = "/etc/frr/frr.conf"
DAEMONS = "/etc/frr/daemons"
PIDS = {"zebra": "/run/frr/zebra.pid", "bgpd": "/run/frr/bgpd.pid"}
SENTINEL_DIR = "/run/nwt-frr-sentinel"
SENTINEL_CONF = SENTINEL_DIR + "/bgpd.conf"
SENTINEL_PID = SENTINEL_DIR + "/bgpd.pid"
KEEPALIVE, HOLD = 1, 3
NULL_MAC = "00:00:00:00:00:00"


def params(host, hosts, **kw):
    p = {"asn": 65010, "router_id": host.underlay_ip, "neighbors": [h.underlay_ip for h in hosts if h is not host],
         "keepalive": KEEPALIVE, "holdtime": HOLD, "connect_retry": 1}
    p.update(kw)
    return p


def pid_of(host, path):
    out = host.run("cat %s 2>/dev/null" % path, check=False).stdout.strip()
    return int(out) if out.isdigit() else None


def cmdline(host, pid):
    return host.run("tr '\\0' ' ' < /proc/%d/cmdline 2>/dev/null" % pid, check=False).stdout.strip()


def text(host, path):
    proc = host.run(["cat", path], check=False)
    return proc.stdout if proc.returncode == 0 else None


def flood(host):
    """The remote VTEPs of the VXLAN device's flood entries (00:00:00:00:00:00 dst ...)."""
    entries = json.loads(host.run(["bridge", "-j", "fdb", "show", "dev", VX]).stdout or "[]")
    return sorted(e["dst"] for e in entries if e["mac"] == NULL_MAC and "dst" in e)


def wait_for(what, check, timeout):
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError("%s: not within %s s" % (what, timeout))
        time.sleep(0.2)


def sessions(host):
    res = host.module("net_info", {})
    assert not res.get("failed"), res
    return res["evpn"]


def established(host, hosts):
    """Every EVPN session of ``host`` Established (FRR's JSON, read directly: a poll, cheaper than net_info)."""
    proc = host.run(["vtysh", "--vty_socket", "/run/frr", "-c", "show bgp summary json"], check=False)
    try:
        peers = json.loads(proc.stdout).get("l2VpnEvpn", {}).get("peers", {}) if proc.returncode == 0 else {}
    except ValueError:
        peers = {}
    want = set(h.underlay_ip for h in hosts if h is not host)
    return set(peers) == want and all(p["state"] == "Established" for p in peers.values())


def converge(hosts):
    """Every host configured and every session up (bounded); the module runs only when a session is not up
    (a test left the fabric converged: the rerun is tested on its own)."""
    if all(established(h, hosts) for h in hosts):
        return
    for h in hosts:
        res = h.module("frr", params(h, hosts))
        assert not res.get("failed"), res
    for h in hosts:
        wait_for("%s: EVPN sessions Established" % h.name, lambda h=h: established(h, hosts), 30)


def others(host, hosts):
    return sorted(h.underlay_ip for h in hosts if h is not host)


@pytest.fixture(scope="module")
def evpn(lab):
    hosts = [lab.host("host%d" % i) for i in (1, 2, 3)]
    for h in hosts:
        h.module("frr", {"state": "absent"})
        h.run("ip link del %s 2>/dev/null; ip link del %s 2>/dev/null;"
              " ip link add %s type bridge && ip link set %s up &&"
              " ip link add %s type vxlan id %d local %s dstport 4789 nolearning &&"
              " ip link set %s master %s && bridge link set dev %s learning off neigh_suppress on &&"
              " ip link set %s up" % (VX, BR, BR, BR, VX, VNI, h.underlay_ip, VX, BR, VX, VX))
    for h, ns, addr, mac in zip(hosts, NS, NS_ADDR, NS_MAC):
        h.run("ip netns del %s 2>/dev/null; ip netns add %s && ip link add %s-h type veth peer name eth0 netns %s"
              " && ip link set %s-h master %s up" % (ns, ns, ns, ns, ns, BR))
        h.run(["ip", "netns", "exec", ns, "sh", "-c", "ip link set lo up && ip link set eth0 address %s &&"
               " ip addr add %s/24 dev eth0 && ip link set eth0 up" % (mac, addr)])
    # the sentinel: a bgpd not ours, with its own configuration, pidfile and sockets (no BGP or vty port)
    s = hosts[0]
    s.run("mkdir -p %s && chown frr:frr %s && printf 'router bgp 65099\\n bgp router-id 192.0.2.99\\n' > %s &&"
          " /usr/lib/frr/bgpd -d -p 0 -P 0 -f %s -i %s --vty_socket %s -z %s/zserv.api"
          % (SENTINEL_DIR, SENTINEL_DIR, SENTINEL_CONF, SENTINEL_CONF, SENTINEL_PID, SENTINEL_DIR, SENTINEL_DIR))
    wait_for("sentinel pidfile", lambda: pid_of(s, SENTINEL_PID), 10)
    yield hosts
    for h in hosts:
        h.module("frr", {"state": "absent"})
        h.run("ip link del %s 2>/dev/null; ip link del %s 2>/dev/null; true" % (VX, BR), check=False)
    for h, ns in zip(hosts, NS):
        h.run("ip netns pids %s | xargs -r kill -9; ip netns del %s 2>/dev/null; true" % (ns, ns), check=False)
    pid = pid_of(s, SENTINEL_PID)
    if pid and SENTINEL_CONF in cmdline(s, pid):
        s.run(["kill", str(pid)], check=False)
    s.run(["rm", "-rf", SENTINEL_DIR], check=False)


def sentinel_alive(host):
    pid = pid_of(host, SENTINEL_PID)
    return pid is not None and SENTINEL_CONF in cmdline(host, pid)


def test_check_mode_apply_rerun(evpn):
    hosts = evpn
    h = hosts[0]
    res = h.module("frr", params(h, hosts), check=True, diff=True)
    assert res["changed"] and not res.get("failed"), res
    assert res["diff"]["before"] == {} and res["diff"]["after"]["files"][CONF].startswith("# managed by netwire.fabric\n")
    assert text(h, CONF) is None and pid_of(h, PIDS["zebra"]) is None, "check mode changed the host"

    for host in hosts:
        res = host.module("frr", params(host, hosts))
        assert res["changed"] and not res.get("failed"), res
        assert any(a.startswith("run /usr/lib/frr/frr-reload.py --reload") for a in res["actions"]), res["actions"]
        for daemon, path in PIDS.items():
            pid = res["frr"]["pids"][daemon]
            assert pid == pid_of(host, path) and cmdline(host, pid).startswith("/usr/lib/frr/%s -d " % daemon)
        assert text(host, CONF).splitlines()[0] == "# managed by netwire.fabric"
        assert "bgpd=yes" in text(host, DAEMONS).splitlines()
    for host in hosts:
        res = host.module("frr", params(host, hosts))
        assert not res["changed"], res["actions"]
    assert sentinel_alive(h)


def test_sessions_flood_entries_and_traffic(evpn):
    hosts = evpn
    converge(hosts)
    for h in hosts:
        # zebra installs one flood entry per other VTEP, nothing else; netwire wrote none
        assert wait_for("%s flood entries" % h.name, lambda h=h: flood(h) == others(h, hosts) and flood(h), 15)
        evpn = sessions(h)
        assert evpn["available"], evpn
        peers = evpn["sessions"]["l2VpnEvpn"]["peers"]
        assert sorted(peers) == others(h, hosts) and set(p["state"] for p in peers.values()) == {"Established"}
        vnis = evpn["vnis"]
        assert vnis[str(VNI)]["vxlan_interface"] == VX and vnis[str(VNI)]["local_vtep"] == h.underlay_ip
        assert vnis[str(VNI)]["remote_vteps"] == others(h, hosts)
    h1, h2 = hosts[0], hosts[1]
    assert NS[0] == "nwt-ev1"
    proc = h1.run(["ip", "netns", "exec", "nwt-ev1", "timeout", "15", "ping", "-c", "3", "-i", "0.3", "-W", "2",
                   NS_ADDR[1]], check=False, timeout=20)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # the remote MAC came by BGP (zebra's entry, extern_learn), not by data-plane learning
    entries = json.loads(h1.run(["bridge", "-j", "fdb", "show", "dev", VX]).stdout)
    remote = [e for e in entries if e["mac"] == NS_MAC[1] and e.get("dst") == h2.underlay_ip]
    assert remote and "extern_learn" in remote[0]["flags"], entries


def test_new_configuration_is_reloaded_not_restarted(evpn):
    hosts = evpn
    converge(hosts)
    h = hosts[1]
    pids = dict((d, pid_of(h, p)) for d, p in PIDS.items())
    slower = params(h, hosts, holdtime=HOLD + 3)
    res = h.module("frr", slower, check=True)
    assert res["changed"] and "timers bgp 1 %d" % HOLD in text(h, CONF), "check mode wrote frr.conf"
    res = h.module("frr", slower, diff=True)
    assert res["changed"] and not res.get("failed"), res
    assert "timers bgp 1 %d" % HOLD in res["diff"]["before"]["files"][CONF]
    assert "timers bgp 1 %d" % (HOLD + 3) in res["diff"]["after"]["files"][CONF]
    assert dict((d, pid_of(h, p)) for d, p in PIDS.items()) == pids, "a new frr.conf restarted the daemons"
    running = h.run(["vtysh", "--vty_socket", "/run/frr", "-c", "show running-config"]).stdout
    assert " timers bgp 1 %d" % (HOLD + 3) in running.splitlines(), running
    res = h.module("frr", params(h, hosts))
    assert res["changed"] and dict((d, pid_of(h, p)) for d, p in PIDS.items()) == pids
    assert not h.module("frr", params(h, hosts))["changed"]


def test_a_silent_bgpd_is_withdrawn_within_the_hold_time(evpn):
    hosts = evpn
    converge(hosts)
    h3 = hosts[2]
    pid = pid_of(h3, PIDS["bgpd"])
    assert cmdline(h3, pid).startswith("/usr/lib/frr/bgpd ")
    # frozen, not stopped: it sends nothing more (no notification), so the peers wait out the hold time
    h3.run("kill -STOP %d" % pid)
    try:
        start = time.monotonic()
        for h in hosts[:2]:
            wait_for("%s drops %s's flood entry" % (h.name, h3.name),
                     lambda h=h: h3.underlay_ip not in flood(h), HOLD + 3)
        assert time.monotonic() - start <= HOLD + 3
        assert flood(hosts[0]) == [hosts[1].underlay_ip] and flood(hosts[1]) == [hosts[0].underlay_ip]
    finally:
        h3.run("kill -KILL %d" % pid, check=False)
    wait_for("bgpd gone", lambda: not cmdline(h3, pid), 5)
    # the next run starts bgpd again and configures it; the entries come back
    res = h3.module("frr", params(h3, hosts))
    assert res["changed"] and "start frr bgpd" in res["actions"], res["actions"]
    converge(hosts)
    for h in hosts:
        wait_for("%s flood entries back" % h.name, lambda h=h: flood(h) == others(h, hosts) and flood(h), 15)


def test_absent_and_a_foreign_configuration(evpn):
    hosts = evpn
    converge(hosts)
    h3 = hosts[2]
    res = h3.module("frr", {"state": "absent"}, check=True)
    assert res["changed"] and text(h3, CONF) is not None and pid_of(h3, PIDS["bgpd"]), "check mode removed"
    ours = [pid_of(h3, p) for p in PIDS.values()]
    res = h3.module("frr", {"state": "absent"})
    assert res["changed"] and not res.get("failed"), res
    assert text(h3, CONF) is None and text(h3, DAEMONS) is None
    assert all(not cmdline(h3, p) for p in ours) and pid_of(h3, PIDS["bgpd"]) is None
    for h in hosts[:2]:
        wait_for("%s drops %s" % (h.name, h3.name), lambda h=h: h3.underlay_ip not in flood(h), HOLD + 3)
    assert not h3.module("frr", {"state": "absent"})["changed"]

    # someone else's FRR configuration: a finding, and left as it is
    foreign = "hostname r3\nrouter ospf\n network 198.19.0.0/24 area 0\n"
    h3.run("printf '%s' > %s" % (foreign.replace("\n", "\\n"), CONF))
    try:
        res = h3.module("frr", params(h3, hosts))
        assert res.get("failed") and "configured for another purpose" in res["msg"], res
        assert "router ospf" in res["msg"] and text(h3, CONF) == foreign
        res = h3.module("frr", {"state": "absent"})
        assert not res["changed"] and text(h3, CONF) == foreign
    finally:
        h3.run(["rm", "-f", CONF])

    # absent on a host with the sentinel: ours stop, the sentinel and its configuration stay
    h1 = hosts[0]
    ours = [pid_of(h1, p) for p in PIDS.values()]
    res = h1.module("frr", {"state": "absent"})
    assert res["changed"] and all(not cmdline(h1, p) for p in ours), res
    assert sentinel_alive(h1) and "router bgp 65099" in text(h1, SENTINEL_CONF)
