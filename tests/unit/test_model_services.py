"""Services, the catalog and the entry point in the model (issue 17): netwire_catalog, services, netwire_lb."""

import copy
import json

import pytest

from tests.unit.model_cases import assert_finding, base, findings, hosts
from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.plugin_utils import model as m


def services_model():
    """base() with a 3-member catalog, web on web1 (h1) and web2 (h2), the entry point on h3."""
    model = base()
    model["netwire_dns"] = {}
    model["netwire_networks"]["front"]["hosts"] = ["h1", "h2", "h3"]
    model["netwire_catalog"] = {"members": ["h1", "h2", "h3"]}
    for name in ("web1", "web2"):
        model["netwire_containers"][name]["services"] = [{"name": "web", "port": 80, "check": "http"}]
    model["netwire_containers"]["api1"]["services"] = [{"name": "api", "port": 9000}]
    model["netwire_lb"] = {"host": "h3", "frontends": [{"port": 8081, "service": "web"}]}
    return model


def analyzed(model, host_vars=None):
    return m.analyze(model, hosts() if host_vars is None else host_vars)


def test_the_services_model_is_sound_and_normalized():
    normalized, found, warnings = analyzed(services_model())
    assert found == [] and warnings == []
    assert normalized["catalog"] == {"members": ["h1", "h2", "h3"], "address": "underlay", "prefix": "/netwire",
                                     "ttl": _names.CATALOG_TTL}
    assert normalized["containers"]["web1"]["services"] == [
        {"name": "web", "port": 80, "network": "front", "check": "http"}]
    assert normalized["containers"]["api1"]["services"] == [
        {"name": "api", "port": 9000, "network": "back", "check": "tcp"}]
    assert normalized["lb"] == {"host": "h3", "frontends": [{"port": 8081, "service": "web"}]}


def test_a_model_without_the_catalog_has_no_catalog_plan_entries():
    plans = m.plan(base(), hosts())
    for p in plans.values():
        assert not set(p) & {"catalog", "registration", "lb"}
    normalized = analyzed(base())[0]
    assert normalized["catalog"] is None and normalized["lb"] is None
    assert all(c["services"] == [] for c in normalized["containers"].values())


@pytest.mark.parametrize("mutate, path, fragment", [
    (lambda mo: mo["netwire_lb"]["frontends"][0].update(service="db"),
     "netwire_lb.frontends[0].service", "unknown service 'db'"),
    (lambda mo: mo["netwire_containers"]["web1"]["services"][0].update(network="nowhere"),
     "netwire_containers.web1.services[0].network", "container web1 is not on network nowhere"),
    (lambda mo: mo["netwire_containers"]["api1"]["services"][0].update(network="front"),
     "netwire_containers.api1.services[0].network", "container api1 is not on network front (its networks: back)"),
    (lambda mo: mo["netwire_lb"].update(host="h9"), "netwire_lb.host", "LB host 'h9' is not in the inventory"),
    (lambda mo: mo["netwire_lb"].pop("host"), "netwire_lb.host", "netwire_lb needs host"),
    (lambda mo: mo["netwire_catalog"].update(members=["h1", "h7"]),
     "netwire_catalog.members[1]", "catalog member 'h7' is not in the inventory"),
    (lambda mo: mo["netwire_catalog"].update(members=["h1", "h1"]),
     "netwire_catalog.members[1]", "listed twice"),
    (lambda mo: mo["netwire_catalog"].update(members=[]), "netwire_catalog.members", "at least one member"),
    (lambda mo: mo["netwire_catalog"].update(prefix="netwire/"), "netwire_catalog.prefix", "is not a key path"),
    (lambda mo: mo["netwire_catalog"].update(ttl=1), "netwire_catalog.ttl", "ttl 1 is out of range"),
    (lambda mo: mo["netwire_catalog"].update(color="red"), "netwire_catalog.color", "unknown key 'color'"),
    (lambda mo: mo["netwire_containers"]["web1"]["services"][0].update(port=0),
     "netwire_containers.web1.services[0].port", "service port 0 is out of range"),
    (lambda mo: mo["netwire_containers"]["web1"]["services"][0].pop("port"),
     "netwire_containers.web1.services[0].port", "needs the port"),
    (lambda mo: mo["netwire_containers"]["web1"]["services"][0].update(name="web_1"),
     "netwire_containers.web1.services[0].name", "is not a DNS label"),
    (lambda mo: mo["netwire_containers"]["web1"]["services"][0].update(check="udp"),
     "netwire_containers.web1.services[0].check", "check must be one of tcp, http"),
    (lambda mo: mo["netwire_containers"]["web1"]["services"].append({"name": "web", "port": 81}),
     "netwire_containers.web1.services[1].name", "declares service 'web' twice"),
    (lambda mo: mo["netwire_containers"]["web2"]["services"][0].update(port=81),
     "netwire_containers.web2.services[0].port", "every member of a service shares its port"),
    (lambda mo: mo.pop("netwire_catalog"), "netwire_containers.api1.services[0]", "set netwire_catalog"),
    (lambda mo: mo.pop("netwire_catalog"), "netwire_lb", "the entry point follows the catalog"),
    (lambda mo: mo.pop("netwire_dns"), "netwire_lb", "netwire_dns"),
    (lambda mo: mo["netwire_networks"]["front"].update(hosts=["h1", "h2"]),
     "netwire_lb.frontends[0].service", "does not span the LB host h3"),
    (lambda mo: mo["netwire_lb"]["frontends"].append({"port": 8081, "service": "api"}),
     "netwire_lb.frontends[1].port", "also frontends[0]"),
    (lambda mo: mo["netwire_lb"].update(frontends=[]), "netwire_lb.frontends", "at least one frontend"),
    (lambda mo: mo["netwire_lb"]["frontends"][0].update(port=2379), "netwire_lb.frontends[0].port",
     "the catalog member's"),
])
def test_findings_name_the_place_and_say_why(mutate, path, fragment):
    model = services_model()
    mutate(model)
    assert_finding(findings(model), path, fragment)


def test_a_frontend_port_clashing_with_a_publication_on_the_lb_host():
    model = services_model()
    model["netwire_lb"]["host"] = "h1"
    model["netwire_lb"]["frontends"][0]["port"] = 8080  # web1 (h1) publishes 8080
    assert_finding(findings(model), "netwire_lb.frontends[0].port", "published port of container web1")


def test_an_even_member_count_is_a_warning_not_a_finding():
    model = services_model()
    model["netwire_catalog"]["members"] = ["h1", "h2"]
    _normalized, found, warnings = analyzed(model)
    assert found == []
    assert [w["path"] for w in warnings] == ["netwire_catalog.members"]
    assert "odd count" in warnings[0]["msg"]


def test_a_member_needs_its_address():
    model = services_model()
    model["netwire_catalog"]["address"] = "management"   # no ansible_host in the fixtures
    assert_finding(findings(model), "netwire_catalog.members", "catalog member h1 has no management address")
    host_vars = hosts()
    for i, name in enumerate(sorted(host_vars)):
        host_vars[name]["ansible_host"] = "198.18.0.%d" % (11 + i)
    assert findings(model, host_vars) == []


def test_malformed_input_is_findings_never_an_exception():
    for bad in ("x", 3, [1], {"members": "h1"}, {"members": [3]}):
        model = services_model()
        model["netwire_catalog"] = bad
        assert findings(model)
    for bad in ("x", [1], {"frontends": "x"}, {"host": 3, "frontends": [3, {"port": "x"}]}):
        model = services_model()
        model["netwire_lb"] = bad
        assert findings(model)
    for bad in ("x", [1], [{"name": 3, "port": "a", "network": []}], {"a": 1}):
        model = services_model()
        model["netwire_containers"]["web1"]["services"] = bad
        assert findings(model)


def test_the_plan_runs_members_registers_each_hosts_services_and_the_lb():
    plans = m.plan(services_model(), hosts())
    cluster = ["h1=http://198.19.0.11:2380", "h2=http://198.19.0.12:2380", "h3=http://198.19.0.13:2380"]
    endpoints = ["http://198.19.0.11:2379", "http://198.19.0.12:2379", "http://198.19.0.13:2379"]
    for i, host in enumerate(("h1", "h2", "h3")):
        assert plans[host]["catalog"] == {"name": host, "state": "present", "address": "198.19.0.1%d" % (i + 1),
                                          "initial_cluster": cluster, "cluster_token": "netwire"}
        assert plans[host]["registration"]["endpoints"] == endpoints
        assert plans[host]["registration"]["prefix"] == "/netwire"
    normalized = analyzed(services_model())[0]
    addr = dict((c, normalized["containers"][c]["interfaces"][0]["address"]) for c in ("web1", "web2"))
    assert plans["h1"]["registration"]["services"] == [
        {"service": "web", "container": "web1", "address": addr["web1"], "port": 80}]
    assert plans["h2"]["registration"]["services"] == [
        {"service": "api", "container": "api1", "address": "10.2.0.50", "port": 9000},
        {"service": "web", "container": "web2", "address": addr["web2"], "port": 80}]
    # a host without services still registers: an empty list removes its keys
    assert plans["h3"]["registration"]["services"] == []
    assert "lb" not in plans["h1"] and "lb" not in plans["h2"]
    lb = plans["h3"]["lb"]
    assert lb["frontends"] == [{
        "port": 8081, "service": "web", "backend_port": 80, "check": "http", "fqdn": "web.svc.netwire.internal",
        "network": "front", "bridge": normalized["networks"]["front"]["bridge"], "resolver": "10.1.0.3",
        "max_servers": 4}]


def test_members_only_where_named_and_a_demo_catalog_of_one():
    model = services_model()
    model["netwire_catalog"] = {"members": ["h2"], "prefix": "/demo/x", "ttl": 30}
    plans = m.plan(model, hosts())
    assert [h for h in plans if "catalog" in plans[h]] == ["h2"]
    assert plans["h2"]["catalog"]["initial_cluster"] == ["h2=http://198.19.0.12:2380"]
    assert plans["h1"]["registration"]["endpoints"] == ["http://198.19.0.12:2379"]
    assert plans["h1"]["registration"]["ttl"] == 30 and plans["h1"]["registration"]["prefix"] == "/demo/x"


def test_service_keys_are_one_path_per_host_and_container():
    key = _names.service_key("/netwire", "web", "h2", "web2")
    assert key == "/netwire/services/web/h2/web2"
    assert _names.parse_service_key("/netwire", key) == ("web", "h2", "web2")
    assert _names.parse_service_key("/netwire", "/netwire/services/web/h2") is None
    assert _names.parse_service_key("/netwire", "/netwire2/services/web/h2/x") is None
    assert _names.parse_service_key("/netwire/", key) == ("web", "h2", "web2")


def test_the_model_does_not_change_the_input():
    model = services_model()
    before = copy.deepcopy(model)
    m.plan(model, hosts())
    assert model == before


def test_the_services_example_is_sound_and_plans_the_catalog_and_the_entry_point():
    model, host_vars = services_example()
    normalized, found, warnings = m.analyze(model, host_vars)
    assert found == [] and warnings == []
    plans = m.plans_of(normalized)
    assert all("catalog" in plans[h] for h in plans)
    registered = [s["container"] for h in ("host2", "host3") for s in plans[h]["registration"]["services"]]
    assert registered == ["web2", "web3"]
    assert plans["host1"]["lb"]["frontends"][0]["resolver"] == "10.60.0.1"
    assert "lb" not in plans["host2"]


def test_the_spec_suite_expects_members_keys_per_host_and_lb_backends():
    from tests.spec import _expect
    plans = m.plan(services_model(), hosts())
    assert [c["id"] for c in _expect.catalog_members(plans)] == ["h1-etcd", "h2-etcd", "h3-etcd"]
    regs = dict((r["host"], r["want"]) for r in _expect.catalog_registrations(plans))
    assert regs["h3"] == {} and sorted(regs["h2"]) == ["/netwire/services/api/h2/api1", "/netwire/services/web/h2/web2"]
    assert regs["h2"]["/netwire/services/api/h2/api1"] == "10.2.0.50:9000"
    fes = _expect.lb_frontends(plans)
    assert [(f["id"], f["backend"], f["socket"]) for f in fes] == [
        ("h3-lb-8081", "be-web-8081", "/run/netwire/haproxy-lb.sock")]
    assert _expect.catalog_members(m.plan(base(), hosts())) == []

    model, host_vars = services_example()
    names = _expect.service_names(m.plans_of(m.analyze(model, host_vars)[0]))
    front, apps = _names.bridge_name("front"), _names.bridge_name("apps")
    ids = ["%s-%s-web" % (h, b) for h in ("host1", "host2", "host3") for b in (front, apps)]
    assert sorted(n["id"] for n in names) == sorted(ids)
    assert [n["path"] for n in names if n["id"] == "host1-%s-web" % front] == [
        "web.svc (host host1, bridge %s: the entry point)" % front]
    assert set(n["file"] for n in names if n["host"] == "host2") == set(
        _names.service_hosts_file(b, "web") for b in (front, apps))


def lb_services(plan_):
    return [s for s in plan_["firewall"]["host_services"] if s["port"] == 8081]


def test_the_entry_point_is_reachable_only_from_the_zones_that_may_reach_its_services_network():
    from ansible_collections.netwire.fabric.plugins.module_utils._firewall import planner as fw
    model = services_model()
    # web is on front (zone dmz); ops may reach dmz, app may not (dmz -> app is the other way)
    model["netwire_zones"]["ops"] = {"allow_to": ["dmz"]}
    model["netwire_networks"]["ops"] = {"subnet": "10.9.0.0/24", "zone": "ops", "hosts": ["h1"]}
    model["netwire_containers"]["tool1"] = {"host": "h1", "interfaces": [{"network": "ops"}]}
    plans = m.plan(model, hosts())
    assert lb_services(plans["h1"]) == [
        {"address": "198.19.0.13", "proto": "tcp", "port": 8081, "zones": ["dmz", "ops"], "local": False}]
    assert lb_services(plans["h2"]) == [
        {"address": "198.19.0.13", "proto": "tcp", "port": 8081, "zones": ["dmz"], "local": False}]
    # on the LB host: its own address (input, chain services) and the bridge address of its allowed network
    assert lb_services(plans["h3"]) == [
        {"address": "198.19.0.13", "proto": "tcp", "port": 8081, "zones": ["dmz"], "local": True},
        {"address": "10.1.0.3", "proto": "tcp", "port": 8081, "zones": ["dmz"]}]
    for host in ("h1", "h2", "h3"):
        fw_args = plans[host]["firewall"]
        ruleset = fw.plan_ruleset(fw.build_spec(fw_args["networks"], fw_args["flows"], fw_args["publications"],
                                                tunnels=fw_args["tunnels"], host_addresses=fw_args["host_addresses"],
                                                host_services=fw_args["host_services"]))
        inet = [t for t in ruleset["tables"] if t["family"] == "inet"][0]
        lb_rules = [r for c in inet["chains"] for r in c["rules"] if "8081" in json.dumps(r)]
        ingress = sorted(set(e["match"]["right"] for r in lb_rules for e in r["expr"]
                             if "match" in e and e["match"]["left"] == {"meta": {"key": "iifname"}}))
        assert ingress == {"h1": ["@bridges_dmz", "@bridges_ops"], "h2": ["@bridges_dmz"],
                           "h3": ["@bridges_dmz", "nw-front"]}[host], (host, ingress)


def test_no_entry_point_rules_on_a_host_without_an_allowed_zone_or_without_the_lb():
    model = services_model()
    model["netwire_networks"]["lone"] = {"subnet": "10.8.0.0/24", "zone": "app", "hosts": ["h4"]}
    host_vars = hosts()
    host_vars["h4"] = {"netwire_host": {"index": 4, "underlay_address": "198.19.0.14/24", "underlay_interface": "eth1"}}
    plans = m.plan(model, host_vars)
    assert plans["h4"]["firewall"]["networks"] and lb_services(plans["h4"]) == []
    del model["netwire_lb"]
    assert all(lb_services(p) == [] for p in m.plan(model, host_vars).values())


def services_example():
    import yaml
    from tests.unit.model_cases import REPO
    base_dir = REPO / "examples" / "services"
    group = yaml.safe_load((base_dir / "group_vars" / "all.yml").read_text())
    model = dict((k, group[k]) for k in m.MODEL_VARS if k in group)
    host_vars = {}
    for name in ("host1", "host2", "host3"):
        hv = yaml.safe_load((base_dir / "host_vars" / ("%s.yml" % name)).read_text())
        hv["netwire_host_defaults"] = group["netwire_host_defaults"]
        host_vars[name] = hv
    return model, host_vars


def names_of(model, host_vars):
    normalized = m.analyze(model, host_vars)[0]
    bridge = dict((n, normalized["networks"][n]["bridge"]) for n in normalized["networks"])
    plans = m.plans_of(normalized)
    return dict((h, plans[h]["registration"]["names"]) for h in plans), bridge


def test_each_hosts_dnsmasq_answers_the_services_its_networks_zone_may_reach():
    model, host_vars = services_example()
    names, bridge = names_of(model, host_vars)
    fqdn = "web.svc.netwire.internal"
    # zone web (front) and zone apps (allow_to: [web]) answer web; zone guest never does
    assert names["host2"] == [{"service": "web", "fqdn": fqdn, "bridges": sorted([bridge["front"], bridge["apps"]])}]
    assert names["host3"] == names["host2"]
    # the LB host: the entry point's own watch writes web on front; the names watch only the apps network
    assert names["host1"] == [{"service": "web", "fqdn": fqdn, "bridges": [bridge["apps"]]}]
    # without the entry point, the host's names watch answers on front too
    model = copy.deepcopy(model)
    del model["netwire_lb"]
    names, bridge = names_of(model, host_vars)
    assert names["host1"][0]["bridges"] == sorted([bridge["front"], bridge["apps"]])
    # guest allowed to web: its bridges answer it as well (the zone view, as for the containers' names)
    model["netwire_zones"]["guest"]["allow_to"] = ["web"]
    names, bridge = names_of(model, host_vars)
    assert bridge["guest"] in names["host1"][0]["bridges"] and bridge["guest"] in names["host2"][0]["bridges"]


def test_no_names_without_dns_and_none_for_a_service_no_local_zone_may_reach():
    model = services_model()
    plans = m.plan(model, hosts())
    normalized = analyzed(model)[0]
    nets = normalized["networks"]
    for host in plans:
        for entry in plans[host]["registration"]["names"]:
            network = [s for c in normalized["containers"].values() for s in c["services"]
                       if s["name"] == entry["service"]][0]["network"]
            target = nets[network]["zone"]
            for b in entry["bridges"]:
                zone = [n for n in nets.values() if n["bridge"] == b][0]["zone"]
                assert zone == target or target in normalized["zones"][zone]["allow_to"], (host, entry)
    assert sum(len(e["bridges"]) for p in plans.values() for e in p["registration"]["names"]) >= 4
    del model["netwire_lb"]
    model.pop("netwire_dns")
    assert all(p["registration"]["names"] == [] for p in m.plan(model, hosts()).values())
