"""Benchmark P1 (issue 20): N OVS GRE tunnel ports, openvswitch.openvswitch's `openvswitch_port` in a loop
against our `ovs_tunnel` task, on lab host1.

The anchor is the `ansible` community package (scripts/bench_lib.py ANCHOR_ANSIBLE, which bundles
openvswitch.openvswitch), installed by this script into a virtualenv of its own in the user's cache
(~/.cache/netwire/bench-anchor-ansible-<version>); its own ansible-playbook runs it. For each N and round,
interleaved (the order alternates between rounds), each side on a bridge of its own (userspace datapath):
  * a first run (N ports created) and a no-op rerun, each as one ansible-playbook of one task: the task's
    time (from the task-times callback) and the whole ansible-playbook's wall time;
  * drift: one port's remote_ip and another's key are changed behind the tool's back (ovs-vsctl), then the
    same play again: does it report a change, and are the values back?
  * `ovs_bridge` no-op on our bridge with its N ports (the module process's wall time).
The bridges are removed after each round. The tunnel remotes are in the lab's container range
(10.250.0.0/16) and no packet is sent: the bridges have no other port. N must be 2 or more.

Run as root from the checkout on a lab that is up (NETWIRE_LAB_INSTANCE, default 3):
    .venv/bin/python scripts/bench_ovs.py [--rounds 3] [--json FILE] [N ...]      (default N: 10 100 500)
Not a test: nothing is asserted on times.
"""

import argparse
import ipaddress
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("NETWIRE_LAB_INSTANCE", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import bench_lib  # noqa: E402  (this folder)
from tests.lab.core import Lab  # noqa: E402
from tests.lab.modrun import ensure_collection_link  # noqa: E402

# Each side's remotes (OVS refuses two tunnel ports of the same type, remote and key, even on two bridges)
REMOTES = {"anchor": ipaddress.ip_network("10.250.0.0/17"), "ours": ipaddress.ip_network("10.250.128.0/17")}
ANCHOR_BRIDGE, OURS_BRIDGE = "nwb-anchor", "nwb-ours"
KEY = 77
DRIFT_KEY = "999"

ANCHOR_PLAY = """- hosts: host1
  gather_facts: false
  tasks:
    - name: openvswitch_port loop
      openvswitch.openvswitch.openvswitch_port:
        bridge: %s
        port: "{{ item.0 }}"
        set: "Interface {{ item.0 }} type=gre options:remote_ip={{ item.1 }} options:key={{ key }}"
      loop: "{{ ports }}"
""" % ANCHOR_BRIDGE

OURS_PLAY = """- hosts: host1
  gather_facts: false
  tasks:
    - name: ovs_tunnel
      netwire.fabric.ovs_tunnel:
        bridge: %s
        network: bench
        type: gre
        key: "{{ key }}"
        remotes: "{{ ports | map(attribute=1) | list }}"
""" % OURS_BRIDGE


class Side:
    """One side of the comparison: how to run its play, and its bridge."""

    def __init__(self, name, argv, env, bridge):
        self.name, self.argv, self.env, self.bridge = name, argv, env, bridge

    def play(self, work, n, times_file):
        vars_file = work / ("vars-%s.json" % self.name)
        ports = [["a%d" % i, str(REMOTES[self.name].network_address + 1 + i)] for i in range(n)]
        vars_file.write_text(json.dumps({"key": KEY, "ports": ports}))
        env = dict(self.env, NETWIRE_TASK_TIMES=str(times_file))
        wall, out = bench_lib.run_timed(self.argv + ["-e", "@%s" % vars_file, str(work / (self.name + ".yml"))], env)
        task = sum(seconds for _play, _task, seconds in json.loads(times_file.read_text()))
        return wall, task, bench_lib.recap_changed(out)


def ovs(host, *args):
    return host.run(["ovs-vsctl"] + list(args)).stdout.strip()


def drift(host, side):
    """Change one port's remote_ip and another's key; return a check that tells whether they are back."""
    ports = sorted(ovs(host, "list-ports", side.bridge).split())
    drift_ip = str(REMOTES[side.name].broadcast_address - 1)
    ovs(host, "set", "Interface", ports[0], "options:remote_ip=%s" % drift_ip)
    ovs(host, "set", "Interface", ports[-1], "options:key=%s" % DRIFT_KEY)

    def repaired():
        return (ovs(host, "get", "Interface", ports[0], "options:remote_ip").strip('"') != drift_ip and
                ovs(host, "get", "Interface", ports[-1], "options:key").strip('"') != DRIFT_KEY)
    return repaired


def bridge_noop(host):
    t0 = time.monotonic()
    res = host.module("ovs_bridge", {"name": OURS_BRIDGE, "datapath_type": "netdev"}, timeout=600)
    elapsed = time.monotonic() - t0
    if res.get("failed") or res.get("changed"):
        sys.exit("ovs_bridge was not a no-op: %s" % res)
    return elapsed


def one_round(host, sides, work, n, rnd):
    res = {}
    ovs(host, "--may-exist", "add-br", ANCHOR_BRIDGE, "--", "set", "Bridge", ANCHOR_BRIDGE, "datapath_type=netdev")
    if host.module("ovs_bridge", {"name": OURS_BRIDGE, "datapath_type": "netdev"}).get("failed"):
        sys.exit("ovs_bridge failed")
    try:
        order = sides if rnd % 2 == 0 else sides[::-1]
        for step in ("first", "noop", "drift"):
            for side in order:
                repaired = drift(host, side) if step == "drift" else None
                wall, task, changed = side.play(work, n, work / ("times-%s.json" % side.name))
                res.setdefault(side.name, {})[step] = {"wall": wall, "task": task, "changed": changed}
                if step == "drift":
                    res[side.name][step]["repaired"] = repaired()
                if step == "first" and len(ovs(host, "list-ports", side.bridge).split()) != n:
                    sys.exit("%s: not %d ports on %s" % (side.name, n, side.bridge))
                if step == "noop" and changed:
                    sys.exit("%s: the rerun changed something" % side.name)
        res["bridge_noop"] = bridge_noop(host)
    finally:
        ovs(host, "--if-exists", "del-br", ANCHOR_BRIDGE)
        host.module("ovs_bridge", {"name": OURS_BRIDGE, "state": "absent"}, timeout=600)
    return res


def summary(n, rounds, loads):
    """Medians over the rounds and the ratios of the medians."""
    def values(side, step, what):
        return [r[side][step][what] for r in rounds]

    row = {"n": n, "rounds": len(rounds), "load": bench_lib.load_range(loads), "bridge_noop": [r["bridge_noop"] for r in rounds]}
    for side in ("anchor", "ours"):
        for step in ("first", "noop"):
            for what in ("task", "wall"):
                row["%s_%s_%s" % (side, step, what)] = values(side, step, what)
        row[side + "_drift_changed"] = sum(1 for c in values(side, "drift", "changed") if c)
        row[side + "_drift_repaired"] = sum(1 for c in values(side, "drift", "repaired") if c)
    for step in ("first", "noop"):
        for what in ("task", "wall"):
            row["ratio_%s_%s" % (step, what)] = (statistics.median(row["anchor_%s_%s" % (step, what)]) /
                                                 statistics.median(row["ours_%s_%s" % (step, what)]))
    return row


def table(rows):
    s = bench_lib.spread
    lines = ["| N ports | load | rounds | anchor loop task, first / no-op (s) | ovs_tunnel task, first / no-op (s) "
             "| task ratio first / no-op | anchor playbook, first / no-op (s) | our playbook, first / no-op (s) "
             "| playbook ratio first / no-op | ovs_bridge no-op (s) | drift noticed: anchor / ours |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append("| %d | %s | %d | %s / %s | %s / %s | %.1fx / %.1fx | %s / %s | %s / %s | %.1fx / %.1fx | %s "
                     "| %d/%d / %d/%d (repaired %d/%d) |" % (
                         r["n"], r["load"], r["rounds"], s(r["anchor_first_task"]), s(r["anchor_noop_task"]),
                         s(r["ours_first_task"]), s(r["ours_noop_task"]), r["ratio_first_task"], r["ratio_noop_task"],
                         s(r["anchor_first_wall"]), s(r["anchor_noop_wall"]), s(r["ours_first_wall"]),
                         s(r["ours_noop_wall"]), r["ratio_first_wall"], r["ratio_noop_wall"], s(r["bridge_noop"]),
                         r["anchor_drift_changed"], r["rounds"], r["ours_drift_changed"], r["rounds"],
                         r["ours_drift_repaired"], r["rounds"]))
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[10, 100, 500])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", help="write the results here too")
    args = parser.parse_args()
    lab = Lab.load()
    if lab is None or not lab.is_up():
        sys.exit("no lab is up for instance %s: make lab-up first" % os.environ["NETWIRE_LAB_INSTANCE"])
    ensure_collection_link()
    venv = bench_lib.anchor_venv()
    work = Path(tempfile.mkdtemp(prefix="netwire-bench-ovs."))
    (work / "anchor.yml").write_text(ANCHOR_PLAY)
    (work / "ours.yml").write_text(OURS_PLAY)
    inv = ["-i", str(lab.inventory)]
    sides = [Side("anchor", [str(venv / "bin" / "ansible-playbook")] + inv,
                  bench_lib.ansible_env(work / "t", bench_lib.anchor_collections(venv), venv / "bin"), ANCHOR_BRIDGE),
             Side("ours", [str(bench_lib.REPO / ".venv" / "bin" / "ansible-playbook")] + inv,
                  bench_lib.ansible_env(work / "t", venv_bin=bench_lib.REPO / ".venv" / "bin"), OURS_BRIDGE)]
    host = lab.host("host1")
    rows = []
    for n in args.sizes:
        rounds, loads = [], []
        for rnd in range(args.rounds):
            loads.append(bench_lib.load())
            rounds.append(one_round(host, sides, work, n, rnd))
            r = rounds[-1]
            print("P1 N=%d round %d: anchor task %.2f/%.2f s, ours %.2f/%.2f s (first/no-op), ovs_bridge no-op %.2f s, "
                  "drift changed: anchor %s, ours %s, load %s" % (
                      n, rnd + 1, r["anchor"]["first"]["task"], r["anchor"]["noop"]["task"], r["ours"]["first"]["task"],
                      r["ours"]["noop"]["task"], r["bridge_noop"], r["anchor"]["drift"]["changed"],
                      r["ours"]["drift"]["changed"], loads[-1]), file=sys.stderr, flush=True)
        rows.append(summary(n, rounds, loads))
    bench_lib.write_json(args.json, {"anchor": "ansible==" + bench_lib.ANCHOR_ANSIBLE, "rows": rows})
    print(table(rows))


if __name__ == "__main__":
    main()
