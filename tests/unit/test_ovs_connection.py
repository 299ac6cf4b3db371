"""One OVSDB connection per run (issue 20): host_network's preflight reads OVSDB on the connection the
OVS stage then uses, and each OvsdbClient has a connection of its own (ovsdbapp keeps it on the class:
a second client reused the first one's, closed, and waited 1 s for it to reconnect).
"""

import pytest

from tests.unit import ovs_snap as o
from tests.unit.test_host_network import PLAN, Session, backends, link
from ansible_collections.netwire.fabric.plugins.module_utils._host import network as hn
from ansible_collections.netwire.fabric.plugins.module_utils._ovs import ovsdb as _ovsdb


class Conn(object):
    """Stands in for ovsdbapp's Connection: is it started, and by whom."""

    is_running = True  # no index creation (that needs a real IDL)

    def __init__(self):
        self.started = 0

    def start(self):
        self.started += 1


def test_each_client_api_has_its_own_connection():
    pytest.importorskip("ovsdbapp")
    first, second = Conn(), Conn()
    api1 = _ovsdb._api_class()(first)
    api2 = _ovsdb._api_class()(second)
    assert api1.ovsdb_connection is first and api2.ovsdb_connection is second
    assert (first.started, second.started) == (1, 1)
    # ovsdbapp's own class keeps no connection of ours
    from ovsdbapp.schema.open_vswitch import impl_idl
    assert impl_idl.OvsdbIdl._ovsdb_connection is None


def counting_client(monkeypatch, snapshot):
    opened = []

    class Client(o.FakeClient):
        def __init__(self, socket_path=None, timeout=None):
            o.FakeClient.__init__(self, snapshot)
            opened.append(socket_path)

    monkeypatch.setattr(_ovsdb, "OvsdbClient", Client)
    return opened


@pytest.mark.parametrize("state", ["present", "absent"])
@pytest.mark.parametrize("check", [False, True])
def test_a_run_over_all_sections_opens_one_ovsdb_connection(monkeypatch, tmp_path, state, check):
    sock = tmp_path / "db.sock"
    sock.write_text("")
    opened = counting_client(monkeypatch, o.snap(o.bridge("nw-dmz")))
    log = []
    b = backends(Session([link("nw-app", "netwire:bridge", index=3)]), log, existing=("nw-dmz",))
    b["ovs_snapshot"] = hn._ovs_snapshot  # the module's own readers
    b["ovs_foreign_ports"] = hn._ovs_foreign_ports
    stage = b["ovs_stage"]

    def ovs_stage(mgr, ctx, entries, keep):
        ctx.ovs.snapshot()  # what the real stage reads first
        return stage(mgr, ctx, entries, keep)

    b["ovs_stage"] = ovs_stage
    params = {"plan": PLAN if state == "present" else {}, "state": state, "sections": list(hn.SECTIONS),
              "purge": True, "ovsdb_socket": str(sock)}
    hn.HostNetworkManager(params, check_mode=check, backends=b).run()
    assert opened == [str(sock)]


def test_without_an_ovsdb_socket_the_preflight_reads_an_empty_ovsdb(monkeypatch, tmp_path):
    opened = counting_client(monkeypatch, o.snap())
    from ansible_collections.netwire.fabric.plugins.module_utils._contract import Context
    with Context(ovsdb_socket=str(tmp_path / "none.sock")) as ctx:
        assert hn._ovs_snapshot(ctx) == _ovsdb.empty_snapshot()
        assert hn._ovs_foreign_ports(ctx) == {}
    assert opened == []


def test_the_idl_does_not_give_the_cpu_away_per_row(monkeypatch):
    """ovsdbapp's IDL sleeps(0) for every row python-ovs applies; ours does not (issue 20)."""
    pytest.importorskip("ovsdbapp")
    import time

    def no_sleep(_seconds):
        raise AssertionError("cooperative_yield slept")

    monkeypatch.setattr(time, "sleep", no_sleep)
    idl = object.__new__(_ovsdb._Idl)
    idl.cooperative_yield()
    assert isinstance(idl, _ovsdb._ovs_connection.OvsdbIdl)
