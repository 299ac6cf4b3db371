# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A synchronous NETLINK_ROUTE socket: the reads and an attachment's changes here, the rest through pyroute2.

pyroute2 (0.9) runs every request through an asyncio event loop and decodes
every attribute it is asked for in Python: a dump of a container's two links
cost 2-3 ms there, and a no-op reconcile reads about eight dumps per attachment
(issue 20: 12.8 s for 1000 attachments). Here a request is one ``send`` and the
``recv`` calls of its answer on a plain socket.

* Reads: ``flat_links``, ``flat_link``, ``flat_addr``, ``flat_routes``,
  ``flat_rules``, ``flat_qdiscs`` return the dicts of ``netlink.parse_*``,
  flattened from the bytes (below), or by ``parse_*`` from pyroute2's decoding
  where a message carries what is only decoded there. ``get_links``,
  ``link('get')``, ``get_addr``, ``get_routes``, ``get_rules``,
  ``get_qdiscs`` and ``get_netnsid`` return pyroute2's messages, as
  ``IPRoute`` does (its marshal decodes them).
* Changes: ``link('set')`` of an alias, MAC, MTU, master or up, ``link('add')``
  of a veth pair, ``addr('add'|'del')`` and ``route('replace')``, in the forms
  the managers use, are encoded here as pyroute2 encodes them
  (tests/unit/test_linux_rtnl.py decodes them with pyroute2).
* Anything else (other changes, FDB and neighbour dumps) goes to a pyroute2
  ``IPRoute`` opened on the first such call, on a second socket in the same
  namespace: most runs never start pyroute2's event loop in a container.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fcntl
import os
import socket
import struct

from ansible_collections.netwire.fabric.plugins.module_utils._linux.netns import in_netns
from ansible_collections.netwire.fabric.plugins.module_utils._linux.nlwire import (
    DUMP_TRIES, NETLINK_ROUTE, NLM_F_REQUEST, RTM_GETADDR, RTM_GETLINK, RTM_GETNSID, RTM_GETQDISC,
    RTM_GETROUTE, RTM_GETRULE, _attr, _get, _nlas, _s32, _text, exchange, flat_addr, flat_qdisc, flat_route,
    flat_rule, new_route_socket, walk,
)

try:
    from pyroute2 import IPRoute
    from pyroute2.netlink.exceptions import NetlinkError
    from pyroute2.netlink.rtnl.ifinfmsg import protinfo_bridge
    from pyroute2.netlink.rtnl.marshal import MarshalRtnl
except ImportError:  # pragma: no cover - the session reports the missing library
    IPRoute = MarshalRtnl = protinfo_bridge = None

    class NetlinkError(Exception):
        code = 0

RTM_NEWLINK, RTM_NEWADDR, RTM_DELADDR, RTM_NEWROUTE = 16, 20, 21, 24
NLM_F_ACK, NLM_F_REPLACE, NLM_F_EXCL, NLM_F_CREATE = 0x4, 0x100, 0x200, 0x400
IFLA_IFNAME = 3
RTN_UNICAST = 1
IP_FAMILIES = (socket.AF_INET, socket.AF_INET6)
NETNSA_NSID, NETNSA_FD = 1, 3
SIOCGSKNS = 0x894C  # the network namespace of a socket, as a new file descriptor (Linux 4.9)


# ---------------------------------------------------------------- flattening without pyroute2
#
# The dicts of ``netlink.parse_link`` / ``parse_addr`` / ``parse_route`` / ``parse_rule`` /
# ``parse_qdisc``, read straight from the bytes for the attributes those read (decoded as
# pyroute2 decodes them; a bridge port's data by pyroute2's own table of its attributes). A
# message that carries more than that (a link's kind data, a bond port's data, a qdisc's
# options, a link-layer address that is not a MAC) returns None: then pyroute2 decodes it.
# tests/unit/test_linux_rtnl.py holds the two decoders together.

IFF_UP = 0x1
LINK_STATES = ('UNKNOWN', 'NOTPRESENT', 'DOWN', 'LOWERLAYERDOWN', 'TESTING', 'DORMANT', 'UP')
IFLA = {'address': 1, 'ifname': 3, 'mtu': 4, 'link': 5, 'master': 10, 'operstate': 16, 'linkinfo': 18,
        'alias': 20, 'link_netnsid': 37}
# read for every link of every dump (a no-op of 1000 attachments reads 3000 links): the numbers as names
IFLA_ADDRESS, IFLA_MTU, IFLA_LINK, IFLA_MASTER, IFLA_OPERSTATE, IFLA_ALIAS, IFLA_LINK_NETNSID = 1, 4, 5, 10, 16, 20, 37
_MAC, _I, _i = (struct.Struct(f).unpack_from for f in ('=6B', '=I', '=i'))
INFO_KIND, INFO_DATA, INFO_SLAVE_KIND, INFO_SLAVE_DATA = 1, 2, 4, 5


# a bridge port's attributes (IFLA_INFO_SLAVE_DATA of slave kind bridge), by number: pyroute2's own table
BRPORT = [(name[len('IFLA_BRPORT_'):].lower(), kind) for name, kind in (protinfo_bridge.nla_map if protinfo_bridge
                                                                        else ())]
BRPORT_FORMATS = {'uint8': '=B', 'uint16': '=H', 'uint32': '=I', 'uint64': '=Q'}


def _brport(data, start, end):
    """A bridge port's attributes as pyroute2 decodes them (``{'mode': 0, ...}``), or None (one it decodes otherwise)."""
    out = {}
    for number, first, last in walk(data, start, end):
        if number < len(BRPORT):
            name, kind = BRPORT[number]
            size = last - first
            if kind in BRPORT_FORMATS and size >= struct.calcsize(BRPORT_FORMATS[kind]):
                out[name] = struct.unpack_from(BRPORT_FORMATS[kind], data, first)[0]
            elif kind == 'flag':
                out[name] = True
            elif kind == 'br_id' and size >= 8:
                prio, addr = struct.unpack_from('=H6s', data, first)
                out[name] = {'prio': prio, 'addr': ':'.join('%02x' % b for b in bytearray(addr))}
            else:
                return None
    return out


def flat_link(data, start, end):
    """RTM_NEWLINK as ``parse_link`` has it, or None (kind data, bond-port data, a non-MAC address)."""
    index, flags = struct.unpack_from('=xxxxiI', data, start + 16)
    attrs = _nlas(data, start + 32, end)
    kind = slave_kind = None
    slave = {}
    if IFLA['linkinfo'] in attrs:
        info = _nlas(data, *attrs[IFLA['linkinfo']])
        if INFO_DATA in info:
            return None
        kind, slave_kind = _get(info, INFO_KIND, _text, data), _get(info, INFO_SLAVE_KIND, _text, data)
        if INFO_SLAVE_DATA in info:
            if slave_kind in ('bridge', 'bridge_slave') or (slave_kind is None and kind in ('bridge', 'bond')):
                slave = _brport(data, *info[INFO_SLAVE_DATA]) if slave_kind else None
                if slave is None:
                    return None
            elif slave_kind == 'bond':
                return None
            # any other kind's port data: pyroute2 keeps it as hex text, which parse_link leaves out
    mac = attrs.get(IFLA_ADDRESS)
    if mac is not None:
        if mac[1] - mac[0] != 6:
            return None
        mac = '%02x:%02x:%02x:%02x:%02x:%02x' % _MAC(data, mac[0])
    state = attrs.get(IFLA_OPERSTATE)
    if state is not None:
        state = data[state[0]]
    get = attrs.get
    return {
        'index': index,
        'ifname': _text(data, attrs[IFLA_IFNAME]) if IFLA_IFNAME in attrs else None,
        'kind': kind,
        'slave_kind': slave_kind,
        'alias': _text(data, attrs[IFLA_ALIAS]) or None if IFLA_ALIAS in attrs else None,
        'mtu': _u32_at(data, get(IFLA_MTU)),
        'mac': mac,
        'up': bool(flags & IFF_UP),
        'operstate': LINK_STATES[state] if state is not None and state < len(LINK_STATES) else state,
        'master': _u32_at(data, get(IFLA_MASTER)),
        'link': _u32_at(data, get(IFLA_LINK)),
        'link_netnsid': _i(data, attrs[IFLA_LINK_NETNSID][0])[0] if IFLA_LINK_NETNSID in attrs else None,
        'data': {},
        'slave': slave,
    }


def _u32_at(data, span):
    return _I(data, span[0])[0] if span is not None else None


LINK_SET = frozenset(['index', 'ifalias', 'address', 'mtu', 'master', 'state'])
VETH_ADD = frozenset(['ifname', 'kind', 'mtu', 'peer'])
VETH_PEER = frozenset(['ifname', 'net_ns_fd', 'address', 'mtu'])
IFLA_NET_NS_FD, VETH_INFO_PEER = 28, 1
ADDR_KEYS = frozenset(['index', 'address', 'prefixlen', 'flags'])
ROUTE_KEYS = frozenset(['dst', 'oif', 'proto', 'table', 'family', 'gateway', 'scope'])
ROUTE_NEEDS = frozenset(['dst', 'oif', 'proto', 'table', 'family'])


def _ip_only(raw, family):
    """The IPv4 then IPv6 messages of a dump of every family (AF_UNSPEC); another family's as they are."""
    if family != socket.AF_UNSPEC:
        return raw
    return sorted((m for m in raw if m[0][m[1] + 16] in IP_FAMILIES), key=lambda m: m[0][m[1] + 16] != socket.AF_INET)


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

    def _exchange(self, msg_type, body, dump, flags=NLM_F_REQUEST):
        self._seq += 1
        return exchange(self._sock, self._seq, msg_type, body, dump, flags, NetlinkError)

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
        """``link('get', index=)`` or ``link('get', ifname=)``, and ``link('set', index=, ...)`` of the
        attributes in ``_set_link`` here; any other command through pyroute2."""
        if command == 'get' and not set(kwargs) - set(['index', 'ifname']):
            return self._decoded(self._get_link(**kwargs))
        if command == 'set' and kwargs.get('index') and not set(kwargs) - LINK_SET:
            return self._set_link(**kwargs)
        if (command == 'add' and kwargs.get('kind') == 'veth' and set(kwargs) == VETH_ADD
                and isinstance(kwargs['peer'], dict) and set(kwargs['peer']) == VETH_PEER):
            return self._add_veth(**kwargs)
        return self._writer().link(command, **kwargs)

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
        """The routes of ``family``; AF_UNSPEC: of IPv4 and IPv6, in one dump (the kernel's dump of every family,
        whose multicast and MPLS routes are left out)."""
        return self._fast(_ip_only(self._dump_routes(family), family), flat_route, slow)

    def flat_rules(self, slow, family):
        """The rules of ``family``; AF_UNSPEC: IPv4's then IPv6's, in one dump."""
        return self._fast(_ip_only(self._dump_rules(family), family), flat_rule, slow)

    def flat_qdiscs(self, slow):
        return self._fast(self._dump_qdiscs(), flat_qdisc, slow)

    # ---------------------------------------------------------------- changes an attachment makes

    def _change(self, msg_type, flags, body):
        self._exchange(msg_type, body, False, NLM_F_REQUEST | NLM_F_ACK | flags)
        return []

    def _set_link(self, index, ifalias=None, address=None, mtu=None, master=None, state=None):
        """RTM_NEWLINK on an existing link, as pyroute2's ``link('set', ...)`` sends it."""
        up = {None: (0, 0), 'up': (IFF_UP, IFF_UP), 'down': (0, IFF_UP)}[state]
        body = struct.pack('=BxHiII', socket.AF_UNSPEC, 0, index, up[0], up[1])
        if ifalias is not None:
            body += _attr(IFLA['alias'], ifalias.encode() + b'\0')
        if address is not None:
            body += _attr(IFLA['address'], bytes(bytearray(int(x, 16) for x in address.split(':'))))
        if mtu is not None:
            body += _attr(IFLA['mtu'], struct.pack('=I', mtu))
        if master is not None:
            body += _attr(IFLA['master'], struct.pack('=I', master))
        return self._change(RTM_NEWLINK, 0, body)

    def _add_veth(self, ifname, kind, mtu, peer):
        """A veth pair, its peer created in the namespace of the file ``peer['net_ns_fd']``, with its MAC."""
        peer_body = (struct.pack('=BxHiII', socket.AF_UNSPEC, 0, 0, 0, 0)
                     + _attr(IFLA['ifname'], peer['ifname'].encode() + b'\0')
                     + _attr(IFLA_NET_NS_FD, struct.pack('=I', peer['net_ns_fd']))
                     + _attr(IFLA['address'], bytes(bytearray(int(x, 16) for x in peer['address'].split(':'))))
                     + _attr(IFLA['mtu'], struct.pack('=I', peer['mtu'])))
        info = _attr(INFO_KIND, kind.encode() + b'\0') + _attr(INFO_DATA, _attr(VETH_INFO_PEER, peer_body))
        body = (struct.pack('=BxHiII', socket.AF_UNSPEC, 0, 0, 0, 0) + _attr(IFLA['ifname'], ifname.encode() + b'\0')
                + _attr(IFLA['mtu'], struct.pack('=I', mtu)) + _attr(IFLA['linkinfo'], info))
        return self._change(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, body)

    def addr(self, command, **kwargs):
        """``addr('add'|'del', index=, address=, prefixlen=[, flags=])`` here (IPv4: IFA_LOCAL and IFA_ADDRESS,
        as pyroute2 sends them); anything else through pyroute2."""
        if command not in ('add', 'del') or set(kwargs) - ADDR_KEYS or not ADDR_KEYS - set(['flags']) <= set(kwargs):
            return self._writer().addr(command, **kwargs)
        family = socket.AF_INET6 if ':' in kwargs['address'] else socket.AF_INET
        packed = socket.inet_pton(family, kwargs['address'])
        body = struct.pack('=BBBBI', family, kwargs['prefixlen'], kwargs.get('flags', 0), 0, kwargs['index'])
        if family == socket.AF_INET:
            body += _attr(2, packed)  # IFA_LOCAL
        body += _attr(1, packed)  # IFA_ADDRESS
        if command == 'add':
            return self._change(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, body)
        return self._change(RTM_DELADDR, 0, body)

    def route(self, command, **kwargs):
        """``route('replace', dst=, oif=, proto=, table=, family=[, gateway= | scope=])`` here; anything
        else (a delete too) through pyroute2."""
        if command != 'replace' or set(kwargs) - ROUTE_KEYS or not ROUTE_NEEDS <= set(kwargs):
            return self._writer().route(command, **kwargs)
        family, table = kwargs['family'], kwargs['table']
        dst, dst_len = kwargs['dst'].split('/')
        body = struct.pack('=BBBBBBBBI', family, int(dst_len), 0, 0, table if table < 256 else 0, kwargs['proto'],
                           kwargs.get('scope', 0), RTN_UNICAST, 0)
        if int(dst_len):
            body += _attr(1, socket.inet_pton(family, dst))  # RTA_DST
        body += _attr(4, struct.pack('=I', kwargs['oif']))  # RTA_OIF
        if kwargs.get('gateway'):
            body += _attr(5, socket.inet_pton(family, kwargs['gateway']))  # RTA_GATEWAY
        body += _attr(15, struct.pack('=I', table))  # RTA_TABLE
        return self._change(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, body)

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
