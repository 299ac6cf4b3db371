"""The example model on Docker hosts: Docker's own firewall (FORWARD policy DROP) on every lab host.

Every lab host gets the iptables rules a stock dockerd (--iptables=true) makes
(tests/integration/docker_firewall.py). site.yml must then converge with
netwire's rules in DOCKER-USER, egress, the allowed zone flows and the published
port must work, the denied flows must stay denied, and down.yml must leave
Docker's tables exactly as they were. A forward drop netwire cannot integrate
with (a plain nftables table of someone else) must stop the run, naming it.

Expectations are written out by hand from examples/model (see test_site.py).
"""

import json

import pytest

from tests.integration.docker_firewall import add_docker_chains, remove_docker_chains, table_json
from tests.integration.site_helpers import Containers, copy_example, ok

pytestmark = pytest.mark.lab

DOCKER = Containers(tcp_port=7002)
container_address, ping, tcp = DOCKER.address, DOCKER.ping, DOCKER.tcp
NETWORKS = {"host1": ["app", "dmz"], "host2": ["app", "backend", "dmz"], "host3": ["app", "backend"]}
SUBNETS = {"dmz": "10.10.0.0/24", "app": "10.20.0.0/24", "backend": "10.30.0.0/24"}
REACH = {
    ("web1", "app1"): True, ("web2", "app1"): True, ("app1", "db1"): True,   # declared flows, across hosts
    ("app1", "web1"): False, ("db1", "app1"): False, ("web1", "db1"): False,  # not declared
}
GUARD = "nwtest_guard"
STATE = {}


def docker_tables(host):
    return {"filter": table_json(host, "ip", "filter"), "nat": table_json(host, "ip", "nat")}


def our_tables(host):
    listing = json.loads(host.run(["nft", "-j", "list", "ruleset"]).stdout)["nftables"]
    return sorted((t["table"]["family"], t["table"]["name"]) for t in listing
                  if "table" in t and t["table"]["name"].startswith("netwire"))


@pytest.fixture(scope="module")
def docker_site(lab, tmp_path_factory):
    model_dir = tmp_path_factory.mktemp("docker-model") / "model"
    copy_example(model_dir, DOCKER, lab.instance, prefix="dk-")
    STATE["model"] = model_dir
    # a lab kept up (NETWIRE_LAB_REUSE=1) may hold another deployment: start clean
    lab.playbook("playbooks/down.yml", [model_dir])
    for h in lab.hosts:
        remove_docker_chains(h)
        add_docker_chains(h)
    STATE["before"] = dict((h.name, docker_tables(h)) for h in lab.hosts)
    first = lab.playbook("playbooks/site.yml", [model_dir])
    yield first
    lab.playbook("playbooks/down.yml", [model_dir])
    for h in lab.hosts:
        remove_docker_chains(h)
        h.run(["nft", "delete", "table", "inet", GUARD], check=False)
    DOCKER.remove()


def test_docker_policy_is_drop_in_the_lab(docker_site, lab):
    """The scenario holds: Docker's FORWARD drop is there, as iptables-nft shows it."""
    for h in lab.hosts:
        rules = h.run(["iptables-nft", "-S", "FORWARD"]).stdout.splitlines()
        assert rules[0] == "-P FORWARD DROP" and rules[1] == "-A FORWARD -j DOCKER-USER", (h.name, rules)


def test_site_converges_and_reruns_unchanged(docker_site, lab):
    ok(docker_site, "site.yml on Docker hosts")
    again = ok(lab.playbook("playbooks/site.yml", [STATE["model"]]), "site.yml rerun on Docker hosts")
    assert set(again.changed().values()) == {0}, again.recap


def test_our_rules_in_docker_user_read_by_iptables_nft(docker_site, lab):
    for h in lab.hosts:
        listed = h.run(["iptables-nft", "-S", "DOCKER-USER"])
        rules = listed.stdout.splitlines()
        want = ["-N DOCKER-USER"]
        for net in NETWORKS[h.name]:
            for flag, direction in (("-s", "from"), ("-d", "to")):
                want.append('-A DOCKER-USER %s %s -m comment --comment "netwire:netwire:%s %s" -j ACCEPT'
                            % (flag, SUBNETS[net], direction, net))
        want.append("-A DOCKER-USER -j RETURN")
        assert rules == want, "%s: %s\n%s" % (h.name, listed.stderr, "\n".join(rules))
        assert "-P FORWARD DROP" in h.run(["iptables-nft", "-S", "FORWARD"]).stdout


def test_egress_through_nat(docker_site, lab):
    outside = lab.outside.ip
    assert ping("web1", outside), "web1 (dmz, nat: true, host1) should reach the outside host"
    assert ping("app1", outside), "app1 (app, nat: true, host2) should reach the outside host"
    assert not ping("db1", outside), "db1 (backend, nat: false) must not reach the outside host"


@pytest.mark.parametrize("pair", sorted(REACH), ids=lambda p: "%s->%s" % p)
def test_zone_flows(docker_site, pair):
    src, dst = pair
    dst_ip = container_address(dst)
    assert dst_ip
    expected = REACH[pair]
    assert ping(src, dst_ip) is expected, "ICMP %s -> %s should %s" % (src, dst, "pass" if expected else "fail")
    assert tcp(src, dst, dst_ip) is expected, "TCP %s -> %s should %s" % (src, dst, "pass" if expected else "fail")


def test_published_port_from_the_outside(docker_site, lab):
    out = DOCKER.published_reply(lab)
    assert "hello-web1" in out.stdout, out


def test_net_info_reports_dockers_firewall(docker_site, lab):
    res = lab.ansible("host1", "netwire.fabric.net_info")["host1"]
    assert not res.get("failed"), res
    chains = [c for c in res["host_firewalls"] if (c["family"], c["table"], c["chain"]) == ("ip", "filter", "FORWARD")]
    assert len(chains) == 1, res["host_firewalls"]
    fwd = chains[0]
    assert (fwd["kind"], fwd["policy"], fwd["integration"]) == ("docker", "drop", "DOCKER-USER"), fwd
    assert fwd["drops_netwire_traffic"] == sorted("%s %s" % (d, SUBNETS[n]) for n in NETWORKS["host1"]
                                                  for d in ("from", "to"))
    assert fwd["passes_netwire_traffic"] is True, fwd
    assert sorted(r["comment"] for r in fwd["netwire_rules"]) == sorted(
        "netwire:netwire:%s %s" % (d, n) for n in NETWORKS["host1"] for d in ("from", "to"))


def test_a_forward_drop_netwire_cannot_integrate_with_fails_naming_it(docker_site, lab):
    host3 = lab.host("host3")
    host3.run(["nft", "add table inet %s; add chain inet %s guard { type filter hook forward priority 10; "
               "policy drop; }" % (GUARD, GUARD)])
    tables = our_tables(host3)
    try:
        run = lab.playbook("playbooks/site.yml", [STATE["model"]])
        assert run.rc != 0, run
        assert "chain guard of table inet %s" % GUARD in run.stdout, run
        assert "policy drop" in run.stdout and "from network app (10.20.0.0/24, bridge nw-app)" in run.stdout, run
        assert our_tables(host3) == tables
    finally:
        host3.run(["nft", "delete", "table", "inet", GUARD])
    # the admin's own accept for our bridges is enough: the run goes through
    host3.run(["nft", "add table inet %s; add chain inet %s guard { type filter hook forward priority 10; "
               "policy drop; }; add rule inet %s guard iifname { nw-app, nw-backend } accept; "
               "add rule inet %s guard oifname \"nw*\" accept" % (GUARD, GUARD, GUARD, GUARD)])
    try:
        ok(lab.playbook("playbooks/site.yml", [STATE["model"]]), "site.yml with the admin's accept rules")
    finally:
        host3.run(["nft", "delete", "table", "inet", GUARD])


def test_down_leaves_dockers_tables_as_they_were(docker_site, lab):
    ok(lab.playbook("playbooks/down.yml", [STATE["model"]]), "down.yml on Docker hosts")
    for h in lab.hosts:
        assert docker_tables(h) == STATE["before"][h.name], h.name
        assert our_tables(h) == [], h.name
        assert h.run(["iptables-nft", "-S", "DOCKER-USER"]).stdout.splitlines() == [
            "-N DOCKER-USER", "-A DOCKER-USER -j RETURN"]
