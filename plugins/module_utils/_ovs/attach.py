# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Container attachments on Open vSwitch: the host end of a veth as a port of
an OVS bridge.

The port and its interface carry external_ids naming owner, role
(``attach``), container, interface and network, so a rerun finds the port
again after a container restart (:func:`find_stale_ports`), even when the host
end got a new name. Access VLAN via the port's ``tag``. On a netdev (userspace)
bridge TX checksum offload is turned off on the veth, or TCP fails across the
bridge while ping works; and the host end answers ARP only for its own addresses
(none), or the host answers the container's ARP for its gateway with the veth's
MAC (_linux/sysctl.py).

Used by container_attach's bridge backend seam (``_host/attach.py``) through
:class:`OvsBridgeBackend`; the planners are pure and unit-tested.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools


from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.module_utils._ovs import ovsdb as _ovsdb
from ansible_collections.netwire.fabric.plugins.module_utils._ovs import fake_bridge as _fake
from ansible_collections.netwire.fabric.plugins.module_utils._linux import ethtool as _ethtool
from ansible_collections.netwire.fabric.plugins.module_utils._linux import garp as _garp
from ansible_collections.netwire.fabric.plugins.module_utils._linux import sysctl as _sysctl
from ansible_collections.netwire.fabric.plugins.module_utils._errors import (
    InvalidParameter,
    NetwireError,
    NotOwned,
    failure,
)
from ansible_collections.netwire.fabric.plugins.module_utils import _validate as v
from ansible_collections.netwire.fabric.plugins.module_utils._validate import valid


def attach_ids(container, interface, network=None, bridge=None):
    return _ovsdb.owner_ids(_names.OVS_ROLE_ATTACH, container=container, interface=interface,
                            network=network, bridge=bridge)


def find_stale_ports(snap, container, interface, network=None, keep=None):
    """Our attachment ports for (container, interface[, network]) other than ``keep``.

    After a container restart the old host end is gone; its OVS port lingers
    (ofport -1). A rerun removes these before (or while) attaching again.
    """
    out = []
    for name, port in sorted(snap["ports"].items()):
        ids = port["external_ids"]
        if not _ovsdb.is_owned(ids) or ids.get(_names.OVS_ROLE_KEY) != _names.OVS_ROLE_ATTACH:
            continue
        if ids.get(_names.OVS_CONTAINER_KEY) != container or ids.get(_names.OVS_INTERFACE_KEY) != interface:
            continue
        if network is not None and ids.get(_names.OVS_NETWORK_KEY) != network:
            continue
        if name != keep:
            out.append(name)
    return out


def find_stale_port(snap, container, interface, network=None, keep=None):
    """The first stale attachment port (see :func:`find_stale_ports`), or None."""
    ports = find_stale_ports(snap, container, interface, network, keep)
    return ports[0] if ports else None


def is_netdev_bridge(snap, bridge):
    br = snap["bridges"].get(bridge)
    return bool(br) and br["datapath_type"] == "netdev"


def plan_attach(snap, bridge, port, container, interface, network=None, tag=None, remove_stale=True):
    """Pure planner: (ops, actions) to make ``port`` an attachment port of ``bridge``."""
    valid(v.ifname, port, "port name")
    if tag is not None and (isinstance(tag, bool) or not 0 <= int(tag) <= 4095):
        raise InvalidParameter("Invalid VLAN tag '%s' for port '%s': VLAN ids are 0..4095" % (tag, port))
    tag = None if tag is None else int(tag)
    br = snap["bridges"].get(bridge)
    if br is None:
        raise failure("attach", "port", port, "OVS bridge '%s' does not exist" % bridge, InvalidParameter)
    if not _ovsdb.is_owned(br["external_ids"]):
        raise failure("attach", "port", port, "OVS bridge '%s' was not created by netwire.fabric" % bridge, NotOwned)
    ids = attach_ids(container, interface, network, bridge)
    ops, actions = [], []
    if remove_stale:
        for name in find_stale_ports(snap, container, interface, network, keep=port):
            ops.append(_ovsdb.op("del_port", bridge=snap["ports"][name]["bridge"], name=name))
            actions.append("remove stale OVS port %s" % name)
    cur = snap["ports"].get(port)
    if cur is not None and not _ovsdb.is_owned(cur["external_ids"]):
        raise failure("attach", "port", port, "a port of that name exists on bridge '%s' and was not created by "
                      "netwire.fabric" % cur["bridge"], NotOwned)
    if cur is not None and cur["external_ids"].get(_names.OVS_ROLE_KEY) != _names.OVS_ROLE_ATTACH:
        raise failure("attach", "port", port, "the name is used by a netwire.fabric %s port"
                      % cur["external_ids"].get(_names.OVS_ROLE_KEY), InvalidParameter)
    if cur is not None and cur["bridge"] != bridge:
        ops.append(_ovsdb.op("del_port", bridge=cur["bridge"], name=port))
        actions.append("move OVS port %s from bridge %s" % (port, cur["bridge"]))
        cur = None
    if cur is None:
        ops.append(_ovsdb.op("add_port", bridge=bridge, name=port, port={"external_ids": ids, "tag": tag},
                             interface={"external_ids": ids}))
        actions.append("add port %s to OVS bridge %s%s" % (port, bridge, "" if tag is None else " (tag %d)" % tag))
        return ops, actions
    if cur["tag"] != tag:
        ops.append(_ovsdb.op("update_port", name=port, columns={"tag": tag}))
        actions.append("set tag of %s to %s" % (port, tag))
    if cur["external_ids"] != ids:
        ops.append(_ovsdb.op("update_port", name=port, columns={"external_ids": ids}))
        ops.append(_ovsdb.op("update_interface", name=port, columns={"external_ids": ids}))
        actions.append("update external_ids of %s" % port)
    iface = snap["interfaces"].get(port) or {}
    if iface.get("type"):
        ops.append(_ovsdb.op("update_interface", name=port, columns={"type": ""}))
        actions.append("set type of %s to system" % port)
    return ops, actions


def plan_detach(snap, container, interface, network=None):
    """Pure planner: remove every attachment port of (container, interface)."""
    ops, actions = [], []
    for name in find_stale_ports(snap, container, interface, network):
        ops.append(_ovsdb.op("del_port", bridge=snap["ports"][name]["bridge"], name=name))
        actions.append("remove OVS port %s" % name)
    return ops, actions


class OvsBridgeBackend(object):
    """container_attach's bridge backend for Open vSwitch (see ``_host/backends.BridgeBackend``).

    Duck-typed rather than subclassed so that ``_attach`` can import and
    register it without an import cycle. Stateless: it reads and writes OVSDB
    through the run's transaction, ``ctx.ovs`` (opened only when an OVS bridge
    is involved; hosts without OVS never pay for it). Each attachment commits
    its own changes, one transaction; inside ``ctx.ovs.batch()`` (host_network)
    the ports of all attachments go in one.

    Parameters it reads from container_attach: ``container``, ``container_type``,
    ``ifname``, ``vlan_tag`` (access VLAN) and ``network`` (recorded in
    external_ids).
    """

    name = "ovs"

    def __init__(self, netns_resolver=None):
        self._netns_resolver = netns_resolver

    # -- the seam
    def detect(self, ctx, bridge, netns=None):
        if not ctx.ovs.available():
            return False
        snap = ctx.ovs.snapshot()
        return bridge in snap["bridges"] or _fake.resolve(snap, bridge) is not None

    def bridge_mtu(self, ctx, bridge, netns=None):
        link = ctx.link(bridge, netns)
        return link["mtu"] if link else 1500

    def port_state(self, ctx, host_link, netns=None):
        if not ctx.ovs.available():
            return {"bridge": None}
        port = ctx.ovs.snapshot()["ports"].get(host_link["ifname"])
        if not port or not _ovsdb.is_owned(port["external_ids"]):
            return {"bridge": None}
        return {"bridge": port["bridge"], "vlan_tag": port["tag"]}

    def plan_attach(self, plan, ctx, host_ifname, index_ref, bridge, params, current, netns=None):
        snap = ctx.ovs.snapshot()
        container = str(params["container"])
        ifname = params.get("ifname") or "eth1"
        network = params.get("network")
        tag = params.get("vlan_tag")
        fake = _fake.resolve(snap, bridge)
        if fake is not None:
            # a port "on" a fake VLAN bridge is a port of its parent with its VLAN (as ovs-vsctl does it)
            if tag is not None and tag != fake[1]:
                raise InvalidParameter("vlan_tag %s on the fake VLAN bridge '%s' of VLAN %s: leave vlan_tag out"
                                       % (tag, bridge, fake[1]))
            bridge, tag = fake
        ops, actions = plan_attach(snap, bridge, host_ifname, container, ifname, network, tag)
        netdev = is_netdev_bridge(snap, bridge)
        if netdev and (not current or _sysctl.answers_foreign_arp(host_ifname, netns)):
            # before the port joins the bridge: the host must never answer the container's ARP
            # through this link (see _linux/sysctl.py)
            plan.step("answer ARP only for its own addresses on %s (arp_ignore=1; userspace datapath)"
                      % host_ifname, _sysctl.answer_own_arp_only, host_ifname, netns)
            gateway = ctx.link(params["bridge"], netns) if current else None
            if gateway is not None:
                # the container may hold the host end's MAC for its gateway (learnt while the host end
                # answered): the bridge announces its addresses again, so the entry is right at once
                addresses = ctx.link_addresses(gateway["index"], netns)
                plan.step("announce %s from %s's MAC (gratuitous ARP)" % (", ".join(addresses), params["bridge"]),
                          _garp.announce_or_warning, params["bridge"], gateway["mac"], addresses, netns)
        if not current and host_ifname in snap["ports"] and not any(o["op"] == "add_port" for o in ops):
            # The veth is (re)created by this run (container restart) while OVS still has the port.
            # ovs-vswitchd keeps its socket on the old, deleted device even when the port is deleted and
            # added back in one transaction, so this recovery path takes two: remove, then add.
            removal = [o for o in ops if o["op"] == "del_port"] + [
                _ovsdb.op("del_port", bridge=snap["ports"][host_ifname]["bridge"], name=host_ifname)]
            addition = plan_attach(_without_port(snap, host_ifname), bridge, host_ifname, container, ifname,
                                   network, tag, remove_stale=False)[0]
            actions = [a for a in actions if a.startswith("remove stale")] + [
                "re-add OVS port %s on bridge %s for the new veth" % (host_ifname, bridge)]
            plan.step("; ".join(actions), functools.partial(self._apply_sequence, ctx), [removal, addition], host_ifname)
        elif ops:
            plan.step("; ".join(actions), functools.partial(self._apply, ctx), ops, host_ifname)
        if netdev:
            peer_ns = self._peer_netns(params)
            needs = not current
            if not needs:
                try:
                    needs = (_ethtool.tx_checksum_enabled(host_ifname, netns)
                             or _ethtool.tx_checksum_enabled(ifname, peer_ns))
                except (OSError, IOError):
                    needs = True
            if needs:
                plan.step("turn TX checksum offload off on %s and %s (userspace datapath)" % (host_ifname, ifname),
                          self._offload_off, host_ifname, netns, ifname, peer_ns)
        return {"bridge": bridge, "vlan_tag": None if tag is None else int(tag)}

    def plan_detach(self, plan, ctx, host_ifname, host_link, netns=None):
        if not ctx.ovs.available():
            return None
        port = ctx.ovs.snapshot()["ports"].get(host_ifname)
        if not port or not _ovsdb.is_owned(port["external_ids"]):
            return None
        if port["external_ids"].get(_names.OVS_ROLE_KEY) != _names.OVS_ROLE_ATTACH:
            return None
        plan.step("remove OVS port %s from bridge %s" % (host_ifname, port["bridge"]),
                  functools.partial(self._apply, ctx), [_ovsdb.op("del_port", bridge=port["bridge"], name=host_ifname)],
                  None)
        return None

    def plan_detach_orphans(self, plan, ctx, container, ifname, netns=None):
        """Our attachment ports of (container, ifname) whose host end no longer exists.

        When the container is removed, its veth dies with its namespace, but the OVS
        port stays (ofport -1). Ports whose interface still exists are left alone:
        they are found through their host end (:meth:`plan_detach`), or they are
        not this attachment's.
        """
        if not ctx.ovs.available():
            return None
        snap = ctx.ovs.snapshot()
        for name in find_stale_ports(snap, container, ifname):
            if ctx.link(name, netns) is not None:
                continue
            port = snap["ports"][name]
            plan.step("remove OVS port %s from bridge %s (its host end is gone)" % (name, port["bridge"]),
                      functools.partial(self._apply, ctx), [_ovsdb.op("del_port", bridge=port["bridge"], name=name)],
                      None)
        return None

    @staticmethod
    def after_attach(ctx, func, *args):
        """Steps that need the port on its bridge (gratuitous ARP) wait for the transaction."""
        ctx.ovs.after_commit(func, *args)

    @staticmethod
    def purge(ctx, keep=None):
        """Remove our attachment ports from OVS but those named in ``keep`` (None: all), in one
        transaction of their own; returns (ports removed) or [] (none, or no OVS here)."""
        txn = ctx.ovs
        try:
            if not txn.socket_exists():
                return []
            snap = txn.snapshot()
            ops = [_ovsdb.op("del_port", bridge=port["bridge"], name=name)
                   for name, port in sorted(snap["ports"].items())
                   if _ovsdb.is_owned(port["external_ids"])
                   and port["external_ids"].get(_names.OVS_ROLE_KEY) == _names.OVS_ROLE_ATTACH
                   and (keep is None or name not in keep)]
            if ops:
                txn.add(ops, what=("remove", "OVS attachment ports", "all"))
                txn.commit()
        except NetwireError:
            return []
        return [o["name"] for o in ops]

    # -- steps (run by the Plan, never in check mode)
    @staticmethod
    def _apply(ctx, ops, port):
        if port:
            ctx.ovs.add(ops, [port], what=("attach", "OVS port", port))
        else:
            ctx.ovs.add(ops, what=("detach", "OVS port", ""))
        ctx.ovs.commit()

    @staticmethod
    def _apply_sequence(ctx, batches, port):
        ctx.ovs.add_removal(batches[0])
        ctx.ovs.add(batches[1], [port], what=("attach", "OVS port", port))
        ctx.ovs.commit()

    @staticmethod
    def _offload_off(host_ifname, netns, ifname, peer_ns):
        _ethtool.disable_tx_checksum(host_ifname, netns)
        _ethtool.disable_tx_checksum(ifname, peer_ns)

    def _peer_netns(self, params):
        if self._netns_resolver is not None:
            return self._netns_resolver(params)
        from ansible_collections.netwire.fabric.plugins.module_utils._linux.netns import resolve

        return resolve(params["container"], params.get("container_type") or "auto").path


def _without_port(snap, name):
    out = {"bridges": dict(snap["bridges"]), "ports": dict(snap["ports"]), "interfaces": dict(snap["interfaces"])}
    out["ports"].pop(name, None)
    out["interfaces"].pop(name, None)
    return out
