"""container_attach: normalizer, route planning, bridge backend seam, planner with fakes."""

import pytest

from tests.unit.linux_fakes import FakeSession, link

from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.module_utils._host import attach as at
from ansible_collections.netwire.fabric.plugins.module_utils._host import backends
from ansible_collections.netwire.fabric.plugins.module_utils._errors import InvalidParameter, NotOwned
from ansible_collections.netwire.fabric.plugins.module_utils._linux.netns import ContainerNamespace

BASE = dict(container="c1", container_type="auto", state="present", bridge="nwbr", bridge_type="auto",
            ifname="eth1", host_ifname=None, addresses=[], mac=None, mac_seed=None, mtu=None, gateway=None,
            gateway6=None, routes=[], hairpin=False, gratuitous_arp=True)
NS = ContainerNamespace("c1", "netns", "/run/netns/c1", "netns:c1", "c1")


def params(**kw):
    p = dict(BASE)
    p.update(kw)
    return p


@pytest.mark.parametrize("kw,fragment", [
    (dict(addresses=["10.1.0.5"]), "no prefix"),
    (dict(addresses=["10.1.0.0/24"]), "network address"),
    (dict(addresses=["10.1.0.255/24"]), "broadcast address"),
    (dict(addresses=["10.1.0.5/40"]), "not a valid CIDR"),
    (dict(ifname="e" * 16), "longer than 15"),
    (dict(host_ifname="h" * 16), "longer than 15"),
    (dict(bridge=None), "bridge is required"),
    (dict(mac="00:11:22:33:44:55", mac_seed="x"), "mutually exclusive"),
    (dict(addresses=["10.1.0.5/24"], gateway="fd00::1"), "is not an IPv4"),
    (dict(addresses=["fd00::5/64"], gateway="10.1.0.1"), "needs an IPv4 address"),
    (dict(addresses=["10.1.0.5/24"], gateway="10.1.0.5"), "own addresses"),
    (dict(routes=[{"dest": "10.9.0.0/16", "via": "fd00::1"}]), "mixes IPv4 and IPv6"),
    (dict(routes=[{"dest": "0.0.0.0/0", "via": "10.1.0.1"}]), "use gateway"),
    (dict(routes=[{"dest": "10.9.0.1/16"}]), "not a valid network"),
])
def test_bad_input(kw, fragment):
    with pytest.raises(InvalidParameter, match=fragment):
        at.normalize_params(params(**kw))


def test_gateway_outside_the_subnet_gets_a_host_route_first():
    p = at.normalize_params(params(addresses=["10.1.0.5/24"], gateway="10.254.0.1",
                                   routes=[{"dest": "10.9.0.0/16", "via": "10.1.0.1"}]))
    assert at.wanted_routes(p) == [
        {"dest": "0.0.0.0/0", "via": "10.254.0.1"},
        {"dest": "10.9.0.0/16", "via": "10.1.0.1"},
        {"dest": "10.254.0.1/32", "via": None},
    ]
    inside = at.normalize_params(params(addresses=["10.1.0.5/24"], gateway="10.1.0.1"))
    assert at.wanted_routes(inside) == [{"dest": "0.0.0.0/0", "via": "10.1.0.1"}]


def test_host_names_and_aliases_are_deterministic():
    assert _names.veth_host_name("web1", "eth1") == _names.veth_host_name("web1", "eth1")
    assert len(_names.veth_host_name("web1", "eth1")) == 15
    assert at.attach_alias("docker:web1", "eth1") == "netwire:attach:docker:web1/eth1"


class Manager(at.ContainerAttachManager):
    """The manager with the container already resolved (no Docker in unit tests)."""

    def run(self):
        self.params = at.normalize_params(self.raw_params)
        self.ns = NS
        before = self.read_state()
        self.plan_present(before)
        self.plan.apply()
        return {"changed": self.plan.changed, "actions": self.plan.actions, "attachment": self.predicted}


def bridge(kind="bridge", mtu=1450):
    return link(5, "nwbr", kind=kind, alias="netwire:bridge", mtu=mtu)


def test_fresh_attach_in_check_mode():
    ctx = FakeSession([bridge()], check_mode=True, namespaces={NS.path: [link(1, "lo")]})
    res = Manager(ctx, params(addresses=["10.1.0.5/24"], gateway="10.1.0.1")).run()
    host = _names.veth_host_name("c1", "eth1")
    assert res["actions"] == [
        "create veth %s <-> c1:eth1" % host, "plug %s into bridge nwbr" % host, "add address 10.1.0.5/24 to eth1",
        "set %s and eth1 up" % host, "add route 0.0.0.0/0 via 10.1.0.1", "announce 10.1.0.5 with gratuitous ARP"]
    assert ctx.calls == []
    assert res["attachment"]["mtu"] == 1450, "defaults to the bridge MTU"
    assert res["attachment"]["mac"] == _names.container_mac("c1", "eth1")


def paired(host_alias=None, peer_alias=None, master=5, mac=None, mode=0):
    host_name = _names.veth_host_name("c1", "eth1")
    alias = at.attach_alias("netns:c1", "eth1")
    host = link(20, host_name, kind="veth", alias=host_alias or alias, master=master, peer=2, mtu=1450,
                slave={"mode": mode})
    peer = link(2, "eth1", kind="veth", alias=peer_alias or alias, peer=20, mtu=1450,
                mac=mac or _names.container_mac("c1", "eth1"))
    return host, peer


def test_converged_attachment_is_not_changed():
    host, peer = paired()
    ctx = FakeSession([bridge(), host], namespaces={NS.path: [link(1, "lo"), peer]},
                      addresses={(NS.path, 2): ["10.1.0.5/24"]},
                      routes={NS.path: [{"dst": "0.0.0.0/0", "gateway": "10.1.0.1", "oif": 2, "proto": 110,
                                         "table": 254, "priority": None}]})
    res = Manager(ctx, params(addresses=["10.1.0.5/24"], gateway="10.1.0.1")).run()
    assert not res["changed"], res["actions"]
    assert ctx.calls == []


def test_stale_host_end_is_replaced():
    host = paired()[0]
    host["link"] = 9  # its peer lives in the container's old namespace
    ctx = FakeSession([bridge(), host], check_mode=True, namespaces={NS.path: [link(1, "lo")]})
    res = Manager(ctx, params(addresses=["10.1.0.5/24"])).run()
    assert res["actions"][0].startswith("remove stale host end %s" % host["ifname"])
    assert res["actions"][1].startswith("create veth")


def test_parameter_change_converges_in_place():
    host, peer = paired()
    ctx = FakeSession([bridge(), host], check_mode=True, namespaces={NS.path: [link(1, "lo"), peer]},
                      addresses={(NS.path, 2): ["10.1.0.5/24"]})
    res = Manager(ctx, params(addresses=["10.1.0.6/24"], mtu=1400, hairpin=True)).run()
    assert res["actions"] == [
        "set %s mtu 1400" % host["ifname"], "set hairpin on on %s" % host["ifname"], "set eth1 mtu 1400",
        "remove address 10.1.0.5/24 from eth1", "add address 10.1.0.6/24 to eth1",
        "announce 10.1.0.6 with gratuitous ARP"]


def test_foreign_interfaces_are_never_touched():
    host, peer = paired(host_alias="something-else")
    ctx = FakeSession([bridge(), host], namespaces={NS.path: [link(1, "lo"), peer]})
    with pytest.raises(NotOwned, match="not this attachment"):
        Manager(ctx, params()).run()
    ctx = FakeSession([bridge()], namespaces={NS.path: [link(1, "lo"), link(2, "eth1", kind="veth")]})
    with pytest.raises(NotOwned, match="netwire did not create"):
        Manager(ctx, params()).run()
    assert ctx.calls == []


def test_route_owned_by_someone_else_is_a_conflict():
    ctx = FakeSession([bridge()], namespaces={NS.path: [link(1, "lo"), link(3, "eth0", kind="veth")]},
                      routes={NS.path: [{"dst": "0.0.0.0/0", "gateway": "172.17.0.1", "oif": 3, "proto": 3,
                                         "table": 254, "priority": None}]})
    with pytest.raises(InvalidParameter, match="already has a route to 0.0.0.0/0"):
        Manager(ctx, params(addresses=["10.1.0.5/24"], gateway="10.1.0.1")).run()


def test_routes_of_another_attachment_or_ipv6_metrics_still_conflict():
    other = {"dst": "::/0", "gateway": "fd00::9", "oif": 3, "proto": 110, "table": 254, "priority": 1024}
    ctx = FakeSession([bridge()], namespaces={NS.path: [link(1, "lo"), link(3, "eth0", kind="veth")]},
                      routes={NS.path: [other]})
    with pytest.raises(InvalidParameter, match="already has a route to ::/0 .*this attachment does not own"):
        Manager(ctx, params(addresses=["fd00::5/64"], gateway6="fd00::1")).run()


@pytest.mark.parametrize("links,bridge_type,fragment", [
    ([], "auto", "bridge 'nwbr' does not exist"),
    ([link(5, "nwbr", kind="veth")], "auto", "'nwbr' is a veth, not a known bridge"),
    ([bridge()], "ovs-not-registered", "not supported here"),
])
def test_backend_selection_errors(links, bridge_type, fragment):
    with pytest.raises(InvalidParameter, match=fragment):
        backends.select_backend(FakeSession(links), "nwbr", bridge_type)


def test_a_registered_backend_is_detected_and_used():
    class Fake(backends.BridgeBackend):
        name = "fake"

        def detect(self, ctx, bridge, netns=None):
            return bridge == "fakebr"

        def bridge_mtu(self, ctx, bridge, netns=None):
            return 1400

        def port_state(self, ctx, host_link, netns=None):
            return {"bridge": None}

        def plan_attach(self, plan, ctx, host_ifname, index_ref, bridge, params, current, netns=None):
            plan.step("fake-plug %s into %s" % (host_ifname, bridge), lambda: None)
            return {"bridge": bridge, "vlan": params.get("vlan")}

    backends.register_backend(Fake())
    try:
        ctx = FakeSession([], check_mode=True, namespaces={NS.path: [link(1, "lo")]})
        assert backends.select_backend(ctx, "fakebr").name == "fake"
        res = Manager(ctx, params(bridge="fakebr", addresses=["10.1.0.5/24"])).run()
        assert any(a.startswith("fake-plug") for a in res["actions"])
        assert res["attachment"]["bridge_type"] == "fake" and res["attachment"]["mtu"] == 1400
    finally:
        backends.BRIDGE_BACKENDS.pop("fake")
        backends._BACKEND_ORDER.remove("fake")


def test_composed_check_mode_sees_what_earlier_managers_would_create():
    """host_network's shape: one session, bridge then tunnel then attachment, in check mode."""
    from ansible_collections.netwire.fabric.plugins.module_utils._linux.bridge import LinuxBridgeManager
    from ansible_collections.netwire.fabric.plugins.module_utils._linux.tunnel import LinuxTunnelManager

    ctx = FakeSession([link(2, "eth1", kind="veth")], addresses={(None, 2): ["198.19.0.11/24"]}, check_mode=True,
                      namespaces={NS.path: [link(1, "lo")]})
    br = LinuxBridgeManager(ctx, dict(name="nwbr", state="present", mtu=1450, stp=False, forward_delay=None,
                                      vlan_filtering=False, mac=None, addresses=["10.1.0.1/24"], ports=None,
                                      purge_ports=False, up=True)).run()
    vx = LinuxTunnelManager(ctx, dict(name="vx", state="present", kind="vxlan", vni=42, local=None, dev="eth1",
                                      port=None, ttl=None, learning=False, udp_checksum=None, master="nwbr",
                                      mtu=1450, remotes=["198.19.0.12"], up=True)).run()
    att = Manager(ctx, params(addresses=["10.1.0.5/24"])).run()
    assert br["changed"] and vx["changed"] and att["changed"]
    assert vx["tunnel"]["master"] == "nwbr" and att["attachment"]["mtu"] == 1450
    assert ctx.calls == []


def test_interface_of_another_attachment_is_named_as_such():
    peer = paired()[1]
    peer["alias"] = at.attach_alias("docker:web1", "eth1")
    ctx = FakeSession([bridge()], namespaces={NS.path: [link(1, "lo"), peer]})
    with pytest.raises(NotOwned, match="belongs to another netwire attachment"):
        Manager(ctx, params()).run()


def test_a_named_host_end_left_by_an_earlier_reference_is_replaced_not_refused():
    """A host plan names the host end after the model's container; when the model
    points that container at another reference, the earlier attachment's host end
    (ours, another identity) is replaced. Without an explicit name, or when the
    interface is not ours, it is still refused."""
    host, _peer = paired(host_alias=at.attach_alias("docker:old-web", "eth1"))
    ctx = FakeSession([bridge(), host], check_mode=True, namespaces={NS.path: [link(1, "lo")]})
    res = Manager(ctx, params(host_ifname=host["ifname"], addresses=["10.1.0.5/24"])).run()
    assert res["actions"][0] == "remove host end %s of the earlier attachment netwire:attach:docker:old-web/eth1" \
        % host["ifname"]
    assert res["actions"][1].startswith("create veth %s" % host["ifname"])
    foreign, _peer = paired(host_alias="something-else")
    ctx = FakeSession([bridge(), foreign], namespaces={NS.path: [link(1, "lo")]})
    with pytest.raises(NotOwned, match="not this attachment"):
        Manager(ctx, params(host_ifname=foreign["ifname"])).run()
    assert ctx.calls == []


# ---------------------------------------------------------------- attaching right after a restart

class VanishingSession(FakeSession):
    """The kernel removes a veth (its peer's namespace was cleaned up) between our read and our delete."""

    def __init__(self, *args, **kwargs):
        self.vanishing = kwargs.pop("vanishing")
        FakeSession.__init__(self, *args, **kwargs)

    def call(self, verb, what, name, method, *args, **kwargs):
        if method == "link" and args == ("del",) and kwargs.get("index") in self.vanishing:
            from ansible_collections.netwire.fabric.plugins.module_utils._errors import failure, BackendError
            raise failure(verb, what, name, "No such device (errno 19)", BackendError, errno=19)
        return FakeSession.call(self, verb, what, name, method, *args, **kwargs)


def test_a_stale_host_end_that_vanishes_before_its_removal_is_not_an_error():
    host = paired()[0]
    host["link"] = 9  # its peer lives in the container's old namespace, which the kernel is cleaning up
    ctx = VanishingSession([bridge(), host], namespaces={NS.path: [link(1, "lo")]}, vanishing={host["index"]})
    mgr = Manager(ctx, params(addresses=["10.1.0.5/24"]))
    mgr.ns = NS
    mgr._delete("remove stale", host["ifname"], host["index"], None)  # gone meanwhile: fine
    ctx.vanishing = set()
    mgr._delete("remove stale", host["ifname"], host["index"], None)
    assert [c[2]["index"] for c in ctx.calls] == [host["index"]]


def test_a_namespace_that_is_not_the_containers_own_yet_is_waited_for(monkeypatch):
    """A pid that still shares the module's namespace (container starting): re-resolve until it has its own."""
    answers = [ContainerNamespace("c1", "docker", "/proc/self/ns/net", "docker:c1", "c1"),
               ContainerNamespace("c1", "docker", __file__, "docker:c1", "c1")]
    monkeypatch.setattr(at, "resolve", lambda ref, kind: answers.pop(0) if len(answers) > 1 else answers[0])
    mgr = at.ContainerAttachManager(FakeSession(), params())
    mgr.params = at.normalize_params(mgr.raw_params)
    ns = mgr._resolve_ready()
    assert ns.path == __file__ and not answers[1:]


def test_a_namespace_that_never_becomes_the_containers_own_fails_asking_to_retry(monkeypatch):
    monkeypatch.setattr(at, "NETNS_READY_TIMEOUT", 0.3)
    monkeypatch.setattr(at, "resolve", lambda ref, kind: ContainerNamespace("c1", "docker", "/proc/self/ns/net",
                                                                            "docker:c1", "c1"))
    mgr = at.ContainerAttachManager(FakeSession(), params())
    mgr.params = at.normalize_params(mgr.raw_params)
    with pytest.raises(Exception) as err:
        mgr._resolve_ready()
    assert "retry" in str(err.value.msg)


# ---------------------------------------------------------------- default route takeover

def test_gateway_takeover_replaces_only_a_default_route():
    foreign = {"family": 2, "dst": "0.0.0.0/0", "gateway": "172.17.0.1", "oif": 3, "proto": 3, "scope": 0,
               "table": 254, "priority": None}
    ctx = FakeSession([bridge()], check_mode=True,
                      namespaces={NS.path: [link(1, "lo"), link(3, "eth0", kind="veth")]},
                      routes={NS.path: [foreign, dict(foreign, dst="10.9.0.0/16")]})
    res = Manager(ctx, params(addresses=["10.1.0.5/24"], gateway="10.1.0.1", gateway_takeover=True)).run()
    take = [a for a in res["actions"] if a.startswith("take over")]
    assert take == ["take over the default route 0.0.0.0/0 via 172.17.0.1 (recorded in %s/%s.json, restored on"
                    " detach)" % (at.TAKEOVER_DIR, _names.attach_record_name("netns:c1", "eth1"))]
    assert res["actions"].index(take[0]) < res["actions"].index("add route 0.0.0.0/0 via 10.1.0.1")
    # a route that is not a default route is still a conflict
    with pytest.raises(InvalidParameter, match="already has a route to 10.9.0.0/16"):
        Manager(ctx, params(addresses=["10.1.0.5/24"], gateway="10.1.0.1", gateway_takeover=True,
                            routes=[{"dest": "10.9.0.0/16", "via": "10.1.0.1"}])).run()


def test_gateway_takeover_needs_a_gateway_and_the_default_still_refuses():
    with pytest.raises(InvalidParameter, match="gateway_takeover needs gateway"):
        at.normalize_params(params(addresses=["10.1.0.5/24"], gateway_takeover=True))
    ctx = FakeSession([bridge()], namespaces={NS.path: [link(1, "lo"), link(3, "eth0", kind="veth")]},
                      routes={NS.path: [{"dst": "0.0.0.0/0", "gateway": "172.17.0.1", "oif": 3, "proto": 3,
                                         "table": 254, "priority": None}]})
    with pytest.raises(InvalidParameter, match="gateway_takeover replaces a default route"):
        Manager(ctx, params(addresses=["10.1.0.5/24"], gateway="10.1.0.1")).run()


# ---------------------------------------------------------------- host ends named by an earlier release

OLD_HOST_NAME = _names.attach_record_name("netns:c1", "eth1")  # how releases before _names.py named it alone


def old_pair():
    host, peer = paired()
    host = dict(host, ifname=OLD_HOST_NAME)
    return host, peer


def test_a_host_end_of_the_earlier_scheme_is_replaced_by_one_of_the_derived_name():
    host, peer = old_pair()
    ctx = FakeSession([bridge(), host], check_mode=True, namespaces={NS.path: [link(1, "lo"), peer]},
                      addresses={(NS.path, 2): ["10.1.0.5/24"]})
    res = Manager(ctx, params(addresses=["10.1.0.5/24"])).run()
    new = _names.veth_host_name("c1", "eth1")
    assert new != OLD_HOST_NAME
    assert res["actions"][:2] == ["remove stale container end eth1 in c1", "create veth %s <-> c1:eth1" % new]
    assert res["attachment"]["host_ifname"] == new


def test_detach_finds_a_host_end_of_the_earlier_scheme_by_its_mark(monkeypatch):
    host, peer = old_pair()
    monkeypatch.setattr(at, "resolve", lambda ref, kind: NS)
    ctx = FakeSession([bridge(), host], namespaces={NS.path: [link(1, "lo"), peer]})
    mgr = at.ContainerAttachManager(ctx, params(state="absent"))
    mgr.params = at.normalize_params(mgr.raw_params)
    mgr.plan_absent()
    assert "delete veth pair %s" % OLD_HOST_NAME in mgr.plan.actions


def _state(operstate="UP", slave_kind=None, port_state=None):
    return {"operstate": operstate, "slave_kind": slave_kind,
            "slave": {} if port_state is None else {"state": port_state}}


@pytest.mark.parametrize("link_, passes", [
    (_state(), True),
    (_state("UNKNOWN"), True),  # no carrier reporting: always passes
    (None, True),  # gone: sending says what is wrong
    (_state("DOWN"), False),
    (_state("LOWERLAYERDOWN"), False),
    (_state("UP", "bridge", 0), False),  # linkwatch has not enabled the bridge port yet
    (_state("UP", "bridge", 3), True),
    (_state("UP", "bridge", 1), True),  # STP listening: not waited for (15 s), sent as it is
    (_state("UP", "openvswitch"), True),
])
def test_a_link_passes_frames_once_the_kernel_finished_bringing_it_up(link_, passes):
    assert at.passes_frames(link_) is passes


class _Links:
    """read_link answers from a list of states per end, the last one repeated; counts the requests."""

    def __init__(self, **states):
        self.states, self.reads = states, 0

    def read_link(self, name, netns=None):
        self.reads += 1
        seq = self.states[name]
        return seq.pop(0) if len(seq) > 1 else seq[0]


def test_the_announcement_waits_for_both_ends_to_pass_frames():
    ctx = _Links(eth0=[_state("DOWN"), _state("DOWN"), _state()], veth=[_state("UP", "bridge", 0), _state("UP", "bridge", 3)])
    assert at.wait_passing_frames(ctx, [("eth0", "/ns"), ("veth", None)], timeout=1.0)
    assert not any(len(seq) > 1 for seq in ctx.states.values())  # it read until both passed


def test_ends_that_pass_frames_cost_one_request_each_and_no_sleep(monkeypatch):
    monkeypatch.setattr(at.time, "sleep", lambda s: pytest.fail("slept %s" % s))
    ctx = _Links(eth0=[_state()], veth=[_state("UP", "bridge", 3)])
    assert at.wait_passing_frames(ctx, [("eth0", "/ns"), ("veth", None)])
    assert ctx.reads == 2


def test_the_wait_is_bounded_when_an_end_never_passes_frames():
    ctx = _Links(eth0=[_state("LOWERLAYERDOWN")])
    assert not at.wait_passing_frames(ctx, [("eth0", "/ns")], timeout=0.05)
