"""The spec audit's ICMP probe (tests/spec/_state.py, PING) between two plain namespaces of a lab host.

The audit runs several pings from one namespace to one address at once (the pair's ping, and the MTU
check's full and one-byte-over pings, test_mtu_path): each must count only what answers it. And the
MTU check must measure the path as it is, not a path MTU the namespace cached from an earlier ICMP
"frag needed" (a broken path the audit saw before a repair, for the 10 minutes such an entry lives).

    nwt-pa eth0 10.74.0.1/24, MTU 1458  <- veth ->  nwt-pb eth0 10.74.0.2/24, MTU 1458
"""

import json
import shlex
import subprocess
import sys
import threading

import pytest

from tests.spec._state import PING

pytestmark = pytest.mark.lab

MTU = 1458
A, B = "10.74.0.1", "10.74.0.2"

# From nwt-pb: an ICMP "frag needed, next-hop MTU <mtu>" about an echo request nwt-pa sent to nwt-pb, as a
# router on a smaller path would send it.
FRAG_NEEDED = r"""
import socket, struct, sys
def csum(d):
    if len(d) % 2:
        d += b"\0"
    t = sum(struct.unpack("!%dH" % (len(d) // 2), d))
    t = (t >> 16) + (t & 0xffff)
    t += t >> 16
    return ~t & 0xffff
victim, me, mtu = sys.argv[1], sys.argv[2], int(sys.argv[3])
inner = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 1458, 1, 0x4000, 64, 1, 0, socket.inet_aton(victim), socket.inet_aton(me))
inner += struct.pack("!BBHHH", 8, 0, 0, 1, 1)
icmp = struct.pack("!BBHHH", 3, 4, 0, 0, mtu) + inner
icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.sendto(icmp, (victim, 0))
"""

# A raw ICMP socket in nwt-pa until the first ICMP packet arrives: the kernel learns a path MTU from a
# "frag needed" about an echo request only when a raw socket receives it (as an audit's probe does).
LISTEN = ("import socket; s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP); s.settimeout(10);"
          " print('ready', flush=True); s.recv(2000)")


@pytest.fixture
def pair(lab, netns):
    h = lab.host("host1")
    a, b = netns(h, "nwt-pa"), netns(h, "nwt-pb")
    h.run(["ip", "-n", a.name, "link", "add", "eth0", "mtu", str(MTU), "type", "veth", "peer", "name", "eth0",
           "netns", b.name, "mtu", str(MTU)])
    for ns, address in ((a, A), (b, B)):
        ns.run(["ip", "addr", "add", address + "/24", "dev", "eth0"])
        ns.run(["ip", "link", "set", "eth0", "up"])
    return h, a, b


def ping(ns, size, count=1, df=True, script=PING, wait=2):
    """The audit's probe of an IPv4 packet of ``size`` bytes (ICMP payload size - 28) from ``ns`` to B."""
    out = ns.run(["timeout", "10", sys.executable, "-c", script, B, str(count), str(wait), str(size - 28),
                  "1" if df else "0"], check=False).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_the_mtu_fills_and_one_byte_more_fails_with_an_error(pair):
    _h, a, _b = pair
    full, over = ping(a, MTU), ping(a, MTU + 1)
    assert full["rc"] == 0 and "%d bytes from %s" % (MTU - 20, B) in full["output"], full
    assert over["rc"] == 2 and "message too long" in over["output"], over


def test_a_reply_to_another_probe_with_the_same_identifier_is_not_counted(pair):
    """The identifier forced equal in both probes (as pid ^ time made it now and then): the refused one-byte-over
    ping must not take the concurrent small ping's reply for its own."""
    _h, a, _b = pair
    line = 'ident = struct.unpack("!H", os.urandom(2))[0]'
    assert line in PING
    same = PING.replace(line, "ident = 4242")
    results = {}
    over = threading.Thread(target=lambda: results.update(over=ping(a, MTU + 1, script=same, wait=5)))
    over.start()
    try:
        # the refused probe listens for 5 s once its raw socket is open: the small ping's reply comes meanwhile
        a.run("i=0; until ss -Hwa | grep -q .; do i=$((i+1)); [ $i -le 50 ] || exit 1; sleep 0.1; done")
        results["small"] = ping(a, 84, df=False, script=same)
    finally:
        over.join(30)
    assert results["small"]["rc"] == 0, results
    assert results["over"]["rc"] == 2 and "bytes from" not in results["over"]["output"], results


def test_a_cached_path_mtu_does_not_decide_the_check(pair):
    """A "frag needed" (MTU 1400) learnt in nwt-pa: the full-size probe still goes out and arrives, as the path
    carries it now; one byte more is still refused by the interface."""
    h, a, b = pair
    listener = h.popen("ip netns exec %s %s -c %s" % (a.name, sys.executable, shlex.quote(LISTEN)),
                       stdout=subprocess.PIPE, text=True)
    try:
        assert listener.stdout.readline().strip() == "ready"   # its socket is open (it exits in 10 s at most)
        b.run(["timeout", "10", sys.executable, "-c", FRAG_NEEDED, A, B, "1400"])
        assert listener.wait(timeout=15) == 0
    finally:
        if listener.poll() is None:
            listener.kill()
    cached = json.loads(a.run(["ip", "-j", "route", "get", B]).stdout)[0]
    assert {"mtu": 1400} in cached.get("metrics", []) and cached.get("expires"), cached   # the exception is there
    full, over = ping(a, MTU), ping(a, MTU + 1)
    assert full["rc"] == 0, full
    assert over["rc"] == 2 and "message too long" in over["output"], over


def test_a_smaller_path_fails_the_full_probe(pair):
    _h, a, b = pair
    b.run(["ip", "link", "set", "eth0", "mtu", "1400"])
    assert ping(a, 1400)["rc"] == 0
    full = ping(a, MTU)
    assert full["rc"] != 0, full
