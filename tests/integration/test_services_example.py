"""examples/services end to end (issue 17): site.yml runs the catalog, the registrations and the entry point;
bounded HTTP requests from the outside host to the LB on host1 reach both backends; a stopped backend leaves;
a rerun changes nothing; check mode changes nothing; down.yml stops our etcd, keep-alives, watch and HAProxy
and removes their files, and a sentinel etcd and HAProxy that are not ours survive.

Every request is one HTTP/1.0 exchange (busybox nc, 2 s) from the outside host to host1's underlay address.
The entry point's zones: app1 (host1) and app2 (host2), of zone apps (allow_to: [web]), reach it at host1's
underlay address (app1 also at its own gateway); guest1 (host1) and guest2 (host2), of zone guest, do not (each
probe one request, bounded by 3 s, from inside the container).

Names: web.svc.netwire.internal resolves, from app2 and web2 on host2 (not the LB host), through their host's
dnsmasq, to the catalog's live members; from guest2 (zone guest) it does not. Removing web3 from the model
(a rerun of site.yml) removes it from the name. Each query is one busybox nslookup bounded by 4 s.
"""

import re
import shlex
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest
import yaml

from ansible_collections.netwire.fabric.plugins.module_utils._names import bridge_name
from tests.lab.core import LAB_ENV, REPO, ensure_container, sh
from tests.integration.site_helpers import ok
from tests.integration.test_etcd_member import SENTINEL_ARGV, SENTINEL_DIR as ETCD_SENTINEL_DIR, alive, pid_of
from tests.integration.test_haproxy_lb import answer

pytestmark = pytest.mark.lab

EXAMPLE = REPO / "examples" / "services"
BACKENDS = ("web2", "web3")
CLIENTS = ("app1", "app2", "guest1", "guest2")
HAPROXY_SENTINEL = "/run/nwt-sentinel-haproxy-x"
NAME = "web.svc.netwire.internal"
# a record file that is not ours, put where host3's names watch writes web's records: never written nor removed
NAMES_SENTINEL = "/etc/netwire/dnsmasq/%s.hosts.d/svc-web" % bridge_name("apps")
NAMES_SENTINEL_TEXT = "192.0.2.99 web.svc.netwire.internal"
MODEL = None
DOCKER = {}


def ask(lab, count=8):
    out = []
    for _attempt in range(count):
        proc = lab.outside.run("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | timeout 3 busybox nc -w 2 %s 8080"
                               % lab.host("host1").underlay_ip, check=False, timeout=5)
        head, _sep, body = proc.stdout.replace("\r", "").partition("\n\n")
        status = head.split("\n")[0].split()
        code = status[1] if len(status) > 1 else ""
        out.append(body.strip() if code == "200" and body.strip() in BACKENDS else (code or "fail"))
    return out


def until(lab, want, seconds=30):
    deadline = time.time() + seconds
    while True:
        got = ask(lab)
        if set(got) == set(want) or time.time() > deadline:
            return got
        time.sleep(1)


def httpd(name, up=True):
    if up:
        sh(["docker", "exec", DOCKER[name], "sh", "-c",
            "mkdir -p /www && echo %s > /www/index.html && httpd -p 80 -h /www" % name])
    else:
        sh(["docker", "exec", DOCKER[name], "killall", "httpd"])


def ours(host):
    """Our catalog processes and files on ``host``."""
    procs = host.run("for f in /run/netwire/etcd-*.pid /run/netwire/keepalive-*.pid /run/netwire/haproxy-*.pid"
                     " /run/netwire/lbwatch-*.pid /run/netwire/svcnames-*.pid; do [ -e $f ] && echo $f; done; true",
                     check=False).stdout.split()
    files = host.run("ls -A /etc/netwire/etcd /etc/netwire/registration /etc/netwire/haproxy /var/lib/netwire/etcd"
                     " 2>/dev/null; true", check=False).stdout.split()
    return procs + files


@pytest.fixture(scope="module")
def site(lab, tmp_path_factory):
    global MODEL
    MODEL = tmp_path_factory.mktemp("services") / "model"
    shutil.copytree(str(EXAMPLE), str(MODEL))
    all_vars = MODEL / "group_vars" / "all.yml"
    model = yaml.safe_load(all_vars.read_text())
    for name in BACKENDS:
        DOCKER[name] = "lab%d-svc-%s" % (lab.instance, name)
        model["netwire_containers"][name]["ref"] = DOCKER[name]
        ensure_container(DOCKER[name], lab.instance)
        httpd(name)
    for name in CLIENTS:
        DOCKER[name] = "lab%d-svc-%s" % (lab.instance, name)
        model["netwire_containers"][name]["ref"] = DOCKER[name]
        ensure_container(DOCKER[name], lab.instance)
    all_vars.write_text(yaml.safe_dump(model, sort_keys=False))
    h1, h2 = lab.host("host1"), lab.host("host2")
    # sentinels that are not ours: an etcd on host2's loopback, a HAProxy on host1's
    h2.run("mkdir -p %s && (setsid %s </dev/null >%s/log 2>&1 & echo $! > %s/pid)"
           % (ETCD_SENTINEL_DIR, " ".join(shlex.quote(a) for a in SENTINEL_ARGV), ETCD_SENTINEL_DIR,
              ETCD_SENTINEL_DIR))
    h1.run("mkdir -p {d}; printf 'global\\n  pidfile {d}/pid\\ndefaults\\n  mode http\\n  timeout client 2s\\n"
           "  timeout server 2s\\n  timeout connect 2s\\nfrontend f\\n  bind 127.0.0.1:9998\\n"
           "  http-request return status 200 content-type text/plain string sentinel\\n' > {d}/cfg;"
           " haproxy -D -f {d}/cfg".format(d=HAPROXY_SENTINEL))
    first = lab.playbook("playbooks/site.yml", [MODEL])
    yield first
    lab.playbook("playbooks/down.yml", [MODEL])
    for name in BACKENDS + CLIENTS:
        sh(["docker", "rm", "-f", DOCKER[name]], check=False)
    for host, d in ((h2, ETCD_SENTINEL_DIR), (h1, HAPROXY_SENTINEL)):
        pid = pid_of(host, d + "/pid")
        if pid and alive(host, pid):
            host.run(["kill", str(pid)], check=False)
        host.run(["rm", "-rf", d], check=False)
    lab.host("host3").run(["rm", "-f", NAMES_SENTINEL], check=False)
    lab.host("host3").run(["rmdir", NAMES_SENTINEL.rsplit("/", 1)[0], "/etc/netwire/dnsmasq"], check=False)


def test_site_runs_the_catalog_and_the_lb_reaches_both_backends(site, lab):
    ok(site, "site.yml")
    got = until(lab, BACKENDS)
    assert set(got) == set(BACKENDS), got
    for h in lab.hosts:
        found = ours(h)
        assert "/run/netwire/etcd-%s.pid" % h.name in found and "/run/netwire/keepalive-%s.pid" % h.name in found
        assert "/run/netwire/svcnames-%s.pid" % h.name in found
    assert "/run/netwire/haproxy-lb.pid" in ours(lab.host("host1"))


def from_container(name, address, port=8080):
    """One bounded HTTP/1.0 request from inside container ``name``: the backend's name, or the failure."""
    proc = sh(["docker", "exec", DOCKER[name], "sh", "-c", "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | timeout 3 "
               "busybox nc -w 2 %s %d" % (address, port)], check=False, timeout=10)
    head, _sep, body = proc.stdout.replace("\r", "").partition("\n\n")
    status = head.split("\n")[0].split()
    return body.strip() if len(status) > 1 and status[1] == "200" else "fail"


def test_the_frontend_is_reachable_only_from_the_zones_that_may_reach_the_service(site, lab):
    lb_address = lab.host("host1").underlay_ip
    # allowed: zone apps on the LB host (its own address and its gateway: input) and on host2 (forwarded)
    for name, address in (("app1", lb_address), ("app1", "10.61.0.1"), ("app2", lb_address), ("web2", lb_address)):
        assert from_container(name, address) in BACKENDS, (name, address)
    # not allowed: zone guest, on the LB host and on host2; the guests themselves are up (their gateway answers)
    for name, gateway in (("guest1", "10.62.0.1"), ("guest2", "10.62.0.2")):
        ping = sh(["docker", "exec", DOCKER[name], "ping", "-c", "1", "-W", "2", gateway], check=False, timeout=10)
        assert ping.returncode == 0, (name, ping.stdout, ping.stderr)
        assert from_container(name, lb_address) == "fail", name
    assert from_container("guest1", "10.62.0.1") == "fail"
    # the firewall's rules say so: apps' bridges are accepted to the frontend (forwarded on host2, input on
    # host1), guest's nowhere
    for host, chain in (("host1", "services"), ("host2", "forward")):
        rules = lab.host(host).run("nft list chain inet netwire %s" % chain).stdout
        assert "iifname @bridges_apps ip daddr %s tcp dport 8080 accept" % lb_address in rules, (host, rules)
        assert not [r for r in rules.splitlines() if "bridges_guest" in r and "8080" in r], (host, rules)


def test_a_stopped_backend_leaves_and_comes_back(site, lab):
    httpd("web3", up=False)
    try:
        got = until(lab, ["web2"], seconds=15)
        assert set(got) == {"web2"}, got
    finally:
        httpd("web3")
    assert set(until(lab, BACKENDS)) == set(BACKENDS)


def lookup(container, server, name=NAME):
    """One busybox nslookup (bounded: 4 s) in ``container`` through the dnsmasq at ``server``: the addresses."""
    out = sh(["docker", "exec", DOCKER[container], "timeout", "4", "nslookup", "-type=a", name, server],
             check=False, timeout=10)
    text = out.stdout + out.stderr
    answer = text.split("Name:", 1)[1] if "Name:" in text else ""
    return sorted(re.findall(r"Address:\s*(\d+\.\d+\.\d+\.\d+)", answer))


def catalog(lab):
    """The live members of web in the catalog (a quorum read on host1, bounded)."""
    h1 = lab.host("host1")
    out = h1.run("timeout 10 etcdctl --endpoints=http://%s:2379 --dial-timeout=2s get --prefix --print-value-only"
                 " /netwire/services/web/" % h1.underlay_ip).stdout
    return sorted(v.rsplit(":", 1)[0] for v in out.split())


def resolves(container, server, want, seconds=15):
    deadline = time.time() + seconds
    while True:
        got = lookup(container, server)
        if got == want or time.time() > deadline:
            return got
        time.sleep(1)


def test_the_services_name_resolves_on_other_hosts_for_the_zones_that_may_reach_it(site, lab):
    live = catalog(lab)
    assert len(live) == 2, live
    # host2 is not the LB host: its dnsmasq on apps (zone apps, allow_to web) and on front (zone web) answer
    assert resolves("app2", "10.61.0.2", live) == live
    assert resolves("web2", "10.60.0.2", live) == live
    # guest (zone guest) may not reach front: no answer for the name, while its own names answer
    assert lookup("guest2", "10.62.0.2") == []
    assert lookup("guest2", "10.62.0.2", "guest1.guest.netwire.internal") != []


def test_rerun_and_check_mode_change_nothing(site, lab):
    pid = pid_of(lab.host("host1"), "/run/netwire/haproxy-lb.pid")
    names_pid = pid_of(lab.host("host2"), "/run/netwire/svcnames-host2.pid")
    again = ok(lab.playbook("playbooks/site.yml", [MODEL]), "site.yml rerun")
    assert set(again.changed().values()) == {0}, again.recap
    check = ok(lab.playbook("playbooks/site.yml", [MODEL], check=True, diff=True), "site.yml --check --diff")
    assert set(check.changed().values()) == {0}, check.recap
    assert pid_of(lab.host("host1"), "/run/netwire/haproxy-lb.pid") == pid
    assert names_pid and pid_of(lab.host("host2"), "/run/netwire/svcnames-host2.pid") == names_pid


def audit(lab, tmp_path):
    """The spec suite's catalog checks (tests/spec/test_catalog.py): {test id: passed|failed|skipped}."""
    report = tmp_path / ("audit-%d.xml" % len(list(tmp_path.glob("audit-*.xml"))))
    env = dict(LAB_ENV)
    env.update({"PATH": "%s:%s" % (REPO / ".venv" / "bin", LAB_ENV["PATH"]), "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
                "ANSIBLE_DEPRECATION_WARNINGS": "0", "ANSIBLE_NOCOLOR": "1", "PY_COLORS": "0"})
    proc = subprocess.run([str(REPO / ".venv" / "bin" / "python"), "-m", "pytest", "--hosts=ansible://all",
                           "--ansible-inventory=%s" % lab.inventory, "--ansible-inventory=%s" % MODEL,
                           "-p", "no:cacheprovider", "-q", "--junitxml=%s" % report,
                           str(REPO / "tests" / "spec" / "test_catalog.py")],
                          capture_output=True, text=True, timeout=300, env=env, cwd=str(REPO), check=False)
    assert report.exists(), proc.stdout[-3000:] + proc.stderr[-2000:]
    out = {}
    for case in ET.parse(str(report)).getroot().iter("testcase"):
        kind = [c.tag for c in case if c.tag in ("failure", "error", "skipped")]
        out[case.get("name")] = {"failure": "failed", "error": "failed", "skipped": "skipped"}.get(
            kind[0] if kind else None, "passed")
    return out, proc.stdout


def failed(outcomes):
    return sorted(i for i, o in outcomes.items() if o == "failed")


def test_the_spec_checks_pass_on_the_converged_lab_and_fail_where_it_is_broken(site, lab, tmp_path):
    base, text = audit(lab, tmp_path)
    # 3 members, 3 registrations, 1 frontend, 6 name record files (host1: apps and the LB's front; host2 and
    # host3: front and apps)
    assert failed(base) == [] and len(base) == 3 + 3 + 1 + 6, (base, text[-3000:])
    h1, h3 = lab.host("host1"), lab.host("host3")
    try:
        # the watch dies, then host3's key goes by hand: the catalog lacks web3 and HAProxy still serves it, as
        # the LB's record file does; the names watches follow (their files pass)
        h1.run("kill $(cat /run/netwire/lbwatch-lb.pid)")
        h1.run("timeout 10 etcdctl --endpoints=http://%s:2379 --dial-timeout=2s del /netwire/services/web/host3/web3"
               % h1.underlay_ip)
        time.sleep(3)
        got, text = audit(lab, tmp_path)
        assert failed(got) == ["test_catalog_registration[host3-services]",
                               "test_lb_backends_equal_the_catalog[host1-lb-8080]",
                               "test_service_name[host1-%s-web]" % bridge_name("front")], text[-3000:]
        # host3's member stops: its check fails, the others keep quorum
        h3.run("kill $(cat /run/netwire/etcd-host3.pid); sleep 1")
        got, text = audit(lab, tmp_path)
        assert "test_catalog_member[host3-etcd]" in failed(got), text[-3000:]
        assert "test_catalog_member[host1-etcd]" not in failed(got)
    finally:
        ok(lab.playbook("playbooks/site.yml", [MODEL]), "site.yml repairs")
    time.sleep(3)
    again, text = audit(lab, tmp_path)
    assert failed(again) == [], text[-3000:]


def test_a_container_removed_from_the_model_leaves_the_name(site, lab, tmp_path):
    before = catalog(lab)
    model = tmp_path / "model"
    shutil.copytree(str(MODEL), str(model))
    all_vars = model / "group_vars" / "all.yml"
    data = yaml.safe_load(all_vars.read_text())
    del data["netwire_containers"]["web3"]
    all_vars.write_text(yaml.safe_dump(data, sort_keys=False))
    # host3's record file on apps becomes not ours: its watch would rewrite it with the new members
    h3 = lab.host("host3")
    h3.run("echo %s > %s" % (NAMES_SENTINEL_TEXT, NAMES_SENTINEL))
    ok(lab.playbook("playbooks/site.yml", [model]), "site.yml without web3")
    live = catalog(lab)
    assert len(live) == 1 and live[0] in before, (before, live)
    assert resolves("app2", "10.61.0.2", live) == live
    assert resolves("web2", "10.60.0.2", live) == live
    assert h3.run("cat %s" % NAMES_SENTINEL).stdout.strip() == NAMES_SENTINEL_TEXT


def test_down_stops_ours_and_leaves_the_sentinels(site, lab):
    h1, h2 = lab.host("host1"), lab.host("host2")
    ok(lab.playbook("playbooks/down.yml", [MODEL]), "down.yml")
    for h in lab.hosts:
        assert ours(h) == [], (h.name, ours(h))
        left = h.run("ls -AR /etc/netwire/dnsmasq 2>/dev/null; true", check=False).stdout.split()
        assert [f for f in left if f.startswith("svc-")] == (["svc-web"] if h.name == "host3" else []), (h.name, left)
    assert lab.host("host3").run("cat %s" % NAMES_SENTINEL).stdout.strip() == NAMES_SENTINEL_TEXT
    assert alive(h2, pid_of(h2, ETCD_SENTINEL_DIR + "/pid"))
    assert alive(h1, pid_of(h1, HAPROXY_SENTINEL + "/pid"))
    out = h1.run("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | timeout 3 busybox nc -w 2 127.0.0.1 9998", check=False).stdout
    assert out.replace("\r", "").partition("\n\n")[2].strip() == "sentinel"
    assert answer("") == "fail"
