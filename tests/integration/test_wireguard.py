"""The wireguard module between two lab hosts: real packets through the tunnel, keys, ownership.

This kernel has no WireGuard, so the devices are wireguard-go's (the kernel path shares everything but the
device's creation). Every ping is bounded (count, interval and deadline; a timeout around it).
"""

import json

import pytest

from tests.integration.linux_helpers import assert_failed

pytestmark = pytest.mark.lab

DEV = "nwt-wg0"
SENTINEL = "nwt-wgs"       # a wireguard-go of someone else, another name
STRANGER = "nwt-wgx"       # a wireguard-go of someone else, the name we are asked to manage
TUNNEL = {"host1": "10.99.0.1", "host2": "10.99.0.2"}
KEY = "/etc/netwire/wireguard/%s.key" % DEV
CONF = "/etc/netwire/wireguard/%s.conf" % DEV
PIDFILE = "/run/netwire/wireguard-go-%s.pid" % DEV


def params(host, peer_host=None, peer_key=None, **kw):
    p = {"name": DEV, "address": TUNNEL[host.name] + "/24"}
    if peer_host is not None:
        p["peers"] = [{"public_key": peer_key, "endpoint": "%s:51820" % peer_host.underlay_ip,
                       "allowed_ips": [TUNNEL[peer_host.name] + "/32"]}]
    p.update(kw)
    return p


def ping(host, address, count=3, deadline=6):
    """True when ``address`` answers (bounded: ``count`` echoes 0.3 s apart, ``deadline`` s, 10 s in all)."""
    proc = host.run(["timeout", "10", "ping", "-n", "-q", "-c", str(count), "-i", "0.3", "-w", str(deadline), address],
                    check=False, timeout=15)
    return proc.returncode == 0


def key_state(host):
    """The key file's mtime, mode and content hash (its content stays on the host)."""
    return host.run("stat -c '%%Y.%%y %%a' %s && sha256sum %s" % (KEY, KEY)).stdout


def pid_of(host, pidfile):
    out = host.run("cat %s 2>/dev/null" % pidfile, check=False).stdout.strip()
    return int(out) if out.isdigit() else None


def alive(host, pid):
    return pid is not None and bool(host.run("cat /proc/%d/cmdline 2>/dev/null" % pid, check=False).stdout)


def exists(host, path):
    return host.run(["test", "-e", path], check=False).returncode == 0


def has_link(host, name):
    return host.run(["ip", "link", "show", name], check=False).returncode == 0


def start_foreign(host, name):
    """A wireguard-go that is not ours (no alias, no pidfile of ours); its pid."""
    return int(host.run("setsid wireguard-go -f %s </dev/null >/dev/null 2>&1 & echo $!" % name).stdout.strip())


def wait_link(host, name):
    host.run("for i in $(seq 50); do ip link show %s >/dev/null 2>&1 && exit 0; sleep 0.1; done; exit 1" % name)


@pytest.fixture
def hosts(lab):
    h1, h2 = lab.host("host1"), lab.host("host2")
    sentinel = start_foreign(h1, SENTINEL)
    wait_link(h1, SENTINEL)
    yield h1, h2, sentinel
    for h in (h1, h2):
        h.module("wireguard", {"name": DEV, "state": "absent", "remove_key": True})
    h1.run(["kill", str(sentinel)], check=False)
    h1.run("ip link del %s 2>/dev/null; true" % SENTINEL, check=False)


def test_tunnel_between_two_hosts(hosts):
    h1, h2, sentinel = hosts
    # each lab host has its own /var/run/wireguard (wireguard-go's sockets)
    sentinel_socket = "/var/run/wireguard/%s.sock" % SENTINEL
    assert exists(h1, sentinel_socket) and not exists(h2, sentinel_socket)

    # check mode from nothing: nothing is made, and no key can be shown yet
    res = h1.module("wireguard", params(h1), check=True, diff=True)
    assert res["changed"] and not res.get("failed"), res
    assert res["wireguard"]["public_key"] is None and res["wireguard"]["backend"] == "userspace"
    assert res["diff"]["before"] == {} and res["diff"]["after"]["addresses"] == ["10.99.0.1/24"]
    assert not has_link(h1, DEV) and not exists(h1, "/etc/netwire/wireguard")

    # both devices, then the peers from each other's public key
    first = dict((h.name, h.module("wireguard", params(h))) for h in (h1, h2))
    for h in (h1, h2):
        res = first[h.name]
        assert res["changed"] and not res.get("failed"), res
        assert res["wireguard"]["backend"] == "userspace" and res["wireguard"]["pid"] == pid_of(h, PIDFILE)
        assert any("slower" in str(w) for w in res.get("warnings", [])), res.get("warnings")
        assert h.run("stat -c %a " + KEY).stdout.strip() == "600"
        assert h.run("head -1 " + CONF).stdout.strip() == "# managed by netwire.fabric"
    keys = dict((name, r["wireguard"]["public_key"]) for name, r in first.items())
    assert keys["host1"] != keys["host2"] and all(len(k) == 44 for k in keys.values())
    want = {"host1": params(h1, h2, keys["host2"]), "host2": params(h2, h1, keys["host1"])}
    for h in (h1, h2):
        res = h.module("wireguard", want[h.name], diff=True)
        assert res["changed"] and res["wireguard"]["public_key"] == keys[h.name], res
        private = h.run("cat " + KEY).stdout.strip()
        assert private not in json.dumps(res) and "PrivateKey" not in json.dumps(res)
        assert [a.split(" ")[0] for a in res["actions"]] == ["write", "wg"], res["actions"]
    assert ping(h1, TUNNEL["host2"]) and ping(h2, TUNNEL["host1"])
    assert "latest handshake" in h1.run(["wg", "show", DEV]).stdout

    # rerun: nothing changes, the keys stay as they are (mtime and content)
    before = dict((h.name, key_state(h)) for h in (h1, h2))
    pids = dict((h.name, pid_of(h, PIDFILE)) for h in (h1, h2))
    for h in (h1, h2):
        res = h.module("wireguard", want[h.name])
        assert not res["changed"], res["actions"]
        assert res["wireguard"]["public_key"] == keys[h.name] and pid_of(h, PIDFILE) == pids[h.name]
        assert key_state(h) == before[h.name]

    # check mode changes nothing (an MTU and a port change, a key rotation)
    conf = h1.run("cat " + CONF).stdout
    res = h1.module("wireguard", dict(want["host1"], mtu=1380, listen_port=51821, rotate_key=True), check=True,
                    diff=True)
    assert res["changed"] and res["wireguard"]["public_key"] is None, res
    assert "ListenPort = 51821" in res["diff"]["after"]["config_file"]
    assert key_state(h1) == before["host1"] and h1.run("cat " + CONF).stdout == conf
    assert "mtu 1420" in h1.run(["ip", "link", "show", DEV]).stdout
    assert h1.run(["wg", "show", DEV, "listen-port"]).stdout.strip() == "51820"

    # a wrong peer key isolates the pair; the right one again reconnects it
    stranger = h1.run("wg genkey | wg pubkey").stdout.strip()
    res = h1.module("wireguard", params(h1, h2, stranger))
    assert res["changed"] and pid_of(h1, PIDFILE) == pids["host1"], res["actions"]
    assert not ping(h1, TUNNEL["host2"], count=2, deadline=3)
    assert h1.module("wireguard", want["host1"])["changed"]
    assert ping(h1, TUNNEL["host2"])

    # absent: check mode first; then the device, the process and the file go, the key stays
    res = h1.module("wireguard", {"name": DEV, "state": "absent"}, check=True)
    assert res["changed"] and has_link(h1, DEV) and alive(h1, pids["host1"])
    res = h1.module("wireguard", {"name": DEV, "state": "absent"})
    assert res["changed"] and res["wireguard"]["private_key_file"] == KEY, res
    assert not has_link(h1, DEV) and not alive(h1, pids["host1"])
    assert not exists(h1, CONF) and not exists(h1, PIDFILE) and not exists(h1, "/var/run/wireguard/%s.sock" % DEV)
    assert key_state(h1) == before["host1"]
    assert not h1.module("wireguard", {"name": DEV, "state": "absent"})["changed"]
    assert not ping(h2, TUNNEL["host1"], count=1, deadline=2)
    # made again, it has the same key: host2's peer entry still fits (the new device starts the handshake: host2
    # would go on sending on its old session until it gives up on it, 15 s without an answer)
    res = h1.module("wireguard", want["host1"])
    assert res["changed"] and res["wireguard"]["public_key"] == keys["host1"]
    assert ping(h1, TUNNEL["host2"])

    # an explicit rotation: a new key (same process), the peer takes the new public key, the pair talks again
    res = h1.module("wireguard", dict(want["host1"], rotate_key=True))
    rotated = res["wireguard"]["public_key"]
    assert res["changed"] and rotated not in (keys["host1"], None) and pid_of(h1, PIDFILE) == res["wireguard"]["pid"]
    assert key_state(h1) != before["host1"] and h1.run("stat -c %a " + KEY).stdout.strip() == "600"
    assert h2.module("wireguard", params(h2, h1, rotated))["changed"]
    assert ping(h1, TUNNEL["host2"])

    # remove_key: the key goes too, and our directory with it
    res = h2.module("wireguard", {"name": DEV, "state": "absent", "remove_key": True})
    assert res["changed"] and not exists(h2, "/etc/netwire/wireguard"), res["actions"]

    # the device that is not ours survived all of it
    assert has_link(h1, SENTINEL) and alive(h1, sentinel)
    assert "netwire" not in h1.run(["ip", "-d", "link", "show", SENTINEL]).stdout


def test_a_device_not_ours_is_never_changed(hosts):
    h1 = hosts[0]
    pid = start_foreign(h1, STRANGER)
    try:
        wait_link(h1, STRANGER)
        for p in ({"name": STRANGER, "address": "10.99.7.1/24"}, {"name": STRANGER, "state": "absent"}):
            res = h1.module("wireguard", p)
            assert_failed(res, "Failed to manage WireGuard device '%s'" % STRANGER, "netwire did not create it")
        assert alive(h1, pid) and has_link(h1, STRANGER)
        assert "10.99.7.1" not in h1.run(["ip", "addr", "show", STRANGER]).stdout
        assert not exists(h1, "/etc/netwire/wireguard/%s.conf" % STRANGER)
        # bad input fails before anything is written
        res = h1.module("wireguard", {"name": DEV, "peers": [{"public_key": "not-a-key"}]})
        assert_failed(res, "Failed to manage WireGuard device '%s'" % DEV, "not a WireGuard key")
        assert not has_link(h1, DEV) and not exists(h1, KEY)
    finally:
        h1.run(["kill", str(pid)], check=False)
