"""Bad firewall parameters fail with clear messages before anything is planned."""

import pytest

from ansible_collections.netwire.fabric.plugins.module_utils._firewall import planner as fw
from ansible_collections.netwire.fabric.plugins.module_utils._errors import InvalidParameter

NET_A = {"name": "a", "subnet": "10.1.0.0/24", "bridge": "br-a", "zone": "za"}
NET_B = {"name": "b", "subnet": "10.2.0.0/24", "bridge": "br-b", "zone": "zb"}


def pub(**kw):
    base = {"name": "web", "network": "a", "host_port": 8080, "bind_address": "198.19.0.11",
            "container_address": "10.1.0.10", "container_port": 80}
    base.update(kw)
    return base


def fails(match, networks=(NET_A, NET_B), flows=(), publications=(), table_name="netwire"):
    with pytest.raises(InvalidParameter, match=match) as info:
        fw.build_spec(list(networks), list(flows), list(publications), table_name)
    assert str(info.value).startswith("Failed to plan firewall ")
    return str(info.value)


@pytest.mark.parametrize("port", [0, 65536, -1, 100000])
def test_host_port_out_of_range(port):
    fails(r"publication 'web': port %d is out of range 1-65535" % port, publications=[pub(host_port=port)])


@pytest.mark.parametrize("port", [0, 70000])
def test_container_port_out_of_range(port):
    fails(r"port %d is out of range" % port, publications=[pub(container_port=port)])


@pytest.mark.parametrize("port", ["http", "80a", 8.5, True, [80]])
def test_port_not_an_integer(port):
    fails(r"is not an integer", publications=[pub(host_port=port)])


def test_port_as_digit_string_is_accepted():
    spec = fw.build_spec([NET_A], [], [pub(host_port="8080", container_port="80")])
    assert (spec.publications[0].host_port, spec.publications[0].container_port) == (8080, 80)


def test_missing_host_port():
    fails(r"host_port is required", publications=[pub(host_port=None)])


def test_unknown_network_in_publication():
    msg = fails(r"publication 'web': unknown network 'nope' \(known: a, b\)", publications=[pub(network="nope")])
    assert "nope" in msg


def test_unnamed_publication_is_named_by_index():
    p = pub(network="nope")
    del p["name"]
    fails(r"publication 'publications\[1\]'", publications=[pub(), p])


def test_unknown_zone_in_flow():
    fails(r"flow 'za -> zz': unknown zone 'zz' \(known: za, zb\)", flows=[{"from": "za", "to": "zz"}])
    fails(r"flow 'x -> zb': unknown zone 'x'", flows=[{"from": "x", "to": "zb"}])


def test_flow_cannot_name_a_network_when_it_has_another_zone():
    fails(r"unknown zone 'a'", flows=[{"from": "a", "to": "zb"}])


@pytest.mark.parametrize("other_bind", ["198.19.0.11", "0.0.0.0"])
def test_two_publications_of_one_host_port(other_bind):
    fails(r"publication 'api': host port tcp %s:8080 is already published by 'web'" % other_bind.replace(".", r"\."),
          publications=[pub(), pub(name="api", bind_address=other_bind, container_address="10.1.0.11")])


def test_any_address_clashes_with_a_specific_one_in_either_order():
    fails(r"already published", publications=[pub(bind_address="0.0.0.0"), pub(name="api")])


def test_same_port_other_proto_or_other_address_is_fine():
    spec = fw.build_spec([NET_A], [], [
        pub(), pub(name="dns", proto="udp"), pub(name="other", bind_address="198.19.0.99"),
        pub(name="local", bind_address="127.0.0.1")])
    assert len(spec.publications) == 4


def test_loopback_and_any_address_do_not_clash():
    # 0.0.0.0 means every non-loopback host address
    spec = fw.build_spec([NET_A], [], [pub(bind_address="0.0.0.0"), pub(name="l", bind_address="127.0.0.1")])
    assert [p.bind_loopback for p in spec.publications] == [False, True]


def test_default_bind_address_is_loopback():
    p = pub()
    del p["bind_address"]
    spec = fw.build_spec([NET_A], [], [p])
    assert spec.publications[0].bind_address == fw.DEFAULT_BIND_ADDRESS == "127.0.0.1"


def test_bad_proto():
    fails(r"proto must be one of tcp/udp, got 'sctp'", publications=[pub(proto="sctp")])


@pytest.mark.parametrize("addr", ["10.9.0.5", "10.1.0.0", "10.1.0.255", "nonsense", "10.1.0.300"])
def test_container_address_must_be_a_host_of_the_subnet(addr):
    fails(r"container_address", publications=[pub(container_address=addr)])


@pytest.mark.parametrize("addr", ["224.0.0.1", "255.255.255.255", "host.example", "::1"])
def test_bad_bind_address(addr):
    fails(r"bind_address", publications=[pub(bind_address=addr)])


def test_overlapping_subnets():
    fails(r"network 'c': subnet 10.1.0.0/16 overlaps 10.1.0.0/24 of network 'a'",
          networks=[NET_A, NET_B, {"name": "c", "subnet": "10.1.0.0/16", "bridge": "br-c"}])


def test_adjacent_subnets_are_fine():
    fw.build_spec([NET_A, {"name": "c", "subnet": "10.1.1.0/24", "bridge": "br-c"}])


def test_duplicate_network_name():
    fails(r"network 'a': network defined twice", networks=[NET_A, dict(NET_B, name="a")])


def test_duplicate_bridge():
    fails(r"network 'b': bridge 'br-a' is already used by network 'a'", networks=[NET_A, dict(NET_B, bridge="br-a")])


@pytest.mark.parametrize("subnet", ["10.1.0.1/24", "10.1.0.0", "10.1.0.0/33", "bogus", "fd00::/64", None])
def test_bad_subnet(subnet):
    fails(r"network 'c': subnet", networks=[{"name": "c", "subnet": subnet, "bridge": "br-c"}])


@pytest.mark.parametrize("bridge", ["a-very-long-bridge-name", "", None, "br a", "br/x"])
def test_bad_bridge_name(bridge):
    fails(r"network 'c': bridge", networks=[{"name": "c", "subnet": "10.5.0.0/24", "bridge": bridge}])


@pytest.mark.parametrize("name", ["", None, "a b", "x" * 65, 'q"uote'])
def test_bad_network_name(name):
    fails(r"network", networks=[{"name": name, "subnet": "10.5.0.0/24", "bridge": "br-c"}])


def test_bad_zone_name():
    fails(r"zone 'a zone'", networks=[dict(NET_A, zone="a zone")])


@pytest.mark.parametrize("table_name", ["1abc", "with-dash", "a b", "x" * 33])
def test_bad_table_name(table_name):
    fails(r"table_name must start with a letter", table_name=table_name)


def test_empty_table_name_means_default():
    assert fw.build_spec([NET_A], table_name="").table_name == "netwire"
    assert fw.build_spec([NET_A], table_name=None).table_name == "netwire"
