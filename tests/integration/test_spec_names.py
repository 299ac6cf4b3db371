"""The spec suite's name and DHCP checks can fail, and fail exactly where names or DHCP are broken.

The demo model (examples/model: names on every network, DHCP on app; app2 on host2 takes its address
by DHCP) is deployed with site.yml by test_spec_suite's ``deployed`` fixture; the audit must pass.
Then one thing at a time is broken by hand, the audit rerun, and exactly the checks of that thing
must fail while every other check keeps its outcome; site.yml repairs it before the next break.

The expected failures are written out by hand from examples/model: on host2, nw-app's server
answers app1 and app2 (zone view app + backend: app1, app2, db1), nw-dmz's answers web2 (view dmz +
app: web1, web2, app1, app2).
"""

import re
import subprocess

import pytest

from tests.integration import test_spec_suite as _suite
from tests.integration.test_spec_suite import assert_exactly

pytestmark = pytest.mark.lab

SPARE = "10.10.0.250"   # an address of dmz no container holds

# test_spec_suite's deployment of the demo model (module scope: deployed once for this file)
deployed = _suite.deployed


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
    try:
        outcomes = deployed.audit(tmp_path)
    finally:
        deployed.playbook("site.yml")
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
    try:
        outcomes = deployed.audit(tmp_path)
    finally:
        deployed.playbook("site.yml")
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
