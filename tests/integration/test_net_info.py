"""net_info: read-only facts of what netwire owns, in the host and inside containers."""

import pytest

from tests.integration.linux_helpers import all_links, assert_failed, stable

pytestmark = pytest.mark.lab

BR, VX = "nwt-ibr", "nwt-ivx"


@pytest.fixture
def built(lab, container, netns):
    h1, h2 = lab.host("host1"), lab.host("host2")
    h1.run("ip link add nwt-ibrx type bridge; ip link add nwt-iv0 type veth peer name nwt-iv1")
    assert h1.module("linux_bridge", {"name": BR, "addresses": ["10.35.0.1/24"]})["changed"]
    assert h1.module("linux_tunnel", {"name": VX, "vni": 3501, "dev": "eth1", "master": BR,
                                      "remotes": [h2.underlay_ip]})["changed"]
    web = container()
    ns = netns(h1, "nwt-info")
    for ref, addr in ((web.name, "10.35.0.11/24"), (ns.name, "10.35.0.12/24")):
        res = h1.module("container_attach", {"container": ref, "bridge": BR, "addresses": [addr],
                                             "gateway": "10.35.0.1"})
        assert res["changed"], res
    yield h1, h2, web, ns
    h1.run("for l in %s %s nwt-ibrx nwt-iv0; do ip link del $l 2>/dev/null; done; true" % (VX, BR))


def test_facts_of_owned_objects(built):
    h1, h2, web, ns = built
    links_before = {n: stable(l) for n, l in all_links(h1).items()}
    res = h1.module("net_info", {"containers": [web.name, ns.name]})
    assert not res.get("failed") and res["changed"] is False, res

    names = [l["name"] for l in res["links"]]
    assert BR in names and VX in names
    assert "nwt-ibrx" not in names and "nwt-iv0" not in names and "eth1" not in names, "unowned links listed"
    assert all(l["owned"] for l in res["links"])

    bridge = res["bridges"][BR]
    assert bridge["addresses"] == ["10.35.0.1/24"] and VX in bridge["ports"] and len(bridge["ports"]) == 3
    tunnel = res["tunnels"][VX]
    assert tunnel["vni"] == 3501 and tunnel["remotes"] == [h2.underlay_ip] and tunnel["master"] == BR

    attached = {a["identity"]: a for a in res["attachments"]}
    assert set(attached) == {"docker:%s" % web.name, "netns:%s" % ns.name}
    assert all(a["bridge"] == BR and a["ifname"] == "eth1" for a in attached.values())

    web_facts = res["containers"][web.name]
    assert web_facts["netns"] == "/proc/%d/ns/net" % web.pid and web_facts["identity"] == "docker:%s" % web.name
    assert [(l["name"], l["addresses"]) for l in web_facts["links"]] == [("eth1", ["10.35.0.11/24"])]
    assert {(r["dest"], r["via"], r["dev"]) for r in web_facts["routes"]} == {("0.0.0.0/0", "10.35.0.1", "eth1")}
    assert res["containers"][ns.name]["links"][0]["addresses"] == ["10.35.0.12/24"]

    everything = h1.module("net_info", {"all_links": True}, check=True)
    all_names = [l["name"] for l in everything["links"]]
    assert {"nwt-ibrx", "nwt-iv0", "eth1", "lo", BR, VX} <= set(all_names)
    assert not [l for l in everything["links"] if l["name"] == "nwt-ibrx"][0]["owned"]

    assert {n: stable(l) for n, l in all_links(h1).items()} == links_before, "net_info changed something"


def test_unknown_container_fails_clearly(lab):
    res = lab.host("host1").module("net_info", {"containers": ["nwt-ghost"]})
    assert_failed(res, "Failed to resolve container 'nwt-ghost'")


def test_empty_host_reports_nothing_owned(lab):
    res = lab.host("host3").module("net_info", {})
    assert res["links"] == [] and res["bridges"] == {} and res["tunnels"] == {} and res["attachments"] == []


def test_modules_run_through_real_ansible_over_ssh(lab):
    """The same modules through ansible itself (SSH, module shipping, check/diff flags)."""
    results = lab.ansible("host2", "netwire.fabric.linux_bridge", {"name": "nwt-sshbr", "addresses": ["10.36.0.1/24"]},
                          check=True, diff=True)
    assert results["host2"]["changed"] and results["host2"]["bridge"]["addresses"] == ["10.36.0.1/24"], results
    facts = lab.ansible("host2", "netwire.fabric.net_info", {})
    assert "nwt-sshbr" not in facts["host2"]["bridges"], "check mode over SSH created the bridge"
