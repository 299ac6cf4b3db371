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
from ansible_collections.netwire.fabric.plugins.module_utils._errors import NotOwned
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
    b["ovs_foreign_ports"] = lambda mgr: {"nw-dmz": ["eth9"]}
    params = {"plan": {}, "state": "absent", "sections": sections, "purge": True}
    with pytest.raises(NotOwned) as err:
        hn.HostNetworkManager(params, backends=b).run()
    assert "eth9" in str(err.value)
    assert session.calls == [] and log == [], "nothing may be removed: %r %r" % (session.calls, log)


def test_absent_without_foreign_ports_removes_everything():
    log = []
    session = Session([link("nw-app", "netwire:bridge", index=3)])
    b = backends(session, log, ovs={"bridges": ["nw-dmz"]})
    b["ovs_foreign_ports"] = lambda mgr: {}
    hn.HostNetworkManager({"plan": {}, "state": "absent", "sections": ["fabric", "firewall"]}, backends=b).run()
    assert [c[2] for c in session.calls] == ["nw-app"]
    assert ("ovs_bridge", "nw-dmz", "absent") in log


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
