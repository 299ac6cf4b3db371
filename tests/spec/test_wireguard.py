# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Encrypted networks (``netwire_encryption``): each host's WireGuard device of ours has exactly the peers the
model gives it (the other hosts sharing an encrypted network: their public keys as their own devices show
them, their underlay endpoints, their tunnel addresses), and a recent handshake with each of them."""

from __future__ import annotations

# WireGuard renews a session's handshake every 2 minutes while it is used, and rejects it after 3: a
# handshake older than that (right after a ping of the peer) means the peer cannot be reached.
HANDSHAKE_MAX_AGE = 180


def _public_key(spec, host, name):
    """The public key of ``host``'s device, as that host's own ``wg`` shows it (None when not audited)."""
    state = spec.states.get(host)
    if state is None:
        return None
    dev = state.wireguard(name)
    return dev["public_key"] if dev else None


def test_wireguard_peers(spec, wireguard_device):
    entry, host = wireguard_device["entry"], wireguard_device["host"]
    where = wireguard_device["path"]
    tunnel = [p["allowed_ips"][0].split("/")[0] for p in entry["peers"]]
    dev = spec.states[host].wireguard(entry["name"], tunnel)
    assert dev is not None, "%s: WireGuard device %s does not exist (or wg cannot read it)" % (where, entry["name"])
    want = {}
    for peer in entry["peers"]:
        key = _public_key(spec, peer["host"], entry["name"])
        want[tuple(sorted(peer["allowed_ips"]))] = (peer["host"], key, peer["endpoint"])
    have = dict((tuple(p.get("allowed_ips") or []), (key, p)) for key, p in dev["peers"].items())
    missing = sorted("%s (%s)" % (want[a][0], ", ".join(a)) for a in want if a not in have)
    extra = sorted("%s (allowed %s)" % (have[a][0], ", ".join(a) or "nothing") for a in have if a not in want)
    assert not missing and not extra, "%s: peers differ from the model: missing %s; not in the model %s" % (
        where, ", ".join(missing) or "none", ", ".join(extra) or "none")
    wrong = []
    for allowed, (peer_host, key, endpoint) in sorted(want.items()):
        have_key, peer = have[allowed]
        if key is not None and have_key != key:
            wrong.append("peer %s has public key %s, but %s's device has %s" % (peer_host, have_key, peer_host, key))
        if peer.get("endpoint") != endpoint:
            wrong.append("peer %s has endpoint %s, the model says %s" % (peer_host, peer.get("endpoint"), endpoint))
        age = dev["now"] - peer.get("handshake", 0) if peer.get("handshake") else None
        if age is None or age > HANDSHAKE_MAX_AGE:
            wrong.append("peer %s: %s" % (peer_host, "no handshake ever" if age is None else
                                          "the latest handshake is %d s old" % age))
    assert not wrong, "%s: %s" % (where, "; ".join(wrong))
