"""The synchronous netlink reader (issue 20): its own flattening equals pyroute2's decoding + ``parse_*``."""

import socket

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
    """A live read of the test's own namespace, both ways (nothing is changed)."""
    def steady(links):  # a bridge's timers move between two reads
        return [dict(link, data=dict((k, v) for k, v in link["data"].items() if not k.endswith("timer")))
                for link in links]

    ipr, ours = pyroute2.IPRoute(), rtnl.Rtnl()
    try:
        assert steady(ours.flat_links(_netlink.parse_link)) == steady([_netlink.parse_link(m) for m in ipr.get_links()])
        assert ours.flat_addr(_netlink.parse_addr) == [_netlink.parse_addr(m) for m in ipr.get_addr()]
        for family in (socket.AF_INET, socket.AF_INET6):
            assert (ours.flat_routes(_netlink.parse_route, family)
                    == [_netlink.parse_route(m) for m in ipr.get_routes(family=family)])
            assert (ours.flat_rules(_netlink.parse_rule, family)
                    == [_netlink.parse_rule(m) for m in ipr.get_rules(family=family)])
        assert ours.flat_qdiscs(_netlink.parse_qdisc) == [_netlink.parse_qdisc(m) for m in ipr.get_qdiscs()]
        assert ours.flat_link(_netlink.parse_link, ifname="lo")[0]["index"] == 1
        with pytest.raises(_netlink.NetlinkError) as err:
            ours.flat_link(_netlink.parse_link, ifname="nwnosuchlink0")
        assert err.value.code == 19
    finally:
        ipr.close()
        ours.close()
