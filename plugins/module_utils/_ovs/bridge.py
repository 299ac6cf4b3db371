# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ovs_bridge: planner (pure, over an OVSDB snapshot) and manager.

The bridge, its local port and every member port we create carry
``netwire-owner=netwire.fabric`` in external_ids. ``ports`` is exclusive
among *member* ports we own on this bridge; tunnel and attachment ports (also
ours, other roles) and ports we do not own are never touched by this module.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.netwire.fabric.plugins.module_utils import _validate as v
from ansible_collections.netwire.fabric.plugins.module_utils._validate import valid
from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.module_utils._ovs import ovsdb as _ovsdb
from ansible_collections.netwire.fabric.plugins.module_utils._ovs import fake_bridge as _fake
from ansible_collections.netwire.fabric.plugins.module_utils._linux import garp as _garp
from ansible_collections.netwire.fabric.plugins.module_utils._linux import linkops as _linkops
from ansible_collections.netwire.fabric.plugins.module_utils._contract import Manager, Result
from ansible_collections.netwire.fabric.plugins.module_utils._diff import DifferenceTracker
from ansible_collections.netwire.fabric.plugins.module_utils._errors import (
    InvalidParameter,
    NotOwned,
    failure,
    refuse_foreign_ports,
)

DATAPATH_TYPES = ("system", "netdev")
FAIL_MODES = ("standalone", "secure")
PORT_TYPES = ("system", "internal")
ANNOUNCE_WAIT = 3  # seconds OVS may take to give the internal port a new other_config:hwaddr


def _dp(value):
    return value or "system"


def _strmap(value, what):
    out = {}
    for key, val in (value or {}).items():
        if val is None:
            raise InvalidParameter("Invalid %s: key '%s' has no value" % (what, key))
        if isinstance(val, bool):
            val = "true" if val else "false"
        out[str(key)] = str(val)
    return out


def normalize_params(params):
    """Validate and canonicalize module parameters (raises InvalidParameter)."""
    name = params["name"]
    valid(v.ifname, name, "bridge name")
    p = {
        "name": name,
        "state": params.get("state") or "present",
        "datapath_type": params.get("datapath_type") or "system",
        "fail_mode": params.get("fail_mode"),
        "external_ids": _strmap(params.get("external_ids"), "external_ids"),
        "other_config": _strmap(params.get("other_config"), "other_config"),
        "ports": None,
        "parent": params.get("parent"),
        "vlan": params.get("vlan"),
    }
    if p["parent"] is not None or p["vlan"] is not None:
        if p["parent"] is None or p["vlan"] is None:
            raise InvalidParameter("A fake VLAN bridge needs both parent and vlan")
        valid(v.ifname, p["parent"], "parent bridge name")
        if isinstance(p["vlan"], bool) or not 1 <= int(p["vlan"]) <= 4094:
            raise InvalidParameter("Invalid vlan '%s': VLAN ids of a fake bridge are 1..4094" % p["vlan"])
        p["vlan"] = int(p["vlan"])
        if p["parent"] == name:
            raise InvalidParameter("A fake VLAN bridge cannot be its own parent")
        if params.get("fail_mode") is not None:
            raise InvalidParameter("Invalid fail_mode: a fake VLAN bridge has no fail_mode of its own")
        if set(p["other_config"]) - set(["hwaddr"]):
            raise InvalidParameter("Invalid other_config: a fake VLAN bridge has only hwaddr (the MAC of its"
                                   " interface), not %s" % ", ".join(sorted(set(p["other_config"]) - set(["hwaddr"]))))
        if p["other_config"].get("hwaddr"):
            try:
                p["other_config"]["hwaddr"] = v.mac(p["other_config"]["hwaddr"])
            except InvalidParameter as exc:
                raise InvalidParameter("Invalid other_config hwaddr: %s" % exc)
        p["ports"] = _fake_own_port(params.get("ports"), name, p["vlan"])
        return p
    if p["datapath_type"] not in DATAPATH_TYPES:
        raise InvalidParameter("Invalid datapath_type '%s': use one of %s" % (p["datapath_type"], ", ".join(DATAPATH_TYPES)))
    if p["fail_mode"] is not None and p["fail_mode"] not in FAIL_MODES:
        raise InvalidParameter("Invalid fail_mode '%s': use one of %s" % (p["fail_mode"], ", ".join(FAIL_MODES)))
    for key in p["external_ids"]:
        if key.startswith("netwire-"):
            raise InvalidParameter("Invalid external_ids key '%s': the netwire- prefix is reserved for ownership marks" % key)
    if params.get("ports") is not None:
        ports, seen = [], set()
        for raw in params["ports"]:
            if isinstance(raw, str):
                raw = {"name": raw}
            pname = raw.get("name")
            valid(v.ifname, pname, "port name")
            if pname in seen:
                raise InvalidParameter("Invalid ports: '%s' is listed twice" % pname)
            seen.add(pname)
            ptype = raw.get("type") or ("internal" if pname == name else "system")
            if ptype not in PORT_TYPES:
                raise InvalidParameter("Invalid type '%s' for port '%s': use system or internal" % (ptype, pname))
            if pname == name and ptype != "internal":
                raise InvalidParameter("Invalid port '%s': the bridge's own port is always internal" % pname)
            tag = raw.get("tag")
            if tag is not None and (isinstance(tag, bool) or not 0 <= int(tag) <= 4095):
                raise InvalidParameter("Invalid tag '%s' for port '%s': VLAN ids are 0..4095" % (tag, pname))
            addrs = [valid(v.interface_address, a, "address of port '%s'" % pname, host_prefix=True)
                     for a in raw.get("addresses") or []]
            if addrs and ptype != "internal":
                raise InvalidParameter("Invalid port '%s': addresses are only supported on internal ports" % pname)
            mtu = raw.get("mtu")
            if mtu is not None and (isinstance(mtu, bool) or not 68 <= int(mtu) <= 65535):
                raise InvalidParameter("Invalid mtu '%s' for port '%s': use 68..65535" % (mtu, pname))
            if mtu is not None and ptype != "internal":
                raise InvalidParameter("Invalid port '%s': mtu is only set on internal ports (a host interface "
                                       "keeps its own)" % pname)
            ports.append({
                "name": pname,
                "type": ptype,
                "mtu": None if mtu is None else int(mtu),
                "tag": None if tag is None else int(tag),
                "addresses": sorted(set(addrs)) if raw.get("addresses") is not None else None,
            })
        p["ports"] = ports
    return p


def _fake_own_port(ports, name, vlan):
    """A fake VLAN bridge's ``ports``: at most its own interface (internal, on its VLAN), for its mtu and
    addresses; every other port "on" it is a port of its parent (container_attach makes those)."""
    if ports is None:
        return None
    own = [raw if isinstance(raw, dict) else {"name": raw} for raw in ports]
    others = [r.get("name") for r in own if r.get("name") != name]
    if not own:
        raise InvalidParameter("Invalid ports: a fake VLAN bridge has no ports of its own (a port on it is a port"
                               " of its parent with its VLAN); list only its own interface '%s' (for its mtu and"
                               " addresses), or leave ports out" % name)
    if others:
        raise InvalidParameter("Invalid ports: a fake VLAN bridge has no ports of its own (%s would be ports of its"
                               " parent with its VLAN); only its own interface '%s' may be listed"
                               % (", ".join(str(o) for o in others), name))
    out = []
    for raw in own:
        if (raw.get("type") or "internal") != "internal":
            raise InvalidParameter("Invalid port '%s': the bridge's own port is always internal" % name)
        if raw.get("tag") not in (None, vlan):
            raise InvalidParameter("Invalid tag '%s' for port '%s': a fake VLAN bridge's interface is on its VLAN %d"
                                   % (raw.get("tag"), name, vlan))
        mtu = raw.get("mtu")
        if mtu is not None and (isinstance(mtu, bool) or not 68 <= int(mtu) <= 65535):
            raise InvalidParameter("Invalid mtu '%s' for port '%s': use 68..65535" % (mtu, name))
        addrs = raw.get("addresses")
        out.append({"name": name, "type": "internal", "tag": vlan, "mtu": None if mtu is None else int(mtu),
                    "addresses": None if addrs is None else sorted(set(
                        valid(v.interface_address, a, "address of port '%s'" % name, host_prefix=True)
                        for a in addrs))})
    return out


def _iface_type(ptype):
    return "internal" if ptype == "internal" else ""


def _port_rows(snap, br):
    """(name, Port row, Interface row, the port's role if it is ours) for each port of the bridge row ``br``."""
    for pname in br["ports"]:
        port = snap["ports"].get(pname, {})
        ids = port.get("external_ids", {})
        role = ids.get(_names.OVS_ROLE_KEY) if _ovsdb.is_owned(ids) else None
        yield pname, port, snap["interfaces"].get(pname, {}), role


def bridge_view(snap, name):
    """The user-facing state of a bridge (for diff, facts and return values)."""
    br = snap["bridges"].get(name)
    if br is None and _fake.is_fake(snap["ports"].get(name)):
        return _fake.view(snap, name)
    if br is None:
        return {"name": name, "state": "absent"}
    ports = {}
    for pname, port, iface, role in _port_rows(snap, br):
        ports[pname] = {
            "type": iface.get("type") or "system",
            "tag": port.get("tag"),
            "owned": _ovsdb.is_owned(port.get("external_ids", {})),
            "role": role,
        }
    return {
        "name": name,
        "state": "present",
        "owned": _ovsdb.is_owned(br["external_ids"]),
        "datapath_type": _dp(br["datapath_type"]),
        "fail_mode": br["fail_mode"],
        "external_ids": dict(br["external_ids"]),
        "other_config": dict(br["other_config"]),
        "ports": ports,
    }


def plan(snap, p):
    """Pure planner: returns (ops, tracker, internal_ports).

    ``internal_ports`` lists the internal ports whose addresses this run
    manages, as {'name', 'addresses'} (addresses None = unmanaged), with
    ``fresh`` when the run deletes and makes again the interface (a bridge
    becoming a fake VLAN bridge, or back): what it holds now goes with it.
    """
    ops, tracker, internal = _plan(snap, p)
    gone = set(o["name"] for o in ops if o["op"] in ("del_bridge", "del_port"))
    for item in internal:
        if item["name"] in gone:
            item["fresh"] = True
    return ops, tracker, internal


def _plan(snap, p):
    name = p["name"]
    if p.get("parent") or (p["state"] == "absent" and name not in snap["bridges"]
                           and _fake.is_fake(snap["ports"].get(name))):
        ops, tracker = _fake.plan(snap, p)
        internal = [{"name": port["name"], "addresses": port["addresses"]} for port in p.get("ports") or []
                    if p["state"] == "present"]
        return ops, tracker, internal
    tracker = DifferenceTracker()
    ops = []
    br = snap["bridges"].get(name)
    my_ids = _ovsdb.owner_ids(_names.OVS_ROLE_BRIDGE)
    fake = snap["ports"].get(name)
    if br is None and p["state"] == "present" and _fake.is_fake(fake) and _ovsdb.is_owned(fake["external_ids"]):
        # a network of ours leaves its trunk: its fake VLAN bridge goes first (its containers' ports follow it)
        ops.append(_ovsdb.op("del_port", bridge=fake["bridge"], name=name))
        tracker.action("delete fake VLAN bridge %s (VLAN %s of %s: it becomes a bridge)" % (name, fake["tag"],
                                                                                            fake["bridge"]))

    if br is not None and not _ovsdb.is_owned(br["external_ids"]):
        raise failure("manage" if p["state"] == "present" else "remove", "OVS bridge", name,
                      "it exists but was not created by netwire.fabric (no %s=%s in external_ids); "
                      "it is left untouched" % (_names.OVS_OWNER_KEY, _names.OVS_OWNER), NotOwned)

    if p["state"] == "absent":
        if br is None:
            return ops, tracker, []
        foreign = sorted(n for n in br["ports"]
                         if not _ovsdb.is_owned(snap["ports"].get(n, {}).get("external_ids")))
        if foreign:
            raise failure("remove", "OVS bridge", name,
                          "it carries ports netwire.fabric does not own (%s); remove them first"
                          % ", ".join(foreign), NotOwned)
        _fake.refuse_removal_with_children(snap, name)
        ops.append(_ovsdb.op("del_bridge", name=name))
        tracker.add("state", "present", "absent", "delete bridge %s" % name)
        return ops, tracker, []

    want_br = {"datapath_type": p["datapath_type"]}
    if p["fail_mode"] is not None:
        want_br["fail_mode"] = p["fail_mode"]

    if br is None:
        cols = dict(want_br)
        cols["external_ids"] = dict(p["external_ids"], **my_ids)
        cols["other_config"] = dict(p["other_config"])
        ops.append(_ovsdb.op("add_bridge", name=name, bridge=cols,
                             port={"external_ids": my_ids}, interface={"external_ids": my_ids}))
        tracker.add("state", "absent", "present", "create bridge %s (datapath %s)" % (name, p["datapath_type"]))
        current_ports = {name: {"tag": None, "type": "internal", "role": _names.OVS_ROLE_BRIDGE, "mtu": None}}
    else:
        cols = {}
        if _dp(br["datapath_type"]) != p["datapath_type"]:
            cols["datapath_type"] = p["datapath_type"]
            tracker.add("datapath_type", _dp(br["datapath_type"]), p["datapath_type"],
                        "set datapath_type %s" % p["datapath_type"])
        if "fail_mode" in want_br and br["fail_mode"] != want_br["fail_mode"]:
            cols["fail_mode"] = want_br["fail_mode"]
            tracker.add("fail_mode", br["fail_mode"], want_br["fail_mode"], "set fail_mode %s" % want_br["fail_mode"])
        for col, wanted in (("external_ids", dict(p["external_ids"], **my_ids)), ("other_config", p["other_config"])):
            merged = dict(br[col], **wanted)
            if merged != br[col]:
                cols[col] = merged
                changed = dict((k, v) for k, v in wanted.items() if br[col].get(k) != v)
                tracker.add(col, dict((k, br[col].get(k)) for k in changed), changed,
                            "set %s %s" % (col, ", ".join(sorted(changed))))
        if cols:
            ops.append(_ovsdb.op("update_bridge", name=name, columns=cols))
        current_ports = {}
        for pname, port, iface, role in _port_rows(snap, br):
            current_ports[pname] = {
                "tag": port.get("tag"),
                "type": iface.get("type") or "",
                "role": role,
                "mtu": iface.get("mtu_request"),
            }

    internal = []
    if p["ports"] is None:
        return ops, tracker, internal

    member_ids = _ovsdb.owner_ids(_names.OVS_ROLE_MEMBER, bridge=name)
    wanted_names = set()
    for port in p["ports"]:
        pname = port["name"]
        wanted_names.add(pname)
        if port["type"] == "internal":
            internal.append({"name": pname, "addresses": port["addresses"]})
        local = pname == name
        cur = current_ports.get(pname)
        if cur is None:
            other = snap["ports"].get(pname)
            if other is not None:
                if not _ovsdb.is_owned(other["external_ids"]):
                    raise failure("add", "OVS port", pname,
                                  "it already exists on bridge '%s' and was not created by netwire.fabric"
                                  % other["bridge"], NotOwned)
                if other["external_ids"].get(_names.OVS_ROLE_KEY) != _names.OVS_ROLE_MEMBER:
                    raise failure("add", "OVS port", pname, "the name is taken by a netwire.fabric %s port"
                                  % other["external_ids"].get(_names.OVS_ROLE_KEY), InvalidParameter)
                ops.append(_ovsdb.op("del_port", bridge=other["bridge"], name=pname))
                tracker.action("move port %s from bridge %s" % (pname, other["bridge"]))
            iface_cols = {"type": _iface_type(port["type"]), "external_ids": member_ids}
            if port.get("mtu") is not None:
                iface_cols["mtu_request"] = port["mtu"]
            ops.append(_ovsdb.op("add_port", bridge=name, name=pname,
                                 port={"external_ids": member_ids, "tag": port["tag"]}, interface=iface_cols))
            tracker.add("ports.%s" % pname, None, {"type": port["type"], "tag": port["tag"]},
                        "add %s port %s" % (port["type"], pname))
            continue
        if port.get("mtu") is not None and cur.get("mtu") != port["mtu"]:
            ops.append(_ovsdb.op("update_interface", name=pname, columns={"mtu_request": port["mtu"]}))
            tracker.add("ports.%s.mtu" % pname, cur.get("mtu"), port["mtu"],
                        "set mtu of %s to %d" % (pname, port["mtu"]))
        if not local and cur["role"] is None:
            raise failure("manage", "OVS port", pname,
                          "it is on bridge '%s' but was not created by netwire.fabric" % name, NotOwned)
        if not local and cur["role"] != _names.OVS_ROLE_MEMBER:
            raise failure("manage", "OVS port", pname,
                          "it is a netwire.fabric %s port, not a member port" % cur["role"], InvalidParameter)
        if cur["tag"] != port["tag"]:
            ops.append(_ovsdb.op("update_port", name=pname, columns={"tag": port["tag"]}))
            tracker.add("ports.%s.tag" % pname, cur["tag"], port["tag"], "set tag of %s to %s" % (pname, port["tag"]))
        if not local and cur["type"] != _iface_type(port["type"]):
            ops.append(_ovsdb.op("update_interface", name=pname, columns={"type": _iface_type(port["type"])}))
            tracker.add("ports.%s.type" % pname, cur["type"] or "system", port["type"],
                        "set type of %s to %s" % (pname, port["type"]))

    for pname in sorted(current_ports):
        cur = current_ports[pname]
        if cur["role"] == _names.OVS_ROLE_MEMBER and pname not in wanted_names:
            ops.append(_ovsdb.op("del_port", bridge=name, name=pname))
            tracker.add("ports.%s" % pname, {"type": cur["type"] or "system", "tag": cur["tag"]}, None,
                        "remove port %s" % pname)
    return ops, tracker, internal


class OvsBridgeManager(Manager):
    """One OVS bridge, on the run's OVSDB transaction (``ctx.ovs``).

    Standalone (the ovs_bridge module) the transaction is committed by :meth:`run`;
    inside ``ctx.ovs.batch()`` (host_network) with every other OVS change of the run.
    Addresses of internal ports are set over netlink once the transaction is in.
    """

    kind = "OVS bridge"

    def __init__(self, ctx, params):
        super(OvsBridgeManager, self).__init__(ctx, params)
        self.p = normalize_params(params)
        self.warnings = []

    def run(self):
        name = self.p["name"]
        txn = self.ctx.ovs
        snap = txn.snapshot()
        ops, tracker, internal = plan(snap, self.p)
        before = bridge_view(snap, name)
        self._check_system_ports(ops)
        addr_plans = self._plan_addresses(internal, tracker)
        new = snap["bridges"].get(name) is None
        txn.add(ops, (), tracker.actions, what=("configure", "OVS bridge", name))
        after = bridge_view(txn.snapshot(), name)
        if new and ops:
            self.ctx.expect(name, "openvswitch")  # check mode: later managers see the bridge's port
        txn.after_commit(self._apply_addresses, addr_plans)
        announcement = self._plan_announce(snap, addr_plans, tracker)
        if announcement:
            txn.after_commit(self._announce, *announcement)
        if txn.commit():
            after = bridge_view(txn.snapshot(), name)
        for view in (before, after):
            for pname, addrs in self._addresses_view(addr_plans, view is after).items():
                if pname in view.get("ports", {}):
                    view["ports"][pname]["addresses"] = addrs
        result = Result(tracker.changed, tracker.actions, tracker.diff(before, after), label=name, bridge=after)
        result.warnings = self.warnings  # the announcement may run later, after host_network's one commit
        return result

    def _plan_announce(self, snap, addr_plans, tracker):
        """``(mac, addresses)`` to announce: the new MAC (``other_config:hwaddr``) of an existing bridge whose
        internal port has IPv4 addresses (its neighbors, the containers whose gateway it is, hold the old one)."""
        name, mac = self.p["name"], self.p["other_config"].get("hwaddr")
        br = snap["bridges"].get(name)
        if br is None or not mac or br["other_config"].get("hwaddr") == mac:
            return None
        addresses = [a for i in addr_plans if i["name"] == name for a in i["wanted"]]
        if not _garp.ipv4_addresses(addresses):
            return None
        tracker.action("announce the new MAC of %s (gratuitous ARP)" % name)
        return mac.lower(), addresses

    def _announce(self, mac, addresses):
        """OVS gives the internal port its MAC after the transaction: wait for it, then announce it."""
        name = self.p["name"]
        link = _linkops.wait_link(self.ctx, name, timeout=ANNOUNCE_WAIT, until=lambda l: l.get("mac") == mac)
        if (link or {}).get("mac") != mac:
            self.warnings.append("OVS did not give %s its MAC %s within %d s: not announced; neighbors relearn it"
                                 " when their entry goes stale" % (name, mac, ANNOUNCE_WAIT))
            return
        warning = _garp.announce_or_warning(name, mac, addresses)
        if warning:
            self.warnings.append(warning)

    @classmethod
    def purge(cls, ctx, keep=None):
        """Queue the removal of our bridges not in ``keep`` (None: all) on ``ctx.ovs``.

        A port that is not ours is never deleted with our bridge: that refuses the
        whole run, before anything is sent.
        """
        txn = ctx.ovs
        if not txn.socket_exists():
            return []
        sim = txn.snapshot()
        refuse_foreign_ports(foreign_ports(sim, keep=keep or ()))
        out = []
        # fake VLAN bridges first: a parent goes after its children
        for name in sorted(sim["ports"]):
            port = sim["ports"][name]
            if not (_fake.is_fake(port) and _ovsdb.is_owned(port["external_ids"])) or (keep and name in keep):
                continue
            before = _fake.view(sim, name)
            txn.add([_ovsdb.op("del_port", bridge=port["bridge"], name=name)],
                    what=("remove", "fake VLAN bridge", name))
            out.append(Result(True, ["delete fake VLAN bridge %s (owned, not declared)" % name],
                              {"before": before, "after": {"name": name, "state": "absent"}}, label=name))
        for name in sorted(sim["bridges"]):
            br = sim["bridges"][name]
            if not _ovsdb.is_owned(br["external_ids"]) or br["external_ids"].get(_names.OVS_ROLE_KEY) not in (
                    None, _names.OVS_ROLE_BRIDGE):
                continue
            if keep is None or name not in keep:
                before = bridge_view(sim, name)
                txn.add([_ovsdb.op("del_bridge", name=name)], what=("remove", "OVS bridge", name))
                out.append(Result(True, ["delete OVS bridge %s (owned, not declared)" % name],
                                  {"before": before, "after": {"name": name, "state": "absent"}}, label=name,
                                  external_ids=dict(br["external_ids"])))
        return out

    def _check_system_ports(self, ops):
        """A host interface must exist before it becomes a port: fail before the transaction."""
        wanted = [o["name"] for o in ops if o["op"] == "add_port" and not o["interface"].get("type")]
        missing = [n for n in wanted if self.ctx.link(n) is None]
        if missing:
            raise failure("add", "ports to OVS bridge", self.p["name"],
                          "no such host interface: %s (use type internal to create an OVS internal port)"
                          % ", ".join(missing), InvalidParameter)

    def _plan_addresses(self, internal, tracker):
        plans = []
        for item in internal:
            state = _linkops.link_state(self.ctx, item["name"])
            old = None
            if item.get("fresh"):  # the run makes it again: nothing of the present one stays
                link = self.ctx.link(item["name"])
                old = link["index"] if link else None
                state = dict(state, addresses=[], up=False)
            want = item["addresses"] if item["addresses"] is not None else state["addresses"]
            add, remove = _linkops.diff_addresses(state["addresses"], want)
            plans.append({"name": item["name"], "current": state["addresses"], "wanted": want,
                          "add": add, "remove": remove, "up": state["up"], "replaces": old})
            if add or remove:
                tracker.add("ports.%s.addresses" % item["name"], state["addresses"], want,
                            "set addresses of %s: %s" % (item["name"], ", ".join(want) or "none"))
            if not state["up"]:
                tracker.action("set %s up" % item["name"])
        return plans

    def _apply_addresses(self, plans):
        for item in plans:
            if item.get("replaces") is not None:  # the new interface, not the one OVS is about to delete
                _linkops.wait_link(self.ctx, item["name"], timeout=ANNOUNCE_WAIT,
                                   until=lambda link, old=item["replaces"]: link.get("index") != old)
            if item["add"] or item["remove"] or not item["up"]:
                _linkops.converge_link(self.ctx, item["name"], item["add"], item["remove"],
                                       what="OVS internal port", waiting_for="the OVSDB transaction")
        self.ctx.invalidate()

    @staticmethod
    def _addresses_view(plans, after):
        return dict((i["name"], i["wanted"] if after else i["current"]) for i in plans)


def foreign_ports(snap, keep=()):
    """``{bridge: [port, ...]}``: ports we do not own on the bridges of ours that are not in ``keep``."""
    found = {}
    for name in sorted(snap["bridges"]):
        br = snap["bridges"][name]
        if name in keep or not _ovsdb.is_owned(br["external_ids"]) or \
                br["external_ids"].get(_names.OVS_ROLE_KEY) not in (None, _names.OVS_ROLE_BRIDGE):
            continue
        ports = sorted(p for p in br["ports"] if not _ovsdb.is_owned(snap["ports"].get(p, {}).get("external_ids")))
        if ports:
            found[name] = ports
    return found
