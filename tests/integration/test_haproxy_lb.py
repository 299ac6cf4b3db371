"""haproxy_lb on the lab: the entry point on host1, fed by the catalog through dnsmasq, asked from the outside host.

One module-scoped bed: a 3-member catalog (etcd_member on host1-3), a bridge on host1 with our dnsmasq, two
backends (busybox httpd in two namespaces inside host1, answering "b1" and "b2"), registered by host2 (b1)
and host3 (b2) with service_registration, and a sentinel HAProxy that is not ours. Every request is one
bounded HTTP/1.0 request (busybox nc) from the outside host to host1's underlay address (2 s each, a fixed count).
"""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.integration.linux_helpers import assert_failed, fixed_mac
from tests.integration.test_etcd_member import HOSTS, alive, client_url, cmdline, pid_of, pidfile

pytestmark = pytest.mark.lab

BR = "nwt-lb0"
GW = "10.77.0.1"
BACKENDS = {"b1": "10.77.0.11", "b2": "10.77.0.12"}
PORT = 8080
TTL = 5
LB_PID = "/run/netwire/haproxy-lb.pid"
SVC_FILE = "/etc/netwire/dnsmasq/%s.hosts.d/svc-web" % BR
SENTINEL_DIR = "/run/nwt-sentinel-haproxy"


def answer(text):
    """An HTTP/1.0 answer as the test names it: the backend's body ('b1', 'b2'), '503', or 'fail'."""
    head, _sep, body = text.replace("\r", "").partition("\n\n")
    status = head.split("\n")[0].split()
    if len(status) > 1 and status[1] == "200" and body.strip() in BACKENDS:
        return body.strip()
    return "503" if len(status) > 1 and status[1] == "503" else "fail"


class Bed(object):
    def __init__(self, lab):
        self.lab = lab
        self.hosts = [lab.host(h) for h in HOSTS]
        self.h1 = self.hosts[0]
        self.cluster = ["%s=http://%s:2380" % (h.name, h.underlay_ip) for h in self.hosts]
        self.endpoints = [client_url(h) for h in self.hosts]

    def members(self, hosts=None, absent=False):
        hosts = hosts or self.hosts
        with ThreadPoolExecutor(len(hosts)) as pool:
            futures = [pool.submit(h.module, "etcd_member", {"name": h.name, "state": "absent"} if absent else
                                   {"name": h.name, "address": h.underlay_ip, "initial_cluster": self.cluster,
                                    "wait": 60}) for h in hosts]
            return [f.result() for f in futures]

    def register(self, host, backends):
        services = [{"service": "web", "container": b, "address": BACKENDS[b], "port": 80} for b in backends]
        return host.module("service_registration", {"host": host.name, "endpoints": self.endpoints, "ttl": TTL,
                                                    "services": services})

    def params(self, **kw):
        fe = {"port": PORT, "service": "web", "backend_port": 80, "check": "http",
              "fqdn": "web.svc.netwire.internal", "resolver": GW, "bridge": BR}
        fe.update(kw.pop("fe", {}))
        return dict({"endpoints": self.endpoints, "frontends": [fe]}, **kw)

    def lb(self, check=False, diff=False, **kw):
        return self.h1.module("haproxy_lb", self.params(**kw), check, diff)

    def ask(self, count=12, port=PORT):
        """``count`` bounded requests from the outside host: the answers ('b1', 'b2', '503', 'fail')."""
        out = []
        for _attempt in range(count):
            proc = self.lab.outside.run("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | timeout 3 busybox nc -w 2 %s %d"
                                        % (self.h1.underlay_ip, port), check=False, timeout=5)
            out.append(answer(proc.stdout))
        return out

    def until(self, want, seconds=15, count=8, port=PORT):
        """Ask until the set of answers is ``want`` (bounded by ``seconds``); the last answers."""
        deadline = time.time() + seconds
        while True:
            got = self.ask(count, port)
            if set(got) == set(want) or time.time() > deadline:
                return got
            time.sleep(0.5)

    def httpd(self, name, up=True):
        """Start (or stop) backend ``name``'s busybox httpd in its namespace, by its pidfile."""
        pid = "/run/nwt-lb/%s.pid" % name
        if up:
            self.h1.run("ip netns exec nwt%s setsid busybox httpd -f -p 80 -h /run/nwt-lb/%s </dev/null >/dev/null"
                        " 2>&1 & echo $! > %s" % (name, name, pid))
            self.h1.run("for i in $(seq 20); do ip netns exec nwt%s ss -Hltn | grep -q ':80 ' && break; sleep 0.1;"
                        " done" % name, check=False)
        else:
            self.h1.run("[ -s {p} ] && kill $(cat {p}); rm -f {p}; true".format(p=pid), check=False)


@pytest.fixture(scope="module")
def bed(lab):
    b = Bed(lab)
    h1 = b.h1
    h1.run("ip link del {br} 2>/dev/null; ip link add {br} address {mac} type bridge; ip addr add {gw}/24 dev {br};"
           " ip link set {br} up".format(br=BR, gw=GW, mac=fixed_mac(GW)), check=False)
    for i, (name, addr) in enumerate(sorted(BACKENDS.items())):
        ns = "nwt" + name
        b.httpd(name, up=False)
        h1.run("ip netns del {ns} 2>/dev/null; ip link del nwtv{i} 2>/dev/null; ip netns add {ns}; ip link add nwtv{i} type veth peer name eth0"
               " netns {ns}; ip link set nwtv{i} master {br} up; ip netns exec {ns} ip addr add {a}/24 dev eth0;"
               " ip netns exec {ns} ip link set eth0 up; ip netns exec {ns} ip link set lo up;"
               " mkdir -p /run/nwt-lb/{n}; echo {n} > /run/nwt-lb/{n}/index.html"
               .format(ns=ns, i=i, br=BR, a=addr, n=name))
        b.httpd(name)
    r = h1.module("dnsmasq", {"name": BR, "network": "lb", "interface": BR, "address": GW, "subnet": "10.77.0.0/24"})
    assert not r.get("failed"), r
    for r in b.members():
        assert not r.get("failed"), r
    # a sentinel HAProxy that is not ours, on its own port of host1's loopback
    h1.run("mkdir -p {d}; printf 'global\\n  pidfile {d}/pid\\ndefaults\\n  mode http\\n  timeout client 2s\\n"
           "  timeout server 2s\\n  timeout connect 2s\\nfrontend f\\n  bind 127.0.0.1:9999\\n"
           "  http-request return status 200 content-type text/plain string sentinel\\n' > {d}/cfg;"
           " haproxy -D -f {d}/cfg".format(d=SENTINEL_DIR))
    b.sentinel = pid_of(h1, SENTINEL_DIR + "/pid")
    yield b
    h1.module("haproxy_lb", {"state": "absent"})
    for h in b.hosts:
        h.module("service_registration", {"host": h.name, "state": "absent"})
    b.members(absent=True)
    h1.module("dnsmasq", {"name": BR, "state": "absent"})
    if b.sentinel and "haproxy" in cmdline(h1, b.sentinel):
        h1.run(["kill", str(b.sentinel)], check=False)
    for i, name in enumerate(sorted(BACKENDS)):
        b.httpd(name, up=False)
        h1.run("ip netns del nwt%s; ip link del nwtv%d" % (name, i), check=False)
    h1.run("ip link del %s; rm -rf /run/nwt-lb %s" % (BR, SENTINEL_DIR), check=False)


def sentinel_ok(b):
    out = b.h1.run("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | timeout 3 busybox nc -w 2 127.0.0.1 9999", check=False).stdout
    out = out.replace("\r", "").partition("\n\n")[2]
    return alive(b.h1, b.sentinel) and out.strip() == "sentinel"


def test_check_mode_then_both_backends_answer_and_a_rerun_changes_nothing(bed):
    r = bed.lb(check=True, diff=True)
    assert r.get("changed") and not r.get("failed"), r
    assert "start haproxy lb" in r["actions"] and "start lbwatch lb" in r["actions"], r["actions"]
    assert pid_of(bed.h1, LB_PID) is None
    for h, backends in ((bed.hosts[1], ["b1"]), (bed.hosts[2], ["b2"])):
        assert bed.register(h, backends).get("changed")
    r = bed.lb()
    assert r.get("changed") and not r.get("failed"), r
    pid = r["haproxy_lb"]["pid"]
    assert cmdline(bed.h1, pid) == "/usr/sbin/haproxy -W -f /etc/netwire/haproxy/lb.cfg"
    got = bed.until(["b1", "b2"])
    assert set(got) == {"b1", "b2"}, got
    text = bed.h1.run(["cat", SVC_FILE]).stdout
    assert text.startswith("# managed by netwire.fabric\n") and "10.77.0.11 web.svc.netwire.internal" in text
    r = bed.lb()
    assert not r["changed"], r["actions"]
    assert pid_of(bed.h1, LB_PID) == pid
    assert sentinel_ok(bed)


def test_a_stopped_backend_leaves_within_the_check_interval(bed):
    bed.httpd("b2", up=False)
    try:
        got = bed.until(["b1"], seconds=10)
        assert set(got) == {"b1"}, got
    finally:
        bed.httpd("b2")
    assert set(bed.until(["b1", "b2"])) == {"b1", "b2"}


def test_membership_changes_need_no_reload_and_an_empty_service_answers_503(bed):
    pid = pid_of(bed.h1, LB_PID)
    r = bed.register(bed.hosts[1], [])          # b1's container leaves the model of host2
    assert r["actions"] == ["delete /netwire/services/web/host2/b1"], r["actions"]
    assert set(bed.until(["b2"])) == {"b2"}
    assert pid_of(bed.h1, LB_PID) == pid
    # host3's keep-alive dies: its lease expires and b2 leaves the LB: nothing left, 503
    ka = pid_of(bed.hosts[2], "/run/netwire/keepalive-host3.pid")
    bed.hosts[2].run(["kill", "-9", str(ka)])
    got = bed.until(["503"], seconds=TTL + 15)
    assert set(got) == {"503"}, got
    assert pid_of(bed.h1, LB_PID) == pid and not bed.lb()["changed"]
    for h, backends in ((bed.hosts[1], ["b1"]), (bed.hosts[2], ["b2"])):
        assert not bed.register(h, backends).get("failed")
    assert set(bed.until(["b1", "b2"])) == {"b1", "b2"}
    assert pid_of(bed.h1, LB_PID) == pid


def test_without_quorum_registration_fails_and_the_lb_keeps_serving(bed):
    h1, h2, h3 = bed.hosts
    pids = dict((h.name, pid_of(h, pidfile(h.name))) for h in (h2, h3))
    for h in (h2, h3):
        h.run("kill %d; for i in $(seq 100); do [ -e /proc/%d ] || break; sleep 0.1; done"
              % (pids[h.name], pids[h.name]))
    try:
        r = bed.register(h2, ["b1"])
        assert_failed(r, "the catalog has no quorum")
        time.sleep(3)
        got = bed.ask(8)
        assert set(got) == {"b1", "b2"}, got
    finally:
        for r in bed.members(hosts=[h2, h3]):
            assert not r.get("failed"), r


def test_a_frontend_change_is_checked_and_reloaded_with_the_same_pid(bed):
    pid = pid_of(bed.h1, LB_PID)
    r = bed.lb(fe={"port": PORT + 1})
    assert r["changed"] and any(a.startswith("reload haproxy lb (pid %d" % pid) for a in r["actions"]), r
    got = bed.until(["b1", "b2"], port=PORT + 1)   # the new workers resolve and check their servers first
    assert set(got) == {"b1", "b2"}, got
    assert pid_of(bed.h1, LB_PID) == pid and alive(bed.h1, pid)
    assert not bed.lb(fe={"port": PORT + 1})["changed"]   # still ours after the re-exec (-sf ...)
    r = bed.lb()
    assert r["changed"] and pid_of(bed.h1, LB_PID) == pid


def test_absent_stops_ours_removes_its_files_and_leaves_the_sentinel(bed):
    pid = pid_of(bed.h1, LB_PID)
    r = bed.h1.module("haproxy_lb", {"state": "absent"}, check=True)
    assert r["changed"] and alive(bed.h1, pid)
    r = bed.h1.module("haproxy_lb", {"state": "absent"})
    assert r["changed"] and "remove %s" % SVC_FILE in r["actions"], r["actions"]
    assert not alive(bed.h1, pid)
    left = bed.h1.run("ls -A /etc/netwire /run/netwire /etc/netwire/dnsmasq/%s.hosts.d" % BR, check=False).stdout
    assert "haproxy" not in left and "lbwatch" not in left and "svc-web" not in left, left
    assert not bed.h1.module("haproxy_lb", {"state": "absent"})["changed"]
    assert sentinel_ok(bed)
