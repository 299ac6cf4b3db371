"""`make bench`: issue 20's benchmarks P1-P4 in one run, each against its anchor, and their tables written to
docs/benchmarks/latest.md (or BENCH_OUT).

  P2  scripts/bench_dataplane.py  iperf3: kernel VXLAN vs the underlay, same-host bridge vs a veth pair
  P1  scripts/bench_ovs.py        N OVS GRE ports: openvswitch.openvswitch's openvswitch_port loop (its own
                                  virtualenv, installed on first use) vs our ovs_tunnel task and playbook
  P4  scripts/bench_attach.py     N attachments on one host: host_network vs an `ip` shell loop
  P3  scripts/bench_noop.py       a no-op site.yml at H hosts x C containers vs `ansible -m ping`
They run one after the other in this order (P2 first, on a lab with no OVS overlay: one moves the underlay into
OVS userspace), each one's rounds interleaving the two sides. The lab is NETWIRE_LAB_INSTANCE's (default 0, as
`make lab-up`); when none is up, one of as many hosts as the sizes need is brought up and taken down at the end.

Knobs (environment, or the options of the same name):
  BENCH_ONLY=P1,P3        run only these (default: all four)
  BENCH_ROUNDS=3          rounds of each (P4: runs of bench_attach.py; its table gives the median and range)
  BENCH_SIZES="P1=10,100 P3=3x5,10x20 P4=10,100"   sizes per benchmark (default: the issue's, below)
  BENCH_SECONDS=5         iperf3 -t of each P2 measurement
  BENCH_OUT=FILE          where the tables go (default docs/benchmarks/latest.md); raw JSON under .build/bench/
Defaults: P1 10,100,500; P3 3x5,6x10,10x20; P4 10,100,300,1000. Not a test: nothing fails on a time; the
command fails only when a benchmark could not run (its error is in the file).

Run as root from the checkout: `make bench` (after `make setup`), or .venv/bin/python scripts/bench.py.
"""

import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import bench_lib  # noqa: E402  (this folder)
from tests.lab.core import Lab, lab_instance  # noqa: E402

ORDER = ("P2", "P1", "P4", "P3")
CODE = ("plugins", "roles", "playbooks", "scripts", "meta")  # what the figures depend on (not docs)
DEFAULT_SIZES = {"P1": "10,100,500", "P3": "3x5,6x10,10x20", "P4": "10,100,300,1000"}
TITLES = {"P1": "P1: OVS tunnel ports, openvswitch_port loop vs ovs_tunnel",
          "P2": "P2: data plane (iperf3), kernel VXLAN vs underlay, bridge vs veth",
          "P3": "P3: no-op site.yml vs ansible -m ping",
          "P4": "P4: N attachments on one host, host_network vs an ip shell loop"}
SCRIPTS = bench_lib.REPO / "scripts"


def parse_sizes(text):
    sizes = dict(DEFAULT_SIZES)
    for item in (text or "").split():
        key, _sep, value = item.partition("=")
        if key.upper() not in DEFAULT_SIZES or not value:
            sys.exit("BENCH_SIZES: %r is not P1=..., P3=... or P4=..." % item)
        sizes[key.upper()] = value
    return dict((k, [s for s in v.split(",") if s]) for k, v in sizes.items())


def hosts_needed(only, sizes):
    need = 1
    if "P2" in only:
        need = 2
    if "P3" in only:
        need = max([need] + [int(s.lower().split("x")[0]) for s in sizes["P3"]])
    return need


def run_script(argv, env, log):
    """Run one benchmark script: (stdout, error or None). Its progress (stderr) goes to ours as it comes."""
    log("bench: %s" % " ".join(argv[1:]))
    proc = subprocess.run(argv, stdout=subprocess.PIPE, text=True, env=env, cwd=str(bench_lib.REPO), check=False)
    if proc.returncode != 0:
        return proc.stdout, "exit %d: %s" % (proc.returncode, proc.stdout[-2000:])
    return proc.stdout, None


def markdown_rows(text):
    """The rows of the first Markdown table in text, as dicts by header."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    if len(lines) < 3:
        return []
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    return [dict(zip(header, [c.strip() for c in line.strip("|").split("|")])) for line in lines[2:]]


def number(cell):
    try:
        return float(cell.rstrip("x"))
    except ValueError:
        return None


def p4_aggregate(runs):
    """bench_attach.py's tables of several runs -> per N: column -> list of values."""
    by_n = {}
    for rows in runs:
        for row in rows:
            n = int(row["attachments"])
            for col, cell in row.items():
                if col != "attachments" and number(cell) is not None:
                    by_n.setdefault(n, {}).setdefault(col, []).append(number(cell))
    return by_n


def p4_table(by_n):
    if not by_n:
        return "(no result)"
    cols = [c for c in next(iter(by_n.values())) if c != "load"]
    lines = ["| attachments | runs | load | %s |" % " | ".join(cols), "|---|---|---|%s" % ("---|" * len(cols))]
    for n in sorted(by_n):
        vals = by_n[n]
        fmt = dict((c, "%.0f" if "(ms)" in c or "(MB)" in c else "%.2f") for c in cols)
        lines.append("| %d | %d | %s | %s |" % (n, len(vals["load"]), bench_lib.load_range(vals["load"]),
                                                " | ".join(bench_lib.spread(vals[c], fmt[c]) for c in cols)))
    return "\n".join(lines)


def verdicts(results):
    """Issue 20's "Done when" lines that this run's figures answer."""
    out = []
    p1 = dict((r["n"], r) for r in (results.get("P1") or {}).get("rows", []))
    if 100 in p1:
        r = p1[100]
        out.append("P1: task ratio at N=100, first run %.1fx and no-op %.1fx (wanted >= 25x: %s); whole playbook "
                   "%.1fx / %.1fx" % (r["ratio_first_task"], r["ratio_noop_task"],
                                      "yes" if min(r["ratio_first_task"], r["ratio_noop_task"]) >= 25 else "no",
                                      r["ratio_first_wall"], r["ratio_noop_wall"]))
    if len(p1) > 1:
        meds = [(n, statistics.median(p1[n]["bridge_noop"])) for n in sorted(p1)]
        spread = max(m for _n, m in meds) / min(m for _n, m in meds)
        out.append("P1: ovs_bridge no-op with N ports on its bridge: %s (largest / smallest median %.2f; wanted flat, "
                   "taken as within %.1fx as P4's first build: %s)" % (
                       ", ".join("%.2f s at %d" % (m, n) for n, m in meds), spread, FLAT,
                       "yes" if spread <= FLAT else "no"))
    if p1:
        out.append("P1: drift (a changed remote_ip and key) noticed by the anchor in %s rounds, by ours in %s" % (
            "+".join("%d/%d" % (r["anchor_drift_changed"], r["rounds"]) for r in p1.values()),
            "+".join("%d/%d" % (r["ours_drift_changed"], r["rounds"]) for r in p1.values())))
    p2 = results.get("P2")
    if p2:
        line = "P2: kernel VXLAN / underlay %.2f (wanted >= 0.85: %s), same-host bridge / veth %.2f" % (
            p2["ratio_vxlan_underlay"], "yes" if p2["ratio_vxlan_underlay"] >= 0.85 else "no", p2["ratio_bridge_veth"])
        if "ratio_vxlan_underlay_tx_on" in p2:
            line += "; with the underlay's tx offload on: VXLAN / underlay %.2f" % p2["ratio_vxlan_underlay_tx_on"]
        out.append(line)
    for r in (results.get("P3") or {}).get("rows", []):
        noop, ping = statistics.median(r["noop"]), statistics.median(r["ping"])
        wanted = ""
        if (r["hosts"], r["containers"]) == (10, 20):
            wanted = " (wanted <= 15 s or within 5x of ping: %s)" % ("yes" if noop <= 15 or noop <= 5 * ping else "no")
        out.append("P3: no-op site.yml at %dx%d: %.1f s, %.1fx ansible -m ping (%.1f s)%s" % (
            r["hosts"], r["containers"], noop, r["ratio"], ping, wanted))
    p4 = results.get("P4") or {}
    if p4:
        out.extend(p4_verdicts(p4))
    return out


# (column of bench_attach.py's table, how the verdict says it, the most it may be at 1000 attachments or None)
P4_WANTED = (("vs ip loop", "first build / ip loop %.2f", 1.0), ("no-op (s)", "no-op %.2f s", 2.0),
             ("check mode (s)", "check mode %.2f s", 2.0), ("no-op CPU (s)", "no-op CPU %.2f s", None),
             ("peak RSS (MB)", "peak RSS %.0f MB", None))
FLAT = 1.5


def p4_verdicts(p4):
    """P4's lines: first build per attachment (flat from 100 to 1000), and at the largest size the ratio to the
    ip loop, no-op, check mode (each with its limit at 1000) and memory. A column the table lacks is named."""
    out, missing = [], set()
    per = dict((n, statistics.median(v["per attachment (ms)"])) for n, v in p4.items() if "per attachment (ms)" in v)
    if len(per) < len(p4):
        missing.add("per attachment (ms)")
    line = "P4: first build per attachment %s" % ", ".join("%.0f ms at %d" % (per[n], n) for n in sorted(per))
    if 100 in per and 1000 in per:
        line += " (1000 / 100: %.2f, wanted within %.1fx: %s)" % (per[1000] / per[100], FLAT,
                                                                  "yes" if per[1000] <= FLAT * per[100] else "no")
    out.append(line)
    top, parts = max(p4), []
    for col, fmt, limit in P4_WANTED:
        if col not in p4[top]:
            missing.add(col)
            continue
        value = statistics.median(p4[top][col])
        part = fmt % value
        if limit is not None:
            part += " (wanted <= %g%s)" % (limit, ": %s" % ("yes" if value <= limit else "no") if top == 1000 else
                                           " at 1000, not measured")
        parts.append(part)
    out.append("P4 at %d attachments: %s" % (top, ", ".join(parts)))
    if missing:
        out.append("P4: bench_attach.py's table has no column %s: its figures are not in this summary" % (
            ", ".join(repr(c) for c in sorted(missing))))
    return out


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) // 1024
    return "%d CPUs (%s), %d MB, kernel %s" % (os.cpu_count(), cpu, mem, platform.release())


def git(*args):
    return subprocess.run(["git"] + list(args), capture_output=True, text=True, cwd=str(bench_lib.REPO),
                          check=False).stdout.strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--only", default=os.environ.get("BENCH_ONLY") or ",".join(ORDER))
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS") or 3))
    parser.add_argument("--sizes", default=os.environ.get("BENCH_SIZES", ""))
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("BENCH_SECONDS") or 5))
    parser.add_argument("--out", default=os.environ.get("BENCH_OUT") or str(bench_lib.REPO / "docs" / "benchmarks" / "latest.md"))
    args = parser.parse_args()
    only = [p.strip().upper() for p in args.only.split(",") if p.strip()]
    if not only or set(only) - set(ORDER):
        sys.exit("BENCH_ONLY: choose among %s, got %r" % (",".join(sorted(ORDER)), args.only))
    sizes = parse_sizes(args.sizes)
    if os.geteuid() != 0:
        sys.exit("make bench runs on the lab: it needs root")

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    instance = lab_instance()
    lab, ours = Lab.load(instance), False
    need = hosts_needed(only, sizes)
    if lab is None or not lab.is_up():
        lab, ours = Lab(n_hosts=need, instance=instance), True
        log("bench: bringing lab %d up with %d hosts" % (instance, need))
        lab.up(log=log)
    elif len(lab.hosts) < need:
        sys.exit("lab %d is up with %d hosts; these sizes need %d: make lab-down, or BENCH_SIZES" % (
            instance, len(lab.hosts), need))
    raw = bench_lib.REPO / ".build" / "bench" / time.strftime("%Y%m%d-%H%M%S")
    raw.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, NETWIRE_LAB_INSTANCE=str(instance))
    py = str(bench_lib.REPO / ".venv" / "bin" / "python")
    started = datetime.datetime.now(datetime.timezone.utc)
    results, tables, errors, took, loads = {}, {}, {}, {}, {}
    try:
        for bench in [b for b in ORDER if b in only]:
            t0, load0 = time.monotonic(), bench_lib.load()
            out_json = raw / (bench + ".json")
            if bench == "P1":
                argv = [py, str(SCRIPTS / "bench_ovs.py"), "--rounds", str(args.rounds), "--json", str(out_json)]
                argv += sizes["P1"]
            elif bench == "P2":
                argv = [py, str(SCRIPTS / "bench_dataplane.py"), "--rounds", str(args.rounds), "--seconds",
                        str(args.seconds), "--tx-on", "--json", str(out_json)]
            elif bench == "P3":
                argv = [py, str(SCRIPTS / "bench_noop.py"), "--rounds", str(args.rounds), "--json", str(out_json)]
                for size in sizes["P3"]:
                    argv += ["--size", size]
            if bench != "P4":
                tables[bench], errors[bench] = run_script(argv, env, log)
                if errors[bench] is None:
                    results[bench] = json.loads(out_json.read_text())
            else:
                runs, tables[bench], errors[bench] = [], "", None
                for _round in range(args.rounds):
                    text, errors[bench] = run_script([py, str(SCRIPTS / "bench_attach.py")] + sizes["P4"], env, log)
                    if errors[bench]:
                        break
                    runs.append(markdown_rows(text))
                results[bench] = p4_aggregate(runs)
                tables[bench] = p4_table(results[bench])
                bench_lib.write_json(out_json, {"runs": runs})
            took[bench], loads[bench] = time.monotonic() - t0, (load0, bench_lib.load())
            log("bench: %s took %.0f s%s" % (bench, took[bench], "" if errors[bench] is None else ": FAILED"))
    finally:
        if ours:
            lab.down(log=log)
    ended = datetime.datetime.now(datetime.timezone.utc)
    text = render(args, only, sizes, lab, started, ended, results, tables, errors, took, loads)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    (raw / "latest.md").write_text(text)
    print(text)
    log("bench: written to %s (raw results in %s)" % (args.out, raw))
    if any(errors.values()):
        sys.exit("bench: %s failed" % ", ".join(b for b, e in errors.items() if e))


def render(args, only, sizes, lab, started, ended, results, tables, errors, took, loads):
    procs = len([p for p in os.listdir("/proc") if p.isdigit()])
    latest = Path(args.out).resolve() == (bench_lib.REPO / "docs" / "benchmarks" / "latest.md").resolve()
    lines = ["# The latest `make bench` run" if latest else "# A `make bench` run (BENCH_OUT=%s)" % Path(args.out).name, "",
             "Written by `make bench` (scripts/bench.py)%s. What the benchmarks measure, "
             "how to read them and earlier runs: [../benchmarks.md](../benchmarks.md)." % (
                 "; each run replaces this file" if latest else ", its tables in a file of their own"), "",
             "- When: %s to %s (UTC), commit %s%s" % (started.strftime("%Y-%m-%d %H:%M"), ended.strftime("%H:%M"),
                                                      git("rev-parse", "--short", "HEAD"),
                                                      " (with uncommitted changes)" if git("status", "--porcelain", "--untracked-files=no",
                                                                                           "--", *CODE) else ""),
             "- Machine: %s, shared with whatever else runs on it (%d processes at the end); 1-minute load at "
             "each benchmark's start and end: %s" % (machine(), procs, ", ".join(
                 "%s %s -> %s" % (b, loads[b][0], loads[b][1]) for b in ORDER if b in loads)),
             "- Lab instance %d, %d hosts; rounds %d%s; sizes %s" % (
                 lab.instance, len(lab.hosts), args.rounds, ", iperf3 -t %d" % args.seconds if "P2" in only else "",
                 "; ".join("%s %s" % (b, ",".join(sizes[b])) for b in ("P1", "P3", "P4") if b in only)),
             "- Took: %s" % ", ".join("%s %.0f s" % (b, took[b]) for b in ORDER if b in took),
             "- P1's anchor: ansible==%s (openvswitch.openvswitch) in %s" % (bench_lib.ANCHOR_ANSIBLE,
                                                                             re.sub(r"^" + os.path.expanduser("~"), "~",
                                                                                    str(bench_lib.cache_dir()))),
             "", "## Issue 20's \"Done when\", as this run answers it", ""]
    lines += ["- " + v for v in verdicts(results)] or ["- (nothing measured)"]
    for bench in sorted(tables):
        lines += ["", "## " + TITLES[bench], ""]
        if errors.get(bench):
            lines += ["FAILED: " + errors[bench].strip().replace("\n", " ")[-1500:], ""]
        lines.append(tables[bench].strip() or "(no table)")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
