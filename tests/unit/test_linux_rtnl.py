"""The synchronous netlink reader (issue 20): its own flattening equals pyroute2's decoding + ``parse_*``."""

import socket
import struct

import pytest

from ansible_collections.netwire.fabric.plugins.module_utils._linux import netlink as _netlink
from ansible_collections.netwire.fabric.plugins.module_utils._linux import rtnl

pyroute2 = pytest.importorskip("pyroute2")
from pyroute2.netlink.rtnl.fibmsg import fibmsg  # noqa: E402
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg  # noqa: E402
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg  # noqa: E402
from pyroute2.netlink.rtnl.marshal import MarshalRtnl  # noqa: E402
from pyroute2.netlink.rtnl.rtmsg import rtmsg  # noqa: E402
from pyroute2.netlink.rtnl.tcmsg import tcmsg  # noqa: E402


def encoded(cls, msg_type, fields, attrs):
    msg = cls()
    msg["header"]["type"] = msg_type
    msg["header"]["sequence_number"] = 1
    msg.update(fields)
    msg["attrs"] = attrs
    msg.encode()
    return bytes(msg.data)


def both(data, flat, parse):
    """(ours, pyroute2's decoding flattened by netlink.parse_*) of one encoded message."""
    decoded = next(MarshalRtnl().parse(data))
    return flat(data, 0, len(data)), parse(decoded)


LINKS = [
    ({"index": 9, "flags": 0x1043, "ifi_type": 1},
     [("IFLA_IFNAME", "eth2"), ("IFLA_MTU", 1450), ("IFLA_ADDRESS", "02:aa:bb:cc:dd:ee"), ("IFLA_OPERSTATE", "UP"),
      ("IFLA_IFALIAS", "netwire:attach:netns:c1/eth2"), ("IFLA_LINK", 40), ("IFLA_LINK_NETNSID", 0),
      ("IFLA_LINKINFO", {"attrs": [("IFLA_INFO_KIND", "veth")]})]),
    ({"index": 1, "flags": 0x8, "ifi_type": 772}, [("IFLA_IFNAME", "lo"), ("IFLA_MTU", 65536)]),
    ({"index": 41, "flags": 0x1003, "ifi_type": 1},
     [("IFLA_IFNAME", "nwd02b6b1c8241b"), ("IFLA_MASTER", 4), ("IFLA_OPERSTATE", "UP"),
      ("IFLA_LINKINFO", {"attrs": [("IFLA_INFO_KIND", "veth"), ("IFLA_INFO_SLAVE_KIND", "bridge"),
                                   ("IFLA_INFO_SLAVE_DATA", {"attrs": [
                                       ("IFLA_BRPORT_STATE", 3), ("IFLA_BRPORT_PRIORITY", 32), ("IFLA_BRPORT_COST", 2),
                                       ("IFLA_BRPORT_MODE", 1),
                                       ("IFLA_BRPORT_ROOT_ID", {"prio": 128, "addr": "8e:2e:14:71:3e:a8"}),
                                       ("IFLA_BRPORT_HOLD_TIMER", 7), ("IFLA_BRPORT_MCAST_N_GROUPS", 1)]})]})]),
    ({"index": 12, "flags": 0x2, "ifi_type": 1},
     [("IFLA_IFNAME", "nw0123"), ("IFLA_MASTER", 4), ("IFLA_OPERSTATE", "DOWN"), ("IFLA_IFALIAS", "")]),
]


@pytest.mark.parametrize("fields,attrs", LINKS)
def test_links_flatten_as_pyroute2_and_parse_link_do(fields, attrs):
    ours, theirs = both(encoded(ifinfmsg, 16, fields, attrs), rtnl.flat_link, _netlink.parse_link)
    assert ours == theirs


def test_a_link_with_kind_or_port_data_is_left_to_pyroute2():
    data = encoded(ifinfmsg, 16, {"index": 4}, [("IFLA_IFNAME", "nw-lin"), ("IFLA_LINKINFO", {"attrs": [
        ("IFLA_INFO_KIND", "bridge"), ("IFLA_INFO_DATA", {"attrs": [("IFLA_BR_STP_STATE", 0)]})]})])
    assert rtnl.flat_link(data, 0, len(data)) is None


@pytest.mark.parametrize("fields,attrs", [
    ({"family": socket.AF_INET, "prefixlen": 24, "scope": 0, "index": 9},
     [("IFA_ADDRESS", "10.62.0.32"), ("IFA_LOCAL", "10.62.0.32")]),
    ({"family": socket.AF_INET6, "prefixlen": 64, "scope": 253, "index": 9}, [("IFA_ADDRESS", "fe80::aa:bbff:fecc:ddee")]),
    ({"family": socket.AF_INET6, "prefixlen": 64, "scope": 0, "index": 9}, [("IFA_ADDRESS", "fd00:62::20")]),
])
def test_addresses_flatten_alike(fields, attrs):
    ours, theirs = both(encoded(ifaddrmsg, 20, fields, attrs), rtnl.flat_addr, _netlink.parse_addr)
    assert ours == theirs


@pytest.mark.parametrize("fields,attrs", [
    ({"family": socket.AF_INET, "dst_len": 0, "table": 254, "proto": 110, "scope": 0, "type": 1},
     [("RTA_TABLE", 254), ("RTA_GATEWAY", "10.62.0.1"), ("RTA_OIF", 9)]),
    ({"family": socket.AF_INET, "dst_len": 24, "table": 252, "proto": 110, "scope": 253, "type": 1},
     [("RTA_TABLE", 1000), ("RTA_DST", "10.9.0.0"), ("RTA_OIF", 9), ("RTA_PRIORITY", 5)]),
    ({"family": socket.AF_INET6, "dst_len": 64, "table": 254, "proto": 2, "scope": 0, "type": 1},
     [("RTA_DST", "fd00:62::"), ("RTA_OIF", 9), ("RTA_PRIORITY", 256)]),
])
def test_routes_flatten_alike(fields, attrs):
    ours, theirs = both(encoded(rtmsg, 24, fields, attrs), rtnl.flat_route, _netlink.parse_route)
    assert ours == theirs


@pytest.mark.parametrize("fields,attrs", [
    ({"family": socket.AF_INET, "table": 255, "action": 1}, [("FRA_TABLE", 255), ("FRA_PRIORITY", 0)]),
    ({"family": socket.AF_INET, "src_len": 24, "table": 252, "action": 1, "tos": 4},
     [("FRA_TABLE", 1000), ("FRA_PRIORITY", 1000), ("FRA_SRC", "10.62.0.0"), ("FRA_IIFNAME", "eth2"),
      ("FRA_OIFNAME", "eth3"), ("FRA_FWMARK", 7), ("FRA_FWMASK", 255), ("FRA_PROTOCOL", 110),
      ("FRA_SUPPRESS_PREFIXLEN", 0), ("FRA_GOTO", 3)]),
    ({"family": socket.AF_INET6, "dst_len": 48, "table": 254, "action": 1},
     [("FRA_DST", "fd00:62::"), ("FRA_PRIORITY", 32766)]),
])
def test_rules_flatten_alike(fields, attrs):
    ours, theirs = both(encoded(fibmsg, 32, fields, attrs), rtnl.flat_rule, _netlink.parse_rule)
    assert ours == theirs


def test_qdiscs_flatten_alike_and_options_are_left_to_pyroute2():
    data = encoded(tcmsg, 36, {"index": 9, "handle": 0, "parent": 0xFFFFFFFF}, [("TCA_KIND", "noqueue")])
    ours, theirs = both(data, rtnl.flat_qdisc, _netlink.parse_qdisc)
    assert ours == theirs
    data = encoded(tcmsg, 36, {"index": 9, "handle": 0x4E570000, "parent": 0xFFFFFFFF},
                   [("TCA_KIND", "tbf"), ("TCA_OPTIONS", {"attrs": []})])
    assert rtnl.flat_qdisc(data, 0, len(data)) is None


def test_the_namespace_reads_as_pyroute2_reads_it():
    """A live read of the test's own namespace, both ways (nothing is changed). On a shared machine
    addresses and routes may change between the two reads: three tries."""
    def still(d):  # the timers of bridges and ports move between two reads
        return dict((k, v) for k, v in d.items() if not k.endswith("timer"))

    def by_index(links):
        return dict((link["index"], dict(link, data=still(link["data"]), slave=still(link["slave"]))) for link in links)

    def differences(ipr, ours):
        theirs, mine = by_index(_netlink.parse_link(m) for m in ipr.get_links()), by_index(
            ours.flat_links(_netlink.parse_link))
        out = [i for i in set(theirs) & set(mine) if theirs[i] != mine[i]]  # links come and go between reads
        if ours.flat_addr(_netlink.parse_addr) != [_netlink.parse_addr(m) for m in ipr.get_addr()]:
            out.append("addresses")
        for family in (socket.AF_INET, socket.AF_INET6):
            routes = [_netlink.parse_route(m) for m in ipr.get_routes(family=family)]
            if ours.flat_routes(_netlink.parse_route, family) != routes:
                out.append("routes %d" % family)
            rules = [_netlink.parse_rule(m) for m in ipr.get_rules(family=family)]
            if ours.flat_rules(_netlink.parse_rule, family) != rules:
                out.append("rules %d" % family)
        if ours.flat_qdiscs(_netlink.parse_qdisc) != [_netlink.parse_qdisc(m) for m in ipr.get_qdiscs()]:
            out.append("qdiscs")
        return out

    ipr, ours = pyroute2.IPRoute(), rtnl.Rtnl()
    try:
        found = [differences(ipr, ours) for _try in range(3)]
        assert [] in found, found
        assert ours.flat_link(_netlink.parse_link, ifname="lo")[0]["index"] == 1
        with pytest.raises(_netlink.NetlinkError) as err:
            ours.flat_link(_netlink.parse_link, ifname="nwnosuchlink0")
        assert err.value.code == 19
    finally:
        ipr.close()
        ours.close()


class AckingSocket:
    """Records what is sent and answers each request with an ACK (or the given errno)."""

    def __init__(self, code=0):
        self.sent, self.code = [], code

    def send(self, data):
        self.sent.append(data)

    def recv(self, size):
        seq = struct.unpack_from("=I", self.sent[-1], 8)[0]
        return struct.pack("=IHHIIi", 36, 2, 0, seq, 0, -self.code) + self.sent[-1][:16]

    def close(self):
        pass


def sent(request):
    """The request of an Rtnl on an acking socket, decoded by pyroute2."""
    ours = rtnl.Rtnl()
    ours._sock.close()
    ours._sock = AckingSocket()
    request(ours)
    return [next(MarshalRtnl().parse(data)) for data in ours._sock.sent]


def test_an_attachment_s_changes_are_sent_as_pyroute2_would_send_them():
    link, = sent(lambda r: r.link("set", index=9, ifalias="netwire:x", address="02:aa:bb:cc:dd:ee", mtu=1450,
                                  master=4, state="up"))
    assert (link["header"]["type"], link["index"], link["flags"] & 1, link["change"] & 1) == (16, 9, 1, 1)
    assert link["header"]["flags"] & 0x5 == 0x5, "a request that asks for its ACK"
    assert [link.get_attr(a) for a in ("IFLA_IFALIAS", "IFLA_ADDRESS", "IFLA_MTU", "IFLA_MASTER")] == [
        "netwire:x", "02:aa:bb:cc:dd:ee", 1450, 4]
    v4, v6 = sent(lambda r: (r.addr("add", index=9, address="10.62.0.32", prefixlen=20),
                             r.addr("add", index=9, address="fd00::20", prefixlen=64, flags=2)))
    assert (v4["header"]["type"], v4["family"], v4["prefixlen"], v4["index"]) == (20, socket.AF_INET, 20, 9)
    assert v4.get_attr("IFA_LOCAL") == v4.get_attr("IFA_ADDRESS") == "10.62.0.32"
    assert v4["header"]["flags"] & 0x600 == 0x600, "create, and fail if it exists (EEXIST is the caller's)"
    assert (v6["family"], v6["flags"], v6.get_attr("IFA_ADDRESS"), v6.get_attr("IFA_LOCAL")) == (
        socket.AF_INET6, 2, "fd00::20", None)
    gone, = sent(lambda r: r.addr("del", index=9, address="10.62.0.32", prefixlen=20))
    assert gone["header"]["type"] == 21
    default, onlink = sent(lambda r: (
        r.route("replace", dst="0.0.0.0/0", oif=9, proto=110, table=254, family=socket.AF_INET, gateway="10.62.0.1"),
        r.route("replace", dst="10.9.0.0/24", oif=9, proto=110, table=1000, family=socket.AF_INET, scope=253)))
    assert (default["header"]["type"], default["dst_len"], default["proto"], default["type"]) == (24, 0, 110, 1)
    assert default["header"]["flags"] & 0x500 == 0x500, "create or replace"
    assert (default.get_attr("RTA_GATEWAY"), default.get_attr("RTA_OIF"), default.get_attr("RTA_TABLE")) == (
        "10.62.0.1", 9, 254)
    assert (onlink.get_attr("RTA_DST"), onlink["dst_len"], onlink["scope"], onlink.get_attr("RTA_TABLE")) == (
        "10.9.0.0", 24, 253, 1000)


def test_a_veth_pair_is_created_as_pyroute2_would_create_it():
    new, = sent(lambda r: r.link("add", ifname="nw0123", kind="veth", mtu=1450,
                                 peer={"ifname": "eth2", "net_ns_fd": 7, "address": "02:aa:bb:cc:dd:ee", "mtu": 1450}))
    assert (new["header"]["type"], new["header"]["flags"] & 0x605) == (16, 0x605), "create, not replace"
    assert (new.get_attr("IFLA_IFNAME"), new.get_attr("IFLA_MTU")) == ("nw0123", 1450)
    info = new.get_attr("IFLA_LINKINFO")
    assert info.get_attr("IFLA_INFO_KIND") == "veth"
    peer = info.get_attr("IFLA_INFO_DATA").get_attr("VETH_INFO_PEER")
    assert [peer.get_attr(a) for a in ("IFLA_IFNAME", "IFLA_NET_NS_FD", "IFLA_ADDRESS", "IFLA_MTU")] == [
        "eth2", 7, "02:aa:bb:cc:dd:ee", 1450]


def test_a_refused_change_raises_its_errno():
    ours = rtnl.Rtnl()
    ours._sock.close()
    ours._sock = AckingSocket(code=17)
    with pytest.raises(_netlink.NetlinkError) as err:
        ours.addr("add", index=9, address="10.62.0.32", prefixlen=20)
    assert err.value.code == 17


def test_one_dump_of_every_family_reads_ipv4_then_ipv6_and_nothing_else():
    """A route or rule dump of AF_UNSPEC (one request, issue 20) holds what the IPv4 and the IPv6 dumps hold,
    in that order; the kernel's other families (IPv4 multicast: 128) are left out."""
    def message(family, n):
        return (struct.pack("=IHHII", 28, 24, 2, 1, 0) + struct.pack("=BBBBBBBBI", family, n, 0, 0, 254, 2, 0, 1, 0),
                0, 28)

    raw = [message(socket.AF_INET6, 1), message(128, 2), message(socket.AF_INET, 3), message(socket.AF_INET, 4)]
    assert [(m[0][16], m[0][17]) for m in rtnl._ip_only(raw, socket.AF_UNSPEC)] == [
        (socket.AF_INET, 3), (socket.AF_INET, 4), (socket.AF_INET6, 1)]
    assert rtnl._ip_only(raw, socket.AF_INET) is raw

    ours = rtnl.Rtnl()
    try:
        def apart_and_at_once():
            return [(ours.flat_routes(_netlink.parse_route, socket.AF_INET)
                     + ours.flat_routes(_netlink.parse_route, socket.AF_INET6),
                     ours.flat_routes(_netlink.parse_route, socket.AF_UNSPEC)),
                    (ours.flat_rules(_netlink.parse_rule, socket.AF_INET)
                     + ours.flat_rules(_netlink.parse_rule, socket.AF_INET6),
                     ours.flat_rules(_netlink.parse_rule, socket.AF_UNSPEC))]
        tries = [apart_and_at_once() for _try in range(3)]  # routes may change between two reads
        assert any(all(apart == once for apart, once in pairs) for pairs in tries), tries
        assert tries[0][1][1], "the rules of the namespace (IPv4 has three at least)"
    finally:
        ours.close()
