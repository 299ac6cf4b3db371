"""Models for the graph tests: a tiny one for the golden files, and a generated large one."""

import copy

from ansible_collections.netwire.fabric.plugins.plugin_utils import model as m

# Two hosts, two zones, one OVS GRE network and one kernel VXLAN network, one container with two interfaces.
SMALL = {
    "netwire_zones": {"front": {"allow_to": ["back"], "description": "web"}, "back": None},
    "netwire_networks": {
        "web": {"subnet": "10.1.0.0/24", "zone": "front", "backend": "ovs", "overlay": "gre", "key": 11, "nat": True},
        "db": {"subnet": "10.2.0.0/24", "zone": "back", "overlay": "vxlan", "key": 12, "hosts": ["a", "b"]},
    },
    "netwire_containers": {
        "w1": {"host": "a", "interfaces": [{"network": "web"}, {"network": "db"}],
               "publish": [{"host_port": 8080, "port": 80}]},
        "w2": {"host": "b", "interfaces": [{"network": "web"}]},
    },
}
SMALL_HOSTS = {
    "a": {"netwire_host": {"index": 1, "underlay_address": "198.19.0.11/24", "underlay_interface": "eth1"}},
    "b": {"netwire_host": {"index": 2, "underlay_address": "198.19.0.12/24", "underlay_interface": "eth1"}},
}


def normalized(model, hosts):
    out, findings, _warnings = m.analyze(copy.deepcopy(model), copy.deepcopy(hosts))
    assert not findings, findings
    return out


def small():
    return normalized(SMALL, SMALL_HOSTS)


def large(n_hosts=10, n_containers=50):
    """``n_hosts`` hosts and ``n_containers`` containers over four zones and five networks."""
    hosts = {}
    for i in range(1, n_hosts + 1):
        hosts["h%02d" % i] = {"netwire_host": {"index": i, "underlay_address": "198.19.0.%d/24" % (10 + i),
                                               "underlay_interface": "eth1"}}
    names = sorted(hosts)
    model = {
        "netwire_zones": {"edge": {"allow_to": ["web"]}, "web": {"allow_to": ["app"]}, "app": {"allow_to": ["data"]},
                          "data": None},
        "netwire_networks": {
            "edge": {"subnet": "10.50.0.0/24", "zone": "edge", "backend": "ovs", "overlay": "gre", "key": 50,
                     "hosts": names[:3], "nat": True},
            "web": {"subnet": "10.51.0.0/24", "zone": "web", "overlay": "vxlan", "key": 51, "hosts": names[:6]},
            "app": {"subnet": "10.52.0.0/24", "zone": "app", "overlay": "vxlan", "key": 52, "port": 8472,
                    "hosts": names},
            "data": {"subnet": "10.53.0.0/24", "zone": "data", "backend": "ovs", "overlay": "vxlan", "key": 53,
                     "hosts": names[-4:]},
            "mgmt": {"subnet": "10.54.0.0/24", "zone": "app", "backend": "ovs", "overlay": "geneve", "key": 54,
                     "hosts": names},
        },
        "netwire_containers": {},
    }
    nets = model["netwire_networks"]
    for i in range(n_containers):
        host = names[i % n_hosts]
        carried = [n for n in ("edge", "web", "app", "data") if host in nets[n]["hosts"]]
        net = carried[(i // n_hosts) % len(carried)]
        # pinned: auto addresses of 50 names in a /24 may collide (a finding, by design)
        third = ".".join(nets[net]["subnet"].split(".")[1:3])
        interfaces = [{"network": net, "address": "10.%s.%d" % (third, 20 + i)}]
        if i % 5 == 0:
            interfaces.append({"network": "mgmt", "ifname": "eth2", "address": "10.54.0.%d" % (20 + i)})
        model["netwire_containers"]["c%02d" % i] = {"host": host, "interfaces": interfaces}
    return normalized(model, hosts)


def reports(norm):
    """What net_info would report on each host of a faithful deployment of ``norm`` (its plans)."""
    from ansible_collections.netwire.fabric.plugins.module_utils._names import ovs_tunnel_port_name

    out = {}
    for host, plan in m.plans_of(norm).items():
        ovs_tunnels = []
        for entry in plan["ovs_tunnels"]:
            for remote in entry["remotes"]:
                ovs_tunnels.append({"name": ovs_tunnel_port_name(entry["type"], entry["network"], remote),
                                    "bridge": entry["bridge"], "type": entry["type"], "remote": remote,
                                    "network": entry["network"]})
        out[host] = {
            "changed": False,
            "links": [],
            "bridges": dict((b["name"], {"name": b["name"], "owned": True}) for b in plan["linux_bridges"]),
            "tunnels": dict((t["name"], {"name": t["name"], "kind": t["kind"], "master": t["master"],
                                         "remotes": list(t["remotes"]), "owned": True})
                            for t in plan["linux_tunnels"]),
            "attachments": [{"host_ifname": a["host_ifname"], "identity": "docker:%s" % a["container"],
                             "ifname": a["ifname"], "bridge": a["bridge"]} for a in plan["attachments"]],
            "containers": {},
            "ovs": {"available": True, "bridges": [{"name": b["name"]} for b in plan["ovs_bridges"]],
                    "ports": [], "tunnels": ovs_tunnels, "attachments": []},
        }
    return out


def trunk_reports(norm):
    """:func:`reports`, with net_info's form of a network on a trunk: its bridge a fake VLAN bridge (parent and
    tag) listed apart from the bridges, a container on it a port of the trunk's bridge."""
    out = reports(norm)
    for host, plan in m.plans_of(norm).items():
        fakes = dict((b["name"], b) for b in plan["ovs_bridges"] if b.get("parent"))
        ovs = out[host]["ovs"]
        ovs["bridges"] = [b for b in ovs["bridges"] if b["name"] not in fakes]
        ovs["fake_bridges"] = [{"name": n, "parent": b["parent"], "vlan": b["vlan"]} for n, b in sorted(fakes.items())]
        for a in out[host]["attachments"]:
            a["bridge"] = fakes[a["bridge"]]["parent"] if a["bridge"] in fakes else a["bridge"]
    return out
