"""A run replicates only the OVSDB columns it reads or writes (issue 20): _ovsdb.COLUMNS.

python-ovs raises AttributeError for a column that was not registered, on a read and on a write;
these tests hold the snapshot and the ops to the registered columns.
"""

import json
import os

import pytest

from ansible_collections.netwire.fabric.plugins.module_utils._ovs import ovsdb as _ovsdb

SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"


class RegisteredRow(object):
    """An IDL row of ``table`` that, like python-ovs, has only the registered columns (and uuid)."""

    def __init__(self, table, **values):
        object.__setattr__(self, "_table", table)
        object.__setattr__(self, "_values", dict(values))

    def __getattr__(self, name):
        if name == "uuid" or name in _ovsdb.COLUMNS[self._table]:
            return self._values.get(name, [])
        raise AttributeError("%s has no registered column %s" % (self._table, name))

    def __setattr__(self, name, value):
        if name not in _ovsdb.COLUMNS[self._table]:
            raise AttributeError("%s: column %s is not registered" % (self._table, name))
        self._values[name] = value


def test_registered_columns_keep_the_order_and_drop_what_the_schema_lacks():
    schema = {"tables": {"Open_vSwitch": {"columns": {"bridges": {}, "cur_cfg": {}, "next_cfg": {}}},
                         "Bridge": {"columns": {"name": {}, "ports": {}, "datapath_type": {}}},
                         "Port": {"columns": {"name": {}, "interfaces": {}}},
                         "Interface": {"columns": {"name": {}, "options": {}}}}}
    cols = _ovsdb.registered_columns(schema)
    assert cols["Open_vSwitch"] == ["bridges", "cur_cfg", "next_cfg"]
    assert cols["Bridge"] == ["name", "datapath_type", "ports"]
    assert cols["Port"] == ["name", "interfaces"]  # an older OVS without protected or fake_bridge
    assert cols["Interface"] == ["name", "options"]
    assert _ovsdb.registered_columns(schema, {"Port": ("tag", "name")}) == {"Port": ["name"]}


@pytest.mark.skipif(not os.path.exists(SCHEMA), reason="no Open vSwitch schema on this machine")
def test_the_installed_schema_has_every_column_we_register():
    with open(SCHEMA) as f:
        schema = json.load(f)
    assert _ovsdb.registered_columns(schema) == dict((t, list(c)) for t, c in _ovsdb.COLUMNS.items())
    # the statistics and status maps stay on the server
    assert "statistics" not in _ovsdb.COLUMNS["Interface"] and "status" not in _ovsdb.COLUMNS["Interface"]


def test_the_snapshot_reads_only_registered_columns():
    """The read selects the registered columns (and _uuid, for the references) of the three tables, nothing else."""
    cols = dict((t, list(c)) for t, c in _ovsdb.COLUMNS.items())
    params = _ovsdb.select_ops(cols)
    assert params[0] == "Open_vSwitch"
    assert [(o["op"], o["table"], o["where"]) for o in params[1:]] == [
        ("select", "Bridge", []), ("select", "Port", []), ("select", "Interface", [])]
    for o in params[1:]:
        assert o["columns"] == ["_uuid"] + cols[o["table"]]
    iface = {"_uuid": ["uuid", "i1"], "name": "p1", "type": "internal", "options": ["map", [["k", "v"]]],
             "external_ids": ["map", []], "ofport": 3, "error": ["set", []], "mtu_request": 1400,
             "mac": "02:00:00:00:00:01"}
    port = {"_uuid": ["uuid", "p1"], "name": "p1", "tag": 7, "protected": False, "fake_bridge": True,
            "external_ids": ["map", []], "interfaces": ["uuid", "i1"]}
    br = {"_uuid": ["uuid", "b1"], "name": "br0", "datapath_type": "netdev", "fail_mode": ["set", []],
          "external_ids": ["map", []], "other_config": ["map", []], "ports": ["set", [["uuid", "p1"]]]}
    s = _ovsdb.snapshot_from_json([br], [port], [iface])
    assert s["ports"]["p1"]["fake_bridge"] is True and s["ports"]["p1"]["bridge"] == "br0"
    assert s["interfaces"]["p1"]["mac"] == "02:00:00:00:00:01" and s["interfaces"]["p1"]["mtu_request"] == 1400
    assert s["interfaces"]["p1"]["options"] == {"k": "v"} and s["bridges"]["br0"]["fail_mode"] is None
    # an older OVS without mtu_request, mac, protected or fake_bridge: the defaults
    old = _ovsdb.snapshot_from_json([br], [dict((k, v) for k, v in port.items() if k not in ("protected", "fake_bridge"))],
                                    [dict((k, v) for k, v in iface.items() if k not in ("mtu_request", "mac"))])
    assert old["ports"]["p1"]["protected"] is False and "fake_bridge" not in old["ports"]["p1"]
    assert old["interfaces"]["p1"]["mtu_request"] is None and "mac" not in old["interfaces"]["p1"]


def test_every_column_an_op_writes_is_registered():
    """The columns the planners put in ops (add_*, update_*) are all in COLUMNS (else python-ovs refuses the write)."""
    written = {
        "Bridge": {"datapath_type", "fail_mode", "external_ids", "other_config"},
        "Port": {"tag", "protected", "fake_bridge", "external_ids"},
        "Interface": {"type", "options", "external_ids", "mtu_request", "mac"},
    }
    for table, cols in written.items():
        row = RegisteredRow(table)
        _ovsdb._ApplyOps._set(row, dict((c, None) for c in cols))
    # the op kinds write through these rows and the references between them
    assert {"bridges", "next_cfg", "cur_cfg"} <= set(_ovsdb.COLUMNS["Open_vSwitch"])
    assert "ports" in _ovsdb.COLUMNS["Bridge"] and "interfaces" in _ovsdb.COLUMNS["Port"]


ROWS = [{"rows": [{"_uuid": ["uuid", "b1"], "name": "br0", "datapath_type": "", "fail_mode": ["set", []],
                   "external_ids": ["map", []], "other_config": ["map", []], "ports": ["set", []]}]},
        {"rows": []}, {"rows": []}]


class Stream(object):
    """python-ovs's stream as _request reads it: recv(n) gives the chunks given, then EAGAIN."""

    def __init__(self, chunks):
        self.chunks = list(chunks)

    def recv(self, n):
        if not self.chunks:
            return 11, b""  # EAGAIN: _request would wait for more
        return 0, self.chunks.pop(0)


class Rpc(object):
    """python-ovs's jsonrpc.Connection as _request uses it: what was sent, and a stream with the answer."""

    def __init__(self, answer=None):
        self.sent = []
        self.answer = answer  # function(request) -> chunks of bytes
        self.stream = Stream([])

    def send(self, msg):
        self.sent.append(msg)
        if self.answer is not None and msg.type == msg.T_REQUEST:
            self.stream.chunks.extend(self.answer(msg))
        return 0

    def get_backlog(self):
        return 0

    def close(self):
        pass


def reply_to(result, split=None, before=b""):
    """A reply to the request, as bytes cut into pieces (split: their size)."""
    def answer(msg):
        data = before + json.dumps({"id": msg.id, "result": result, "error": None}, ensure_ascii=False).encode()
        size = split or len(data)
        return [data[i:i + size] for i in range(0, len(data), size)]
    return answer


def test_the_reply_is_read_whole_across_chunks_and_after_an_echo():
    pytest.importorskip("ovs.jsonrpc")
    result = [{"rows": [{"name": "p\u00e9-{[\"\\", "n": 1}]}]
    client = _ovsdb.OvsdbClient()
    # the server's echo (keepalive) first, the reply cut in pieces of 7 bytes (one inside the "é")
    client._rpc = Rpc(reply_to(result, split=7, before=b'{"method": "echo", "params": [], "id": "echo"} '))
    assert client._request("transact", ["Open_vSwitch"]) == result
    assert [m.type for m in client._rpc.sent] == [0, 2]  # the request, then the echo's reply
    assert client._rpc.sent[1].id == "echo"


def test_an_error_reply_and_a_silent_server_raise():
    jsonrpc = pytest.importorskip("ovs.jsonrpc")
    client = _ovsdb.OvsdbClient(timeout=0.05)
    client._rpc = Rpc(lambda msg: [json.dumps({"id": msg.id, "result": None, "error": "unknown database"}).encode()])
    with pytest.raises(OSError, match="unknown database"):
        client._request("get_schema", ["Nope"])
    client._rpc = Rpc()  # answers nothing
    client._rpc.stream.recv_wait = lambda poller: None
    with pytest.raises(OSError, match="no answer from OVSDB to transact"):
        client._request("transact", ["Open_vSwitch"])
    assert [m.method for m in client._rpc.sent] == ["transact"] and jsonrpc.Message.T_REQUEST == 0


def test_a_run_that_applies_nothing_never_opens_the_idl(monkeypatch):
    """A no-op reads the tables with one select and never replicates them (python-ovs's IDL, issue 20)."""
    pytest.importorskip("ovs.jsonrpc")

    def no_idl(*args, **kwargs):
        raise AssertionError("the IDL was opened")

    monkeypatch.setattr(_ovsdb, "_Idl", no_idl)
    client = _ovsdb.OvsdbClient()
    client._columns = dict((t, list(c)) for t, c in _ovsdb.COLUMNS.items())
    client._rpc = Rpc(reply_to(ROWS))
    first = client.snapshot()
    assert client.snapshot() is first and list(first["bridges"]) == ["br0"]
    assert len(client._rpc.sent) == 1 and client._rpc.sent[0].method == "transact"
    assert client.apply([]) == []  # nothing to apply: no transaction
    assert client.api is None and client._conn is None
    client.close()
    assert client._rpc is None


def test_a_transaction_opens_the_idl_once_and_the_next_snapshot_reads_again(monkeypatch):
    import contextlib
    pytest.importorskip("ovs.jsonrpc")
    opened = []

    class Txn(object):
        def add(self, cmd):
            cmd.new_interfaces = ["p9"]

    class Api(object):
        @contextlib.contextmanager
        def transaction(self, **kwargs):
            yield Txn()

    def open_idl():
        if not opened:
            opened.append(Api())
        client.api = opened[0]
        return client.api

    monkeypatch.setattr(_ovsdb._ApplyOps, "__init__", lambda self, api, ops: None)
    client = _ovsdb.OvsdbClient()
    client._columns = dict((t, list(c)) for t, c in _ovsdb.COLUMNS.items())
    client._rpc = Rpc(reply_to(ROWS))
    monkeypatch.setattr(client, "_open_idl", open_idl)
    first = client.snapshot()
    assert client.apply([_ovsdb.op("del_bridge", name="br0")]) == ["p9"]
    assert client.apply([_ovsdb.op("del_bridge", name="br0")]) == ["p9"]
    assert len(opened) == 1
    second = client.snapshot()
    assert second is not first and second == first  # read again (this fake server answers the same)
    assert [m.method for m in client._rpc.sent] == ["transact", "transact"]


def test_apply_finds_rows_by_name_without_ovsdbapp_indexes():
    idlutils = pytest.importorskip("ovsdbapp.backend.ovs_idl.idlutils")

    class Row(object):
        def __init__(self, uuid, name):
            self.uuid, self.name = uuid, name

    class Table(object):
        def __init__(self, *rows):
            self.rows = dict((r.uuid, r) for r in rows)

    p1, p2 = Row(1, "p1"), Row(2, "p2")

    class Api(object):
        class idl(object):
            tables = {"Port": Table(p1, p2), "Bridge": Table()}

    cmd = object.__new__(_ovsdb._ApplyOps)
    cmd.api, cmd._by_name = Api, {}
    new = object()
    assert cmd._row("Port", "p2", {}) is p2
    assert cmd._row("Port", "p2", {("Port", "p2"): new}) is new  # made by this plan
    del Api.idl.tables["Port"].rows[1]  # deleted in this transaction
    for table, name in (("Port", "p1"), ("Port", "nope"), ("Bridge", "br0")):
        with pytest.raises(idlutils.RowNotFound):
            cmd._row(table, name, {})


def test_a_session_the_server_closed_is_opened_again_once(monkeypatch):
    pytest.importorskip("ovs.jsonrpc")
    from ansible_collections.netwire.fabric.plugins.module_utils._errors import BackendError

    def hung_up():
        rpc = Rpc()
        rpc.stream.recv = lambda n: (0, b"")  # the server closed the session (a remote's inactivity probe)
        return rpc

    client = _ovsdb.OvsdbClient()
    client._columns = dict((t, list(c)) for t, c in _ovsdb.COLUMNS.items())
    client._rpc = hung_up()
    sessions = [Rpc(reply_to(ROWS))]
    monkeypatch.setattr(client, "_open_session", lambda: setattr(client, "_rpc", sessions.pop(0)))
    assert list(client.snapshot()["bridges"]) == ["br0"] and not sessions
    client._last, client._rpc = None, hung_up()
    sessions.append(hung_up())  # the new session fails too: the read fails, no third try
    with pytest.raises(BackendError, match="reading the tables failed"):
        client.snapshot()
    assert not sessions
