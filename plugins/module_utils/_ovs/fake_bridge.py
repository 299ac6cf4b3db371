# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fake VLAN bridges (issue 19; the wire tool's and ``ovs-vsctl add-br <child> <parent> <vlan>``).

A fake bridge is no Bridge row: it is an internal Port of its parent (a trunk bridge) with
``fake_bridge=true`` and ``tag=<vlan>``, so the host gets an interface ``<child>`` on that VLAN (its MTU,
MAC and addresses may be set, as a bridge's own port: the model's gateway of a network on a trunk), and a
port "on" the child is a port of the parent with the child's tag (``ovs-vsctl`` resolves it so;
container_attach's OVS backend does the same with :func:`resolve`). The parent is created first and
deleted last: the parent's removal is refused while a fake bridge of ours sits on it, and the purge
removes fake bridges before bridges. The planners are pure.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.module_utils._diff import DifferenceTracker
from ansible_collections.netwire.fabric.plugins.module_utils._errors import InvalidParameter, NotOwned, failure
from ansible_collections.netwire.fabric.plugins.module_utils._ovs import ovsdb as _ovsdb


def fake_ids(parent, vlan):
    return _ovsdb.owner_ids(_names.OVS_ROLE_FAKE_BRIDGE, bridge=parent, vlan=vlan)


def is_fake(port):
    """Is this snapshot Port a fake bridge (ours or someone else's)?"""
    return bool(port and (port.get("fake_bridge") or
                          port["external_ids"].get(_names.OVS_ROLE_KEY) == _names.OVS_ROLE_FAKE_BRIDGE))


def resolve(snap, name):
    """``(parent, vlan)`` when ``name`` is a fake bridge, else None."""
    port = snap["ports"].get(name)
    if not is_fake(port):
        return None
    return port["bridge"], port["tag"]


def children(snap, bridge):
    """The fake bridges on ``bridge``, by name."""
    return sorted(n for n in snap["bridges"].get(bridge, {}).get("ports", []) if is_fake(snap["ports"].get(n)))


def view(snap, name):
    port = snap["ports"].get(name)
    if port is None:
        return {"name": name, "state": "absent"}
    return {"name": name, "state": "present", "owned": _ovsdb.is_owned(port["external_ids"]),
            "parent": port["bridge"], "vlan": port["tag"]}


def plan(snap, p):
    """Pure planner of the fake bridge ``p['name']`` on ``p['parent']`` with VLAN ``p['vlan']``: (ops, tracker)."""
    name, tracker, ops = p["name"], DifferenceTracker(), []
    verb = "manage" if p["state"] == "present" else "remove"
    if name in snap["bridges"] and p["state"] == "present" and _ovsdb.is_owned(snap["bridges"][name]["external_ids"]):
        # a network of ours moves onto a trunk: its own bridge goes (container ports are attached again, on
        # the trunk, by the run's attachments), never with a port that is not ours
        foreign = sorted(n for n in snap["bridges"][name]["ports"]
                         if not _ovsdb.is_owned(snap["ports"].get(n, {}).get("external_ids")))
        if foreign:
            raise failure(verb, "fake VLAN bridge", name, "bridge '%s' carries ports netwire.fabric does not own (%s);"
                          " it stays a bridge: remove them first" % (name, ", ".join(foreign)), NotOwned)
        if _names.OVS_UNDERLAY_NIC_KEY in snap["bridges"][name]["external_ids"]:
            raise failure(verb, "fake VLAN bridge", name, "'%s' is the bridge of the host's underlay NIC" % name,
                          InvalidParameter)
        refuse_removal_with_children(snap, name)
        ops.append(_ovsdb.op("del_bridge", name=name))
        tracker.action("delete bridge %s (it becomes a fake VLAN bridge of %s)" % (name, p["parent"]))
        snap = _ovsdb.simulate(snap, ops)
    if name in snap["bridges"]:
        raise failure(verb, "fake VLAN bridge", name, "'%s' is a bridge of its own, not a fake VLAN bridge" % name,
                      InvalidParameter)
    port = snap["ports"].get(name)
    if port is not None and not (_ovsdb.is_owned(port["external_ids"]) and is_fake(port)):
        raise failure(verb, "fake VLAN bridge", name, "a port '%s' exists on bridge '%s' and is not netwire's fake"
                      " VLAN bridge; it is left alone" % (name, port["bridge"]), NotOwned)
    if p["state"] == "absent":
        if port is not None:
            ops.append(_ovsdb.op("del_port", bridge=port["bridge"], name=name))
            tracker.add("state", "present", "absent", "delete fake VLAN bridge %s (VLAN %s of %s)"
                        % (name, port["tag"], port["bridge"]))
        return ops, tracker
    parent = snap["bridges"].get(p["parent"])
    if parent is None:
        raise failure("create", "fake VLAN bridge", name, "its parent bridge '%s' does not exist (the parent"
                      " comes first)" % p["parent"], InvalidParameter)
    if not _ovsdb.is_owned(parent["external_ids"]):
        raise failure("create", "fake VLAN bridge", name, "its parent bridge '%s' was not created by"
                      " netwire.fabric" % p["parent"], NotOwned)
    ids = fake_ids(p["parent"], p["vlan"])
    if port is not None and port["bridge"] != p["parent"]:
        ops.append(_ovsdb.op("del_port", bridge=port["bridge"], name=name))
        tracker.action("move fake VLAN bridge %s from %s" % (name, port["bridge"]))
        port = None
    iface = _interface_columns(p)
    if port is None:
        ops.append(_ovsdb.op("add_port", bridge=p["parent"], name=name,
                             port={"external_ids": ids, "tag": p["vlan"], "fake_bridge": True},
                             interface=dict(iface, type="internal", external_ids=ids)))
        tracker.add("state", "absent", "present", "create fake VLAN bridge %s (VLAN %d of %s)"
                    % (name, p["vlan"], p["parent"]))
        return ops, tracker
    if port["tag"] != p["vlan"]:
        ops.append(_ovsdb.op("update_port", name=name, columns={"tag": p["vlan"], "external_ids": ids}))
        tracker.add("vlan", port["tag"], p["vlan"], "set VLAN of fake bridge %s to %d" % (name, p["vlan"]))
    cur = snap["interfaces"].get(name) or {}
    changed = dict((col, want) for col, want in iface.items() if cur.get(col) != want)
    if changed:
        ops.append(_ovsdb.op("update_interface", name=name, columns=changed))
        for col in sorted(changed):
            tracker.add(_WHAT[col], cur.get(col), changed[col], "set %s of fake bridge %s to %s"
                        % (_WHAT[col], name, changed[col]))
    return ops, tracker


_WHAT = {"mtu_request": "mtu", "mac": "mac"}


def _interface_columns(p):
    """The columns of the fake bridge's interface the parameters set: its MTU (``ports``' own entry) and its MAC
    (``other_config: hwaddr``, as a bridge's: the containers' gateway keeps it across restarts). Unset ones are
    left as they are."""
    cols = {}
    for port in p.get("ports") or []:
        if port.get("mtu") is not None:
            cols["mtu_request"] = port["mtu"]
    if (p.get("other_config") or {}).get("hwaddr"):
        cols["mac"] = p["other_config"]["hwaddr"]
    return cols


def refuse_removal_with_children(snap, bridge):
    """A parent goes after its fake bridges: refuse while one of ours sits on it."""
    ours = [n for n in children(snap, bridge) if _ovsdb.is_owned(snap["ports"][n]["external_ids"])]
    if ours:
        raise failure("remove", "OVS bridge", bridge, "the fake VLAN bridge%s %s sit%s on it: remove %s first"
                      % ("s" if len(ours) > 1 else "", ", ".join(ours), "" if len(ours) > 1 else "s",
                         "them" if len(ours) > 1 else "it"), InvalidParameter)
