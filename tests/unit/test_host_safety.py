"""Two guards of host_network (issue 11): ports that are not ours stop a bridge removal, and one run at a time.

The lock is a real flock on a file under tmp_path; the OVS part is the pure check over a snapshot (the lab
test tests/integration/test_host_safety.py does both for real, over SSH).
"""

import os
import threading
import time

import pytest

from tests.unit import ovs_snap as o
from tests.unit.test_host_network import backends, link, Session
from ansible_collections.netwire.fabric.plugins.module_utils._host import network as hn
from ansible_collections.netwire.fabric.plugins.module_utils._contract import Context
from ansible_collections.netwire.fabric.plugins.module_utils._errors import NotOwned
from ansible_collections.netwire.fabric.plugins.module_utils._linux.bridge import LinuxBridgeManager
from ansible_collections.netwire.fabric.plugins.module_utils._lock import HostLock, LockTimeout


# ---------------------------------------------------------------- ports that are not ours

def test_foreign_ports_on_our_bridges_are_found():
    s = o.snap(o.bridge("nw-dmz", ports=[o.foreign("eth9"), o.member("m1", "nw-dmz")]),
               o.bridge("nw-app", ports=[o.member("m2", "nw-app")]),
               o.bridge("br-user", owned=False, ports=[o.foreign("eth7")]))
    assert hn.foreign_ports(s) == {"nw-dmz": ["eth9"]}
    assert hn.foreign_ports(s, keep={"nw-dmz"}) == {}


def test_a_bridge_with_a_foreign_port_is_refused_naming_the_port():
    with pytest.raises(NotOwned) as err:
        hn.refuse_foreign_ports({"nw-dmz": ["eth9", "tap3"]})
    msg = str(err.value)
    assert "Failed to remove OVS bridge nw-dmz" in msg
    assert "ports eth9, tap3 on OVS bridge nw-dmz" in msg and "never deleted" in msg
    hn.refuse_foreign_ports({})  # nothing foreign: no error


@pytest.mark.parametrize("sections", [["fabric", "firewall"], ["fabric", "containers", "firewall"]])
def test_absent_refuses_before_the_first_removal(sections):
    links = [link("nw-app", "netwire:bridge", index=3), link("nwabc", "netwire:attach:web1/eth1", kind="veth")]
    log = []
    session = Session(links)
    b = backends(session, log, ovs={"bridges": ["nw-dmz"]})
    b["ovs_foreign_ports"] = lambda ctx: {"nw-dmz": ["eth9"]}
    params = {"plan": {}, "state": "absent", "sections": sections, "purge": True}
    with pytest.raises(NotOwned) as err:
        hn.HostNetworkManager(params, backends=b).run()
    assert "eth9" in str(err.value)
    assert session.calls == [] and log == [], "nothing may be removed: %r %r" % (session.calls, log)


def test_absent_without_foreign_ports_removes_everything():
    log = []
    session = Session([link("nw-app", "netwire:bridge", index=3)])
    b = backends(session, log, ovs={"bridges": ["nw-dmz"]})
    b["ovs_foreign_ports"] = lambda ctx: {}
    hn.HostNetworkManager({"plan": {}, "state": "absent", "sections": ["fabric", "firewall"]}, backends=b).run()
    assert [c[2] for c in session.calls] == ["nw-app"]
    assert ("ovs_bridge", "nw-dmz", "absent") in log


def _linux_links():
    def port(name, alias, master, index, kind="veth"):
        return dict(link(name, alias, kind=kind, index=index), master=master)
    return [link("nw-app", "netwire:bridge", index=3), port("eth9", None, 3, 10),
            port("nwabc", "netwire:attach:web1/eth1", 3, 11), port("nwx-app", "netwire:tunnel", 3, 12, kind="vxlan"),
            link("br-user", None, index=5), port("eth7", None, 5, 13)]


def test_foreign_ports_on_our_linux_bridges_are_found():
    ctx = Context(netlink=Session(_linux_links()))
    assert hn.linux_foreign_ports(ctx) == {"nw-app": ["eth9"]}
    assert hn.linux_foreign_ports(ctx, keep={"nw-app"}) == {}


def test_ovs_and_linux_bridges_are_refused_in_one_message():
    with pytest.raises(NotOwned) as err:
        hn.refuse_foreign_ports({"nw-dmz": ["eth9"]}, linux={"nw-app": ["eth8", "eth7"]})
    msg = str(err.value)
    assert msg.startswith("Failed to remove bridges nw-dmz, nw-app: port eth9 on OVS bridge nw-dmz; ports eth8, eth7 "
                          "on Linux bridge nw-app are not created by netwire.fabric"), msg
    assert "ovs-vsctl del-port" in msg and "ip link set <port> nomaster" in msg
    assert err.value.details["foreign_ports"] == {"nw-dmz": ["eth9"], "nw-app": ["eth8", "eth7"]}
    with pytest.raises(NotOwned) as err:
        hn.refuse_foreign_ports({}, linux={"nw-app": ["eth8"]})
    assert str(err.value).startswith("Failed to remove Linux bridge nw-app: port eth8 on Linux bridge nw-app is not")


def test_absent_refuses_a_linux_bridge_with_a_foreign_port_before_the_first_removal():
    log = []
    session = Session(_linux_links())
    b = backends(session, log, ovs={"bridges": []})
    b["ovs_foreign_ports"] = lambda ctx: {}
    with pytest.raises(NotOwned) as err:
        hn.HostNetworkManager({"plan": {}, "state": "absent", "sections": ["fabric", "containers", "firewall"],
                               "purge": True}, backends=b).run()
    assert "port eth9 on Linux bridge nw-app" in str(err.value)
    assert session.calls == [] and log == [], "nothing may be removed: %r %r" % (session.calls, log)


def test_purge_of_an_undeclared_linux_bridge_with_a_foreign_port_is_refused():
    session = Session(_linux_links())
    with pytest.raises(NotOwned):
        LinuxBridgeManager.purge(Context(netlink=session), keep={"nw-dmz"})
    assert session.calls == []
    assert [r.label for r in LinuxBridgeManager.purge(Context(netlink=Session(_linux_links()[:1])), keep=set())] == [
        "nw-app"]


# ---------------------------------------------------------------- the host lock

def test_lock_is_exclusive_and_names_its_holder(tmp_path):
    path = str(tmp_path / "run" / "netwire" / "lock")
    with HostLock(path=path, what="first"):
        assert open(path).read() == "%d first\n" % os.getpid()
        start = time.time()
        with pytest.raises(LockTimeout) as err:
            HostLock(timeout=0.5, path=path, what="second", poll=0.05).acquire()
        assert time.time() - start >= 0.5
        msg = str(err.value)
        assert path in msg and "pid %d first" % os.getpid() in msg and "0.5 seconds" in msg
    # released: the next run takes it at once
    with HostLock(timeout=0, path=path, what="third") as lock:
        assert lock.waited < 0.5


def test_a_waiting_run_goes_on_when_the_holder_finishes(tmp_path):
    path = str(tmp_path / "lock")
    first = HostLock(path=path, what="first").acquire()
    timer = threading.Timer(0.4, first.release)
    timer.start()
    try:
        with HostLock(timeout=10, path=path, what="second", poll=0.05) as second:
            assert 0.3 <= second.waited < 5
            assert open(path).read().startswith("%d second" % os.getpid())
    finally:
        timer.cancel()
