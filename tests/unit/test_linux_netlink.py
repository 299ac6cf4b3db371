"""The pyroute2 adapter: message flattening, one socket per namespace, error mapping."""

import os
import socket

import pytest

from ansible_collections.netwire.fabric.plugins.module_utils._contract import Context
from ansible_collections.netwire.fabric.plugins.module_utils._linux import netlink as _netlink
from ansible_collections.netwire.fabric.plugins.module_utils._errors import BackendError, MissingDependency


class Msg(dict):
    """A netlink message as pyroute2 hands it out: ``get_attr``, nested messages alike."""

    def __init__(self, d):
        dict.__init__(self, d)
        if "attrs" in d:
            self["attrs"] = [(k, Msg(v) if isinstance(v, dict) and "attrs" in v else v) for k, v in d["attrs"]]

    def get_attr(self, name):
        return next((v for k, v in self.get("attrs", []) if k == name), None)


BRIDGE_MSG = {
    "index": 7, "flags": 0x1003, "family": 0,
    "attrs": [
        ("IFLA_IFNAME", "nw-app"), ("IFLA_MTU", 1450), ("IFLA_ADDRESS", "02:00:00:00:00:07"),
        ("IFLA_IFALIAS", "netwire:bridge"), ("IFLA_OPERSTATE", "UP"), ("UNKNOWN", {"header": {}}),
        ("IFLA_LINKINFO", {"attrs": [("IFLA_INFO_KIND", "bridge"), ("IFLA_INFO_DATA", {"attrs": [
            ("IFLA_BR_FORWARD_DELAY", 1500), ("IFLA_BR_STP_STATE", 0), ("IFLA_BR_VLAN_FILTERING", 0)]})]}),
        ("IFLA_AF_SPEC", {"attrs": [("AF_INET6", {"attrs": [("IFLA_INET6_CONF", {"disable_ipv6": 0})]})]}),
    ],
}
PORT_MSG = {
    "index": 9, "flags": 0x1002, "family": 0,
    "attrs": [
        ("IFLA_IFNAME", "nw0123"), ("IFLA_MTU", 1450), ("IFLA_MASTER", 7), ("IFLA_LINK", 2),
        ("IFLA_LINK_NETNSID", 1),
        ("IFLA_LINKINFO", {"attrs": [("IFLA_INFO_KIND", "veth"), ("IFLA_INFO_SLAVE_KIND", "bridge"),
                                     ("IFLA_INFO_SLAVE_DATA", {"attrs": [("IFLA_BRPORT_MODE", 1)]})]}),
        ("IFLA_AF_SPEC", {"attrs": [("AF_INET", {})]}),
    ],
}


def test_parse_link_flattens_what_the_managers_compare():
    link = _netlink.parse_link(Msg(BRIDGE_MSG))
    assert link["ifname"] == "nw-app" and link["kind"] == "bridge" and link["up"] is True
    assert link["data"] == {"forward_delay": 1500, "stp_state": 0, "vlan_filtering": 0}
    assert link["alias"] == "netwire:bridge" and "ipv6_disabled" not in link, "read for one link only"
    assert _netlink._ipv6_disabled(_netlink._attrs(Msg(BRIDGE_MSG))) is False
    assert _netlink._ipv6_disabled(_netlink._attrs(Msg(PORT_MSG))) is True, "no AF_INET6 block: IPv6 is off"
    port = _netlink.parse_link(Msg(PORT_MSG))
    assert port["up"] is False and port["master"] == 7 and port["link"] == 2 and port["link_netnsid"] == 1
    assert port["slave"] == {"mode": 1} and port["alias"] is None


def test_parse_addr_and_route():
    v4 = {"index": 7, "family": 2, "prefixlen": 24, "attrs": [("IFA_ADDRESS", "10.1.0.1"), ("IFA_LOCAL", "10.1.0.1")]}
    ll = {"index": 7, "family": 10, "prefixlen": 64, "attrs": [("IFA_ADDRESS", "fe80::1")]}
    assert _netlink.parse_addr(v4)["address"] == "10.1.0.1/24"
    assert _netlink.parse_addr(ll)["link_local"] is True
    route = _netlink.parse_route({"family": 2, "dst_len": 0, "proto": 110, "scope": 0, "table": 254,
                                  "attrs": [("RTA_GATEWAY", "10.1.0.1"), ("RTA_OIF", 3)]})
    assert route["dst"] == "0.0.0.0/0" and route["gateway"] == "10.1.0.1" and route["proto"] == 110


class CountingIPRoute:
    opened = []

    def __init__(self, fileno=None):
        self.netns = fileno
        CountingIPRoute.opened.append(fileno)

    def get_links(self):
        return [Msg(BRIDGE_MSG), Msg(PORT_MSG)]

    def get_addr(self):
        return []

    def link(self, *args, **kwargs):
        raise _netlink.NetlinkError(95, "Operation not supported") if kwargs.get("kind") == "gretap" else \
            _netlink.NetlinkError(17, "File exists")

    def close(self):
        pass


class FakeSocket:
    def __init__(self, netns):
        self.netns = netns

    def detach(self):
        return "fd of %s" % self.netns


def test_one_socket_per_namespace_and_cached_dumps(monkeypatch):
    CountingIPRoute.opened = []
    monkeypatch.setattr(_netlink, "IPRoute", CountingIPRoute)
    monkeypatch.setattr(_netlink, "route_socket_in", FakeSocket)
    with _netlink.NetlinkSession() as ctx:
        for dummy in range(3):
            assert ctx.link("nw-app")["index"] == 7
            assert ctx.link("nw0123", "/run/netns/c1")["master"] == 7
            ctx.link_addresses(7)
    assert CountingIPRoute.opened == [None, "fd of /run/netns/c1"]


def test_a_missing_namespace_is_an_error_and_is_not_created(tmp_path):
    missing = str(tmp_path / "no-such-netns")
    with pytest.raises(OSError):
        _netlink.route_socket_in(missing)
    assert not os.path.exists(missing)


def test_the_route_socket_is_a_netlink_route_socket():
    sock = _netlink.route_socket_in("/proc/self/ns/net")
    try:
        assert (sock.family, sock.type, sock.proto) == (socket.AF_NETLINK, socket.SOCK_DGRAM, 0)
    finally:
        sock.close()


def test_netlink_errors_become_collection_errors(monkeypatch):
    monkeypatch.setattr(_netlink, "IPRoute", CountingIPRoute)
    with _netlink.NetlinkSession() as ctx:
        with pytest.raises(MissingDependency, match="Failed to create tunnel 'gt': Operation not supported"):
            ctx.call("create", "tunnel", "gt", "link", "add", kind="gretap")
        with pytest.raises(BackendError, match="Failed to create bridge 'br': File exists \\(errno 17\\)"):
            ctx.call("create", "bridge", "br", "link", "add", kind="bridge")


def test_netlink_errors_carry_their_parts_as_fields(monkeypatch):
    monkeypatch.setattr(_netlink, "IPRoute", CountingIPRoute)
    with _netlink.NetlinkSession() as ctx:
        with pytest.raises(BackendError) as err:
            ctx.call("create", "bridge", "br", "link", "add", kind="bridge")
    e = err.value
    assert (e.errno, e.verb, e.kind, e.name, e.reason) == (17, "create", "bridge", "br", "File exists (errno 17)")
    assert e.result() == {"errno": 17}


def test_expected_links_exist_only_in_check_mode(monkeypatch):
    monkeypatch.setattr(_netlink, "IPRoute", CountingIPRoute)
    with Context(True, netlink=_netlink.NetlinkSession(check_mode=True)) as ctx:
        ctx.expect("nw-new", "bridge", mtu=1450)
        ctx.expect("vx-new", "vxlan", master="nw-new")
        assert ctx.link("nw-new")["index"] < 0 and ctx.link("nw-new")["mtu"] == 1450
        assert ctx.link("vx-new")["master"] == ctx.link("nw-new")["index"]
        ctx.expect("nw-app", "bridge", mtu=9000)
        assert ctx.link("nw-app")["mtu"] == 1450, "a real link is never shadowed"
    with Context(False, netlink=_netlink.NetlinkSession(check_mode=False)) as ctx:
        ctx.expect("nw-new", "bridge")
        assert ctx.link("nw-new") is None


def test_ignored_errno_returns_none_and_read_link_bypasses_the_cache(monkeypatch):
    monkeypatch.setattr(_netlink, "IPRoute", CountingIPRoute)
    with _netlink.NetlinkSession() as ctx:
        assert ctx.call("create", "bridge", "br", "link", "add", kind="bridge", ignore=(17,)) is None
        with pytest.raises(BackendError, match="Failed to read link 'nw-app'"):
            ctx.read_link("nw-app")


def test_links_created_by_others_are_waited_for_and_converged():
    """OVS internal ports: ovs-vswitchd creates them, the collection sets their addresses and up state."""
    import errno

    from tests.unit.linux_fakes import FakeSession, link
    from ansible_collections.netwire.fabric.plugins.module_utils._linux import linkops

    class Session(FakeSession):
        def read_link(self, name, netns=None):
            return self.link(name, netns)

    ctx = Session([link(7, "br-x", up=False)], addresses={(None, 7): ["10.0.0.9/24", "10.0.0.10/24"]})
    state = linkops.link_state(ctx, "br-x")
    assert state == {"exists": True, "up": False, "addresses": ["10.0.0.10/24", "10.0.0.9/24"]}
    assert linkops.link_state(ctx, "nope") == {"exists": False, "up": False, "addresses": []}
    add, remove = linkops.diff_addresses(state["addresses"], ["10.0.0.1/24", "10.0.0.9/24"])
    linkops.converge_link(ctx, "br-x", add, remove, what="OVS internal port")
    assert [(m, a[0], k.get("address"), k.get("state")) for m, a, k in ctx.calls] == [
        ("addr", "del", "10.0.0.10", None), ("addr", "add", "10.0.0.1", None), ("link", "set", None, "up")]
    assert ctx.calls[1][2]["ignore"] == (errno.EEXIST,), "an address already there is not an error"


class KernelIPRoute:
    """A namespace's links in memory, behind the IPRoute calls the session makes; counts the dumps."""

    def __init__(self, fileno=None):
        self.netns = fileno
        self.msgs = {7: Msg(BRIDGE_MSG), 9: Msg(PORT_MSG)}
        self.dumps = 0
        self.gets = []

    def get_links(self):
        self.dumps += 1
        return list(self.msgs.values())

    def link(self, command, **kwargs):
        if command == "get":
            self.gets.append(kwargs)
            found = [m for i, m in self.msgs.items()
                     if kwargs.get("index") == i or kwargs.get("ifname") == m.get_attr("IFLA_IFNAME")]
            if not found:
                raise _netlink.NetlinkError(19, "No such device")
            return found
        if command == "add":
            index = max(self.msgs) + 1
            self.msgs[index] = Msg({"index": index, "flags": 0, "attrs": [("IFLA_IFNAME", kwargs["ifname"])]})
        elif command == "del":
            del self.msgs[kwargs["index"]]
        elif command == "set" and "mtu" in kwargs:
            m = self.msgs[kwargs["index"]]
            m["attrs"] = [(k, kwargs["mtu"] if k == "IFLA_MTU" else v) for k, v in m["attrs"]]
        return []

    def get_addr(self):
        return []

    def addr(self, *args, **kwargs):
        return []

    def close(self):
        pass


def test_a_change_reads_again_only_the_links_it_touched(monkeypatch):
    """One dump per namespace: after a request, only the link it named is read again (issue 20:
    re-reading every link after each change made a build quadratic in its links)."""
    monkeypatch.setattr(_netlink, "IPRoute", KernelIPRoute)
    with _netlink.NetlinkSession() as s:
        first = s.links()
        kernel = s.ipr()
        s.call("set", "interface", "nw0123", "link", "set", index=9, mtu=1400)
        assert s.link("nw0123")["mtu"] == 1400 and first["nw0123"]["mtu"] == 1450, "a new dict, the old one unchanged"
        s.call("create", "interface", "nwnew", "link", "add", ifname="nwnew", kind="dummy")
        assert s.link("nwnew")["index"] == 10
        s.call("delete", "interface", "nw-app", "link", "del", index=7)
        assert sorted(s.links()) == ["nw0123", "nwnew"]
        assert kernel.dumps == 1, "the changed links were read one by one"
        assert kernel.gets == [{"index": 9}, {"ifname": "nwnew"}, {"index": 7}]
        s.call("address", "interface", "nw0123", "addr", "add", index=9, address="10.1.0.2", prefixlen=24)
        s.links()
        assert kernel.dumps == 1 and len(kernel.gets) == 3, "an address request leaves the links alone"


def test_a_link_created_or_deleted_drops_the_other_namespaces_reads(monkeypatch):
    """A veth's peer lives in another namespace, and deleting one end deletes the other."""
    monkeypatch.setattr(_netlink, "IPRoute", KernelIPRoute)
    monkeypatch.setattr(_netlink, "route_socket_in", FakeSocket)
    with _netlink.NetlinkSession() as s:
        s.links("/run/netns/c1")
        s.links()
        container = s.ipr("/run/netns/c1")
        s.call("set", "interface", "nw0123", "link", "set", index=9, mtu=1400)
        s.links("/run/netns/c1")
        assert container.dumps == 1, "a change of one host link leaves the container's reads"
        s.call("delete", "interface", "nw0123", "link", "del", index=9)
        s.links("/run/netns/c1")
        assert container.dumps == 2, "read again: the deleted link's peer may have been there"


class PolicyIPRoute:
    """Counts the dumps of routes, rules and qdiscs; every request succeeds."""

    def __init__(self, fileno=None):
        self.dumps = {"routes": 0, "rules": 0, "qdiscs": 0}
        self.families = {"routes": set(), "rules": set()}

    def get_routes(self, family=None, **kwargs):
        self.dumps["routes"] += 1
        self.families["routes"].add(family)
        return []

    def get_rules(self, family=None):
        self.dumps["rules"] += 1
        self.families["rules"].add(family)
        return []

    def get_qdiscs(self):
        self.dumps["qdiscs"] += 1
        return []

    def rule(self, *args, **kwargs):
        return []

    def tc(self, *args, **kwargs):
        return []

    def route(self, *args, **kwargs):
        return []

    def close(self):
        pass


def test_rule_tc_and_route_requests_drop_their_reads_of_every_table(monkeypatch):
    monkeypatch.setattr(_netlink, "IPRoute", PolicyIPRoute)
    with _netlink.NetlinkSession() as s:
        def read():
            s.routes(), s.routes(table=None), s.rules(), s.qdiscs()
            return dict(s.ipr().dumps)
        # IPv4 and IPv6 in one dump each (AF_UNSPEC: issue 20), main and every table
        assert read() == {"routes": 2, "rules": 1, "qdiscs": 1}, "IPv4 and IPv6 at once, main and every table"
        assert s.ipr().families == {"routes": set([socket.AF_UNSPEC]), "rules": set([socket.AF_UNSPEC])}
        assert read() == {"routes": 2, "rules": 1, "qdiscs": 1}, "cached"
        s.call("add", "rule", "x", "rule", "add", priority=1000, table=100)
        assert read() == {"routes": 2, "rules": 2, "qdiscs": 1}
        s.call("set", "qdisc on", "eth1", "tc", "replace", "tbf", 2, 0x4e570000)
        assert read() == {"routes": 2, "rules": 2, "qdiscs": 2}
        s.call("add", "route", "x", "route", "replace", dst="0.0.0.0/0", table=100)
        assert read() == {"routes": 4, "rules": 2, "qdiscs": 2}


def test_invalidate_before_any_read_opens_no_netlink_session():
    """An ovs_bridge run without addresses forgets the link reads after its transaction: with none made,
    that must not open a session (it imported pyroute2, 0.1 s a run)."""
    ctx = Context(False)
    ctx.invalidate()
    assert ctx._netlink is None and "netlink" not in ctx._made

    class Session(object):
        dropped = []

        def invalidate(self, netns=None):
            self.dropped.append(netns)

    ctx = Context(False, netlink=Session())
    ctx.invalidate("ns1")
    assert Session.dropped == ["ns1"]
