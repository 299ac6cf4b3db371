# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The BGP EVPN control plane (docs/evpn.md): every session the model implies is Established, and each EVPN
network's VNI has exactly the network's other hosts as remote VTEPs (FRR's view; the kernel's flood entries
are checked by test_host.test_tunnel_peers). Read from FRR's JSON (``vtysh -c '... json'``)."""

from __future__ import annotations

from ansible_collections.netwire.fabric.plugins.module_utils._frr import config as _frr_config


def _peers(summary):
    """``{peer address: body}`` of the l2vpn evpn address family of ``show bgp summary json``."""
    return ((summary or {}).get("l2VpnEvpn") or {}).get("peers") or {}


def test_bgp_session(spec, bgp_session):
    """One iBGP EVPN session of a speaker: Established, in the model's AS, from the host's underlay address."""
    st = spec.states[bgp_session["host"]]
    where, peer = bgp_session["path"], bgp_session["peer"]
    summary = st.bgp_summary()
    evpn = (summary or {}).get("l2VpnEvpn")
    assert evpn, "%s: FRR on %s has no l2vpn evpn address family (is our bgpd running?)" % (where, st.name)
    assert evpn.get("as") == bgp_session["asn"], "%s: bgpd runs AS %s, the model says %s" % (
        where, evpn.get("as"), bgp_session["asn"])
    assert evpn.get("routerId") == bgp_session["router_id"], "%s: router ID %s, the model says %s" % (
        where, evpn.get("routerId"), bgp_session["router_id"])
    body = _peers(summary).get(peer)
    assert body is not None, "%s: no session to %s is configured (peers: %s)" % (
        where, peer, ", ".join(sorted(_peers(summary))) or "none")
    assert body.get("state") == "Established", "%s: the session to %s is %s, not Established" % (
        where, peer, body.get("state"))


def test_evpn_vni(spec, evpn_vni):
    """An EVPN network's VNI on a host: FRR knows it on our VXLAN device and its remote VTEPs are exactly the
    network's other hosts; the bridge port does not learn and suppresses ARP/ND."""
    st = spec.states[evpn_vni["host"]]
    where = evpn_vni["path"]
    vnis = _frr_config.evpn_vnis(st.evpn_vnis())
    entry = vnis.get(str(evpn_vni["vni"]))
    assert entry is not None, "%s: zebra on %s does not know VNI %d (VNIs: %s)" % (
        where, st.name, evpn_vni["vni"], ", ".join(sorted(vnis)) or "none")
    assert entry["vxlan_interface"] == evpn_vni["device"], "%s: VNI %d is on %s, not on our %s" % (
        where, evpn_vni["vni"], entry["vxlan_interface"], evpn_vni["device"])
    found = sorted(entry["remote_vteps"])
    assert found == evpn_vni["vteps"], "%s: remote VTEPs %s, the model's other hosts are %s" % (
        where, ", ".join(found) or "none", ", ".join(evpn_vni["vteps"]) or "none")
    link = st.links().get(evpn_vni["device"]) or {}
    slave = (link.get("linkinfo") or {}).get("info_slave_data") or {}
    assert slave.get("learning") is False and slave.get("neigh_suppress") is True, \
        "%s: bridge port %s has learning %s, neigh_suppress %s (the model needs off, on)" % (
            where, evpn_vni["device"], slave.get("learning"), slave.get("neigh_suppress"))
