"""The programs guard (scripts/check_programs.py): every program the tree runs comes from setup.

It runs with Debian's Python (it reads the package database with python3-apt),
so these tests call it as a program, the way `make test` does.
"""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GUARD = REPO / "scripts" / "check_programs.py"
SYSTEM_PYTHON = "/usr/bin/python3"


def guard(root, apt_lines):
    apt = Path(root) / "apt.txt"
    apt.write_text("\n".join(apt_lines) + "\n")
    proc = subprocess.run([SYSTEM_PYTHON, str(GUARD), str(root), "--apt", str(apt)],
                          capture_output=True, text=True, timeout=120, check=False)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "scripts").mkdir()
    (tmp_path / "tests").mkdir()
    return tmp_path


def test_the_tree_runs_only_programs_that_setup_installs():
    proc = subprocess.run([SYSTEM_PYTHON, str(GUARD), str(REPO)], capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # it did look: the lab's own programs are among those it found
    assert "programs: all" in proc.stdout


def test_a_program_outside_the_list_is_named_with_its_package(tree):
    (tree / "scripts" / "x.sh").write_text("#!/usr/bin/env bash\nset -e\novs-vsctl --timeout=5 show | head -n 3\n")
    rc, out = guard(tree, ["iproute2"])
    assert rc == 1, out
    assert "ovs-vsctl" in out and "openvswitch-switch" in out and "scripts/x.sh:3" in out
    rc, out = guard(tree, ["iproute2", "openvswitch-switch"])
    assert rc == 0, out


@pytest.mark.parametrize("source", [
    'import subprocess\nsubprocess.run(["timeout", "5", "tcpdump", "-c", "1"], check=False)\n',
    'def probe(host):\n    return host.run("nsenter --net=%s timeout 10 tcpdump -c 1 -n" % host.ns)\n',
    'def probe(lab):\n    lab.sh(["/bin/sh", "-c", "set -e; tcpdump -c 1 -n >/dev/null 2>&1"])\n',
])
def test_a_program_hidden_behind_wrappers_in_python_is_found(tree, source):
    (tree / "tests" / "test_x.py").write_text(source)
    rc, out = guard(tree, ["iproute2"])
    assert rc == 1 and "tcpdump" in out, out
    assert "test_x.py" in out


def test_a_program_no_package_has_is_named(tree):
    (tree / "scripts" / "y.sh").write_text("#!/bin/sh\nnetwire-no-such-tool --go 2>/dev/null || exit 1\n")
    rc, out = guard(tree, ["iproute2"])
    assert rc == 1 and "netwire-no-such-tool" in out and "not installed" in out, out


def test_shell_words_redirections_and_functions_are_not_programs(tree):
    (tree / "scripts" / "z.sh").write_text(
        "#!/usr/bin/env bash\nstage() { echo \"$1\"; }\nmissing=()\nstage unit >/dev/null 2>&1\n"
        "mapfile -t pkgs < <(grep -v '^#' apt.txt)\nn=$((n + 1))\nms=$(( ($(date +%s%N) - n) / 1000 ))\n"
        "if [ -x .venv/bin/python ]; then .venv/bin/python -V; fi\n")
    rc, out = guard(tree, ["iproute2"])
    assert rc == 0, out


def test_guard_needs_the_system_python():
    assert Path(SYSTEM_PYTHON).exists(), "Debian's python3 is in requirements/apt.txt"
    assert sys.version_info >= (3, 9)


@pytest.mark.parametrize("dropped,program", [("iputils-ping", "ping"), ("tcpdump", "tcpdump")])
def test_the_original_misses_are_caught(tmp_path, dropped, program):
    """ping and tcpdump were on the CI machine by hand: without their lines, the guard fails on the tree."""
    lines = [ln for ln in (REPO / "requirements" / "apt.txt").read_text().splitlines() if ln.strip() != dropped]
    apt = tmp_path / "apt.txt"
    apt.write_text("\n".join(lines) + "\n")
    proc = subprocess.run([SYSTEM_PYTHON, str(GUARD), str(REPO), "--apt", str(apt)], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 1, proc.stdout
    assert "  - %s (" % program in proc.stdout and dropped in proc.stdout, proc.stdout
