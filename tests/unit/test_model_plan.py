"""Per-host plans and derived names: the contract between the model and the modules."""

import importlib
import re

import pytest
import yaml
from hypothesis import given, settings, strategies as st

from tests.unit.model_cases import REPO, base, demo, hosts
from ansible_collections.netwire.fabric.plugins.plugin_utils import model as m
from ansible_collections.netwire.fabric.plugins.module_utils._firewall import planner as _firewall
from ansible_collections.netwire.fabric.plugins.module_utils._host import attach as _attach
from ansible_collections.netwire.fabric.plugins.module_utils._linux import bridge as _linux_bridge
from ansible_collections.netwire.fabric.plugins.module_utils._linux import tunnel as _linux_tunnel
from ansible_collections.netwire.fabric.plugins.module_utils._ovs import bridge as _ovs_bridge
from ansible_collections.netwire.fabric.plugins.module_utils._ovs import tunnel as _ovs_tunnel

DOC_FRAGMENTS = "ansible_collections.netwire.fabric.plugins.doc_fragments."
IFNAME = re.compile(r"^[^\s/:]{1,15}$")
ANY_TEXT = st.text(min_size=1, max_size=40)


def documented_options(module):
    """Option names and defaults from a module's DOCUMENTATION, with those of its doc fragments (as ansible-doc)."""
    source = (REPO / "plugins" / "modules" / ("%s.py" % module)).read_text()
    doc = yaml.safe_load(re.search(r'DOCUMENTATION = r?"""(.*?)"""', source, re.S).group(1))
    options = dict(doc["options"])
    for fragment in doc.get("extends_documentation_fragment", []):
        name, _dot, var = fragment[len("netwire.fabric."):].partition(".")
        text = getattr(importlib.import_module(DOC_FRAGMENTS + name).ModuleDocFragment, var.upper() or "DOCUMENTATION")
        for option, spec in (yaml.safe_load(text).get("options") or {}).items():
            options.setdefault(option, spec)
    return dict((name, spec.get("default")) for name, spec in options.items())


# Each plan list, the module that consumes its entries, and that module's pure normalizer.
CONSUMERS = [
    ("linux_bridges", "linux_bridge", _linux_bridge.normalize_params),
    ("linux_tunnels", "linux_tunnel", _linux_tunnel.normalize_params),
    ("ovs_bridges", "ovs_bridge", _ovs_bridge.normalize_params),
    ("ovs_tunnels", "ovs_tunnel", _ovs_tunnel.normalize_params),
    ("attachments", "container_attach", _attach.normalize_params),
]


@pytest.fixture(scope="module")
def demo_plans():
    model, host_vars = demo()
    return m.plan(model, host_vars)


@pytest.mark.parametrize("plan_key,module,normalize", CONSUMERS)
def test_plan_entries_are_valid_module_arguments(demo_plans, plan_key, module, normalize):
    options = documented_options(module)
    count = 0
    for plan in list(demo_plans.values()) + list(m.plan(base(), hosts()).values()):
        for entry in plan[plan_key]:
            assert set(entry) <= set(options), "%s: not options of %s: %s" % (plan_key, module, set(entry) - set(options))
            params = dict(options)
            params.update(entry)
            normalize(params)
            count += 1
    assert count


def test_firewall_parameters_are_accepted_by_the_firewall_planner(demo_plans):
    options = documented_options("firewall")
    for plan in demo_plans.values():
        assert set(plan["firewall"]) <= set(options)
        spec = _firewall.build_spec(**plan["firewall"])
        assert [n.name for n in spec.networks] == sorted(plan["networks"])


def test_demo_plan_of_host2(demo_plans):
    p = demo_plans["host2"]
    assert p["underlay"] == {"interface": "eth1", "address": "198.19.0.12", "prefix": 24, "mtu": 1500,
                             "ovs_datapath": "netdev", "bridge": "nwu-eth1"}
    assert sorted(p["networks"]) == ["app", "backend", "dmz"]
    assert p["networks"]["dmz"]["mtu"] == 1458 and p["networks"]["app"]["mtu"] == 1450
    assert [b["name"] for b in p["linux_bridges"]] == ["nw-app"]
    assert p["linux_bridges"][0]["addresses"] == ["10.20.0.2/24"]
    assert [b["name"] for b in p["ovs_bridges"]] == ["nwu-eth1", "nw-backend", "nw-dmz"]
    assert p["ovs_bridges"][0]["ports"] == [{"name": "eth1", "type": "system"},
                                            {"name": "nwu-eth1", "type": "internal", "addresses": ["198.19.0.12/24"]}]
    vxlan, = p["linux_tunnels"]
    assert vxlan == {"name": "nwx-app", "kind": "vxlan", "vni": 120, "local": "198.19.0.12", "dev": "nwu-eth1",
                     "port": 8472, "master": "nw-app", "mtu": 1450, "learning": False,
                     "remotes": ["198.19.0.11", "198.19.0.13"]}
    assert p["ovs_tunnels"] == [
        {"bridge": "nw-backend", "network": "backend", "type": "vxlan", "key": 130, "local_ip": "198.19.0.12",
         "remotes": ["198.19.0.13"], "dst_port": 4789},
        {"bridge": "nw-dmz", "network": "dmz", "type": "gre", "key": 110, "local_ip": "198.19.0.12",
         "remotes": ["198.19.0.11"]},
    ]
    assert sorted(a["container"] for a in p["attachments"]) == ["app1", "app2", "web2"]
    app1 = [a for a in p["attachments"] if a["container"] == "app1"][0]
    assert app1["gateway"] == "10.20.0.2" and app1["bridge"] == "nw-app" and app1["mtu"] == 1450
    assert app1["host_ifname"] == m.veth_host_name("app1", "eth1")
    assert p["firewall"]["flows"] == [{"from": "app", "to": "backend"}, {"from": "dmz", "to": "app"}]
    assert p["firewall"]["publications"] == []


def test_demo_publication_and_nat(demo_plans):
    p = demo_plans["host1"]
    pub, = p["firewall"]["publications"]
    web1, = p["attachments"]
    assert pub == {"name": "web1:tcp/80", "network": "dmz", "proto": "tcp", "host_port": 8080,
                   "bind_address": "198.19.0.11", "container_address": web1["addresses"][0].split("/")[0],
                   "container_port": 80}
    nat = dict((n["name"], n["nat"]) for p in demo_plans.values() for n in p["firewall"]["networks"])
    assert nat == {"app": True, "backend": False, "dmz": True}


def test_tunnel_mesh_is_full_and_symmetric(demo_plans):
    peers = set()
    for host, plan in demo_plans.items():
        local = plan["underlay"]["address"]
        for t in plan["ovs_tunnels"]:
            peers.update((t["network"], local, r) for r in t["remotes"])
        for t in plan["linux_tunnels"]:
            peers.update((t["master"], local, r) for r in t["remotes"])
    assert all((net, remote, local) in peers for net, local, remote in peers)
    assert len([p for p in peers if p[0] == "nw-app"]) == 6


def test_plan_names_are_unique_and_fit(demo_plans):
    for plan in demo_plans.values():
        assert len(set(plan["names"])) == len(plan["names"])
        assert all(IFNAME.match(n) for n in plan["names"])


def test_every_network_bridge_keeps_a_mac_of_its_own(demo_plans):
    """A bridge without a MAC of its own takes its lowest port's and moves when that port leaves; the plan
    pins one per host and network: the same on every run, different for each host of a network (they
    share its L2 segment), and the module argument of each backend."""
    macs = {}
    for host, plan in demo_plans.items():
        linux = dict((b["name"], b["mac"]) for b in plan["linux_bridges"])
        ovs = dict((b["name"], b["other_config"]["hwaddr"]) for b in plan["ovs_bridges"] if "other_config" in b)
        for net, n in plan["networks"].items():
            mac = linux.get(n["bridge"]) or ovs.get(n["bridge"])
            assert mac == n["mac"], (host, net)
            assert int(mac[:2], 16) & 2 and not int(mac[:2], 16) & 1, mac
            macs[(host, net)] = mac
        # the netdev underlay bridge keeps its NIC's MAC (the address peers already resolved)
        assert all("other_config" not in b for b in plan["ovs_bridges"] if b["name"] == plan["underlay"]["bridge"])
    assert len(set(macs.values())) == len(macs) == 7, macs
    model, host_vars = demo()
    again = m.plan(model, host_vars)
    assert all(again[h]["networks"][n]["mac"] == mac for (h, n), mac in macs.items())


def test_hosts_without_anything_get_an_empty_plan():
    host_vars = hosts()
    host_vars["h9"] = {}
    plans = m.plan(base(), host_vars)
    assert plans["h9"]["networks"] == {} and plans["h9"]["attachments"] == [] and plans["h9"]["names"] == []


def test_ovs_port_names_are_the_ovs_tunnel_modules():
    for overlay in ("gre", "vxlan", "geneve"):
        p = _ovs_tunnel.normalize_params({"bridge": "nw-dmz", "network": "dmz", "type": overlay, "key": 7,
                                          "remotes": ["198.19.0.12"]})
        assert [m.ovs_tunnel_port_name(overlay, "dmz", "198.19.0.12")] == list(_ovs_tunnel.desired_tunnels(p))


def test_kernel_gre_and_geneve_get_one_device_per_remote():
    model = base()
    model["netwire_networks"]["front"].update(overlay="geneve")
    plans = m.plan(model, hosts())
    tunnels = plans["h1"]["linux_tunnels"]
    assert [(t["kind"], t["remotes"]) for t in tunnels] == [("geneve", ["198.19.0.12"])]
    assert tunnels[0]["name"] == m.linux_tunnel_name("geneve", "front", "198.19.0.12")


def test_ovs_vlan_becomes_the_attachments_tag():
    model = base()
    model["netwire_networks"]["back"]["vlan"] = 42
    plans = m.plan(model, hosts())
    tags = [a.get("vlan_tag") for a in plans["h2"]["attachments"] if a["network"] == "back"]
    assert tags == [42, 42]


def test_ovs_vlan_tags_the_bridges_internal_port_too():
    """The internal port is the containers' gateway: untagged, it would not hear them."""
    model = base()
    model["netwire_networks"]["back"]["vlan"] = 42
    plans = m.plan(model, hosts())
    for host, plan in plans.items():
        for br in plan["ovs_bridges"]:
            local = [p for p in br["ports"] if p["name"] == br["name"]]
            want = 42 if br["name"] == m.bridge_name("back") else None
            assert [p.get("tag") for p in local] == [want], (host, br)
    assert any(br["name"] == m.bridge_name("back") for p in plans.values() for br in p["ovs_bridges"])


@settings(max_examples=200, deadline=None)
@given(ANY_TEXT, ANY_TEXT, st.sampled_from(["vxlan", "gre", "geneve"]), st.ip_addresses(v=4).map(str))
def test_derived_names_fit_and_are_deterministic(a, b, overlay, remote):
    names = [m.bridge_name(a), m.underlay_bridge_name(a), m.veth_host_name(a, b),
             m.linux_tunnel_name(overlay, a, remote), m.ovs_tunnel_port_name(overlay, a, remote)]
    assert all(IFNAME.match(n) and len(n.encode("utf-8")) <= 15 for n in names), names
    assert names == [m.bridge_name(a), m.underlay_bridge_name(a), m.veth_host_name(a, b),
                     m.linux_tunnel_name(overlay, a, remote), m.ovs_tunnel_port_name(overlay, a, remote)]


@settings(max_examples=200, deadline=None)
@given(ANY_TEXT, ANY_TEXT)
def test_shortened_bridge_names_stay_distinct(a, b):
    if a != b:
        assert m.bridge_name(a) != m.bridge_name(b) or len(("nw-" + a).encode()) <= 15


def test_readable_names_when_they_fit():
    assert m.bridge_name("dmz") == "nw-dmz"
    assert m.linux_tunnel_name("vxlan", "app") == "nwx-app"
    assert m.underlay_bridge_name("eth1") == "nwu-eth1"
    long_name = m.bridge_name("a-very-long-network-name")
    assert long_name.startswith("nw-averyl") and len(long_name) == 15


def test_derived_mac_is_locally_administered_unicast():
    mac = m.derive_mac("web1", "eth1")
    first = int(mac[:2], 16)
    assert first & 2 and not first & 1 and mac == m.derive_mac("web1", "eth1")


# ---------------------------------------------------------------- random sound models

ZONES = ["dmz", "app", "db"]
NETS = st.lists(st.tuples(st.sampled_from(["linux", "ovs"]), st.sampled_from(["none", "vxlan", "gre", "geneve"]),
                          st.booleans(), st.sampled_from([None, 5, 100])), min_size=1, max_size=4)


@st.composite
def sound_ish_models(draw):
    """Models of the right shape with random choices; some have findings, which is fine."""
    networks = {}
    for i, (backend, overlay, nat, vlan) in enumerate(draw(NETS)):
        net = {"subnet": "10.%d.0.0/24" % (i + 1), "zone": draw(st.sampled_from(ZONES)), "backend": backend,
               "overlay": overlay, "nat": nat}
        if overlay != "none":
            net["key"] = i + 1
            if overlay in ("vxlan", "geneve"):
                net["port"] = {"linux": 8472, "ovs": 4789}[backend] + (1 if overlay == "geneve" else 0)
        if vlan and backend == "ovs":
            net["vlan"] = vlan
        if draw(st.booleans()):
            net["mtu"] = draw(st.integers(1200, 1500))
        networks["n%d" % i] = net
    containers = {}
    for i in range(draw(st.integers(0, 6))):
        host = "h%d" % draw(st.integers(1, 3))
        nets = draw(st.lists(st.sampled_from(sorted(networks)), min_size=1, max_size=2, unique=True))
        c = {"host": host, "interfaces": [{"network": n} for n in nets]}
        if draw(st.booleans()):
            c["publish"] = [{"host_port": 8000 + i, "proto": draw(st.sampled_from(["tcp", "udp"]))}]
        containers["c%d" % i] = c
    zones = dict((z, {"allow_to": draw(st.lists(st.sampled_from(ZONES), max_size=2, unique=True))}) for z in ZONES)
    return {"netwire_zones": zones, "netwire_networks": networks, "netwire_containers": containers}


@settings(max_examples=150, deadline=None)
@given(sound_ish_models(), st.sampled_from(["system", "netdev"]))
def test_every_sound_models_plan_is_accepted_by_the_modules(model, datapath):
    host_vars = hosts()
    for hv in host_vars.values():
        hv["netwire_host"]["ovs_datapath"] = datapath
    normalized, found, _w = m.analyze(model, host_vars)
    if found:
        return
    options = dict((module, documented_options(module)) for _k, module, _n in CONSUMERS)
    for plan in m.plans_of(normalized).values():
        for plan_key, module, normalize in CONSUMERS:
            for entry in plan[plan_key]:
                assert set(entry) <= set(options[module])
                params = dict(options[module])
                params.update(entry)
                normalize(params)
        _firewall.build_spec(**plan["firewall"])
        assert len(set(plan["names"])) == len(plan["names"])


def test_gateway_takeover_reaches_the_attachment_of_the_gateway_interface():
    model = base()
    c = sorted(model["netwire_containers"])[0]
    model["netwire_containers"][c]["interfaces"][0]["gateway_takeover"] = True
    plans = m.plan(model, hosts())
    marked = [(a["container"], a["ifname"], a.get("gateway")) for p in plans.values() for a in p["attachments"]
              if a.get("gateway_takeover")]
    assert len(marked) == 1 and marked[0][2], marked
    assert all("gateway_takeover" not in a for p in plans.values() for a in p["attachments"]
               if (a["container"], a["ifname"]) != marked[0][:2])
