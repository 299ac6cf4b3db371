"""The model's container interface routes, rules and qdisc (issue 19): findings and plan entries."""

import pytest

from tests.unit.model_cases import assert_finding, base, findings, hosts
from ansible_collections.netwire.fabric.plugins.plugin_utils import model as m

ITF = "netwire_containers.web2.interfaces[1]"


def with_policy(**itf):
    model = base()
    model["netwire_containers"]["web2"]["interfaces"][1].update(itf)
    return model


SOUND = dict(routes=[{"dest": "0.0.0.0/0", "via": "10.2.0.2", "table": 120}],
             rules=[{"priority": 1000, "from": "10.2.0.0/24", "table": 120}],
             qdisc={"rate": "100mbit", "burst": "64kb", "latency": "50ms"})


def test_the_container_rules_go_to_its_first_interface_routes_and_qdisc_to_their_own():
    plans = m.plan(with_policy(**SOUND), hosts())
    first, second = [a for a in plans["h2"]["attachments"] if a["container"] == "web2"]
    assert first["rules"] == [{"family": "ipv4", "priority": 1000, "from": "10.2.0.0/24", "to": None, "iif": None,
                               "fwmark": None, "table": 120}]
    assert "routes" not in first and "qdisc" not in first
    assert "rules" not in second
    assert second["routes"] == [{"dest": "0.0.0.0/0", "via": "10.2.0.2", "table": 120}]
    assert second["qdisc"] == {"kind": "tbf", "rate": 100000000, "burst": 65536, "limit": 690536}
    # a container without rules gets the empty set: netwire's rules there are exactly none
    api1, = [a for a in plans["h2"]["attachments"] if a["container"] == "api1"]
    assert api1["rules"] == [] and "qdisc" not in api1


@pytest.mark.parametrize("itf,path,fragment", [
    (dict(rules={"priority": 1}), ITF + ".rules", "must be a list"),
    (dict(rules=[{"priority": 1000, "table": 120, "colour": "red"}]), ITF + ".rules[0].colour", "unknown key"),
    (dict(rules=[{"table": 120}]), ITF + ".rules[0]", "needs a priority"),
    (dict(rules=[{"priority": 32766, "table": 120}]), ITF + ".rules[0]", "kernel's own rule"),
    (dict(rules=[{"priority": 10, "to": "fd00::/64", "table": 120}]), ITF + ".rules[0]", "IPv4"),
    (dict(rules=[{"priority": 10, "table": 121}], routes=SOUND["routes"]), ITF + ".rules[0].table",
     "table 121 has no routes"),
    (dict(routes=[{"dest": "0.0.0.0/0", "via": "10.2.0.2"}]), ITF + ".routes[0].dest", "give the route a table"),
    (dict(routes=[{"dest": "10.9.0.1/16", "table": 5}]), ITF + ".routes[0].dest", "not an IPv4 network"),
    (dict(routes=[{"dest": "10.9.0.0/16", "via": "10.1.0.1", "table": 5}]), ITF + ".routes[0]",
     "not on network back"),
    (dict(routes=[{"dest": "10.9.0.0/16", "table": 255}]), ITF + ".routes[0].table", "local table"),
    (dict(routes=[{"via": "10.2.0.2"}]), ITF + ".routes[0].dest", "needs dest"),
    (dict(qdisc={"kind": "netem", "rate": "1mbit"}), ITF + ".qdisc", "not supported"),
    (dict(qdisc={"rate": "1mbit", "burst": "1kb", "limit": "10kb"}), ITF + ".qdisc", "smaller than a full frame"),
    (dict(qdisc={"rate": "fast", "burst": "64kb", "limit": "10kb"}), ITF + ".qdisc", "not a number with a unit"),
    (dict(qdisc={"rate": "1mbit", "burst": "64kb", "limit": "10kb", "peak": 1}), ITF + ".qdisc.peak",
     "unknown key"),
])
def test_bad_routes_rules_and_qdiscs_are_findings_at_their_path(itf, path, fragment):
    assert_finding(findings(with_policy(**itf)), path, fragment)


def test_one_rule_per_priority_across_a_containers_interfaces():
    model = with_policy(**SOUND)
    model["netwire_containers"]["web2"]["interfaces"][0]["rules"] = [{"priority": 1000, "to": "10.9.0.0/16",
                                                                      "table": 254}]
    assert_finding(findings(model), ITF + ".rules[0].priority", "also the priority of %s" %
                   "netwire_containers.web2.interfaces[0].rules[0]")
