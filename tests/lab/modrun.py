"""Run a collection module inside a lab host, the way Ansible runs it.

Ansible ships a module to the target and runs it with the target's Python and
an arguments file. We do the same without the SSH hop (which costs ~1 s a call
and is exercised separately by the inventory and playbook tests): the module's
file runs with the venv interpreter inside the host's namespaces, fed a
``{"ANSIBLE_MODULE_ARGS": ...}`` file with the check/diff flags Ansible sets.
"""

from __future__ import annotations

import json
import os
import tempfile

from .core import REPO, LabError, venv_python

COLLECTIONS = REPO / ".build" / "collections"


def ensure_collection_link():
    """Make ``ansible_collections.netwire.fabric`` importable from the checkout."""
    ns_dir = COLLECTIONS / "ansible_collections" / "netwire"
    link = ns_dir / "fabric"
    if not link.exists():
        ns_dir.mkdir(parents=True, exist_ok=True)
        os.symlink(os.path.relpath(REPO, ns_dir), link)
    return COLLECTIONS


def run_module(node, name, params, check=False, diff=False, timeout=120):
    short = name.split(".")[-1]
    if not (REPO / "plugins" / "modules" / (short + ".py")).exists():
        raise LabError("no module plugins/modules/%s.py in this checkout" % short)
    args = dict(params)
    args["_ansible_check_mode"] = bool(check)
    args["_ansible_diff"] = bool(diff)
    with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="nw-args-", delete=False) as f:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, f)
        args_path = f.name
    try:
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
               "LANG": "C.UTF-8", "HOME": "/root",
               "PYTHONPATH": str(ensure_collection_link())}
        proc = node.run([venv_python(), "-m",
                         "ansible_collections.netwire.fabric.plugins.modules." + short, args_path],
                        check=False, timeout=timeout, env=env)
    finally:
        os.unlink(args_path)
    try:
        result = json.loads(proc.stdout)
    except ValueError:
        raise LabError("module %s printed no JSON (rc=%d)\nstdout: %s\nstderr: %s"
                       % (short, proc.returncode, proc.stdout[-2000:], proc.stderr[-4000:]))
    result.setdefault("rc", proc.returncode)
    if proc.returncode != 0:
        result.setdefault("failed", True)
    return result
