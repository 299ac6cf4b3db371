"""Models that would break hosts, a forgotten model, ports that are not ours, concurrent runs (issue 11).

On the example model built in the lab:
- each harmful model is refused by site.yml with a finding naming the element, and no host is touched
  (every link with its alias and addresses, every OVS bridge and port, the whole nftables ruleset are
  the same before and after);
- site.yml without the model changes nothing, fails, and says to use down.yml;
- a port added by hand to one of our OVS bridges survives purge and down.yml, which fail naming it;
- two site.yml runs at once both succeed, and a third changes nothing;
- an explicitly empty model (netwire_allow_empty: true) purges.
"""

import copy
import re
import shutil
import threading
import time

import pytest
import yaml

from tests.lab.core import REPO, ensure_container, sh

pytestmark = pytest.mark.lab

EXAMPLE = REPO / "examples" / "model"
CONTAINERS = ("web1", "web2", "app1", "app2", "db1")
HAND_PORT = "hand0"
HAND_VETH = "hand1"
STATE = {}


def snapshot(host):
    """What a run could change on a lab host, made comparable."""
    links = sorted((l["ifname"], l.get("ifalias"), l.get("master"), l.get("mtu"),
                    tuple(sorted("%s/%s" % (a["local"], a["prefixlen"]) for a in l.get("addr_info", []))))
                   for l in host.json(["ip", "-j", "addr"]))
    bridges = {}
    for br in host.run(["ovs-vsctl", "--timeout=10", "list-br"]).stdout.split():
        bridges[br] = sorted(host.run(["ovs-vsctl", "--timeout=10", "list-ports", br]).stdout.split())
    ruleset = re.sub(r"counter packets \d+ bytes \d+", "counter", host.run(["nft", "list", "ruleset"]).stdout)
    routes = sorted(str(r) for r in host.json(["ip", "-j", "route"]))
    return {"links": links, "ovs": bridges, "nft": ruleset, "routes": routes}


def snapshots(lab):
    return dict((h.name, snapshot(h)) for h in lab.hosts)


def owned(host):
    links = [l["ifname"] for l in host.json(["ip", "-j", "link"]) if (l.get("ifalias") or "").startswith("netwire:")]
    return links + host.run(["ovs-vsctl", "--timeout=10", "list-br"]).stdout.split()


def tables(host):
    return sorted(t["table"]["name"] for t in host.json(["nft", "-j", "list", "tables"])["nftables"] if "table" in t)


def ok(run, what):
    assert run.rc == 0, "%s failed: %r" % (what, run)
    return run


@pytest.fixture(scope="module")
def built(lab, tmp_path_factory):
    model_dir = tmp_path_factory.mktemp("safety") / "model"
    shutil.copytree(str(EXAMPLE), str(model_dir))
    all_vars = model_dir / "group_vars" / "all.yml"
    model = yaml.safe_load(all_vars.read_text())
    names = []
    for name in CONTAINERS:
        ref = "lab%d-safe-%s" % (lab.instance, name)
        names.append(ref)
        model["netwire_containers"][name]["ref"] = ref
        ensure_container(ref, lab.instance)
    all_vars.write_text(yaml.safe_dump(model, sort_keys=False))
    STATE.update(dir=model_dir, model=model)
    ok(lab.playbook("playbooks/site.yml", [model_dir]), "site.yml (build the example)")
    yield model
    for h in lab.hosts:
        h.run(["ovs-vsctl", "--timeout=10", "--if-exists", "del-port", HAND_PORT], check=False)
    lab.playbook("playbooks/down.yml", [model_dir])
    for ref in names:
        sh(["docker", "rm", "-f", ref], check=False)


def harmful(change):
    model = copy.deepcopy(STATE["model"])
    change(model)
    return dict((k, model[k]) for k in ("netwire_networks", "netwire_containers"))


def _subnet(value):
    def change(model):
        model["netwire_networks"]["backend"]["subnet"] = value
        model["netwire_containers"]["db1"]["interfaces"][0].pop("address", None)
    return change


def _publish(**pub):
    def change(model):
        model["netwire_containers"]["web1"]["publish"] = [dict({"proto": "tcp", "host_port": 8080, "port": 80},
                                                               **pub)]
    return change


HARMFUL = {
    "underlay-subnet": (_subnet("198.19.0.0/24"), "netwire_networks.backend.subnet: subnet 198.19.0.0/24 overlaps "
                        "198.19.0.0/24 of host host1 (interface "),
    "management-subnet": (_subnet("198.18.0.64/26"), "netwire_networks.backend.subnet: subnet 198.18.0.64/26 "
                          "overlaps 198.18.0.64/27 of host host1 (interface eth0)"),
    "multicast-subnet": (_subnet("239.1.1.0/24"), "netwire_networks.backend.subnet: subnet 239.1.1.0/24 overlaps "
                         "multicast"),
    "loopback-subnet": (_subnet("127.1.0.0/24"), "netwire_networks.backend.subnet: subnet 127.1.0.0/24 overlaps "
                        "loopback"),
    "bind-not-held": (_publish(bind="198.19.0.12"), "netwire_containers.web1.publish[0].bind: bind address "
                      "198.19.0.12 is not an address of host host1"),
    "capture-ssh": (_publish(host_port=22, bind="0.0.0.0"), "netwire_containers.web1.publish[0].host_port: tcp port "
                    "22 on 0.0.0.0 would capture the port host host1 itself listens on (tcp 198.18.0.75)"),
}


def test_the_example_is_built(built, lab):
    assert all(owned(h) for h in lab.hosts)


@pytest.mark.parametrize("case", sorted(HARMFUL))
def test_a_harmful_model_is_refused_and_no_host_is_touched(built, lab, case):
    change, finding = HARMFUL[case]
    if case == "management-subnet":
        # the lab instance's own management range (each instance has its own part of 198.18.0.0/24)
        change = _subnet(str(lab.mgmt_net))
        finding = "netwire_networks.backend.subnet: subnet %s overlaps %s of host host1 (interface eth0)" % (
            lab.mgmt_net, lab.mgmt_net)
    if case == "capture-ssh":
        finding = finding.replace("198.18.0.75", lab.host("host1").mgmt_ip)
    before = snapshots(lab)
    run = lab.playbook("playbooks/site.yml", [STATE["dir"]], extra_vars=harmful(change))
    assert run.rc != 0, run
    assert finding in run.stdout, run
    assert "Converge bridges" not in run.stdout and "Prepare the hosts" not in run.stdout, run
    assert snapshots(lab) == before


def test_a_forgotten_model_changes_nothing(built, lab):
    before = snapshots(lab)
    run = lab.playbook("playbooks/site.yml")  # the lab inventory only: no model
    assert run.rc != 0, run
    assert "the model declares no zones, networks or containers" in run.stdout, run
    assert "playbooks/down.yml" in run.stdout, run
    assert "Converge bridges" not in run.stdout
    assert snapshots(lab) == before


def test_an_empty_group_vars_file_changes_nothing(built, lab, tmp_path):
    empty = tmp_path / "inventory"
    (empty / "group_vars").mkdir(parents=True)
    shutil.copy(str(STATE["dir"] / "hosts.yml"), str(empty / "hosts.yml"))
    (empty / "group_vars" / "all.yml").write_text("netwire_zones: {}\nnetwire_networks: {}\nnetwire_containers:\n")
    before = snapshots(lab)
    run = lab.playbook("playbooks/site.yml", [empty])
    assert run.rc != 0 and "playbooks/down.yml" in run.stdout, run
    assert snapshots(lab) == before


def add_hand_port(lab):
    """The example built (whatever earlier tests did), and a port of nobody's on host1's nw-dmz."""
    host1 = lab.host("host1")
    if "nw-dmz" not in host1.run(["ovs-vsctl", "--timeout=10", "list-br"]).stdout.split():
        ok(lab.playbook("playbooks/site.yml", [STATE["dir"]]), "site.yml (build the example again)")
    host1.run(["ovs-vsctl", "--timeout=10", "--may-exist", "add-port", "nw-dmz", HAND_PORT, "--", "set",
               "Interface", HAND_PORT, "type=internal"])
    return host1


def test_an_unowned_port_survives_purge(built, lab):
    host1 = add_hand_port(lab)
    before = snapshot(host1)

    def drop_dmz(model):
        del model["netwire_networks"]["dmz"]
        for name in ("web1", "web2"):
            del model["netwire_containers"][name]
    run = lab.playbook("playbooks/site.yml", [STATE["dir"]], extra_vars=harmful(drop_dmz))
    assert run.rc != 0, run
    assert "port %s on OVS bridge nw-dmz" % HAND_PORT in run.stdout, run
    assert re.search(r"fatal: \[host1\].*Failed to remove OVS bridge nw-dmz", run.stdout), run
    assert snapshot(host1) == before, "host1 must be left as it was"
    assert HAND_PORT in host1.run(["ovs-vsctl", "list-ports", "nw-dmz"]).stdout
    # put the rest back as the model says (host2 did purge its nw-dmz: it was allowed to)
    ok(lab.playbook("playbooks/site.yml", [STATE["dir"]]), "site.yml with the full model")


def test_an_unowned_port_survives_down(built, lab):
    host1 = add_hand_port(lab)
    # and a veth of nobody's in host1's Linux bridge nw-app: removing the bridge would release it
    host1.run("ip link add {0} type veth peer name {0}-p && ip link set {0} master nw-app".format(HAND_VETH))
    before = owned(host1), tables(host1)
    attached = [l for l in host1.json(["ip", "-j", "link"]) if (l.get("ifalias") or "").startswith("netwire:attach:")]
    assert attached and before[1], "host1 has attachments and a firewall"
    run = lab.playbook("playbooks/down.yml", [STATE["dir"]])
    assert run.rc != 0, run
    # refused before the first removal: the attachments and the firewall are still there too
    assert (owned(host1), tables(host1)) == before
    assert "port %s on OVS bridge nw-dmz; port %s on Linux bridge nw-app" % (HAND_PORT, HAND_VETH) in run.stdout, run
    assert HAND_PORT in host1.run(["ovs-vsctl", "list-ports", "nw-dmz"]).stdout
    assert "nw-dmz" in host1.run(["ovs-vsctl", "list-br"]).stdout
    assert host1.json(["ip", "-j", "-d", "link", "show", "dev", HAND_VETH])[0].get("master") == "nw-app"
    # once the ports are gone, down.yml finishes the job
    host1.run(["ovs-vsctl", "--timeout=10", "del-port", HAND_PORT])
    host1.run(["ip", "link", "del", HAND_VETH])
    ok(lab.playbook("playbooks/down.yml", [STATE["dir"]]), "down.yml without the foreign ports")
    assert all(owned(h) == [] for h in lab.hosts)


def test_two_concurrent_runs_both_converge(built, lab):
    # from a clean lab, so that both runs have everything to create (after the previous test, it is)
    if not all(owned(h) == [] for h in lab.hosts):
        for h in lab.hosts:
            h.run(["ovs-vsctl", "--timeout=10", "--if-exists", "del-port", HAND_PORT], check=False)
        ok(lab.playbook("playbooks/down.yml", [STATE["dir"]]), "down.yml (a clean lab first)")
    assert all(owned(h) == [] for h in lab.hosts)
    runs = [None, None]

    def play(i):
        runs[i] = lab.playbook("playbooks/site.yml", [STATE["dir"]])
    threads = [threading.Thread(target=play, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(900)
    for i, run in enumerate(runs):
        ok(run, "concurrent site.yml #%d" % (i + 1))
    third = ok(lab.playbook("playbooks/site.yml", [STATE["dir"]]), "site.yml after the concurrent runs")
    assert set(third.changed().values()) == {0}, third.recap


def test_an_explicitly_empty_model_purges(built, lab):
    assert all(owned(h) for h in lab.hosts), "the example is built (the previous test)"
    run = lab.playbook("playbooks/site.yml", extra_vars={"netwire_allow_empty": True})
    ok(run, "site.yml with netwire_allow_empty")
    assert all(owned(h) == [] for h in lab.hosts)


HOLDER = ("import fcntl, os, sys, time\n"
          "os.makedirs('/run/netwire', exist_ok=True)\n"
          "f = open('/run/netwire/lock', 'a+')\n"
          "fcntl.flock(f, fcntl.LOCK_EX)\n"
          "f.truncate(0); f.write('%d a-test-holder\\n' % os.getpid()); f.flush()\n"
          "time.sleep(float(sys.argv[1]))\n")


def hold_lock(host, seconds):
    """Another run holding host1's lock (a process of ours in the host's namespaces); returns it and its pid."""
    proc = host.popen(["python3", "-c", HOLDER, str(seconds)])
    for _attempt in range(50):
        text = host.run(["cat", "/run/netwire/lock"], check=False).stdout
        if "a-test-holder" in text:
            return proc, text.split()[0]
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("the test's lock holder did not start")


def test_a_run_waits_for_the_lock_then_fails_naming_it(lab):
    host1 = lab.host("host1")
    params = {"state": "absent", "sections": ["containers"], "lock_timeout": 2}
    proc, pid = hold_lock(host1, 30)
    try:
        start = time.time()
        res = host1.module("netwire.fabric.host_network", params)
        assert time.time() - start >= 2
        assert res.get("failed"), res
        assert "Failed to take lock '/run/netwire/lock'" in res["msg"] and "pid %s" % pid in res["msg"], res
    finally:
        proc.kill()
        proc.wait(10)
    # a holder that finishes within the timeout is waited for
    proc, pid = hold_lock(host1, 3)
    try:
        start = time.time()
        res = host1.module("netwire.fabric.host_network", dict(params, lock_timeout=60))
        assert not res.get("failed"), res
        assert time.time() - start >= 2, "it did not wait for the holder"
    finally:
        proc.kill()
        proc.wait(10)
