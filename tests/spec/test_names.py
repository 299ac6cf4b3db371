# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Names and DHCP (``netwire_dns``): the name matrix asked from inside the containers, our dnsmasq
instances (process, files, sockets) and the DHCP leases, all derived from the plans' ``dns`` entries
and the attachments' ``dhcp``/``resolver``."""

from __future__ import annotations

import difflib

from ansible_collections.netwire.fabric.plugins.module_utils import _names

from . import _expect
from ._state import _dns_config, _dns_manager, parse_ss

RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
FOREVER = 4294967295   # an address lifetime of "forever" in ip -j


def _trail(trail):
    out = []
    for a in trail:
        got = a.get("error") or "%s %s" % (RCODES.get(a["rcode"], a["rcode"]),
                                           ", ".join(a.get("addresses") or []) or "(no address)")
        out.append("%s -> %s" % (a["name"], got))
    return "; ".join(out)


# ---------------------------------------------------------------- the name matrix

def test_name_resolves(names, name_resolves):
    """A name of the server's zone view resolves from the container to the record's addresses (short
    names through the search path, tried in order as a stub resolver does)."""
    item = name_resolves
    trail = names.answers("resolves", item)
    last = trail[-1]
    what = "%s asks %s (its resolver, %s) for %s" % (
        item["container"], item["server"], item["path"], " then ".join(item["names"]))
    assert last.get("rcode") == _expect.RCODE_NOERROR and last["name"] == item["record"], \
        "%s: %s, the model needs %s -> %s" % (what, _trail(trail), item["record"], ", ".join(item["want"]))
    assert last["addresses"] == item["want"], "%s: %s answers %s, the model says %s" % (
        what, last["name"], ", ".join(last["addresses"]) or "no address", ", ".join(item["want"]))


def _answered(names, kind, item, rcode, must):
    trail = names.answers(kind, item)
    assert trail[-1].get("rcode") == rcode, "%s asks %s for %s and gets %s; %s (%s)" % (
        item["container"], item["server"], item["names"][0], _trail(trail), must, item["path"])


def test_name_hidden(names, name_hidden):
    """A container name of the model outside the server's zone view is NXDOMAIN from that container."""
    _answered(names, "hidden", name_hidden, _expect.RCODE_NXDOMAIN,
              "the name is outside the zone view and must be NXDOMAIN")


def test_name_not_forwarded(names, name_refused):
    """Without forwarders, a name outside the domain is not resolved: the server answers REFUSED."""
    _answered(names, "refused", name_refused, _expect.RCODE_REFUSED,
              "with nothing to forward to the answer must be REFUSED")


# ---------------------------------------------------------------- our dnsmasq instances

def _state(spec, host):
    return spec.states[host].dnsmasq(spec.plans[host].get("dns") or [])


def _ours(server, inst):
    """The pid of our process for the instance (pidfile -> a process running our argv), or None."""
    name = server["entry"]["name"]
    argv = inst.get("cmdline") or []
    want = _dns_config.program_argv(argv[0] if argv else "dnsmasq", name)
    if inst.get("pid") and argv == want and argv[0].rsplit("/", 1)[-1] == _dns_manager.PROGRAM:
        return inst["pid"]
    return None


def _diff(have, want):
    return "".join(difflib.unified_diff((have or "").splitlines(True), want.splitlines(True), "on the host",
                                        "planned", n=0))


def test_dns_server(spec, dns_server):
    """A dnsmasq of ours answers DNS on the bridge address: its pidfile names a process running our
    configuration, the files hold what the plan renders, and its DNS sockets are on its bridge only."""
    server, entry = dns_server, dns_server["entry"]
    where = "%s: dnsmasq %s" % (server["path"], entry["name"])
    state = _state(spec, server["host"])
    inst = state["instances"][entry["name"]]
    user, group = state["run_as"]
    params = _dns_config.normalize(entry)
    restart, reload_ = _dns_config.files(params, user, group)
    wrong = []
    for path, text in sorted(list(restart.items()) + list(reload_.items())):
        want = "%s\n%s" % (_names.FILE_MARK, text)
        have = inst["files"].get(path)
        if have is None:
            wrong.append("%s is missing" % path)
        elif have != want:
            wrong.append("%s differs from the plan:\n%s" % (path, _diff(have, want)))
    assert not wrong, "%s: %s" % (where, "\n".join(wrong))
    pid = _ours(server, inst)
    assert pid is not None, "%s is not running: pidfile %s, process %s" % (
        where, (inst.get("pidfile") or "missing").strip(), " ".join(inst.get("cmdline") or []) or "none")
    assert state.get("udp") is not None and state.get("tcp") is not None, "%s: cannot list sockets: %s" % (
        where, state.get("udp_error") or state.get("tcp_error"))
    mine = dict((proto, [s for s in parse_ss(state[proto]) if pid in s["pids"] and s["port"] == 53])
                for proto in ("udp", "tcp"))
    for proto in ("udp", "tcp"):
        assert any(s["address"] == entry["address"] for s in mine[proto]), \
            "%s (pid %d) does not listen on %s %s:53 (its DNS sockets: %s)" % (
                where, pid, proto.upper(), entry["address"], "; ".join(s["text"] for s in mine[proto]) or "none")
        elsewhere = [s["text"] for s in mine[proto] if s["address"] != entry["address"] and
                     s["device"] != entry["interface"]]
        assert not elsewhere, "%s (pid %d) answers DNS beyond bridge %s: %s" % (
            where, pid, entry["interface"], "; ".join(elsewhere))


def test_dhcp_server_listens_on_its_bridge_only(spec, dhcp_server):
    """Our dnsmasq takes DHCP on its bridge alone (0.0.0.0:67 bound to the bridge device), and no other
    socket of the host takes DHCP on that bridge (an unbound 0.0.0.0:67 would, e.g. a system dnsmasq)."""
    server, entry = dhcp_server, dhcp_server["entry"]
    where = "%s: dnsmasq %s" % (server["path"], entry["name"])
    state = _state(spec, server["host"])
    inst = state["instances"][entry["name"]]
    conf = inst["files"].get(_names.dnsmasq_paths(entry["name"])["conf"]) or ""
    lines = set(conf.splitlines())
    assert {"bind-interfaces", "interface=%s" % entry["interface"]} <= lines, \
        "%s: its configuration does not bind it to %s (bind-interfaces, interface=%s)" % (
            where, entry["interface"], entry["interface"])
    pid = _ours(server, inst)
    assert pid is not None, "%s is not running" % where
    assert state.get("udp") is not None, "%s: cannot list sockets: %s" % (where, state.get("udp_error"))
    dhcp = [s for s in parse_ss(state["udp"]) if s["port"] == 67]
    mine = [s for s in dhcp if pid in s["pids"]]
    assert any(s["device"] == entry["interface"] for s in mine), \
        "%s (pid %d) has no DHCP socket on bridge %s (its port 67 sockets: %s)" % (
            where, pid, entry["interface"], "; ".join(s["text"] for s in mine) or "none")
    loose = [s["text"] for s in mine if s["device"] != entry["interface"]]
    assert not loose, "%s (pid %d) takes DHCP beyond bridge %s: %s" % (where, pid, entry["interface"],
                                                                       "; ".join(loose))
    others = [s["text"] for s in dhcp if pid not in s["pids"] and s["device"] in (None, entry["interface"])]
    assert not others, "on %s another socket takes DHCP on bridge %s besides %s (pid %d): %s" % (
        server["host"], entry["interface"], entry["name"], pid, "; ".join(others))


def test_dhcp_lease(spec, dhcp_lease):
    """A DHCP container holds its model address for good (no lifetime), and its host's server has the
    lease for the container's MAC with that address and no expiry (infinite)."""
    lease = dhcp_lease
    st = spec.states[lease["host"]]
    where = "%s: %s in container %s on %s" % (lease["path"], lease["attach"]["ifname"], lease["container"],
                                              lease["host"])
    inside = st.container(lease["ref"], lease["ref_type"])
    link = inside["links"].get(lease["attach"]["ifname"])
    assert link is not None, "%s does not exist" % where
    addrs = [a for a in link.get("addr_info", []) if a.get("family") == "inet" and a.get("local") == lease["address"]]
    assert addrs, "%s does not hold its model address %s" % (where, lease["address"])
    lifetimes = (addrs[0].get("valid_life_time"), addrs[0].get("preferred_life_time"))
    assert lifetimes == (FOREVER, FOREVER), "%s: %s expires (valid %s s, preferred %s s); the lease is infinite" % (
        where, lease["address"], lifetimes[0], lifetimes[1])
    assert lease["server"] is not None, "%s: no DHCP server of the model on bridge %s" % (
        where, lease["attach"]["bridge"])
    state = _state(spec, lease["host"])
    text = state["instances"][lease["server"]["name"]].get("leases")
    assert text is not None, "%s: dnsmasq %s has no lease file" % (where, lease["server"]["name"])
    held = [f for f in (line.split() for line in text.splitlines()) if len(f) >= 3 and f[1].lower() == lease["mac"]]
    assert held, "%s: dnsmasq %s holds no lease for %s" % (where, lease["server"]["name"], lease["mac"])
    assert [h[2] for h in held] == [lease["address"]] and held[0][0] == "0", \
        "%s: dnsmasq %s leases %s as %s; the model needs %s with no expiry (0)" % (
            where, lease["server"]["name"], lease["mac"], "; ".join(" ".join(h) for h in held), lease["address"])
