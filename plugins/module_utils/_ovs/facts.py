# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only OVS facts for net_info: the bridges, fake VLAN bridges, member ports, tunnels and
container attachments netwire owns (one bulk OVSDB read, no transaction)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.module_utils._ovs import ovsdb as _ovsdb


def empty():
    return {"bridges": [], "fake_bridges": [], "ports": [], "tunnels": [], "attachments": []}


def facts_from_snapshot(snap):
    """Pure: owned OVS objects of a snapshot, grouped for net_info."""
    out = empty()
    for name, br in sorted(snap["bridges"].items()):
        if not _ovsdb.is_owned(br["external_ids"]):
            continue
        out["bridges"].append({
            "name": name,
            "datapath_type": br["datapath_type"] or "system",
            "fail_mode": br["fail_mode"],
            "external_ids": dict(br["external_ids"]),
            "other_config": dict(br["other_config"]),
            "ports": list(br["ports"]),
        })
    for name, port in sorted(snap["ports"].items()):
        ids = port["external_ids"]
        if not _ovsdb.is_owned(ids):
            continue
        iface = snap["interfaces"].get(name, {})
        role = ids.get(_names.OVS_ROLE_KEY)
        entry = {
            "name": name,
            "bridge": port["bridge"],
            "type": iface.get("type") or "system",
            "tag": port["tag"],
            "ofport": iface.get("ofport"),
            "error": iface.get("error"),
        }
        if role == _names.OVS_ROLE_TUNNEL:
            entry.update(network=ids.get(_names.OVS_NETWORK_KEY), remote=ids.get(_names.OVS_REMOTE_KEY),
                         options=dict(iface.get("options", {})))
            out["tunnels"].append(entry)
        elif role == _names.OVS_ROLE_ATTACH:
            entry.update(network=ids.get(_names.OVS_NETWORK_KEY), container=ids.get(_names.OVS_CONTAINER_KEY),
                         interface=ids.get(_names.OVS_INTERFACE_KEY))
            out["attachments"].append(entry)
        elif role == _names.OVS_ROLE_MEMBER:
            out["ports"].append(entry)
        elif role == _names.OVS_ROLE_FAKE_BRIDGE:
            # a fake VLAN bridge (fake_bridge.py): an internal port of its parent, on the VLAN
            out["fake_bridges"].append({"name": name, "parent": port["bridge"], "vlan": port["tag"],
                                        "ofport": iface.get("ofport"), "error": iface.get("error")})
    return out


def ovs_facts(socket_path=None, timeout=10, client=None):
    """OVS facts of this host; ``{'available': False, ...}`` when OVS is not running.

    Absence of Open vSwitch is a fact here, not an error (net_info also runs on
    hosts that only use Linux bridges).
    """
    client = client or _ovsdb.OvsdbClient(socket_path, timeout)
    if not _ovsdb.HAS_OVSDBAPP:
        return dict(empty(), available=False, reason="the Python library ovsdbapp is not installed")
    if client.endpoint.startswith("unix:") and not os.path.exists(client.socket_path):
        return dict(empty(), available=False, reason="Open vSwitch is not running (no %s)" % client.socket_path)
    with client:
        snap = client.snapshot()
    out = facts_from_snapshot(snap)
    out["available"] = True
    return out
