"""Names and DHCP in the model (issue 14): netwire_dns, dhcp/dhcp_range, address: dhcp, and the plan's dns."""

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from hypothesis import given, settings, strategies as st

from tests.unit.model_cases import assert_finding, base, demo, findings, hosts
from tests.unit.test_model_plan import sound_ish_models
from ansible_collections.netwire.fabric.plugins.module_utils import _names, _specs
from ansible_collections.netwire.fabric.plugins.module_utils._host import network as _host_network
from ansible_collections.netwire.fabric.plugins.plugin_utils import model as m

OVS_DHCP = "DHCP is served on Linux-bridge networks only: the DHCP guard for OVS tunnel ports is not built yet"


def dns_model():
    """base() with names, and DHCP on the Linux network front (web2 on h2 by DHCP)."""
    model = base()
    model["netwire_dns"] = {}
    model["netwire_networks"]["front"]["dhcp"] = True
    model["netwire_containers"]["web2"]["interfaces"][0]["address"] = "dhcp"
    return model


def zoned_model():
    """Three zones in a chain: dmz -> app -> backend, all on Linux bridges."""
    return {
        "netwire_dns": {"domain": "corp.example"},
        "netwire_zones": {"dmz": {"allow_to": ["app"]}, "app": {"allow_to": ["backend"]}, "backend": {}},
        "netwire_networks": {
            "dmz": {"subnet": "10.1.0.0/24", "zone": "dmz", "overlay": "vxlan", "key": 1, "dhcp": True},
            "dmz2": {"subnet": "10.4.0.0/24", "zone": "dmz"},
            "app": {"subnet": "10.2.0.0/24", "zone": "app", "hosts": ["h1"]},
            "backend": {"subnet": "10.3.0.0/24", "zone": "backend", "hosts": ["h1"]},
        },
        "netwire_containers": {
            "web1": {"host": "h1", "interfaces": [{"network": "dmz"}]},
            "web2": {"host": "h2", "interfaces": [{"network": "dmz", "address": "dhcp"}]},
            "edge1": {"host": "h1", "interfaces": [{"network": "dmz2"}]},
            "app1": {"host": "h1", "interfaces": [{"network": "app"}]},
            "db1": {"host": "h1", "interfaces": [{"network": "backend", "address": "10.3.0.20"}]},
        },
    }


def plans(model, host_vars=None):
    return m.plan(model, hosts() if host_vars is None else host_vars)


def entry(plan, network):
    hits = [e for e in plan["dns"] if e["network"] == network]
    assert len(hits) == 1, plan["dns"]
    return hits[0]


def record_names(e):
    return [r["name"] for r in e["records"]]


# ---------------------------------------------------------------- reading

def test_without_netwire_dns_the_plan_is_what_it_was():
    normalized, found, warnings = m.analyze(base(), hosts())
    assert found == [] and warnings == [] and normalized["dns"] is None
    for p in m.plans_of(normalized).values():
        assert "dns" not in p
        assert all("resolver" not in a and "dhcp" not in a for a in p["attachments"])
        assert all("dhcp" not in n for n in p["firewall"]["networks"])
        assert all(s["port"] != 53 for s in p["firewall"]["host_services"])


def test_an_empty_netwire_dns_takes_the_defaults():
    model = base()
    model["netwire_dns"] = {}
    normalized, found, _w = m.analyze(model, hosts())
    assert found == []
    assert normalized["dns"] == {"domain": _names.DEFAULT_DNS_DOMAIN, "forward": []}
    assert _names.DEFAULT_DNS_DOMAIN == "netwire.internal"


def test_domain_and_forwarders_are_normalized():
    model = base()
    model["netwire_dns"] = {"domain": "Corp.Example.",
                            "forward": ["192.0.2.53", "192.0.2.54#5353", "2001:db8::1", "192.0.2.53"]}
    normalized, found, _w = m.analyze(model, hosts())
    assert found == []
    assert normalized["dns"] == {"domain": "corp.example", "forward": ["192.0.2.53", "192.0.2.54#5353", "2001:db8::1"]}


def test_netwire_dns_alone_is_still_an_empty_model():
    assert m.is_empty({"netwire_dns": {}})
    assert "netwire_dns" in m.MODEL_VARS


# ---------------------------------------------------------------- findings

@pytest.mark.parametrize("domain,fragment", [
    ("bad_name.example", "has the label 'bad_name', which is not a DNS label"),
    ("a..example", "has an empty label"),
    (".example", "has an empty label"),
    ("-a.example", "has the label '-a'"),
    ("a-.example", "has the label 'a-'"),
    ("x" * 64 + ".example", "has the label '%s', which is not a DNS label" % ("x" * 64)),
    (".".join(["abcdefghi"] * 26), "is longer than 253 characters"),
    ("host.123", "ends in a numeric label"),
    ("exa mple", "has the label 'exa mple'"),
    ("..", "has an empty label"),
])
def test_a_domain_that_is_not_a_dns_name(domain, fragment):
    model = base()
    model["netwire_dns"] = {"domain": domain}
    assert_finding(findings(model), "netwire_dns.domain", "is not a valid DNS name: it %s" % fragment)


@pytest.mark.parametrize("domain", ["", 5, ["a"]])
def test_a_domain_that_is_not_a_string(domain):
    model = base()
    model["netwire_dns"] = {"domain": domain}
    assert_finding(findings(model), "netwire_dns.domain", "domain must be a non-empty string")


@pytest.mark.parametrize("server,fragment", [
    ("dns.example", "forward server 'dns.example' is not an IP address or 'ip#port'"),
    ("192.0.2.1:53", "is not an IP address or 'ip#port'"),
    ("192.0.2.1#0", "the port after '#' must be a number in 1..65535"),
    ("192.0.2.1#65536", "the port after '#' must be a number in 1..65535"),
    ("192.0.2.1#", "the port after '#' must be a number"),
    (53, "a forward server must be an address, 'ip' or 'ip#port', got a number"),
    ("", "a forward server must be an address"),
])
def test_a_forwarder_that_is_not_an_address(server, fragment):
    model = base()
    model["netwire_dns"] = {"forward": ["192.0.2.53", server]}
    assert_finding(findings(model), "netwire_dns.forward[1]", fragment)


def test_netwire_dns_shapes():
    model = base()
    model["netwire_dns"] = ["netwire.internal"]
    assert_finding(findings(model), "netwire_dns", "netwire_dns must be a mapping, got a list")
    model["netwire_dns"] = {"domian": "x.example", "forward": "192.0.2.53"}
    found = findings(model)
    assert_finding(found, "netwire_dns.domian", "unknown key 'domian' (known keys: domain, forward)")
    assert_finding(found, "netwire_dns.forward", "forward must be a list, got a string")


def test_the_known_model_keys_name_netwire_dns():
    model = base()
    model["netwire_dsn"] = {}
    assert_finding(findings(model), "netwire_dsn", "known keys: netwire_zones, netwire_networks, "
                                                   "netwire_containers, netwire_dns")


def test_dhcp_on_an_ovs_network():
    model = dns_model()
    model["netwire_networks"]["back"]["dhcp"] = True
    assert_finding(findings(model), "netwire_networks.back.dhcp", OVS_DHCP)


def test_dhcp_needs_netwire_dns():
    model = dns_model()
    del model["netwire_dns"]
    assert_finding(findings(model), "netwire_networks.front.dhcp", "dhcp needs netwire_dns")


def test_dhcp_must_be_a_boolean():
    model = dns_model()
    model["netwire_networks"]["front"]["dhcp"] = "maybe"
    assert_finding(findings(model), "netwire_networks.front.dhcp", "dhcp must be a boolean")


def test_address_dhcp_on_a_network_without_dhcp():
    model = dns_model()
    model["netwire_networks"]["front"]["dhcp"] = False
    assert_finding(findings(model), "netwire_containers.web2.interfaces[0].address",
                   "address: dhcp needs dhcp: true on network front (it serves no DHCP)")
    model = dns_model()
    model["netwire_containers"]["web1"]["interfaces"][1]["address"] = "dhcp"
    assert_finding(findings(model), "netwire_containers.web1.interfaces[1].address",
                   "address: dhcp needs dhcp: true on network back")


def test_address_dhcp_with_an_explicit_gateway():
    model = dns_model()
    model["netwire_containers"]["web2"]["interfaces"][0]["gateway"] = "10.1.0.99"
    assert_finding(findings(model), "netwire_containers.web2.interfaces[0].gateway",
                   "gateway 10.1.0.99: an address: dhcp interface gets its router from DHCP")
    model["netwire_containers"]["web2"]["interfaces"][0]["gateway"] = "none"
    assert findings(model) == []


@pytest.mark.parametrize("rng,path,fragment", [
    ({"start": "10.1.0.200", "end": "10.1.1.10"}, "end", "dhcp_range end 10.1.1.10 is outside the subnet 10.1.0.0/24"),
    ({"start": "10.1.0.0", "end": "10.1.0.20"}, "start", "is the network address of 10.1.0.0/24"),
    ({"start": "10.1.0.200", "end": "10.1.0.255"}, "end", "is the broadcast address of 10.1.0.0/24"),
    ({"start": "10.1.0.3", "end": "10.1.0.40"}, "start",
     "dhcp_range start 10.1.0.3 is in the host range of network front (the first 16 addresses)"),
    ({"start": "10.1.0.250", "end": "10.1.0.240"}, "end", "dhcp_range end 10.1.0.240 is before its start 10.1.0.250"),
    ({"start": "10.1.0.x", "end": "10.1.0.240"}, "start", "dhcp_range start '10.1.0.x' is not an IPv4 address"),
    ({"start": "10.1.0.200"}, "end", "dhcp_range needs end"),
    ({"start": "10.1.0.200", "end": "10.1.0.210", "lease": 60}, "lease", "unknown key 'lease'"),
])
def test_bad_dhcp_ranges(rng, path, fragment):
    model = dns_model()
    model["netwire_networks"]["front"]["dhcp_range"] = rng
    assert_finding(findings(model), "netwire_networks.front.dhcp_range.%s" % path, fragment)


def test_a_dhcp_range_must_be_a_mapping_and_needs_dhcp():
    model = dns_model()
    model["netwire_networks"]["front"]["dhcp_range"] = "10.1.0.200-10.1.0.250"
    assert_finding(findings(model), "netwire_networks.front.dhcp_range", "dhcp_range must be a mapping")
    model = dns_model()
    model["netwire_networks"]["front"]["dhcp"] = False
    del model["netwire_containers"]["web2"]["interfaces"][0]["address"]
    model["netwire_networks"]["front"]["dhcp_range"] = {"start": "10.1.0.200", "end": "10.1.0.210"}
    assert_finding(findings(model), "netwire_networks.front.dhcp_range", "dhcp_range needs dhcp: true on network front")


def test_a_dhcp_range_over_a_model_address():
    normalized, found, _w = m.analyze(dns_model(), hosts())
    assert found == []
    web1 = normalized["containers"]["web1"]["interfaces"][0]["address"]
    web2 = normalized["containers"]["web2"]["interfaces"][0]["address"]
    model = dns_model()
    model["netwire_networks"]["front"]["dhcp_range"] = {"start": web1, "end": web1}
    assert_finding(findings(model), "netwire_networks.front.dhcp_range",
                   "dhcp_range %s-%s overlaps the model's addresses on network front: address %s of web1 "
                   "interfaces[0] (auto)" % (web1, web1, web1))
    model["netwire_networks"]["front"]["dhcp_range"] = {"start": web2, "end": web2}
    assert_finding(findings(model), "netwire_networks.front.dhcp_range", "address %s of web2 interfaces[0]" % web2)


def test_a_dhcp_range_over_a_static_address_and_a_gateway():
    model = dns_model()
    model["netwire_containers"]["web1"]["interfaces"][0]["address"] = "10.1.0.230"
    model["netwire_containers"]["web1"]["interfaces"][0]["gateway"] = "10.1.0.231"
    model["netwire_networks"]["front"]["dhcp_range"] = {"start": "10.1.0.225", "end": "10.1.0.235"}
    found = findings(model)
    assert len(found) == 1
    assert_finding(found, "netwire_networks.front.dhcp_range", "address 10.1.0.230 of web1 interfaces[0], "
                                                               "gateway 10.1.0.231 of web1 interfaces[0]")


def test_a_clear_dhcp_range_reaches_the_plan():
    model = dns_model()
    normalized, found, _w = m.analyze(model, hosts())
    taken = set(i["address"] for c in normalized["containers"].values() for i in c["interfaces"])
    free = [a for a in ("10.1.0.%d" % n for n in range(240, 255)) if a not in taken][:3]
    model["netwire_networks"]["front"]["dhcp_range"] = {"start": free[0], "end": free[-1]}
    p = plans(model)["h1"]
    assert entry(p, "front")["dhcp_range"] == {"start": free[0], "end": free[-1]}


@pytest.mark.parametrize("kind,old,new", [("netwire_networks", "front", "front_net"),
                                          ("netwire_containers", "web1", "web.1"),
                                          ("netwire_containers", "web1", "-web1")])
def test_names_that_are_not_dns_labels_with_netwire_dns(kind, old, new):
    model = dns_model()
    model[kind][new] = model[kind].pop(old)
    if kind == "netwire_networks":
        for c in model["netwire_containers"].values():
            for itf in c["interfaces"]:
                itf["network"] = new if itf["network"] == old else itf["network"]
        model["netwire_networks"][new]["bridge"] = "nw-fnet"
    found = findings(model)
    if new.startswith("-"):
        assert_finding(found, "%s['%s']" % (kind, new), "must start with a letter or digit")
        return
    path = "%s.%s" % (kind, new) if "." not in new else "%s['%s']" % (kind, new)
    assert_finding(found, path, "name '%s' is not a DNS label (RFC 1123" % new)
    del model["netwire_dns"]
    model["netwire_networks"]["front"if kind != "netwire_networks" else new]["dhcp"] = False
    for c in model["netwire_containers"].values():
        for itf in c["interfaces"]:
            itf.pop("address", None) if itf.get("address") == "dhcp" else None
    assert not [f for f in findings(model) if "DNS label" in f["msg"]]


def test_names_that_differ_only_in_case_are_one_name_in_dns():
    model = dns_model()
    model["netwire_containers"]["WEB1"] = {"host": "h1", "interfaces": [{"network": "front", "ifname": "eth7"}]}
    assert_finding(findings(model), "netwire_containers.web1", "container name 'web1' is container WEB1 in DNS")


def test_a_dns_name_longer_than_253_characters():
    model = dns_model()
    model["netwire_dns"] = {"domain": ".".join(["d" * 60] * 4)}
    name = "c" * 63
    model["netwire_containers"][name] = {"host": "h1", "interfaces": [{"network": "front", "ifname": "eth7"}]}
    assert_finding(findings(model), "netwire_containers.%s" % name, "is longer than 253 characters")


# ---------------------------------------------------------------- the plan

def test_zone_views_follow_the_zone_flows():
    p = plans(zoned_model())["h1"]
    assert [e["network"] for e in p["dns"]] == ["app", "backend", "dmz", "dmz2"]
    dmz = entry(p, "dmz")
    # its own names, its zone's other network, and app (dmz -> app); never backend (app -> backend only)
    assert record_names(dmz) == ["app1.app.corp.example", "edge1.dmz2.corp.example", "web1.dmz.corp.example",
                                 "web2.dmz.corp.example"]
    assert record_names(entry(p, "app")) == ["app1.app.corp.example", "db1.backend.corp.example"]
    # a zone that may open no connection still sees its own names
    assert entry(p, "backend")["records"] == [{"name": "db1.backend.corp.example", "address": "10.3.0.20"}]


def test_a_dns_entry_is_the_dnsmasq_arguments_of_issue_14():
    model = zoned_model()
    model["netwire_dns"]["forward"] = ["192.0.2.53#5353"]
    normalized, found, _w = m.analyze(model, hosts())
    assert found == []
    p = m.plans_of(normalized)["h2"]
    web1 = normalized["containers"]["web1"]["interfaces"][0]
    web2 = normalized["containers"]["web2"]["interfaces"][0]
    edge1 = normalized["containers"]["edge1"]["interfaces"][0]
    app1 = normalized["containers"]["app1"]["interfaces"][0]
    assert p["dns"] == [{
        "name": "nw-dmz", "state": "present", "network": "dmz", "interface": "nw-dmz", "address": "10.1.0.2",
        "subnet": "10.1.0.0/24", "domain": "corp.example", "forward": ["192.0.2.53#5353"],
        "search": ["dmz.corp.example", "corp.example"],
        "records": [{"name": "app1.app.corp.example", "address": app1["address"]},
                    {"name": "edge1.dmz2.corp.example", "address": edge1["address"]},
                    {"name": "web1.dmz.corp.example", "address": web1["address"]},
                    {"name": "web2.dmz.corp.example", "address": web2["address"]}],
        "dhcp": True, "dhcp_range": None,
        "reservations": [{"mac": web2["mac"], "address": web2["address"], "name": "web2"}],
    }]
    # h1 carries dmz too, but web2 (h2) is no reservation there
    assert entry(plans(model)["h1"], "dmz")["reservations"] == []


def test_a_dhcp_address_is_the_address_it_would_have_without_dhcp():
    with_dhcp = m.analyze(dns_model(), hosts())[0]["containers"]["web2"]["interfaces"][0]
    without = m.analyze(base(), hosts())[0]["containers"]["web2"]["interfaces"][0]
    assert with_dhcp["address"] == without["address"] and with_dhcp["mac"] == without["mac"]
    assert with_dhcp["dhcp"] is True and without["dhcp"] is False


def test_attachments_get_dhcp_and_the_resolver_of_their_first_interface():
    p = plans(dns_model())["h2"]
    web2 = [a for a in p["attachments"] if a["container"] == "web2"]
    assert [a["ifname"] for a in web2] == ["eth1", "eth2"]
    assert web2[0]["dhcp"] is True and "dhcp" not in web2[1]
    assert web2[0]["resolver"] == {"servers": ["10.1.0.2"], "search": ["front.netwire.internal", "netwire.internal"]}
    assert "resolver" not in web2[1]
    api1, = [a for a in p["attachments"] if a["container"] == "api1"]
    assert api1["resolver"] == {"servers": ["10.2.0.2"], "search": ["back.netwire.internal", "netwire.internal"]}
    assert "dhcp" not in api1
    reservation, = entry(p, "front")["reservations"]
    assert reservation == {"mac": web2[0]["mac"], "address": web2[0]["addresses"][0].split("/")[0], "name": "web2"}


def test_the_firewall_accepts_dhcp_and_dns_on_the_bridges():
    all_plans = plans(dns_model())
    assert all_plans["h3"]["dns"] == [] and all_plans["h3"]["firewall"]["host_services"] == []
    for host in ("h1", "h2"):
        p = all_plans[host]
        nets = dict((n["name"], n) for n in p["firewall"]["networks"])
        assert nets["front"].get("dhcp") is True and "dhcp" not in nets["back"]
        dns = [s for s in p["firewall"]["host_services"] if s["port"] == 53]
        want = [{"address": e["address"], "proto": proto, "port": 53} for e in p["dns"] for proto in ("udp", "tcp")]
        assert dns == want and len(want) == 4, host


def test_names_are_unaffected_by_dns():
    before = plans(base())
    after = plans(dns_model())
    assert dict((h, p["names"]) for h, p in before.items()) == dict((h, p["names"]) for h, p in after.items())


def test_plan_entries_pass_the_host_plan_specs():
    """host_network checks every entry against _specs: the new keys must be accepted there."""
    for p in list(plans(dns_model()).values()) + list(m.plan(*demo()).values()):
        _host_network.normalize_entries(p, _host_network.SECTIONS, "present")
        for a in p["attachments"]:
            result = ArgumentSpecValidator(_specs.CONTAINER_ATTACH).validate(dict(a))
            assert not result.error_messages, result.error_messages


def test_the_demo_serves_names_everywhere_and_dhcp_on_app():
    model, host_vars = demo()
    found = m.validate(model, host_vars)
    assert found == []
    all_plans = m.plan(model, host_vars)
    for host, p in all_plans.items():
        assert sorted(e["network"] for e in p["dns"]) == sorted(p["networks"]), host
        assert all(e["domain"] == "netwire.internal" and e["forward"] == [] for e in p["dns"])
        for e in p["dns"]:
            assert e["dhcp"] is (e["network"] == "app") and e["name"] == p["networks"][e["network"]]["bridge"]
    host2 = all_plans["host2"]
    app2, = [a for a in host2["attachments"] if a["container"] == "app2"]
    assert app2["dhcp"] is True and app2["bridge"] == "nw-app" and app2["gateway"] == "10.20.0.2"
    assert entry(host2, "app")["reservations"] == [{"mac": app2["mac"], "address": app2["addresses"][0].split("/")[0],
                                                    "name": "app2"}]
    assert all(entry(all_plans[h], "app")["reservations"] == [] for h in ("host1", "host3"))
    dmz = record_names(entry(host2, "dmz"))
    assert "web2.dmz.netwire.internal" in dmz and "app1.app.netwire.internal" in dmz
    assert not [n for n in dmz if n.endswith(".backend.netwire.internal")]
    assert "db1.backend.netwire.internal" in record_names(entry(host2, "app"))


@settings(max_examples=60, deadline=None)
@given(sound_ish_models(), st.booleans())
def test_every_sound_model_with_names_plans_entries_the_host_plan_accepts(model, dhcp):
    model["netwire_dns"] = {}
    for name, net in model["netwire_networks"].items():
        if dhcp and net["backend"] == "linux":
            net["dhcp"] = True
    for c in model["netwire_containers"].values():
        if model["netwire_networks"][c["interfaces"][0]["network"]].get("dhcp"):
            c["interfaces"][0]["address"] = "dhcp"
    normalized, found, _w = m.analyze(model, hosts())
    if found:
        return
    nets, zones = normalized["networks"], normalized["zones"]
    for host, p in m.plans_of(normalized).items():
        _host_network.normalize_entries(p, _host_network.SECTIONS, "present")
        assert sorted(e["network"] for e in p["dns"]) == sorted(p["networks"])
        for e in p["dns"]:
            zone = nets[e["network"]]["zone"]
            for r in e["records"]:
                cname, network = r["name"].split(".")[:2]
                assert nets[network]["zone"] in [zone] + zones[zone]["allow_to"], (e["network"], r)
            own = ["%s.%s.netwire.internal" % (c, e["network"]) for c, body in normalized["containers"].items()
                   for itf in body["interfaces"] if itf["network"] == e["network"]]
            assert set(own) <= set(record_names(e))
            for res in e["reservations"]:
                assert normalized["containers"][res["name"]]["host"] == host
