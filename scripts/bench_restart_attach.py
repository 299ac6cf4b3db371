"""Attach right after `docker restart`, N times in a row, in a running lab (not CI).

    NETWIRE_LAB_INSTANCE=<n> .venv/bin/python scripts/bench_restart_attach.py [iterations] [linux|ovs]

Each iteration restarts a lab container (`docker restart -t 1`) and, as soon as
the command returns, runs container_attach for it on host1 (a Linux bridge of its
own, nwt-rbr, or an OVS bridge nwt-rovs with the userspace datapath), then checks
the interface inside the container and pings the bridge address from there
(ping -c 1 -W 2, inside the lab only). An attach may fail only with a message that
says to retry. Prints one line per failure and a summary; exits 1 when an attach
failed any other way or the interface did not work. Default: 50 iterations.
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from tests.lab.core import Lab, ensure_container, sh  # noqa: E402

ADDRESS, GATEWAY = "10.36.0.11/24", "10.36.0.1"


def main(argv):
    iterations = int(argv[0]) if argv else 50
    kind = argv[1] if len(argv) > 1 else "linux"
    lab = Lab.load()
    if lab is None or not lab.is_up():
        raise SystemExit("no lab is up: python -m tests.lab up")
    host = lab.host("host1")
    name = "lab%d-restart-bench" % lab.instance
    bridge = {"linux": "nwt-rbr", "ovs": "nwt-rovs"}[kind]
    if kind == "linux":
        res = host.module("linux_bridge", {"name": bridge, "addresses": [GATEWAY + "/24"]})
    else:
        res = host.module("ovs_bridge", {"name": bridge, "datapath_type": "netdev",
                                         "ports": [{"name": bridge, "addresses": [GATEWAY + "/24"]}]})
    if res.get("failed"):
        raise SystemExit("cannot make bridge %s: %s" % (bridge, res.get("msg")))
    ensure_container(name, lab.instance)
    params = {"container": name, "bridge": bridge, "bridge_type": kind, "addresses": [ADDRESS]}
    ok = retry = bad = 0
    times = []
    try:
        for i in range(iterations):
            sh(["docker", "restart", "-t", "1", name], timeout=60)
            start = time.monotonic()
            res = host.module("container_attach", params)
            times.append(time.monotonic() - start)
            if res.get("failed"):
                if "retry" in (res.get("msg") or ""):
                    retry += 1
                    print("%3d: failed, asks to retry: %s" % (i, res.get("msg")))
                else:
                    bad += 1
                    print("%3d: FAILED: %s" % (i, res.get("msg")))
                continue
            inside = json.loads(sh(["nsenter", "--net=/proc/%s/ns/net" % res["attachment"]["netns"].split("/")[2],
                                    "ip", "-j", "-4", "addr", "show", "dev", "eth1"], check=False).stdout or "[]")
            addrs = ["%s/%d" % (a["local"], a["prefixlen"]) for l in inside for a in l.get("addr_info", [])]
            pong = sh(["docker", "exec", name, "ping", "-c", "1", "-W", "2", GATEWAY], check=False, timeout=30)
            if addrs != [ADDRESS] or pong.returncode != 0:
                bad += 1
                print("%3d: attached but not working: addresses %s, ping rc %d" % (i, addrs, pong.returncode))
                continue
            ok += 1
    finally:
        sh(["docker", "rm", "-f", name], check=False, timeout=60)
        if kind == "linux":
            host.module("linux_bridge", {"name": bridge, "state": "absent"})
        else:
            host.module("ovs_bridge", {"name": bridge, "state": "absent"})
    times.sort()
    print("%d iterations (%s bridge): %d attached and working, %d asked to retry, %d failed otherwise;"
          " attach median %.2f s, max %.2f s" % (iterations, kind, ok, retry, bad,
                                                 times[len(times) // 2] if times else 0, times[-1] if times else 0))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
