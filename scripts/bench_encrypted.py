"""Benchmark (issue 16): TCP throughput across hosts on an encrypted network against the same network clear.

On the lab (instance NETWIRE_LAB_INSTANCE, default 3; `make lab-up` first), examples/encrypted is built
with site.yml, first as it is (kernel VXLAN inside WireGuard: wireguard-go on this kernel), then with
`encrypt: false` (kernel VXLAN on the underlay), alternately ROUNDS times each. Each measurement is one
bounded iperf3 run (the machine's iperf3, entered into the containers' network namespaces: -t SECONDS,
s1 on host1 -> s2 on host2). Prints the median and range of each. Not a test: nothing is asserted.

Run as root from the checkout:
    .venv/bin/python scripts/bench_encrypted.py [--rounds 3] [--seconds 5]
"""

import argparse
import json
import os
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

from tests.lab.core import LAB_ENV, REPO, Lab, ensure_container, sh  # noqa: E402
from tests.lab.modrun import ensure_collection_link  # noqa: E402

PORT = 5201


def playbook(lab, model, name, extra=None):
    argv = [str(REPO / ".venv" / "bin" / "ansible-playbook"), "-i", str(lab.inventory), "-i", str(model)]
    if extra:
        argv += ["-e", json.dumps(extra)]
    env = dict(LAB_ENV, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
    proc = subprocess.run(argv + [str(REPO / "playbooks" / name)], capture_output=True, text=True, env=env,
                          cwd=str(REPO), timeout=900, check=False)
    if proc.returncode != 0:
        raise SystemExit("%s failed:\n%s" % (name, proc.stdout[-3000:]))


def netns(ref):
    return "/proc/%s/ns/net" % sh(["docker", "inspect", "-f", "{{.State.Pid}}", ref]).stdout.strip()


def iperf(refs, seconds):
    server = subprocess.Popen(["nsenter", "--net=%s" % netns(refs["s2"]), "--", "timeout", str(seconds + 15),
                               "iperf3", "-s", "-1", "-p", str(PORT)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        out = sh(["nsenter", "--net=%s" % netns(refs["s1"]), "--", "timeout", str(seconds + 10), "iperf3", "-c",
                  "10.40.0.22", "-p", str(PORT), "-t", str(seconds), "-J"], timeout=seconds + 20)
        return json.loads(out.stdout)["end"]["sum_received"]["bits_per_second"] / 1e6
    finally:
        server.wait(timeout=seconds + 20)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()
    ensure_collection_link()
    lab = Lab.load()
    if lab is None or not lab.is_up():
        raise SystemExit("no lab is up for instance %s" % os.environ["NETWIRE_LAB_INSTANCE"])
    work = Path(tempfile.mkdtemp(prefix="bench-encrypted-"))
    model = work / "model"
    shutil.copytree(str(REPO / "examples" / "encrypted"), str(model))
    all_vars = model / "group_vars" / "all.yml"
    data = yaml.safe_load(all_vars.read_text())
    refs = {}
    for name in data["netwire_containers"]:
        refs[name] = "lab%d-bench-%s" % (lab.instance, name)
        data["netwire_containers"][name]["ref"] = refs[name]
        ensure_container(refs[name], lab.instance)
    all_vars.write_text(yaml.safe_dump(data, sort_keys=False))
    clear = {"netwire_networks": dict((n, dict(v, encrypt=False)) for n, v in data["netwire_networks"].items())}
    results = {"encrypted": [], "clear": []}
    try:
        for _round in range(args.rounds):
            for kind, extra in (("encrypted", None), ("clear", clear)):
                playbook(lab, model, "site.yml", extra)
                results[kind].append(iperf(refs, args.seconds))
                print("%s: %.0f Mbit/s" % (kind, results[kind][-1]), flush=True)
    finally:
        playbook(lab, model, "down.yml")
        for ref in refs.values():
            sh(["docker", "rm", "-f", ref], check=False)
        shutil.rmtree(str(work), ignore_errors=True)
    for kind, values in results.items():
        print("%-9s median %.0f Mbit/s (%.0f-%.0f, %d runs of %d s), load %s"
              % (kind, statistics.median(values), min(values), max(values), len(values), args.seconds,
                 open("/proc/loadavg").read().split()[0]))


if __name__ == "__main__":
    main()
