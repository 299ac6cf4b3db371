# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's one door to OVSDB (ovsdbapp).

A run does three things here, always in this order:

1. :meth:`OvsdbClient.snapshot` reads the Bridge, Port and Interface tables in
   bulk, in one OVSDB ``transact`` of three ``select`` (only the columns in
   :data:`COLUMNS`), and turns the reply into plain dicts (so planners are pure
   functions over data and unit-testable without OVS);
2. a planner (``_ovs_bridge``, ``_ovs_tunnel``, ``_ovs_attach``) returns a list
   of plain *ops* (dicts, see :func:`op`);
3. :meth:`OvsdbClient.apply` executes every op in ONE OVSDB transaction (through
   ovsdbapp's IDL, opened at the run's first transaction: a run that changes
   nothing never replicates the database), waits
   for ovs-vswitchd to finish reconfiguring (ovsdbapp's ``next_cfg`` handshake)
   and :meth:`OvsdbClient.interface_errors` reports interfaces that did not get
   a valid ofport, with OVS's own ``error`` column.

Ownership lives in ``external_ids``: ``_names.OVS_OWNER_KEY`` = ``_names.OVS_OWNER``
on every Bridge, Port and Interface we create, plus a role and the overlay/remote or
container it belongs to. Anything without the mark is never modified or removed.
The marks (the ``OVS_*`` keys and roles) are defined in ``module_utils/_names.py``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import errno
import json
import logging
import os
import re
import time

from ansible_collections.netwire.fabric.plugins.module_utils._errors import (
    BackendError,
    MissingDependency,
    failure,
)
from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.module_utils._ovs import rpcjson as _rpcjson

try:
    from ovsdbapp.backend.ovs_idl import command as _ovs_command
    from ovsdbapp.backend.ovs_idl import connection as _ovs_connection
    from ovsdbapp.backend.ovs_idl import idlutils as _idlutils
    from ovsdbapp.schema.open_vswitch import impl_idl as _impl_idl
    from ovs import jsonrpc as _jsonrpc
    from ovs import poller as _poller
    from ovs import stream as _stream

    HAS_OVSDBAPP = True
    OVSDBAPP_IMPORT_ERROR = None
    _BaseCommand = _ovs_command.BaseCommand
except ImportError as exc:  # pragma: no cover - depends on the host
    HAS_OVSDBAPP = False
    OVSDBAPP_IMPORT_ERROR = exc
    _BaseCommand = object

_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\r\n]*")

DEFAULT_SOCKET = _names.OVSDB_SOCKET
DEFAULT_TIMEOUT = _names.OVSDB_TIMEOUT

TABLES = ("Open_vSwitch", "Bridge", "Port", "Interface")

# The columns a run reads and, once it applies a transaction, registers in the IDL (python-ovs replicates
# only these): what the snapshot reads (snapshot_from_json), what _ApplyOps writes (a
# column has to be registered to be written) and what ovsdbapp's commit reads (Open_vSwitch
# next_cfg/cur_cfg). Every other column stays on the server: the Interface rows' statistics, status and
# link state are most of a full monitor reply (at 100 tunnel ports the whole tables cost 0.03 s more to
# read than these, see issue 20). A column the server's schema lacks (an older OVS) is left out; the
# snapshot reads it with a default.
COLUMNS = {
    "Open_vSwitch": ("bridges", "cur_cfg", "next_cfg"),
    "Bridge": ("name", "datapath_type", "fail_mode", "external_ids", "other_config", "ports"),
    "Port": ("name", "tag", "protected", "fake_bridge", "external_ids", "interfaces"),
    "Interface": ("name", "type", "options", "external_ids", "ofport", "error", "mtu_request", "mac"),
}

# ovsdbapp and python-ovs log through ``logging``; a module's stdout must stay
# pure JSON and its stderr quiet, errors reach the user through exceptions.
for _name in ("ovsdbapp", "ovs"):
    logging.getLogger(_name).addHandler(logging.NullHandler())
    logging.getLogger(_name).propagate = False


is_owned = _names.ovs_is_owned
owner_ids = _names.ovs_owner_ids


def op(kind, **fields):
    """A planned OVSDB change: plain data, compared in unit tests.

    Kinds and fields:
      add_bridge     name, bridge (columns), port, interface (columns of the local port)
      update_bridge  name, columns
      del_bridge     name
      add_port       bridge, name, port (columns), interface (columns)
      update_port    name, columns
      update_interface name, columns
      del_port       bridge, name
    Map columns (external_ids, options, other_config) are always full maps.
    """
    fields["op"] = kind
    return fields


# --------------------------------------------------------------------------
# Snapshot: IDL rows -> plain data
# --------------------------------------------------------------------------


EMPTY_SET = ["set", []]

# The columns read hold strings, integers, booleans, string:string maps and references (UUIDs): a set of
# them is ["set", [...]] or its one element alone, a UUID ["uuid", "..."], a map ["map", [[k, v], ...]].


def _json_refs(value):
    """A set of references as the list of their UUIDs."""
    if value[0] == "set":
        return [ref[1] for ref in value[1]]
    return [value[1]]  # one reference: ["uuid", "..."]


def _json_opt(value):
    """An optional column (a set of at most one element) as None or its element."""
    if isinstance(value, list):  # ["set", []] (an element alone is not wrapped)
        return value[1][0] if value[1] else None
    return value


def _json_map(value):
    """A string:string map as a dict."""
    return dict(value[1]) if value else {}


def snapshot_from_json(bridges, ports, interfaces):
    """OVSDB's JSON rows (each table's ``select`` reply ``rows``, with ``_uuid``) as plain dicts.

    Returns ``{"bridges": {name: ...}, "ports": {name: ...}, "interfaces": {name: ...}}``;
    ports carry the name of their bridge, interfaces the name of their port. Optional columns (a set of
    at most one element) are None or their value, maps are dicts, references are the names of the rows.
    json.loads has already made the rows Python: a row costs a few dict operations here, where python-ovs's
    IDL parses and converts every datum of every row it replicates (issue 20).
    """
    snap = {"bridges": {}, "ports": {}, "interfaces": {}}
    iface_name = dict((r["_uuid"][1], r["name"]) for r in interfaces)
    port_name = dict((r["_uuid"][1], r["name"]) for r in ports)
    iface_port, port_bridge = {}, {}
    for port in ports:
        name = port["name"]
        members = [iface_name[u] for u in _json_refs(port.get("interfaces", EMPTY_SET)) if u in iface_name]
        for iname in members:
            iface_port[iname] = name
        snap["ports"][name] = {
            "name": name,
            "bridge": None,
            "tag": _json_opt(port.get("tag")),
            "protected": bool(port.get("protected", False)),
            "external_ids": _json_map(port.get("external_ids")),
            "interfaces": sorted(members),
        }
        if port.get("fake_bridge"):  # only then: a fake VLAN bridge (fake_bridge.py)
            snap["ports"][name]["fake_bridge"] = True
    for br in bridges:
        name = br["name"]
        members = [port_name[u] for u in _json_refs(br.get("ports", EMPTY_SET)) if u in port_name]
        for pname in members:
            port_bridge[pname] = name
        snap["bridges"][name] = {
            "name": name,
            "datapath_type": br.get("datapath_type") or "",
            "fail_mode": _json_opt(br.get("fail_mode")),
            "external_ids": _json_map(br.get("external_ids")),
            "other_config": _json_map(br.get("other_config")),
            "ports": sorted(members),
        }
    for name, port in snap["ports"].items():
        port["bridge"] = port_bridge.get(name)
    for iface in interfaces:
        name = iface["name"]
        snap["interfaces"][name] = {
            "name": name,
            "port": iface_port.get(name),
            "type": iface.get("type") or "",
            "options": _json_map(iface.get("options")),
            "external_ids": _json_map(iface.get("external_ids")),
            "ofport": _json_opt(iface.get("ofport")),
            "error": _json_opt(iface.get("error")),
            "mtu_request": _json_opt(iface.get("mtu_request")),
        }
        mac = _json_opt(iface.get("mac"))
        if mac:  # only then: a MAC set on an internal port (a fake VLAN bridge's)
            snap["interfaces"][name]["mac"] = mac
    return snap


def select_ops(columns):
    """The ``transact`` params that read the snapshot's tables (``columns``: :func:`registered_columns`)."""
    return ["Open_vSwitch"] + [{"op": "select", "table": table, "where": [],
                                "columns": ["_uuid"] + list(columns[table])}
                               for table in ("Bridge", "Port", "Interface")]


def registered_columns(schema_json, columns=None):
    """table -> the columns of ``columns`` (default :data:`COLUMNS`) that the server's schema has, in order."""
    tables = schema_json.get("tables") or {}
    out = {}
    for table, wanted in (columns or COLUMNS).items():
        have = (tables.get(table) or {}).get("columns") or {}
        out[table] = [col for col in wanted if col in have]
    return out


def empty_snapshot():
    return {"bridges": {}, "ports": {}, "interfaces": {}}


# --------------------------------------------------------------------------
# Applying ops inside one transaction
# --------------------------------------------------------------------------


class _ApplyOps(_BaseCommand):
    """One ovsdbapp command that executes a whole plan on the IDL transaction.

    Re-runnable: ovsdbapp retries the transaction on TRY_AGAIN and calls
    run_idl again, so every lookup is done afresh here.
    """

    def __init__(self, api, ops):
        super(_ApplyOps, self).__init__(api)
        self.ops = ops
        self.new_interfaces = []
        self._by_name = {}

    def _row(self, table, name, created):
        """The row ``name`` of ``table``: created by this plan, or in the replica (a name -> row map per
        table, built on the first lookup of a run: the client creates no ovsdbapp indexes, see connect)."""
        if (table, name) in created:
            return created[(table, name)]
        rows = self.api.idl.tables[table].rows
        by_name = self._by_name.get(table)
        if by_name is None:
            by_name = self._by_name[table] = dict((row.name, row) for row in rows.values())
        row = by_name.get(name)
        if row is None or row.uuid not in rows:  # python-ovs drops a row deleted in this transaction
            raise _idlutils.RowNotFound(table=table, col="name", match=name)
        return row

    @staticmethod
    def _set(row, columns):
        for col, val in columns.items():
            if col in ("fail_mode", "tag", "mtu_request", "mac"):
                val = [] if val is None else [val]
            setattr(row, col, val)

    def _insert_port(self, txn, created, bridge_row, name, port_cols, iface_cols):
        port = txn.insert(self.api._tables["Port"])
        port.name = name
        self._set(port, port_cols or {})
        iface = txn.insert(self.api._tables["Interface"])
        iface.name = name
        self._set(iface, iface_cols or {})
        port.interfaces = [iface]
        bridge_row.addvalue("ports", port)
        created[("Port", name)] = port
        created[("Interface", name)] = iface
        self.new_interfaces.append(name)

    def run_idl(self, txn):
        created = {}
        self.new_interfaces = []
        self._by_name = {}
        ovs = self.api._ovs
        for item in self.ops:
            kind = item["op"]
            if kind == "add_bridge":
                br = txn.insert(self.api._tables["Bridge"])
                br.name = item["name"]
                self._set(br, item.get("bridge") or {})
                ovs.addvalue("bridges", br)
                created[("Bridge", item["name"])] = br
                self._insert_port(txn, created, br, item["name"], item.get("port"),
                                  dict(item.get("interface") or {}, type="internal"))
            elif kind == "update_bridge":
                self._set(self._row("Bridge", item["name"], created), item["columns"])
            elif kind == "del_bridge":
                br = self._row("Bridge", item["name"], created)
                for port in br.ports:
                    for iface in port.interfaces:
                        iface.delete()
                    port.delete()
                ovs.delvalue("bridges", br)
                br.delete()
            elif kind == "add_port":
                br = self._row("Bridge", item["bridge"], created)
                self._insert_port(txn, created, br, item["name"], item.get("port"),
                                  item.get("interface"))
            elif kind == "update_port":
                self._set(self._row("Port", item["name"], created), item["columns"])
            elif kind == "update_interface":
                self._set(self._row("Interface", item["name"], created), item["columns"])
            elif kind == "del_port":
                port = self._row("Port", item["name"], created)
                br = self._row("Bridge", item["bridge"], created)
                br.delvalue("ports", port)
                for iface in port.interfaces:
                    iface.delete()
                port.delete()
            else:  # pragma: no cover - planners only emit the kinds above
                raise ValueError("unknown OVSDB op %r" % kind)


if HAS_OVSDBAPP:
    class _Idl(_ovs_connection.OvsdbIdl):
        """ovsdbapp's IDL without its yield per row.

        ovsdbapp's ``cooperative_yield`` is ``time.sleep(0)``, which python-ovs calls once per row of
        an update (for eventlet). A module run has no green threads; on a busy host each of those
        sleeps gave the CPU away: 1000 of them cost about 0.2 s of a run over 500 ports.
        """

        def cooperative_yield(self):
            pass
else:  # pragma: no cover - depends on the host
    _Idl = None


def _api_class():
    """ovsdbapp's Open_vSwitch API class, with a connection of its own.

    ovsdbapp keeps the connection on the class (``Backend._ovsdb_connection``, set once): a second
    client in the same process got the first one's connection back, closed, and waited for it to
    reconnect (python-ovs's 1 s back-off) while its own connection was never used. A subclass per
    client keeps each client's connection its own, and :meth:`OvsdbClient.close` closes it.
    """
    return type("OvsdbIdl", (_impl_idl.OvsdbIdl,), {"_ovsdb_connection": None})


class OvsdbClient(object):
    """A short-lived connection to one host's OVSDB server.

    Reads go over one JSON-RPC session (:meth:`snapshot`: a ``transact`` of three ``select``, parsed by the
    ``json`` module); ovsdbapp's IDL, which replicates the tables (python-ovs converts every datum of every
    row, in pure Python), is opened on the first transaction of the run (:meth:`apply`), with the schema the
    session already fetched. A run that changes nothing (a no-op, check mode) never replicates the database:
    at 1000 ports on a lab host, connecting and reading took 0.046 s instead of the IDL's 0.25 s (issue 20).
    """

    def __init__(self, socket_path=None, timeout=DEFAULT_TIMEOUT):
        self.socket_path = socket_path or DEFAULT_SOCKET
        self.timeout = timeout
        self.api = None
        self._conn = None
        self._rpc = None
        self._schema = None
        self._columns = None
        self._last = None  # the last snapshot(), until the next transaction

    @property
    def endpoint(self):
        if ":" in self.socket_path and not self.socket_path.startswith("/"):
            return self.socket_path  # already an OVSDB remote, e.g. tcp:1.2.3.4:6640
        return "unix:" + self.socket_path

    def _refused(self, exc):
        self.close()
        return MissingDependency(
            "Failed to connect to OVSDB at %s: Open vSwitch is not running or refuses "
            "the connection (%s)" % (self.endpoint, exc or type(exc).__name__),
            verb="connect", kind="OVSDB", name=self.endpoint)

    def connect(self):
        """Open the JSON-RPC session and read the schema (the IDL waits for the first transaction)."""
        self._last = None
        if not HAS_OVSDBAPP:
            raise MissingDependency("Failed to connect to OVSDB: the Python library ovsdbapp is not installed",
                                    verb="connect", kind="OVSDB")
        if self.endpoint.startswith("unix:") and not os.path.exists(self.socket_path):
            raise MissingDependency(
                "Failed to connect to OVSDB at %s: Open vSwitch is not running "
                "(no ovsdb-server socket); install and start openvswitch-switch" % self.endpoint,
                verb="connect", kind="OVSDB", name=self.endpoint)
        _rpcjson.install()  # python-ovs without its C JSON parser: read the replies with the json module
        try:
            self._open_session()
            self._schema = self._request("get_schema", ["Open_vSwitch"])
            self._columns = registered_columns(self._schema)
        except Exception as exc:
            raise self._refused(exc)
        return self

    def _open_session(self):
        if self._rpc is not None:
            self._rpc.close()
            self._rpc = None
        err, strm = _stream.Stream.open_block(_stream.Stream.open(self.endpoint), int(self.timeout * 1000))
        if err:
            raise OSError(err, os.strerror(err))
        self._rpc = _jsonrpc.Connection(strm)

    def _request(self, method, params):
        """One JSON-RPC request on the session; its result (an error reply or a timeout raises).

        The reply is read here, not by python-ovs's ``Connection.recv``: that scans it in Python, a chunk of
        4 kB at a time (0.1 s of the 0.7 MB a ``select`` of 1000 ports answers). The bytes are taken as they
        come and handed to :func:`json.loads` once they end a JSON object (a message is one object).
        """
        req = _jsonrpc.Message.create_request(method, params)
        deadline = time.time() + self.timeout
        rpc = self._rpc
        err = rpc.send(req)
        while not err and rpc.get_backlog():
            rpc.run()
            err = rpc.get_status()
            if rpc.get_backlog() and not err:
                self._wait(deadline, method, send=True)
        chunks, text = [], ""
        while not err:
            err, data = rpc.stream.recv(1 << 20)
            if err == errno.EAGAIN:
                self._wait(deadline, method)
                err = 0
                continue
            if err:
                break
            if not data:
                err = errno.ECONNRESET
                break
            chunks.append(data)
            if not data.rstrip().endswith(b"}"):
                continue
            text = text + b"".join(chunks).decode("utf-8")
            chunks = []
            while text:
                try:
                    msg, end = _DECODER.raw_decode(text, _SPACE.match(text).end())
                except ValueError:
                    break  # not whole yet
                text = text[end:].lstrip()
                if msg.get("method") == "echo" and msg.get("id") is not None:  # the server's keepalive
                    rpc.send(_jsonrpc.Message.create_reply(msg.get("params"), msg["id"]))
                    continue
                if msg.get("id") != req.id:  # a notification or an old reply
                    continue
                if msg.get("error") is not None:
                    raise OSError(errno.EPROTO, "OVSDB refused %s: %s" % (method, msg["error"]))
                return msg.get("result")
        raise OSError(err, os.strerror(err))

    def _wait(self, deadline, method, send=False):
        left = deadline - time.time()
        if left <= 0:
            raise OSError(errno.ETIMEDOUT, "no answer from OVSDB to %s within %s s" % (method, self.timeout))
        poller = _poller.Poller()
        if send:
            self._rpc.wait(poller)
        else:
            self._rpc.stream.recv_wait(poller)
        poller.timer_wait(int(left * 1000) + 1)
        poller.block()

    def _open_idl(self):
        """ovsdbapp's IDL on a connection of its own, replicating :data:`COLUMNS` (for a transaction)."""
        if self.api is not None:
            return self.api
        try:
            helper = _idlutils.create_schema_helper(copy.deepcopy(self._schema))
            for table, columns in self._columns.items():
                helper.register_columns(table, columns)
            idl = _Idl(self.endpoint, helper)
            self._conn = _ovs_connection.Connection(idl=idl, timeout=self.timeout)
            # no ovsdbapp indexes: kept up to date for every row of the replica, on every run, for the few
            # lookups by name a transaction makes (_ApplyOps._row)
            self.api = _api_class()(self._conn, auto_index=False)
        except Exception as exc:
            raise self._refused(exc)
        return self.api

    def close(self):
        self._last = None
        if self._rpc is not None:
            try:
                self._rpc.close()
            except Exception:
                pass
            self._rpc = None
        if self._conn is not None:
            try:
                self._conn.stop(timeout=2)
            except Exception:
                pass
            self._conn = None
        self.api = None

    def __enter__(self):
        return self.connect()

    def __exit__(self, *exc):
        self.close()

    def snapshot(self):
        """The Bridge, Port and Interface tables as plain dicts (:func:`snapshot_from_json`).

        One ``transact`` (consistent across the three tables); the same object again until the next
        transaction of this client (a run read it up to four times: the plan, the rollback base before the
        transaction, the result). Read it, never modify it (planners are pure; :func:`simulate` works on a
        copy).
        """
        if self._last is None:
            try:
                try:
                    reply = self._request("transact", select_ops(self._columns))
                except (OSError, IOError) as exc:
                    if exc.errno in (errno.ETIMEDOUT, errno.EPROTO):
                        raise
                    # the server closed an idle session (a remote's inactivity probe): once more on a new one
                    self._open_session()
                    reply = self._request("transact", select_ops(self._columns))
            except Exception as exc:
                raise failure("read", "OVSDB", self.endpoint, "reading the tables failed: %s"
                              % (exc or type(exc).__name__), BackendError)
            errors = [r["error"] for r in reply if isinstance(r, dict) and r.get("error")]
            if errors:
                raise failure("read", "OVSDB", self.endpoint, "reading the tables failed: %s" % errors[0],
                              BackendError)
            self._last = snapshot_from_json(reply[0]["rows"], reply[1]["rows"], reply[2]["rows"])
        return self._last

    def apply(self, ops, what="apply", kind="OVSDB change", name="transaction"):
        """Run every op in one transaction; return the names of new interfaces."""
        if not ops:
            return []
        self._last = None  # read again after the transaction
        cmd = _ApplyOps(self._open_idl(), ops)
        try:
            with self.api.transaction(check_error=True, log_errors=False) as txn:
                txn.add(cmd)
        except Exception as exc:
            raise failure(what, kind, name, "OVSDB transaction failed: %s" % (exc or type(exc).__name__),
                          BackendError)
        return list(cmd.new_interfaces)

    def apply_checked(self, snap, ops, names, verb, kind, name, **details):
        """:meth:`apply`, then check ``names`` got a valid ofport; on failure roll
        the transaction back (a second one) and raise OVS's own error."""
        new = self.apply(ops, verb, kind, name)
        bad = self.interface_errors(list(names) + [n for n in new if n not in names])
        if not bad:
            return new
        reason = "OVS rejected %s" % describe_interface_errors(bad)
        try:
            self.apply(inverse_ops(snap, ops), "roll back", kind, name)
            reason += "; the change was rolled back"
        except BackendError as exc:
            reason += "; rolling back failed too: %s" % exc
        raise failure(verb, kind, name, reason, BackendError, **details)

    def interface_errors(self, names, settle=3.0):
        """Interfaces among ``names`` without a valid ofport, with OVS's error.

        ovsdbapp already waited for ovs-vswitchd to acknowledge the
        configuration (cur_cfg); give late ofport updates a short grace period.
        """
        deadline = time.time() + settle
        while True:
            self._last = None  # OVSDB as it is now
            snap = self.snapshot()
            bad = {}
            for name in names:
                iface = snap["interfaces"].get(name)
                ofport = iface and iface["ofport"]
                if not iface or ofport is None or ofport < 1:
                    bad[name] = (iface and iface["error"]) or (
                        self._no_ofport_reason(snap, iface["port"]) if iface else "interface missing")
            if not bad or time.time() >= deadline:
                return bad
            time.sleep(0.1)

    def _no_ofport_reason(self, snap, port):
        """Why an interface has no ofport and no error: vswitchd down, or a datapath it cannot open."""
        try:
            reply = self._request("transact", ["Open_vSwitch", {"op": "select", "table": "Open_vSwitch", "where": [],
                                                                "columns": ["cur_cfg", "next_cfg"]}])
            row = (reply[0].get("rows") or [{}])[0]
            applied = (row.get("cur_cfg") or 0) >= (row.get("next_cfg") or 0)
        except Exception:  # the reason is a hint: without it, the error still names the interface
            applied = True
        if not applied:
            return "no ofport assigned: ovs-vswitchd did not apply the change (is it running?)"
        bridge = (snap["ports"].get(port) or {}).get("bridge")
        if (snap["bridges"].get(bridge) or {}).get("datapath_type", "") in ("", "system"):
            return ("no ofport assigned: ovs-vswitchd could not open the kernel datapath of bridge '%s' "
                    "(is the openvswitch kernel module loaded? without it use datapath_type netdev)" % bridge)
        return "no ofport assigned (see ovs-vswitchd.log)"


def inverse_ops(snap, ops):
    """Ops that undo ``ops`` applied on top of ``snap`` (used to roll back a run
    whose interfaces OVS rejected, so that nothing stays half-applied).

    Deleting a whole bridge is not undone (a failed ofport check never follows
    one: deletions add no interface).
    """
    undo = []
    for item in reversed(ops):
        kind = item["op"]
        if kind == "add_bridge":
            undo.append(op("del_bridge", name=item["name"]))
        elif kind == "update_bridge":
            old = snap["bridges"][item["name"]]
            undo.append(op("update_bridge", name=item["name"],
                           columns=dict((c, old.get(c)) for c in item["columns"])))
        elif kind == "add_port":
            undo.append(op("del_port", bridge=item["bridge"], name=item["name"]))
        elif kind == "update_port":
            old = snap["ports"][item["name"]]
            undo.append(op("update_port", name=item["name"], columns=dict(
                (c, bool(old.get(c)) if c == "protected" else old.get(c)) for c in item["columns"])))
        elif kind == "update_interface":
            old = snap["interfaces"][item["name"]]
            undo.append(op("update_interface", name=item["name"],
                           columns=dict((c, old.get(c)) for c in item["columns"])))
        elif kind == "del_port":
            port = snap["ports"].get(item["name"])
            iface = snap["interfaces"].get(item["name"])
            if port is not None and iface is not None:
                pcols = {"tag": port["tag"], "external_ids": dict(port["external_ids"])}
                for flag in ("protected", "fake_bridge"):
                    if port.get(flag):
                        pcols[flag] = True
                icols = {"type": iface["type"], "options": dict(iface["options"]),
                         "external_ids": dict(iface["external_ids"])}
                for col in ("mtu_request", "mac"):
                    if iface.get(col) is not None:
                        icols[col] = iface[col]
                undo.append(op("add_port", bridge=item["bridge"], name=item["name"], port=pcols, interface=icols))
    return undo


def simulate(snap, ops):
    """The snapshot after ``ops`` (pure; nothing is sent to OVSDB).

    Lets several planners be chained into one transaction (plan the bridge,
    simulate, plan its tunnels on the result) and predicts check-mode results.
    ofport of new interfaces is unknown (None).
    """
    s = copy.deepcopy(snap)

    def add_port(br, name, pcols, icols):
        pcols, icols = dict(pcols or {}), dict(icols or {})
        s["ports"][name] = {"name": name, "bridge": br, "tag": pcols.get("tag"),
                            "external_ids": dict(pcols.get("external_ids") or {}), "interfaces": [name]}
        for flag in ("protected", "fake_bridge"):
            if flag in pcols:
                s["ports"][name][flag] = bool(pcols[flag])
        s["interfaces"][name] = {"name": name, "port": name, "type": icols.get("type", ""),
                                 "options": dict(icols.get("options") or {}),
                                 "external_ids": dict(icols.get("external_ids") or {}), "ofport": None, "error": None,
                                 "mtu_request": icols.get("mtu_request")}
        if icols.get("mac"):
            s["interfaces"][name]["mac"] = icols["mac"]
        s["bridges"][br]["ports"] = sorted(s["bridges"][br]["ports"] + [name])

    def del_port(br, name):
        s["bridges"][br]["ports"] = [n for n in s["bridges"][br]["ports"] if n != name]
        del s["ports"][name]
        del s["interfaces"][name]

    for o in ops:
        kind = o["op"]
        if kind == "add_bridge":
            cols = o.get("bridge") or {}
            s["bridges"][o["name"]] = {"name": o["name"], "datapath_type": cols.get("datapath_type", ""),
                                       "fail_mode": cols.get("fail_mode"),
                                       "external_ids": dict(cols.get("external_ids") or {}),
                                       "other_config": dict(cols.get("other_config") or {}), "ports": []}
            add_port(o["name"], o["name"], o.get("port"), dict(o.get("interface") or {}, type="internal"))
        elif kind == "update_bridge":
            s["bridges"][o["name"]].update(o["columns"])
        elif kind == "del_bridge":
            for pname in list(s["bridges"][o["name"]]["ports"]):
                del_port(o["name"], pname)
            del s["bridges"][o["name"]]
        elif kind == "add_port":
            if o["name"] in s["ports"]:
                raise ValueError("duplicate port %s" % o["name"])
            add_port(o["bridge"], o["name"], o.get("port"), o.get("interface"))
        elif kind == "update_port":
            s["ports"][o["name"]].update(o["columns"])
        elif kind == "update_interface":
            s["interfaces"][o["name"]].update(o["columns"])
        elif kind == "del_port":
            del_port(o["bridge"], o["name"])
        else:
            raise ValueError("unknown OVSDB op %r" % kind)
    return s


def ports_on_bridge(snap, bridge):
    return dict((n, p) for n, p in snap["ports"].items() if p["bridge"] == bridge)


def describe_interface_errors(bad):
    return "; ".join("%s: %s" % (name, err) for name, err in sorted(bad.items()))
