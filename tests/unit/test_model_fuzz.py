"""Fuzzing: no input makes validation crash; every sound model can be planned.

NETWIRE_FUZZ_SCALE=20 runs twenty times the examples (the default keeps the unit suite fast).
"""

import json
import os

from hypothesis import HealthCheck, given, settings, strategies as st

from tests.unit.model_cases import base, demo, hosts
from ansible_collections.netwire.fabric.plugins.plugin_utils import model as m

KEYS = sorted(set(m.MODEL_VARS + m.ZONE_KEYS + m.NETWORK_KEYS + m.CONTAINER_KEYS + m.INTERFACE_KEYS
                  + m.PUBLISH_KEYS + m.HOST_KEYS + m.TRUNK_KEYS
                  + ("netwire_host", "netwire_host_defaults", "netwire_lab_underlay_ip", "ansible_facts", "ipv4",
                     "eth1")))
WORDS = ["10.1.0.0/24", "10.1.0.5", "10.1.0.0/30", "10.0.0.0/8", "auto", "none", "vxlan", "gre", "geneve",
         "linux", "ovs", "netdev", "system", "tcp", "udp", "underlay", "0.0.0.0", "h1", "h2", "front", "back",
         "dmz", "app", "eth1", "core", "02:00:00:00:00:01", "198.19.0.11/24", "fd00::/64", "yes", "1500", "-1", ""]

scalars = (st.none() | st.booleans() | st.integers(min_value=-3, max_value=70000) | st.floats(allow_nan=True)
           | st.text(max_size=12) | st.sampled_from(WORDS))
keys = st.sampled_from(KEYS) | st.sampled_from(WORDS) | st.text(max_size=6) | st.integers(0, 3)
junk = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=5),
                    max_leaves=25)
named = st.dictionaries(st.sampled_from(["front", "back", "web1", "dmz", "app", "x y", ""]) | keys, junk, max_size=4)
models = st.fixed_dictionaries({}, optional={"netwire_zones": named | junk, "netwire_networks": named | junk,
                                             "netwire_containers": named | junk,
                                             "netwire_trunks": named | junk}) | junk
SCALE = int(os.environ.get("NETWIRE_FUZZ_SCALE", "1"))

host_sets = st.dictionaries(st.sampled_from(["h1", "h2", "h3"]) | st.text(max_size=4), junk, max_size=4) | junk


def check(model, host_vars):
    normalized, found, warnings = m.analyze(model, host_vars)
    assert isinstance(found, list) and isinstance(warnings, list)
    for item in found + warnings:
        assert isinstance(item["path"], str) and isinstance(item["msg"], str) and item["msg"]
    json.dumps(normalized)
    if not found:
        json.dumps(m.plans_of(normalized))
    return found


@settings(max_examples=300 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models, host_sets)
def test_random_structures_never_crash(model, host_vars):
    check(model, host_vars)


def _mutate(data, tree, replacement):
    """Replace one randomly chosen node of ``tree`` (a deep walk from the root) with ``replacement``."""
    node = tree
    while True:
        if isinstance(node, dict) and node:
            key = data.draw(st.sampled_from(sorted(node, key=str)))
        elif isinstance(node, list) and node:
            key = data.draw(st.integers(0, len(node) - 1))
        else:
            return
        if data.draw(st.booleans()) or not isinstance(node[key], (dict, list)) or not node[key]:
            node[key] = replacement
            return
        node = node[key]


@settings(max_examples=300 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), junk)
def test_one_broken_value_in_a_sound_model_never_crashes(data, replacement):
    model = base()
    _mutate(data, model, replacement)
    check(model, hosts())


@settings(max_examples=150 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), junk)
def test_one_broken_host_setting_never_crashes(data, replacement):
    model, host_vars = demo()
    _mutate(data, host_vars, replacement)
    check(model, host_vars)


@settings(max_examples=100 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), junk, junk)
def test_two_broken_values_in_the_demo_never_crash(data, first, second):
    model, host_vars = demo()
    _mutate(data, model, first)
    _mutate(data, model, second)
    check(model, host_vars)
