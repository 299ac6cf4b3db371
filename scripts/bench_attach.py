"""Benchmark P4 (issue 20): N container attachments on one host, against an `ip` shell loop.

On lab host1, N network namespaces stand for N containers (``ref_type: netns``),
all on one Linux-bridge network. For each N:
  * anchor: one shell script of ``ip`` commands doing the same work (a veth pair
    per container, the container end moved in, MAC, address, default route, up,
    the host end on the bridge), timed, then removed;
  * ours: ``host_network`` builds the same attachments (first build), then a
    converged rerun (no-op) and a check-mode run; wall time of the module process.
Prints a markdown table: seconds and per-attachment milliseconds, the anchor's
time, the module process's CPU time (user + system) of the no-op and its peak
memory (maximum resident set; both from ``/usr/bin/time``), and ``/proc/loadavg``
at the start of each row (the machine is shared: under load, the wall time of a
run grows with the load, its CPU time does not).

Run as root from the checkout (lab instance NETWIRE_LAB_INSTANCE, default 3):
    .venv/bin/python scripts/bench_attach.py [N ...]        (default 10 100 300)
Benchmarks are not tests: nothing here is asserted against a time.
"""

import ipaddress
import json
import os
import sys
import tempfile
import time

os.environ.setdefault("NETWIRE_LAB_INSTANCE", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.lab.core import Lab, venv_python  # noqa: E402
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


def module(host, params, check=False):
    """host_network in the host as tests/lab/modrun.py runs it, under /usr/bin/time:
    (result, peak RSS in MB, CPU seconds)."""
    args = dict(params, _ansible_check_mode=check, _ansible_diff=False)
    fd, args_path = tempfile.mkstemp(suffix=".json", prefix="nw-bench-")
    rss_path = args_path + ".rss"
    with os.fdopen(fd, "w") as f:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, f)
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
           "HOME": "/root", "PYTHONPATH": str(ensure_collection_link())}
    try:
        proc = host.run(["/usr/bin/time", "-o", rss_path, "-f", "%M %U %S", venv_python(), "-m",
                         "ansible_collections.netwire.fabric.plugins.modules.host_network", args_path],
                        check=False, timeout=7200, env=env)
        with open(rss_path) as f:
            kbytes, user, system = f.read().split()[-3:]
        rss, cpu = int(kbytes) / 1024.0, float(user) + float(system)
    finally:
        for path in (args_path, rss_path):
            if os.path.exists(path):
                os.unlink(path)
    try:
        return json.loads(proc.stdout), rss, cpu
    except ValueError:
        raise SystemExit("host_network printed no JSON: %s" % proc.stderr[-2000:])


def timed(host, plan, sections, check=False):
    t0 = time.monotonic()
    res, rss, cpu = module(host, {"plan": plan, "sections": sections}, check=check)
    if res.get("failed"):
        raise SystemExit("host_network failed: %s" % res.get("msg"))
    return time.monotonic() - t0, res, rss, cpu


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
            first, res, rss_first, _cpu = timed(h1, plan, ["containers"])
            assert res["changed"], "the first build changed nothing"
            noop, res, rss_noop, cpu_noop = timed(h1, plan, ["fabric", "containers"])
            assert not res["changed"], res.get("actions")
            check, res, rss_check, _cpu = timed(h1, plan, ["fabric", "containers"], check=True)
            assert not res["changed"], res.get("actions")
        finally:
            h1.module("host_network", {"state": "absent"}, timeout=7200)
            shell(h1, ["ip netns del %s" % ns_name(lab.instance, i) for i in range(n)], timeout=3600)
        rss = max(rss_first, rss_noop, rss_check)
        rows.append((n, load, ip_loop, first, noop, check, cpu_noop, rss))
        print("N=%d done: ip loop %.1f s, first %.1f s, no-op %.1f s (CPU %.1f s), check %.1f s, peak RSS %.0f MB"
              % (n, ip_loop, first, noop, cpu_noop, check, rss), file=sys.stderr)
    print("| attachments | load | ip loop (s) | first build (s) | per attachment (ms) | vs ip loop "
          "| no-op (s) | no-op CPU (s) | check mode (s) | peak RSS (MB) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n, load, ip_loop, first, noop, check, cpu_noop, rss in rows:
        print("| %d | %s | %.1f | %.1f | %.0f | %.2fx | %.2f | %.2f | %.2f | %.0f |"
              % (n, load, ip_loop, first, 1000 * first / n, first / ip_loop, noop, cpu_noop, check, rss))


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10, 100, 300])
