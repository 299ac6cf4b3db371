"""Container reference resolution: paths, pids, named namespaces, and the Docker Engine API over a unix socket."""

import json
import os
import socketserver
import threading
from http.server import BaseHTTPRequestHandler

import pytest

from ansible_collections.netwire.fabric.plugins.module_utils._linux import netns as _netns
from ansible_collections.netwire.fabric.plugins.module_utils._errors import InvalidParameter, MissingDependency


def test_pid_and_path_references():
    me = _netns.resolve(str(os.getpid()))
    assert me.ref_type == "pid" and me.path == "/proc/%d/ns/net" % os.getpid()
    assert me.identity == "pid:%d" % os.getpid()
    path = _netns.resolve("/proc/self/ns/net")
    assert path.ref_type == "path" and path.identity == "path:/proc/self/ns/net"


@pytest.mark.parametrize("ref,ref_type,fragment", [
    ("/no/such/ns", "auto", "no such namespace file"),
    ("relative", "path", "must be absolute"),
    ("999999999", "auto", "no process"),
    ("abc", "pid", "must be a number"),
    ("nothere", "netns", "no named network namespace"),
    ("bad/name", "netns", "not a valid named"),
])
def test_bad_references(ref, ref_type, fragment):
    with pytest.raises(InvalidParameter, match=fragment):
        _netns.resolve(ref, ref_type)


CONTAINERS = {
    "web1": {"Id": "abc123", "Name": "/web1", "State": {"Running": True, "Pid": os.getpid(), "Status": "running"}},
    "stopped": {"Id": "def456", "Name": "/stopped", "State": {"Running": False, "Pid": 0, "Status": "exited"}},
}


class Engine(BaseHTTPRequestHandler):
    def do_GET(self):
        name = self.path.split("/")[2]
        doc = CONTAINERS.get(name) or next((c for c in CONTAINERS.values() if c["Id"] == name), None)
        body = json.dumps(doc or {"message": "No such container: %s" % name}).encode()
        self.send_response(200 if doc else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def docker_engine(tmp_path, monkeypatch):
    sock = str(tmp_path / "docker.sock")
    server = socketserver.UnixStreamServer(sock, Engine)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("DOCKER_HOST", "unix://" + sock)
    monkeypatch.setattr(_netns, "NETNS_DIR", str(tmp_path / "netns"))
    yield sock
    server.shutdown()
    server.server_close()


def test_docker_name_and_id_resolve_to_the_same_identity(docker_engine):
    by_name = _netns.resolve("web1")
    by_id = _netns.resolve("abc123", "docker")
    assert by_name.identity == by_id.identity == "docker:web1"
    assert by_name.path == "/proc/%d/ns/net" % os.getpid() and by_name.container_id == "abc123"


def test_stopped_and_unknown_docker_containers(docker_engine, monkeypatch):
    with pytest.raises(InvalidParameter, match="is not running"):
        _netns.resolve("stopped")
    with pytest.raises(InvalidParameter, match="no such Docker container"):
        _netns.resolve("ghost", "docker")
    monkeypatch.setattr(_netns, "_podman_cli", lambda ref: (False, None))
    monkeypatch.setattr(_netns, "PODMAN_SOCKETS", ())
    with pytest.raises(InvalidParameter, match="no running Docker or Podman container"):
        _netns.resolve("ghost")


def test_no_docker_socket_is_a_missing_dependency(monkeypatch, tmp_path):
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.setattr(_netns, "DOCKER_SOCKETS", (str(tmp_path / "none.sock"),))
    with pytest.raises(MissingDependency, match="no Docker Engine socket"):
        _netns.resolve("web1", "docker")


def test_podman_via_its_compatible_api(docker_engine, monkeypatch):
    monkeypatch.setattr(_netns, "PODMAN_SOCKETS", (docker_engine,))
    monkeypatch.delenv("DOCKER_HOST")
    found = _netns.resolve("web1", "podman")
    assert found.identity == "podman:web1" and found.pid == os.getpid()
