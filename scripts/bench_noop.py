"""Benchmark P3 (issue 20): a no-op `site.yml` against `ansible -m ping` on the same hosts.

On the lab (instance NETWIRE_LAB_INSTANCE, default 3; `make lab-up` first), for each size (hosts x
containers), a model is built once with site.yml: at 3x5 the example model (examples/model, with this
lab's containers), at other sizes the example's zones and networks over host1..hostH with C containers
spread over the hosts and networks in turn. Then, interleaved, ROUNDS times: `ansible all -m ping` and a
no-op `site.yml` (checked: 0 changed), both on the size's hosts only (the lab may have more). Prints the
wall times (median, min-max), the ratio, the load, and the slowest tasks of the no-op run (median over
the rounds). The model is taken down (down.yml) after each size. Not a test: nothing is asserted on times.

Run as root from the checkout:
    .venv/bin/python scripts/bench_noop.py [--rounds 5] [--size 3x5 --size 10x20] [--json FILE]
                                           [--model DIR] [--keep]
--model DIR reuses (or creates) the model copy in DIR, and --keep leaves the model built
(no down.yml at the end), so that repeated measurements skip the first build. --tree DIR runs
the playbooks and the collection of another copy of the collection (DIR is its top folder, inside
ansible_collections/netwire/fabric), e.g. main's, to compare two trees on the same lab: give
--tree several times (this checkout is "."), and the rounds interleave them.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("NETWIRE_LAB_INSTANCE", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import yaml  # noqa: E402

from bench_lib import write_json  # noqa: E402  (this folder)
from tests.lab.core import LAB_ENV, REPO, Lab, ensure_container, sh, underlay_ip  # noqa: E402
from tests.lab.modrun import ensure_collection_link  # noqa: E402
from tests.integration.site_helpers import Containers, copy_example  # noqa: E402

CALLBACKS = REPO / "scripts" / "bench_callbacks"
EXAMPLE_SIZE = (3, 5)  # examples/model itself


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


def site(inventory, model, times_file=None, tree=REPO, playbook="site.yml"):
    return run([str(REPO / ".venv" / "bin" / "ansible-playbook"), "-i", str(inventory), "-i", str(model),
                str(tree / "playbooks" / playbook)], times_file, tree)


def changed(stdout):
    recap = stdout.split("PLAY RECAP", 1)[1]
    return sum(int(word.split("=")[1]) for word in recap.split() if word.startswith("changed="))


def name(tree):
    return "this checkout" if tree == REPO else str(tree)


def spread(values):
    return "%.2f (%.2f-%.2f)" % (statistics.median(values), min(values), max(values))


def scaled_model(dest, n_hosts, n_containers, instance):
    """The example's zones and networks over host1..hostN, with C containers spread over the hosts and the
    three networks in turn (c0 on host1 in dmz, c1 on host2 in app, ...); returns their Docker names."""
    shutil.copytree(str(REPO / "examples" / "model" / "group_vars"), str(dest / "group_vars"))
    all_vars = dest / "group_vars" / "all.yml"
    data = yaml.safe_load(all_vars.read_text())
    hosts = ["host%d" % i for i in range(1, n_hosts + 1)]
    networks = list(data["netwire_networks"])
    for net in data["netwire_networks"].values():
        net["hosts"] = hosts
        net.pop("dhcp", None)
    refs, containers = [], {}
    for i in range(n_containers):
        refs.append("lab%d-bn-c%d" % (instance, i))
        containers["c%d" % i] = {"host": hosts[i % n_hosts], "ref": refs[-1],
                                 "interfaces": [{"network": networks[i % len(networks)]}]}
    data["netwire_containers"] = containers
    all_vars.write_text(yaml.safe_dump(data, sort_keys=False))
    (dest / "host_vars").mkdir()
    for i, host in enumerate(hosts, 1):
        (dest / "host_vars" / (host + ".yml")).write_text(yaml.safe_dump(
            {"netwire_host": {"index": i, "underlay_address": underlay_ip(i) + "/24"}}))
    (dest / "hosts.yml").write_text(yaml.safe_dump({"lab": {"hosts": dict((h, None) for h in hosts)}}))
    for ref in refs:
        ensure_container(ref, instance)
    return refs


def sub_inventory(lab, n_hosts, dest):
    """The lab's inventory with its first n_hosts hosts only."""
    lines = [line for line in lab.inventory.read_text().splitlines()
             if not (re.match(r"host\d+ ", line) and int(line.split()[0][4:]) > n_hosts)]
    dest.write_text("\n".join(lines) + "\n")
    return dest


def measure(lab, size, args, trees, work):
    """One size: (summary row per tree, task medians per tree)."""
    n_hosts, n_containers = size
    inventory = sub_inventory(lab, n_hosts, work / "inventory.ini")
    model = Path(args.model) if args.model else work / "model"
    docker = None
    if (n_hosts, n_containers) == EXAMPLE_SIZE:
        docker = Containers()
        if not (model / "group_vars" / "all.yml").exists():
            copy_example(model, docker, lab.instance, prefix="bn-")
        else:
            docker.name(lab.instance, "bn-")
            docker.ensure(lab.instance)
        refs = list(docker.values())
    elif not (model / "group_vars" / "all.yml").exists():
        refs = scaled_model(model, n_hosts, n_containers, lab.instance)
    else:
        refs = [c["ref"] for c in yaml.safe_load((model / "group_vars" / "all.yml").read_text())["netwire_containers"].values()]
        for ref in refs:
            ensure_container(ref, lab.instance)
    first, _out = site(inventory, model, tree=trees[-1])
    print("%dx%d: site.yml (first run on this model copy, or a rerun): %.2f s, load %s" % (n_hosts, n_containers, first, load()),
          file=sys.stderr, flush=True)
    pings, noops, tasks, loads = [], dict((t, []) for t in trees), dict((t, {}) for t in trees), []
    for i in range(args.rounds):
        loads.append(load())
        pings.append(run([str(REPO / ".venv" / "bin" / "ansible"), "all", "-i", str(inventory), "-m", "ping"])[0])
        line = "%dx%d round %d: ping %.2f s" % (n_hosts, n_containers, i + 1, pings[-1])
        for k, tree in enumerate(trees):
            times_file = work / ("times-%d-%d.json" % (i, k))
            elapsed, out = site(inventory, model, times_file, tree)
            if changed(out):
                sys.exit("the no-op site.yml changed something:\n" + out[-4000:])
            noops[tree].append(elapsed)
            for play, task, seconds in json.loads(times_file.read_text()):
                tasks[tree].setdefault((play, task), []).append(seconds)
            line += ", no-op site.yml (%s) %.2f s" % (name(tree), elapsed)
        print(line + ", load %s" % loads[-1], file=sys.stderr, flush=True)
    if not args.keep:
        site(inventory, model, tree=trees[-1], playbook="down.yml")
        for ref in refs:
            sh(["docker", "rm", "-f", ref], check=False)
        shutil.rmtree(str(model), ignore_errors=True)
    rows = [{"tree": name(tree), "hosts": n_hosts, "containers": n_containers, "first": first, "ping": pings,
             "noop": noops[tree], "ratio": statistics.median(noops[tree]) / statistics.median(pings),
             "load": "%s-%s" % (min(loads, key=float), max(loads, key=float)),
             "tasks": [[play, task, values] for (play, task), values in
                       sorted(tasks[tree].items(), key=lambda kv: -statistics.median(kv[1]))]} for tree in trees]
    return rows


def parse_size(text):
    hosts, containers = text.lower().split("x")
    return int(hosts), int(containers)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--size", action="append", type=parse_size,
                        help="hosts x containers, e.g. 10x20 (repeatable; default 3x5, the example model)")
    parser.add_argument("--model", help="the model copy's folder (kept between runs; one --size)")
    parser.add_argument("--keep", action="store_true", help="leave the model built")
    parser.add_argument("--tree", action="append", help="another copy of the collection to run (repeatable)")
    parser.add_argument("--json", help="write the results here too")
    args = parser.parse_args()
    sizes = args.size or [EXAMPLE_SIZE]
    trees = [REPO if t == "." else Path(t).resolve() for t in (args.tree or ["."])]
    for tree in trees:
        if tree.parent.parent.name != "ansible_collections" and tree != REPO:
            sys.exit("%s is not inside ansible_collections/<namespace>/<name>" % tree)
    lab = Lab.load()
    if lab is None or not lab.is_up():
        sys.exit("no lab is up for instance %s: make lab-up first" % os.environ["NETWIRE_LAB_INSTANCE"])
    if max(h for h, _c in sizes) > len(lab.hosts):
        sys.exit("lab %d has %d hosts: %s needs more (make lab-up LAB_HOSTS=N)" % (lab.instance, len(lab.hosts), sizes))
    ensure_collection_link()
    rows = []
    for size in sizes:
        rows += measure(lab, size, args, trees, Path(tempfile.mkdtemp(prefix="netwire-bench-noop.")))
    write_json(args.json, {"rows": rows})
    print("| tree | hosts x containers | ansible -m ping (s) | no-op site.yml (s) | ratio | load (1 min) |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        cells = (r["tree"], r["hosts"], r["containers"], spread(r["ping"]), spread(r["noop"]), r["ratio"], r["load"])
        print("| %s | %d x %d | %s | %s | %.1fx | %s |" % cells)
    for r in rows:
        print()
        print("| task of the no-op site.yml (%s, %d x %d) | median (s) | min-max (s) |" % (r["tree"], r["hosts"], r["containers"]))
        print("|---|---|---|")
        for play, task, values in r["tasks"]:
            print("| %s: %s | %.2f | %.2f-%.2f |" % (play, task, statistics.median(values), min(values), max(values)))


if __name__ == "__main__":
    main()
