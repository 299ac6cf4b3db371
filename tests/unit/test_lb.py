"""The entry point's pure parts (issue 17): HAProxy's configuration, its reload-aware ownership, the watch."""

import json

import pytest

from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.module_utils._errors import InvalidParameter
from ansible_collections.netwire.fabric.plugins.module_utils._lb import config, watcher
from ansible_collections.netwire.fabric.plugins.module_utils._lb.manager import HaproxyDaemon, instances

FE = {"port": 8080, "service": "web", "backend_port": 80, "check": "http", "fqdn": "web.svc.netwire.internal",
      "resolver": "10.1.0.1", "bridge": "nw-front"}


def params(**kw):
    base = {"endpoints": ["http://198.19.0.11:2379"], "frontends": [dict(FE)]}
    base.update(kw)
    return config.normalize(base)


def test_the_configuration_resolves_each_service_through_its_dnsmasq():
    text = config.conf_text(params(frontends=[FE, dict(FE, port=9000, service="api", check="tcp",
                                                       fqdn="api.svc.netwire.internal", backend_port=9000)]))
    assert "    master-worker" in text and "stats socket /run/netwire/haproxy-lb.sock" in text
    assert text.count("resolvers dns-10-1-0-1\n") == 1 and "nameserver dnsmasq 10.1.0.1:53" in text
    assert ("server-template web 4 web.svc.netwire.internal:80 check inter 1s fall 2 rise 1 resolvers dns-10-1-0-1"
            " resolve-prefer ipv4 init-addr none") in text
    assert "frontend fe-8080\n    mode http\n    bind 0.0.0.0:8080" in text
    assert "backend be-api-9000\n    mode tcp" in text and text.count("option httpchk") == 1


@pytest.mark.parametrize("bad, fragment", [
    ({"endpoints": []}, "endpoints is required"),
    ({"frontends": []}, "frontends is required"),
    ({"frontends": [FE, FE]}, "given twice"),
    ({"frontends": [dict(FE, check="udp")]}, "tcp or http"),
    ({"frontends": [dict(FE, resolver="x")]}, "resolver"),
    ({"name": "a b"}, "not a valid name"),
])
def test_bad_parameters(bad, fragment):
    with pytest.raises(InvalidParameter) as err:
        params(**bad)
    assert fragment in err.value.msg


def test_the_master_stays_ours_after_it_re_executed_itself_on_a_reload():
    lb, watch = instances(params(), "/usr/sbin/haproxy", "/usr/bin/python3", systemd=False)
    assert isinstance(lb, HaproxyDaemon)
    argv = ["/usr/sbin/haproxy", "-W", "-f", "/etc/netwire/haproxy/lb.cfg"]
    assert lb.argv == argv and lb.owns(argv)
    assert lb.owns(argv + ["-sf", "4242", "4243"]) and lb.owns(argv + ["-x", "/run/x.sock", "-sf", "1"])
    assert not lb.owns(argv + ["-d"]) and not lb.owns(["/usr/sbin/haproxy", "-f", "/etc/haproxy/haproxy.cfg"])
    assert not lb.owns(None)
    assert watch.argv == ["/usr/bin/python3", "/etc/netwire/haproxy/lb-watch.py", "/etc/netwire/haproxy/lb-watch.json"]
    # the configuration reloads (SIGUSR2), the argv alone restarts
    assert list(lb.reload_files) == ["/etc/netwire/haproxy/lb.cfg"] and lb.files == {}


def test_the_watch_writes_a_services_live_members_as_a_records(tmp_path):
    conf = json.loads(config.watch_conf_text(params()))
    assert conf["services"]["web"]["file"] == _names.service_hosts_file("nw-front", "web")
    kvs = [("/netwire/services/web/host2/web2", "10.1.0.12:80"), ("/netwire/services/web/host3/web3", "10.1.0.13:80"),
           ("/netwire/services/web/host3/web3b", "10.1.0.13:80"), ("/netwire/services/api/host3/a", "10.2.0.5:9"),
           ("/netwire/services/web/bad", "10.9.9.9:80"), ("/other/services/web/h/c", "10.9.9.8:80")]
    assert watcher.members(conf, kvs) == {"web": ["10.1.0.12", "10.1.0.13"]}
    assert watcher.members(conf, []) == {"web": []}
    assert watcher.hosts_text("web.svc.x", ["10.1.0.12"]) == "# managed by netwire.fabric\n10.1.0.12 web.svc.x\n"
    path = str(tmp_path / "svc-web")
    assert watcher.write_if_changed(path, "a\n") and not watcher.write_if_changed(path, "a\n")
    assert [p.name for p in tmp_path.iterdir()] == ["svc-web"]


def test_a_names_watch_writes_each_services_records_to_every_file_and_leaves_files_not_ours(tmp_path):
    from ansible_collections.netwire.fabric.plugins.module_utils._catalog import names as svcnames
    from ansible_collections.netwire.fabric.plugins.module_utils._catalog import watch as catwatch
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "missing"
    a.mkdir()
    b.mkdir()
    (b / "svc-web").write_text("10.9.9.9 web.svc.x\n")   # not ours: never written
    conf = {"prefix": "/netwire", "services": {"web": {"fqdn": "web.svc.x", "files": [
        str(a / "svc-web"), str(b / "svc-web"), str(c / "svc-web")]}}}
    watcher.apply(conf, [("/netwire/services/web/host2/web2", "10.1.0.12:80")])
    assert (a / "svc-web").read_text() == "# managed by netwire.fabric\n10.1.0.12 web.svc.x\n"
    assert (b / "svc-web").read_text() == "10.9.9.9 web.svc.x\n" and not c.exists()
    names = svcnames.normalize([{"service": "Web", "fqdn": "web.svc.x", "bridges": ["nw-b", "nw-a", "nw-a"]},
                                {"service": "api", "fqdn": "api.svc.x", "bridges": []}])
    assert names == [{"service": "web", "fqdn": "web.svc.x", "bridges": ["nw-a", "nw-b"]}]
    p = {"host": "h2", "prefix": "/netwire", "endpoints": ["http://198.19.0.11:2379"], "names": names}
    text = svcnames.conf_text(p)
    files = [_names.service_hosts_file("nw-a", "web"), _names.service_hosts_file("nw-b", "web")]
    assert json.loads(text)["services"]["web"]["files"] == files
    assert catwatch.listed_files("# managed by netwire.fabric\n" + text) == json.loads(text)["services"]["web"]["files"]
    watch = svcnames.watch(p, "/usr/bin/python3", {}, systemd=False)
    assert watch.argv == ["/usr/bin/python3", "/etc/netwire/registration/h2-names.py",
                          "/etc/netwire/registration/h2-names.conf"]
    assert watch.pidfile == "/run/netwire/svcnames-h2.pid"
    with pytest.raises(InvalidParameter):
        svcnames.normalize([{"service": "web", "fqdn": "x.y", "bridges": ["a"]}] * 2)
