"""Benchmark P3 (issue 20): a no-op `site.yml` against `ansible -m ping` on the same hosts.

On the lab (instance NETWIRE_LAB_INSTANCE, default 3; `make lab-up` first), the example model
(examples/model, with this lab's containers) is built once with site.yml; then, interleaved,
ROUNDS times: `ansible all -m ping` and a no-op `site.yml` (checked: 0 changed). Prints the
wall times (median, min-max), the ratio, the load, and the slowest tasks of the no-op run
(median over the rounds). Not a test: nothing is asserted on times.

Run as root from the checkout:
    .venv/bin/python scripts/bench_noop.py [--rounds 5] [--model DIR] [--keep]
--model DIR reuses (or creates) the model copy in DIR, and --keep leaves the model built
(no down.yml at the end), so that repeated measurements skip the first build. --tree DIR runs
the playbooks and the collection of another copy of the collection (DIR is its top folder, inside
ansible_collections/netwire/fabric), e.g. main's, to compare two trees on the same lab: give
--tree several times (this checkout is "."), and the rounds interleave them.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("NETWIRE_LAB_INSTANCE", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.lab.core import LAB_ENV, REPO, Lab  # noqa: E402
from tests.lab.modrun import ensure_collection_link  # noqa: E402
from tests.integration.site_helpers import Containers, copy_example  # noqa: E402

CALLBACKS = REPO / "scripts" / "bench_callbacks"


def load():
    return open("/proc/loadavg").read().split()[0]


def env(times_file=None, tree=REPO):
    e = dict(os.environ)
    e.update(LAB_ENV)
    e.update({"ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_DEPRECATION_WARNINGS": "0",
              "ANSIBLE_NOCOLOR": "1"})
    if tree != REPO:
        e["ANSIBLE_COLLECTIONS_PATH"] = str(tree.parent.parent.parent)
    if times_file:
        e.update({"ANSIBLE_CALLBACK_PLUGINS": str(CALLBACKS), "ANSIBLE_CALLBACKS_ENABLED": "netwire_task_times",
                  "NETWIRE_TASK_TIMES": str(times_file)})
    return e


def run(argv, times_file=None, tree=REPO):
    t0 = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env(times_file, tree), cwd=str(REPO),
                          check=False)
    elapsed = time.monotonic() - t0
    if proc.returncode != 0:
        sys.exit("failed (rc %d): %s\n%s\n%s" % (proc.returncode, " ".join(argv), proc.stdout[-4000:],
                                                 proc.stderr[-2000:]))
    return elapsed, proc.stdout


def site(lab, model, times_file=None, tree=REPO, playbook="site.yml"):
    return run([str(REPO / ".venv" / "bin" / "ansible-playbook"), "-i", str(lab.inventory), "-i", str(model),
                str(tree / "playbooks" / playbook)], times_file, tree)


def changed(stdout):
    recap = stdout.split("PLAY RECAP", 1)[1]
    return sum(int(word.split("=")[1]) for word in recap.split() if word.startswith("changed="))


def name(tree):
    return "this checkout" if tree == REPO else str(tree)


def spread(values):
    return "%.2f (%.2f-%.2f)" % (statistics.median(values), min(values), max(values))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--model", help="the model copy's folder (kept between runs)")
    parser.add_argument("--keep", action="store_true", help="leave the model built")
    parser.add_argument("--tree", action="append", help="another copy of the collection to run (repeatable)")
    args = parser.parse_args()
    trees = [REPO if t == "." else Path(t).resolve() for t in (args.tree or ["."])]
    for tree in trees:
        if tree.parent.parent.name != "ansible_collections" and tree != REPO:
            sys.exit("%s is not inside ansible_collections/<namespace>/<name>" % tree)
    lab = Lab.load()
    if lab is None or not lab.is_up():
        sys.exit("no lab is up for instance %s: make lab-up first" % os.environ["NETWIRE_LAB_INSTANCE"])
    ensure_collection_link()
    work = Path(tempfile.mkdtemp(prefix="netwire-bench-noop."))
    model = Path(args.model) if args.model else work / "model"
    docker = Containers()
    if not (model / "group_vars" / "all.yml").exists():
        copy_example(model, docker, lab.instance, prefix="bn-")
    else:
        docker.name(lab.instance, "bn-")
        docker.ensure(lab.instance)
    first, _out = site(lab, model, tree=trees[-1])
    print("site.yml (first run on this model copy, or a rerun): %.2f s, load %s" % (first, load()))
    pings, noops, tasks, loads = [], dict((t, []) for t in trees), dict((t, {}) for t in trees), []
    for i in range(args.rounds):
        loads.append(load())
        pings.append(run([str(REPO / ".venv" / "bin" / "ansible"), "all", "-i", str(lab.inventory),
                          "-m", "ping"])[0])
        line = "round %d: ping %.2f s" % (i + 1, pings[-1])
        for k, tree in enumerate(trees):
            times_file = work / ("times-%d-%d.json" % (i, k))
            elapsed, out = site(lab, model, times_file, tree)
            if changed(out):
                sys.exit("the no-op site.yml changed something:\n" + out[-4000:])
            noops[tree].append(elapsed)
            for play, task, seconds in json.loads(times_file.read_text()):
                tasks[tree].setdefault((play, task), []).append(seconds)
            line += ", no-op site.yml (%s) %.2f s" % (name(tree), elapsed)
        print(line + ", load %s" % loads[-1])
    print()
    print("| tree | hosts x containers | ansible -m ping (s) | no-op site.yml (s) | ratio | load (1 min) |")
    print("|---|---|---|---|---|---|")
    for tree in trees:
        print("| %s | %d x %d | %s | %s | %.1fx | %s-%s |" % (
            name(tree), len(lab.hosts), len(docker), spread(pings), spread(noops[tree]),
            statistics.median(noops[tree]) / statistics.median(pings), min(loads, key=float), max(loads, key=float)))
    for tree in trees:
        print()
        print("| task of the no-op site.yml (%s) | median (s) | min-max (s) |" % name(tree))
        print("|---|---|---|")
        for (play, task), values in sorted(tasks[tree].items(), key=lambda kv: -statistics.median(kv[1])):
            print("| %s: %s | %.2f | %.2f-%.2f |" % (play, task, statistics.median(values), min(values), max(values)))
    if not args.keep:
        site(lab, model, tree=trees[-1], playbook="down.yml")
        docker.remove()


if __name__ == "__main__":
    main()
