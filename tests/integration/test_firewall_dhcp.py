"""netwire.fabric.firewall with DHCP and DNS for containers, in the lab: a real dnsmasq, real
DHCP clients (busybox udhcpc) and a real VXLAN overlay between host1 and host2 (bounded everywhere).

    fwd-dn 10.63.1.0/24   host1 .1 (dnsmasq: DHCP + DNS), host2 .2; VXLAN nwx-dn (vni 3363) between them
                          c1 on host1 (MAC ...:0a, reserved 10.63.1.10), c2 on host2 (MAC ...:14, reserved
                          10.63.1.20 on host1's server: a remote client host1 must never answer)
    fwd-ot 10.63.2.0/24   host1 .1; o1 10.63.2.10 static (another network: no DNS from dn's server)

Only host1 runs the firewall: the capture on host2's underlay shows what host1 lets into the tunnel.
"""

import json
import time

import pytest

from ansible_collections.netwire.fabric.plugins.module_utils._names import linux_tunnel_name
from tests.integration.linux_helpers import fixed_mac

pytestmark = pytest.mark.lab

MODULE = "netwire.fabric.firewall"
GUARD = ("bridge", "netwire_dhcp_guard")
VX = linux_tunnel_name("vxlan", "dn")          # the device the guard derives for network dn: nwx-dn
DN, OT = "fwd-dn", "fwd-ot"
C1_MAC, C2_MAC = "02:00:0a:3f:01:0a", "02:00:0a:3f:01:14"
CONF = "/run/fwd-dnsmasq.conf"
PIDFILE = "/run/fwd-dnsmasq.pid"
SENTINEL = "table bridge fwd_sentinel {\n chain forward {\n  type filter hook forward priority 0; policy accept;\n" \
           "  udp dport 67 counter\n }\n}\n"
# stops the dnsmasq of this test only: the pid in our pidfile, when its command line names our config
STOP = ("pid=$(cat %s 2>/dev/null); [ -n \"$pid\" ] && tr '\\0' ' ' </proc/$pid/cmdline | grep -q %s "
        "&& kill $pid; true" % (PIDFILE, CONF))


def _cleanup(host, names):
    lines = ["ip netns pids fwd-%s 2>/dev/null | xargs -r kill -9; ip netns del fwd-%s 2>/dev/null" % (n, n)
             for n in names]
    lines += ["ip link del fwd-v%s 2>/dev/null" % n for n in names]
    lines += ["ip link del %s 2>/dev/null" % dev for dev in (VX, DN, OT)]
    return "\n".join(lines) + "\ntrue"


def _ns(host, name, bridge, mac, address=None, gateway=None):
    script = ["ip netns add fwd-%s" % name,
              "ip link add fwd-v%s type veth peer name eth0 netns fwd-%s" % (name, name),
              "ip link set fwd-v%s master %s up" % (name, bridge),
              "ip -n fwd-%s link set lo up" % name,
              "ip -n fwd-%s link set eth0 address %s up" % (name, mac)]
    if address:
        script += ["ip -n fwd-%s addr add %s dev eth0" % (name, address),
                   "ip -n fwd-%s route add default via %s" % (name, gateway)]
    return script


class Bed(object):
    def __init__(self, lab):
        self.h1, self.h2 = lab.host("host1"), lab.host("host2")

    def params(self, dhcp=True, state="present"):
        return {
            "state": state,
            "networks": [{"name": "dn", "subnet": "10.63.1.0/24", "bridge": DN, "dhcp": dhcp},
                         {"name": "ot", "subnet": "10.63.2.0/24", "bridge": OT}],
            "tunnels": [{"network": "dn", "type": "vxlan", "port": 4789, "local_address": self.h1.underlay_ip,
                         "device": "eth1", "peers": [self.h2.underlay_ip]}],
            "host_addresses": [self.h1.underlay_ip, self.h2.underlay_ip, self.h1.mgmt_ip, self.h2.mgmt_ip],
            "host_services": [{"address": "10.63.1.1", "proto": "udp", "port": 53},
                              {"address": "10.63.1.1", "proto": "tcp", "port": 53}],
        }

    def module(self, params, check=False, diff=False):
        return self.h1.module(MODULE, params, check=check, diff=diff)

    def tables(self):
        return set((t["table"]["family"], t["table"]["name"])
                   for t in self.h1.json(["nft", "-j", "list", "tables"])["nftables"] if "table" in t)

    def udhcpc(self, host, name):
        """(lease address or None, output) of one bounded DHCP exchange: 2 discovers, 1 s apart."""
        res = host.run("ip netns exec fwd-%s timeout 15 busybox udhcpc -i eth0 -t 2 -T 1 -n -q "
                       "-s /bin/true 2>&1" % name, check=False, timeout=30)
        for line in res.stdout.splitlines():
            if "lease of " in line and " obtained" in line:
                return line.split("lease of ", 1)[1].split()[0], res.stdout
        return None, res.stdout

    def counter(self):
        data = self.h1.json(["nft", "-j", "list", "counter", "bridge", GUARD[1], "dhcp_dn"])
        return [i["counter"]["packets"] for i in data["nftables"] if "counter" in i][0]

    def capture(self):
        """A bounded capture of VXLAN on host2's underlay (at most 200 packets or 12 s), started now."""
        proc = self.h2.popen(["timeout", "12", "tcpdump", "-i", "eth1", "-nn", "-l", "-c", "200",
                              "udp", "port", "4789"], stdout=-1, stderr=-1)
        time.sleep(1.5)  # tcpdump is listening
        return proc

    @staticmethod
    def dhcp_frames(proc):
        """The DHCP packets (inner BOOTP) in a capture started by :meth:`capture`."""
        out, _err = proc.communicate(timeout=20)
        lines = out.decode("utf-8", "replace").splitlines()
        return [line for line in lines if "BOOTP" in line or ".67:" in line or ".68:" in line]

    def nslookup(self, name, server="10.63.1.1"):
        res = self.h1.run("ip netns exec fwd-%s timeout 6 busybox nslookup -type=a c1.fwd.lab %s 2>&1" % (name, server),
                          check=False, timeout=20)
        return res.returncode == 0 and "Address: 10.63.1.10" in res.stdout, res.stdout


@pytest.fixture(scope="module")
def bed(lab):
    bed = Bed(lab)
    h1, h2 = bed.h1, bed.h2
    h1.run(_cleanup(h1, ("c1", "o1")) + "\n" + STOP, check=False)
    h2.run(_cleanup(h2, ("c2",)), check=False)
    h1.run("nft delete table bridge fwd_sentinel", check=False)
    try:
        _setup(bed)
        yield bed
    finally:
        bed.module({"state": "absent"})
        h1.run(STOP + "; rm -f %s /run/fwd-dnsmasq.leases" % CONF, check=False)
        h1.run("nft delete table bridge fwd_sentinel", check=False)
        h1.run(_cleanup(h1, ("c1", "o1")), check=False)
        h2.run(_cleanup(h2, ("c2",)), check=False)


def _setup(bed):
    h1, h2 = bed.h1, bed.h2
    for host, index, other in ((h1, 1, h2), (h2, 2, h1)):
        script = ["set -e", "ip link add %s address %s type bridge" % (DN, fixed_mac("10.63.1.%d" % index)),
                  "ip addr add 10.63.1.%d/24 dev %s" % (index, DN),
                  "ip link set %s up" % DN,
                  "ip link add %s type vxlan id 3363 dstport 4789 local %s dev eth1 nolearning"
                  % (VX, host.underlay_ip),
                  "bridge fdb append 00:00:00:00:00:00 dev %s dst %s" % (VX, other.underlay_ip),
                  "ip link set %s master %s up" % (VX, DN)]
        host.run("\n".join(script), timeout=30)
    h1.run("\n".join(["set -e", "ip link add %s address %s type bridge" % (OT, fixed_mac("10.63.2.1")), "ip addr add 10.63.2.1/24 dev %s" % OT,
                      "ip link set %s up" % OT, "sysctl -qw net.ipv4.ip_forward=1"]
                     + _ns(h1, "c1", DN, C1_MAC)
                     + _ns(h1, "o1", OT, "02:00:0a:3f:02:0a", "10.63.2.10/24", "10.63.2.1")), timeout=30)
    h2.run("\n".join(["set -e"] + _ns(h2, "c2", DN, C2_MAC)), timeout=30)
    # our own dnsmasq on host1's dn bridge, bounded to 10 minutes; stopped by pid (checked by cmdline) below
    conf = "\n".join(["no-resolv", "no-hosts", "bind-interfaces", "interface=%s" % DN, "listen-address=10.63.1.1",
                      "dhcp-range=10.63.1.0,static,infinite", "dhcp-host=%s,10.63.1.10" % C1_MAC,
                      "dhcp-host=%s,10.63.1.20" % C2_MAC, "dhcp-leasefile=/run/fwd-dnsmasq.leases",
                      "host-record=c1.fwd.lab,10.63.1.10", "user=root", "log-facility=-", "log-dhcp",
                      "pid-file=%s" % PIDFILE]) + "\n"
    h1.run(["sh", "-c", "cat > %s" % CONF], input=conf)
    h1.run("rm -f /run/fwd-dnsmasq.leases; timeout 600 /usr/sbin/dnsmasq -k --conf-file=%s "
           ">/run/fwd-dnsmasq.log 2>&1 </dev/null &" % CONF)
    for _attempt in range(20):
        if h1.run(["test", "-s", PIDFILE], check=False).returncode == 0:
            break
        time.sleep(0.25)
    h1.run(["nft", "-f", "-"], input=SENTINEL)


def test_our_dnsmasq_runs(bed):
    pid = bed.h1.run(["cat", PIDFILE]).stdout.strip()
    assert CONF in bed.h1.run(["cat", "/proc/%s/cmdline" % pid]).stdout.replace("\0", " ")


def test_without_dhcp_no_lease_and_dhcp_crosses_the_tunnel(bed):
    """The negative case: dhcp false. The spoof check eats the client's DISCOVER (from 0.0.0.0), and
    nothing guards the tunnel: the capture on host2 sees DHCP, which proves the capture sees it."""
    res = bed.module(bed.params(dhcp=False))
    assert not res.get("failed"), res
    assert GUARD not in bed.tables()
    cap = bed.capture()
    lease, out = bed.udhcpc(bed.h1, "c1")
    frames = bed.dhcp_frames(cap)
    assert lease is None, out
    assert frames, "the control capture saw no DHCP on host2's underlay: it would prove nothing below"
    print("control (dhcp false): no lease; %d DHCP packets in VXLAN on host2's underlay" % len(frames))


def test_dhcp_lease_dns_and_the_guard(bed):
    res = bed.module(bed.params(), check=True, diff=True)
    assert res["changed"] is True and not res.get("failed"), res
    assert "create table bridge netwire_dhcp_guard" in res["actions"]
    assert GUARD not in bed.tables(), "check mode applied something"
    res = bed.module(bed.params(), diff=True)
    assert res["changed"] is True and not res.get("failed"), res
    assert GUARD in bed.tables() and ("bridge", "fwd_sentinel") in bed.tables()
    assert bed.module(bed.params())["changed"] is False
    before = bed.counter()

    cap = bed.capture()
    lease, out = bed.udhcpc(bed.h1, "c1")
    frames = bed.dhcp_frames(cap)
    assert lease == "10.63.1.10", out
    assert frames == [], "DHCP crossed the tunnel: %s" % frames
    dropped = bed.counter() - before
    assert dropped >= 1, "the guard counted nothing"
    print("dhcp true: lease %s for c1; 0 DHCP packets on host2's underlay; guard counter +%d" % (lease, dropped))

    # a remote client (c2 on host2, reserved on host1's server) gets nothing: host1 never answers it
    lease, out = bed.udhcpc(bed.h2, "c2")
    assert lease is None, out
    assert bed.counter() - before > dropped, "host1's guard did not count host2's DISCOVER"
    print("remote client c2: no lease; guard counter +%d for its DISCOVERs" % (bed.counter() - before - dropped))
    log = bed.h1.run(["cat", "/run/fwd-dnsmasq.log"]).stdout
    assert C2_MAC not in log.lower(), log

    # DNS on the bridge address: from its own network yes, from another network no
    bed.h1.run("ip -n fwd-c1 addr replace 10.63.1.10/24 dev eth0")
    ok, out = bed.nslookup("c1")
    assert ok, out
    ok, out = bed.nslookup("o1")
    assert not ok, out
    print("dns from o1 (network ot) to dn's bridge address: %s" % " / ".join(out.split()))
    assert bed.module(bed.params())["changed"] is False


def test_the_guard_alone_keeps_host1_from_answering_a_remote_client(bed):
    """Control for the test above: without the guard table (deleted by hand), host2's client gets
    host1's reservation over the tunnel; the next run puts the guard back and it gets nothing."""
    assert bed.module(bed.params())["changed"] in (True, False)
    bed.h1.run(["nft", "delete", "table", "bridge", GUARD[1]])
    lease, out = bed.udhcpc(bed.h2, "c2")
    assert lease == "10.63.1.20", out
    res = bed.module(bed.params())
    assert res["changed"] is True and res["actions"] == ["create table bridge netwire_dhcp_guard"], res
    bed.h2.run("ip -n fwd-c2 addr flush dev eth0")
    lease, out = bed.udhcpc(bed.h2, "c2")
    assert lease is None, out


def test_check_mode_and_absent_remove_the_guard_and_keep_a_foreign_bridge_table(bed):
    assert bed.module(bed.params())["changed"] in (True, False)
    listing = bed.h1.run(["nft", "-j", "list", "ruleset"]).stdout
    res = bed.module(bed.params(dhcp=False), check=True)
    assert res["changed"] is True
    assert sorted(res["actions"]) == ["delete table bridge netwire_dhcp_guard", "replace table inet netwire"]
    res = bed.module({"state": "absent"}, check=True)
    assert res["changed"] is True
    strip = json.loads
    assert _without_counters(strip(bed.h1.run(["nft", "-j", "list", "ruleset"]).stdout)) == \
        _without_counters(strip(listing)), "check mode changed the ruleset"
    res = bed.module({"state": "absent"})
    assert res["changed"] is True and "delete table bridge netwire_dhcp_guard" in res["actions"]
    assert not {GUARD, ("inet", "netwire"), ("ip", "netwire_nat")} & bed.tables()
    assert ("bridge", "fwd_sentinel") in bed.tables()
    assert bed.module({"state": "absent"})["changed"] is False


def _without_counters(listing):
    """The ruleset without counter values (packets keep arriving: the sentinel counts)."""
    out = []
    for item in listing["nftables"]:
        item = json.loads(json.dumps(item))
        for body in item.values():
            if isinstance(body, dict):
                body.pop("packets", None)
                body.pop("bytes", None)
                for expr in body.get("expr", []):
                    if isinstance(expr, dict) and isinstance(expr.get("counter"), dict):
                        expr["counter"] = {}
        out.append(item)
    return out
