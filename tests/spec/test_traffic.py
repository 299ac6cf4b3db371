# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Traffic: the reachability matrix, NAT egress, published ports and the MTU path.

All probes run once per session, in parallel, each bounded (ping -c 2 -W 2,
connect time-outs of 2 s, probe servers that stop at a deadline), from inside
the containers' network namespaces on their own hosts.
"""

from __future__ import annotations

import pytest

from ._state import token


def _ready(traffic, *containers):
    """Both ends must be there: an isolation check between missing containers proves nothing."""
    traffic.run()
    for c in containers:
        assert c not in traffic.errors, "cannot probe %s: %s" % (c, traffic.errors[c])
        srv = traffic.servers.get(c) or {}
        assert "error" not in srv, srv.get("error")


def _attached(traffic, cname, network):
    """The container's interface on ``network`` exists with its address (read from the container)."""
    spec = traffic.spec
    c = spec.model["containers"][cname]
    st = spec.states[c["host"]]
    inside = st.container(c["ref"], c["ref_type"])
    for itf in c["interfaces"]:
        if itf["network"] == network:
            link = inside["links"].get(itf["ifname"])
            addrs = [a["local"] for a in (link or {}).get("addr_info", [])]
            assert link is not None and itf["address"] in addrs, \
                "cannot check: %s.%s (network %s, %s) is not attached" % (cname, itf["ifname"], network,
                                                                          itf["address"])


def _attached_all(traffic, cname):
    """Every interface of the container is there: a blocked probe from a detached container proves nothing."""
    for itf in traffic.spec.model["containers"][cname]["interfaces"]:
        _attached(traffic, cname, itf["network"])


def _describe(res):
    return res.get("output") or res.get("error") or res.get("reply") or str(res)


def test_reachable(traffic, pair_allowed):
    p = pair_allowed
    _ready(traffic, p["src"], p["dst"])
    res = traffic.results[(p["proto"], p["pair"])]
    what = "%s cannot reach %s.%s (%s) over %s, but the model allows it (%s)" % (
        p["src"], p["dst"], p["ifname"], p["address"], p["proto"].upper(), p["path"])
    assert res["ok"], "%s: %s" % (what, _describe(res))
    if p["proto"] == "tcp":
        assert res.get("reply") == token(p["dst"]), "%s: answered by %r, not by %s" % (
            what, res.get("reply"), p["dst"])


def test_isolated(traffic, pair_denied):
    p = pair_denied
    _ready(traffic, p["src"], p["dst"])
    _attached(traffic, p["dst"], p["network"])
    src = traffic.spec.model["containers"][p["src"]]
    for itf in src["interfaces"]:
        _attached(traffic, p["src"], itf["network"])
    res = traffic.results[(p["proto"], p["pair"])]
    assert not res.get("probe_failed"), "cannot check %s -> %s: %s" % (p["src"], p["dst"], _describe(res))
    assert not res["ok"], "%s reaches %s.%s (%s) over %s, but the model does not allow it (%s): %s" % (
        p["src"], p["dst"], p["ifname"], p["address"], p["proto"].upper(), p["path"], _describe(res))


def _outside(traffic):
    traffic.run()
    ip = traffic.outside_ip()
    if not ip:
        pytest.skip("no outside host to probe: the inventory has no netwire_lab_outside_ip (only the lab has one)")
    return ip


def test_nat_egress(traffic, egress_nat):
    e = egress_nat
    ip = _outside(traffic)
    _ready(traffic, e["container"])
    res = traffic.results[("egress", e["id"])]
    assert res["ok"], "%s cannot reach the outside host %s through NAT (%s): %s" % (
        e["container"], ip, e["path"], _describe(res))


def test_no_nat_egress(traffic, egress_blocked):
    e = egress_blocked
    ip = _outside(traffic)
    _ready(traffic, e["container"])
    _attached(traffic, e["container"], e["network"])
    res = traffic.results[("egress", e["id"])]
    assert not res.get("probe_failed"), "cannot check %s: %s" % (e["container"], _describe(res))
    assert not res["ok"], "%s reaches the outside host %s although its network has no NAT (%s)" % (
        e["container"], ip, e["path"])


def test_published(traffic, publication):
    pub = publication
    _ready(traffic, pub["container"])
    origin, target = traffic.publication_route(pub)
    res = traffic.results.get(("publish", pub["id"]))
    assert res is not None, "%s: no host to probe the published port from" % pub["path"]
    what = "%s: %s %s:%d (from %s) does not answer as %s port %d" % (
        pub["path"], pub["proto"].upper(), target, pub["host_port"], origin, pub["container"], pub["port"])
    assert res["ok"], "%s: %s" % (what, _describe(res))
    busy = [b for b in traffic.servers[pub["container"]].get("busy", []) if b[:2] == [pub["proto"], pub["port"]]]
    if not busy:  # our server holds the port: the answer must come from that very container
        assert res.get("reply") == token(pub["container"]), "%s: answered by %r" % (what, res.get("reply"))


def test_mtu_path(traffic, mtu_pair):
    """A don't-fragment ping filling the MTU passes; one byte more fails with an error, not a silent drop."""
    p = mtu_pair
    _ready(traffic, p["src"], p["dst"])
    full = traffic.results[("mtu", p["id"])]
    over = traffic.results[("mtu+1", p["id"])]
    where = "%s -> %s.%s over netwire_networks.%s.mtu %d" % (p["src"], p["dst"], p["ifname"], p["network"],
                                                             p["mtu"])
    assert full["ok"], "%s: a %d-byte packet with DF set does not arrive: %s" % (where, p["mtu"], _describe(full))
    assert not over["ok"], "%s: a %d-byte packet with DF set arrives: the path MTU is larger than the model's: %s" % (
        where, p["mtu"] + 1, _describe(over))
    text = over["output"].lower()
    assert "message too long" in text or "frag needed" in text, \
        "%s: a %d-byte packet with DF set is dropped silently instead of failing with an error: %s" % (
            where, p["mtu"] + 1, over["output"])


# ---------------------------------------------------------------- attacks: nothing may get through

def test_no_host_ssh(traffic, host_ssh):
    """A container reaches no host's management SSH, directly or through its own host."""
    p = host_ssh
    _ready(traffic, p["src"])
    _attached_all(traffic, p["src"])
    res = traffic.results[("ssh", p["id"])]
    assert not res.get("probe_failed"), "cannot check %s: %s" % (p["id"], _describe(res))
    assert not res["ok"], "%s connects to sshd of host %s (%s:%d): containers must reach no host service (%s)" % (
        p["src"], p["host"], p["address"], p["port"], p["path"])


def _attack(traffic, attacks, kind, p, victim):
    """The outcome of one attack: both ends there and attached, 3 packets sent and the victim's count read."""
    _ready(traffic, p["src"], victim)
    _attached(traffic, victim, p["network"])
    _attached_all(traffic, p["src"])
    res = attacks.get((kind, p["id"]))
    assert res is not None and res["sent"] == 3 and res["received"] is not None, \
        "cannot check %s: %s" % (p["id"], res)
    return res


# The two attacks keep their own test names: the audit's report and docs/audit.md name them.
def test_spoofed_source_gets_nothing_through(traffic, attacks, spoof):
    p = spoof
    res = _attack(traffic, attacks, "spoof", p, p["dst"])
    assert res["received"] == 0, "%s with source %s (network %s) reaches %s (%s): %d of 3 echo requests (%s)" % (
        p["src"], p["spoofed"], p["as_network"], p["dst"], p["address"], res["received"], p["path"])


def test_injected_tunnel_frame_reaches_nothing(traffic, attacks, injection):
    p = injection
    res = _attack(traffic, attacks, "inject", p, p["victim"])
    assert res["received"] == 0, \
        "a %s frame (VNI %d) that %s sent to %s:%d reached %s: %d of 3 echo requests (%s)" % (
            p["overlay"], p["vni"], p["src"], p["target"], p["port"], p["victim"], res["received"], p["path"])
