"""The lab's pure parts: address plan, range conflicts, inventory."""

import pytest

from tests.lab import core


def test_address_plan_of_the_default_lab():
    assert [core.mgmt_ip(i) for i in (1, 2, 3)] == ["198.18.0.11", "198.18.0.12", "198.18.0.13"]
    assert [core.underlay_ip(i) for i in (1, 2, 3)] == ["198.19.0.11", "198.19.0.12", "198.19.0.13"]
    assert str(core.mgmt_net(0)) == "198.18.0.0/24"


def test_extra_instances_use_disjoint_parts_of_the_management_range():
    nets = [core.mgmt_net(i) for i in range(1, 8)]
    assert [str(n) for n in nets] == ["198.18.0.%d/27" % (32 * i) for i in range(1, 8)]
    for i, n in enumerate(nets, start=1):
        assert n.subnet_of(core.MGMT_NET)
        assert core.link_prefix(i) == "nwl%d-" % i
        # host addresses of an instance stay inside its own /27 (at most 20 hosts there)
        assert all(core.ipaddress.ip_address(core.mgmt_ip(h, i)) in n for h in range(1, 21))
    assert len({core.link_prefix(i) for i in range(8)}) == 8
    assert all(not a.overlaps(b) for a in nets for b in nets if a is not b)


def test_instance_must_be_known(monkeypatch):
    monkeypatch.setenv("NETWIRE_LAB_INSTANCE", "8")
    with pytest.raises(core.LabError, match="NETWIRE_LAB_INSTANCE"):
        core.lab_instance()


ROOT_ROUTES = [  # what `ip -j -4 route show table all` printed on a machine like ours
    {"dst": "default", "gateway": "192.0.2.1", "dev": "eth0"},
    {"dst": "192.0.2.0/24", "dev": "eth0", "protocol": "kernel", "scope": "link", "prefsrc": "192.0.2.2"},
    {"type": "local", "dst": "127.0.0.0/8", "table": "local", "dev": "lo"},
    {"type": "broadcast", "dst": "192.0.2.255", "table": "local", "dev": "eth0"},
]


def test_a_plain_uplink_is_no_conflict():
    assert core.conflicting_routes(ROOT_ROUTES) == []


@pytest.mark.parametrize("dst,lab_range", [
    ("198.19.0.0/24", "198.19.0.0/24"),
    ("198.18.0.0/16", "198.18.0.0/24"),
    ("203.0.113.128/25", "203.0.113.0/24"),
    ("10.20.0.0/16", "10.0.0.0/8"),
    ("0.0.0.0/1", "10.0.0.0/8"),
    ("198.19.0.5", "198.19.0.0/24"),
])
def test_any_overlap_with_a_lab_range_is_a_conflict(dst, lab_range):
    found = core.conflicting_routes(ROOT_ROUTES + [{"dst": dst, "dev": "eth9"}])
    assert any(lab_range in f and dst in f for f in found), found


def test_routes_on_the_labs_own_links_are_not_conflicts():
    routes = ROOT_ROUTES + [{"dst": "198.18.0.0/24", "dev": "nwlab-mgmt"}]
    assert core.conflicting_routes(routes, own_links=("nwlab-mgmt",)) == []
    assert core.conflicting_routes(routes) != []


def test_inventory_names_every_host_with_its_key_and_interpreter(tmp_path):
    lab = core.Lab(lab_dir=tmp_path, n_hosts=2, instance=0)
    text = core.render_inventory(lab.hosts, tmp_path / "k", tmp_path / "kh", "/venv/bin/python")
    assert "host1 ansible_host=198.18.0.11 netwire_lab_underlay_ip=198.19.0.11" in text
    assert "host2 ansible_host=198.18.0.12" in text
    assert "host3" not in text
    assert "ansible_python_interpreter=/venv/bin/python" in text
    assert "StrictHostKeyChecking=yes" in text and "UserKnownHostsFile=%s" % (tmp_path / "kh") in text


def test_inventory_can_manage_a_host_with_its_own_system_python(tmp_path):
    lab = core.Lab(lab_dir=tmp_path, n_hosts=2, instance=0)
    text = core.render_inventory(lab.hosts, tmp_path / "k", tmp_path / "kh", "/venv/bin/python",
                                 system_python=("host1",))
    lines = dict((l.split()[0], l) for l in text.splitlines() if l.startswith("host"))
    # host1: Ansible uses the system's Python; the modules get host_prep's virtualenv (the default)
    assert "ansible_python_interpreter=/usr/bin/python3" in lines["host1"]
    assert "netwire_module_python" not in lines["host1"] and "host_prep_manage_python" not in lines["host1"]
    # host2 keeps the checkout's virtualenv for both, and host_prep builds nothing there
    assert "netwire_module_python=/venv/bin/python host_prep_manage_python=false" in lines["host2"]
    assert "ansible_python_interpreter" not in lines["host2"]
    # the default lab: every host on the checkout's virtualenv
    default = core.render_inventory(lab.hosts, tmp_path / "k", tmp_path / "kh", "/venv/bin/python")
    assert default.count("netwire_module_python=/venv/bin/python host_prep_manage_python=false") == 2
