"""The BGP EVPN control plane in the model (issue 15): netwire_control_plane, a network's control, their
findings, and the plan's frr entry and EVPN VXLAN devices."""

import copy

import yaml

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from tests.unit.model_cases import assert_finding, findings
from ansible_collections.netwire.fabric.plugins.module_utils import _specs
from ansible_collections.netwire.fabric.plugins.module_utils._errors import InvalidParameter
from ansible_collections.netwire.fabric.plugins.module_utils._frr import config as frr_config
from ansible_collections.netwire.fabric.plugins.module_utils._host import kinds as _kinds
from ansible_collections.netwire.fabric.plugins.module_utils._linux.tunnel import normalize_params
from ansible_collections.netwire.fabric.plugins.plugin_utils import model as m


def host_vars(n):
    return dict(("h%d" % i, {"netwire_host": {"index": i, "underlay_address": "198.19.0.%d/24" % (10 + i),
                                              "underlay_interface": "eth1"}}) for i in range(1, n + 1))


def evpn_model(n=3, reflectors=("h1",), **cp):
    """One EVPN network over h1..hn (a container on each), a static one over h1 and h2."""
    control = {"type": "evpn", "asn": 65010}
    if reflectors is not None:
        control["route_reflectors"] = list(reflectors)
    control.update(cp)
    return {
        "netwire_zones": {"app": {}},
        "netwire_control_plane": control,
        "netwire_networks": {
            "ev": {"subnet": "10.8.0.0/24", "zone": "app", "overlay": "vxlan", "key": 800, "control": "evpn"},
            "st": {"subnet": "10.9.0.0/24", "zone": "app", "overlay": "vxlan", "key": 900},
        },
        "netwire_containers": dict(
            [("c%d" % i, {"host": "h%d" % i, "interfaces": [{"network": "ev"}]}) for i in range(1, n + 1)]
            + [("s1", {"host": "h1", "interfaces": [{"network": "st"}]}),
               ("s2", {"host": "h2", "interfaces": [{"network": "st"}]})]),
    }


def test_a_sound_evpn_model_has_no_findings():
    assert findings(evpn_model(), host_vars(3)) == []
    assert findings(evpn_model(4, reflectors=None), host_vars(4)) == []


def test_evpn_on_an_ovs_network_is_a_finding():
    model = evpn_model()
    model["netwire_networks"]["ev"]["backend"] = "ovs"
    assert_finding(findings(model, host_vars(3)), "netwire_networks.ev.control", "OVS network")


def test_evpn_needs_a_vxlan_overlay():
    model = evpn_model()
    model["netwire_networks"]["ev"].update(overlay="geneve")
    assert_finding(findings(model, host_vars(3)), "netwire_networks.ev.control", "needs overlay vxlan")


def test_an_evpn_network_without_the_control_plane_is_a_finding():
    model = evpn_model()
    del model["netwire_control_plane"]
    assert_finding(findings(model, host_vars(3)), "netwire_networks.ev.control",
                   "the model has no netwire_control_plane: its hosts (h1, h2, h3) would run no BGP EVPN speaker")


def test_a_speaker_without_an_underlay_address_is_a_finding():
    hv = host_vars(3)
    del hv["h3"]["netwire_host"]["underlay_address"]
    model = evpn_model()
    # a reflector that carries no EVPN network is a speaker too
    model["netwire_control_plane"]["route_reflectors"] = ["h3"]
    model["netwire_containers"] = dict((k, v) for k, v in model["netwire_containers"].items() if k != "c3")
    assert_finding(findings(model, hv), "hostvars.h3.netwire_host.underlay_address",
                   "host h3 runs the BGP EVPN control plane but has no underlay address")


def test_a_full_mesh_past_four_hosts_is_a_finding_asking_for_reflectors():
    found = findings(evpn_model(5, reflectors=None), host_vars(5))
    assert_finding(found, "netwire_control_plane.route_reflectors", "a full iBGP mesh over 5 hosts")
    assert_finding(found, "netwire_control_plane.route_reflectors", "name one or two route reflectors")
    assert findings(evpn_model(5, reflectors=["h2"]), host_vars(5)) == []
    assert findings(evpn_model(4, reflectors=[]), host_vars(4)) == []


@pytest.mark.parametrize("asn, fragment", [
    (65535, "asn 65535 is not a private AS number"),
    (64511, "asn 64511 is not a private AS number"),
    (4294967295, "asn 4294967295 is not a private AS number"),
    ("private", "asn must be an integer, got a string"),
    (True, "asn must be an integer, got a boolean"),
    (None, "the control plane needs asn"),
])
def test_a_bad_asn_is_a_finding(asn, fragment):
    model = evpn_model()
    model["netwire_control_plane"]["asn"] = asn
    if asn is None:
        del model["netwire_control_plane"]["asn"]
    assert_finding(findings(model, host_vars(3)), "netwire_control_plane.asn", fragment)


def test_private_asns_of_both_ranges_are_accepted():
    for asn in (64512, 65534, 4200000000, "4294967294"):
        model = evpn_model()
        model["netwire_control_plane"]["asn"] = asn
        assert findings(model, host_vars(3)) == [], asn


@pytest.mark.parametrize("change, path, fragment", [
    ({"type": "ospf"}, "netwire_control_plane.type", "type must be one of evpn, got 'ospf'"),
    ({"route_reflectors": ["h9"]}, "netwire_control_plane.route_reflectors[0]", "unknown host 'h9'"),
    ({"route_reflectors": "h1"}, "netwire_control_plane.route_reflectors", "must be a list"),
    ({"holdtime": 5}, "netwire_control_plane.holdtime", "less than three keepalives"),
    ({"peers": []}, "netwire_control_plane.peers", ""),
])
def test_control_plane_fields(change, path, fragment):
    model = evpn_model()
    model["netwire_control_plane"].update(change)
    assert_finding(findings(model, host_vars(3)), path, fragment)


def test_a_bad_control_value_and_a_non_mapping_control_plane():
    model = evpn_model()
    model["netwire_networks"]["st"]["control"] = "bgp"
    assert_finding(findings(model, host_vars(3)), "netwire_networks.st.control", "control must be one of static, evpn")
    model = evpn_model()
    model["netwire_control_plane"] = ["evpn"]
    assert_finding(findings(model, host_vars(3)), "netwire_control_plane", "must be a mapping")


def test_the_plan_gives_each_speaker_an_frr_entry_from_the_model():
    plans = m.plan(evpn_model(3), host_vars(3))
    assert plans["h1"]["frr"] == {"asn": 65010, "router_id": "198.19.0.11", "neighbors": ["198.19.0.12", "198.19.0.13"],
                                  "route_reflector_client": True, "keepalive": 3, "holdtime": 9}
    for h, rid in (("h2", "198.19.0.12"), ("h3", "198.19.0.13")):
        assert plans[h]["frr"] == {"asn": 65010, "router_id": rid, "neighbors": ["198.19.0.11"],
                                   "route_reflector_client": False, "keepalive": 3, "holdtime": 9}
    # a full mesh without reflectors: every other speaker, no reflector clients
    plans = m.plan(evpn_model(3, reflectors=None, keepalive=1, holdtime=3), host_vars(3))
    assert plans["h2"]["frr"]["neighbors"] == ["198.19.0.11", "198.19.0.13"]
    assert not plans["h2"]["frr"]["route_reflector_client"] and plans["h2"]["frr"]["holdtime"] == 3
    # the model's frr entries are the frr module's arguments
    for plan in plans.values():
        result = ArgumentSpecValidator(_specs.FRR).validate(plan["frr"])
        assert not result.error_messages
        frr_config.normalize(result.validated_parameters)


def test_a_model_without_the_control_plane_plans_no_frr():
    model = evpn_model()
    del model["netwire_control_plane"]
    model["netwire_networks"]["ev"]["control"] = "static"
    for plan in m.plan(model, host_vars(3)).values():
        assert "frr" not in plan


def test_an_evpn_network_gets_a_nolearning_vxlan_device_without_flood_entries():
    plans = m.plan(evpn_model(3), host_vars(3))
    ev = [t for t in plans["h2"]["linux_tunnels"] if t["master"] == m.bridge_name("ev")][0]
    assert ev["control"] == "evpn" and ev["remotes"] == [] and ev["learning"] is False and ev["vni"] == 800
    assert ev["local"] == "198.19.0.12"
    assert plans["h2"]["networks"]["ev"]["control"] == "evpn"
    assert plans["h2"]["networks"]["ev"]["vteps"] == ["198.19.0.11", "198.19.0.13"]
    # the static network keeps its flood entries; the firewall still admits exactly the peers on the VNI's port
    st = [t for t in plans["h2"]["linux_tunnels"] if t["master"] == m.bridge_name("st")][0]
    assert st["remotes"] == ["198.19.0.11"] and "control" not in st
    assert plans["h2"]["networks"]["st"]["control"] == "static"
    tunnels = dict((t["network"], t["peers"]) for t in plans["h2"]["firewall"]["tunnels"])
    assert tunnels["ev"] == ["198.19.0.11", "198.19.0.13"] and tunnels["st"] == ["198.19.0.11"]
    result = ArgumentSpecValidator(_specs.LINUX_TUNNEL).validate(dict(ev))
    assert not result.error_messages
    assert normalize_params(result.validated_parameters)["control"] == "evpn"


def applied(plan):
    """What host_network applies of a plan (the networks summary and names are not objects)."""
    return dict((k.key, plan.get(k.key)) for k in _kinds.KINDS) if plan else None


def test_adding_a_host_changes_only_its_plan_and_the_reflectors():
    """h4 is in the fabric already (a container on the static network), then joins the EVPN network."""
    def model(evpn_hosts, control="evpn"):
        out = evpn_model(evpn_hosts)
        out["netwire_containers"]["s4"] = {"host": "h4", "interfaces": [{"network": "st"}]}
        out["netwire_networks"]["ev"]["control"] = control
        return out

    before, after = m.plan(model(3), host_vars(4)), m.plan(model(4), host_vars(4))
    assert sorted(h for h in before if applied(before[h]) != applied(after[h])) == ["h1", "h4"]
    assert after["h4"]["frr"]["neighbors"] == ["198.19.0.11"] and "frr" not in before["h4"]
    assert after["h1"]["frr"]["neighbors"] == ["198.19.0.12", "198.19.0.13", "198.19.0.14"]
    # the static mesh, for comparison: every host of the network changes
    before, after = m.plan(model(3, "static"), host_vars(4)), m.plan(model(4, "static"), host_vars(4))
    assert sorted(h for h in before if applied(before[h]) != applied(after[h])) == ["h1", "h2", "h3", "h4"]


@pytest.mark.parametrize("change, fragment", [
    ({"kind": "geneve", "remotes": ["198.19.0.12"]}, "needs a vxlan device"),
    ({"remotes": ["198.19.0.12"]}, "takes no remotes"),
    ({"learning": True}, "needs learning off"),
    ({"master": None}, "needs a master bridge"),
])
def test_linux_tunnel_control_evpn_parameters(change, fragment):
    params = {"name": "nwx-ev", "vni": 800, "master": "nwb-ev", "control": "evpn", "remotes": []}
    params.update(change)
    with pytest.raises(InvalidParameter, match=fragment):
        normalize_params(copy.deepcopy(params))


def test_the_evpn_example_and_what_the_spec_suite_expects_of_it():
    """examples/evpn: sound; the audit expects every implied session and each VNI's exact remote VTEPs."""
    from tests.lab.core import REPO
    from tests.spec import _expect

    base_dir = REPO / "examples" / "evpn"
    group = yaml.safe_load((base_dir / "group_vars" / "all.yml").read_text())
    hostvars = {}
    for name in ("host1", "host2", "host3"):
        hv = dict(group, **yaml.safe_load((base_dir / "host_vars" / ("%s.yml" % name)).read_text()))
        hostvars[name] = hv
    model_in, hosts_in = _expect.model_inputs(hostvars)
    assert model_in["netwire_control_plane"]["route_reflectors"] == ["host1"]
    normalized, found, _w = m.analyze(model_in, hosts_in)
    assert found == []
    plans = m.plans_of(normalized)
    sessions = sorted(s["id"] for s in _expect.bgp_sessions(plans))
    assert sessions == ["host1-198.19.0.12", "host1-198.19.0.13", "host2-198.19.0.11", "host3-198.19.0.11"]
    vnis = dict((v["id"], v["vteps"]) for v in _expect.evpn_vnis(plans))
    assert vnis == {"host1-evpn": ["198.19.0.12", "198.19.0.13"], "host2-evpn": ["198.19.0.11", "198.19.0.13"],
                    "host3-evpn": ["198.19.0.11", "198.19.0.12"]}
    # the kernel check of the tunnel: zebra's flood entries, exactly the other hosts
    tunnels = dict((t["id"], t["remotes"]) for t in _expect.tunnels(plans))
    assert tunnels == vnis
    assert all(t["remotes"] == [] for p in plans.values() for t in p["linux_tunnels"])
