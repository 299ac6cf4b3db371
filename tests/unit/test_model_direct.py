"""The model's direct container interfaces (issue 19): macvlan, vlan, phys and dummy, on no netwire network."""

import pytest

from tests.unit.model_cases import assert_finding, base, findings, hosts
from ansible_collections.netwire.fabric.plugins.plugin_utils import model as m

LAN = {"kind": "macvlan", "parent": "eth2", "address": "192.168.1.10/24", "gateway": "192.168.1.1",
       "host_macvlan": {"addresses": ["192.168.1.254/24"]}}


def with_direct(*itfs, **container):
    model = base()
    c = model["netwire_containers"]["web2"]
    c["interfaces"] = [{"network": "front", "gateway": "none"}] + list(itfs)
    c.update(container)
    return model


def test_a_macvlan_and_a_nic_become_attachments_of_their_own_kind():
    model = with_direct(LAN, {"kind": "phys", "parent": "mac:52:54:00:12:34:56", "ifname": "wan0",
                              "address": "203.0.113.10/24"})
    assert findings(model) == []
    plans = m.plan(model, hosts())
    veth, lan, wan = [a for a in plans["h2"]["attachments"] if a["container"] == "web2"]
    assert veth["bridge"] and "kind" not in veth and "gateway" not in veth
    assert lan == {"container": "web2", "container_type": "auto", "kind": "macvlan", "ifname": "eth2",
                   "parent": "eth2", "addresses": ["192.168.1.10/24"], "gateway": "192.168.1.1", "routes": [],
                   "host_macvlan": {"addresses": ["192.168.1.254/24"]}}
    assert wan["kind"] == "phys" and wan["parent"] == "mac:52:54:00:12:34:56" and wan["ifname"] == "wan0"
    # on no network: no host end to keep, no firewall port, no DNS name
    assert not any(n in plans["h2"]["names"] for n in ("eth2", "wan0"))


def test_the_gateway_of_a_direct_interface_is_the_containers_one():
    model = with_direct(LAN)
    model["netwire_containers"]["web2"]["interfaces"][0].pop("gateway")
    plans = m.plan(model, hosts())
    veth = [a for a in plans["h2"]["attachments"] if a["container"] == "web2"][0]
    assert "gateway" not in veth, "the auto gateway would be a second default route"
    model["netwire_containers"]["web2"]["interfaces"][0]["gateway"] = "10.1.0.1"
    assert_finding(findings(model), "netwire_containers.web2.interfaces[1].gateway", "one default gateway")


@pytest.mark.parametrize("itf,path,fragment", [
    (dict(LAN, parent=None), "", "kind macvlan needs parent"),
    (dict(LAN, address=None), ".address", "needs its address, with its prefix"),
    (dict(LAN, address="192.168.1.10"), "", "no prefix"),
    (dict(LAN, macvlan_mode="private"), "", "host_macvlan needs macvlan_mode bridge"),
    (dict(LAN, kind="vlan"), "", "kind vlan needs vlan"),
    (dict(LAN, kind="ipvlan"), ".kind", "kind must be one of veth, macvlan"),
    (dict(LAN, network="front"), ".network", "unknown key"),
    (dict(LAN, ifname="eth1"), ".ifname", "also used by interfaces[0]"),
])
def test_bad_direct_interfaces_are_findings_at_their_path(itf, path, fragment):
    itf = dict((k, v) for k, v in itf.items() if v is not None)
    assert_finding(findings(with_direct(itf)), "netwire_containers.web2.interfaces[1]" + path, fragment)


def test_one_nic_goes_to_one_container_of_its_host():
    model = with_direct({"kind": "phys", "parent": "eth3", "address": "192.168.3.5/24"})
    model["netwire_containers"]["api1"]["interfaces"].append({"kind": "phys", "parent": "eth3",
                                                              "address": "192.168.3.6/24"})
    assert_finding(findings(model), "netwire_containers.web2.interfaces[1].parent",
                   "NIC eth3 of host h2 is already handed to api1:eth2")
