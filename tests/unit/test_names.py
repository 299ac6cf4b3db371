"""Derived names, ownership marks and the overlay table (module_utils/_names.py)."""

import pytest

from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.module_utils import _validate as v


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
