"""pytest fixtures for the netwire lab.

* ``lab`` (session): the lab, brought up once and torn down at the end of the
  session. With ``NETWIRE_LAB_REUSE=1`` an already running lab is used as it is
  and left running (handy while developing; CI never sets it).
* ``container``: factory of Docker containers (``--network none``, image
  netwire/busybox, labelled for the lab), removed after the test.
* ``netns``: factory of plain network namespaces inside a lab host, removed
  after the test.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from .core import CONTAINER_LABEL, IMAGE, LAB_ENV, REPO, Lab, LabError, sh


def pytest_configure(config):
    config.addinivalue_line("markers", "lab: needs root and the lab of simulated hosts")
    # Under pytest-xdist (`-n N --dist loadfile`), each worker gets a lab of its own: worker k uses
    # lab instance NETWIRE_LAB_XDIST_BASE + k (default base 1), so the workers never share hosts,
    # links, containers or management addresses (docs/lab.md, "Several labs").
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if worker.startswith("gw") and worker[2:].isdigit():
        base = int(os.environ.get("NETWIRE_LAB_XDIST_BASE", "1"))
        os.environ["NETWIRE_LAB_INSTANCE"] = str(base + int(worker[2:]))


def _require_root():
    if os.geteuid() != 0:
        pytest.fail("lab tests need root (run `make test` as root)")


# ------------------------------------------------------------------ ansible

def run_ansible(lab: Lab, pattern, module, args=None, check=False, diff=False, timeout=300):
    """Run a real ad-hoc Ansible call over SSH; return {host: result dict}."""
    with tempfile.TemporaryDirectory(prefix="nw-tree-") as tree:
        argv = [str(REPO / ".venv" / "bin" / "ansible"), pattern, "-i", str(lab.inventory),
                "-m", module]
        if args:
            argv += ["-a", json.dumps(args)]
        if check:
            argv.append("--check")
        if diff:
            argv.append("--diff")
        env = dict(LAB_ENV)
        env.update({
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "ANSIBLE_CALLBACKS_ENABLED": "ansible.builtin.tree",
            "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
            "ANSIBLE_CALLBACK_TREE_DIR": tree,
            "ANSIBLE_DEPRECATION_WARNINGS": "0",
        })
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, cwd=str(REPO),
                              check=False)
        results = {}
        for f in Path(tree).iterdir():
            results[f.name] = json.loads(f.read_text())
        if not results:
            raise LabError("ansible produced no results (rc=%d)\nstdout: %s\nstderr: %s"
                           % (proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))
        return results


Lab.ansible = run_ansible


class PlaybookRun(object):
    """The outcome of one ansible-playbook run: rc, output and the recap per host."""

    def __init__(self, proc):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.recap = {}
        in_recap = False
        for line in proc.stdout.splitlines():
            if line.startswith("PLAY RECAP"):
                in_recap = True
                continue
            if in_recap and ":" in line:
                host, _sep, counts = line.partition(":")
                self.recap[host.strip()] = dict((k, int(v)) for k, v in
                                                (item.split("=") for item in counts.split()))

    def changed(self):
        return dict((h, r["changed"]) for h, r in self.recap.items())

    def __repr__(self):
        return "PlaybookRun(rc=%d, recap=%r)\n%s\n%s" % (self.rc, self.recap, self.stdout[-6000:],
                                                         self.stderr[-3000:])


def run_playbook(lab, playbook, inventories=(), check=False, diff=False, extra_vars=None, timeout=600,
                 inventory=None):
    """ansible-playbook over real SSH against the lab (plus extra inventory sources).

    ``inventory`` replaces the lab's own inventory file (e.g. one rendered with system_python hosts)."""
    argv = [str(REPO / ".venv" / "bin" / "ansible-playbook"), "-i", str(inventory or lab.inventory)]
    for inv in inventories:
        argv += ["-i", str(inv)]
    if check:
        argv.append("--check")
    if diff:
        argv.append("--diff")
    if extra_vars:
        # a dict, or a string as ansible-playbook takes it ("@file.yml", "key=value")
        argv += ["-e", extra_vars if isinstance(extra_vars, str) else json.dumps(extra_vars)]
    argv.append(str(REPO / playbook))
    env = dict(LAB_ENV)
    env.update({"ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_DEPRECATION_WARNINGS": "0",
                "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"})
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, cwd=str(REPO),
                          check=False)
    return PlaybookRun(proc)


Lab.playbook = run_playbook


# ------------------------------------------------------------------ fixtures

@pytest.fixture(scope="session")
def lab():
    _require_root()
    reuse = os.environ.get("NETWIRE_LAB_REUSE") == "1"
    existing = Lab.load()
    if reuse and existing is not None and existing.is_up():
        yield existing
        return
    n_hosts = int(os.environ.get("LAB_HOSTS", "3"))
    the_lab = Lab(n_hosts=n_hosts)
    the_lab.up(log=lambda *_: None)
    try:
        yield the_lab
    finally:
        if not reuse:
            the_lab.down(log=lambda *_: None)


class Container:
    """A Docker container of the lab (seen through the machine's Docker Engine)."""

    def __init__(self, name, instance):
        self.name = name
        self.instance = instance
        self.id = None

    def start(self, image=IMAGE, command=("sleep", "3600")):
        self.id = sh(["docker", "run", "-d", "--network", "none", "--name", self.name,
                      "--label", "%s=%d" % (CONTAINER_LABEL, self.instance),
                      "--stop-timeout", "1", image] + list(command)).stdout.strip()
        return self

    @property
    def pid(self) -> int:
        return int(sh(["docker", "inspect", "-f", "{{.State.Pid}}", self.name]).stdout.strip())

    @property
    def running(self) -> bool:
        proc = sh(["docker", "inspect", "-f", "{{.State.Running}}", self.name], check=False)
        return proc.stdout.strip() == "true"

    def exec(self, cmd, check=False, timeout=60):
        inner = list(cmd) if isinstance(cmd, (list, tuple)) else ["/bin/sh", "-c", cmd]
        return sh(["docker", "exec", self.name] + inner, check=check, timeout=timeout)

    def json(self, cmd):
        return json.loads(self.exec(cmd, check=True).stdout or "[]")

    def restart(self):
        sh(["docker", "restart", "-t", "1", self.name], timeout=60)
        return self

    def stop(self):
        sh(["docker", "stop", "-t", "1", self.name], timeout=60)
        return self

    def remove(self):
        sh(["docker", "rm", "-f", "-v", self.name], check=False, timeout=60)


@pytest.fixture
def container(lab):
    made = []

    def make(name=None, image=IMAGE, command=("sleep", "3600")):
        c = Container(name or "nwt-%s" % uuid.uuid4().hex[:8], lab.instance)
        made.append(c)
        return c.start(image=image, command=command)

    yield make
    for c in made:
        c.remove()


class NetNS:
    """A plain named network namespace inside a lab host, used as a container."""

    def __init__(self, host, name):
        self.host = host
        self.name = name
        self.path = "/run/netns/%s" % name

    def run(self, cmd, check=True, timeout=60, input=None):
        inner = list(cmd) if isinstance(cmd, (list, tuple)) else ["/bin/sh", "-c", cmd]
        return self.host.run(["ip", "netns", "exec", self.name] + inner, check=check, timeout=timeout,
                             input=input)

    def json(self, cmd):
        out = self.run(cmd).stdout
        return json.loads(out) if out.strip() else []


@pytest.fixture
def netns(lab):
    made = []

    def make(host, name):
        host.run(["ip", "netns", "add", name])
        ns = NetNS(host, name)
        made.append(ns)
        ns.run(["ip", "link", "set", "lo", "up"])
        return ns

    yield make
    for ns in reversed(made):
        # Stop whatever a test left running in the namespace, then delete it.
        ns.host.run("ip netns pids %s | xargs -r kill -9" % shlex.quote(ns.name), check=False)
        ns.host.run(["ip", "netns", "del", ns.name], check=False)
