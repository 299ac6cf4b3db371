"""The lab's Docker start copes with a pidfile left by a killed dockerd."""
import os
import subprocess
import sys

from tests.lab import core


def _pidfile(tmp_path, text):
    path = tmp_path / "docker.pid"
    path.write_text(text)
    return str(path)


def test_a_pidfile_naming_a_reused_pid_is_removed(tmp_path):
    # The killed dockerd's pid now belongs to another program (this is what blocked CI).
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        path = _pidfile(tmp_path, "%d\n" % other.pid)
        said = []
        assert core.clear_stale_docker_pidfile(path, log=said.append) is True
        assert not os.path.exists(path)
        assert "not a running dockerd" in said[0]
    finally:
        other.kill()
        other.wait()


def test_a_pidfile_naming_a_dead_pid_or_garbage_is_removed(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    for text in ("%d\n" % dead.pid, "", "not-a-pid"):
        path = _pidfile(tmp_path, text)
        assert core.clear_stale_docker_pidfile(path, log=lambda _m: None) is True
        assert not os.path.exists(path)


def test_a_pidfile_of_a_running_dockerd_is_left_alone(tmp_path, monkeypatch):
    path = _pidfile(tmp_path, "%d\n" % os.getpid())
    monkeypatch.setattr(core, "_process_name", lambda pid: "dockerd" if pid == os.getpid() else None)
    assert core.clear_stale_docker_pidfile(path, log=lambda _m: None) is False
    assert os.path.exists(path)


def test_no_pidfile_is_nothing_to_do(tmp_path):
    assert core.clear_stale_docker_pidfile(str(tmp_path / "absent.pid"), log=lambda _m: None) is False
