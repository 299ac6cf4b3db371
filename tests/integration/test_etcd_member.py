"""etcd_member on the lab: three members on host1-3's underlay addresses form the catalog's cluster.

One module-scoped cluster (it takes a few seconds to form) goes through the whole lifecycle: check mode,
bootstrap, a key written through host1 and read from host3, an unchanged rerun, quorum lost and regained
without a re-bootstrap, and absent. A sentinel etcd that is not ours (its own data directory in host1's
private /run, its own ports on host1's loopback) survives all of it. etcdctl talks only to lab addresses,
inside the lab hosts, each call bounded (--dial-timeout/--command-timeout 2 s).
"""

import json
import shlex
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.integration.linux_helpers import assert_failed

pytestmark = pytest.mark.lab

HOSTS = ("host1", "host2", "host3")
SENTINEL_DIR = "/run/nwt-sentinel-etcd"
SENTINEL_URL = "http://127.0.0.1:2479"
SENTINEL_ARGV = ["etcd", "--name", "sentinel", "--data-dir", SENTINEL_DIR + "/data",
                 "--listen-client-urls", SENTINEL_URL, "--advertise-client-urls", SENTINEL_URL,
                 "--listen-peer-urls", "http://127.0.0.1:2480", "--initial-advertise-peer-urls",
                 "http://127.0.0.1:2480", "--initial-cluster", "sentinel=http://127.0.0.1:2480"]


def conf(name):
    return "/etc/netwire/etcd/%s.yml" % name


def pidfile(name):
    return "/run/netwire/etcd-%s.pid" % name


def data_dir(name):
    return "/var/lib/netwire/etcd/%s" % name


def pid_of(host, path):
    out = host.run("cat %s 2>/dev/null" % path, check=False).stdout.strip()
    return int(out) if out.isdigit() else None


def cmdline(host, pid):
    return host.run("tr '\\0' ' ' < /proc/%d/cmdline 2>/dev/null" % pid, check=False).stdout.strip()


def alive(host, pid):
    return pid is not None and bool(cmdline(host, pid))


def exists(host, path):
    return host.run(["test", "-e", path], check=False).returncode == 0


def ctl(host, url, *args):
    """etcdctl inside ``host`` against ``url`` (a lab address), bounded."""
    return host.run(["timeout", "10", "etcdctl", "--endpoints=%s" % url, "--dial-timeout=2s",
                     "--command-timeout=2s"] + list(args), check=False, timeout=15)


def client_url(host):
    return "http://%s:2379" % host.underlay_ip


class Catalog(object):
    def __init__(self, lab):
        self.hosts = [lab.host(h) for h in HOSTS]
        self.cluster = ["%s=http://%s:2380" % (h.name, h.underlay_ip) for h in self.hosts]

    def params(self, host, **kw):
        return dict({"name": host.name, "address": host.underlay_ip, "initial_cluster": self.cluster,
                     "wait": 60}, **kw)

    def all(self, hosts=None, check=False, diff=False, absent=False, **kw):
        """The module on every host at once (as a play runs them): {name: result}."""
        hosts = hosts or self.hosts
        with ThreadPoolExecutor(len(hosts)) as pool:
            futures = dict((h.name, pool.submit(h.module, "etcd_member", {"name": h.name, "state": "absent"}
                                                if absent else self.params(h, **kw), check, diff))
                           for h in hosts)
            return dict((name, f.result()) for name, f in futures.items())

    def pids(self):
        return dict((h.name, pid_of(h, pidfile(h.name))) for h in self.hosts)


@pytest.fixture(scope="module")
def catalog(lab):
    cat = Catalog(lab)
    h1 = cat.hosts[0]
    h1.run("mkdir -p %s && (setsid %s </dev/null >%s/log 2>&1 & echo $! > %s/pid)"
           % (SENTINEL_DIR, " ".join(shlex.quote(a) for a in SENTINEL_ARGV), SENTINEL_DIR, SENTINEL_DIR))
    sentinel = pid_of(h1, SENTINEL_DIR + "/pid")
    put = None
    for _attempt in range(40):  # bounded: 40 x (at most 2 s + 0.25 s)
        put = ctl(h1, SENTINEL_URL, "put", "nwt/sentinel", "theirs")
        if put.returncode == 0:
            break
        h1.run("sleep 0.25")
    assert put.returncode == 0, put.stderr
    cat.sentinel = sentinel
    yield cat
    cat.all(absent=True)
    if sentinel and "sentinel" in cmdline(h1, sentinel):
        h1.run(["kill", str(sentinel)], check=False)
        h1.run("for i in $(seq 50); do [ -e /proc/%d ] || break; sleep 0.1; done" % sentinel, check=False)
    h1.run(["rm", "-rf", SENTINEL_DIR], check=False)


def sentinel_ok(cat):
    h1 = cat.hosts[0]
    out = ctl(h1, SENTINEL_URL, "get", "nwt/sentinel", "--print-value-only").stdout.strip()
    return alive(h1, cat.sentinel) and "sentinel" in cmdline(h1, cat.sentinel) and out == "theirs"


def test_the_cluster_forms_and_serves_a_key_from_every_member(catalog):
    res = catalog.all(check=True, diff=True)
    for name, r in res.items():
        assert r["changed"] and not r.get("failed"), r
        text = r["diff"]["after"]["files"][conf(name)]
        assert text.startswith("# managed by netwire.fabric\n") and 'initial-cluster-state: "new"' in text, text
        assert r["diff"]["before"] == {}
    for h in catalog.hosts:
        assert not exists(h, conf(h.name)) and not exists(h, data_dir(h.name)), "check mode wrote files"

    res = catalog.all()
    ids = set()
    for name, r in res.items():
        assert r["changed"] and not r.get("failed"), r
        m = r["etcd_member"]
        assert m["bootstrap"] == "new" and m["health"]["healthy"], m
        assert [x["name"] for x in m["health"]["members"]] == list(HOSTS)
        ids.add(m["health"]["cluster_id"])
    assert len(ids) == 1
    for h in catalog.hosts:
        pid = pid_of(h, pidfile(h.name))
        assert cmdline(h, pid) == "/usr/bin/etcd --config-file=%s" % conf(h.name)
        assert 'initial-cluster-state: "existing"' in h.run(["cat", conf(h.name)]).stdout
        # the daemons' directories are private per lab host: only its own member is there
        assert h.run("ls /etc/netwire/etcd; ls /var/lib/netwire/etcd").stdout.split() == ["%s.yml" % h.name, h.name]
        listening = h.run("ss -Hltn").stdout
        assert "%s:2379" % h.underlay_ip in listening and "%s:2380" % h.underlay_ip in listening

    h1, h3 = catalog.hosts[0], catalog.hosts[2]
    assert ctl(h1, client_url(h1), "put", "nwt/catalog", "hello").returncode == 0
    got = ctl(h3, client_url(h3), "get", "nwt/catalog", "--print-value-only", "--consistency=s")
    assert got.stdout.strip() == "hello", got.stdout + got.stderr
    assert sentinel_ok(catalog)


def test_a_rerun_changes_nothing_and_check_mode_shows_a_change_without_making_it(catalog):
    pids = catalog.pids()
    status = dict((h.name, json.loads(ctl(h, client_url(h), "endpoint", "status", "-w", "json").stdout))
                  for h in catalog.hosts)
    res = catalog.all()
    for name, r in res.items():
        assert not r["changed"] and not r.get("failed"), r["actions"]
        assert r["etcd_member"]["bootstrap"] == "existing" and r["etcd_member"]["pid"] == pids[name]
    assert catalog.pids() == pids
    after = dict((h.name, json.loads(ctl(h, client_url(h), "endpoint", "status", "-w", "json").stdout))
                 for h in catalog.hosts)
    for name in pids:  # same members, no new write (revision), no new raft term
        assert after[name][0]["Status"]["header"] == status[name][0]["Status"]["header"], (status, after)

    h1 = catalog.hosts[0]
    before_text = h1.run(["cat", conf("host1")]).stdout
    r = h1.module("etcd_member", catalog.params(h1, client_port=2381), check=True, diff=True)
    assert r["changed"] and any(a.startswith("restart etcd host1") for a in r["actions"]), r["actions"]
    assert 'listen-client-urls: "http://%s:2381"' % h1.underlay_ip in r["diff"]["after"]["files"][conf("host1")]
    assert r["diff"]["before"]["files"][conf("host1")] == before_text
    assert h1.run(["cat", conf("host1")]).stdout == before_text and catalog.pids() == pids


def test_losing_quorum_is_a_clear_error_and_the_members_come_back_with_their_data(catalog):
    pids = catalog.pids()
    ids = dict((h.name, json.loads(ctl(h, client_url(h), "endpoint", "status", "-w", "json").stdout)
                [0]["Status"]["header"]["member_id"]) for h in catalog.hosts)
    h1, h2, h3 = catalog.hosts
    for h in (h2, h3):  # two of three members die
        assert "etcd" in cmdline(h, pids[h.name])
        h.run("kill %d; for i in $(seq 100); do [ -e /proc/%d ] || break; sleep 0.1; done"
              % (pids[h.name], pids[h.name]))
        assert not alive(h, pids[h.name])

    r = h1.module("etcd_member", catalog.params(h1, wait=1))
    assert_failed(r, "Failed to check etcd_member 'host1': the cluster has no quorum",
                  "2 of its 3 members must run", "Nothing was re-initialized")
    assert pid_of(h1, pidfile("host1")) == pids["host1"] and alive(h1, pids["host1"])
    assert exists(h1, data_dir("host1") + "/member")

    for r in catalog.all(hosts=[h2, h3]).values():
        assert r["changed"] and not r.get("failed"), r
        assert r["etcd_member"]["bootstrap"] == "existing" and r["etcd_member"]["health"]["healthy"]
        assert [a for a in r["actions"] if not a.startswith(("start", "record"))] == [], r["actions"]
    after = dict((h.name, json.loads(ctl(h, client_url(h), "endpoint", "status", "-w", "json").stdout)
                  [0]["Status"]["header"]["member_id"]) for h in catalog.hosts)
    assert after == ids  # the same members: nothing was bootstrapped again
    got = ctl(h2, client_url(h2), "get", "nwt/catalog", "--print-value-only")
    assert got.stdout.strip() == "hello", got.stdout + got.stderr
    r = h1.module("etcd_member", catalog.params(h1))
    assert not r["changed"] and r["etcd_member"]["health"]["healthy"], r
    assert sentinel_ok(catalog)


def test_absent_removes_ours_and_leaves_the_sentinel(catalog):
    pids = catalog.pids()
    h1 = catalog.hosts[0]
    r = h1.module("etcd_member", {"name": "host1", "state": "absent"}, check=True)
    assert r["changed"] and alive(h1, pids["host1"]) and exists(h1, data_dir("host1"))
    res = catalog.all(absent=True)
    for h in catalog.hosts:
        r = res[h.name]
        assert r["changed"] and not r.get("failed"), r
        assert "remove %s and everything in it" % data_dir(h.name) in r["actions"]
        assert not alive(h, pids[h.name])
        left = h.run("ls -A /etc/netwire /var/lib/netwire /run/netwire", check=False).stdout
        assert "etcd" not in left, left
    assert not any(r["changed"] for r in catalog.all(absent=True).values())
    assert sentinel_ok(catalog)
