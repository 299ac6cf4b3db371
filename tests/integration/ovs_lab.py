"""Helpers for the OVS integration tests: independent OVSDB reads (ovs-vsctl -f json),
the userspace underlay (eth1's address moved onto an OVS internal port), traffic checks."""

import json

UNDERLAY_BR = "br-underlay"
UNDERLAY_GW = "198.19.0.1"
OVS_MARK = ("netwire-owner", "netwire.fabric")


def _decode(value):
    """OVSDB JSON (as ovs-vsctl -f json prints it) -> Python."""
    if isinstance(value, list) and len(value) == 2 and value[0] in ("map", "set", "uuid", "named-uuid"):
        kind, data = value
        if kind == "map":
            return dict((k, _decode(v)) for k, v in data)
        if kind == "set":
            return [_decode(v) for v in data]
        return data
    return value


def rows(host, table):
    """name -> row (dict) of one OVSDB table, read with ovs-vsctl inside the host."""
    out = host.run(["ovs-vsctl", "-f", "json", "-d", "json", "list", table]).stdout
    data = json.loads(out)
    result = {}
    for raw in data["data"]:
        row = dict(zip(data["headings"], (_decode(v) for v in raw)))
        result[row["name"]] = row
    return result


def ports_of(host, bridge):
    """Names of the ports of ``bridge`` (empty when the bridge is missing)."""
    bridges = rows(host, "Bridge")
    if bridge not in bridges:
        return set()
    port_rows = rows(host, "Port")
    by_uuid = dict((r["_uuid"], n) for n, r in port_rows.items())
    ports = bridges[bridge]["ports"]
    ports = ports if isinstance(ports, list) else [ports]
    return set(by_uuid[u] for u in ports)


STABLE_COLUMNS = {
    "Bridge": ("_uuid", "name", "datapath_type", "fail_mode", "external_ids", "other_config", "ports"),
    "Port": ("_uuid", "name", "tag", "external_ids", "interfaces", "other_config"),
    "Interface": ("_uuid", "name", "type", "options", "external_ids", "ofport"),
}


def unowned_state(host, names):
    """Stable columns of the named Bridge/Port/Interface rows (to prove they were not touched)."""
    state = {}
    for table, cols in STABLE_COLUMNS.items():
        for name, row in rows(host, table).items():
            if name in names:
                state["%s:%s" % (table, name)] = dict((c, row.get(c)) for c in cols)
    return state


def ok(result):
    assert not result.get("failed"), result.get("msg") or result
    return result


def move_underlay_to_ovs(host):
    """Userspace tunnelling needs the underlay address on an OVS bridge owning the NIC.

    As host_network does it (_host/underlay.py): the bridge keeps a MAC of its own (with the
    NIC's, every frame to it would be delivered twice: by the NIC and through OVS), the NIC
    answers ARP only for its own addresses (none now), and the peers learn the bridge's MAC by
    gratuitous ARP."""
    addr = "%s/24" % host.underlay_ip
    host.run(["ip", "addr", "del", addr, "dev", host.underlay_if])
    host.run(["sysctl", "-qw", "net.ipv4.conf.%s.arp_ignore=1" % host.underlay_if])
    ok(host.module("ovs_bridge", {
        "name": UNDERLAY_BR, "datapath_type": "netdev",
        "ports": [{"name": host.underlay_if}, {"name": UNDERLAY_BR, "addresses": [addr]}],
    }))
    host.run(["ip", "route", "replace", "default", "via", UNDERLAY_GW, "dev", UNDERLAY_BR])
    announce(host, UNDERLAY_BR)


def restore_underlay(host):
    host.module("ovs_bridge", {"name": UNDERLAY_BR, "state": "absent"})
    host.run(["ip", "addr", "replace", "%s/24" % host.underlay_ip, "dev", host.underlay_if], check=False)
    host.run(["sysctl", "-qw", "net.ipv4.conf.%s.arp_ignore=0" % host.underlay_if], check=False)
    host.run(["ip", "link", "set", host.underlay_if, "up"], check=False)
    host.run(["ip", "route", "replace", "default", "via", UNDERLAY_GW, "dev", host.underlay_if, "proto", "static"],
             check=False)
    announce(host, host.underlay_if)


def announce(host, ifname):
    """Gratuitous ARP for the underlay address from ``ifname`` (bounded: 2 frames)."""
    host.run(["busybox", "arping", "-U", "-c", "2", "-w", "2", "-I", ifname, host.underlay_ip], check=False,
             timeout=10)


def ping(ns, ip, count=2, wait=1):
    return ns.run(["ping", "-c", str(count), "-W", str(wait), "-q", ip], check=False).returncode == 0


def ping_eventually(ns, ip, tries=5):
    """Bounded: up to ``tries`` short pings (ARP and MAC learning need a moment)."""
    for _attempt in range(tries):
        if ping(ns, ip, count=1, wait=1):
            return True
    return False


def tcp(server, client, ip, port=5201, size="256K"):
    """A bounded TCP transfer (iperf3, one-off server): True when it completed."""
    proc = server.host.popen(["timeout", "12", "ip", "netns", "exec", server.name, "iperf3", "-s", "-1", "-p",
                              str(port)], stdout=-3, stderr=-3)
    try:
        for _attempt in range(20):
            out = client.run(["timeout", "8", "iperf3", "-c", ip, "-p", str(port), "-n", size,
                              "--connect-timeout", "1000", "-J"], check=False)
            try:
                data = json.loads(out.stdout)
            except ValueError:
                data = {"error": out.stdout + out.stderr}
            error = data.get("error") or ("" if out.returncode == 0 else "rc %d" % out.returncode)
            if not error:
                return data["end"]["sum_received"]["bytes"] > 0
            if "refused" not in error:
                print("tcp to %s failed: %s" % (ip, error))
                return False
        return False
    finally:
        try:
            proc.wait(timeout=15)
        except Exception:
            proc.kill()
            proc.wait()
