# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The netwire spec suite: pytest-testinfra checks derived from the model in the inventory.

Run (docs/audit.md):

    pytest --hosts=ansible://all --ansible-inventory=INVENTORY [--ansible-inventory=MORE ...] tests/spec

testinfra keeps only the last ``--ansible-inventory``; this conftest collects
every one of them (and ``--netwire-inventory``, or ``NETWIRE_SPEC_INVENTORY``,
comma-separated) and hands them all to Ansible through ``ANSIBLE_INVENTORY``,
so a model directory can be combined with the inventory that knows how to
reach the hosts, exactly like ``ansible-playbook -i A -i B``.

The model is read from the inventory variables (``ansible-inventory --list``
through testinfra's Ansible runner), validated and planned with the
collection's own ``plugin_utils/model`` (found next to this directory: the checkout or the
installed collection), and every test is parametrized with ids naming the model
element it checks.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

COLLECTION_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PROBE_PORT = 47011
SERVER_DEADLINE = 300
POOL = 8


def _collection_base():
    """A directory holding ansible_collections/netwire/fabric for this very collection."""
    root = COLLECTION_ROOT
    if root.parent.name == "netwire" and root.parent.parent.name == "ansible_collections":
        return root.parent.parent.parent
    base = Path(tempfile.mkdtemp(prefix="netwire-spec-"))
    (base / "ansible_collections" / "netwire").mkdir(parents=True)
    (base / "ansible_collections" / "netwire" / "fabric").symlink_to(root)
    return base


_BASE = _collection_base()
if str(_BASE) not in sys.path:
    sys.path.insert(0, str(_BASE))
# The drift check runs the collection's module through the ansible CLI: make it this collection.
os.environ["ANSIBLE_COLLECTIONS_PATH"] = os.pathsep.join(
    [str(_BASE)] + [p for p in os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep) if p] +
    [os.path.expanduser("~/.ansible/collections"), "/usr/share/ansible/collections"])

from ansible_collections.netwire.fabric.plugins.plugin_utils import model as _model
from ansible_collections.netwire.fabric.plugins.module_utils._firewall import planner as _firewall  # noqa: E402

from . import _expect  # noqa: E402
from ._state import HostState  # noqa: E402


def pytest_addoption(parser):
    group = parser.getgroup("netwire", "netwire spec audit")
    group.addoption("--netwire-inventory", action="append", default=[],
                    help="an inventory source holding the model or the hosts (repeatable); also "
                         "NETWIRE_SPEC_INVENTORY=a,b and every --ansible-inventory")
    group.addoption("--netwire-probe-port", type=int,
                    default=int(os.environ.get("NETWIRE_SPEC_PROBE_PORT", DEFAULT_PROBE_PORT)),
                    help="TCP port of the audit's probe servers inside the containers (default %d)"
                         % DEFAULT_PROBE_PORT)


def _inventory_sources(config):
    sources = []
    args = list(config.invocation_params.args)
    for i, arg in enumerate(args):
        if arg == "--ansible-inventory" and i + 1 < len(args):
            sources.append(args[i + 1])
        elif arg.startswith("--ansible-inventory="):
            sources.append(arg.split("=", 1)[1])
    sources += config.getoption("netwire_inventory") or []
    sources += [s for s in os.environ.get("NETWIRE_SPEC_INVENTORY", "").split(",") if s]
    out = []
    for s in sources:
        s = os.path.abspath(s) if os.path.exists(s) else s
        if s not in out:
            out.append(s)
    return out


def pytest_configure(config):
    sources = _inventory_sources(config)
    if sources:
        os.environ["ANSIBLE_INVENTORY"] = ",".join(sources)
        # testinfra would pass only the last one with -i: let Ansible read them all from the environment
        config.option.ansible_inventory = None
    config._netwire_spec = None


# ---------------------------------------------------------------- the spec

class Spec:
    """The model as the inventory states it, its plans, and the hosts under audit."""

    def __init__(self, config):
        import testinfra
        from testinfra.utils.ansible_runner import AnsibleRunner

        self.error = None
        self._name_checks = None
        self.findings = []
        self.warnings = []
        self.plans = {}
        self.model = None
        self.hostvars = {}
        self.states = {}
        self.control_dir = None
        self.probe_port = config.getoption("netwire_probe_port")
        try:
            runner = AnsibleRunner.get_runner(None)
            names = runner.get_hosts("all")
            self.hostvars = dict((n, runner.get_variables(n)) for n in names)
        except Exception as exc:  # any inventory problem: reported by test_model_valid
            self.error = "cannot read the inventory (%s): %s" % (os.environ.get("ANSIBLE_INVENTORY"), exc)
            return
        model_in, hosts_in = _expect.model_inputs(self.hostvars)
        if not any(model_in.values()):
            self.error = ("the inventory (%s) holds no netwire model (netwire_zones, netwire_networks, "
                          "netwire_containers)" % os.environ.get("ANSIBLE_INVENTORY"))
            return
        self.findings = ["%s: differs between hosts" % m for m in _expect.inconsistent(self.hostvars)]
        normalized, findings, self.warnings = _model.analyze(model_in, hosts_in)
        self.findings += ["%s: %s" % (f["path"], f["msg"]) for f in findings]
        if self.findings:
            return
        self.model = normalized
        self.plans = _model.plans_of(normalized)
        pattern = config.option.hosts or "ansible://all"
        selected = testinfra.get_hosts(pattern.split(","), ansible_inventory=None)
        self.control_dir = control_dir = tempfile.mkdtemp(prefix="nw-spec-ssh-")
        for h in selected:
            name = getattr(h.backend, "host", None) or h.backend.get_hostname()
            if name in self.plans:
                _share_ssh(runner, name, control_dir)
                self.states[name] = HostState(name, h, _python(self.hostvars.get(name, {})))

    @property
    def hosts(self):
        return sorted(self.states)

    def close(self):
        """Stop the shared SSH connections of the run."""
        if not self.control_dir:
            return
        import shutil
        import subprocess
        for sock in os.listdir(self.control_dir):
            subprocess.run(["ssh", "-o", "ControlPath=" + os.path.join(self.control_dir, sock), "-O", "exit",
                            "netwire-spec"], capture_output=True, timeout=10, check=False)
        shutil.rmtree(self.control_dir, ignore_errors=True)

    def plans_audited(self):
        return dict((h, p) for h, p in self.plans.items() if h in self.states)

    def name_checks(self):
        """The name matrix of the audited hosts (once a run: the checks' parameters and the queries)."""
        if self._name_checks is None:
            self._name_checks = _expect.name_checks(self.plans_audited(), self.model)
        return self._name_checks

    def container_host(self, cname):
        return self.model["containers"][cname]["host"]

    def audited(self, *containers):
        return all(self.container_host(c) in self.states for c in containers)


def _share_ssh(runner, name, control_dir):
    """One SSH connection per host for the whole run.

    testinfra's SSH backend passes the inventory's ControlMaster/ControlPersist
    options but no ControlPath unless ansible.cfg names one, and without a
    ControlPath ssh opens a new connection for every command.
    """
    try:
        inner = runner.get_host(name, ssh_config=None, ssh_identity_file=None)
    except Exception:
        return
    backend = getattr(inner, "backend", None)
    if backend is not None and hasattr(backend, "controlpath") and not backend.controlpath:
        backend.controlpath = os.path.join(control_dir, "%%C")  # the command line is %-formatted


def _python(hvars):
    interp = hvars.get("ansible_python_interpreter")
    if isinstance(interp, str) and interp.startswith("/") and "{{" not in interp:
        return interp
    return "python3"


def get_spec(config):
    if config._netwire_spec is None:
        config._netwire_spec = Spec(config)
    return config._netwire_spec


@pytest.fixture(scope="session")
def spec(request):
    """The spec; the traffic probes and the drift check start in the background at once."""
    spec = get_spec(request.config)
    if spec.model is None:
        yield spec
        return
    _check_prerequisites(spec)
    spec.background = ThreadPoolExecutor(3)
    spec.traffic = Traffic(spec)
    spec.traffic_run = spec.background.submit(spec.traffic.run)
    spec.drift_run = spec.background.submit(_drift, spec)
    spec.names = Names(spec)
    spec.names_run = spec.background.submit(spec.names.run)
    _prefetch(spec)
    try:
        yield spec
    finally:
        spec.traffic_run.result()
        spec.drift_run.result()
        spec.names_run.result()
        spec.traffic.stop()
        spec.background.shutdown()
        spec.close()


def _check_prerequisites(spec):
    """Stop the audit once, naming program and package, when a host lacks what the audit runs there.

    Without this, a host without (say) iproute2 would show up as dozens of failed checks that all
    say "cannot read" or "cannot reach" instead of the one thing to install.
    """
    def missing(host):
        refs = [c["ref_type"] for c in spec.model["containers"].values() if c["host"] == host]
        plan = spec.plans[host]
        return host, spec.states[host].missing_programs(refs, ovs=bool(plan["ovs_bridges"] or plan["ovs_tunnels"]),
                                                        dns=bool(plan.get("dns")), evpn=bool(plan.get("frr")))

    with ThreadPoolExecutor(POOL) as pool:
        lacking = [(h, m) for h, m in pool.map(missing, sorted(spec.states)) if m]
    if lacking:
        spec.close()
        pytest.exit("netwire audit cannot run: %s. Install the packages on those hosts (roles/host_prep does) "
                    "and run the audit again." % "; ".join(
                        "%s lacks %s" % (h, ", ".join("`%s` (Debian package %s)" % pm for pm in m))
                        for h, m in lacking), returncode=3)


def _prefetch(spec):
    """Read every host's state at once (parallel); a read that fails is reported by the checks needing it."""
    jobs = []
    for host, st in spec.states.items():
        refs = [(c["ref"], c["ref_type"]) for c in spec.model["containers"].values() if c["host"] == host]
        jobs += st.prefetch(spec.plans[host], refs)

    def run(job):
        try:
            job()
        except AssertionError:
            pass

    with ThreadPoolExecutor(POOL) as pool:
        list(pool.map(run, jobs))


# ---------------------------------------------------------------- parametrization

def firewall_items(spec):
    """Sets and rules of our nft tables per host, as _firewall plans them from the host's plan."""
    items = []
    for host, plan in sorted(spec.plans_audited().items()):
        fw = plan["firewall"]
        desired = _firewall.plan_ruleset(_firewall.build_spec(
            fw["networks"], fw["flows"], fw["publications"], tunnels=fw.get("tunnels"),
            host_addresses=fw.get("host_addresses"), host_services=fw.get("host_services")))
        for table in desired["tables"]:
            tname = "%s/%s" % (table["family"], table["name"])
            for s in table["sets"]:
                items.append({"id": "%s-%s/%s" % (host, tname, s["name"]), "host": host, "kind": "set",
                              "family": table["family"], "table": table["name"], "name": s["name"], "want": s,
                              "path": _firewall_path(table, s["name"])})
            for chain in table["chains"]:
                header = dict((k, v) for k, v in chain.items() if k != "rules")
                seen = {}
                for i, rule in enumerate(chain["rules"]):
                    label = rule.get("comment") or "rule %d" % i
                    # several rules may share a comment (one per device): the nth of them
                    nth = seen.get(rule.get("comment") or "", 0)
                    seen[rule.get("comment") or ""] = nth + 1
                    items.append({"id": "%s-%s/%s/%s" % (host, tname, chain["name"], label), "host": host,
                                  "kind": "rule", "family": table["family"], "table": table["name"],
                                  "chain": chain["name"], "header": header, "label": label, "want": rule,
                                  "nth": nth, "path": _firewall_path(table, label)})
    return items


def _firewall_path(table, label):
    if label.startswith("flow ") or label.startswith("within zone"):
        return "netwire_zones (%s)" % label
    if label.startswith("publish"):
        return "netwire_containers.*.publish (%s)" % label
    for word in ("egress ", "hairpin ", "icc off "):
        if label.startswith(word):
            return "netwire_networks.%s (%s)" % (label[len(word):], label)
    return "netwire_networks (%s, table %s %s)" % (label, table["family"], table["name"])


def _param(metafunc, name, items):
    metafunc.parametrize(name, items, ids=[i["id"] for i in items])


def _pairs(spec, model, allowed):
    """The container pairs the model allows (or denies), once per protocol."""
    items = []
    for p in _expect.pairs(model):
        if p["allowed"] == allowed and spec.audited(p["src"], p["dst"]):
            for proto in ("icmp", "tcp"):
                items.append(dict(p, proto=proto, pair=p["id"], id="%s-%s" % (p["id"], proto)))
    return items


# The checks' parameters: name -> its items, from (spec, the audited hosts' plans, model).
PARAMETERS = {
    "bridge": lambda spec, plans, model: _expect.bridges(plans),
    "tunnel": lambda spec, plans, model: _expect.tunnels(plans),
    "attachment": lambda spec, plans, model: _expect.attachments(plans, model),
    "policy_rules": lambda spec, plans, model: _expect.policy_rules(plans, model),
    "policy_qdisc": lambda spec, plans, model: _expect.policy_qdiscs(plans, model),
    "direct_interface": lambda spec, plans, model: _expect.direct_interfaces(plans, model),
    "direct_host_link": lambda spec, plans, model: _expect.direct_host_links(plans, model),
    "nft_item": lambda spec, plans, model: firewall_items(spec),
    "audited_host": lambda spec, plans, model: spec.hosts,  # the names themselves are the ids
    "pair_allowed": lambda spec, plans, model: _pairs(spec, model, True),
    "pair_denied": lambda spec, plans, model: _pairs(spec, model, False),
    "egress_nat": lambda spec, plans, model: [e for e in _expect.egress(model)
                                              if e["nat"] and spec.audited(e["id"])],
    "egress_blocked": lambda spec, plans, model: [e for e in _expect.egress(model)
                                                  if not e["nat"] and spec.audited(e["id"])],
    "publication": lambda spec, plans, model: [p for p in _expect.publications(model) if spec.audited(p["container"])],
    "mtu_pair": lambda spec, plans, model: [p for p in _expect.mtu_pairs(model) if spec.audited(p["src"], p["dst"])],
    "host_ssh": lambda spec, plans, model: [p for p in _expect.host_ssh(model) if spec.audited(p["src"])],
    "spoof": lambda spec, plans, model: [p for p in _expect.spoofs(model) if spec.audited(p["src"], p["dst"])],
    "injection": lambda spec, plans, model: [p for p in _expect.injections(model, plans)
                                             if spec.audited(p["src"], p["victim"])],
    "name_resolves": lambda spec, plans, model: spec.name_checks()["resolves"],
    "name_hidden": lambda spec, plans, model: spec.name_checks()["hidden"],
    "name_refused": lambda spec, plans, model: spec.name_checks()["refused"],
    "dns_server": lambda spec, plans, model: _expect.dns_servers(plans),
    "bgp_session": lambda spec, plans, model: _expect.bgp_sessions(plans),
    "evpn_vni": lambda spec, plans, model: _expect.evpn_vnis(plans),
    "dhcp_server": lambda spec, plans, model: _expect.dhcp_servers(plans),
    "dhcp_lease": lambda spec, plans, model: _expect.dhcp_leases(plans, model),
    "catalog_member": lambda spec, plans, model: _expect.catalog_members(plans),
    "catalog_registration": lambda spec, plans, model: _expect.catalog_registrations(plans),
    "lb_frontend": lambda spec, plans, model: _expect.lb_frontends(plans),
    "service_name": lambda spec, plans, model: _expect.service_names(plans),
    "wireguard_device": lambda spec, plans, model: _expect.wireguard_devices(plans),
}


def pytest_generate_tests(metafunc):
    wanted = [n for n in PARAMETERS if n in metafunc.fixturenames]
    if not wanted:
        return
    spec = get_spec(metafunc.config)
    if spec.model is None:
        for n in wanted:
            metafunc.parametrize(n, [])
        return
    plans = spec.plans_audited()
    for n in wanted:
        items = PARAMETERS[n](spec, plans, spec.model)
        if n == "audited_host":
            metafunc.parametrize(n, items)
        else:
            _param(metafunc, n, items)


# ---------------------------------------------------------------- traffic, once per run

# Probes whose healthy outcome is an answer (for icmp/tcp pairs: where the model allows the flow).
EXPECT_SUCCESS = {"icmp", "tcp", "mtu", "egress", "publish"}


def _second_chance(probe, expect_success):
    """A probe that should succeed and did not gets one more bounded attempt.

    One lost packet must not fail an audit of a healthy network (a first packet through an OVS
    userspace datapath goes up to ovs-vswitchd; on a loaded host its upcall can take longer than a
    probe waits). A broken path fails both attempts. Probes expected to fail get no second chance:
    they are as strict as before and no slower.
    """
    result = probe()
    if expect_success and not result.get("ok"):
        again = probe()
        again["attempts"] = 2
        if again.get("ok") or not result.get("probe_failed"):
            return again
    return result


class Traffic:
    """Probe servers in every container, then every probe at once (bounded, in parallel)."""

    def __init__(self, spec):
        self.spec = spec
        self.netns = {}      # container -> netns path
        self.errors = {}     # container -> why it cannot be probed
        self.servers = {}    # container -> server report
        self.results = {}    # probe key -> result
        self._done = False
        self._lock = threading.Lock()

    def state_of(self, cname):
        return self.spec.states[self.spec.container_host(cname)]

    def _resolve(self, cname):
        c = self.spec.model["containers"][cname]
        st = self.state_of(cname)
        try:
            self.netns[cname] = st.netns_of(c["ref"], c["ref_type"])
        except AssertionError as exc:
            self.errors[cname] = str(exc)

    def _serve(self, cname, ports):
        res = self.state_of(cname).serve(self.netns[cname], cname, ports, SERVER_DEADLINE)
        self.servers[cname] = res

    def run(self):
        with self._lock:
            if self._done:
                return self
            self._done = True
            model = self.spec.model
            cnames = [c for c in sorted(model["containers"]) if self.spec.audited(c)]
            with ThreadPoolExecutor(POOL) as pool:
                list(pool.map(self._resolve, cnames))
                ports = _expect.server_ports(model, self.spec.probe_port)
                list(pool.map(lambda c: self._serve(c, ports[c]), [c for c in cnames if c in self.netns]))
                jobs = self._jobs()
                futures = dict((key, pool.submit(_second_chance, fn, self._expected(key))) for key, fn in jobs)
                for key, fut in futures.items():
                    try:
                        self.results[key] = fut.result()
                    except Exception as exc:  # a probe that could not run is a failed probe
                        self.results[key] = {"ok": False, "probe_failed": True, "error": "probe error: %s" % exc}
            return self

    def _expected(self, key):
        """Whether the healthy outcome of probe ``key`` is an answer."""
        kind, ident = key
        if kind in ("icmp", "tcp"):
            return self._allowed.get(ident, False)
        if kind == "egress":
            return self._nat.get(ident, False)
        return kind in EXPECT_SUCCESS

    def _jobs(self):
        model, jobs = self.spec.model, []
        port = self.spec.probe_port
        self._allowed = dict((p["id"], p["allowed"]) for p in _expect.pairs(model))
        self._nat = dict((e["id"], e["nat"]) for e in _expect.egress(model))
        for p in _expect.pairs(model):
            if p["src"] in self.netns and p["dst"] in self.netns:
                st, ns = self.state_of(p["src"]), self.netns[p["src"]]
                jobs.append((("icmp", p["id"]), lambda st=st, ns=ns, a=p["address"]: st.ping(ns, a)))
                jobs.append((("tcp", p["id"]), lambda st=st, ns=ns, a=p["address"]: st.connect(ns, "tcp", a, port)))
        for p in _expect.mtu_pairs(model):
            if p["src"] in self.netns and p["dst"] in self.netns:
                st, ns = self.state_of(p["src"]), self.netns[p["src"]]
                size = p["mtu"] - 28
                jobs.append((("mtu", p["id"]), lambda st=st, ns=ns, a=p["address"], s=size: st.ping(
                    ns, a, count=1, wait=2, size=s, dont_fragment=True)))
                jobs.append((("mtu+1", p["id"]), lambda st=st, ns=ns, a=p["address"], s=size + 1: st.ping(
                    ns, a, count=1, wait=2, size=s, dont_fragment=True)))
        for p in _expect.host_ssh(model):
            if p["src"] in self.netns:
                st, ns = self.state_of(p["src"]), self.netns[p["src"]]
                # the handshake alone: sshd sends its banner and then waits, so reading until EOF
                # would time out and call a reachable sshd unreachable
                jobs.append((("ssh", p["id"]), lambda st=st, ns=ns, p=p: st.connect(ns, "tcp-connect", p["address"],
                                                                                    p["port"])))
        outside = self.outside_ip()
        if outside:
            for e in _expect.egress(model):
                if e["container"] in self.netns:
                    st, ns = self.state_of(e["container"]), self.netns[e["container"]]
                    jobs.append((("egress", e["id"]), lambda st=st, ns=ns: st.ping(ns, outside)))
        for pub in _expect.publications(model):
            if pub["container"] not in self.netns:
                continue
            origin, target = self.publication_route(pub)
            if origin is None:
                continue
            st = self.spec.states[origin]
            jobs.append((("publish", pub["id"]), lambda st=st, pub=pub, t=target: st.connect(
                None, pub["proto"], t, pub["host_port"])))
        return jobs

    def outside_ip(self):
        for h in self.spec.hosts:
            ip = self.spec.hostvars.get(h, {}).get("netwire_lab_outside_ip")
            if ip:
                return ip
        return None

    def publication_route(self, pub):
        """(host to connect from, address to connect to) for a published port."""
        host = pub["host"]
        if pub["bind"].startswith("127."):
            return host, pub["bind"]
        target = pub["bind"]
        if target == "0.0.0.0":
            target = self.spec.plans[host]["underlay"]["address"]
        others = [h for h in self.spec.hosts if h != host]
        return (others[0] if others else host), target

    def stop(self):
        for cname, res in self.servers.items():
            if isinstance(res, dict) and res.get("pid"):
                try:
                    self.state_of(cname).kill(res["pid"])
                except Exception:  # the deadline stops it anyway
                    pass


@pytest.fixture(scope="session")
def traffic(spec):
    spec.traffic_run.result()
    return spec.traffic


@pytest.fixture(scope="session")
def attacks(traffic):
    """The attacks, once the probes are done: {("spoof"|"inject", id): {"sent": n, "received": n}}.

    Each is measured on the victim's echo-request counter, so attacks on one victim run one after
    another (victims in parallel), with a short wait for stragglers.
    """
    spec, model = traffic.spec, traffic.spec.model
    by_victim = {}
    for p in _expect.spoofs(model):
        if p["src"] in traffic.netns and p["dst"] in traffic.netns:
            by_victim.setdefault(p["dst"], []).append(("spoof", p["id"], p["src"], ("spoof", p["spoofed"],
                                                                                    p["address"])))
    for p in _expect.injections(model, spec.plans):
        if p["src"] in traffic.netns and p["victim"] in traffic.netns:
            vst = traffic.state_of(p["victim"])
            c = model["containers"][p["victim"]]
            try:
                mac = vst.container(c["ref"], c["ref_type"])["links"][p["victim_ifname"]]["address"]
            except (AssertionError, KeyError):
                continue
            by_victim.setdefault(p["victim"], []).append(("inject", p["id"], p["src"], (
                p["overlay"], p["target"], p["port"], p["vni"], mac, p["victim_address"], p["fake_source"])))
    results = {}

    def run(victim):
        vst, vns = traffic.state_of(victim), traffic.netns[victim]
        for kind, key, src, args in by_victim[victim]:
            before = vst.echo_requests(vns)
            sent = traffic.state_of(src).attack(traffic.netns[src], *args)
            time.sleep(1.5)
            after = vst.echo_requests(vns)
            if before is None or after is None:
                results[(kind, key)] = {"sent": sent, "received": None}
            else:
                results[(kind, key)] = {"sent": sent, "received": int(after) - int(before)}

    with ThreadPoolExecutor(POOL) as pool:
        list(pool.map(run, sorted(by_victim)))
    return results


# ---------------------------------------------------------------- names, once per run

class Names:
    """Every DNS query of the name matrix, from inside the containers' namespaces: one remote call per
    host (all its containers' namespaces at once), the hosts in parallel, alongside the traffic probes."""

    def __init__(self, spec):
        self.spec = spec
        self.checks = spec.name_checks()
        self.results = {}    # item id -> [answers, in the order asked]
        self.errors = {}     # container -> why it cannot be asked from
        self._done = False
        self._lock = threading.Lock()

    def items(self):
        return [(kind, i) for kind in ("resolves", "hidden", "refused") for i in self.checks[kind]]

    def _host(self, host, items):
        try:
            self._ask(host, items)
        except Exception as exc:  # a host that cannot be asked from fails its checks, not the run
            for _kind, item in items:
                self.errors.setdefault(item["container"], "DNS probe error on %s: %s" % (host, exc))

    def _ask(self, host, items):
        st = self.spec.states[host]
        batches, where = {}, {}
        for kind, item in items:
            c = self.spec.model["containers"][item["container"]]
            try:
                ns = st.netns_of(c["ref"], c["ref_type"])
            except AssertionError as exc:
                self.errors[item["container"]] = str(exc)
                continue
            batches.setdefault(ns, []).append({"id": "%s %s" % (kind, item["id"]), "server": item["server"],
                                               "names": item["names"]})
            where[ns] = item["container"]
        for ns, out in st.resolve_names(batches).items():
            if "error" in out:
                self.errors[where[ns]] = out["error"]
                continue
            self.results.update(out)

    def run(self):
        with self._lock:
            if self._done:
                return self
            self._done = True
            by_host = {}
            for kind, item in self.items():
                by_host.setdefault(item["host"], []).append((kind, item))
            with ThreadPoolExecutor(POOL) as pool:
                list(pool.map(lambda h: self._host(h, by_host[h]), sorted(by_host)))
            return self

    def answers(self, kind, item):
        """The answers to one item's names (AssertionError when it could not be asked)."""
        assert item["container"] not in self.errors, "cannot ask from %s: %s" % (
            item["container"], self.errors[item["container"]])
        trail = self.results.get("%s %s" % (kind, item["id"]))
        assert trail, "no answer recorded for %s" % item["id"]
        return trail


@pytest.fixture(scope="session")
def names(spec):
    spec.names_run.result()
    return spec.names


# ---------------------------------------------------------------- drift, once per run

@pytest.fixture(scope="session")
def drift(spec):
    return spec.drift_run.result()


# The modules run with their own Python on the host, as the roles run them (docs/hosts.md);
# Ansible expands this for each host.
MODULE_PYTHON = ("{{ netwire_module_python | default((host_prep_venv | default('/opt/netwire/venv'))"
                 " ~ '/bin/python') }}")


def _drift(spec):
    """Check-mode runs of host_network with each audited host's plan, in parallel."""
    from testinfra.modules.ansible import AnsibleException

    # the WireGuard public keys, as each host's own device shows them (role fabric collects them likewise)
    keys = {}
    for host in spec.hosts:
        for entry in spec.plans[host].get("wireguard") or []:
            dev = spec.states[host].wireguard(entry["name"])
            keys[host] = dev["public_key"] if dev else None

    def check(host):
        st = spec.states[host]
        try:
            res = st.host.ansible("netwire.fabric.host_network",
                                  json.dumps({"plan": spec.plans[host], "wireguard_keys": keys}),
                                  check=True, extra_vars={"ansible_python_interpreter": MODULE_PYTHON})
            # host_network always returns its actions; ansible-core 2.19 writes a failed module's
            # result without "failed", and testinfra then does not raise.
            return res if "actions" in res else dict(res, failed=True)
        except AnsibleException as exc:
            return dict(exc.result, failed=True)
        except Exception as exc:
            return {"failed": True, "msg": "cannot run netwire.fabric.host_network: %s" % exc}

    with ThreadPoolExecutor(POOL) as pool:
        return dict(zip(spec.hosts, pool.map(check, spec.hosts)))
