"""Benchmark: one host's whole plan through host_network, as the model grows.

For N containers spread over two hosts, on one kernel-VXLAN network (Linux
bridge) and one OVS GRE network, measure on the lab:
  * module calls per host for the whole build (constant by design: 2);
  * wall time of host_network on host1: first build, converged rerun, check mode;
  * OVSDB transactions: each transaction of ours bumps Open_vSwitch.next_cfg
    (ovsdbapp does, to wait for ovs-vswitchd), so its difference counts them.

Run as root from the checkout (uses lab instance NETWIRE_LAB_INSTANCE, default 3):
    .venv/bin/python scripts/bench_host_network.py [N ...]
Prints a markdown table (docs/benchmarks.md keeps the last one).
"""

import os
import sys
import time

os.environ.setdefault("NETWIRE_LAB_INSTANCE", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.lab.core import Lab, ensure_container, sh  # noqa: E402
from tests.lab.modrun import ensure_collection_link  # noqa: E402

sys.path.insert(0, str(ensure_collection_link()))
from ansible_collections.netwire.fabric.plugins.plugin_utils import model as _model  # noqa: E402


def model_for(n, instance):
    containers = {}
    for i in range(n):
        host = "host1" if i % 2 == 0 else "host2"
        net = "lin" if i % 4 < 2 else "ovs"
        containers["b%d" % i] = {"host": host, "ref": "bench%d-%d" % (instance, i),
                                 "interfaces": [{"network": net}]}
    return {
        "netwire_zones": {"z": {}},
        "netwire_networks": {
            "lin": {"subnet": "10.60.0.0/22", "zone": "z", "backend": "linux", "overlay": "vxlan", "key": 60,
                    "port": 8472, "hosts": ["host1", "host2"]},
            "ovs": {"subnet": "10.61.0.0/22", "zone": "z", "backend": "ovs", "overlay": "gre", "key": 61,
                    "hosts": ["host1", "host2"]},
        },
        "netwire_containers": containers,
    }


def hosts(lab):
    return dict((h.name, {"netwire_host": {"index": h.index, "underlay_address": h.underlay_ip + "/24",
                                           "underlay_interface": "eth1", "ovs_datapath": "netdev"}})
                for h in lab.hosts)


def cur_cfg(host):
    return int(host.run(["ovs-vsctl", "get", "Open_vSwitch", ".", "next_cfg"]).stdout.strip())


def timed(host, plan, sections, check=False):
    t0 = time.monotonic()
    res = host.module("host_network", {"plan": plan, "sections": sections}, check=check)
    if res.get("failed"):
        raise SystemExit("host_network failed: %s" % res.get("msg"))
    return time.monotonic() - t0, res


def main(sizes):
    lab = Lab.load() or Lab(n_hosts=2)
    if not lab.is_up():
        lab = Lab(n_hosts=2)
        lab.up(log=lambda *_: None)
    rows = []
    for n in sizes:
        model = model_for(n, lab.instance)
        for c in model["netwire_containers"].values():
            ensure_container(c["ref"], lab.instance)
        plans = _model.plan(model, hosts(lab))
        h1, h2 = lab.host("host1"), lab.host("host2")
        cfg0 = cur_cfg(h1)
        first_fabric, _res = timed(h1, plans["host1"], ["fabric", "firewall"])
        txns = cur_cfg(h1) - cfg0
        timed(h2, plans["host2"], ["fabric", "firewall"])
        cfg_c = cur_cfg(h1)
        first_cont, _res = timed(h1, plans["host1"], ["containers"])
        attach_txns = cur_cfg(h1) - cfg_c
        timed(h2, plans["host2"], ["containers"])
        cfg1 = cur_cfg(h1)
        rerun, res = timed(h1, plans["host1"], ["fabric", "containers", "firewall"])
        rerun_txns = cur_cfg(h1) - cfg1
        assert not res["changed"], res["actions"]
        check, res = timed(h1, plans["host1"], ["fabric", "containers", "firewall"], check=True)
        assert not res["changed"], res["actions"]
        objects = sum(len(plans["host1"][k]) for k in ("linux_bridges", "ovs_bridges", "linux_tunnels",
                                                       "ovs_tunnels", "attachments"))
        rows.append((n, objects, first_fabric, txns, first_cont, attach_txns, rerun, rerun_txns, check))
        for h in (h1, h2):
            h.module("host_network", {"state": "absent"})
        for c in model["netwire_containers"].values():
            sh(["docker", "rm", "-f", c["ref"]], check=False)
    print("| containers (2 hosts) | objects on host1 | fabric build (s) | OVSDB txns in build | attach (s) "
          "| OVSDB txns in attach | converged rerun (s) | OVSDB txns in rerun | check mode (s) "
          "| module calls per host |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n, objects, ff, txns, fc, atx, rr, rtx, ck in rows:
        print("| %d | %d | %.2f | %d | %.2f | %d | %.2f | %d | %.2f | 2 |"
              % (n, objects, ff, txns, fc, atx, rr, rtx, ck))


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [2, 8, 24])
