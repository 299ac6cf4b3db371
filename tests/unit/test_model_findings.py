"""Every validation finding: a broken model, the finding's exact path and its message."""

import pytest

from tests.unit.model_cases import assert_finding, base, demo, findings, hosts
from ansible_collections.netwire.fabric.plugins.plugin_utils import model as m


def test_base_and_demo_models_are_sound():
    normalized, found, warnings = m.analyze(base(), hosts())
    assert found == [] and warnings == []
    model, host_vars = demo()
    normalized, found, warnings = m.analyze(model, host_vars)
    assert found == [] and warnings == []
    assert sorted(normalized["networks"]) == ["app", "backend", "dmz"]


# ---------------------------------------------------------------- references

def test_unknown_zone_of_a_network():
    model = base()
    model["netwire_networks"]["front"]["zone"] = "dmzz"
    assert_finding(findings(model), "netwire_networks.front.zone", "unknown zone 'dmzz'")


def test_unknown_zone_in_a_flow():
    model = base()
    model["netwire_zones"]["dmz"]["allow_to"] = ["app", "db"]
    assert_finding(findings(model), "netwire_zones.dmz.allow_to[1]", "unknown zone 'db'")


def test_unknown_network_of_an_interface():
    model = base()
    model["netwire_containers"]["web2"]["interfaces"][1]["network"] = "bak"
    assert_finding(findings(model), "netwire_containers.web2.interfaces[1].network", "unknown network 'bak'")


def test_unknown_host_of_a_container():
    model = base()
    model["netwire_containers"]["web1"]["host"] = "h9"
    assert_finding(findings(model), "netwire_containers.web1.host", "unknown host 'h9'")


def test_unknown_host_in_a_network_span():
    model = base()
    model["netwire_networks"]["front"]["hosts"] = ["h1", "h2", "nope"]
    assert_finding(findings(model), "netwire_networks.front.hosts[2]", "unknown host 'nope'")


def test_container_outside_its_networks_span():
    model = base()
    model["netwire_networks"]["front"]["hosts"] = ["h1", "h3"]
    assert_finding(findings(model), "netwire_containers.web2.interfaces[0].network",
                   "network front does not span host h2")


def test_one_container_declared_twice():
    model = base()
    model["netwire_containers"]["web2"]["ref"] = "api1"
    assert_finding(findings(model), "netwire_containers.web2.ref",
                   "container api1 on host h2 is also declared as api1: one container, one entry")


def test_publication_of_a_network_without_interface():
    model = base()
    model["netwire_containers"]["web1"]["publish"][0]["network"] = "other"
    assert_finding(findings(model), "netwire_containers.web1.publish[0].network", "has no interface on network other")


# ---------------------------------------------------------------- subnets and addresses

def test_overlapping_subnets():
    model = base()
    model["netwire_networks"]["front"]["subnet"] = "10.0.0.0/14"
    assert_finding(findings(model), "netwire_networks.front.subnet",
                   "subnet 10.0.0.0/14 overlaps subnet 10.2.0.0/24 of network back")


@pytest.mark.parametrize("subnet,fragment", [
    ("10.1.0.5/24", "has host bits set (did you mean 10.1.0.0/24?)"),
    ("10.1.0.0", "has no prefix length"),
    ("fd00::/64", "not IPv4"),
    ("10.1.0.0/30", "too small"),
    ("banana", "not a network in CIDR form"),
])
def test_bad_subnets(subnet, fragment):
    model = base()
    model["netwire_networks"]["front"]["subnet"] = subnet
    assert_finding(findings(model), "netwire_networks.front.subnet", fragment)


def test_duplicate_static_addresses():
    model = base()
    model["netwire_containers"]["web2"]["interfaces"][1]["address"] = "10.2.0.50"
    assert_finding(findings(model), "netwire_containers.web2.interfaces[1].address",
                   "address 10.2.0.50 is also the address of api1 (interfaces[0]) on network back")


def test_static_address_taking_an_auto_address_reports_the_auto_one():
    normalized, found, _w = m.analyze(base(), hosts())
    taken = normalized["containers"]["web1"]["interfaces"][0]["address"]
    model = base()
    model["netwire_containers"]["api1"]["interfaces"].append({"network": "front", "address": taken})
    model["netwire_containers"]["api1"]["host"] = "h2"
    assert_finding(findings(model), "netwire_containers.web1.interfaces[0].address",
                   "address %s (auto) is also the address of api1 (interfaces[1]) on network front" % taken)


def _colliding_names(subnet, network, count=2):
    """Container names whose auto addresses collide on ``subnet`` (a deterministic search)."""
    seen = {}
    for i in range(1000):
        name = "c%d" % i
        addr = m.auto_address(subnet, network, name, "eth1")
        if addr in seen:
            return seen[addr], name, addr
        seen[addr] = name
    raise AssertionError("no collision found")


def test_colliding_auto_addresses_are_a_finding_with_a_free_address_to_pin():
    first, second, addr = _colliding_names("10.1.0.0/28", "front")
    model = base()
    model["netwire_networks"]["front"]["subnet"] = "10.1.0.0/28"
    for name in (first, second):
        model["netwire_containers"][name] = {"host": "h1", "interfaces": [{"network": "front"}]}
    found = findings(model)
    assert_finding(found, "netwire_containers.%s.interfaces[0].address" % second,
                   "address %s (auto) is also the address of %s (interfaces[0]) on network front: pin this "
                   "interface to a free address, e.g. 10.1.0." % (addr, first))


@pytest.mark.parametrize("address,fragment", [
    ("10.9.0.5", "address 10.9.0.5 is outside the subnet 10.2.0.0/24"),
    ("10.2.0.0", "address 10.2.0.0 is the network address of 10.2.0.0/24"),
    ("10.2.0.255", "address 10.2.0.255 is the broadcast address of 10.2.0.0/24"),
    ("10.2.0.2", "address 10.2.0.2 is in the host range of network back (10.2.0.1 to 10.2.0.16"),
    ("10.2.0.50/16", "has prefix /16 but the subnet of network back is 10.2.0.0/24"),
    ("10.2.0.500", "is not an IPv4 address (or 'auto')"),
])
def test_bad_static_addresses(address, fragment):
    model = base()
    model["netwire_containers"]["api1"]["interfaces"][0]["address"] = address
    assert_finding(findings(model), "netwire_containers.api1.interfaces[0].address", fragment)


def test_static_address_with_the_subnets_prefix_is_accepted():
    model = base()
    model["netwire_containers"]["api1"]["interfaces"][0]["address"] = "10.2.0.50/24"
    assert findings(model) == []


def test_duplicate_macs():
    model = base()
    model["netwire_containers"]["web1"]["interfaces"][0]["mac"] = "02:00:00:00:00:01"
    model["netwire_containers"]["web2"]["interfaces"][0]["mac"] = "02-00-00-00-00-01"
    assert_finding(findings(model), "netwire_containers.web2.interfaces[0].mac",
                   "MAC address 02:00:00:00:00:01 is also the MAC of web1 interfaces[0]")


@pytest.mark.parametrize("mac,fragment", [("01:00:5e:00:00:01", "not a unicast"), ("02:00:00:00:01", "malformed")])
def test_bad_macs(mac, fragment):
    model = base()
    model["netwire_containers"]["web1"]["interfaces"][0]["mac"] = mac
    assert_finding(findings(model), "netwire_containers.web1.interfaces[0].mac", fragment)


@pytest.mark.parametrize("gateway,fragment", [
    ("10.7.0.1", "gateway 10.7.0.1 is outside the subnet 10.2.0.0/24"),
    ("10.2.0.255", "gateway 10.2.0.255 is the broadcast address"),
    ("router", "is not an IPv4 address, 'auto' or 'none'"),
    ("10.2.0.50", "gateway 10.2.0.50 is the interface's own address"),
])
def test_bad_gateways(gateway, fragment):
    model = base()
    model["netwire_containers"]["api1"]["interfaces"][0]["gateway"] = gateway
    assert_finding(findings(model), "netwire_containers.api1.interfaces[0].gateway", fragment)


def test_two_default_gateways():
    model = base()
    model["netwire_containers"]["web1"]["interfaces"][0]["gateway"] = "10.1.0.1"
    model["netwire_containers"]["web1"]["interfaces"][1]["gateway"] = "10.2.0.1"
    assert_finding(findings(model), "netwire_containers.web1.interfaces[1].gateway", "one default gateway")


# ---------------------------------------------------------------- overlays, MTU, names

def test_duplicate_keys_within_one_overlay_type():
    model = base()
    model["netwire_networks"]["third"] = {"subnet": "10.3.0.0/24", "zone": "app", "overlay": "vxlan", "key": 10}
    assert_finding(findings(model), "netwire_networks.third.key", "vxlan key 10 is also the key of network front")


def test_same_key_in_different_overlay_types_is_fine():
    model = base()
    model["netwire_networks"]["back"]["key"] = 10
    assert findings(model) == []


@pytest.mark.parametrize("overlay,key,fragment", [
    ("vxlan", None, "needs a key (the VNI)"),
    ("gre", None, "needs a key (the GRE key)"),
    ("vxlan", 16777216, "vxlan key 16777216 is out of range (1..16777215)"),
    ("geneve", "ten", "geneve key must be an integer"),
])
def test_bad_keys(overlay, key, fragment):
    model = base()
    model["netwire_networks"]["front"].update(overlay=overlay, key=key)
    assert_finding(findings(model), "netwire_networks.front.key", fragment)


@pytest.mark.parametrize("overlay,vlan,mtu,limit", [
    ("vxlan", None, 1451, 1450), ("geneve", None, 1451, 1450), ("gre", None, 1459, 1458), ("gre", 7, 1458, 1454),
])
def test_mtu_that_does_not_fit_the_encapsulation(overlay, vlan, mtu, limit):
    model = base()
    net = model["netwire_networks"]["back"]
    net.update(overlay=overlay, mtu=mtu)
    model["netwire_networks"]["front"]["port"] = 8472
    if vlan:
        net["vlan"] = vlan
    found = findings(model)
    assert_finding(found, "netwire_networks.back.mtu", "mtu %d does not fit %s encapsulation" % (mtu, overlay))
    assert_finding(found, "netwire_networks.back.mtu", "over the underlay MTU 1500 of host h1: at most %d" % limit)
    net["mtu"] = limit
    assert findings(model) == []


def test_mtu_limit_follows_the_smallest_underlay():
    host_vars = hosts()
    host_vars["h2"]["netwire_host"]["underlay_mtu"] = 1400
    model = base()
    model["netwire_networks"]["front"]["mtu"] = 1400
    assert_finding(findings(model, host_vars), "netwire_networks.front.mtu",
                   "over the underlay MTU 1400 of host h2: at most 1350")
    model["netwire_networks"]["front"]["mtu"] = "auto"
    normalized, found, _w = m.analyze(model, host_vars)
    assert found == [] and normalized["networks"]["front"]["mtu"] == 1350


def test_interface_name_that_does_not_fit():
    model = base()
    model["netwire_containers"]["web1"]["interfaces"][0]["ifname"] = "a-very-long-ifname"
    assert_finding(findings(model), "netwire_containers.web1.interfaces[0].ifname",
                   "interface name 'a-very-long-ifname' is longer than 15 characters")


def test_bridge_name_that_does_not_fit():
    model = base()
    model["netwire_networks"]["front"]["bridge"] = "br-front-network-1"
    assert_finding(findings(model), "netwire_networks.front.bridge",
                   "bridge name 'br-front-network-1' is longer than 15 characters")


def test_underlay_interface_that_does_not_fit():
    host_vars = hosts()
    host_vars["h1"]["netwire_host"]["underlay_interface"] = "enp0s31f6-uplink0"
    assert_finding(findings(base(), host_vars), "hostvars.h1.netwire_host.underlay_interface", "longer than 15")


def test_bridge_name_clash():
    model = base()
    model["netwire_networks"]["back"]["bridge"] = "nw-front"
    assert_finding(findings(model), "netwire_networks.front.bridge",
                   "bridge name 'nw-front' is also the bridge of network back")


def test_long_network_names_get_a_short_bridge_name():
    model = base()
    model["netwire_networks"]["a-very-long-network-name"] = model["netwire_networks"].pop("front")
    for c in model["netwire_containers"].values():
        for itf in c["interfaces"]:
            if itf["network"] == "front":
                itf["network"] = "a-very-long-network-name"
    normalized, found, _w = m.analyze(model, hosts())
    assert found == []
    assert len(normalized["networks"]["a-very-long-network-name"]["bridge"]) <= 15


def test_duplicate_interface_names_in_a_container():
    model = base()
    model["netwire_containers"]["web1"]["interfaces"][1]["ifname"] = "eth1"
    assert_finding(findings(model), "netwire_containers.web1.interfaces[1].ifname",
                   "interface name 'eth1' is also used by interfaces[0]")


def test_network_on_several_hosts_without_overlay():
    model = base()
    model["netwire_networks"]["front"]["overlay"] = "none"
    del model["netwire_networks"]["front"]["key"]
    assert_finding(findings(model), "netwire_networks.front.overlay", "spans 2 hosts (h1, h2) but has no overlay")


def test_kernel_and_ovs_vxlan_on_one_udp_port():
    model = base()
    model["netwire_networks"]["back"].update(overlay="vxlan", key=20)
    assert_finding(findings(model), "netwire_networks.front.port",
                   "on host h1, vxlan overlays of networks back (ovs) and front (linux) both use UDP port 4789")
    model["netwire_networks"]["front"]["port"] = 8472
    assert findings(model) == []


def test_overlay_host_without_underlay_address():
    host_vars = hosts()
    del host_vars["h2"]["netwire_host"]["underlay_address"]
    assert_finding(findings(base(), host_vars), "hostvars.h2.netwire_host.underlay_address",
                   "host h2 carries overlay network back but has no underlay address")


def test_underlay_address_defaults_to_the_lab_variable_then_facts():
    host_vars = hosts()
    del host_vars["h1"]["netwire_host"]["underlay_address"]
    host_vars["h1"]["netwire_lab_underlay_ip"] = "198.19.0.21"
    del host_vars["h2"]["netwire_host"]["underlay_address"]
    host_vars["h2"]["ansible_facts"] = {"eth1": {"mtu": 9000, "ipv4": {"address": "198.19.0.22", "prefix": "24"}}}
    normalized, found, _w = m.analyze(base(), host_vars)
    assert found == []
    assert normalized["hosts"]["h1"]["underlay_address"] == "198.19.0.21"
    h2 = normalized["hosts"]["h2"]
    assert (h2["underlay_address"], h2["underlay_prefix"], h2["underlay_mtu"]) == ("198.19.0.22", 24, 9000)


def test_underlay_facts_of_an_interface_with_a_dash():
    host_vars = hosts()
    host_vars["h1"]["netwire_host"] = {"underlay_interface": "br-ul", "index": 1}
    host_vars["h1"]["ansible_facts"] = {"br_ul": {"mtu": 1600, "ipv4": {"address": "198.19.0.31"}}}
    normalized, found, _w = m.analyze(base(), host_vars)
    assert found == []
    assert (normalized["hosts"]["h1"]["underlay_address"], normalized["hosts"]["h1"]["underlay_mtu"]) == (
        "198.19.0.31", 1600)


def test_publication_on_the_underlay_of_a_host_without_one():
    host_vars = hosts()
    host_vars["h3"]["netwire_host"].pop("underlay_address")
    model = base()
    model["netwire_containers"]["solo"] = {"host": "h3", "interfaces": [{"network": "solo"}],
                                           "publish": [{"host_port": 80}]}
    model["netwire_networks"]["solo"] = {"subnet": "10.3.0.0/24", "zone": "app"}
    assert_finding(findings(model, host_vars), "netwire_containers.solo.publish[0].bind",
                   "bind 'underlay' (the default) needs the underlay address of host h3")
    model["netwire_containers"]["solo"]["publish"][0]["bind"] = "0.0.0.0"
    assert findings(model, host_vars) == []


def test_netdev_ovs_overlay_needs_an_underlay_prefix():
    host_vars = hosts()
    host_vars["h1"]["netwire_host"].update(ovs_datapath="netdev", underlay_address="198.19.0.11")
    assert_finding(findings(base(), host_vars), "hostvars.h1.netwire_host.underlay_address",
                   "uses the OVS userspace datapath (netdev) for overlay back")


def test_duplicate_underlay_addresses_and_host_indexes():
    host_vars = hosts()
    host_vars["h2"]["netwire_host"].update(underlay_address="198.19.0.11/24", index=1)
    found = findings(base(), host_vars)
    assert_finding(found, "hostvars.h2.netwire_host.underlay_address",
                   "underlay address 198.19.0.11 is also the underlay address of host h1")
    assert_finding(found, "hostvars.h2.netwire_host.index", "host index 1 is also the index of host h1")


def test_host_index_beyond_the_host_slots():
    host_vars = hosts()
    host_vars["h2"]["netwire_host"]["index"] = 17
    assert_finding(findings(base(), host_vars), "hostvars.h2.netwire_host.index",
                   "host h2 has index 17 but network back reserves only 16 host addresses")


# ---------------------------------------------------------------- publications

def test_two_publications_of_one_host_port():
    model = base()
    model["netwire_containers"]["web2"]["publish"] = [{"host_port": 8080}, {"host_port": 8080, "proto": "udp"}]
    model["netwire_containers"]["api1"]["publish"] = [{"host_port": 8080, "port": 9000}]
    assert_finding(findings(model), "netwire_containers.web2.publish[0].host_port",
                   "tcp port 8080 on 198.19.0.12 of host h2 is also published by netwire_containers.api1.publish[0]")


def test_wildcard_bind_clashes_with_a_specific_address():
    model = base()
    model["netwire_containers"]["api1"]["publish"] = [{"host_port": 443, "bind": "0.0.0.0"}]
    model["netwire_containers"]["web2"]["publish"] = [{"host_port": 443, "bind": "127.0.0.1"}]
    assert_finding(findings(model), "netwire_containers.web2.publish[0].host_port", "tcp port 443 on 127.0.0.1")


def test_same_port_on_different_hosts_or_binds_is_fine():
    model = base()
    model["netwire_containers"]["web2"]["publish"] = [{"host_port": 8080}, {"host_port": 8080, "bind": "127.0.0.1"}]
    assert findings(model) == []


# ---------------------------------------------------------------- types and shapes

@pytest.mark.parametrize("mutate,path,fragment", [
    (lambda d: d["netwire_containers"]["web1"].update(interfaces="front"),
     "netwire_containers.web1.interfaces", "interfaces must be a list, got a string ('front')"),
    (lambda d: d["netwire_networks"]["front"].pop("subnet"),
     "netwire_networks.front.subnet", "has no subnet (required"),
    (lambda d: d["netwire_networks"]["front"].pop("zone"), "netwire_networks.front.zone", "has no zone (required"),
    (lambda d: d["netwire_containers"]["web1"].pop("host"), "netwire_containers.web1.host", "has no host (required"),
    (lambda d: d["netwire_containers"]["web1"]["interfaces"][0].pop("network"),
     "netwire_containers.web1.interfaces[0].network", "an interface needs a network"),
    (lambda d: d["netwire_networks"]["front"].update(subnetz="10.1.0.0/24"),
     "netwire_networks.front.subnetz", "unknown key 'subnetz' (known keys: subnet, zone"),
    (lambda d: d.update(netwire_network={}), "netwire_network", "unknown key 'netwire_network'"),
    (lambda d: d["netwire_networks"]["front"].update(nat="maybe"), "netwire_networks.front.nat",
     "nat must be a boolean"),
    (lambda d: d["netwire_networks"]["front"].update(backend="bridge"), "netwire_networks.front.backend",
     "backend must be one of linux, ovs"),
    (lambda d: d["netwire_networks"]["front"].update(mtu=[1400]), "netwire_networks.front.mtu",
     "mtu must be an integer, got a list"),
    (lambda d: d["netwire_networks"]["front"].update(vlan=5), "netwire_networks.front.vlan", "vlan needs backend ovs"),
    (lambda d: d["netwire_networks"]["back"].update(vlan=4095), "netwire_networks.back.vlan", "out of range"),
    (lambda d: d["netwire_containers"]["web1"]["interfaces"].append("front"),
     "netwire_containers.web1.interfaces[2]", "an interface must be a mapping, got a string"),
    (lambda d: d["netwire_containers"]["web1"].update(publish=[{"port": 80}]),
     "netwire_containers.web1.publish[0].host_port", "a publication needs host_port"),
    (lambda d: d["netwire_containers"]["web1"]["publish"][0].update(host_port=70000),
     "netwire_containers.web1.publish[0].host_port", "host_port 70000 is out of range (1..65535)"),
    (lambda d: d.update(netwire_networks=["front"]), "netwire_networks", "netwire_networks must be a mapping"),
    (lambda d: d["netwire_zones"].update({"bad zone": {}}), "netwire_zones['bad zone']",
     "zone name 'bad zone' must start with a letter or digit"),
    (lambda d: d["netwire_containers"].update({5: {}}), "netwire_containers[5]",
     "container name 5 must be a string, got a number"),
    (lambda d: d["netwire_zones"]["dmz"].update(allow_to="app"), "netwire_zones.dmz.allow_to",
     "allow_to must be a list"),
])
def test_type_errors_are_findings(mutate, path, fragment):
    model = base()
    mutate(model)
    assert_finding(findings(model), path, fragment)


def test_a_model_that_is_not_a_mapping():
    assert_finding(m.validate(["netwire_networks"], hosts()), "", "the model must be a mapping")


def test_host_settings_type_errors():
    host_vars = hosts()
    host_vars["h1"]["netwire_host"].update(underlay_mtu="big", ovs_datapath="dpdk", colour="red")
    host_vars["h2"]["netwire_host"] = "eth1"
    found = findings(base(), host_vars)
    assert_finding(found, "hostvars.h1.netwire_host.underlay_mtu", "underlay MTU must be an integer")
    assert_finding(found, "hostvars.h1.netwire_host.ovs_datapath", "ovs_datapath must be one of system, netdev")
    assert_finding(found, "hostvars.h1.netwire_host.colour", "unknown key 'colour'")
    assert_finding(found, "hostvars.h2.netwire_host", "netwire_host must be a mapping, got a string ('eth1')")


def test_plan_refuses_an_invalid_model():
    model = base()
    model["netwire_networks"]["front"]["zone"] = "nowhere"
    with pytest.raises(m.ModelInvalid) as err:
        m.plan(model, hosts())
    assert err.value.findings == [{"path": "netwire_networks.front.zone", "msg": "unknown zone 'nowhere'"}]
    assert "netwire_networks.front.zone: unknown zone 'nowhere'" in str(err.value)


# ---------------------------------------------------------------- warnings

def test_unroutable_zone_flow_is_a_warning():
    model = base()
    model["netwire_containers"]["api1"]["host"] = "h3"
    model["netwire_networks"]["back"]["hosts"] = ["h1", "h2", "h3"]
    _n, found, warnings = m.analyze(model, hosts())
    assert found == []
    assert {"path": "netwire_networks.front.hosts",
            "msg": "zone flows need network front on host h3 (e.g. replies of api1 to web1): add the host to its "
                   "hosts"} in warnings


def test_point_to_point_mesh_over_three_hosts_is_a_warning_only_where_it_can_loop():
    # OVS tunnel ports are protected (split horizon): an OVS mesh over three hosts is fine
    model = base()
    model["netwire_networks"]["back"]["hosts"] = ["h1", "h2", "h3"]
    _n, found, warnings = m.analyze(model, hosts())
    assert found == []
    assert not any(w["path"] == "netwire_networks.back.overlay" for w in warnings)
    # per-remote kernel GRE devices on a Linux bridge are not
    model["netwire_networks"]["back"]["backend"] = "linux"
    _n, found, warnings = m.analyze(model, hosts())
    assert found == []
    assert any(w["path"] == "netwire_networks.back.overlay" and "split-horizon" in w["msg"] for w in warnings)
