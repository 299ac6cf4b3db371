"""dnsmasq on a lab host: the lifecycle, real DNS queries, reload without restart, ownership of processes.

Every query is one busybox nslookup from a lab namespace on the bridge, bounded (2 s, one retry, 6 s in all).
"""

import shlex

import pytest

from tests.integration.linux_helpers import assert_failed, fixed_mac

pytestmark = pytest.mark.lab

BR = "nwt-dns0"
ADDR = "10.41.0.1"
SENTINEL_ADDR = "10.41.9.1"  # on another bridge of the same host
SENTINEL_LINK = "nwt-dnsx"
CLIENT = "nwt-dnsc"
CONF = "/etc/netwire/dnsmasq/%s.conf" % BR
RECORDS = "/etc/netwire/dnsmasq/%s.hosts.d/records" % BR
PIDFILE = "/run/netwire/dnsmasq-%s.pid" % BR
SENTINEL_CONF = "/run/nwt-sentinel-dnsmasq.conf"
SENTINEL_PID = "/run/nwt-sentinel-dnsmasq.pid"
PARAMS = {
    "name": BR, "network": "dmz", "interface": BR, "address": ADDR, "subnet": "10.41.0.0/24",
    "search": ["dmz.netwire.internal", "netwire.internal"],
    "records": [{"name": "web1.dmz.netwire.internal", "address": "10.41.0.10"}],
    "dhcp": True, "reservations": [{"mac": "02:41:00:00:00:20", "address": "10.41.0.20", "name": "web1"}],
}


def pid_of(host, path):
    out = host.run("cat %s 2>/dev/null" % path, check=False).stdout.strip()
    return int(out) if out.isdigit() else None


def alive(host, pid):
    """A running process (a zombie, whose cmdline is empty, is not)."""
    return pid is not None and bool(host.run("cat /proc/%d/cmdline 2>/dev/null" % pid, check=False).stdout)


def cmdline(host, pid):
    return host.run("tr '\\0' ' ' < /proc/%d/cmdline" % pid, check=False).stdout.strip()


def sentinel_answers(host):
    """The sentinel, asked from the host itself (its address is on another bridge there)."""
    return "10.41.0.99" in lookup(host, "sentinel.test", SENTINEL_ADDR)


def lookup(ns, name, server=ADDR):
    proc = ns.run(["timeout", "6", "busybox", "nslookup", "-timeout=2", "-retry=1", name, server], check=False,
                  timeout=10)
    return proc.stdout + proc.stderr


def dhcp(ns, mac):
    """One bounded DHCP exchange from ``ns`` with ``mac`` (busybox udhcpc: 2 tries of 1 s, quit without
    a lease, nothing configured: its script is /bin/true)."""
    ns.run(["ip", "link", "set", "eth0", "address", mac])
    proc = ns.run(["timeout", "10", "busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "2", "-T", "1",
                   "-A", "1", "-s", "/bin/true"], check=False, timeout=15)
    return proc.stdout + proc.stderr


def exists(host, path):
    return host.run(["test", "-e", path], check=False).returncode == 0


@pytest.fixture
def host(lab):
    h = lab.host("host1")
    h.run("; ".join("ip link del {br} 2>/dev/null; ip link add {br} address {mac} type bridge;"
                    " ip addr add {addr}/24 dev {br}; ip link set {br} up".format(br=br, addr=addr, mac=fixed_mac(addr))
                    for br, addr in ((BR, ADDR), (SENTINEL_LINK, SENTINEL_ADDR))), check=False)
    h.run("printf '%%s\\n' no-resolv no-hosts bind-interfaces listen-address=%s except-interface=lo"
          " pid-file=%s address=/sentinel.test/10.41.0.99 > %s; /usr/sbin/dnsmasq --conf-file=%s"
          % (SENTINEL_ADDR, SENTINEL_PID, SENTINEL_CONF, SENTINEL_CONF))
    yield h
    h.module("dnsmasq", {"name": BR, "state": "absent"})
    sentinel = pid_of(h, SENTINEL_PID)
    if sentinel and "nwt-sentinel" in cmdline(h, sentinel):
        h.run(["kill", str(sentinel)], check=False)
    h.run("rm -f %s %s; ip link del %s 2>/dev/null; ip link del %s 2>/dev/null; true"
          % (SENTINEL_CONF, SENTINEL_PID, BR, SENTINEL_LINK), check=False)


@pytest.fixture
def client(host, netns):
    ns = netns(host, "nwt-dnscl")
    host.run("ip link add %s type veth peer name eth0 netns nwt-dnscl && ip link set %s master %s up"
             % (CLIENT, CLIENT, BR))
    ns.run("ip addr add 10.41.0.10/24 dev eth0 && ip link set eth0 up")
    yield ns
    host.run(["ip", "link", "del", CLIENT], check=False)


def test_dnsmasq_lifecycle(host, client):
    sentinel = pid_of(host, SENTINEL_PID)
    assert alive(host, sentinel)
    assert sentinel_answers(host)

    res = host.module("dnsmasq", PARAMS, check=True, diff=True)
    assert res["changed"] and not res.get("failed"), res
    assert res["diff"]["before"] == {} and res["diff"]["after"]["running"] is True
    assert not exists(host, CONF) and not exists(host, PIDFILE), "check mode wrote files"

    res = host.module("dnsmasq", PARAMS)
    assert res["changed"] and not res.get("failed"), res
    pid = pid_of(host, PIDFILE)
    assert alive(host, pid) and cmdline(host, pid) == "/usr/sbin/dnsmasq --conf-file=%s" % CONF
    assert res["dnsmasq"]["pid"] == pid
    # unprivileged after binding; DNS on the bridge address only, DHCP on the bridge only
    assert host.run(["ps", "-o", "user=", "-p", str(pid)]).stdout.strip() == "dnsmasq"
    sockets = host.run("ss -Hlnup; ss -Hlntp", check=True).stdout
    ours = [l.split()[3] for l in sockets.splitlines() if "pid=%d," % pid in l]
    # UDP and TCP on the bridge's address, DHCP bound to the bridge; interface= also binds the bridge's IPv6
    # link-local address (scoped to the bridge: only its own segment reaches it)
    assert sorted(a for a in ours if not a.startswith("[fe80:")) == sorted(
        ["%s:53" % ADDR, "%s:53" % ADDR, "0.0.0.0%%%s:67" % BR]), sockets
    assert all(a.endswith("%%%s:53" % BR) for a in ours if a.startswith("[fe80:")), sockets
    assert host.run("head -1 %s" % CONF).stdout.strip() == "# managed by netwire.fabric"

    out = lookup(client, "web1.dmz.netwire.internal")
    assert "Address: 10.41.0.10" in out, out
    out = lookup(client, "nope.dmz.netwire.internal")
    assert "NXDOMAIN" in out, out
    out = lookup(client, "example.org")  # dnsmasq 2.90 with no server: REFUSED, nothing leaves the host
    assert "REFUSED" in out, out

    # DHCP: the reserved MAC gets its address (infinite lease, our router); an unknown MAC gets nothing
    out = dhcp(client, "02:41:00:00:00:20")
    assert "lease of 10.41.0.20 obtained from 10.41.0.1" in out and "lease time 4294967295" in out, out
    out = dhcp(client, "02:41:00:00:00:99")
    assert "obtained" not in out, out

    res = host.module("dnsmasq", PARAMS)
    assert not res["changed"], res["actions"]

    # a record change: reload (SIGHUP), same process, the old address gone
    records = dict(PARAMS, records=[{"name": "web1.dmz.netwire.internal", "address": "10.41.0.11"},
                                    {"name": "web2.dmz.netwire.internal", "address": "10.41.0.12"}])
    res = host.module("dnsmasq", records, check=True, diff=True)
    assert res["changed"] and any(a.startswith("reload") for a in res["actions"]), res["actions"]
    assert "10.41.0.11" in res["diff"]["after"]["files"][RECORDS]
    assert "10.41.0.10" in res["diff"]["before"]["files"][RECORDS]
    res = host.module("dnsmasq", records)
    assert res["changed"] and not any(a.startswith(("restart", "start")) for a in res["actions"]), res["actions"]
    assert pid_of(host, PIDFILE) == pid
    out = lookup(client, "web1.dmz.netwire.internal")
    assert "Address: 10.41.0.11" in out and "10.41.0.10" not in out.split("Name:", 1)[-1], out
    assert "Address: 10.41.0.12" in lookup(client, "web2.dmz.netwire.internal")
    assert not host.module("dnsmasq", records)["changed"]

    # a configuration change: restart
    domain = dict(records, domain="lab.internal", records=[{"name": "web1.dmz.lab.internal", "address": "10.41.0.11"}])
    res = host.module("dnsmasq", domain, diff=True)
    assert res["changed"] and any(a.startswith("restart") for a in res["actions"]), res["actions"]
    assert "domain=lab.internal" in res["diff"]["after"]["files"][CONF]
    new_pid = pid_of(host, PIDFILE)
    assert new_pid != pid and alive(host, new_pid) and not alive(host, pid)
    assert "Address: 10.41.0.11" in lookup(client, "web1.dmz.lab.internal")
    assert "NXDOMAIN" in lookup(client, "web2.dmz.lab.internal")
    assert not host.module("dnsmasq", domain)["changed"]

    res = host.module("dnsmasq", {"name": BR, "state": "absent"}, check=True)
    assert res["changed"] and alive(host, new_pid) and exists(host, CONF)
    res = host.module("dnsmasq", {"name": BR, "state": "absent"})
    assert res["changed"], res
    assert not alive(host, new_pid)
    leftovers = host.run("ls -A /etc/netwire/dnsmasq /run/netwire /var/lib/netwire", check=False).stdout
    assert BR not in leftovers, leftovers
    assert not host.module("dnsmasq", {"name": BR, "state": "absent"})["changed"]

    assert alive(host, sentinel) and pid_of(host, SENTINEL_PID) == sentinel
    assert sentinel_answers(host)


def test_a_pid_in_our_pidfile_that_is_not_ours_is_never_signalled(host):
    stranger = int(host.run("setsid sleep 60 </dev/null >/dev/null 2>&1 & echo $!").stdout.strip())
    try:
        host.run("mkdir -p /run/netwire && echo %d > %s" % (stranger, PIDFILE))
        res = host.module("dnsmasq", {"name": BR, "state": "absent"})
        assert not res["changed"], res["actions"]
        assert alive(host, stranger) and pid_of(host, PIDFILE) == stranger

        res = host.module("dnsmasq", PARAMS)
        assert res["changed"] and not res.get("failed"), res
        ours = pid_of(host, PIDFILE)
        assert ours != stranger and alive(host, ours) and alive(host, stranger)

        host.run("echo %d > %s" % (stranger, PIDFILE))  # someone overwrote our pidfile
        res = host.module("dnsmasq", {"name": BR, "state": "absent"})
        assert res["changed"] and alive(host, stranger)
        assert not exists(host, CONF) and pid_of(host, PIDFILE) == stranger
    finally:
        host.run(["kill", str(stranger)], check=False)
        # our dnsmasq lost its pidfile above: find it by its exact command line and stop it
        host.run("for p in $(pgrep -x dnsmasq); do [ \"$(tr '\\0' ' ' < /proc/$p/cmdline)\" = %s ] && kill $p;"
                 " done; rm -f %s; true" % (shlex.quote("/usr/sbin/dnsmasq --conf-file=%s " % CONF), PIDFILE),
                 check=False)


def test_host_network_purges_only_ours(host, client):
    sentinel = pid_of(host, SENTINEL_PID)
    plan = {"linux_bridges": [], "dns": [PARAMS]}
    res = host.module("host_network", {"plan": plan, "sections": ["fabric"], "purge": False})
    assert res["changed"] and not res.get("failed"), res
    assert "Address: 10.41.0.10" in lookup(client, "web1.dmz.netwire.internal")
    pid = pid_of(host, PIDFILE)
    res = host.module("host_network", {"plan": plan, "sections": ["fabric"], "purge": False})
    assert not res["changed"], res["actions"]

    # purge: a plan that keeps the bridge but no longer has its dns entry
    res = host.module("host_network", {"plan": {"dns": [], "names": [BR]}, "sections": ["fabric"]})
    assert res["changed"] and any(a.startswith("dns %s: stop" % BR) for a in res["actions"]), res["actions"]
    assert not alive(host, pid) and not exists(host, CONF)
    assert alive(host, sentinel) and sentinel_answers(host)

    res = host.module("host_network", {"plan": plan, "sections": ["fabric"], "purge": False})
    assert res["changed"]
    res = host.module("host_network", {"plan": {}, "sections": ["fabric"], "state": "absent"})
    assert res["changed"] and not exists(host, CONF)
    assert alive(host, sentinel)


def test_bad_input_fails_with_nothing_written(host):
    res = host.module("dnsmasq", dict(PARAMS, domain="bad_domain!"))
    assert_failed(res, "Failed to manage dnsmasq 'nwt-dns0'", "not a valid DNS name")
    res = host.module("dnsmasq", dict(PARAMS, address="10.99.0.1"))
    assert_failed(res, "not in the subnet")
    res = host.module("dnsmasq", dict(PARAMS, interface="nwt-nosuch"))
    assert_failed(res, "interface 'nwt-nosuch' does not exist")
    assert not exists(host, CONF)
