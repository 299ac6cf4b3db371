"""Derived names, ownership marks and the overlay table (module_utils/_names.py)."""

import pytest

from tests.unit.linux_fakes import FakeSession, link
from tests.unit.model_cases import base, hosts

from ansible_collections.netwire.fabric.plugins.plugin_utils import model as m
from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.module_utils import _validate as v
from ansible_collections.netwire.fabric.plugins.module_utils._host import attach as at
from ansible_collections.netwire.fabric.plugins.module_utils._linux.netns import ContainerNamespace
from ansible_collections.netwire.fabric.plugins.module_utils._ovs import tunnel as ot


def test_derived_mac_is_stable_local_unicast():
    a = _names.mac_from_seed("docker:web1/eth1")
    assert a == _names.mac_from_seed("docker:web1/eth1")
    assert a != _names.mac_from_seed("docker:web2/eth1")
    first = int(a[:2], 16)
    assert first & 0x02 and not first & 0x01
    assert v.mac(a) == a


def test_derived_ifname_fits_and_is_stable():
    name = _names.attach_record_name("docker:web1", "eth1")
    assert len(name) == 15 and name.startswith("nw")
    assert name == _names.attach_record_name("docker:web1", "eth1")
    assert name != _names.attach_record_name("docker:web1", "eth2")


def test_ownership_alias():
    assert _names.is_owned(_names.owner_alias("bridge"))
    assert _names.owner_alias("attach", "netns:c1/eth1") == "netwire:attach:netns:c1/eth1"
    assert not _names.is_owned(None) and not _names.is_owned("docker0") and not _names.is_owned("")


# Names are deployed state: a changed formula renames live interfaces and OVS ports on upgrade.
# These are the values of the releases before _names.py existed.
@pytest.mark.parametrize("got, want", [
    (lambda: _names.bridge_name("app"), "nw-app"),
    (lambda: _names.bridge_name("a-very-long-network-name"), "nw-averyl-a9e1f"),
    (lambda: _names.underlay_bridge_name("eth0"), "nwu-eth0"),
    (lambda: _names.veth_host_name("web1", "eth1"), "nw862b0e994f9bd"),
    (lambda: _names.container_mac("web1", "eth1"), "1e:53:0f:0a:ab:73"),
    (lambda: _names.linux_tunnel_name("vxlan", "app"), "nwx-app"),
    (lambda: _names.linux_tunnel_name("gre", "app", "198.19.0.12"), "nwt21537a9b7468"),
    (lambda: _names.linux_tunnel_name("geneve", "app", "198.19.0.12"), "nwtb77aa53a7a73"),
    (lambda: _names.ovs_tunnel_port_name("vxlan", "app", "198.19.0.12"), "vxl-87fd52b55aa"),
    (lambda: _names.ovs_tunnel_port_name("gre", "app", "198.19.0.12"), "gre-c3f48259740"),
    (lambda: _names.ovs_tunnel_port_name("geneve", "app", "198.19.0.12"), "gnv-6ad29fc6fcf"),
    (lambda: _names.attach_record_name("docker:web1", "eth1"), "nw234717f3bbd1c"),
    (lambda: _names.mac_from_seed("docker:web1/eth1"), "9e:8d:81:83:a1:ee"),
])
def test_derived_names_keep_their_deployed_values(got, want):
    assert got() == want


def test_the_overlay_table_is_complete_and_consistent():
    assert sorted(_names.OVERLAY_TYPES) == sorted(_names.OVERLAYS)
    for name, row in _names.OVERLAYS.items():
        assert row.name == name
        assert _names.BY_LINK_KIND[row.link_kind] is row
        assert len(row.ovs_port_prefix) == 3, "port names are <prefix>-<11 hex>: 15 characters"
        assert _names.default_udp_port(name) == _names.default_udp_port(row.link_kind) == row.udp_port
    assert _names.LINK_KINDS == ("vxlan", "gretap", "geneve")
    assert [_names.default_udp_port(t) for t in _names.OVERLAY_TYPES] == [4789, None, 6081]


# ---------------------------------------------------------------- one scheme, whatever the entry point

ATTACH = dict(container_type="auto", state="present", bridge="nwbr", bridge_type="auto", host_ifname=None,
              addresses=[], mac=None, mac_seed=None, mtu=None, gateway=None, gateway6=None, routes=[],
              hairpin=False, gratuitous_arp=True)


def attach_alone(container, ifname):
    """What container_attach run alone (no host_ifname, no mac) would build for a Docker container."""
    ns = ContainerNamespace(container, "docker", "/proc/4242/ns/net", "docker:%s" % container, container, pid=4242)

    class Alone(at.ContainerAttachManager):
        def run(self):
            self.params = at.normalize_params(self.raw_params)
            self.ns = ns
            self.plan_present(self.read_state())
            self.plan.apply()
            return self.predicted

    ctx = FakeSession([link(5, "nwbr", kind="bridge", alias=_names.BRIDGE_ALIAS)], check_mode=True,
                      namespaces={ns.path: [link(1, "lo")]})
    return Alone(ctx, dict(ATTACH, container=container, ifname=ifname)).run()


def test_site_yml_and_container_attach_alone_name_an_attachment_alike():
    plans = m.plan(base(), hosts())
    seen = 0
    for plan in plans.values():
        for planned in plan["attachments"]:
            alone = attach_alone(planned["container"], planned["ifname"])
            assert alone["host_ifname"] == planned["host_ifname"], planned
            assert alone["mac"] == planned["mac"], planned
            seen += 1
    assert seen == 5


def test_the_model_and_ovs_tunnel_name_a_tunnel_port_alike():
    plans = m.plan(base(), hosts())
    seen = 0
    for plan in plans.values():
        for entry in plan["ovs_tunnels"]:
            p = ot.normalize_params(dict(entry, state="present"))
            ports = sorted(ot.desired_tunnels(p))
            assert ports and set(ports) <= set(plan["names"]), (ports, plan["names"])
            assert ports == sorted(m.ovs_tunnel_port_name(entry["type"], entry["network"], r)
                                   for r in entry["remotes"])
            seen += len(ports)
    assert seen == 2
