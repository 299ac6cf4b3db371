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
    iface = RegisteredRow("Interface", uuid=2, name="p1", type="internal", options={"k": "v"}, external_ids={},
                          ofport=[3], error=[], mtu_request=[1400], mac=["02:00:00:00:00:01"])
    port = RegisteredRow("Port", uuid=1, name="p1", tag=[7], protected=False, fake_bridge=True, external_ids={},
                         interfaces=[iface])
    br = RegisteredRow("Bridge", uuid=9, name="br0", datapath_type="netdev", fail_mode=[], external_ids={},
                       other_config={}, ports=[port])
    s = _ovsdb.snapshot_from_rows([br], [port], [iface])
    assert s["ports"]["p1"]["fake_bridge"] is True and s["ports"]["p1"]["bridge"] == "br0"
    assert s["interfaces"]["p1"]["mac"] == "02:00:00:00:00:01" and s["interfaces"]["p1"]["mtu_request"] == 1400


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


def test_the_snapshot_is_built_again_only_when_the_replica_changed():
    import threading

    class Table(object):
        def __init__(self, *rows):
            self.rows = dict((i, r) for i, r in enumerate(rows))

    class Idl(object):
        change_seqno = 1

    class Api(object):
        idl = Idl()
        tables = {"Bridge": Table(RegisteredRow("Bridge", uuid=9, name="br0", datapath_type="", fail_mode=[],
                                                external_ids={}, other_config={}, ports=[])),
                  "Port": Table(), "Interface": Table()}

    class Conn(object):
        lock = threading.RLock()

        def stop(self, timeout=None):
            pass

    client = _ovsdb.OvsdbClient()
    client.api, client._conn = Api(), Conn()
    first = client.snapshot()
    assert client.snapshot() is first and list(first["bridges"]) == ["br0"]
    Api.idl.change_seqno = 2
    Api.tables["Bridge"].rows[0].name = "br1"
    second = client.snapshot()
    assert second is not first and list(second["bridges"]) == ["br1"]
    client.close()
    client.api, client._conn = Api(), Conn()
    assert client.snapshot() is not second


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
