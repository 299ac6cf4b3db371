"""Normalizers shared by the Linux data-plane modules."""

import pytest

from ansible_collections.netwire.fabric.plugins.module_utils import _validate as v
from ansible_collections.netwire.fabric.plugins.module_utils._errors import InvalidParameter


@pytest.mark.parametrize("name", ["eth1", "nw-app", "a" * 15, "br.0"])
def test_valid_interface_names(name):
    assert v.ifname(name) == name


@pytest.mark.parametrize("name,fragment", [
    ("a" * 16, "longer than 15"), ("", "non-empty"), ("a/b", "characters"), ("a b", "characters"),
    ("a:b", "characters"), (".", "characters"), ('a"b', "characters"),
])
def test_bad_interface_names(name, fragment):
    with pytest.raises(InvalidParameter, match=fragment):
        v.ifname(name)


@pytest.mark.parametrize("text,canonical", [
    ("10.1.0.5/24", "10.1.0.5/24"), (" 10.1.0.5/24 ", "10.1.0.5/24"), ("fd00:0::5/64", "fd00::5/64"),
    ("10.1.0.0/31", "10.1.0.0/31"), ("10.1.0.1/32", "10.1.0.1/32"), ("FD00::1/128", "fd00::1/128"),
])
def test_interface_addresses_are_canonical(text, canonical):
    assert v.interface_address(text) == canonical


@pytest.mark.parametrize("text,fragment", [
    ("10.1.0.5", "no prefix"), ("10.1.0.0/24", "network address"), ("10.1.0.255/24", "broadcast"),
    ("10.1.0.300/24", "not a valid CIDR"), ("10.1.0.5/33", "not a valid CIDR"), ("fd00::/64", "network address"),
    ("nonsense/24", "not a valid CIDR"), ("224.0.0.5/24", "cannot be assigned"),
])
def test_bad_interface_addresses(text, fragment):
    with pytest.raises(InvalidParameter, match=fragment):
        v.interface_address(text)


def test_duplicate_address_is_refused():
    with pytest.raises(InvalidParameter, match="twice"):
        v.interface_addresses(["10.1.0.5/24", "10.1.0.5/16"])


def test_mac_normalization_and_refusals():
    assert v.mac("02-AA-bb-00-00-01") == "02:aa:bb:00:00:01"
    for bad in ("02:aa:bb:00:00", "01:00:5e:00:00:01", "00:00:00:00:00:00", "zz:aa:bb:00:00:01"):
        with pytest.raises(InvalidParameter):
            v.mac(bad)


def test_network_destinations():
    assert v.network("10.9.0.0/16") == "10.9.0.0/16"
    assert v.network("default") == "0.0.0.0/0"
    with pytest.raises(InvalidParameter, match="not a valid network"):
        v.network("10.9.0.1/16")
    with pytest.raises(InvalidParameter, match="no prefix"):
        v.network("10.9.0.0")


@pytest.mark.parametrize("name,ok", [
    ("eth1", True), ("br-app.10", True), ("nw@x", True), ("a" * 15, True),
    ("a" * 16, False), ("br:0", False), ('br"0', False), ("a b", False), ("a/b", False), ("..", False),
])
def test_one_interface_name_rule_for_linux_ovs_and_the_firewall(name, ok):
    """linux_*/container_attach (``_validate.ifname``), ovs_bridge/ovs_tunnel and the firewall agree."""
    from ansible_collections.netwire.fabric.plugins.module_utils._ovs import bridge as ovs_bridge
    from ansible_collections.netwire.fabric.plugins.module_utils._ovs import tunnel as ovs_tunnel
    from ansible_collections.netwire.fabric.plugins.module_utils._firewall import planner as fw

    checks = [
        lambda: v.ifname(name),
        lambda: ovs_bridge.normalize_params({"name": name}),
        lambda: ovs_bridge.normalize_params({"name": "br0", "ports": [name]}),
        lambda: ovs_tunnel.normalize_params({"bridge": name, "network": "app"}),
        lambda: fw.build_spec([{"name": "app", "subnet": "10.2.0.0/24", "bridge": name}]),
        lambda: fw.build_spec([{"name": "app", "subnet": "10.2.0.0/24", "bridge": "br0", "ports": [name]}]),
        lambda: fw.build_spec([], tunnels=[{"network": "app", "local_address": "198.19.0.1", "device": name}]),
    ]
    for check in checks:
        if ok:
            check()
        else:
            with pytest.raises(InvalidParameter, match="longer than 15|characters"):
                check()


@pytest.mark.parametrize("value,version,result", [
    ("10.0.0.1", None, "10.0.0.1"), (" fd00:0::1 ", None, "fd00::1"), ("10.0.0.1", 4, "10.0.0.1"),
    ("fd00::1", 4, None), ("10.0.0.256", None, None), ("10.0.0.1/24", None, None),
])
def test_ip_address_one_normalizer(value, version, result):
    if result is None:
        with pytest.raises(InvalidParameter, match="is not (a valid IP|an IPv4) address"):
            v.ip_address(value, version=version)
    else:
        assert v.ip_address(value, version=version) == result


def test_port_addresses_may_omit_the_prefix_only_when_asked():
    assert v.interface_address("10.0.0.1", host_prefix=True) == "10.0.0.1/32"
    assert v.interface_address("fd00::1", host_prefix=True) == "fd00::1/128"
    with pytest.raises(InvalidParameter, match="has no prefix length"):
        v.interface_address("10.0.0.1")


def test_firewall_subnets_are_ipv4_networks_without_default():
    assert v.network("10.1.0.0/24", "subnet", version=4) == "10.1.0.0/24"
    for bad, fragment in (("default", "no prefix length"), ("fd00::/64", "not an IPv4 network"),
                          ("10.1.0.1/24", "not a valid network"), ("10.1.0.0", "no prefix length")):
        with pytest.raises(InvalidParameter, match=fragment):
            v.network(bad, "subnet", version=4)
