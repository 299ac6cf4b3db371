"""linux_tunnel: normalizer, netlink attributes and FDB planning."""

import pytest

from tests.unit.linux_fakes import FakeSession, link

from ansible_collections.netwire.fabric.plugins.module_utils._linux import tunnel as lt
from ansible_collections.netwire.fabric.plugins.module_utils._errors import InvalidParameter, NotOwned

BASE = dict(state="present", kind="vxlan", vni=42, local=None, dev=None, port=None, ttl=None, learning=False,
            udp_checksum=None, master=None, mtu=None, remotes=[], up=True)


def params(**kw):
    p = dict(BASE)
    p.update(kw)
    return p


def test_defaults_and_remote_canonical_order():
    p = lt.normalize_params(params(name="vx", remotes=["198.19.0.13", "198.19.0.12", "198.19.0.13"]))
    assert p["port"] == 4789 and p["remotes"] == ["198.19.0.12", "198.19.0.13"]
    assert lt.normalize_params(params(name="gn", kind="geneve", remotes=["198.19.0.2"]))["port"] == 6081


@pytest.mark.parametrize("kw,fragment", [
    (dict(vni=0), "out of range"),
    (dict(vni=2 ** 24), "out of range"),
    (dict(vni=None), "vni is required"),
    (dict(remotes=["198.19.0.300"]), "not a valid IP"),
    (dict(local="198.19.0.1", remotes=["198.19.0.1"]), "is the local address"),
    (dict(kind="gretap", remotes=[]), "exactly one remote"),
    (dict(kind="geneve", remotes=["198.19.0.2", "198.19.0.3"]), "exactly one remote"),
    (dict(kind="gretap", port=1, remotes=["198.19.0.2"]), "port does not apply"),
    (dict(local="198.19.0.1", remotes=["fd00::2"]), "mix IPv4 and IPv6"),
    (dict(port=70000), "out of range"), (dict(name="x" * 16), "longer than 15"),
    (dict(master="vx"), "its own master"),
])
def test_bad_input(kw, fragment):
    p = params(name="vx")
    p.update(kw)
    with pytest.raises(InvalidParameter, match=fragment):
        lt.normalize_params(p)


def test_create_attrs_vxlan_and_gretap():
    p = lt.normalize_params(params(name="vx", ttl=8, udp_checksum=True, mtu=1450))
    assert lt.create_attrs(p, "198.19.0.11", 3) == {
        "ifname": "vx", "kind": "vxlan", "vxlan_id": 42, "vxlan_port": 4789, "vxlan_learning": 0,
        "vxlan_local": "198.19.0.11", "vxlan_link": 3, "vxlan_ttl": 8, "vxlan_udp_csum": 1, "mtu": 1450}
    g = lt.normalize_params(params(name="gt", kind="gretap", vni=7, remotes=["198.19.0.12"]))
    attrs = lt.create_attrs(g, "198.19.0.11", None)
    assert attrs["gre_ikey"] == attrs["gre_okey"] == 7 and attrs["gre_remote"] == "198.19.0.12"
    assert lt.create_attrs(lt.normalize_params(params(name="v6", local="fd00::1")), "fd00::1", None)[
        "vxlan_local6"] == "fd00::1"


class Remotes(FakeSession):
    def __init__(self, remotes, **kw):
        super().__init__(**kw)
        self._remotes = remotes

    def flood_remotes(self, index, netns=None):
        return list(self._remotes)


def vxlan_link(**data):
    d = {"id": 42, "local": "198.19.0.11", "link": 2, "port": 4789, "ttl": 0, "learning": 0, "udp_csum": 1}
    d.update(data)
    return link(7, "vx", kind="vxlan", alias="netwire:tunnel", mtu=1450, data=d)


def test_fdb_is_converged_exactly():
    ctx = Remotes(["198.19.0.12", "198.19.0.14"], links=[link(2, "eth1", kind="veth"), vxlan_link()],
                  check_mode=True)
    res = lt.LinuxTunnelManager(ctx, params(name="vx", dev="eth1", local="198.19.0.11",
                                            remotes=["198.19.0.12", "198.19.0.13"])).run()
    assert res["actions"] == ["remove flood entry for 198.19.0.14 from vx", "add flood entry for 198.19.0.13 to vx"]
    assert res["tunnel"]["remotes"] == ["198.19.0.12", "198.19.0.13"]


def test_changed_vni_recreates_and_restores_fdb():
    ctx = Remotes(["198.19.0.12"], links=[link(2, "eth1", kind="veth"), vxlan_link()], check_mode=True)
    res = lt.LinuxTunnelManager(ctx, params(name="vx", vni=43, dev="eth1", local="198.19.0.11",
                                            remotes=["198.19.0.12"])).run()
    assert res["actions"][0] == "recreate vxlan vx (vni changed)"
    assert "add flood entry for 198.19.0.12 to vx" in res["actions"]


def test_converged_tunnel_is_not_changed():
    ctx = Remotes(["198.19.0.12"], links=[link(2, "eth1", kind="veth"), vxlan_link()],
                  addresses={(None, 2): ["198.19.0.11/24"]})
    res = lt.LinuxTunnelManager(ctx, params(name="vx", dev="eth1", remotes=["198.19.0.12"])).run()
    assert not res["changed"], res["actions"]
    assert ctx.calls == []


def test_local_taken_from_underlay_device():
    ctx = FakeSession([link(2, "eth1", kind="veth")], addresses={(None, 2): ["fd00::1/64", "198.19.0.11/24"]},
                      check_mode=True)
    res = lt.LinuxTunnelManager(ctx, params(name="vx", dev="eth1")).run()
    assert res["tunnel"]["local"] == "198.19.0.11"


@pytest.mark.parametrize("kw,links,fragment,cls", [
    (dict(dev="eth9"), [], "underlay device 'eth9' does not exist", InvalidParameter),
    (dict(master="br9"), [], "master bridge 'br9' does not exist", InvalidParameter),
    (dict(master="eth1"), [link(2, "eth1", kind="veth")], "is a veth, not a bridge", InvalidParameter),
    (dict(), [link(7, "vx", kind="vxlan")], "did not create", NotOwned),
    (dict(dev="eth1"), [link(2, "eth1", kind="veth")], "has no address", InvalidParameter),
])
def test_host_state_errors(kw, links, fragment, cls):
    ctx = FakeSession(links)
    with pytest.raises(cls, match=fragment):
        lt.LinuxTunnelManager(ctx, params(name="vx", **kw)).run()
    assert ctx.calls == []


def evpn_links(slave):
    d = {"id": 42, "local": "198.19.0.11", "link": 2, "port": 4789, "ttl": 0, "learning": 0, "udp_csum": 1}
    return [link(2, "eth1", kind="veth"), link(3, "br", kind="bridge", alias="netwire:bridge"),
            link(7, "vx", kind="vxlan", alias="netwire:tunnel", mtu=1450, data=d, master=3, slave=slave)]


def test_control_evpn_leaves_zebras_flood_entries_alone():
    """zebra's flood entries are neither removed nor reported: a converged device plans nothing."""
    ctx = Remotes(["198.19.0.12", "198.19.0.14"], links=evpn_links({"learning": 0, "neigh_suppress": 1}),
                  check_mode=True)
    res = lt.LinuxTunnelManager(ctx, params(name="vx", dev="eth1", local="198.19.0.11", master="br",
                                            control="evpn")).run()
    assert not res["changed"] and res["actions"] == [], res["actions"]
    assert res["tunnel"]["remotes"] == ["198.19.0.12", "198.19.0.14"]
    assert [c for c in ctx.calls if c[0] == "fdb"] == []


def test_control_evpn_sets_the_bridge_port_flags_and_writes_no_flood_entry():
    ctx = Remotes([], links=evpn_links({"learning": 1, "neigh_suppress": 0}))
    res = lt.LinuxTunnelManager(ctx, params(name="vx", dev="eth1", local="198.19.0.11", master="br",
                                            control="evpn")).run()
    assert res["actions"] == ["set vx bridge port learning off, neigh_suppress on"], res["actions"]
    assert ("brport", ("set",), {"index": 7, "learning": 0, "neigh_suppress": 1, "netns": None}) in [
        (c[0], c[1], dict(c[2], netns=c[2].get("netns"))) for c in ctx.calls]
    assert [c for c in ctx.calls if c[0] == "fdb"] == []
