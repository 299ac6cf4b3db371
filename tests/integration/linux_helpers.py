"""Independent views of kernel state for the Linux data-plane tests (ip -j, bridge -j; never the modules)."""

import json

STABLE_KEYS = ("ifname", "ifindex", "mtu", "address", "master", "ifalias", "flags", "link_type")


def link(node, name):
    """``ip -j -d link show dev NAME`` inside a lab host (or netns wrapper), or None."""
    proc = node.run(["ip", "-j", "-d", "link", "show", "dev", name], check=False)
    if proc.returncode != 0:
        return None
    data = json.loads(proc.stdout)
    return data[0] if data else None


def link_in(host, netns_path, name):
    proc = host.run(["nsenter", "--net=%s" % netns_path, "ip", "-j", "-d", "link", "show", "dev", name], check=False)
    if proc.returncode != 0:
        return None
    data = json.loads(proc.stdout)
    return data[0] if data else None


def addresses(node, name, netns_path=None):
    argv = ["ip", "-j", "addr", "show", "dev", name]
    if netns_path:
        argv = ["nsenter", "--net=%s" % netns_path] + argv
    data = json.loads(node.run(argv).stdout)
    return sorted("%s/%s" % (a["local"], a["prefixlen"]) for a in data[0]["addr_info"]
                  if a.get("scope") != "link")


def routes(host, netns_path, family="-4"):
    data = json.loads(host.run(["nsenter", "--net=%s" % netns_path, "ip", "-j", family, "route"]).stdout)
    return data


def ports(host, bridge):
    data = json.loads(host.run(["ip", "-j", "link", "show", "master", bridge]).stdout or "[]")
    return sorted(l["ifname"] for l in data)


def kind(entry):
    return (entry.get("linkinfo") or {}).get("info_kind")


def all_links(host):
    return {l["ifname"]: l for l in json.loads(host.run(["ip", "-j", "-d", "link"]).stdout)}


def stable(entry):
    """The parts of a link that a test can compare before/after (no counters or timers)."""
    if entry is None:
        return None
    out = dict((k, entry.get(k)) for k in STABLE_KEYS)
    info = entry.get("linkinfo") or {}
    out["kind"] = info.get("info_kind")
    data = dict(info.get("info_data") or {})
    for volatile in ("hello_timer", "tcn_timer", "topology_change_timer", "gc_timer"):
        data.pop(volatile, None)
    out["info_data"] = data
    return out


def snapshot(host, names):
    links = all_links(host)
    return {n: stable(links.get(n)) for n in names}


def fdb_remotes(host, dev):
    data = json.loads(host.run(["bridge", "-j", "fdb", "show", "dev", dev]).stdout or "[]")
    return sorted(e["dst"] for e in data if e.get("mac") == "00:00:00:00:00:00" and e.get("dst"))


def assert_failed(res, *fragments):
    assert res.get("failed"), res
    for fragment in fragments:
        assert fragment in res["msg"], (fragment, res["msg"])


def fixed_mac(address):
    """A fixed, locally administered MAC for a test bridge whose address is ``address`` (10.61.1.1 ->
    02:00:0a:3d:01:01): give it to every bridge a test creates by hand with an address.

    A bridge created without a MAC takes the lowest of its ports' and changes it when a port with a
    lower one joins: a namespace whose neighbour entry for the gateway is still REACHABLE keeps sending
    to the old MAC, and its frames are dropped (PACKET_OTHERHOST) for up to the reachable time plus the
    probes, about 30 s (seen in test_firewall's lab). Bridges with an address of their own (netwire's,
    Docker's) keep it."""
    return "02:00:" + ":".join("%02x" % int(o) for o in address.split("."))
