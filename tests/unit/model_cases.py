"""Shared model fixtures for the model tests: a small sound model, the demo model, and helpers."""

import copy
from pathlib import Path

import yaml

from ansible_collections.netwire.fabric.plugins.plugin_utils import model as m

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "model"

HOSTS = {
    "h1": {"netwire_host": {"index": 1, "underlay_address": "198.19.0.11/24", "underlay_interface": "eth1"}},
    "h2": {"netwire_host": {"index": 2, "underlay_address": "198.19.0.12/24", "underlay_interface": "eth1"}},
    "h3": {"netwire_host": {"index": 3, "underlay_address": "198.19.0.13/24", "underlay_interface": "eth1"}},
}

BASE = {
    "netwire_zones": {"dmz": {"allow_to": ["app"]}, "app": None},
    "netwire_networks": {
        "front": {"subnet": "10.1.0.0/24", "zone": "dmz", "overlay": "vxlan", "key": 10},
        "back": {"subnet": "10.2.0.0/24", "zone": "app", "backend": "ovs", "overlay": "gre", "key": 20},
    },
    "netwire_containers": {
        "web1": {"host": "h1", "interfaces": [{"network": "front"}, {"network": "back"}],
                 "publish": [{"host_port": 8080, "port": 80}]},
        "web2": {"host": "h2", "interfaces": [{"network": "front"}, {"network": "back"}]},
        "api1": {"host": "h2", "interfaces": [{"network": "back", "address": "10.2.0.50"}]},
    },
}


def base():
    return copy.deepcopy(BASE)


def hosts():
    return copy.deepcopy(HOSTS)


def findings(model, host_vars=None):
    return m.validate(model, hosts() if host_vars is None else host_vars)


def assert_finding(found, path, fragment):
    """Exactly the finding's path, and its message containing ``fragment``."""
    hits = [f for f in found if f["path"] == path]
    assert hits, "no finding at %s; findings: %s" % (path, found)
    assert any(fragment in f["msg"] for f in hits), "no '%s' at %s: %s" % (fragment, path, hits)


def demo():
    """The example model and its three hosts' variables, as Ansible would merge them."""
    group = yaml.safe_load((EXAMPLE / "group_vars" / "all.yml").read_text())
    model = dict((k, group[k]) for k in m.MODEL_VARS if k in group)
    host_vars = {}
    for name in ("host1", "host2", "host3"):
        hv = yaml.safe_load((EXAMPLE / "host_vars" / ("%s.yml" % name)).read_text())
        hv["netwire_host_defaults"] = group["netwire_host_defaults"]
        host_vars[name] = hv
    return model, host_vars
