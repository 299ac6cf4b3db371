"""The zones hold against a hostile container (issue 11), on the example model, with real packets.

The attacks (bounded: 3 frames or packets each) and what must come of them:

* a hand-made VXLAN frame from a dmz container, and from the outside host, to a peer's
  overlay port (kernel VXLAN app on UDP 8472, OVS VXLAN backend on 4789): the victim
  container's ICMP counters (``/proc/net/snmp`` in its namespace) must not move;
* a dmz container that adds an app address and sends from it to backend: db1's counters
  must not move;
* TCP to every host's management sshd, from every container: must not connect.

Each attack is checked against a positive control that proves the measurement works
(the same frame from a legitimate peer reaches the victim; the allowed flows still pass).
Expectations are written out by hand from examples/model (see test_site.py).
"""

import json

import pytest

from tests.lab.core import REPO, sh
from tests.integration.site_helpers import CONTAINERS, Containers, copy_example
from tests.spec._state import ATTACK   # the hand-made frames, shared with the spec suite

pytestmark = pytest.mark.lab

FAKE_SOURCE = {"app": "10.20.0.250", "backend": "10.30.0.250"}   # unused addresses of the victim's subnet
SPOOFED_APP = "10.20.0.199"                                        # an app address a dmz container takes

# TCP connect with a deadline: prints "connected" or the error.
CONNECT = r'''
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3]),
                                 source_address=(sys.argv[4], 0) if len(sys.argv) > 4 else None)
    print("connected")
except OSError as exc:
    print("failed: %s" % exc)
'''

UDP_SEND = r'''
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0))
for _ in range(3):
    s.sendto(b"netwire-spoof", (sys.argv[2], int(sys.argv[3])))
'''

PY = str(REPO / ".venv" / "bin" / "python")


class Site(object):
    def __init__(self, lab, model_dir):
        self.lab = lab
        self.model = model_dir
        self.docker = Containers()

    def pid(self, name):
        return int(sh(["docker", "inspect", "-f", "{{.State.Pid}}", self.docker[name]]).stdout.strip())

    def nsenter(self, name, cmd, timeout=30, check=False):
        return sh(["nsenter", "--net=/proc/%d/ns/net" % self.pid(name), "--"] + list(cmd), check=check,
                  timeout=timeout)

    def link(self, name, ifname="eth1"):
        return json.loads(self.nsenter(name, ["ip", "-j", "addr", "show", "dev", ifname], check=True).stdout)[0]

    def address(self, name):
        return [a["local"] for a in self.link(name)["addr_info"] if a["family"] == "inet"][0]

    def counters(self, name):
        """/proc/net/snmp of the container's namespace: {"Icmp": {...}, "Udp": {...}, "Tcp": {...}}."""
        lines = self.nsenter(name, ["cat", "/proc/net/snmp"], check=True).stdout.splitlines()
        out = {}
        for head, values in zip(lines[0::2], lines[1::2]):
            proto, keys = head.split(":", 1)
            out[proto] = dict(zip(keys.split(), (int(v) for v in values.split(":", 1)[1].split())))
        return out

    def echoes(self, name):
        return self.counters(name)["Icmp"]["InEchos"]

    def inject(self, where, target, port, vni, victim, subnet_key):
        """Send 3 VXLAN frames to target:port (VNI vni) aimed at the victim container; from
        a container (name), the outside host ("outside") or a lab host (LabHost)."""
        args = [PY, "-c", ATTACK, "vxlan", target, str(port), str(vni), self.link(victim)["address"],
                self.address(victim), FAKE_SOURCE[subnet_key]]
        if where == "outside":
            out = self.lab.outside.run(args, check=False)
        elif isinstance(where, str):
            out = self.nsenter(where, args)
        else:
            out = where.run(args, check=False)
        assert out.returncode == 0, out
        return int(out.stdout.strip() or 0)

    def reaches(self, sender, victim, send):
        """How many echo requests the victim counted while ``send`` ran (waits for stragglers)."""
        before = self.echoes(victim)
        sent = send()
        assert sent == 3, "the sender could not send its frames (%s)" % sent
        sh(["sleep", "1.5"])
        return self.echoes(victim) - before


@pytest.fixture(scope="module")
def site(lab, tmp_path_factory):
    model_dir = tmp_path_factory.mktemp("hostile") / "model"
    s = Site(lab, model_dir)
    copy_example(model_dir, s.docker, lab.instance)
    run = lab.playbook("playbooks/site.yml", [model_dir])
    assert run.rc == 0, run
    yield s
    lab.playbook("playbooks/down.yml", [model_dir])
    s.docker.remove()


# ---------------------------------------------------------------- injected tunnel frames

# (sender, target host, UDP port, VNI, victim, victim network)
INJECTIONS = [
    ("web2", "host3", 4789, 130, "db1", "backend"),    # dmz on host2 -> OVS VXLAN backend on host3
    ("web1", "host2", 8472, 120, "app1", "app"),       # dmz on host1 -> kernel VXLAN app on host2
    ("web2", "host2", 8472, 120, "app1", "app"),       # dmz on host2 -> its own host's VXLAN socket
    ("outside", "host2", 8472, 120, "app1", "app"),    # the internet -> kernel VXLAN app on host2
]


@pytest.mark.parametrize("sender, target, port, vni, victim, net", INJECTIONS,
                         ids=["%s->%s:%d" % (i[0], i[1], i[2]) for i in INJECTIONS])
def test_injected_vxlan_frame_reaches_nothing(site, lab, sender, target, port, vni, victim, net):
    ip = lab.host(target).underlay_ip
    got = site.reaches(sender, victim, lambda: site.inject(sender, ip, port, vni, victim, net))
    assert got == 0, "%d of 3 echo requests injected by %s into %s:%d (VNI %d) reached %s" % (
        got, sender, ip, port, vni, victim)


@pytest.mark.parametrize("peer, target, port, vni, victim, net", [
    ("host3", "host2", 8472, 120, "app1", "app"),
    ("host2", "host3", 4789, 130, "db1", "backend"),
], ids=["host3->host2:8472", "host2->host3:4789"])
def test_the_same_frame_from_a_peer_reaches_the_victim(site, lab, peer, target, port, vni, victim, net):
    """Positive control: the frame is well formed and the victim's counter sees it."""
    ip = lab.host(target).underlay_ip
    got = site.reaches(peer, victim, lambda: site.inject(lab.host(peer), ip, port, vni, victim, net))
    assert got == 3, "a peer's frame should reach %s (3 echo requests), got %d" % (victim, got)


# ---------------------------------------------------------------- spoofed source

def test_spoofed_app_source_from_dmz_reaches_nothing_in_backend(site):
    db1 = site.address("db1")
    before = site.counters("db1")
    site.nsenter("web2", ["ip", "addr", "add", SPOOFED_APP + "/32", "dev", "eth1"], check=True)
    try:
        ping = site.nsenter("web2", ["ping", "-n", "-c", "3", "-i", "0.3", "-W", "1", "-I", SPOOFED_APP, db1])
        site.nsenter("web2", [PY, "-c", UDP_SEND, SPOOFED_APP, db1, "47999"], check=True)
        tcp = site.nsenter("web2", [PY, "-c", CONNECT, db1, "47998", "2", SPOOFED_APP])
    finally:
        site.nsenter("web2", ["ip", "addr", "del", SPOOFED_APP + "/32", "dev", "eth1"])
    sh(["sleep", "1"])
    after = site.counters("db1")
    got = {"icmp echo": after["Icmp"]["InEchos"] - before["Icmp"]["InEchos"],
           "udp": (after["Udp"]["InDatagrams"] + after["Udp"]["NoPorts"])
           - (before["Udp"]["InDatagrams"] + before["Udp"]["NoPorts"]),
           "tcp": after["Tcp"]["InSegs"] - before["Tcp"]["InSegs"]}
    assert got == {"icmp echo": 0, "udp": 0, "tcp": 0}, \
        "web2 (dmz) with app source %s reached db1 (backend): %s (ping: %s, tcp: %s)" % (
            SPOOFED_APP, got, ping.stdout.strip()[-200:], tcp.stdout.strip())


def test_the_real_app_container_still_reaches_backend(site):
    """Positive control for the spoofing test: app -> backend is allowed."""
    before = site.echoes("db1")
    assert site.nsenter("app1", ["ping", "-n", "-c", "3", "-i", "0.3", "-W", "2", site.address("db1")]).returncode == 0
    assert site.echoes("db1") - before == 3


# ---------------------------------------------------------------- host services

@pytest.mark.parametrize("container", CONTAINERS)
def test_no_container_reaches_any_hosts_management_ssh(site, lab, container):
    connected = []
    for h in lab.hosts:
        out = site.nsenter(container, [PY, "-c", CONNECT, h.mgmt_ip, "22", "2"]).stdout.strip()
        if out == "connected":
            connected.append("%s (%s)" % (h.name, h.mgmt_ip))
    assert not connected, "%s reaches sshd on %s" % (container, ", ".join(connected))


def test_the_controller_reaches_ssh_and_containers_their_gateway(site, lab):
    """Positive controls: sshd answers the controller; a container's gateway answers ping only."""
    out = sh([PY, "-c", CONNECT, lab.hosts[0].mgmt_ip, "22", "2"]).stdout.strip()
    assert out == "connected", out
    gateway = "10.10.0.1"   # host1's address on dmz
    assert site.nsenter("web1", ["ping", "-n", "-c", "1", "-W", "2", gateway]).returncode == 0
    assert site.nsenter("web1", [PY, "-c", CONNECT, gateway, "22", "2"]).stdout.strip() != "connected"


def test_a_published_port_of_another_host_stays_reachable_from_containers(site, lab):
    """web2 (host2) reaches web1's published port on host1's underlay address: declared, so allowed."""
    sh(["docker", "exec", "-d", site.docker["web1"], "timeout", "20", "nc", "-l", "-p", "80", "-e", "echo",
        "hello-web1"])
    got = ""
    for _attempt in range(5):
        got = sh(["docker", "exec", site.docker["web2"], "timeout", "4", "nc", "-w", "2",
                  lab.host("host1").underlay_ip, "8080"], check=False, timeout=10, input="").stdout
        if "hello-web1" in got:
            break
    assert "hello-web1" in got, got
