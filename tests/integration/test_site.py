"""The example model end to end: site.yml builds it, reruns change nothing, the
zones hold across hosts, a broken model stops before any host is touched, and
down.yml leaves nothing of ours behind.

The expectations below are written out by hand from examples/model (three
zones: dmz -> app -> backend), not computed by the collection's own model code,
so that this test checks the collection instead of repeating it.
"""

import re

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


@pytest.fixture(scope="module")
def site(lab, tmp_path_factory):
    global MODEL
    MODEL = tmp_path_factory.mktemp("model") / "model"
    copy_example(MODEL, DOCKER, lab.instance)
    first = lab.playbook("playbooks/site.yml", [MODEL])
    yield first
    lab.playbook("playbooks/down.yml", [MODEL])
    DOCKER.remove()


def test_site_builds_the_example_on_every_host(site, lab):
    ok(site, "site.yml")
    assert sorted(site.recap) == sorted(h.name for h in lab.hosts)
    assert all(changes > 0 for changes in site.changed().values()), site.recap
    for name in CONTAINERS:
        assert container_address(name), "%s has no address on eth1" % name


def test_rerun_changes_nothing(site, lab):
    again = ok(lab.playbook("playbooks/site.yml", [MODEL]), "site.yml rerun")
    assert set(again.changed().values()) == {0}, again.recap


def test_check_diff_on_a_converged_lab_changes_nothing(site, lab):
    check = ok(lab.playbook("playbooks/site.yml", [MODEL], check=True, diff=True), "site.yml --check --diff")
    assert set(check.changed().values()) == {0}, check.recap


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


def test_down_leaves_nothing_of_ours(site, lab):
    down = ok(lab.playbook("playbooks/down.yml", [MODEL]), "down.yml")
    assert all(c > 0 for c in down.changed().values()), down.recap
    for h in lab.hosts:
        assert owned_state(h) == {"links": [], "ovs_bridges": [], "nft_tables": []}, h.name
        addrs = [a["local"] for a in h.json(["ip", "-j", "-4", "addr", "show", "dev", h.underlay_if])[0]["addr_info"]]
        assert addrs == [h.underlay_ip], "%s: the underlay address is back on %s" % (h.name, h.underlay_if)
        routes = h.json(["ip", "-j", "route", "show", "default"])
        assert [(r["gateway"], r["dev"]) for r in routes] == [("198.19.0.1", h.underlay_if)]
    for name in CONTAINERS:
        assert container_address(name) is None
    again = ok(lab.playbook("playbooks/down.yml", [MODEL]), "down.yml again")
    assert set(again.changed().values()) == {0}, again.recap
    # the underlay still carries traffic between the hosts
    out = lab.hosts[0].run(["ping", "-c", "1", "-W", "2", lab.hosts[1].underlay_ip], check=False)
    assert out.returncode == 0
