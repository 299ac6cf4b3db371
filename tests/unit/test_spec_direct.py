"""The spec suite's direct-interface checks (tests/spec/test_direct.py) on host states as `ip -j -d` lists them:
each check passes on what container_attach builds and fails, naming the model's path, on each thing broken."""

import pytest

from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.plugin_utils import model as _model
from tests.spec import _expect
from tests.spec import test_direct as checks
from tests.unit.test_spec_expect import DIRECT_MODEL, _normalized


class State:
    def __init__(self, host_links, inside):
        self.host_links, self.inside = host_links, inside

    def links(self):
        return self.host_links

    def container(self, ref, ref_type):
        return {"links": self.inside[ref], "routes": []}


class Spec:
    def __init__(self, state):
        self.states = {"host1": state}


def _link(name, kind=None, alias=None, index=1, addresses=(), mac="02:00:00:00:00:01", **extra):
    link = {"ifname": name, "ifindex": index, "ifalias": alias, "flags": ["BROADCAST", "UP", "LOWER_UP"],
            "address": mac, "addr_info": [{"family": "inet", "local": a.split("/")[0],
                                           "prefixlen": int(a.split("/")[1])} for a in addresses]}
    if kind:
        link["linkinfo"] = {"info_kind": kind, "info_data": extra.pop("data", {})}
    link.update(extra)
    return link


@pytest.fixture
def items():
    model = _normalized(DIRECT_MODEL)
    plans = _model.plans_of(model)
    return (dict((d["id"], d) for d in _expect.direct_interfaces(plans, model)),
            dict((d["id"], d) for d in _expect.direct_host_links(plans, model)))


def _built():
    """host1 as container_attach leaves it for DIRECT_MODEL's dm1.eth2, dm2.lan0 and dm2.lan1."""
    side = _link("nwm-nic0", "macvlan", _names.HOST_MACVLAN_ALIAS, index=9, addresses=["10.47.0.1/24"],
                 link="nic0", data={"mode": "bridge"})
    host = {"nic0": _link("nic0", index=7), "nwm-nic0": side}
    dm1 = {"eth2": _link("eth2", "macvlan", _names.attach_alias("docker:dm1", "eth2"), index=3, link_index=7,
                         link_netnsid=0, addresses=["10.47.0.11/24"], data={"mode": "bridge"})}
    dm2 = {"lan0": _link("lan0", "veth", _names.phys_alias("nic1", "docker:dm2", "lan0"), addresses=["10.48.0.5/24"]),
           "lan1": _link("lan1", None, _names.phys_alias("eno3", "docker:dm2", "lan1"), mac="52:54:00:ab:cd:ef",
                         addresses=["10.48.1.5/24"])}
    return host, {"dm1": dm1, "dm2": dm2}


def test_the_built_interfaces_pass(items):
    direct, shared = items
    host, inside = _built()
    spec = Spec(State(host, inside))
    for key in ("dm1.eth2", "dm2.lan0", "dm2.lan1"):
        checks.test_direct_interface(spec, direct[key])
    checks.test_direct_host_link(spec, shared["host1-nwm-nic0"])


@pytest.mark.parametrize("key,breaks,message", [
    ("dm1.eth2", lambda h, i: i["dm1"].pop("eth2"), "macvlan eth2 in container dm1 on host1 does not exist"),
    ("dm1.eth2", lambda h, i: i["dm1"]["eth2"]["linkinfo"]["info_data"].update(mode="private"),
     "macvlan mode private, the model says bridge"),
    ("dm1.eth2", lambda h, i: i["dm1"]["eth2"].update(link_index=9), "hangs on nwm-nic0, the model says nic0"),
    ("dm1.eth2", lambda h, i: i["dm1"]["eth2"].update(ifalias="theirs"), "not marked as netwire's"),
    ("dm1.eth2", lambda h, i: i["dm1"]["eth2"]["linkinfo"].update(info_kind="ipvlan"), "kind ipvlan"),
    ("dm1.eth2", lambda h, i: i["dm1"]["eth2"].update(addr_info=[]), "address 10.47.0.11/24 missing"),
    ("dm1.eth2", lambda h, i: i["dm1"]["eth2"].update(flags=["BROADCAST"]), "is down"),
    ("dm2.lan0", lambda h, i: i["dm2"]["lan0"].update(ifalias=_names.phys_alias("nic9", "docker:dm2", "lan0")),
     "is host NIC nic9, the model says nic1"),
    ("dm2.lan0", lambda h, i: i["dm2"]["lan0"].update(ifalias=None), "is not a NIC netwire handed over"),
    ("dm2.lan1", lambda h, i: i["dm2"]["lan1"].update(address="52:54:00:ab:cd:e0"),
     "MAC 52:54:00:ab:cd:e0, the model's NIC is mac:52:54:00:ab:cd:ef"),
])
def test_each_broken_thing_fails_at_its_path(items, key, breaks, message):
    direct, _shared = items
    host, inside = _built()
    breaks(host, inside)
    with pytest.raises(AssertionError, match=message) as err:
        checks.test_direct_interface(Spec(State(host, inside)), direct[key])
    assert direct[key]["path"] in str(err.value)


@pytest.mark.parametrize("breaks,message", [
    (lambda link: link.clear(), "does not exist"),
    (lambda link: link.update(ifalias="theirs"), "not netwire's"),
    (lambda link: link.update(link="eth0"), "hangs on eth0, the model says nic0"),
    (lambda link: link["linkinfo"]["info_data"].update(mode="vepa"), "mode vepa, not bridge"),
    (lambda link: link.update(addr_info=[]), "address 10.47.0.1/24 missing"),
])
def test_a_broken_host_side_macvlan_fails(items, breaks, message):
    _direct, shared = items
    host, inside = _built()
    breaks(host["nwm-nic0"])
    if not host["nwm-nic0"]:
        del host["nwm-nic0"]
    with pytest.raises(AssertionError, match=message) as err:
        checks.test_direct_host_link(Spec(State(host, inside)), shared["host1-nwm-nic0"])
    assert "netwire_containers.dm1.interfaces[1].host_macvlan" in str(err.value)
