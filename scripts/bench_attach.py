"""Benchmark P4 (issue 20): N container attachments on one host, against an `ip` shell loop.

On lab host1, N network namespaces stand for N containers (``ref_type: netns``),
all on one Linux-bridge network. For each N:
  * anchor: one shell script of ``ip`` commands doing the same work (a veth pair
    per container, the container end moved in, MAC, address, default route, up,
    the host end on the bridge), timed, then removed;
  * ours: ``host_network`` builds the same attachments (first build), then a
    converged rerun (no-op) and a check-mode run; wall time of the module process.
Prints a markdown table: seconds and per-attachment milliseconds, the anchor's
time, and ``/proc/loadavg`` at the start of each row (the machine is shared).

Run as root from the checkout (lab instance NETWIRE_LAB_INSTANCE, default 3):
    .venv/bin/python scripts/bench_attach.py [N ...]        (default 10 100 300)
Benchmarks are not tests: nothing here is asserted against a time.
"""

import ipaddress
import os
import sys
import time

os.environ.setdefault("NETWIRE_LAB_INSTANCE", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.lab.core import Lab  # noqa: E402
from tests.lab.modrun import ensure_collection_link  # noqa: E402

sys.path.insert(0, str(ensure_collection_link()))
from ansible_collections.netwire.fabric.plugins.plugin_utils import model as _model  # noqa: E402

SUBNET = ipaddress.ip_network("10.62.0.0/20")  # in the lab's container range; only lab namespaces hold it


def ns_name(instance, i):
    return "nwb%d-%d" % (instance, i)


def model_for(n, instance):
    return {
        "netwire_zones": {"z": {}},
        "netwire_networks": {
            "lin": {"subnet": str(SUBNET), "zone": "z", "backend": "linux", "overlay": "vxlan", "key": 62,
                    "port": 8472, "hosts": ["host1"]},
        },
        "netwire_containers": dict(
            ("b%d" % i, {"host": "host1", "ref": ns_name(instance, i), "ref_type": "netns",
                         "interfaces": [{"network": "lin", "address": str(SUBNET.network_address + 32 + i)}]})
            for i in range(n)),
    }


def hosts(lab):
    return dict((h.name, {"netwire_host": {"index": h.index, "underlay_address": h.underlay_ip + "/24",
                                           "underlay_interface": "eth1", "ovs_datapath": "netdev"}})
                for h in lab.hosts)


def shell(host, lines, timeout):
    """Run many commands as one script in the host (one process start for all)."""
    t0 = time.monotonic()
    host.run(["/bin/sh", "-s"], input="set -e\n" + "\n".join(lines) + "\n", timeout=timeout)
    return time.monotonic() - t0


def anchor(host, plan, instance):
    """The same attachments by hand: ip commands, one per step, no reads."""
    gw = str(SUBNET.network_address + 1)
    lines = ["ip link add nwa-br type bridge", "ip addr add %s/%d dev nwa-br" % (gw, SUBNET.prefixlen),
             "ip link set nwa-br up"]
    for i, att in enumerate(plan["attachments"]):
        ns, peer = att["container"], "nwa%d-%d" % (instance, i)
        lines += ["ip link add %s type veth peer name eth2 netns %s" % (peer, ns),
                  "ip -n %s link set eth2 address %s" % (ns, att["mac"]) if att.get("mac") else ":",
                  "ip -n %s addr add %s dev eth2" % (ns, att["addresses"][0]),
                  "ip -n %s link set eth2 up" % ns,
                  "ip -n %s route add default via %s dev eth2" % (ns, gw),
                  "ip link set %s master nwa-br up" % peer]
    took = shell(host, lines, timeout=3600)
    shell(host, ["ip link del nwa-br"] + ["ip link del nwa%d-%d" % (instance, i)
                                          for i in range(len(plan["attachments"]))], timeout=3600)
    return took


def timed(host, plan, sections, check=False):
    t0 = time.monotonic()
    res = host.module("host_network", {"plan": plan, "sections": sections}, check=check, timeout=7200)
    if res.get("failed"):
        raise SystemExit("host_network failed: %s" % res.get("msg"))
    return time.monotonic() - t0, res


def main(sizes):
    lab = Lab.load() or Lab(n_hosts=1)
    if not lab.is_up():
        lab = Lab(n_hosts=1)
        lab.up(log=lambda *_: None)
    h1 = lab.host("host1")
    rows = []
    for n in sizes:
        load = open("/proc/loadavg").read().split()[0]
        plans = _model.plan(model_for(n, lab.instance), hosts(lab))
        plan = plans["host1"]
        shell(h1, ["ip netns add %s" % ns_name(lab.instance, i) for i in range(n)], timeout=3600)
        try:
            ip_loop = anchor(h1, plan, lab.instance)
            timed(h1, plan, ["fabric"])
            first, res = timed(h1, plan, ["containers"])
            assert res["changed"], "the first build changed nothing"
            noop, res = timed(h1, plan, ["fabric", "containers"])
            assert not res["changed"], res.get("actions")
            check, res = timed(h1, plan, ["fabric", "containers"], check=True)
            assert not res["changed"], res.get("actions")
        finally:
            h1.module("host_network", {"state": "absent"}, timeout=7200)
            shell(h1, ["ip netns del %s" % ns_name(lab.instance, i) for i in range(n)], timeout=3600)
        rows.append((n, load, ip_loop, first, noop, check))
        print("N=%d done: ip loop %.1f s, first %.1f s, no-op %.1f s, check %.1f s" % (n, ip_loop, first, noop, check),
              file=sys.stderr)
    print("| attachments | load | ip loop (s) | first build (s) | per attachment (ms) | vs ip loop "
          "| no-op (s) | check mode (s) |")
    print("|---|---|---|---|---|---|---|---|")
    for n, load, ip_loop, first, noop, check in rows:
        print("| %d | %s | %.1f | %.1f | %.0f | %.1fx | %.2f | %.2f |"
              % (n, load, ip_loop, first, 1000 * first / n, first / ip_loop, noop, check))


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10, 100, 300])
