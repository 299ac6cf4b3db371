# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""NETLINK_ROUTE on a plain socket, with the standard library only: the request/answer exchange and
the messages that need nothing else to read (addresses, routes, rules, qdiscs without options).

``_linux/rtnl.py`` builds its synchronous reader on this; ``_host/facts.py`` reads a host's
addresses and default route with it before the host has pyroute2 (and without the cost of
importing it).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import socket
import struct

NETLINK_ROUTE = 0
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_DUMP_INTR, NLM_F_DUMP = 0x1, 0x2, 0x10, 0x300
RTM_GETLINK, RTM_GETADDR, RTM_GETROUTE, RTM_GETRULE, RTM_GETQDISC, RTM_GETNSID = 18, 22, 26, 34, 38, 90
RECV_SIZE = 1 << 18
DUMP_TRIES = 3
MAIN_TABLE = 254


def _attr(kind, payload):
    data = struct.pack('=HH', 4 + len(payload), kind) + payload
    return data + b'\0' * (-len(data) % 4)


def new_route_socket(fileno=None):
    """A NETLINK_ROUTE socket, the one of ``fileno`` or a new one in the caller's namespace; bound."""
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_ROUTE, fileno)
    sock.bind((0, 0))
    return sock


def exchange(sock, seq, msg_type, body, dump, flags=NLM_F_REQUEST, error=OSError):
    """Send one request (sequence number ``seq``) on ``sock``; ``(answers, interrupted)``, each answer
    ``(data, offset, length)``. A kernel error raises ``error(code, text)``."""
    flags |= NLM_F_DUMP if dump else 0
    sock.send(struct.pack('=IHHII', 16 + len(body), msg_type, flags, seq, 0) + body)
    out, interrupted = [], False
    while True:
        data = sock.recv(RECV_SIZE)
        offset = 0
        while offset + 16 <= len(data):
            length, kind, mflags, mseq = struct.unpack_from('=IHHI', data, offset)
            if length < 16 or offset + length > len(data):
                break
            if mseq == seq:
                if kind == NLMSG_ERROR:
                    code = -struct.unpack_from('=i', data, offset + 16)[0]
                    if code:
                        raise error(code, os.strerror(code))
                    return out, interrupted
                if kind == NLMSG_DONE:
                    return out, interrupted
                interrupted = interrupted or bool(mflags & NLM_F_DUMP_INTR)
                out.append((data, offset, length))
                if not dump:
                    return out, interrupted
            offset += (length + 3) & ~3


def dump(sock, msg_type, body, flat, error=OSError):
    """A whole dump, each message flattened by ``flat``; read again (up to 3 times) when a change
    interrupted it."""
    for attempt in range(DUMP_TRIES):
        msgs, interrupted = exchange(sock, attempt + 1, msg_type, body, True, error=error)
        if not interrupted or attempt == DUMP_TRIES - 1:
            break
    return [flat(data, offset, offset + length) for data, offset, length in msgs]


def flat_link_name(data, start, end):
    """RTM_NEWLINK's index, name and MTU (all a link's facts need)."""
    index = struct.unpack_from('=xxxxi', data, start + 16)[0]
    attrs = _nlas(data, start + 32, end)
    return {'index': index, 'ifname': _get(attrs, 3, _text, data), 'mtu': _get(attrs, 4, _u32, data)}


def links(sock):
    """Every link of the socket's namespace: index, name and MTU."""
    return dump(sock, RTM_GETLINK, struct.pack('=BxHiII', socket.AF_UNSPEC, 0, 0, 0, 0), flat_link_name)


def addresses(sock, family=socket.AF_UNSPEC):
    """Every address of the socket's namespace (``flat_addr`` dicts)."""
    return dump(sock, RTM_GETADDR, struct.pack('=BBBBI', family, 0, 0, 0, 0), flat_addr)


def routes(sock, family=socket.AF_INET):
    """Every route of the socket's namespace, of every table (``flat_route`` dicts)."""
    return dump(sock, RTM_GETROUTE, struct.pack('=BBBBBBBBI', family, 0, 0, 0, 0, 0, 0, 0, 0), flat_route)


def walk(data, start, end):
    """Each attribute between ``start`` and ``end``: ``(type, payload start, payload end)``."""
    while start + 4 <= end:
        length, kind = struct.unpack_from('=HH', data, start)
        if length < 4:
            return
        yield kind & 0x3fff, start + 4, start + length
        start += (length + 3) & ~3


_HH, _B, _I, _i = (struct.Struct(f).unpack_from for f in ('=HH', '=B', '=I', '=i'))


def _nlas(data, start, end):
    """The attributes between ``start`` and ``end``: type -> (payload start, payload end), first one wins.

    ``walk``'s loop, inlined: a link carries about 40 attributes, and a no-op of 1000 attachments
    reads about 250000 of them."""
    out = {}
    while start + 4 <= end:
        length, kind = _HH(data, start)
        if length < 4:
            break
        kind &= 0x3fff
        if kind not in out:
            out[kind] = (start + 4, start + length)
        start += (length + 3) & ~3
    return out


def _u8(data, span):
    return _B(data, span[0])[0]


def _u32(data, span):
    return _I(data, span[0])[0]


def _s32(data, span):
    return _i(data, span[0])[0]


def _text(data, span):
    value = bytes(data[span[0]:span[1]]).strip(b'\0')
    try:
        return value.decode('utf-8')
    except UnicodeDecodeError:
        return value


def _ip(data, span, family):
    return socket.inet_ntop(family, bytes(data[span[0]:span[1]]))


def _get(attrs, kind, read, data, *args):
    span = attrs.get(kind)
    return read(data, span, *args) if span is not None else None


def flat_addr(data, start, end):
    """RTM_NEWADDR as ``parse_addr`` has it."""
    family, prefixlen, _flags, scope, index = struct.unpack_from('=BBBBI', data, start + 16)
    attrs = _nlas(data, start + 24, end)
    span = attrs.get(2) or attrs.get(1)  # IFA_LOCAL, else IFA_ADDRESS
    address = _ip(data, span, family)
    return {'index': index, 'family': family, 'address': '%s/%d' % (address, prefixlen), 'scope': scope,
            'link_local': family == socket.AF_INET6 and address.lower().startswith('fe80:')}


def flat_route(data, start, end):
    """RTM_NEWROUTE as ``parse_route`` has it."""
    family, dst_len, _src, _tos, table, proto, scope = struct.unpack_from('=BBBBBBB', data, start + 16)
    attrs = _nlas(data, start + 28, end)
    dst = _get(attrs, 1, _ip, data, family)
    if dst is None:
        dst = '0.0.0.0' if family == socket.AF_INET else '::'
    rta_table = _get(attrs, 15, _u32, data)
    return {
        'family': family,
        'dst': '%s/%d' % (dst, dst_len),
        'gateway': _get(attrs, 5, _ip, data, family),
        'oif': _get(attrs, 4, _u32, data),
        'proto': proto,
        'scope': scope,
        'table': rta_table if rta_table is not None else table,
        'priority': _get(attrs, 6, _u32, data),
    }


def flat_rule(data, start, end):
    """RTM_NEWRULE as ``parse_rule`` has it."""
    family, dst_len, src_len, tos, table, _r1, _r2, action = struct.unpack_from('=BBBBBBBB', data, start + 16)
    attrs = _nlas(data, start + 28, end)
    src, dst = _get(attrs, 2, _ip, data, family), _get(attrs, 1, _ip, data, family)
    priority = _get(attrs, 6, _u32, data)
    fra_table = _get(attrs, 15, _u32, data)
    return {
        'family': family,
        'priority': priority if priority is not None else 0,
        'from': '%s/%d' % (src, src_len) if src else None,
        'to': '%s/%d' % (dst, dst_len) if dst else None,
        'iif': _get(attrs, 3, _text, data),
        'oif': _get(attrs, 17, _text, data),
        'fwmark': _get(attrs, 10, _u32, data),
        'fwmask': _get(attrs, 16, _u32, data),
        'table': fra_table if fra_table is not None else table,
        'action': action,
        'protocol': _get(attrs, 21, _u8, data),
        'tos': tos,
        'goto': _get(attrs, 4, _u32, data),
        'suppress_prefixlength': _get(attrs, 14, _u32, data),
    }


def flat_qdisc(data, start, end):
    """RTM_NEWQDISC as ``parse_qdisc`` has it, or None (a qdisc with options)."""
    index, handle, parent = struct.unpack_from('=iII', data, start + 20)
    attrs = _nlas(data, start + 36, end)
    if 2 in attrs:  # TCA_OPTIONS
        return None
    return {'index': index, 'handle': handle, 'parent': parent, 'kind': _get(attrs, 1, _text, data),
            'options': {}}
