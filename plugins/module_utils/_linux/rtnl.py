# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A NETLINK_ROUTE socket that reads synchronously, and changes through pyroute2.

pyroute2 (0.9) runs every request through an asyncio event loop: a dump of a
container's two links costs 2-3 ms there, and a no-op reconcile reads about
eight dumps per attachment (issue 20: 12.8 s for 1000 attachments). Here a read
is one ``send`` and the ``recv`` calls of its answer on a plain socket; the
answer is decoded by pyroute2's own marshal (``MarshalRtnl``), so the messages
are the ones ``IPRoute`` hands out (``get_attr``, lazy attribute decoding).

:class:`Rtnl` has the read methods of ``IPRoute`` the session uses
(``get_links``, ``link('get', ...)``, ``get_addr``, ``get_routes``,
``get_rules``, ``get_qdiscs``, ``get_netnsid``); every other method (the
changes, FDB and neighbour dumps) goes to a pyroute2 ``IPRoute`` opened on the
first such call, on a second socket in the same namespace. A no-op run thus
never starts pyroute2's event loop in a container's namespace.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fcntl
import os
import socket
import struct

from ansible_collections.netwire.fabric.plugins.module_utils._linux.netns import in_netns

try:
    from pyroute2 import IPRoute
    from pyroute2.netlink.exceptions import NetlinkError
    from pyroute2.netlink.rtnl.marshal import MarshalRtnl
except ImportError:  # pragma: no cover - the session reports the missing library
    IPRoute = MarshalRtnl = None

    class NetlinkError(Exception):
        code = 0

NETLINK_ROUTE = 0
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_DUMP_INTR, NLM_F_DUMP = 0x1, 0x2, 0x10, 0x300
RTM_GETLINK, RTM_GETADDR, RTM_GETROUTE, RTM_GETRULE, RTM_GETQDISC, RTM_GETNSID = 18, 22, 26, 34, 38, 90
IFLA_IFNAME = 3
NETNSA_NSID, NETNSA_FD = 1, 3
SIOCGSKNS = 0x894C  # the network namespace of a socket, as a new file descriptor (Linux 4.9)
RECV_SIZE = 1 << 18
DUMP_TRIES = 3


def _attr(kind, payload):
    data = struct.pack('=HH', 4 + len(payload), kind) + payload
    return data + b'\0' * (-len(data) % 4)


def new_route_socket(fileno=None):
    """A NETLINK_ROUTE socket, the one of ``fileno`` or a new one in the caller's namespace; bound."""
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_ROUTE, fileno)
    sock.bind((0, 0))
    return sock


# ---------------------------------------------------------------- flattening without pyroute2
#
# The dicts of ``netlink.parse_link`` / ``parse_addr`` / ``parse_route`` / ``parse_rule`` /
# ``parse_qdisc``, read straight from the bytes for the attributes those read (decoded as
# pyroute2 decodes them). A message that carries more than that (a link's kind data or
# bridge-port data, a qdisc's options, a link-layer address that is not a MAC) returns None:
# then pyroute2 decodes it. tests/unit/test_linux_rtnl.py holds the two decoders together.

IFF_UP = 0x1
LINK_STATES = ('UNKNOWN', 'NOTPRESENT', 'DOWN', 'LOWERLAYERDOWN', 'TESTING', 'DORMANT', 'UP')
IFLA = {'address': 1, 'ifname': 3, 'mtu': 4, 'link': 5, 'master': 10, 'operstate': 16, 'linkinfo': 18,
        'alias': 20, 'link_netnsid': 37}
INFO_KIND, INFO_DATA, INFO_SLAVE_KIND, INFO_SLAVE_DATA = 1, 2, 4, 5


def _nlas(data, start, end):
    """The attributes between ``start`` and ``end``: type -> (payload start, payload end), first one wins."""
    out = {}
    while start + 4 <= end:
        length, kind = struct.unpack_from('=HH', data, start)
        if length < 4:
            break
        out.setdefault(kind & 0x3fff, (start + 4, start + length))
        start += (length + 3) & ~3
    return out


def _u8(data, span):
    return struct.unpack_from('=B', data, span[0])[0]


def _u32(data, span):
    return struct.unpack_from('=I', data, span[0])[0]


def _s32(data, span):
    return struct.unpack_from('=i', data, span[0])[0]


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


def flat_link(data, start, end):
    """RTM_NEWLINK as ``parse_link`` has it, or None (kind data, bridge-port data, a non-MAC address)."""
    kind_type, index, flags = struct.unpack_from('=xxHiI', data, start + 16)[0:3]
    attrs = _nlas(data, start + 32, end)
    kind = slave_kind = None
    if IFLA['linkinfo'] in attrs:
        info = _nlas(data, *attrs[IFLA['linkinfo']])
        if INFO_DATA in info or INFO_SLAVE_DATA in info:
            return None
        kind, slave_kind = _get(info, INFO_KIND, _text, data), _get(info, INFO_SLAVE_KIND, _text, data)
    mac = attrs.get(IFLA['address'])
    if mac is not None:
        if mac[1] - mac[0] != 6:
            return None
        mac = ':'.join('%02x' % b for b in bytearray(data[mac[0]:mac[1]]))
    state = _get(attrs, IFLA['operstate'], _u8, data)
    return {
        'index': index,
        'ifname': _get(attrs, IFLA['ifname'], _text, data),
        'kind': kind,
        'slave_kind': slave_kind,
        'alias': _get(attrs, IFLA['alias'], _text, data) or None,
        'mtu': _get(attrs, IFLA['mtu'], _u32, data),
        'mac': mac,
        'up': bool(flags & IFF_UP),
        'operstate': LINK_STATES[state] if state is not None and state < len(LINK_STATES) else state,
        'master': _get(attrs, IFLA['master'], _u32, data),
        'link': _get(attrs, IFLA['link'], _u32, data),
        'link_netnsid': _get(attrs, IFLA['link_netnsid'], _s32, data),
        'data': {},
        'slave': {},
    }


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


class Rtnl(object):
    """One namespace's netlink: synchronous reads, pyroute2 for the rest (see the module's text).

    ``fileno`` is a NETLINK_ROUTE socket opened in the namespace (``None``: a new
    socket in the caller's namespace); the object owns it.
    """

    def __init__(self, fileno=None):
        if MarshalRtnl is None:
            raise ImportError('pyroute2 is not installed')
        self._sock = new_route_socket(fileno)
        self._here = fileno is None
        self._marshal = MarshalRtnl()
        self._seq = 0
        self._ipr = None

    # ---------------------------------------------------------------- transport

    def _request(self, msg_type, body, dump=True):
        """Send one request, return its answer as ``(data, offset, length)`` per message.

        A dump that a change interrupted (``NLM_F_DUMP_INTR``) is read again, up to 3 times.
        """
        for attempt in range(DUMP_TRIES):
            msgs, interrupted = self._exchange(msg_type, body, dump)
            if not interrupted or attempt == DUMP_TRIES - 1:
                return msgs
        return msgs  # pragma: no cover - the loop returns

    def _exchange(self, msg_type, body, dump):
        self._seq += 1
        seq = self._seq
        flags = NLM_F_REQUEST | (NLM_F_DUMP if dump else 0)
        self._sock.send(struct.pack('=IHHII', 16 + len(body), msg_type, flags, seq, 0) + body)
        out, interrupted = [], False
        while True:
            data = self._sock.recv(RECV_SIZE)
            offset = 0
            while offset + 16 <= len(data):
                length, kind, mflags, mseq = struct.unpack_from('=IHHI', data, offset)
                if length < 16 or offset + length > len(data):
                    break
                if mseq == seq:
                    if kind == NLMSG_ERROR:
                        code = -struct.unpack_from('=i', data, offset + 16)[0]
                        if code:
                            raise NetlinkError(code, os.strerror(code))
                        return out, interrupted
                    if kind == NLMSG_DONE:
                        return out, interrupted
                    interrupted = interrupted or bool(mflags & NLM_F_DUMP_INTR)
                    out.append((data, offset, length))
                    if not dump:
                        return out, interrupted
                offset += (length + 3) & ~3

    def _decoded(self, raw):
        """pyroute2's messages of ``(data, offset, length)`` answers (what ``IPRoute`` returns)."""
        return [msg for data, offset, length in raw for msg in self._marshal.parse(data[offset:offset + length])]

    def _fast(self, raw, flat, slow):
        """Each message flattened by ``flat`` here, or decoded by pyroute2 and flattened by ``slow``
        (``netlink.parse_*``) where ``flat`` cannot."""
        out = []
        for data, offset, length in raw:
            value = flat(data, offset, offset + length)
            out.append(value if value is not None else slow(self._decoded([(data, offset, length)])[0]))
        return out

    # ---------------------------------------------------------------- reads (pyroute2's messages)

    def get_links(self):
        return self._decoded(self._dump_links())

    def _dump_links(self):
        return self._request(RTM_GETLINK, struct.pack('=BxHiII', socket.AF_UNSPEC, 0, 0, 0, 0))

    def link(self, command, **kwargs):
        """``link('get', index=)`` or ``link('get', ifname=)`` here; any other command through pyroute2."""
        if command != 'get' or set(kwargs) - set(['index', 'ifname']):
            return self._writer().link(command, **kwargs)
        return self._decoded(self._get_link(**kwargs))

    def _get_link(self, index=None, ifname=None):
        body = struct.pack('=BxHiII', socket.AF_UNSPEC, 0, index or 0, 0, 0)
        if ifname:
            body += _attr(IFLA_IFNAME, ifname.encode() + b'\0')
        return self._request(RTM_GETLINK, body, dump=False)

    def get_addr(self):
        return self._decoded(self._dump_addr())

    def _dump_addr(self):
        return self._request(RTM_GETADDR, struct.pack('=BBBBI', socket.AF_UNSPEC, 0, 0, 0, 0))

    def get_routes(self, family=socket.AF_INET):
        """The routes of ``family`` in every table (the session picks a table's)."""
        return self._decoded(self._dump_routes(family))

    def _dump_routes(self, family):
        return self._request(RTM_GETROUTE, struct.pack('=BBBBBBBBI', family, 0, 0, 0, 0, 0, 0, 0, 0))

    def get_rules(self, family=socket.AF_INET):
        return self._decoded(self._dump_rules(family))

    def _dump_rules(self, family):
        return self._request(RTM_GETRULE, struct.pack('=BBBBBBBBI', family, 0, 0, 0, 0, 0, 0, 0, 0))

    def get_qdiscs(self):
        return self._decoded(self._dump_qdiscs())

    def _dump_qdiscs(self):
        return self._request(RTM_GETQDISC, struct.pack('=BxxxiIII', socket.AF_UNSPEC, 0, 0, 0, 0))

    def get_netnsid(self, fd):
        """``{'nsid': ...}``: the id this namespace gives the namespace of the file ``fd``."""
        raw = self._request(RTM_GETNSID, struct.pack('=Bxxx', socket.AF_UNSPEC)
                            + _attr(NETNSA_FD, struct.pack('=I', fd)), dump=False)
        for data, offset, length in raw:
            attrs = _nlas(data, offset + 20, offset + length)
            if NETNSA_NSID in attrs:
                return {'nsid': _s32(data, attrs[NETNSA_NSID])}
        return {'nsid': None} if raw else None

    # ---------------------------------------------------------------- reads, flattened here

    def flat_links(self, slow):
        """The links as ``slow`` (``netlink.parse_link``) flattens pyroute2's messages (it does, for links with
        kind or bridge-port data)."""
        return self._fast(self._dump_links(), flat_link, slow)

    def flat_link(self, slow, **which):
        return self._fast(self._get_link(**which), flat_link, slow)

    def flat_addr(self, slow):
        return self._fast(self._dump_addr(), flat_addr, slow)

    def flat_routes(self, slow, family):
        return self._fast(self._dump_routes(family), flat_route, slow)

    def flat_rules(self, slow, family):
        return self._fast(self._dump_rules(family), flat_rule, slow)

    def flat_qdiscs(self, slow):
        return self._fast(self._dump_qdiscs(), flat_qdisc, slow)

    # ---------------------------------------------------------------- the rest: pyroute2

    def _writer(self):
        if self._ipr is None:
            if self._here:
                self._ipr = IPRoute()
            else:
                nsfd = fcntl.ioctl(self._sock.fileno(), SIOCGSKNS)
                try:
                    sock = in_netns('/proc/self/fd/%d' % nsfd,
                                    lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_ROUTE))
                finally:
                    os.close(nsfd)
                self._ipr = IPRoute(fileno=sock.detach())
        return self._ipr

    def __getattr__(self, name):
        if name.startswith('_'):
            raise AttributeError(name)
        return getattr(self._writer(), name)

    def close(self):
        if self._ipr is not None:
            self._ipr.close()
            self._ipr = None
        self._sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
