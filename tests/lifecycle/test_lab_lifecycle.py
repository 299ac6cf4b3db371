"""lab-up / lab-down leave the machine exactly as they found it.

Runs through the real command line (`python -m tests.lab`), in its own pytest
run with no other lab up, and compares the root namespace's links, named
network namespaces, mount table and process table before and after.

The lab's daemons double-fork; on machines whose PID 1 does not reap orphans
they would linger as zombies. This test process is made a child subreaper, so
the daemons are re-parented to it and it reaps them: the process table can be
compared exactly, zombies included.
"""

import json
import os
import subprocess
import sys
import time

import pytest

from tests.lab.core import REPO, Lab, become_subreaper, reap_children

pytestmark = [pytest.mark.lab, pytest.mark.lifecycle]

CLI = [sys.executable, "-m", "tests.lab"]
INSTANCE = os.environ.get("NETWIRE_LAB_INSTANCE", "0")


def cli(*args, env_extra=None, check=True):
    env = dict(os.environ, NETWIRE_LAB_INSTANCE=INSTANCE)
    env.pop("NETWIRE_LAB_CRASH_AT", None)
    env.update(env_extra or {})
    proc = subprocess.run(CLI + list(args), cwd=str(REPO), capture_output=True, text=True, env=env, timeout=300,
                          check=False)
    if check:
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
    return proc


def processes():
    """User-space processes that the lab could have left behind, zombies included.

    That is every process living in a namespace other than this test's own
    (lab hosts, containers), every descendant of this test process (the lab's
    daemons are re-parented to it, see above), and every process whose command
    line names a lab folder. Unrelated processes elsewhere on the machine (a
    shell somebody opened meanwhile) are not the lab's doing and are left out,
    so that the comparison is exact where it matters and never flaky.
    """
    me = os.getpid()
    own_ns = {k: os.stat("/proc/self/ns/%s" % k).st_ino for k in ("net", "mnt", "uts")}
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            with open("/proc/%d/stat" % pid) as f:
                stat = f.read()
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        state, ppid = fields[0], int(fields[1])
        if pid == 2 or ppid == 2 or pid == me:  # kernel threads come and go on their own
            continue
        namespaced = False
        for kind, ino in own_ns.items():
            try:
                namespaced |= os.stat("/proc/%d/ns/%s" % (pid, kind)).st_ino != ino
            except OSError:  # zombies have no namespaces left
                pass
        table[pid] = (ppid, state, cmdline or stat.split("(", 1)[1].rsplit(")", 1)[0], namespaced)

    def descends_from_me(pid):
        seen = set()
        while pid in table and pid not in seen:
            seen.add(pid)
            pid = table[pid][0]
            if pid == me:
                return True
        return False

    lab_dirs = (str(REPO / ".lab"),)
    return {(pid, ppid, state, cmd) for pid, (ppid, state, cmd, namespaced) in table.items()
            if namespaced or descends_from_me(pid) or any(d in cmd for d in lab_dirs)}


def run(*argv):
    return subprocess.run(list(argv), capture_output=True, text=True, check=False).stdout


def snapshot():
    reap_children()
    with open("/proc/self/mountinfo") as f:
        mounts = f.read()
    return {
        "links": run("ip", "-br", "link"),
        "netns": run("ip", "netns", "list"),
        "mounts": mounts,
        "processes": processes(),
        "containers": run("docker", "ps", "-aq", "--filter", "label=netwire.lab"),
    }


def settle_and_compare(before, timeout=15.0):
    deadline = time.monotonic() + timeout
    while True:
        after = snapshot()
        diff = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
        if not diff or time.monotonic() > deadline:
            return diff
        time.sleep(0.2)


def describe(diff):
    out = []
    for key, (b, a) in diff.items():
        if key == "processes":
            out.append("processes only before: %s" % sorted(b - a))
            out.append("processes only after: %s" % sorted(a - b))
        else:
            out.append("%s before:\n%s\n%s after:\n%s" % (key, b, key, a))
    return "\n".join(out)


@pytest.fixture(scope="module", autouse=True)
def no_lab_running():
    if os.geteuid() != 0:
        pytest.fail("needs root")
    lab = Lab.load()
    if lab is not None:
        pytest.fail("a lab is already up (%s); the lifecycle test needs a machine without one" % lab.lab_dir)
    become_subreaper()
    subprocess.run(CLI + ["down"], cwd=str(REPO), capture_output=True, check=True,
                   env=dict(os.environ, NETWIRE_LAB_INSTANCE=INSTANCE))
    # The machine's Docker Engine is a prerequisite, not part of the lab: make sure it
    # runs before the "before" snapshot (make setup starts it too).
    from tests.lab.core import ensure_docker
    ensure_docker(log=lambda *_: None)


def test_up_down_restores_the_machine_exactly():
    before = snapshot()
    cli("up", "--hosts", "2")
    lab = Lab.load(int(INSTANCE))
    assert lab is not None and lab.is_up()
    # Prove the lab was real before taking it down: SSH in, start a container
    # through a host, and leave processes running in the lab namespaces
    # (an sshd session child and a test server) for lab-down to find.
    key = str(lab.ssh_dir / "id_ed25519")
    known = str(lab.ssh_dir / "known_hosts")
    for h in lab.hosts:
        out = subprocess.run(["ssh", "-i", key, "-o", "UserKnownHostsFile=" + known, "-o", "BatchMode=yes",
                              "root@" + h.mgmt_ip, "hostname"], capture_output=True, text=True, timeout=30, check=False)
        assert out.stdout.strip() == h.name, out.stderr
    h1 = lab.hosts[0]
    h1.run(["docker", "run", "-d", "--network", "none", "--label", "netwire.lab=%s" % INSTANCE,
            "netwire/busybox", "sleep", "600"])
    h1.run("nohup sleep 600 >/dev/null 2>&1 &")
    lab.outside.run("nohup busybox nc -l -p 9 >/dev/null 2>&1 &")
    assert snapshot() != before

    cli("down")
    diff = settle_and_compare(before)
    assert not diff, describe(diff)
    assert not lab.lab_dir.exists()

    # Running it again is fine and changes nothing.
    cli("down")
    assert not settle_and_compare(before)


def test_up_after_a_crashed_up_cleans_up_first():
    before = snapshot()
    crashed = cli("up", "--hosts", "2", env_extra={"NETWIRE_LAB_CRASH_AT": "wired"}, check=False)
    assert crashed.returncode == 70, crashed.stderr
    lab = Lab.load(int(INSTANCE))
    assert lab is not None, "the crash left no state to recover from: the test proves nothing"
    assert any(l for l in json.loads(run("ip", "-j", "link"))
               if l["ifname"] == lab.mgmt_bridge)
    cli("up", "--hosts", "2")
    lab = Lab.load(int(INSTANCE))
    assert lab.is_up()
    out = lab.hosts[1].run(["ping", "-c", "1", "-W", "2", lab.hosts[0].underlay_ip])
    assert " 0% packet loss" in out.stdout
    # lab-up on a running lab is idempotent: it rebuilds the same lab.
    cli("up", "--hosts", "2")
    assert Lab.load(int(INSTANCE)).is_up()
    cli("down")
    diff = settle_and_compare(before)
    assert not diff, describe(diff)


def test_lab_refuses_to_start_when_a_lab_range_is_already_routed():
    """In a scratch namespace whose routing table already holds 203.0.113.0/24,
    lab-up refuses with a clear message before touching anything."""
    before = snapshot()
    script = ("ip link add nwx0 type veth peer name nwx1 && ip addr add 203.0.113.7/24 dev nwx0 && ip link set nwx0 up && "
              "exec %s -m tests.lab up" % sys.executable)
    env = dict(os.environ, NETWIRE_LAB_INSTANCE="3")
    proc = subprocess.run(["unshare", "--net", "sh", "-c", script], cwd=str(REPO), capture_output=True,
                          text=True, env=env, timeout=60, check=False)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "refusing to start the lab" in proc.stderr
    assert "203.0.113.0/24" in proc.stderr
    assert not (REPO / ".lab-3").exists()
    diff = settle_and_compare(before)
    assert not diff, describe(diff)
