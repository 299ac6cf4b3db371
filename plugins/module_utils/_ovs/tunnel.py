# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ovs_tunnel: the set of tunnel ports of one overlay on one OVS bridge.

Port names are deterministic: ``<gre|vxl|gnv>-<11 hex>`` where the hex is a
hash of type, overlay (``network``) and remote
(``_names.ovs_tunnel_port_name``, the one the model's plans name them with).

The set is exclusive within what we own: our tunnel ports of this overlay on
this bridge whose remote is no longer listed are removed. Options are compared
as a full map, so a changed key, dst_port, remote or local_ip is converged in
place (openvswitch.openvswitch's ``add-port --may-exist`` misses exactly that).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.module_utils._ovs import ovsdb as _ovsdb
from ansible_collections.netwire.fabric.plugins.module_utils._contract import Manager, Result
from ansible_collections.netwire.fabric.plugins.module_utils._diff import DifferenceTracker
from ansible_collections.netwire.fabric.plugins.module_utils._errors import (
    BackendError,
    InvalidParameter,
    NotOwned,
    failure,
)
from ansible_collections.netwire.fabric.plugins.module_utils import _validate as v
from ansible_collections.netwire.fabric.plugins.module_utils._names import OVERLAYS, ovs_tunnel_port_name
from ansible_collections.netwire.fabric.plugins.module_utils._validate import valid

RESERVED_OPTIONS = ("remote_ip", "key", "dst_port", "local_ip")


def _int(value, what, low, high):
    try:
        if isinstance(value, bool):
            raise ValueError
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidParameter("Invalid %s '%s': expected an integer" % (what, value))
    if not low <= number <= high:
        raise InvalidParameter("Invalid %s %d: must be between %d and %d" % (what, number, low, high))
    return number


def normalize_params(params):
    bridge = params["bridge"]
    valid(v.ifname, bridge, "bridge name")
    network = params.get("network")
    if not network or not isinstance(network, str) or any(c.isspace() for c in network):
        raise InvalidParameter("Invalid network '%s': a non-empty name without spaces is required" % (network,))
    ttype = params.get("type") or "vxlan"
    if ttype not in OVERLAYS:
        raise InvalidParameter("Invalid tunnel type '%s': use one of %s" % (ttype, ", ".join(sorted(OVERLAYS))))
    p = {
        "bridge": bridge,
        "network": network,
        "type": ttype,
        "state": params.get("state") or "present",
        "remotes": [],
        "key": None,
        "dst_port": None,
        "local_ip": None,
        "options": {},
    }
    seen = set()
    for remote in params.get("remotes") or []:
        ip = valid(v.ip_address, remote, "remote")
        if ip not in seen:
            seen.add(ip)
            p["remotes"].append(ip)
    p["remotes"].sort()
    if params.get("key") is not None:
        p["key"] = _int(params["key"], "key" if ttype == "gre" else "key (VNI)", 0, OVERLAYS[ttype].key_max)
    if params.get("dst_port") is not None:
        if ttype == "gre":
            raise InvalidParameter("Invalid dst_port: GRE has no UDP destination port")
        p["dst_port"] = _int(params["dst_port"], "dst_port", 1, 65535)
    if params.get("local_ip"):
        p["local_ip"] = valid(v.ip_address, params["local_ip"], "local_ip")
        if p["local_ip"] in seen:
            raise InvalidParameter("Invalid remotes: %s is the local_ip of this host" % p["local_ip"])
    for key, val in (params.get("options") or {}).items():
        if key in RESERVED_OPTIONS:
            raise InvalidParameter("Invalid options: set '%s' with its own parameter, not in options" % key)
        if isinstance(val, bool):
            val = "true" if val else "false"
        p["options"][str(key)] = str(val)
    return p


def desired_tunnels(p):
    """name -> desired port/interface of every remote (pure)."""
    out = {}
    for remote in p["remotes"]:
        options = dict(p["options"])
        options["remote_ip"] = remote
        if p["key"] is not None:
            options["key"] = str(p["key"])
        if p["dst_port"] is not None:
            options["dst_port"] = str(p["dst_port"])
        if p["local_ip"] is not None:
            options["local_ip"] = p["local_ip"]
        ids = _ovsdb.owner_ids(_names.OVS_ROLE_TUNNEL, network=p["network"], remote=remote, bridge=p["bridge"])
        out[ovs_tunnel_port_name(p["type"], p["network"], remote)] = {
            "remote": remote, "type": OVERLAYS[p["type"]].ovs_type, "options": options, "external_ids": ids,
        }
    return out


def current_tunnels(snap, bridge, network):
    """Our tunnel ports of ``network`` on ``bridge``: name -> state."""
    out = {}
    for name, port in snap["ports"].items():
        ids = port["external_ids"]
        if (port["bridge"] == bridge and _ovsdb.is_owned(ids) and ids.get(_names.OVS_ROLE_KEY) == _names.OVS_ROLE_TUNNEL
                and ids.get(_names.OVS_NETWORK_KEY) == network):
            iface = snap["interfaces"].get(name, {})
            out[name] = {
                "remote": ids.get(_names.OVS_REMOTE_KEY) or iface.get("options", {}).get("remote_ip"),
                "type": iface.get("type", ""),
                "options": dict(iface.get("options", {})),
                "external_ids": dict(ids),
                "protected": bool(port.get("protected")),
                "ofport": iface.get("ofport"),
                "error": iface.get("error"),
            }
    return out


def view(tunnels, p):
    return {
        "bridge": p["bridge"],
        "network": p["network"],
        "tunnels": dict((t["remote"], {"port": name, "type": t["type"], "options": t["options"]})
                        for name, t in sorted(tunnels.items())),
    }


def plan(snap, p, check_mode=False):
    """Pure planner: (ops, tracker, before, after, touched_interface_names).

    In check mode a missing bridge is not an error: in a ``--check`` run of a
    playbook the ovs_bridge task before this one did not create it either, so
    the tunnels are predicted as added.
    """
    tracker = DifferenceTracker()
    ops = []
    bridge = p["bridge"]
    br = snap["bridges"].get(bridge)
    current = current_tunnels(snap, bridge, p["network"])
    before = view(current, p)

    if p["state"] == "absent":
        for name in sorted(current):
            ops.append(_ovsdb.op("del_port", bridge=bridge, name=name))
            tracker.add("tunnels.%s" % current[name]["remote"], before["tunnels"][current[name]["remote"]], None,
                        "remove tunnel port %s (remote %s)" % (name, current[name]["remote"]))
        return ops, tracker, before, view({}, p), []

    if br is None and check_mode:
        tracker.action("bridge %s does not exist yet (check mode): assuming it will" % bridge)
    elif br is None:
        raise failure("configure", "tunnels of overlay", p["network"],
                      "OVS bridge '%s' does not exist; create it first (netwire.fabric.ovs_bridge)" % bridge,
                      InvalidParameter)
    if br is not None and not _ovsdb.is_owned(br["external_ids"]):
        raise failure("configure", "tunnels of overlay", p["network"],
                      "OVS bridge '%s' was not created by netwire.fabric; tunnels are only added to owned bridges"
                      % bridge, NotOwned)

    desired = desired_tunnels(p)
    touched = []
    for name, want in sorted(desired.items()):
        cur = current.get(name)
        if cur is None:
            other = snap["ports"].get(name)
            if other is not None:
                ids = other["external_ids"]
                if not _ovsdb.is_owned(ids):
                    raise failure("add", "tunnel port", name,
                                  "a port with that name exists on bridge '%s' and was not created by netwire.fabric"
                                  % other["bridge"], NotOwned)
                if ids.get(_names.OVS_ROLE_KEY) != _names.OVS_ROLE_TUNNEL or ids.get(_names.OVS_NETWORK_KEY) != p["network"]:
                    raise failure("add", "tunnel port", name, "the name is already used by another netwire.fabric port",
                                  BackendError)
                ops.append(_ovsdb.op("del_port", bridge=other["bridge"], name=name))
                tracker.action("move tunnel port %s from bridge %s" % (name, other["bridge"]))
            ops.append(_ovsdb.op("add_port", bridge=bridge, name=name,
                                 port={"external_ids": want["external_ids"], "protected": True},
                                 interface={"type": want["type"], "options": want["options"],
                                            "external_ids": want["external_ids"]}))
            tracker.add("tunnels.%s" % want["remote"], None,
                        {"port": name, "type": want["type"], "options": want["options"]},
                        "add %s tunnel port %s to %s" % (want["type"], name, want["remote"]))
            touched.append(name)
            continue
        cols = {}
        if cur["type"] != want["type"]:
            cols["type"] = want["type"]
            tracker.add("tunnels.%s.type" % want["remote"], cur["type"], want["type"])
        if cur["options"] != want["options"]:
            cols["options"] = want["options"]
            keys = sorted(k for k in set(cur["options"]) | set(want["options"])
                          if cur["options"].get(k) != want["options"].get(k))
            tracker.add("tunnels.%s.options" % want["remote"],
                        dict((k, cur["options"].get(k)) for k in keys),
                        dict((k, want["options"].get(k)) for k in keys),
                        "set %s on tunnel port %s" % (", ".join(keys), name))
        port_cols = {}
        if cur["external_ids"] != want["external_ids"]:
            cols["external_ids"] = want["external_ids"]
            port_cols["external_ids"] = want["external_ids"]
        if not cur.get("protected"):
            # split horizon: a frame that came in over one tunnel of the mesh never leaves
            # over another, or the full mesh of three or more hosts loops every broadcast
            port_cols["protected"] = True
            tracker.add("tunnels.%s.protected" % want["remote"], False, True,
                        "protect tunnel port %s (split horizon)" % name)
        if port_cols:
            ops.append(_ovsdb.op("update_port", name=name, columns=port_cols))
        if cols:
            ops.append(_ovsdb.op("update_interface", name=name, columns=cols))
            touched.append(name)
    for name in sorted(set(current) - set(desired)):
        ops.append(_ovsdb.op("del_port", bridge=bridge, name=name))
        tracker.add("tunnels.%s" % current[name]["remote"], before["tunnels"][current[name]["remote"]], None,
                    "remove tunnel port %s (remote %s)" % (name, current[name]["remote"]))
    after = view(dict((n, dict(d, ofport=None)) for n, d in desired.items()), p)
    return ops, tracker, before, after, touched


class OvsTunnelManager(Manager):
    """The tunnel set of one overlay on one bridge, on the run's OVSDB transaction (``ctx.ovs``)."""

    kind = "OVS tunnels"

    def __init__(self, ctx, params):
        super(OvsTunnelManager, self).__init__(ctx, params)
        self.p = normalize_params(params)

    def run(self):
        p = self.p
        txn = self.ctx.ovs
        snap = txn.snapshot()
        ops, tracker, before, after, touched = plan(snap, p, self.check_mode)
        txn.add(ops, touched, tracker.actions, what=("configure", "tunnels of overlay", p["network"]))
        txn.commit()
        tunnels = []
        if p["state"] == "present":
            live = current_tunnels(txn.snapshot(), p["bridge"], p["network"])
            for name, want in sorted(desired_tunnels(p).items()):
                tunnels.append({"port": name, "remote": want["remote"], "type": p["type"],
                                "options": want["options"],
                                "ofport": live.get(name, {}).get("ofport")})
        return Result(tracker.changed, tracker.actions, tracker.diff(before, after),
                      label="%s on %s" % (p["network"], p["bridge"]), tunnels=tunnels)

    @classmethod
    def purge(cls, ctx, keep=None):
        """Queue the removal of our tunnel sets (``<network> on <bridge>``) not in ``keep``
        whose bridge is (None: every set of ours)."""
        txn = ctx.ovs
        if not txn.socket_exists():
            return []
        out = []
        for bridge, network in sorted(owned_tunnel_sets(txn.snapshot())):
            label = "%s on %s" % (network, bridge)
            if keep is not None and (bridge not in keep or label in keep):
                continue
            p = normalize_params(dict(bridge=bridge, network=network, state="absent", type="vxlan", remotes=[],
                                      options={}, key=None, dst_port=None, local_ip=None))
            ops, tracker, before, after, _touched = plan(txn.snapshot(), p, ctx.check_mode)
            txn.add(ops, (), tracker.actions, what=("remove", "tunnels of overlay", network))
            out.append(Result(tracker.changed, tracker.actions, tracker.diff(before, after), label=label))
        return out


def owned_tunnel_sets(snap):
    """(bridge, network) of every tunnel set we own in ``snap``."""
    sets = set()
    for port in snap["ports"].values():
        ids = port["external_ids"]
        if _ovsdb.is_owned(ids) and ids.get(_names.OVS_ROLE_KEY) == _names.OVS_ROLE_TUNNEL:
            sets.add((port["bridge"], ids.get(_names.OVS_NETWORK_KEY)))
    return sets
