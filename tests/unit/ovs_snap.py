"""Builders for OVSDB snapshots (the plain dicts _ovsdb.snapshot_from_rows returns)."""

from ansible_collections.netwire.fabric.plugins.module_utils._ovs import ovsdb as _ovsdb


def snap(*bridges):
    """snap(bridge(...), bridge(...)) -> a full snapshot."""
    out = _ovsdb.empty_snapshot()
    for br, ports, ifaces in bridges:
        out["bridges"][br["name"]] = br
        out["ports"].update(ports)
        out["interfaces"].update(ifaces)
    return out


def bridge(name, owned=True, datapath_type="netdev", fail_mode=None, external_ids=None, other_config=None, ports=()):
    """A bridge with its local port plus ``ports`` (made with :func:`port`)."""
    ids = dict(_ovsdb.owner_ids("bridge") if owned else {}, **(external_ids or {}))
    all_ports = [port(name, itype="internal", ids=ids)] + list(ports)
    br = {"name": name, "datapath_type": datapath_type, "fail_mode": fail_mode, "external_ids": ids,
          "other_config": dict(other_config or {}), "ports": sorted(p["name"] for p, _iface in all_ports)}
    pmap, imap = {}, {}
    for p, i in all_ports:
        p["bridge"] = name
        pmap[p["name"]] = p
        imap[i["name"]] = i
    return br, pmap, imap


def port(name, itype="", ids=None, tag=None, options=None, ofport=1, error=None):
    p = {"name": name, "bridge": None, "tag": tag, "external_ids": dict(ids or {}), "interfaces": [name]}
    i = {"name": name, "port": name, "type": itype, "options": dict(options or {}),
         "external_ids": dict(ids or {}), "ofport": ofport, "error": error}
    return p, i


def member(name, bridge_name, itype="", tag=None):
    return port(name, itype, _ovsdb.owner_ids("member", bridge=bridge_name), tag=tag)


def foreign(name, itype="", tag=None):
    return port(name, itype, {"some-tool": "x"}, tag=tag)


def apply_ops(s, ops):
    """Apply planner ops to a snapshot in place (the module's own simulator)."""
    new = _ovsdb.simulate(s, ops)
    s.clear()
    s.update(new)
    return s


class FakeClient(object):
    """Stands in for _ovsdb.OvsdbClient in manager tests: an in-memory OVSDB."""

    def __init__(self, s, errors=None):
        self.s = s
        self.errors = dict(errors or {})
        self.transactions = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def snapshot(self):
        import copy
        return copy.deepcopy(self.s)

    def apply(self, ops, *args):
        self.seen_ops = getattr(self, "seen_ops", []) + [ops]
        if ops:
            self.transactions.append(ops)
            apply_ops(self.s, ops)
        new = [o["name"] for o in ops if o["op"] in ("add_port", "add_bridge")]
        for name in new:  # what ovs-vswitchd does after the transaction
            if name in self.s["interfaces"]:
                self.s["interfaces"][name]["ofport"] = -1 if name in self.errors else 7
        return new

    # the real roll-back logic, over this fake's apply/interface_errors
    apply_checked = _ovsdb.OvsdbClient.apply_checked

    def interface_errors(self, names, settle=0):
        return dict((n, self.errors[n]) for n in names if n in self.errors)


class FakeNetlink(object):
    """The netlink side of a Context in OVS manager tests: ``ipr()`` gives the IPRoute stand-in."""

    def __init__(self, ipr=None):
        self._ipr = ipr

    def ipr(self, netns=None):
        return self._ipr() if callable(self._ipr) else self._ipr

    def links(self, netns=None):
        return {}

    def invalidate(self, netns=None):
        pass

    def close(self):
        pass


def ovs_ctx(client, check_mode=False, ipr=None, netlink=None):
    """A run's Context over a FakeClient (its OVSDB transaction) and an IPRoute stand-in."""
    from ansible_collections.netwire.fabric.plugins.module_utils._contract import Context
    from ansible_collections.netwire.fabric.plugins.module_utils._ovs.transaction import OvsTransaction

    return Context(check_mode, netlink=netlink or FakeNetlink(ipr), ovs=OvsTransaction(client=client, check_mode=check_mode))
