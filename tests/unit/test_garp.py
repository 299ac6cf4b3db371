"""The gratuitous ARP a bridge sends when its MAC changes (pure frame building)."""

import struct

from ansible_collections.netwire.fabric.plugins.module_utils._linux import garp


def test_frame_is_a_broadcast_arp_request_for_the_address_from_the_new_mac():
    frame = garp.garp_frame("02:00:00:31:00:02", "10.31.0.1")
    assert len(frame) == 42
    assert frame[:6] == b"\xff" * 6 and frame[6:12] == bytes([2, 0, 0, 0x31, 0, 2])
    assert struct.unpack("!H", frame[12:14])[0] == 0x0806
    htype, ptype, hlen, plen, op, sha, spa, tha, tpa = struct.unpack("!HHBBH6s4s6s4s", frame[14:])
    assert (htype, ptype, hlen, plen, op) == (1, 0x0800, 6, 4, 1)
    assert sha == frame[6:12] and tha == b"\x00" * 6
    assert spa == tpa == bytes([10, 31, 0, 1])


def test_only_ipv4_addresses_are_announced():
    assert garp.ipv4_addresses(["fd00:31::1/64", "10.31.0.1/24", "10.32.0.1/24"]) == ["10.31.0.1", "10.32.0.1"]
    assert garp.ipv4_addresses(None) == [] and garp.announce("nwt-none", "02:00:00:00:00:01", ["fd00::1/64"]) == 0
