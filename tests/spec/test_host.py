# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per host: bridges, tunnels, container interfaces and their host ends, our nft tables, ownership."""

from __future__ import annotations

from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.module_utils._firewall import planner as _firewall
from ansible_collections.netwire.fabric.plugins.module_utils._firewall import ruleset as rs
from ansible_collections.netwire.fabric.plugins.module_utils._firewall import host_firewalls as _host_firewalls

from . import _expect
from ._state import OWNER_ALIAS_PREFIX, as_list, owned_row


def _addresses(link):
    return ["%s/%d" % (a["local"], a["prefixlen"]) for a in link.get("addr_info", []) if a.get("family") == "inet"]


def _has_addresses(link, addresses, where):
    for addr in addresses:
        assert addr in _addresses(link), "%s: address %s missing (has %s)" % (
            where, addr, ", ".join(_addresses(link)) or "none")


def _has_default_route(inside, a, where):
    """When the model gives the interface ``a`` a gateway: the container's default route is through it."""
    if a.get("gateway"):
        defaults = [r for r in inside["routes"] if r.get("dst") == "default"]
        assert any(r.get("gateway") == a["gateway"] and r.get("dev") == a["ifname"] for r in defaults), \
            "%s: no default route via %s (default routes: %s)" % (
                where, a["gateway"], ", ".join("via %s dev %s" % (r.get("gateway"), r.get("dev")) for r in defaults)
                or "none")


def _kind(link):
    return (link.get("linkinfo") or {}).get("info_kind")


def test_model_valid(spec):
    """The inventory holds a sound model (the audit derives everything else from it)."""
    assert spec.error is None, spec.error
    assert not spec.findings, "the netwire model has problems:\n  " + "\n  ".join(spec.findings)
    assert spec.hosts, "no host of the model is selected by --hosts"


def test_bridge(spec, bridge):
    st = spec.states[bridge["host"]]
    where = bridge["path"]
    links = st.links()
    link = links.get(bridge["name"])
    if bridge["kind"] == "ovs-trunk" or bridge.get("parent"):
        _trunk_or_fake_bridge(spec, bridge, st.ovs_model(), link)
        if bridge["kind"] == "ovs-trunk":
            return  # no address, MTU or MAC of its own: its networks' are on their fake bridges
    elif bridge["kind"] == "linux":
        assert link is not None, "%s does not exist" % where
        assert _kind(link) == "bridge", "%s is a %s link, not a Linux bridge" % (where, _kind(link))
        assert (link.get("ifalias") or "").startswith(OWNER_ALIAS_PREFIX), \
            "%s is not marked as netwire's (ifalias %r)" % (where, link.get("ifalias"))
    else:
        ovs = st.ovs_model()
        row = ovs["bridges"].get(bridge["name"])
        assert row is not None, "%s: no OVS bridge of that name" % where
        assert owned_row(row), "%s: the OVS bridge is not marked netwire-owner=netwire.fabric" % where
        want_dp = spec.plans[bridge["host"]]["underlay"]["ovs_datapath"]
        assert (row.get("datapath_type") or "system") == want_dp, \
            "%s: datapath_type %r, the model says %r (netwire_host.ovs_datapath)" % (
                where, row.get("datapath_type"), want_dp)
        assert ovs["port_bridge"].get(bridge["name"]) == bridge["name"], \
            "%s: its internal port is not on the bridge" % where
        want_ports = [p["name"] for b in spec.plans[bridge["host"]]["ovs_bridges"] if b["name"] == bridge["name"]
                      for p in b["ports"]]
        missing = [p for p in want_ports if ovs["port_bridge"].get(p) != bridge["name"]]
        assert not missing, "%s: ports %s are not on the bridge" % (where, ", ".join(missing))
        want_tag = [p.get("tag") for b in spec.plans[bridge["host"]]["ovs_bridges"] if b["name"] == bridge["name"]
                    for p in b["ports"] if p["name"] == bridge["name"]][0]
        tag = (ovs["ports"].get(bridge["name"]) or {}).get("tag")
        tag = tag if not isinstance(tag, list) else (tag[0] if tag else None)
        assert tag == want_tag, "%s: its internal port (the containers' gateway) has VLAN tag %r, the model says " \
            "%r (netwire_networks.%s.vlan)" % (where, tag, want_tag, bridge.get("network"))
        assert link is not None, "%s: the bridge's internal interface does not exist in the kernel" % where
    if bridge.get("mac"):
        # a bridge without a MAC of its own takes its lowest port's and moves it when that port leaves:
        # its containers then lose their gateway until ARP gives up on the old MAC
        assert link.get("address") == bridge["mac"], "%s: MAC %s, the model's is %s (derived from the host's " \
            "underlay address and the bridge name)" % (where, link.get("address"), bridge["mac"])
    assert link["mtu"] == bridge["mtu"], "%s: mtu %d, the model says %d (%s)" % (
        where, link["mtu"], bridge["mtu"], bridge["mtu_path"])
    assert bridge["address"] in _addresses(link), "%s: address %s missing (has %s)" % (
        where, bridge["address"], ", ".join(_addresses(link)) or "none")
    assert "UP" in link.get("flags", []), "%s is down" % where


def _trunk_or_fake_bridge(spec, bridge, ovs, link):
    """A trunk's bridge (netwire_trunks), or a network's fake VLAN bridge on it: an internal port of the trunk
    bridge, marked fake_bridge, with the network's VLAN as its tag (the gateway is an access port of the VLAN)."""
    where, name = bridge["path"], bridge["name"]
    if bridge["kind"] == "ovs-trunk":
        row = ovs["bridges"].get(name)
        assert row is not None, "%s: no OVS bridge of that name" % where
        assert owned_row(row), "%s: the OVS bridge is not marked netwire-owner=netwire.fabric" % where
        want_dp = spec.plans[bridge["host"]]["underlay"]["ovs_datapath"]
        assert (row.get("datapath_type") or "system") == want_dp, "%s: datapath_type %r, the model says %r" % (
            where, row.get("datapath_type"), want_dp)
        return
    port = ovs["ports"].get(name)
    assert port is not None and owned_row(port), "%s: no fake VLAN bridge %s of netwire's (an internal port of" \
        " trunk bridge %s)" % (where, name, bridge["parent"])
    assert ovs["port_bridge"].get(name) == bridge["parent"], "%s: the fake VLAN bridge sits on %r, the model's " \
        "trunk bridge is %s (netwire_networks.%s.trunk)" % (where, ovs["port_bridge"].get(name), bridge["parent"],
                                                            bridge["network"])
    assert port.get("fake_bridge") is True, "%s: port %s is not marked fake_bridge (ovs-vsctl would not see a " \
        "VLAN bridge)" % (where, name)
    tag = port.get("tag")
    tag = tag if not isinstance(tag, list) else (tag[0] if tag else None)
    assert tag == bridge["vlan"], "%s: its interface (the containers' gateway) has VLAN tag %r on trunk bridge %s, " \
        "the model says %r (netwire_networks.%s.vlan)" % (where, tag, bridge["parent"], bridge["vlan"], bridge["network"])
    assert link is not None, "%s: the fake VLAN bridge's interface does not exist in the kernel" % where


def test_tunnel_peers(spec, tunnel):
    """The tunnel mesh of a network on a host: exactly the declared peers, with the declared parameters."""
    st = spec.states[tunnel["host"]]
    where = tunnel["path"]
    if tunnel["backend"] == "linux":
        links = st.links()
        found = []
        for dev in tunnel["devices"]:
            link = links.get(dev["name"])
            assert link is not None, "%s: tunnel device %s does not exist" % (where, dev["name"])
            kind, data = _kind(link), (link.get("linkinfo") or {}).get("info_data") or {}
            assert kind == dev["kind"], "%s: %s is a %s device, the model needs %s" % (
                where, dev["name"], kind, dev["kind"])
            assert link.get("master") == dev["master"], "%s: %s sits on %r, not on bridge %s" % (
                where, dev["name"], link.get("master"), dev["master"])
            assert link["mtu"] == dev["mtu"], "%s: %s has mtu %d, the model says %d" % (
                where, dev["name"], link["mtu"], dev["mtu"])
            assert data.get("id", dev["vni"]) == dev["vni"], "%s: %s has VNI/key %s, the model says %s" % (
                where, dev["name"], data.get("id"), dev["vni"])
            assert data.get("local") == dev["local"], "%s: %s has local %s, the model says %s" % (
                where, dev["name"], data.get("local"), dev["local"])
            if dev.get("port") and "port" in data:
                assert data["port"] == dev["port"], "%s: %s uses UDP port %s, the model says %s" % (
                    where, dev["name"], data["port"], dev["port"])
            if dev["kind"] == "vxlan":
                flood = sorted(e["dst"] for e in st.fdb() if e.get("ifname") == dev["name"] and
                               e.get("mac") == "00:00:00:00:00:00" and e.get("dst"))
                found += flood
            else:
                found.append(data.get("remote"))
        assert sorted(found) == tunnel["remotes"], "%s: peers %s, the model declares %s%s" % (
            where, ", ".join(sorted(found)) or "none", ", ".join(tunnel["remotes"]),
            _stale(found, tunnel["remotes"]))
    else:
        t = tunnel["tunnel"]
        ovs = st.ovs_model()
        assert t["bridge"] in ovs["bridges"], "%s: OVS bridge %s does not exist" % (where, t["bridge"])
        found = []
        for name, itf in sorted(ovs["interfaces"].items()):
            port = ovs["ports"].get(name)
            if itf.get("type") != t["type"] or ovs["port_bridge"].get(name) != t["bridge"]:
                continue
            opts = itf.get("options") or {}
            remote = opts.get("remote_ip")
            found.append(remote)
            assert port is not None and owned_row(port), "%s: tunnel port %s is not netwire's" % (where, name)
            assert name == _names.ovs_tunnel_port_name(t["type"], t["network"], remote), \
                "%s: tunnel port %s to %s does not have its derived name %s" % (
                    where, name, remote, _names.ovs_tunnel_port_name(t["type"], t["network"], remote))
            assert opts.get("key") == str(t["key"]), "%s: port %s has key %s, the model says %s" % (
                where, name, opts.get("key"), t["key"])
            assert opts.get("local_ip") in (None, t["local_ip"]), "%s: port %s has local_ip %s, not %s" % (
                where, name, opts.get("local_ip"), t["local_ip"])
            if t.get("dst_port"):
                have = opts.get("dst_port", str(_names.default_udp_port(t["type"])))
                assert have == str(t["dst_port"]), "%s: port %s has dst_port %s, the model says %s" % (
                    where, name, have, t["dst_port"])
            errors = [e for e in as_list(itf.get("error") or []) if e]
            assert not errors and itf.get("ofport") not in (-1, [-1]), \
                "%s: OVS rejected tunnel port %s: %s" % (where, name, "; ".join(errors) or "ofport -1")
        assert sorted(found) == tunnel["remotes"], "%s: peers %s, the model declares %s%s" % (
            where, ", ".join(sorted(str(f) for f in found)) or "none", ", ".join(tunnel["remotes"]),
            _stale(found, tunnel["remotes"]))


def _stale(found, wanted):
    stale = sorted(set(str(f) for f in found) - set(wanted))
    missing = sorted(set(wanted) - set(str(f) for f in found))
    out = ""
    if stale:
        out += " (stale: %s)" % ", ".join(stale)
    if missing:
        out += " (missing: %s)" % ", ".join(missing)
    return out


def test_container_interface(spec, attachment):
    """Inside the container: the interface with its address, mac, mtu, state and default route."""
    a = attachment["attach"]
    st = spec.states[attachment["host"]]
    where = "%s: %s in container %s on %s" % (attachment["path"], a["ifname"], attachment["container"],
                                              attachment["host"])
    try:
        inside = st.container(attachment["ref"], attachment["ref_type"])
    except AssertionError as exc:
        raise AssertionError("%s: %s" % (where, exc))
    link = inside["links"].get(a["ifname"])
    assert link is not None, "%s does not exist (the container has %s)" % (where, ", ".join(inside["links"]))
    _has_addresses(link, a["addresses"], where)
    assert link.get("address") == a["mac"], "%s: mac %s, the model says %s" % (where, link.get("address"), a["mac"])
    assert link["mtu"] == a["mtu"], "%s: mtu %d, the model says %d" % (where, link["mtu"], a["mtu"])
    assert link.get("operstate") == "UP", "%s: state %s, not UP" % (where, link.get("operstate"))
    _has_default_route(inside, a, where)


def test_host_end(spec, attachment):
    """On the host: the veth end of that very interface, up, on the network's bridge (and VLAN)."""
    a = attachment["attach"]
    st = spec.states[attachment["host"]]
    where = "%s: host end %s of %s.%s on %s" % (
        attachment["path"], a["host_ifname"], attachment["container"], a["ifname"], attachment["host"])
    link = st.links().get(a["host_ifname"])
    assert link is not None, "%s does not exist" % where
    assert (link.get("ifalias") or "").startswith(OWNER_ALIAS_PREFIX), "%s is not marked as netwire's" % where
    assert "UP" in link.get("flags", []), "%s is down" % where
    assert link["mtu"] == a["mtu"], "%s: mtu %d, the model says %d" % (where, link["mtu"], a["mtu"])
    try:
        inside = st.container(attachment["ref"], attachment["ref_type"])
        peer = inside["links"].get(a["ifname"])
    except AssertionError:
        peer = None
    assert peer is not None and peer.get("link_index") == link["ifindex"], \
        "%s is not the peer of the container's %s (a stale end?)" % (where, a["ifname"])
    if a["bridge_type"] == "linux":
        assert link.get("master") == a["bridge"], "%s sits on %r, not on bridge %s" % (
            where, link.get("master"), a["bridge"])
    else:
        ovs = st.ovs_model()
        # on a fake VLAN bridge (a network on a trunk) the port is a port of the trunk bridge, with the tag
        fake = [b["parent"] for b in spec.plans[attachment["host"]]["ovs_bridges"]
                if b["name"] == a["bridge"] and b.get("parent")]
        want = fake[0] if fake else a["bridge"]
        assert ovs["port_bridge"].get(a["host_ifname"]) == want, "%s is on OVS bridge %r, not %s%s" % (
            where, ovs["port_bridge"].get(a["host_ifname"]), want,
            " (the trunk bridge of fake VLAN bridge %s)" % a["bridge"] if fake else "")
        tag = ovs["ports"][a["host_ifname"]].get("tag")
        tag = tag if not isinstance(tag, list) else (tag[0] if tag else None)
        assert tag == a.get("vlan_tag"), "%s: VLAN tag %r, the model says %r (netwire_networks.%s.vlan)" % (
            where, tag, a.get("vlan_tag"), a["network"])


def _current_tables(st):
    return rs.normalize_listing(st.nft(), _firewall.owned_tables())


def test_nft(spec, nft_item):
    """One set or rule of our nftables tables, exactly as the firewall plans it from the model."""
    st = spec.states[nft_item["host"]]
    where = "%s: %s %s %s in table %s %s on %s" % (
        nft_item["path"], nft_item["kind"], nft_item.get("chain", ""), nft_item.get("label", nft_item.get("name")),
        nft_item["family"], nft_item["table"], nft_item["host"])
    current = _current_tables(st)
    tables = [t for t in current["tables"] if (t["family"], t["name"]) == (nft_item["family"], nft_item["table"])]
    assert tables, "%s: the table does not exist" % where
    table = tables[0]
    if nft_item["kind"] == "set":
        sets = [s for s in table["sets"] if s["name"] == nft_item["name"]]
        assert sets, "%s: the set does not exist" % where
        assert sets[0] == nft_item["want"], "%s: set is %s, the model needs %s" % (where, sets[0], nft_item["want"])
        return
    chains = [c for c in table["chains"] if c["name"] == nft_item["chain"]]
    assert chains, "%s: the chain does not exist" % where
    header = dict((k, v) for k, v in chains[0].items() if k != "rules")
    assert header == nft_item["header"], "%s: chain is %s, the model needs %s" % (where, header, nft_item["header"])
    rules = [r for r in chains[0]["rules"] if (r.get("comment") or "") == (nft_item["want"].get("comment") or "")]
    nth = nft_item.get("nth", 0)   # several rules may share a comment (one per device): the nth of them
    assert len(rules) > nth, "%s: the rule is missing (want: %s)" % (where, _rule_text(nft_item["want"]))
    assert rules[nth] == nft_item["want"], "%s: the rule differs:\n  have %s\n  want %s" % (
        where, _rule_text(rules[nth]), _rule_text(nft_item["want"]))


def _rule_text(rule):
    return " ".join(rs.render_expr(e) for e in rule["expr"])


def test_nft_nothing_else(spec, audited_host):
    """Our tables hold nothing the model does not declare, and the declared rules are in order."""
    st = spec.states[audited_host]
    fw = spec.plans[audited_host]["firewall"]
    desired = _firewall.plan_ruleset(_firewall.build_spec(
        fw["networks"], fw["flows"], fw["publications"], tunnels=fw.get("tunnels"),
        host_addresses=fw.get("host_addresses"), host_services=fw.get("host_services")))
    current = _current_tables(st)
    want = dict(((t["family"], t["name"]), t) for t in desired["tables"])
    extra = []
    for t in current["tables"]:
        tname = "%s %s" % (t["family"], t["name"])
        w = want.get((t["family"], t["name"]))
        if w is None:
            extra.append("table %s (the model needs no such table on this host)" % tname)
            continue
        wsets = dict((s["name"], s) for s in w["sets"])
        extra += ["set %s in %s" % (s["name"], tname) for s in t["sets"] if s["name"] not in wsets]
        wchains = dict((c["name"], c) for c in w["chains"])
        for c in t["chains"]:
            wc = wchains.get(c["name"])
            if wc is None:
                extra.append("chain %s in %s" % (c["name"], tname))
                continue
            wanted = list(wc["rules"])
            for r in c["rules"]:
                if r not in wanted:
                    extra.append("rule %r in %s %s" % (r.get("comment") or r["expr"], tname, c["name"]))
            order = [wanted.index(r) for r in c["rules"] if r in wanted]
            if order != sorted(order):
                extra.append("rules of %s %s out of the planned order" % (tname, c["name"]))
    assert not extra, "nft tables on %s hold what the model does not declare (netwire_networks/netwire_zones): %s" \
        % (audited_host, "; ".join(extra))


def test_other_firewalls(spec, audited_host):
    """No other firewall of the host (Docker, ufw, firewalld, nftables) drops the forwarded traffic of our networks.

    A packet must be accepted by every base chain on the forward hook: Docker's FORWARD policy drop
    without netwire's rules in DOCKER-USER breaks egress, zone flows and published ports.
    """
    st = spec.states[audited_host]
    fw = spec.plans[audited_host]["firewall"]
    nets = [(n["name"], n["bridge"], n["subnet"]) for n in fw["networks"]]
    chains = _host_firewalls.report(st.nft(), _firewall.table_names(), nets, _firewall.DEFAULT_TABLE_NAME)
    blocked = ["%s (%s, policy %s) drops %s%s" % (
        _host_firewalls.describe((c["family"], c["table"], c["chain"])), c["kind"], c["policy"],
        ", ".join(c["drops_netwire_traffic"]),
        "; netwire's rules in %s are missing" % c["integration"] if c["integration"] else "")
        for c in chains if not c["passes_netwire_traffic"]]
    assert not blocked, "on %s another firewall drops forwarded traffic of the model's networks: %s" % (
        audited_host, "; ".join(blocked))


def test_no_stray_links(spec, audited_host):
    """No link marked as netwire's that the host's plan does not name."""
    st = spec.states[audited_host]
    names = set(spec.plans[audited_host]["names"])
    # the host-side macvlans and VLAN sub-interfaces of the model's direct interfaces (test_direct.py)
    names |= set(d["name"] for d in _expect.direct_host_links({audited_host: spec.plans[audited_host]}, spec.model))
    stray = sorted("%s (%s)" % (n, l.get("ifalias")) for n, l in st.links().items()
                   if (l.get("ifalias") or "").startswith(OWNER_ALIAS_PREFIX) and n not in names)
    assert not stray, "links owned by netwire on %s that the model does not declare: %s" % (
        audited_host, ", ".join(stray))


def test_no_stray_ovs(spec, audited_host):
    """No OVS bridge, port or interface with netwire's external_ids that the host's plan does not declare."""
    st = spec.states[audited_host]
    plan = spec.plans[audited_host]
    if not plan["ovs_bridges"] and not st.has_ovs():
        return  # no OVS on a host that needs none
    bridges = set(b["name"] for b in plan["ovs_bridges"])
    ports = set(p["name"] for b in plan["ovs_bridges"] for p in b["ports"])
    ports |= set(_names.ovs_tunnel_port_name(t["type"], t["network"], r) for t in plan["ovs_tunnels"]
                 for r in t["remotes"])
    ports |= set(a["host_ifname"] for a in plan["attachments"] if a.get("bridge_type") == "ovs")
    ovs = st.ovs_model()
    stray = ["bridge %s" % n for n, r in sorted(ovs["bridges"].items()) if owned_row(r) and n not in bridges]
    stray += ["port %s" % n for n, r in sorted(ovs["ports"].items()) if owned_row(r) and n not in ports]
    stray += ["interface %s" % n for n, r in sorted(ovs["interfaces"].items()) if owned_row(r) and n not in ports]
    assert not stray, "OVS rows owned by netwire on %s that the model does not declare: %s" % (
        audited_host, ", ".join(stray))


def test_no_drift(spec, drift, audited_host):
    """A check-mode run of the host's whole plan (netwire.fabric.host_network) would change nothing."""
    res = drift[audited_host]
    assert not res.get("failed"), "host_network check mode failed on %s: %s" % (audited_host, res.get("msg"))
    assert not res.get("changed"), "%s drifted from the model; host_network would:\n  %s" % (
        audited_host, "\n  ".join(res.get("actions") or ["(no actions reported)"]))
