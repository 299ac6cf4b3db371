"""The spec suite's name matrix and DHCP checks (tests/spec): generators on a hand-made plan, the
socket listing parser, and the stub DNS client against a fake server on the loopback."""

import json
import socket
import struct
import subprocess
import sys
import threading

import pytest

from tests.spec import _expect
from tests.spec._state import DNS_CLIENT, parse_ss

DOMAIN = "netwire.internal"


def _entry(network, bridge, address, records, dhcp=False, reservations=(), forward=()):
    return {"name": bridge, "state": "present", "network": network, "interface": bridge, "address": address,
            "subnet": address.rsplit(".", 1)[0] + ".0/24", "domain": DOMAIN, "forward": list(forward),
            "search": ["%s.%s" % (network, DOMAIN), DOMAIN],
            "records": [{"name": n, "address": a} for n, a in records], "dhcp": dhcp, "dhcp_range": None,
            "reservations": list(reservations)}


def _attach(ref, ifname, network, bridge, address, resolver=None, dhcp=False, mac="02:00:00:00:00:01"):
    a = {"container": ref, "container_type": "docker", "ifname": ifname, "network": network, "bridge": bridge,
         "bridge_type": "linux", "addresses": ["%s/24" % address], "mac": mac, "mtu": 1450}
    if resolver:
        a["resolver"] = {"servers": [resolver], "search": ["%s.%s" % (network, DOMAIN), DOMAIN]}
    if dhcp:
        a["dhcp"] = True
    return a


@pytest.fixture
def world():
    """Two hosts: front (zone a, may reach b) on h1 and h2, back (zone b) on h2 only; the front server's
    view holds both networks, the back server's only back. x1 (h1, front), x2 (h2, front, DHCP),
    y1 (h2, back; a second interface on front without a resolver)."""
    model = {"containers": {
        "x1": {"host": "h1", "ref": "c-x1", "ref_type": "docker",
               "interfaces": [{"ifname": "eth1", "network": "front", "address": "10.1.0.10"}]},
        "x2": {"host": "h2", "ref": "c-x2", "ref_type": "docker",
               "interfaces": [{"ifname": "eth1", "network": "front", "address": "10.1.0.11"}]},
        "y1": {"host": "h2", "ref": "c-y1", "ref_type": "docker",
               "interfaces": [{"ifname": "eth1", "network": "back", "address": "10.2.0.10"},
                              {"ifname": "eth2", "network": "front", "address": "10.1.0.12"}]},
    }}
    front_view = [("x1.front.%s" % DOMAIN, "10.1.0.10"), ("x2.front.%s" % DOMAIN, "10.1.0.11"),
                  ("y1.back.%s" % DOMAIN, "10.2.0.10"), ("y1.front.%s" % DOMAIN, "10.1.0.12")]
    back_view = [("y1.back.%s" % DOMAIN, "10.2.0.10")]
    plans = {
        "h1": {"dns": [_entry("front", "nw-front", "10.1.0.1", front_view)],
               "attachments": [_attach("c-x1", "eth1", "front", "nw-front", "10.1.0.10", resolver="10.1.0.1")]},
        "h2": {"dns": [_entry("back", "nw-back", "10.2.0.2", back_view),
                       _entry("front", "nw-front", "10.1.0.2", front_view, dhcp=True, reservations=[
                           {"mac": "02:00:00:00:00:02", "address": "10.1.0.11", "name": "x2"}])],
               "attachments": [
                   _attach("c-x2", "eth1", "front", "nw-front", "10.1.0.11", resolver="10.1.0.2", dhcp=True,
                           mac="02:00:00:00:00:02"),
                   _attach("c-y1", "eth1", "back", "nw-back", "10.2.0.10", resolver="10.2.0.2"),
                   _attach("c-y1", "eth2", "front", "nw-front", "10.1.0.12")]},
    }
    return plans, model


def _by_id(items):
    return dict((i["id"], i) for i in items)


def test_resolves_every_record_of_the_containers_server_and_short_names(world):
    plans, model = world
    checks = _expect.name_checks(plans, model)
    res = _by_id(checks["resolves"])
    x1 = sorted(i for i in res if i.startswith("x1->"))
    assert x1 == ["x1->x1", "x1->x1.front", "x1->x1.front.netwire.internal", "x1->x2", "x1->x2.front",
                  "x1->x2.front.netwire.internal", "x1->y1", "x1->y1.back", "x1->y1.back.netwire.internal",
                  "x1->y1.front", "x1->y1.front.netwire.internal"]
    # asked of x1's own server (h1's front bridge), full names as they are
    assert res["x1->x2.front.netwire.internal"]["server"] == "10.1.0.1"
    assert res["x1->x2.front.netwire.internal"]["names"] == ["x2.front.netwire.internal"]
    assert res["x1->x2.front.netwire.internal"]["want"] == ["10.1.0.11"]
    # short names: the search path in order, as a stub resolver walks it
    assert res["x1->y1"]["names"] == ["y1.front.netwire.internal"]
    assert res["x1->y1"]["want"] == ["10.1.0.12"]          # y1's front interface: front comes first
    assert res["x1->y1.back"]["names"] == ["y1.back.front.netwire.internal", "y1.back.netwire.internal"]
    assert res["x1->y1.back"]["record"] == "y1.back.netwire.internal"
    # y1 asks h2's back server (its first interface has the resolver), which sees back only
    y1 = sorted(i for i in res if i.startswith("y1->"))
    assert y1 == ["y1->y1", "y1->y1.back", "y1->y1.back.netwire.internal"]
    assert res["y1->y1"]["server"] == "10.2.0.2" and res["y1->y1"]["want"] == ["10.2.0.10"]
    assert all(i["rcode"] == _expect.RCODE_NOERROR for i in checks["resolves"])


def test_hidden_is_every_model_name_outside_the_view(world):
    plans, model = world
    checks = _expect.name_checks(plans, model)
    hidden = _by_id(checks["hidden"])
    assert sorted(hidden) == ["y1->x1.front.netwire.internal", "y1->x2.front.netwire.internal",
                              "y1->y1.front.netwire.internal"]
    assert all(h["rcode"] == _expect.RCODE_NXDOMAIN and h["server"] == "10.2.0.2" for h in hidden.values())


def test_not_forwarded_only_without_forwarders(world):
    plans, model = world
    refused = _by_id(_expect.name_checks(plans, model)["refused"])
    assert sorted(refused) == ["x1", "x2", "y1"]
    assert refused["x1"]["names"] == ["example.org"] and refused["x1"]["rcode"] == _expect.RCODE_REFUSED
    plans["h1"]["dns"][0]["forward"] = ["192.0.2.53"]
    assert sorted(i["id"] for i in _expect.name_checks(plans, model)["refused"]) == ["x2", "y1"]


def test_no_dns_no_checks(world):
    plans, model = world
    for p in plans.values():
        p.pop("dns")
    assert _expect.name_checks(plans, model) == {"resolves": [], "hidden": [], "refused": []}
    assert _expect.dns_servers(plans) == [] and _expect.dhcp_servers(plans) == []
    # a resolver pointing at no server of ours: nothing the model promises
    plans = world[0]
    plans["h1"]["attachments"][0]["resolver"]["servers"] = ["10.1.0.99"]
    assert not [i for i in _expect.name_checks(plans, model)["resolves"] if i["container"] == "x1"]


def test_servers_and_leases(world):
    plans, model = world
    assert [s["id"] for s in _expect.dns_servers(plans)] == ["h1-front", "h2-back", "h2-front"]
    assert [s["id"] for s in _expect.dhcp_servers(plans)] == ["h2-front"]
    leases = _expect.dhcp_leases(plans, model)
    assert [(x["id"], x["address"], x["mac"], x["server"]["name"]) for x in leases] == [
        ("x2.eth1", "10.1.0.11", "02:00:00:00:00:02", "nw-front")]


def test_parse_ss():
    listing = "\n".join([
        'UNCONN 0      0            10.20.0.2:53        0.0.0.0:*    users:(("dnsmasq",pid=16245,fd=6))',
        'UNCONN 0      0       0.0.0.0%nw-app:67        0.0.0.0:*    users:(("dnsmasq",pid=16245,fd=4))',
        'UNCONN 0      0 [fe80::30d4:aeff:fe83:fe0d]%nw-app:53 [::]:* users:(("dnsmasq",pid=16245,fd=12))',
        'UNCONN 0      0              0.0.0.0:8472      0.0.0.0:*',
        'UNCONN 0      0                    *:67              *:*    users:(("dhcpd",pid=7,fd=3),("dhcpd",pid=8,fd=3))',
    ])
    socks = parse_ss(listing)
    assert [(s["address"], s["device"], s["port"], s["pids"]) for s in socks] == [
        ("10.20.0.2", None, 53, [16245]), ("0.0.0.0", "nw-app", 67, [16245]),
        ("fe80::30d4:aeff:fe83:fe0d", "nw-app", 53, [16245]), ("0.0.0.0", None, 8472, []),
        ("0.0.0.0", None, 67, [7, 8])]


# ---------------------------------------------------------------- the stub client against a fake server

def _name(data, pos):
    labels = []
    while data[pos]:
        labels.append(data[pos + 1:pos + 1 + data[pos]].decode())
        pos += data[pos] + 1
    return ".".join(labels), pos + 1


class FakeServer(threading.Thread):
    """Answers on 127.0.0.1: known names with A records (compressed owner names), ``refused.test``
    REFUSED, ``silent.test`` nothing, anything else NXDOMAIN."""

    ZONE = {"a.zone.test": ["10.9.0.1", "10.9.0.2"]}

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(5)
        self.port = self.sock.getsockname()[1]
        self.asked = []

    def run(self):
        while True:
            try:
                data, peer = self.sock.recvfrom(512)
            except OSError:
                return
            name, end = _name(data, 12)
            self.asked.append(name)
            if name == "silent.test":
                continue
            question = data[12:end + 4]
            addrs = self.ZONE.get(name, [])
            rcode = 5 if name == "refused.test" else 0 if addrs else 3
            head = struct.pack("!HHHHHH", struct.unpack("!H", data[:2])[0], 0x8400 | 0x0100 | rcode, 1,
                               len(addrs), 0, 0)
            answers = b"".join(struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + socket.inet_aton(a) for a in addrs)
            self.sock.sendto(head + question + answers, peer)


def _ask(jobs, timeout="0.3", tries="2"):
    proc = subprocess.run([sys.executable, "-c", DNS_CLIENT, json.dumps(jobs), timeout, tries],
                          capture_output=True, text=True, timeout=30, check=True)
    return json.loads(proc.stdout)


def test_dns_client_answers_search_path_and_errors():
    srv = FakeServer()
    srv.start()
    try:
        out = _ask([
            {"id": "full", "server": "127.0.0.1", "port": srv.port, "names": ["a.zone.test"]},
            {"id": "search", "server": "127.0.0.1", "port": srv.port, "names": ["a.other.test", "a.zone.test"]},
            {"id": "nx", "server": "127.0.0.1", "port": srv.port, "names": ["b.zone.test"]},
            {"id": "refused", "server": "127.0.0.1", "port": srv.port, "names": ["refused.test", "a.zone.test"]},
            {"id": "silent", "server": "127.0.0.1", "port": srv.port, "names": ["silent.test"]},
        ])
    finally:
        srv.sock.close()
    assert out["full"] == [{"name": "a.zone.test", "rcode": 0, "aa": True, "addresses": ["10.9.0.1", "10.9.0.2"]}]
    assert [(a["name"], a["rcode"]) for a in out["search"]] == [("a.other.test", 3), ("a.zone.test", 0)]
    assert out["nx"][0]["rcode"] == 3 and out["nx"][0]["addresses"] == []
    # an answer other than NXDOMAIN ends the walk, as in a stub resolver
    assert [(a["name"], a["rcode"]) for a in out["refused"]] == [("refused.test", 5)]
    assert out["silent"][0]["rcode"] is None and "timed out" in out["silent"][0]["error"]
    assert srv.asked.count("silent.test") == 2       # bounded: two tries, no more


def test_dns_client_refused_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = _ask([{"id": "x", "server": "127.0.0.1", "port": port, "names": ["a.zone.test"]}])
    assert out["x"][0]["rcode"] is None and "Connection refused" in out["x"][0]["error"]


def test_demo_name_matrix_follows_the_zone_views():
    """examples/model: names on every network, DHCP on app (app2 on host2)."""
    import yaml
    from ansible_collections.netwire.fabric.plugins.plugin_utils import model as _model
    from tests.lab.core import REPO
    from tests.unit.test_spec_expect import _normalized
    demo = _normalized(yaml.safe_load((REPO / "examples" / "model" / "group_vars" / "all.yml").read_text()))
    plans = _model.plans_of(demo)
    checks = _expect.name_checks(plans, demo)
    res = _by_id(checks["resolves"])
    assert res["web1->web2.dmz.netwire.internal"]["server"] == "10.10.0.1"     # host1's dmz bridge
    assert res["web2->web1"]["server"] == "10.10.0.2"                           # host2's
    assert res["web1->app1.app"]["names"] == ["app1.app.dmz.netwire.internal", "app1.app.netwire.internal"]
    assert "web1->app1" not in res and "web1->db1.backend.netwire.internal" not in res
    assert sorted(i["id"] for i in checks["hidden"] if i["container"] in ("web1", "app1")) == [
        "app1->web1.dmz.netwire.internal", "app1->web2.dmz.netwire.internal", "web1->db1.backend.netwire.internal"]
    assert [i["id"] for i in checks["refused"]] == ["web1", "app1", "app2", "web2", "db1"]
    assert len([i for i in checks["resolves"] if i["container"] == "web1"]) == 10
    assert [s["id"] for s in _expect.dns_servers(plans)] == [
        "host1-app", "host1-dmz", "host2-app", "host2-backend", "host2-dmz", "host3-app", "host3-backend"]
    assert [s["id"] for s in _expect.dhcp_servers(plans)] == ["host1-app", "host2-app", "host3-app"]
    assert [x["id"] for x in _expect.dhcp_leases(plans, demo)] == ["app2.eth1"]
