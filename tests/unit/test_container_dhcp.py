"""container_attach's DHCP client and resolver: the pure parts, and the plans they queue."""

import os
import subprocess

import pytest

from tests.unit.linux_fakes import FakeSession, link
from tests.unit.test_linux_attach import NS, Manager, bridge, paired, params

from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.module_utils._host import attach as at
from ansible_collections.netwire.fabric.plugins.module_utils._host import dhcp
from ansible_collections.netwire.fabric.plugins.module_utils._host import resolver as rv
from ansible_collections.netwire.fabric.plugins.module_utils._errors import InvalidParameter, MissingDependency
from ansible_collections.netwire.fabric.plugins.module_utils._linux.netns import ContainerNamespace

LEASE = {"ip": "10.30.1.10", "mask": "24", "subnet": "255.255.255.0", "router": "10.30.1.1",
         "serverid": "10.30.1.1"}


# ---------------------------------------------------------------- the lease

def test_a_lease_equal_to_the_model_is_accepted():
    assert dhcp.lease_address(LEASE) == "10.30.1.10/24"
    assert dhcp.lease_problem(LEASE, "10.30.1.10/24", "10.30.1.1") is None
    assert dhcp.lease_problem(dict(LEASE, mask=""), "10.30.1.10/24") is None, "the dotted subnet is enough"
    assert dhcp.lease_problem(dict(LEASE, router="10.30.1.1 10.30.1.2"), "10.30.1.10/24", "10.30.1.1") is None


@pytest.mark.parametrize("lease,gateway,fragment", [
    (dict(LEASE, ip="10.30.1.77"), None, "expected the lease 10.30.1.10/24, the DHCP server (server 10.30.1.1)"
                                         " offered 10.30.1.77/24"),
    (dict(LEASE, mask="16", subnet="255.255.0.0"), None, "offered 10.30.1.10/16"),
    (dict(LEASE, router="10.30.1.254"), "10.30.1.1", "expected the router 10.30.1.1 in the lease of 10.30.1.10/24,"
                                                     " the DHCP server (server 10.30.1.1) gave 10.30.1.254"),
    (dict(LEASE, router=""), "10.30.1.1", "gave no router"),
    ({"serverid": "10.30.1.1"}, None, "no usable address"),
])
def test_a_lease_that_differs_says_what_was_expected_and_offered(lease, gateway, fragment):
    assert fragment in dhcp.lease_problem(dhcp.parse_lease(
        "\n".join("%s=%s" % kv for kv in lease.items())), "10.30.1.10/24", gateway)


def test_the_event_script_records_a_bound_lease_and_nothing_else(tmp_path):
    script = tmp_path / "event.sh"
    script.write_text(dhcp.LEASE_SCRIPT)
    script.chmod(0o700)
    out = tmp_path / "lease"
    env = dict(LEASE, PATH="/usr/bin:/bin", NETWIRE_LEASE_FILE=str(out), interface="eth1")
    for event in ("deconfig", "leasefail", "nak"):
        subprocess.run([str(script), event], env=env, check=True, timeout=10)
        assert not out.exists(), event
    subprocess.run([str(script), "bound"], env=env, check=True, timeout=10)
    assert dhcp.parse_lease(out.read_text()) == LEASE


def test_udhcpc_is_bounded_and_configures_nothing():
    argv = dhcp.udhcpc_argv("/bin/busybox", "eth1", "/tmp/x/event.sh")
    assert argv[:2] == ["/bin/busybox", "udhcpc"]
    assert argv[argv.index("-t") + 1] == str(dhcp.DHCP_TRIES) and argv[argv.index("-T") + 1] == str(dhcp.DHCP_PAUSE)
    assert "-q" in argv and "-n" in argv and "-R" not in argv and "-b" not in argv
    assert argv[argv.index("-s") + 1] == "/tmp/x/event.sh" and argv[argv.index("-i") + 1] == "eth1"
    assert dhcp.DHCP_TRIES * dhcp.DHCP_PAUSE <= 10


def test_busybox_missing_is_named(tmp_path, monkeypatch):
    monkeypatch.setattr(dhcp.shutil, "which", lambda name: None)
    with pytest.raises(MissingDependency, match="busybox-static"):
        dhcp.find_busybox((str(tmp_path / "busybox"),))


# ---------------------------------------------------------------- the plan

@pytest.mark.parametrize("kw,fragment", [
    (dict(dhcp=True), "dhcp needs addresses"),
    (dict(dhcp=True, addresses=["fd00::5/64"]), "first one IPv4"),
    (dict(resolver={"servers": [], "search": []}), "at least one server"),
    (dict(resolver={"servers": ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"]}), "only the first 3"),
    (dict(resolver={"servers": ["dns.example"]}), "not an IP address"),
    (dict(resolver={"servers": ["10.0.0.1"], "search": ["bad domain"]}), "not a valid DNS name"),
])
def test_bad_dhcp_and_resolver_input(kw, fragment):
    with pytest.raises(InvalidParameter, match=fragment):
        at.normalize_params(params(**kw))


def test_dhcp_in_check_mode_announces_the_lease_after_up_and_before_the_routes(monkeypatch):
    monkeypatch.setattr(dhcp, "find_busybox", lambda: "/bin/busybox")
    ctx = FakeSession([bridge()], check_mode=True, namespaces={NS.path: [link(1, "lo")]})
    res = Manager(ctx, params(addresses=["10.1.0.5/24"], gateway="10.1.0.1", dhcp=True)).run()
    host = _names.veth_host_name("c1", "eth1")
    assert res["actions"] == [
        "create veth %s <-> c1:eth1" % host, "plug %s into bridge nwbr" % host, "set %s and eth1 up" % host,
        "obtain 10.1.0.5/24 by DHCP on eth1", "add route 0.0.0.0/0 via 10.1.0.1",
        "announce 10.1.0.5 with gratuitous ARP"]
    assert ctx.calls == [] and res["attachment"]["addresses"] == ["10.1.0.5/24"]


def test_dhcp_with_the_address_in_place_asks_nothing(monkeypatch):
    def no_dhcp(*args, **kwargs):
        raise AssertionError("DHCP asked for an address already in place")
    monkeypatch.setattr(dhcp, "request_lease", no_dhcp)
    monkeypatch.setattr(dhcp, "find_busybox", no_dhcp)
    host, peer = paired()
    ctx = FakeSession([bridge(), host], namespaces={NS.path: [link(1, "lo"), peer]},
                      addresses={(NS.path, 2): ["10.1.0.5/24"]},
                      routes={NS.path: [{"dst": "0.0.0.0/0", "gateway": "10.1.0.1", "oif": 2, "proto": 110,
                                         "table": 254, "priority": None}]})
    res = Manager(ctx, params(addresses=["10.1.0.5/24"], gateway="10.1.0.1", dhcp=True)).run()
    assert not res["changed"] and ctx.calls == []


def _run_dhcp(monkeypatch, lease):
    monkeypatch.setattr(dhcp, "find_busybox", lambda: "/bin/busybox")
    monkeypatch.setattr(dhcp, "request_lease", lambda *a, **kw: (lease, 4.0, "udhcpc: no lease, failing"))
    host, peer = paired()
    ctx = FakeSession([bridge(), host], namespaces={NS.path: [link(1, "lo"), peer]})
    return ctx, Manager(ctx, params(addresses=["10.1.0.5/24"], gateway="10.1.0.1", dhcp=True))


def test_a_matching_lease_sets_the_address_without_lifetime(monkeypatch):
    ctx, mgr = _run_dhcp(monkeypatch, dict(LEASE, ip="10.1.0.5", router="10.1.0.1"))
    mgr.run()
    adds = [c for c in ctx.calls if c[0] == "addr"]
    assert len(adds) == 1 and adds[0][2]["address"] == "10.1.0.5" and adds[0][2]["prefixlen"] == 24
    assert not any(k in adds[0][2] for k in ("valid_lft", "preferred_lft")), "a lease time must not expire it"
    assert [c for c in ctx.calls if c[0] == "route"][0][2]["gateway"] == "10.1.0.1"


@pytest.mark.parametrize("lease,fragment", [
    (None, "no DHCP server answered on nwbr within 4 s (3 discovers from eth1 for 10.1.0.5/24; no address was set)"),
    (dict(LEASE, ip="10.1.0.77", router="10.1.0.1"), "expected the lease 10.1.0.5/24"),
    (dict(LEASE, ip="10.1.0.5", router="10.1.0.9"), "expected the router 10.1.0.1"),
])
def test_no_or_a_wrong_lease_fails_before_any_address_or_route(monkeypatch, lease, fragment):
    ctx, mgr = _run_dhcp(monkeypatch, lease)
    with pytest.raises(Exception) as err:
        mgr.run()
    assert fragment in str(err.value)
    assert not [c for c in ctx.calls if c[0] in ("addr", "route")]


# ---------------------------------------------------------------- the resolver

OWNER = "netwire:attach:docker:web1/eth1"
WANT = {"servers": ["10.30.1.1"], "search": ["dmz.netwire.internal", "netwire.internal"]}


def test_render_and_ownership():
    text = rv.render(WANT, OWNER)
    assert text.splitlines() == [_names.FILE_MARK, rv.OWNER_PREFIX + OWNER, "nameserver 10.30.1.1",
                                 "search dmz.netwire.internal netwire.internal"]
    assert rv.owner_of(text) == OWNER and rv.owner_of("nameserver 1.1.1.1\n") is None and rv.owner_of(None) is None
    assert rv.owner_of(_names.FILE_MARK + "\nnameserver 1.1.1.1\n") == ""
    assert rv.decide_present(text, text, OWNER) == "keep"
    assert rv.decide_present(rv.render({"servers": ["10.9.9.9"], "search": []}, OWNER), text, OWNER) == "write"
    assert rv.decide_present("nameserver 1.1.1.1\n", text, OWNER) == "save"
    assert rv.decide_present(None, text, OWNER) == "save"
    assert rv.decide_present(rv.render(WANT, "netwire:attach:pid:42/eth1"), text, OWNER) == "refuse"
    assert rv.decide_present(rv.render(WANT, OWNER[:-1] + "2"), text, OWNER) == "write", "moved to eth1"
    assert rv.decide_absent(text, OWNER, True) == "restore"
    assert rv.decide_absent(text, OWNER, False) == "remove"
    assert rv.decide_absent("# edited by hand\n" + text, OWNER, True) == "leave"
    assert rv.decide_absent(rv.render(WANT, OWNER + "2"), OWNER, True) == "leave"


class Plan(object):
    def __init__(self):
        self.actions, self.steps = [], []

    def step(self, action, func, *args):
        self.actions.append(action)
        self.steps.append((func, args))

    def apply(self):
        for func, args in self.steps:
            func(*args)


def test_docker_file_is_written_in_place_and_restored(tmp_path):
    path = tmp_path / "resolv.conf"
    path.write_text("nameserver 192.0.2.53\n")
    inode = os.stat(str(path)).st_ino
    ns = ContainerNamespace("web1", "docker", "/proc/1/ns/net", "docker:web1", "web1", resolv_conf=str(path))
    rf = rv.resolver_file(ns, "web1", "auto", "eth1")
    plan = Plan()
    before, after = rf.plan_present(plan, WANT)
    assert before == "nameserver 192.0.2.53\n" and after == rv.render(WANT, OWNER)
    assert path.read_text() == before, "planning writes nothing"
    plan.apply()
    assert path.read_text() == after and os.stat(str(path)).st_ino == inode, "the bind-mounted inode is kept"
    assert (tmp_path / "resolv.conf.netwire-orig").read_text() == before
    again = Plan()
    assert rf.plan_present(again, WANT) == (after, after) and again.actions == []
    absent = Plan()
    assert rf.plan_absent(absent) == (after, before)
    absent.apply()
    assert path.read_text() == before and os.stat(str(path)).st_ino == inode
    assert not (tmp_path / "resolv.conf.netwire-orig").exists()


def test_a_file_edited_by_someone_else_is_left_on_detach(tmp_path):
    path = tmp_path / "resolv.conf"
    path.write_text("nameserver 192.0.2.53\n")
    ns = ContainerNamespace("web1", "docker", "/proc/1/ns/net", "docker:web1", "web1", resolv_conf=str(path))
    rf = rv.resolver_file(ns, "web1", "auto", "eth1")
    plan = Plan()
    rf.plan_present(plan, WANT)
    plan.apply()
    path.write_text("nameserver 192.0.2.99\n")
    absent = Plan()
    assert rf.plan_absent(absent) == ("nameserver 192.0.2.99\n",) * 2
    absent.apply()
    assert path.read_text() == "nameserver 192.0.2.99\n"


def test_named_namespace_file_is_created_and_removed(tmp_path, monkeypatch):
    monkeypatch.setattr(rv, "NETNS_ETC", str(tmp_path))
    ns = ContainerNamespace("blue", "netns", "/run/netns/blue", "netns:blue", "blue")
    rf = rv.resolver_file(ns, "blue", "auto", "eth1")
    plan = Plan()
    assert rf.plan_present(plan, WANT) == (None, rv.render(WANT, "netwire:attach:netns:blue/eth1"))
    plan.apply()
    assert (tmp_path / "blue" / "resolv.conf").read_text().startswith(_names.FILE_MARK)
    # the namespace is gone by detach time: the file is still found by the name
    gone = rv.resolver_file(None, "blue", "auto", "eth1")
    absent = Plan()
    gone.plan_absent(absent)
    absent.apply()
    assert not (tmp_path / "blue").exists()
    assert rv.resolver_file(None, "blue", "auto", "eth1") is None


def test_pid_and_path_references_are_skipped_with_a_reason():
    ns = ContainerNamespace("4242", "pid", "/proc/4242/ns/net", "pid:4242", "pid4242", pid=4242)
    assert "no resolv.conf that netwire can own" in rv.resolver_file(ns, "4242", "auto", "eth1").skip


def test_a_purged_attachment_puts_back_its_named_namespace_file(tmp_path, monkeypatch):
    monkeypatch.setattr(rv, "NETNS_ETC", str(tmp_path))
    ns = ContainerNamespace("blue", "netns", "/run/netns/blue", "netns:blue", "blue")
    plan = Plan()
    rv.resolver_file(ns, "blue", "auto", "eth1").plan_present(plan, WANT)
    plan.apply()
    alias = _names.attach_alias("netns:blue", "eth2")
    assert rv.restore_after_removal(alias) == [], "another interface's purge leaves it"
    alias = _names.attach_alias("netns:blue", "eth1")
    assert rv.restore_after_removal(alias, check_mode=True) == ["remove %s/blue/resolv.conf" % tmp_path]
    assert (tmp_path / "blue" / "resolv.conf").exists()
    assert rv.restore_after_removal(alias) == ["remove %s/blue/resolv.conf" % tmp_path]
    assert not (tmp_path / "blue").exists()
    assert rv.restore_after_removal(_names.attach_alias("pid:42", "eth1")) == []
    assert rv.restore_after_removal("netwire:bridge") == []
