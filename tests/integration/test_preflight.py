"""Preflight, then apply (issue 11), on the example model in the lab.

* ``site.yml --check`` on a fresh lab exits 0, changes nothing, and predicts
  the real run that follows task by task.
* A plan that cannot be applied on a host (a planned name held by an object we
  did not create, a container that is not there) fails before the host's first
  change: an independent snapshot (links, addresses, routes, OVS, nftables,
  the containers' interfaces) is the same before and after.
* Renames converge in one run: a container interface (eth1 -> eth5) and a
  network (app -> app2, same subnet); the published port and the zone flows
  carry real packets after it, and a rerun changes nothing.

Each test states the expected outcome itself (it does not ask the collection's
model code), as tests/integration/test_site.py does.
"""

import difflib
import ipaddress
import json
import re
import shutil
import time

import pytest
import yaml

from tests.lab.core import sh
from tests.integration.site_helpers import CONTAINERS, EXAMPLE, Containers, ok

pytestmark = pytest.mark.lab

DOCKER = Containers(tcp_port=7002)
address, tcp = DOCKER.address, DOCKER.tcp
TASK = re.compile(r"^TASK \[(.+?)\] \*+$")
STATUS = re.compile(r"^(ok|changed|skipping|failed|fatal): \[([^\]]+)\]")


class Model(object):
    """A copy of the example model whose containers are this lab instance's."""

    def __init__(self, path, instance):
        self.path = path
        self.vars = path / "group_vars" / "all.yml"
        self.data = yaml.safe_load(self.vars.read_text())
        DOCKER.name(instance)
        for name in CONTAINERS:
            self.data["netwire_containers"][name]["ref"] = DOCKER[name]
        self.pristine = json.loads(json.dumps(self.data))
        self.is_converged = False
        self.save()

    def save(self):
        self.vars.write_text(yaml.safe_dump(self.data, sort_keys=False))

    def reset(self):
        self.data = json.loads(json.dumps(self.pristine))
        self.save()

    def converge(self, lab):
        """site.yml on the pristine model, unless the previous test left the lab converged on it.

        A test that ends with a successful site.yml on the pristine model calls ``converged()``;
        the next test then starts from that state without a second, identical run.
        """
        self.reset()
        if not self.is_converged:
            ok(lab.playbook("playbooks/site.yml", [self.path]), "site.yml")
        self.is_converged = False   # the caller changes the lab from here on

    def converged(self, run, what):
        ok(run, what)
        self.is_converged = self.data == self.pristine


@pytest.fixture(scope="module")
def model(lab, tmp_path_factory):
    path = tmp_path_factory.mktemp("preflight") / "model"
    shutil.copytree(str(EXAMPLE), str(path))
    m = Model(path, lab.instance)
    DOCKER.ensure(lab.instance)
    yield m
    lab.playbook("playbooks/down.yml", [path])
    DOCKER.remove()


def fresh(lab, model):
    """Nothing of ours on any host, every container without our interfaces."""
    model.is_converged = False
    ok(lab.playbook("playbooks/down.yml", [model.path]), "down.yml")
    DOCKER.ensure(lab.instance)
    for h in lab.hosts:
        assert not [l for l in h.json(["ip", "-j", "link"]) if (l.get("ifalias") or "").startswith("netwire:")]
        assert h.run(["ovs-vsctl", "list-br"]).stdout.split() == []


def _without_counters(value):
    """nft JSON without what traffic changes by itself (counter values, element expiry)."""
    if isinstance(value, dict):
        return dict((k, None if k in ("counter", "expires") else _without_counters(v)) for k, v in value.items())
    if isinstance(value, list):
        return [_without_counters(v) for v in value]
    return value


def _without_timers(links):
    """``ip -d`` shows a Linux bridge's running timers (hello, gc...): not state."""
    for link in links:
        data = (link.get("linkinfo") or {}).get("info_data") or {}
        for key in [k for k in data if k.endswith("_timer")]:
            del data[key]
    return links


def snapshot(host, containers=()):
    """What a host looks like, read with the system's own tools (not the collection's)."""
    return {
        "links": _without_timers(host.json(["ip", "-j", "-d", "addr"])),
        "routes": host.json(["ip", "-j", "route", "show", "table", "all"]),
        "ovs": host.run(["ovs-vsctl", "show"]).stdout,
        "ovs_ids": host.run(["ovs-vsctl", "--format=json", "--columns=name,external_ids,options",
                             "list", "Interface"]).stdout,
        "nft": _without_counters(host.json(["nft", "-j", "list", "ruleset"])),
        "containers": dict((c, (sh(["docker", "exec", DOCKER[c], "ip", "-o", "addr"]).stdout,
                                sh(["docker", "exec", DOCKER[c], "ip", "-o", "route"]).stdout))
                           for c in containers),
    }


def settled_snapshot(host, containers=(), timeout=30):
    """A snapshot that holds still: a restarted container's old namespace (and with it the
    host end of its veth) is torn down by the kernel in the background."""
    last = snapshot(host, containers)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(2)
        now = snapshot(host, containers)
        if now == last:
            return now
        last = now
    raise AssertionError("%s does not settle: %s" % (host.name, differences(snapshot(host, containers), last)))


def differences(before, after):
    """What changed between two snapshots, readable."""
    out = []
    for key in sorted(set(before) | set(after)):
        if before.get(key) == after.get(key):
            continue
        if key == "links":
            old = dict((l["ifname"], l) for l in before[key])
            new = dict((l["ifname"], l) for l in after[key])
            for name in sorted(set(old) | set(new)):
                if name not in old or name not in new:
                    out.append("link %s: %s" % (name, "added" if name not in old else "removed"))
                elif old[name] != new[name]:
                    out.append("link %s: %s" % (name, sorted(k for k in set(old[name]) | set(new[name])
                                                             if old[name].get(k) != new[name].get(k))))
        else:
            old = json.dumps(before.get(key), indent=1, sort_keys=True).splitlines()
            new = json.dumps(after.get(key), indent=1, sort_keys=True).splitlines()
            out.append("%s: %s" % (key, list(difflib.unified_diff(old, new, n=0))[2:12]))
    return out


def task_flags(run):
    """{(task, host): 'ok' | 'changed' | 'skipping' | ...} as the play output reports them."""
    flags, task = {}, None
    for line in run.stdout.splitlines():
        found = TASK.match(line)
        if found:
            task = found.group(1)
            continue
        found = STATUS.match(line)
        if found and task:
            flags[(task, found.group(2))] = found.group(1)
    return flags


def published_port_answers(lab):
    """The outside host reaches web1's port 80 through host1's published 8080."""
    return "hello-web1" in DOCKER.published_reply(lab).stdout


# ---------------------------------------------------------------- check mode on a fresh lab

def test_check_on_a_fresh_lab_changes_nothing_and_predicts_the_real_run(lab, model):
    model.reset()
    fresh(lab, model)
    before = dict((h.name, snapshot(h)) for h in lab.hosts)
    check = ok(lab.playbook("playbooks/site.yml", [model.path], check=True), "site.yml --check on a fresh lab")
    for h in lab.hosts:
        after = snapshot(h)
        assert after == before[h.name], "check mode changed %s: %s" % (h.name, differences(before[h.name], after))
    real = ok(lab.playbook("playbooks/site.yml", [model.path]), "site.yml after the check")
    # Exact: every task on every host reports the same status (changed / ok / skipping)
    # in the check as in the real run, hence the same PLAY RECAP counts too.
    predicted, made = task_flags(check), task_flags(real)
    assert predicted == made, sorted(set(predicted.items()) ^ set(made.items()))
    assert check.changed() == real.changed(), (check.recap, real.recap)
    assert all(made[("netwire.fabric.containers : Converge the container attachments and the firewall", h.name)]
               == "changed" for h in lab.hosts)
    assert address("web1") and address("db1") == "10.30.0.20"


# ---------------------------------------------------------------- preflight

def test_a_name_held_by_a_foreign_bridge_stops_the_host_before_its_first_change(lab, model):
    model.reset()
    fresh(lab, model)
    host3 = lab.host("host3")
    host3.run(["ip", "link", "add", "nw-app", "type", "bridge"])  # not ours: no netwire alias
    try:
        before = settled_snapshot(host3, ["db1"])
        run = lab.playbook("playbooks/site.yml", [model.path])
        assert run.rc != 0
        assert run.recap["host3"]["failed"] == 1, run.recap
        assert "Linux bridge 'nw-app'" in run.stdout and "netwire did not create it" in run.stdout, run
        assert "nothing was changed" in run.stdout
        after = snapshot(host3, ["db1"])
        assert after == before, "host3 changed before the clash was found: %s" % differences(before, after)
    finally:
        host3.run(["ip", "link", "del", "nw-app"], check=False)


def test_a_missing_container_stops_the_host_before_its_first_change(lab, model):
    model.converge(lab)
    # web2 loses its interface (a restart), and app1 now names a container that is not there:
    # the plan of host2 would re-attach web2 and then fail on app1
    sh(["docker", "restart", "-t", "1", DOCKER["web2"]], timeout=60)
    assert address("web2") is None
    model.data["netwire_containers"]["app1"]["ref"] = DOCKER["app1"] + "-missing"
    model.save()
    try:
        host2 = lab.host("host2")
        before = settled_snapshot(host2, ["web2", "app1"])
        run = lab.playbook("playbooks/site.yml", [model.path])
        assert run.rc != 0
        assert run.recap["host2"]["failed"] == 1, run.recap
        assert "container '%s-missing' cannot be used" % DOCKER["app1"] in run.stdout, run
        after = snapshot(host2, ["web2", "app1"])
        assert after == before, "host2 changed before the missing container was found: %s" % differences(before, after)
        assert address("web2") is None
    finally:
        model.reset()
    model.converged(lab.playbook("playbooks/site.yml", [model.path]), "site.yml with app1 back")
    assert address("web2")


# ---------------------------------------------------------------- renames

def test_renaming_a_container_interface_converges_in_one_run(lab, model):
    model.converge(lab)
    assert published_port_answers(lab)
    model.data["netwire_containers"]["web1"]["interfaces"][0]["ifname"] = "eth5"
    model.save()
    try:
        ok(lab.playbook("playbooks/site.yml", [model.path]), "site.yml after eth1 -> eth5")
        assert address("web1", "eth1") is None, "the old interface is gone"
        new = address("web1", "eth5")
        assert new and ipaddress.ip_address(new) in ipaddress.ip_network("10.10.0.0/24")
        routes = sh(["docker", "exec", DOCKER["web1"], "ip", "-o", "route", "show", "default"]).stdout
        assert "dev eth5" in routes, routes
        assert published_port_answers(lab), "the published port does not reach web1 after the rename"
        assert tcp("web1", "app1", address("app1")), "dmz -> app no longer passes from the renamed interface"
        again = ok(lab.playbook("playbooks/site.yml", [model.path]), "site.yml rerun after the rename")
        assert set(again.changed().values()) == {0}, again.recap
    finally:
        model.reset()
    model.converged(lab.playbook("playbooks/site.yml", [model.path]), "site.yml back to eth1")
    assert address("web1", "eth1") and address("web1", "eth5") is None
    assert published_port_answers(lab)


def test_renaming_a_network_converges_in_one_run(lab, model):
    model.converge(lab)
    subnet = ipaddress.ip_network("10.20.0.0/24")
    nets = model.data["netwire_networks"]
    nets["app2"] = nets.pop("app")
    for c in model.data["netwire_containers"].values():   # app1, and app2 (the container, by DHCP)
        for itf in c["interfaces"]:
            itf["network"] = "app2" if itf["network"] == "app" else itf["network"]
    model.save()
    try:
        ok(lab.playbook("playbooks/site.yml", [model.path]), "site.yml after app -> app2")
        for h in lab.hosts:
            holders = sorted(l["ifname"] for l in h.json(["ip", "-j", "addr"])
                             for a in l.get("addr_info", [])
                             if a.get("family") == "inet" and ipaddress.ip_address(a["local"]) in subnet)
            assert holders == ["nw-app2"], "%s: the app subnet is on %s" % (h.name, holders)
            assert "nwx-app" not in [l["ifname"] for l in h.json(["ip", "-j", "link"])]
        app1 = address("app1")
        assert app1 and ipaddress.ip_address(app1) in subnet
        assert tcp("web1", "app1", app1), "dmz -> app (host1 -> host2) after the rename"
        assert tcp("web2", "app1", app1), "dmz -> app (same host) after the rename"
        assert tcp("app1", "db1", address("db1")), "app -> backend after the rename"
        assert not tcp("app1", "web1", address("web1")), "app -> dmz must stay blocked"
        again = ok(lab.playbook("playbooks/site.yml", [model.path]), "site.yml rerun after the rename")
        assert set(again.changed().values()) == {0}, again.recap
    finally:
        model.reset()
    model.converged(lab.playbook("playbooks/site.yml", [model.path]), "site.yml back to app")
    assert tcp("web1", "app1", address("app1"))
