"""Benchmark ovs_tunnel and ovs_bridge in a running lab: wall time of one module run
(create / no-op rerun / change key / remove) against the number of tunnel ports.

    NETWIRE_LAB_INSTANCE=<n> .venv/bin/python scripts/bench_ovs.py [sizes...]

Needs a lab that is up (python -m tests.lab up). Uses host1 and a bridge of its own
(ovs-bench, userspace datapath), removed at the end. Tunnel remotes are addresses of
the lab's underlay range; no traffic is sent (the bridge has no other port).
Prints a Markdown table (docs/ovs.md keeps the latest results).
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from tests.lab.core import Lab  # noqa: E402

BRIDGE = "ovs-bench"


def timed(host, module, params):
    start = time.monotonic()
    result = host.module(module, params)
    elapsed = time.monotonic() - start
    if result.get("failed"):
        raise SystemExit("%s failed: %s" % (module, result.get("msg")))
    return elapsed, result


def main(argv):
    sizes = [int(a) for a in argv] or [1, 8, 32, 64]
    lab = Lab.load()
    if lab is None or not lab.is_up():
        raise SystemExit("no lab is up: python -m tests.lab up")
    host = lab.host("host1")
    rows = []
    try:
        timed(host, "ovs_bridge", {"name": BRIDGE, "datapath_type": "netdev"})
        for n in sizes:
            remotes = ["198.19.0.%d" % (100 + i) for i in range(n)]
            base = {"bridge": BRIDGE, "network": "bench", "type": "vxlan", "key": 1, "remotes": remotes}
            create, res = timed(host, "ovs_tunnel", base)
            assert len(res["tunnels"]) == n
            rerun, res = timed(host, "ovs_tunnel", base)
            assert not res["changed"]
            change, res = timed(host, "ovs_tunnel", dict(base, key=2))
            assert res["changed"]
            remove, res = timed(host, "ovs_tunnel", dict(base, state="absent"))
            rows.append((n, create, rerun, change, remove))
    finally:
        host.module("ovs_bridge", {"name": BRIDGE, "state": "absent"})
    print("| tunnel ports | create | rerun (no change) | change key | remove |")
    print("|---:|---:|---:|---:|---:|")
    for n, create, rerun, change, remove in rows:
        print("| %d | %.2f s | %.2f s | %.2f s | %.2f s |" % (n, create, rerun, change, remove))


if __name__ == "__main__":
    main(sys.argv[1:])
