"""Address allocation: auto addresses are stable, never moved by others, and never silently collide."""

import ipaddress
import random

from hypothesis import given, settings, strategies as st

from tests.unit.model_cases import hosts
from ansible_collections.netwire.fabric.plugins.plugin_utils import model as m

NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12).filter(
    lambda s: s[0] != "-")
SUBNETS = st.sampled_from(["10.1.0.0/24", "10.64.0.0/16", "10.9.8.0/27", "10.200.0.0/20"])
HOST_NAMES = sorted(hosts())


def model_of(subnet, placed, static=None):
    """One overlay network over h1..h3 and a container per name, placed on a host."""
    static = static or {}
    containers = {}
    for name, host in placed.items():
        itf = {"network": "net"}
        if name in static:
            itf["address"] = static[name]
        containers[name] = {"host": host, "interfaces": [itf]}
    return {
        "netwire_zones": {"z": {}},
        "netwire_networks": {"net": {"subnet": subnet, "zone": "z", "overlay": "vxlan", "key": 7,
                                     "hosts": HOST_NAMES}},
        "netwire_containers": containers,
    }


def addresses(model):
    normalized, found, _w = m.analyze(model, hosts())
    return dict((name, c["interfaces"][0]["address"]) for name, c in normalized["containers"].items()), found


placements = st.dictionaries(NAMES, st.sampled_from(HOST_NAMES), min_size=1, max_size=25)


@settings(max_examples=60, deadline=None)
@given(SUBNETS, placements)
def test_auto_addresses_are_stable_across_reruns_and_input_order(subnet, placed):
    first, _f = addresses(model_of(subnet, placed))
    shuffled = list(placed.items())
    random.Random(len(placed)).shuffle(shuffled)
    again, _f = addresses(model_of(subnet, dict(shuffled)))
    assert first == again


@settings(max_examples=60, deadline=None)
@given(SUBNETS, placements, placements, st.data())
def test_adding_or_removing_containers_never_moves_another(subnet, placed, extra, data):
    before, _f = addresses(model_of(subnet, placed))
    removed = data.draw(st.sets(st.sampled_from(sorted(placed))))
    changed = dict((k, v) for k, v in placed.items() if k not in removed)
    changed.update((k, v) for k, v in extra.items() if k not in placed)
    after, _f = addresses(model_of(subnet, changed))
    for name in changed:
        if name in placed:
            assert after[name] == before[name]


@settings(max_examples=60, deadline=None)
@given(SUBNETS, placements)
def test_a_container_moving_host_keeps_its_address(subnet, placed):
    before, _f = addresses(model_of(subnet, placed))
    moved = dict((k, HOST_NAMES[(HOST_NAMES.index(v) + 1) % 3]) for k, v in placed.items())
    after, _f = addresses(model_of(subnet, moved))
    assert after == before


@settings(max_examples=80, deadline=None)
@given(SUBNETS, placements, st.data())
def test_addresses_never_collide_silently(subnet, placed, data):
    """Across all hosts of the network: either every address is unique (and not a host's), or a finding says so."""
    net = ipaddress.ip_network(subnet)
    pool = [str(a) for a in list(net.hosts())[m.default_host_slots(subnet):]]
    static = data.draw(st.dictionaries(st.sampled_from(sorted(placed)), st.sampled_from(pool), max_size=3))
    got, found = addresses(model_of(subnet, placed, static))
    host_addrs = set(m.host_address(subnet, i) for i in (1, 2, 3))
    values = list(got.values())
    clean = len(set(values)) == len(values) and not host_addrs & set(values)
    address_findings = [f for f in found if f["path"].endswith(".address")]
    assert clean == (address_findings == [])
    if not found:
        plans = m.plan(model_of(subnet, placed, static), hosts())
        planned = [a["addresses"][0].split("/")[0] for p in plans.values() for a in p["attachments"]]
        bridges = [p["networks"]["net"]["address"].split("/")[0] for p in plans.values()]
        assert len(set(planned + bridges)) == len(planned) + len(bridges)


@settings(max_examples=100, deadline=None)
@given(SUBNETS, NAMES, NAMES, NAMES)
def test_auto_address_lies_in_the_container_pool(subnet, network, container, ifname):
    addr = ipaddress.ip_address(m.auto_address(subnet, network, container, ifname))
    net = ipaddress.ip_network(subnet)
    slots = m.default_host_slots(subnet)
    assert addr in net and addr != net.broadcast_address
    assert int(addr) - int(net.network_address) > slots


def test_auto_address_is_a_pure_function_of_its_names():
    a = m.auto_address("10.1.0.0/24", "front", "web1", "eth1")
    assert a == m.auto_address("10.1.0.0/24", "front", "web1", "eth1")
    assert a != m.auto_address("10.1.0.0/24", "front", "web1", "eth2") or a != m.auto_address(
        "10.1.0.0/24", "front", "web2", "eth1")


def test_host_addresses_are_the_first_of_the_subnet_by_index():
    model = model_of("10.1.0.0/24", {"c1": "h1"})
    plans = m.plan(model, hosts())
    wanted = ["10.1.0.1/24", "10.1.0.2/24", "10.1.0.3/24"]
    assert [plans[h]["networks"]["net"]["address"] for h in HOST_NAMES] == wanted


def test_default_host_index_is_the_position_by_name_around_pinned_ones():
    host_vars = {"b": {"netwire_host": {"index": 1}}, "a": {}, "c": {}}
    normalized, _f, _w = m.analyze({}, host_vars)
    assert dict((h, v["index"]) for h, v in normalized["hosts"].items()) == {"a": 2, "b": 1, "c": 3}


def test_default_gateway_is_the_local_hosts_bridge_address():
    model = model_of("10.1.0.0/24", {"c1": "h1", "c2": "h3"})
    normalized, found, _w = m.analyze(model, hosts())
    assert found == []
    assert normalized["containers"]["c1"]["interfaces"][0]["gateway"] == "10.1.0.1"
    assert normalized["containers"]["c2"]["interfaces"][0]["gateway"] == "10.1.0.3"


def test_only_the_first_interface_gets_the_auto_gateway():
    model = model_of("10.1.0.0/24", {"c1": "h1"})
    model["netwire_networks"]["other"] = {"subnet": "10.2.0.0/24", "zone": "z"}
    model["netwire_containers"]["c1"]["interfaces"].append({"network": "other"})
    normalized, found, _w = m.analyze(model, hosts())
    assert found == []
    gateways = [i["gateway"] for i in normalized["containers"]["c1"]["interfaces"]]
    assert gateways == ["10.1.0.1", None]
