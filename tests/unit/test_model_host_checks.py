"""Validation against the hosts themselves: their networks, addresses and listening ports (issue 11).

Each case is a model change and the hosts' facts as Ansible and netwire.fabric.host_facts gather them;
the finding must name the element of the model (its path) and say why.
"""

import pytest

from tests.unit.model_cases import assert_finding, base, hosts
from ansible_collections.netwire.fabric.plugins.module_utils._host import facts as hf
from ansible_collections.netwire.fabric.plugins.plugin_utils import model as m


def iface(name, address, prefix, *secondaries):
    body = {"device": name, "ipv4": {"address": address, "prefix": str(prefix)}}
    if secondaries:
        body["ipv4_secondaries"] = [{"address": a, "prefix": str(p)} for a, p in secondaries]
    return body


def facts(index, listening=(), owned=(), extra=None):
    """A lab-like host: management eth0, underlay eth1, loopback, default route over the underlay."""
    f = {
        "interfaces": ["lo", "eth0", "eth1"],
        "lo": iface("lo", "127.0.0.1", 8),
        "eth0": iface("eth0", "198.18.0.%d" % (74 + index), 27),
        "eth1": iface("eth1", "198.19.0.1%d" % index, 24),
        "default_ipv4": {"address": "198.19.0.1%d" % index, "interface": "eth1", "network": "198.19.0.0",
                         "prefix": "24", "gateway": "198.19.0.1"},
        "netwire_host_facts": {"listening": [dict(zip(("proto", "address", "port"), s)) for s in listening],
                               "owned_interfaces": list(owned)},
    }
    for name, body in (extra or {}).items():
        f["interfaces"].append(name)
        f[name.replace("-", "_")] = body
    return f


def as_host_facts(f):
    """The same host as netwire.fabric.host_facts reads it (site.yml gathers no Ansible facts)."""
    ours = dict(f["netwire_host_facts"], interfaces={}, default_ipv4=f.get("default_ipv4"))
    for name in f["interfaces"]:
        body = f.get(name) or f.get(name.replace("-", "_"))
        held = ([body["ipv4"]] if "ipv4" in body else []) + body.get("ipv4_secondaries", [])
        ours["interfaces"][name] = {"mtu": 1500, "ipv4": [{"address": a["address"], "prefix": int(a["prefix"])}
                                                          for a in held]}
    return {"netwire_host_facts": ours}


# Every check runs on both: the facts as host_facts reads them (site.yml) and as Ansible gathers them.
SHAPE = {}


@pytest.fixture(autouse=True, params=["host_facts", "ansible"])
def facts_shape(request):
    SHAPE["value"] = request.param


def host_vars(**per_host):
    hv = hosts()
    for i, name in enumerate(sorted(hv), 1):
        f = facts(i, **per_host.get(name, {}))
        hv[name]["ansible_facts"] = as_host_facts(f) if SHAPE.get("value") == "host_facts" else f
    return hv


def set_default_route(hv, host, value):
    f = hv[host]["ansible_facts"]
    (f["netwire_host_facts"] if "interfaces" in f["netwire_host_facts"] else f)["default_ipv4"] = value


def run(model, hv):
    return m.validate(model, hv)


def subnet(value, network="front"):
    model = base()
    model["netwire_networks"][network]["subnet"] = value
    if network == "front":
        model["netwire_containers"]["web1"]["interfaces"][0]["address"] = "auto"
    return model


# ---------------------------------------------------------------- subnets against the hosts' networks

@pytest.mark.parametrize("value,fragment", [
    ("198.19.0.0/24", "overlaps 198.19.0.0/24 of host h1 (interface eth1)"),
    ("198.19.0.0/16", "overlaps 198.19.0.0/24 of host h1 (interface eth1)"),
    ("198.18.0.64/29", "overlaps 198.18.0.64/27 of host h1 (interface eth0)"),
], ids=["underlay", "underlay-supernet", "management"])
def test_subnet_over_a_hosts_own_network(value, fragment):
    assert_finding(run(subnet(value), host_vars()), "netwire_networks.front.subnet", fragment)


def test_subnet_over_a_secondary_address_of_one_host():
    hv = host_vars(h3={"extra": {"eth2": iface("eth2", "192.168.5.2", 24, ("10.1.0.200", 25))}})
    assert_finding(run(base(), hv), "netwire_networks.front.subnet",
                   "overlaps 10.1.0.128/25 of host h3 (interface eth2)")


def test_subnet_over_the_default_route_network():
    hv = host_vars()
    set_default_route(hv, "h2", {"network": "10.2.0.0", "prefix": "16", "gateway": "10.2.0.1",
                                 "interface": "wan0"})
    assert_finding(run(base(), hv), "netwire_networks.back.subnet",
                   "overlaps 10.2.0.0/16 of host h2 (the default route (via 10.2.0.1))")


def test_our_own_bridges_are_not_the_hosts_networks():
    """After a run, the host holds its address on every bridge of ours: that is no overlap (but a foreign one is)."""
    bridges = {"nw-front": iface("nw-front", "10.1.0.1", 24), "nw-back": iface("nw-back", "10.2.0.1", 24)}
    assert run(base(), host_vars(h1={"extra": bridges, "owned": ["nw-front", "nw-back"]})) == []
    found = run(base(), host_vars(h1={"extra": bridges, "owned": ["nw-back"]}))
    assert_finding(found, "netwire_networks.front.subnet", "overlaps 10.1.0.0/24 of host h1 (interface nw-front)")
    assert [f["path"] for f in found] == ["netwire_networks.front.subnet"]


def test_without_facts_the_hosts_are_not_checked():
    """validate.yml never contacts a host: no facts, no host checks (and no crash)."""
    assert run(subnet("198.19.0.0/24"), hosts()) == []


# ---------------------------------------------------------------- ranges that are never a container network

@pytest.mark.parametrize("value,fragment", [
    ("224.1.0.0/24", "multicast"),
    ("239.255.0.0/16", "multicast"),
    ("240.0.0.0/24", "reserved (240.0.0.0/4"),
    ("255.255.255.0/24", "reserved (240.0.0.0/4"),
    ("0.0.0.0/24", "'this network'"),
    ("127.0.0.0/24", "loopback"),
    ("127.16.0.0/16", "loopback"),
    ("169.254.0.0/24", "link-local"),
    ("160.0.0.0/3", "link-local"),
])
def test_subnet_that_is_not_unicast(value, fragment):
    found = run(subnet(value), hosts())
    assert_finding(found, "netwire_networks.front.subnet", "subnet %s overlaps %s" % (value, fragment))


@pytest.mark.parametrize("value", ["10.1.0.0/24", "172.16.0.0/24", "192.168.0.0/24", "100.64.0.0/24"])
def test_unicast_subnets_pass(value):
    assert run(subnet(value), host_vars()) == []


# ---------------------------------------------------------------- bind addresses

def publish(**pub):
    model = base()
    model["netwire_containers"]["web1"]["publish"] = [dict({"host_port": 8080, "port": 80}, **pub)]
    return model


@pytest.mark.parametrize("bind,held", [
    ("198.19.0.11", True), ("198.18.0.75", True), ("0.0.0.0", True), ("127.0.0.1", True),
    ("198.19.0.12", False), ("203.0.113.5", False),
])
def test_bind_address_must_be_held_by_the_host(bind, held):
    found = run(publish(bind=bind), host_vars())
    if held:
        assert found == []
    else:
        assert_finding(found, "netwire_containers.web1.publish[0].bind",
                       "bind address %s is not an address of host h1 (it holds 127.0.0.1, 198.18.0.75, "
                       "198.19.0.11)" % bind)


def test_underlay_that_the_host_does_not_hold():
    hv = host_vars()
    hv["h1"]["netwire_host"]["underlay_address"] = "198.19.0.99/24"
    assert_finding(run(base(), hv), "netwire_containers.web1.publish[0].bind",
                   "bind address 198.19.0.99 is not an address of host h1")


# ---------------------------------------------------------------- ports the host listens on

SSHD_ANY = [("tcp", "0.0.0.0", 22)]
SSHD_MGMT = [("tcp", "198.18.0.75", 22)]
SSHD_V6ANY = [("tcp", "::", 22)]
SSHD_LOOPBACK = [("tcp", "127.0.0.1", 22), ("tcp", "::1", 22)]
DNS_UNDERLAY = [("udp", "198.19.0.11", 53)]


@pytest.mark.parametrize("listening,pub,captured", [
    (SSHD_ANY, {"host_port": 22, "bind": "0.0.0.0"}, "tcp 0.0.0.0"),
    (SSHD_ANY, {"host_port": 22}, "tcp 0.0.0.0"),                      # bind underlay
    (SSHD_MGMT, {"host_port": 22, "bind": "0.0.0.0"}, "tcp 198.18.0.75"),
    (SSHD_MGMT, {"host_port": 22, "bind": "198.18.0.75"}, "tcp 198.18.0.75"),
    (SSHD_V6ANY, {"host_port": 22}, "tcp ::"),
    (DNS_UNDERLAY, {"host_port": 53, "proto": "udp"}, "udp 198.19.0.11"),
    (SSHD_MGMT, {"host_port": 22}, None),                              # sshd is not on the underlay
    (SSHD_LOOPBACK, {"host_port": 22, "bind": "0.0.0.0"}, None),       # loopback is never DNATed
    (SSHD_ANY, {"host_port": 2222, "port": 22, "bind": "0.0.0.0"}, None),
    (SSHD_ANY, {"host_port": 22, "proto": "udp", "bind": "0.0.0.0"}, None),
    (DNS_UNDERLAY, {"host_port": 53}, None),                            # tcp, not udp
    (SSHD_ANY, {"host_port": 22, "bind": "0.0.0.0", "capture_host_port": True}, None),
], ids=["any-any", "any-underlay", "mgmt-any", "mgmt-mgmt", "v6any-underlay", "udp", "mgmt-underlay",
        "loopback-any", "other-port", "other-proto", "udp-vs-tcp", "override"])
def test_publication_that_captures_a_host_port(listening, pub, captured):
    found = run(publish(**pub), host_vars(h1={"listening": listening}))
    if captured is None:
        assert found == []
    else:
        assert_finding(found, "netwire_containers.web1.publish[0].host_port",
                       "would capture the port host h1 itself listens on (%s)" % captured)
        assert_finding(found, "netwire_containers.web1.publish[0].host_port", "capture_host_port: true")


def test_capture_override_must_be_a_boolean():
    found = run(publish(host_port=22, capture_host_port="sometimes"), host_vars())
    assert_finding(found, "netwire_containers.web1.publish[0].capture_host_port", "must be a boolean")


def test_a_port_of_another_host_is_not_captured():
    found = run(publish(host_port=22, bind="0.0.0.0"), host_vars(h2={"listening": SSHD_ANY}))
    assert found == []


# ---------------------------------------------------------------- an empty model

@pytest.mark.parametrize("model,empty", [
    ({}, True), (None, True),
    ({"netwire_zones": {}, "netwire_networks": None, "netwire_containers": {}}, True),
    ({"netwire_zones": {"a": {}}}, False),
    ({"netwire_networks": {"n": {"subnet": "10.1.0.0/24", "zone": "a"}}}, False),
    (base(), False),
])
def test_an_empty_model_is_recognised(model, empty):
    assert m.is_empty(model) is empty


# ---------------------------------------------------------------- /proc/net parsing (host_facts)

PROC_TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 4B0012C6:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1
   1: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1
   2: 4B0012C6:0016 4A0012C6:C350 01 00000000:00000000 02:000A7B2C 00000000     0        0 3 1
"""
PROC_TCP6 = """\
  sl  local_address                         remote_address                        st tx_queue rx_queue
   0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000
   1: 00000000000000000000000001000000:0035 00000000000000000000000000000000:0000 0A 00000000:00000000
"""
PROC_UDP = """\
   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref
  1: 00000000:0044 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1 2
  2: 0B1313C6:A000 0C1313C6:0035 01 00000000:00000000 00:00000000 00000000     0        0 2 2
"""


def test_proc_net_tables_are_read_as_listening_sockets():
    assert hf.parse_proc_net("tcp", PROC_TCP) == [
        {"proto": "tcp", "address": "198.18.0.75", "port": 22},
        {"proto": "tcp", "address": "127.0.0.1", "port": 8080}]
    assert hf.parse_proc_net("tcp", PROC_TCP6) == [
        {"proto": "tcp", "address": "::", "port": 80},
        {"proto": "tcp", "address": "::1", "port": 53}]
    assert hf.parse_proc_net("udp", PROC_UDP) == [{"proto": "udp", "address": "0.0.0.0", "port": 68}]


def test_listening_reads_every_table(tmp_path):
    for name, text in (("tcp", PROC_TCP), ("tcp6", PROC_TCP6), ("udp", PROC_UDP)):
        (tmp_path / name).write_text(text)
    found = hf.listening(str(tmp_path))
    assert {"proto": "tcp", "address": "198.18.0.75", "port": 22} in found
    assert {"proto": "udp", "address": "0.0.0.0", "port": 68} in found
    assert len(found) == 5


# ---------------------------------------------------------------- the WireGuard tunnel subnet (issue 16)

def encrypted(subnet_text):
    model = base()
    model["netwire_encryption"] = {"subnet": subnet_text}
    model["netwire_networks"]["front"]["encrypt"] = True
    return model


def test_encryption_subnet_over_a_hosts_own_network():
    hv = host_vars(h2={"extra": {"eth2": iface("eth2", "10.99.0.7", 24)}})
    assert_finding(run(encrypted("10.99.0.0/24"), hv), "netwire_encryption.subnet",
                   "overlaps 10.99.0.0/24 of host h2 (interface eth2)")


def test_our_own_wireguard_device_is_not_the_hosts_network():
    wg = {"nw-wg0": iface("nw-wg0", "10.99.0.1", 24)}
    assert run(encrypted("10.99.0.0/24"), host_vars(h1={"extra": wg, "owned": ["nw-wg0"]})) == []


# ---------------------------------------------------------------- host_facts' network reading (pure)

LINKS = [{"index": 1, "ifname": "lo", "mtu": 65536}, {"index": 2, "ifname": "eth0", "mtu": 1500},
         {"index": 3, "ifname": "eth1", "mtu": 9000}]


def addr(index, cidr, family=2):
    return {"index": index, "family": family, "address": cidr, "scope": 0, "link_local": False}


def route(dst, oif, gateway=None, table=254, priority=None):
    return {"family": 2, "dst": dst, "gateway": gateway, "oif": oif, "proto": 3, "scope": 0, "table": table,
            "priority": priority}


def test_host_facts_network_from_netlink():
    interfaces, default = hf.network_facts(
        LINKS, [addr(1, "127.0.0.1/8"), addr(3, "198.19.0.11/24"), addr(3, "10.9.0.1/25"), addr(2, "fd00::1/64", 10),
                addr(9, "192.0.2.1/24")],
        [route("0.0.0.0/0", 2, "192.168.1.1", priority=200), route("0.0.0.0/0", 3, "10.9.0.126", priority=100),
         route("0.0.0.0/0", 1, "127.0.0.2", table=100), route("198.19.0.0/24", 3)])
    eth1 = [{"address": "198.19.0.11", "prefix": 24}, {"address": "10.9.0.1", "prefix": 25}]
    assert interfaces == {"lo": {"mtu": 65536, "ipv4": [{"address": "127.0.0.1", "prefix": 8}]},
                          "eth0": {"mtu": 1500, "ipv4": []}, "eth1": {"mtu": 9000, "ipv4": eth1}}
    # the lowest metric of the main table; the address on the gateway's network, not the first
    assert default == {"gateway": "10.9.0.126", "interface": "eth1", "address": "10.9.0.1", "prefix": 25,
                       "network": "10.9.0.0"}


def test_host_facts_without_a_default_route_or_an_address_on_it():
    assert hf.network_facts(LINKS, [], [route("10.0.0.0/8", 2, "10.0.0.1")])[1] is None
    assert hf.network_facts(LINKS, [], [route("0.0.0.0/0", 2)])[1] == {"gateway": None, "interface": "eth0"}


def test_host_facts_os_release():
    assert hf.parse_os_release('PRETTY_NAME="Ubuntu 24.04"\nID=ubuntu\nID_LIKE=debian\n') == {
        "id": "ubuntu", "id_like": ["debian"]}
    assert hf.parse_os_release("ID='rocky'\nID_LIKE=\"rhel centos fedora\"\n# ID=debian\n") == {
        "id": "rocky", "id_like": ["rhel", "centos", "fedora"]}
    assert hf.parse_os_release("") == {"id": None, "id_like": []}


def test_host_facts_read_this_namespace():
    """The real reader on the machine running the tests (read-only): at least loopback, with its address."""
    interfaces, _default = hf.read_network()
    assert {"address": "127.0.0.1", "prefix": 8} in interfaces["lo"]["ipv4"]


def test_the_underlay_comes_from_host_facts_before_ansibles_facts():
    """With both (a play that gathered Ansible's facts too), the interfaces host_facts read win."""
    hv = host_vars()
    del hv["h1"]["netwire_host"]["underlay_address"]
    hv["h1"]["netwire_host"]["underlay_interface"] = "eth1"
    ansible = facts(1)
    ansible["eth1"] = iface("eth1", "198.19.0.99", 24)
    hv["h1"]["ansible_facts"] = dict(ansible, netwire_host_facts=as_host_facts(facts(1))["netwire_host_facts"])
    normalized, found, _w = m.analyze(base(), hv)
    assert found == []
    assert normalized["hosts"]["h1"]["underlay_address"] == "198.19.0.11"
