"""Helpers shared by the benchmark scripts of issue 20 (scripts/bench.py and the P1-P4 scripts).

Not part of the collection and not a test: the scripts import it from their own folder.
"""

import fcntl
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CALLBACKS = REPO / "scripts" / "bench_callbacks"
# The anchor of P1: the `ansible` community package, which bundles openvswitch.openvswitch up to Ansible 10
# (the collection is deprecated and left the package in 11). 10.7.0 runs ansible-core 2.17 (ours: .venv's).
# Pinned, so that two runs compare the same anchor.
ANCHOR_ANSIBLE = "10.7.0"
LAB_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def load():
    """The 1-minute load average, as /proc/loadavg prints it."""
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def spread(values, fmt="%.2f"):
    """'median (min-max)' of a list of numbers."""
    if not values:
        return "-"
    return (fmt + " (" + fmt + "-" + fmt + ")") % (statistics.median(values), min(values), max(values))


def load_range(loads):
    loads = [float(v) for v in loads]
    return "%.1f-%.1f" % (min(loads), max(loads)) if loads else "-"


def cache_dir():
    """Where built things live between runs and checkouts (as scripts/sanity.sh keeps its virtualenv)."""
    base = os.environ.get("NETWIRE_CACHE") or os.path.join(os.environ.get("XDG_CACHE_HOME") or
                                                           os.path.expanduser("~/.cache"), "netwire")
    return Path(base)


def anchor_venv(log=print):
    """The anchor's own virtualenv (ansible==ANCHOR_ANSIBLE from PyPI), built once into the cache.

    Separate from .venv: the anchor collection and its ansible-core never see ours, nor ours theirs.
    """
    venv = cache_dir() / ("bench-anchor-ansible-" + ANCHOR_ANSIBLE)
    want = "ansible==" + ANCHOR_ANSIBLE
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(str(venv) + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two checkouts may ask at once
        stamp = venv / ".stamp"
        if not stamp.exists() or stamp.read_text().strip() != want:
            log("bench: installing the anchor (%s) into %s" % (want, venv))
            subprocess.run(["rm", "-rf", str(venv)], check=True)
            subprocess.run(["/usr/bin/python3", "-m", "venv", str(venv)], check=True)
            subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", want],
                           check=True)
            stamp.write_text(want + "\n")
    return venv


def anchor_collections(venv):
    """The folder holding the anchor's ansible_collections (the package's site-packages)."""
    out = subprocess.run([str(venv / "bin" / "python"), "-c",
                          "import ansible_collections, os; print(os.path.dirname(ansible_collections.__path__[0]))"],
                         capture_output=True, text=True, check=True).stdout
    return out.strip()


def ansible_env(times_file=None, collections=None, venv_bin=None):
    """The environment of an ansible or ansible-playbook run against the lab (the checkout's ansible.cfg)."""
    env = {"PATH": LAB_PATH, "LANG": "C.UTF-8", "HOME": os.environ.get("HOME", "/root"),
           "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_DEPRECATION_WARNINGS": "0", "ANSIBLE_NOCOLOR": "1"}
    if venv_bin:
        env["PATH"] = "%s:%s" % (venv_bin, env["PATH"])
    if collections:
        env["ANSIBLE_COLLECTIONS_PATH"] = str(collections)
    if times_file:
        env.update({"ANSIBLE_CALLBACK_PLUGINS": str(CALLBACKS), "ANSIBLE_CALLBACKS_ENABLED": "netwire_task_times",
                    "NETWIRE_TASK_TIMES": str(times_file)})
    return env


def run_timed(argv, env, timeout=7200):
    """Run argv from the checkout; (wall seconds, stdout). Exits with its output when it fails."""
    t0 = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=str(REPO), timeout=timeout, check=False)
    elapsed = time.monotonic() - t0
    if proc.returncode != 0:
        sys.exit("failed (rc %d): %s\n%s\n%s" % (proc.returncode, " ".join(argv), proc.stdout[-4000:],
                                                 proc.stderr[-2000:]))
    return elapsed, proc.stdout


def recap_changed(stdout):
    """The sum of changed= over the PLAY RECAP."""
    recap = stdout.split("PLAY RECAP", 1)[1]
    return sum(int(word.split("=")[1]) for word in recap.split() if word.startswith("changed="))


def write_json(path, data):
    if path:
        with open(path, "w") as f:
            json.dump(data, f, indent=1, sort_keys=True)
