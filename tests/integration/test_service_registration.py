"""service_registration on the lab: host2 and host3 register their containers' services in a 3-member catalog.

One module-scoped catalog (etcd_member on host1-3's underlay addresses) goes through the registrator's
lifecycle: check mode, keys under one lease per host, an unchanged rerun (same keep-alive pid), a removed
container's key deleted, ownership (a host never touches another host's keys, nor a key of its path that its
lease does not hold), a killed keep-alive whose keys vanish by TTL, a catalog without quorum (a clear error,
nothing written), and absent. etcdctl only talks to lab addresses inside the lab hosts, each call bounded.
"""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.integration.linux_helpers import assert_failed
from tests.integration.test_etcd_member import HOSTS, alive, client_url, cmdline, ctl, pid_of, pidfile

pytestmark = pytest.mark.lab

PREFIX = "/netwire/services/"
TTL = 5


def keepalive_pidfile(host):
    return "/run/netwire/keepalive-%s.pid" % host


def record(host):
    return "/etc/netwire/registration/%s.json" % host


def keys(host):
    """{key: (value, lease hex)} under the services prefix, read through ``host``'s member (a quorum read)."""
    import json
    out = ctl(host, client_url(host), "get", "--prefix", PREFIX, "-w", "json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    import base64

    def text(b64):
        return base64.b64decode(b64).decode()
    return dict((text(kv["key"]), (text(kv["value"]), "%x" % kv.get("lease", 0))) for kv in data.get("kvs") or [])


class Catalog(object):
    def __init__(self, lab):
        self.hosts = [lab.host(h) for h in HOSTS]
        self.cluster = ["%s=http://%s:2380" % (h.name, h.underlay_ip) for h in self.hosts]
        self.endpoints = [client_url(h) for h in self.hosts]

    def members(self, hosts=None, absent=False):
        hosts = hosts or self.hosts
        with ThreadPoolExecutor(len(hosts)) as pool:
            futures = [pool.submit(h.module, "etcd_member", {"name": h.name, "state": "absent"} if absent else
                                   {"name": h.name, "address": h.underlay_ip, "initial_cluster": self.cluster,
                                    "wait": 60}) for h in hosts]
            return [f.result() for f in futures]

    def register(self, host, services, check=False, diff=False, **kw):
        params = dict({"host": host.name, "endpoints": self.endpoints, "ttl": TTL, "services": services}, **kw)
        return host.module("service_registration", params, check, diff)


WEB2 = [{"service": "web", "container": "web2", "address": "10.77.0.12", "port": 80},
        {"service": "api", "container": "api2", "address": "10.77.0.22", "port": 9000}]
WEB3 = [{"service": "web", "container": "web3", "address": "10.77.0.13", "port": 80}]


@pytest.fixture(scope="module")
def catalog(lab):
    cat = Catalog(lab)
    for r in cat.members():
        assert not r.get("failed"), r
    yield cat
    for h in cat.hosts:
        h.module("service_registration", {"host": h.name, "state": "absent"})
    cat.members(absent=True)


def test_check_mode_then_keys_under_one_lease_per_host_and_a_rerun_changes_nothing(catalog):
    h1, h2, h3 = catalog.hosts
    r = catalog.register(h2, WEB2, check=True, diff=True)
    assert r.get("changed") and not r.get("failed"), r
    assert "put /netwire/services/web/host2/web2 = 10.77.0.12:80 (lease %s)" % r["registration"]["lease"] \
        in r["actions"], r["actions"]
    assert r["diff"]["before"]["keys"] == {} and r["diff"]["after"]["keys"] == {
        "/netwire/services/web/host2/web2": "10.77.0.12:80", "/netwire/services/api/host2/api2": "10.77.0.22:9000"}
    assert keys(h1) == {} and pid_of(h2, keepalive_pidfile("host2")) is None
    assert h2.run(["test", "-e", record("host2")], check=False).returncode != 0, "check mode wrote the record"

    r2, r3 = catalog.register(h2, WEB2), catalog.register(h3, WEB3)
    for r in (r2, r3):
        assert r.get("changed") and not r.get("failed"), r
    l2, l3 = r2["registration"]["lease"], r3["registration"]["lease"]
    assert l2 != l3
    assert keys(h1) == {"/netwire/services/web/host2/web2": ("10.77.0.12:80", l2),
                        "/netwire/services/api/host2/api2": ("10.77.0.22:9000", l2),
                        "/netwire/services/web/host3/web3": ("10.77.0.13:80", l3)}
    for h, lease in ((h2, l2), (h3, l3)):
        pid = pid_of(h, keepalive_pidfile(h.name))
        assert r2["registration"]["keepalive_pid"] if h is h2 else r3["registration"]["keepalive_pid"]
        assert cmdline(h, pid).endswith("lease keep-alive %s" % lease), cmdline(h, pid)
        text = h.run(["cat", record(h.name)]).stdout
        assert text.startswith("# managed by netwire.fabric\n") and lease in text
    pids = dict((h.name, pid_of(h, keepalive_pidfile(h.name))) for h in (h2, h3))
    time.sleep(TTL + 1)  # longer than the TTL: the keep-alives hold the leases
    for h, services in ((h2, WEB2), (h3, WEB3)):
        r = catalog.register(h, services)
        assert not r["changed"] and not r.get("failed"), r["actions"]
        assert r["registration"]["keepalive_pid"] == pids[h.name]
    assert len(keys(h1)) == 3


def test_a_removed_container_loses_its_key_and_other_hosts_keys_are_never_touched(catalog):
    h1, h2, h3 = catalog.hosts
    before = keys(h1)
    # a key under host2's path that host2's lease does not hold (written by hand): reported, left alone
    assert ctl(h1, client_url(h1), "put", PREFIX + "web/host2/byhand", "10.77.0.99:80").returncode == 0
    r = catalog.register(h2, WEB2[:1])   # api2 leaves the model
    assert r["changed"] and r["actions"] == ["delete /netwire/services/api/host2/api2"], r["actions"]
    assert any("byhand" in str(w) and "left alone" in str(w) for w in r.get("warnings") or []), r
    after = keys(h1)
    assert "/netwire/services/api/host2/api2" not in after
    assert after[PREFIX + "web/host2/byhand"] == ("10.77.0.99:80", "0")
    assert after[PREFIX + "web/host3/web3"] == before[PREFIX + "web/host3/web3"]
    # host3 registering nothing removes only its own keys
    r = catalog.register(h3, [])
    assert r["actions"] == ["delete /netwire/services/web/host3/web3"], r["actions"]
    assert set(keys(h1)) == {PREFIX + "web/host2/web2", PREFIX + "web/host2/byhand"}
    assert ctl(h1, client_url(h1), "del", PREFIX + "web/host2/byhand").returncode == 0
    r = catalog.register(h3, WEB3)
    assert r["changed"] and set(keys(h1)) == {PREFIX + "web/host2/web2", PREFIX + "web/host3/web3"}


def test_a_dead_keepalive_lets_the_hosts_keys_vanish_by_ttl_and_a_rerun_registers_again(catalog):
    h1, h2, h3 = catalog.hosts
    pid = pid_of(h3, keepalive_pidfile("host3"))
    assert "keep-alive" in cmdline(h3, pid)
    h3.run(["kill", "-9", str(pid)])
    deadline = time.time() + TTL + 10
    while time.time() < deadline and PREFIX + "web/host3/web3" in keys(h1):
        time.sleep(0.5)
    left = keys(h1)
    assert set(left) == {PREFIX + "web/host2/web2"}, left   # host2's lease lives on
    r = catalog.register(h3, WEB3)
    assert r["changed"] and "grant lease %s (ttl %d s)" % (r["registration"]["lease"], TTL) in r["actions"], r
    assert any(a.startswith("start keepalive host3") for a in r["actions"]), r["actions"]
    assert PREFIX + "web/host3/web3" in keys(h1)


def test_without_quorum_registration_fails_clearly_and_writes_nothing(catalog):
    h1, h2, h3 = catalog.hosts
    pids = dict((h.name, pid_of(h, pidfile(h.name))) for h in (h2, h3))
    for h in (h2, h3):
        h.run("kill %d; for i in $(seq 100); do [ -e /proc/%d ] || break; sleep 0.1; done"
              % (pids[h.name], pids[h.name]))
        assert not alive(h, pids[h.name])
    r = catalog.register(h1, [{"service": "web", "container": "web1", "address": "10.77.0.11", "port": 80}])
    assert_failed(r, "Failed to register service_registration 'host1': the catalog has no quorum",
                  "Nothing was written")
    assert h1.run(["test", "-e", record("host1")], check=False).returncode != 0
    for r in catalog.members(hosts=[h2, h3]):
        assert not r.get("failed"), r
    assert PREFIX + "web/host1/web1" not in keys(h1)


def test_absent_revokes_the_lease_and_removes_our_files(catalog):
    h1, h2, h3 = catalog.hosts
    r = catalog.register(h2, WEB2)
    pid = pid_of(h2, keepalive_pidfile("host2"))
    r = h2.module("service_registration", {"host": "host2", "state": "absent"}, check=True)
    assert r["changed"] and alive(h2, pid) and PREFIX + "web/host2/web2" in keys(h1)
    r = h2.module("service_registration", {"host": "host2", "state": "absent"})
    assert r["changed"] and any(a.startswith("revoke lease") for a in r["actions"]), r["actions"]
    assert not alive(h2, pid)
    assert set(keys(h1)) == {PREFIX + "web/host3/web3"}
    assert "registration" not in h2.run("ls -A /etc/netwire /run/netwire", check=False).stdout
    r = h2.module("service_registration", {"host": "host2", "state": "absent"})
    assert not r["changed"], r["actions"]
