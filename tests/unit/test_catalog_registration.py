"""The registrator's pure part (issue 17): parameters, wanted keys, ownership of the plan, the gateway client."""

import json

import pytest

from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.module_utils._catalog import etcdv3
from ansible_collections.netwire.fabric.plugins.module_utils._catalog import registration as reg
from ansible_collections.netwire.fabric.plugins.module_utils._errors import InvalidParameter

EPS = ["http://198.19.0.11:2379", "http://198.19.0.12:2379"]


def params(**kw):
    base = {"host": "host2", "endpoints": EPS, "services": [
        {"service": "web", "container": "web2", "address": "10.1.0.40", "port": 80},
        {"service": "api", "container": "api2", "address": "10.2.0.50", "port": 9000}]}
    base.update(kw)
    return reg.normalize(base)


def kv(key, value, lease):
    return {"key": key, "value": value, "lease": lease}


def test_normalize_and_the_wanted_keys():
    p = params()
    assert p["lease"] == _names.lease_id("/netwire", "host2") > 0
    assert p["lease"] != _names.lease_id("/netwire", "host3") and p["lease"] < 2 ** 63
    assert reg.wanted(p) == {"/netwire/services/web/host2/web2": "10.1.0.40:80",
                             "/netwire/services/api/host2/api2": "10.2.0.50:9000"}
    assert reg.normalize({"host": "host2", "state": "absent"})["lease"] == p["lease"]


@pytest.mark.parametrize("bad, fragment", [
    ({"endpoints": []}, "endpoints is required"),
    ({"endpoints": ["198.19.0.11:2379"]}, "is not http://address:port"),
    ({"endpoints": EPS + EPS[:1]}, "twice"),
    ({"prefix": "netwire"}, "is not a key path"),
    ({"ttl": 2}, "ttl"),
    ({"services": [{"service": "we/b", "container": "c", "address": "10.0.0.1", "port": 1}]}, "service"),
    ({"services": [{"service": "web", "container": "a/b", "address": "10.0.0.1", "port": 1}]}, "container"),
    ({"services": [{"service": "web", "container": "c", "address": "10.0.0.1", "port": 1}] * 2}, "twice"),
])
def test_bad_parameters_are_refused(bad, fragment):
    with pytest.raises(InvalidParameter) as err:
        params(**bad)
    assert fragment in err.value.msg


def test_plan_puts_what_is_missing_or_different_and_deletes_only_its_own_leases_keys():
    p = params()
    mine, other = p["lease"], 77
    kvs = [
        kv("/netwire/services/web/host2/web2", "10.1.0.40:80", mine),        # as wanted
        kv("/netwire/services/api/host2/api2", "10.2.0.51:9000", mine),      # another value
        kv("/netwire/services/web/host2/gone", "10.1.0.41:80", mine),        # no longer declared: ours
        kv("/netwire/services/web/host2/byhand", "10.1.0.42:80", 0),         # our path, not our lease
        kv("/netwire/services/web/host3/web3", "10.1.0.43:80", other),       # another host's
        kv("/netwire/services/web/host22/x", "10.1.0.44:80", mine),          # another host's path
    ]
    puts, deletes, foreign = reg.plan_keys(p, kvs)
    assert puts == {"/netwire/services/api/host2/api2": "10.2.0.50:9000"}
    assert deletes == ["/netwire/services/web/host2/gone"]
    assert foreign == ["/netwire/services/web/host2/byhand"]
    # a fresh lease holds nothing: every wanted key is put under it
    puts, deletes, foreign = reg.plan_keys(p, kvs, fresh_lease=True)
    assert set(puts) == set(reg.wanted(p))
    # a wanted key held by another lease is taken over (our path, our lease from now on)
    puts = reg.plan_keys(p, [kv("/netwire/services/web/host2/web2", "10.1.0.40:80", other)])[0]
    assert "/netwire/services/web/host2/web2" in puts


def test_no_services_deletes_every_key_of_ours_and_nothing_else():
    p = params(services=[])
    kvs = [kv("/netwire/services/web/host2/web2", "x", p["lease"]), kv("/netwire/services/web/host3/w", "y", 5)]
    assert reg.plan_keys(p, kvs) == ({}, ["/netwire/services/web/host2/web2"], [])


def test_the_record_and_the_keepalive_argv():
    p = params()
    text = reg.record_text(p)
    assert reg.parse_record(_names.FILE_MARK + "\n" + text)["endpoints"] == EPS
    assert reg.parse_record("# x\nnot json") is None
    assert reg.keepalive_argv("/usr/bin/etcdctl", p) == [
        "/usr/bin/etcdctl", "--endpoints=%s" % ",".join(EPS), "--dial-timeout=2s", "lease", "keep-alive",
        "%x" % p["lease"]]


class FakeEtcd(object):
    """Answers as etcd 3.4's gateway does (64-bit integers as strings, base64 keys)."""

    def __init__(self, statuses):
        self.statuses = statuses
        self.calls = []

    def __call__(self, url, body):
        self.calls.append((url, body))
        endpoint, _sep, path = url.partition("/v3/")
        if path == "maintenance/status":
            answer = self.statuses[endpoint]
            if isinstance(answer, Exception):
                raise answer
            return answer
        if path == "kv/range":
            return {"kvs": [{"key": etcdv3.b64("/netwire/services/web/host2/web2"), "value": etcdv3.b64("1.2.3.4:80"),
                             "lease": "123"}]}
        if path == "lease/timetolive":
            return {"ID": body["ID"], "TTL": "-1"}
        if path == "kv/txn":
            return {"succeeded": True}
        return {}


def test_the_gateway_uses_a_member_with_a_leader_and_names_each_failure_without_one():
    fake = FakeEtcd({EPS[0]: etcdv3.CatalogError("[Errno 111] Connection refused"),
                     EPS[1]: {"leader": "16650243344796382632", "header": {}}})
    gw = etcdv3.Gateway(EPS, post=fake)
    assert gw.leader() == EPS[1]
    assert gw.range_prefix("/netwire/services/") == [
        {"key": "/netwire/services/web/host2/web2", "value": "1.2.3.4:80", "lease": 123}]
    assert fake.calls[-1][0] == EPS[1] + "/v3/kv/range"
    assert fake.calls[-1][1]["range_end"] == etcdv3.b64("/netwire/services0")
    assert gw.lease_ttl(5) == (-1, 0)
    gw.txn({"/k": "v"}, ["/d"], 5)
    ops = fake.calls[-1][1]["success"]
    assert ops == [{"request_put": {"key": etcdv3.b64("/k"), "value": etcdv3.b64("v"), "lease": "5"}},
                   {"request_delete_range": {"key": etcdv3.b64("/d")}}]
    fake = FakeEtcd({EPS[0]: {"header": {}, "errors": ["etcdserver: no leader"]},
                     EPS[1]: etcdv3.CatalogError("timed out")})
    with pytest.raises(etcdv3.NoQuorum) as err:
        etcdv3.Gateway(EPS, post=fake).leader()
    assert err.value.msg == "%s: etcdserver: no leader; %s: timed out" % tuple(EPS)
    json.dumps(fake.calls)  # every request body is JSON
