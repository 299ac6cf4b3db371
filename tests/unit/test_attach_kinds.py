"""container_attach's direct kinds (issue 19): parameters, marks, the shared-link rule, planners with fakes."""

import pytest

from tests.unit.linux_fakes import FakeSession, link

from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.module_utils._errors import InvalidParameter, MissingDependency, NotOwned
from ansible_collections.netwire.fabric.plugins.module_utils._host import attach as at
from ansible_collections.netwire.fabric.plugins.module_utils._host import attach_direct as ad
from ansible_collections.netwire.fabric.plugins.module_utils._host import shared_links
from ansible_collections.netwire.fabric.plugins.module_utils._host.attach_params import normalize_params
from ansible_collections.netwire.fabric.plugins.module_utils._linux.netns import ContainerNamespace

NS = ContainerNamespace("c1", "netns", "/run/netns/c1", "netns:c1", "c1")
BASE = dict(container="c1", container_type="auto", state="present", bridge=None, bridge_type="auto",
            ifname="eth1", host_ifname=None, addresses=[], mac=None, mac_seed=None, mtu=None, gateway=None,
            gateway6=None, routes=[], hairpin=False, gratuitous_arp=True)


def params(**kw):
    p = dict(BASE)
    p.update(kw)
    return p


@pytest.mark.parametrize("kw,fragment", [
    (dict(kind="macvlan"), "kind macvlan needs parent"),
    (dict(kind="macvlan", parent="eth0", bridge="nwbr"), "bridge is for kind veth"),
    (dict(kind="macvlan", parent="eth0", hairpin=True), "hairpin is for kind veth"),
    (dict(kind="macvlan", parent="eth0", macvlan_mode="loud"), "macvlan_mode 'loud' is not one of"),
    (dict(kind="macvlan", parent="eth0", macvlan_mode="private", host_macvlan={"addresses": []}),
     "host_macvlan needs macvlan_mode bridge"),
    (dict(kind="macvlan", parent="eth0", vlan=5), "vlan is for kind vlan"),
    (dict(kind="vlan", parent="eth0"), "kind vlan needs vlan"),
    (dict(kind="vlan", parent="eth0", vlan=4095), "vlan 4095 is out of range"),
    (dict(kind="phys", parent="mac:01:00:5e:00:00:01"), "multicast"),
    (dict(kind="phys", parent="eth3", mac="02:00:00:00:00:01"), "keeps the NIC's own MAC"),
    (dict(kind="phys", parent="eth3", macvlan_mode="bridge"), "macvlan_mode is for kind macvlan or vlan"),
    (dict(kind="dummy", parent="eth3"), "a dummy interface has no parent"),
    (dict(parent="eth3", bridge="nwbr"), "parent is for kind macvlan, vlan or phys, not veth"),
    (dict(kind="ipvlan", parent="eth3"), "kind 'ipvlan' is not one of"),
])
def test_bad_kind_options(kw, fragment):
    with pytest.raises(InvalidParameter, match=fragment):
        normalize_params(params(**kw))


def test_phys_parent_by_name_or_by_mac():
    by_name = normalize_params(params(kind="phys", parent="eth3"))
    assert (by_name["parent"], by_name["parent_mac"]) == ("eth3", None)
    by_mac = normalize_params(params(kind="phys", parent="MAC:52-54-00-AB-CD-EF"))
    assert (by_mac["parent"], by_mac["parent_mac"]) == (None, "52:54:00:ab:cd:ef")
    assert normalize_params(params(kind="macvlan", parent="eth0"))["macvlan_mode"] == "bridge"


def test_marks_and_names():
    alias = _names.phys_alias("enp3s0", "docker:web1", "eth5")
    assert alias == "netwire:phys:enp3s0:docker:web1/eth5"
    assert _names.parse_phys_alias(alias) == ("enp3s0", "docker:web1", "eth5")
    assert _names.parse_phys_alias("netwire:attach:docker:web1/eth5") is None
    assert not alias.startswith(_names.ATTACH_ALIAS_PREFIX), "host_network's purge deletes links with that prefix"
    assert _names.vlan_link_name("eth0", 100) == "eth0.100"
    long_name = _names.vlan_link_name("enp129s0f1np1", 4000)
    assert long_name.startswith("nwv") and len(long_name) == 15
    assert _names.host_macvlan_name("eth0") == "nwm-eth0"
    assert len(_names.host_macvlan_name("enp129s0f1np1")) <= 15


@pytest.mark.parametrize("exists,owned,users,me,want,expected", [
    # the first user creates it
    (False, False, [], "a", True, {"create": True, "delete": False, "users": ["a"]}),
    # a second user shares it
    (True, True, ["a"], "b", True, {"create": False, "delete": False, "users": ["a", "b"]}),
    # a user leaves, another stays: kept
    (True, True, ["a", "b"], "a", False, {"create": False, "delete": False, "users": ["b"]}),
    # the last user leaves: removed
    (True, True, ["b"], "b", False, {"create": False, "delete": True, "users": []}),
    # someone else's sub-interface: used, never removed
    (True, False, ["b"], "b", False, {"create": False, "delete": False, "users": []}),
    # not a user: nothing to do
    (True, True, ["a"], "b", False, {"create": False, "delete": False, "users": ["a"]}),
    # the link vanished while users remain: created again
    (False, False, ["a"], "b", True, {"create": True, "delete": False, "users": ["a", "b"]}),
])
def test_shared_link_created_once_and_removed_with_its_last_user(exists, owned, users, me, want, expected):
    assert shared_links.plan_shared(exists, owned, users, me, want) == expected


class Manager(ad.AttachManager):
    """The manager with the container already resolved (no Docker in unit tests)."""

    def run(self):
        self.params = normalize_params(self.raw_params)
        self.ns = NS
        if self.params["state"] == "absent":
            self.plan_absent()
        else:
            self.plan_present(self.read_state())
        self.plan.apply()
        return {"changed": self.plan.changed, "actions": self.plan.actions, "attachment": self.predicted}


@pytest.fixture
def shared_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(_names, "SHARED_LINKS_DIR", str(tmp_path))
    monkeypatch.setattr(ad, "kernel_lacks", lambda kind: False)
    monkeypatch.setattr(_names, "PHYS_DIR", str(tmp_path / "phys"))
    monkeypatch.setattr(_names, "DIRECT_DIR", str(tmp_path / "direct"))

    def resolve(ref, ref_type="auto"):
        if ref != "c1":
            raise InvalidParameter("no such container %s" % ref)
        return NS
    monkeypatch.setattr(ad, "resolve", resolve)
    monkeypatch.setattr(at, "resolve", resolve)
    return tmp_path


def test_vlan_sub_interface_created_once_shared_and_removed_with_its_last_user(shared_dir):
    nic = link(3, "eth0")
    vlan_params = params(kind="vlan", parent="eth0", vlan=100, addresses=["10.1.0.5/24"])
    res = Manager(FakeSession([nic], check_mode=True, namespaces={NS.path: [link(1, "lo")]}), vlan_params).run()
    assert res["actions"][:3] == ["create VLAN 100 sub-interface eth0.100 on eth0", "set eth0.100 up",
                                  "record netns:c1/eth1 as a user of eth0.100"]
    assert "create macvlan eth1 in c1 on eth0.100 (mode bridge)" in res["actions"]
    assert res["attachment"]["vlan"] == 100 and res["attachment"]["parent"] == "eth0"

    # applied: the record; a second attachment shares the sub-interface, which exists by now
    shared_links.write_record("eth0.100", "vlan", "eth0", ["netns:c1/eth1"])
    sub = link(7, "eth0.100", kind="vlan", alias=_names.VLAN_ALIAS, peer=3, data={"id": 100})
    second = Manager(FakeSession([nic, sub], check_mode=True, namespaces={NS.path: [link(1, "lo")]}),
                     dict(vlan_params, ifname="eth2")).run()
    assert not any(a.startswith("create VLAN") for a in second["actions"]), second["actions"]
    assert "record netns:c1/eth2 as a user of eth0.100" in second["actions"]
    shared_links.write_record("eth0.100", "vlan", "eth0", ["netns:c1/eth1", "netns:c1/eth2"])

    # the first user goes: kept; the last goes: removed
    absent = params(state="absent")
    first_gone = Manager(FakeSession([nic, sub], namespaces={NS.path: [link(1, "lo")]}), absent).run()
    assert first_gone["actions"] == ["forget netns:c1/eth1 as a user of eth0.100"]
    assert shared_links.read_records()["eth0.100"]["users"] == ["netns:c1/eth2"]
    session = FakeSession([nic, sub], namespaces={NS.path: [link(1, "lo")]})
    last_gone = Manager(session, params(state="absent", ifname="eth2")).run()
    assert last_gone["actions"] == ["forget netns:c1/eth2 as a user of eth0.100", "delete eth0.100 (its last user went)"]
    assert ("link", ("del",), {"index": 7, "netns": None}) in session.calls
    assert shared_links.read_records() == {}


def test_someone_elses_sub_interface_is_used_and_never_removed(shared_dir):
    nic, theirs = link(3, "eth0"), link(7, "eth0.100", kind="vlan", alias="uplink vlan 100", peer=3)
    vlan_params = params(kind="vlan", parent="eth0", vlan=100)
    res = Manager(FakeSession([nic, theirs], check_mode=True, namespaces={NS.path: [link(1, "lo")]}),
                  vlan_params).run()
    assert not any(a.startswith("create VLAN") for a in res["actions"])
    shared_links.write_record("eth0.100", "vlan", "eth0", ["netns:c1/eth1"])
    session = FakeSession([nic, theirs], namespaces={NS.path: [link(1, "lo")]})
    res = Manager(session, params(state="absent")).run()
    assert res["actions"] == ["forget netns:c1/eth1 as a user of eth0.100"]
    assert not any(c[1] == ("del",) for c in session.calls)


def test_a_kind_the_kernel_lacks_fails_before_anything_is_queued(monkeypatch):
    monkeypatch.setattr(ad, "kernel_lacks", lambda kind: kind == "vlan")
    ctx = FakeSession([link(3, "eth0")], namespaces={NS.path: [link(1, "lo")]})
    mgr = Manager(ctx, params(kind="vlan", parent="eth0", vlan=100, addresses=["10.1.0.5/24"]))
    with pytest.raises(MissingDependency, match="kernel module 8021q, CONFIG_VLAN_8021Q"):
        mgr.run()
    assert mgr.plan.actions == [] and ctx.calls == []


def test_macvlan_in_check_mode_and_converged(shared_dir):
    nic = link(3, "eth0", mtu=9000)
    ctx = FakeSession([nic], check_mode=True, namespaces={NS.path: [link(1, "lo")]})
    res = Manager(ctx, params(kind="macvlan", parent="eth0", macvlan_mode="vepa", addresses=["10.1.0.5/24"])).run()
    assert res["actions"] == ["create macvlan eth1 in c1 on eth0 (mode vepa)",
                              "record c1:eth1 as a macvlan attachment (%s)" % (shared_dir / "direct"),
                              "add address 10.1.0.5/24 to eth1", "set eth1 up", "announce 10.1.0.5 with gratuitous ARP"]
    assert res["attachment"]["mtu"] == 9000 and ctx.calls == []
    shared_links.write_direct_record({"identity": "netns:c1", "ifname": "eth1", "kind": "macvlan", "ref": "c1"})
    end = link(2, "eth1", kind="macvlan", alias=_names.attach_alias("netns:c1", "eth1"), mtu=9000, peer=3,
               mac=_names.container_mac("c1", "eth1"), data={"mode": "vepa"})
    end["link_netnsid"] = 0
    ctx = FakeSession([nic], namespaces={NS.path: [link(1, "lo"), end]}, addresses={(NS.path, 2): ["10.1.0.5/24"]})
    res = Manager(ctx, params(kind="macvlan", parent="eth0", macvlan_mode="vepa", addresses=["10.1.0.5/24"])).run()
    assert not res["changed"], res["actions"]
    res = Manager(ctx, params(kind="macvlan", parent="eth0", macvlan_mode="bridge", addresses=["10.1.0.5/24"])).run()
    assert res["actions"] == ["set eth1 macvlan mode bridge"]


def test_a_user_whose_container_is_gone_does_not_keep_a_shared_link(shared_dir):
    nic = link(3, "eth0")
    sub = link(7, "eth0.100", kind="vlan", alias=_names.VLAN_ALIAS, peer=3, data={"id": 100})
    shared_links.write_record("eth0.100", "vlan", "eth0", ["netns:c1/eth1", "docker:gone/eth1"])
    session = FakeSession([nic, sub], namespaces={NS.path: [link(1, "lo")]})
    res = Manager(session, params(state="absent")).run()
    assert res["actions"] == ["forget netns:c1/eth1 as a user of eth0.100", "delete eth0.100 (its last user went)"]
    assert shared_links.read_records() == {}


def test_purge_detaches_the_direct_attachments_the_plan_no_longer_declares(shared_dir):
    end = link(2, "eth1", kind="macvlan", alias=_names.attach_alias("netns:c1", "eth1"), peer=3)
    end["link_netnsid"] = 0
    shared_links.write_direct_record({"identity": "netns:c1", "ifname": "eth1", "kind": "macvlan", "ref": "c1",
                                      "ref_type": "auto"})
    kept = FakeSession([link(3, "eth0")], namespaces={NS.path: [link(1, "lo"), end]})
    assert ad.AttachManager.purge(kept, keep=set([_names.direct_keep_name("c1", "eth1")])) == []
    assert kept.calls == []
    session = FakeSession([link(3, "eth0")], namespaces={NS.path: [link(1, "lo"), end]})
    removed = ad.AttachManager.purge(session, keep=set())
    assert [r["actions"] for r in removed] == [["delete macvlan eth1 in c1",
                                                "forget netns:c1/eth1 (%s)" % (shared_dir / "direct")]]
    assert ("link", ("del",), {"index": 2, "netns": NS.path}) in session.calls
    assert shared_links.read_direct_records() == []


def test_the_nic_of_the_hosts_default_route_is_never_handed_over(shared_dir):
    ctx = FakeSession([link(3, "eth0"), link(4, "eth3")], check_mode=True, namespaces={NS.path: [link(1, "lo")]},
                      routes={None: [{"dst": "0.0.0.0/0", "gateway": "192.0.2.1", "oif": 3, "proto": 4,
                                      "table": 254, "priority": None}]})
    with pytest.raises(NotOwned, match="'eth0' carries the host's default route"):
        Manager(ctx, params(kind="phys", parent="eth0", addresses=["10.1.0.5/24"])).run()
    res = Manager(ctx, params(kind="phys", parent="eth3", addresses=["10.1.0.5/24"])).run()
    assert res["actions"][0] == "move NIC eth3 (02:00:00:00:00:04) into c1 as eth1"


def test_a_nic_in_the_container_goes_back_to_the_host_before_another_kind_takes_its_name(shared_dir):
    nic = link(2, "eth1", alias=_names.phys_alias("eth3", "netns:c1", "eth1"))
    session = FakeSession([link(3, "eth0")], check_mode=True, namespaces={NS.path: [link(1, "lo"), nic]})
    res = Manager(session, params(kind="macvlan", parent="eth0", addresses=["10.1.0.5/24"])).run()
    assert res["actions"][:2] == ["give NIC eth1 back to the host as eth3 (another kind is asked)",
                                  "create macvlan eth1 in c1 on eth0 (mode bridge)"]
    assert not any("remove eth1" in a for a in res["actions"])
