# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the model's validation needs to know about a host, read with the standard library only.

It runs before host preparation (on a host that may not have pyroute2 or
ovsdbapp yet), so everything here is plain Python: listening sockets from the
kernel's ``/proc/net/{tcp,tcp6,udp,udp6}`` tables, link aliases from
``/sys/class/net``, and the OVS interfaces we own from one OVSDB ``select``
over the server's unix socket (JSON-RPC, RFC 7047). Nothing is changed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import socket
import sys

from ansible_collections.netwire.fabric.plugins.module_utils import _names

TCP_LISTEN = '0A'
PROC_TABLES = (('tcp', 'tcp'), ('tcp', 'tcp6'), ('udp', 'udp'), ('udp', 'udp6'))


def _hex_address(text):
    """A /proc/net address ('0100007F' or 32 hex digits, 32-bit words in host order) as text."""
    raw = bytes.fromhex(text)
    # the kernel prints each 32-bit word of the address as a native integer
    if sys.byteorder == 'little':
        raw = b''.join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    words = raw
    family = socket.AF_INET if len(words) == 4 else socket.AF_INET6
    return socket.inet_ntop(family, words)


def parse_proc_net(proto, text):
    """Listening sockets of one /proc/net table: [{'proto', 'address', 'port'}].

    TCP: sockets in LISTEN. UDP: bound sockets with no peer (a connected UDP
    socket is a client's and takes no new datagrams from anyone).
    """
    found = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 4:
            continue
        local, remote, state = fields[1], fields[2], fields[3]
        if proto == 'tcp' and state != TCP_LISTEN:
            continue
        rhost, _sep, rport = remote.partition(':')
        if proto == 'udp' and (int(rport, 16) != 0 or int(rhost, 16) != 0):
            continue
        host, _sep, port = local.partition(':')
        try:
            found.append({'proto': proto, 'address': _hex_address(host), 'port': int(port, 16)})
        except (ValueError, OSError):
            continue
    return found


def listening(root='/proc/net'):
    """Every listening TCP and UDP socket of this network namespace, sorted, without duplicates."""
    seen = set()
    for proto, name in PROC_TABLES:
        try:
            with open(os.path.join(root, name)) as handle:
                text = handle.read()
        except (IOError, OSError):
            continue  # no IPv6 in this kernel
        for sock in parse_proc_net(proto, text):
            seen.add((sock['proto'], sock['port'], sock['address']))
    return [{'proto': p, 'port': port, 'address': a} for p, port, a in sorted(seen)]


def owned_links(root='/sys/class/net'):
    """Links whose alias (IFLA_IFALIAS) carries netwire's mark."""
    names = []
    try:
        entries = sorted(os.listdir(root))
    except OSError:
        return names
    for name in entries:
        try:
            with open(os.path.join(root, name, 'ifalias')) as handle:
                alias = handle.read().strip()
        except (IOError, OSError):
            continue
        if _names.is_owned(alias):
            names.append(name)
    return names


def _map(value):
    """An OVSDB map in JSON ('map', [[k, v], ...]) as a dict."""
    if isinstance(value, list) and len(value) == 2 and value[0] == 'map':
        return dict((k, val) for k, val in value[1])
    return {}


def ovsdb_select(socket_path, queries, timeout=5.0):
    """Run read-only ``select`` operations in one OVSDB transaction; the result rows per query."""
    ops = [{'op': 'select', 'table': table, 'where': [], 'columns': columns} for table, columns in queries]
    request = {'method': 'transact', 'params': ['Open_vSwitch'] + ops, 'id': 'netwire-host-facts'}
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(socket_path)
        sock.sendall(json.dumps(request).encode('utf-8'))
        buf = b''
        decoder = json.JSONDecoder()
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                raise OSError('the OVSDB server closed the connection')
            buf += chunk
            try:
                reply, _end = decoder.raw_decode(buf.decode('utf-8'))
            except ValueError:
                continue
            if reply.get('id') != 'netwire-host-facts':
                buf = b''
                continue
            if reply.get('error'):
                raise OSError('OVSDB error: %s' % reply['error'])
            results = reply.get('result') or []
            for res in results:
                if isinstance(res, dict) and res.get('error'):
                    raise OSError('OVSDB error: %s: %s' % (res['error'], res.get('details')))
            return [res.get('rows') or [] for res in results]
    finally:
        sock.close()


def owned_ovs_interfaces(socket_path):
    """OVS interfaces we own, but the internal port of an underlay bridge (it holds the host's underlay).

    Returns ``(names, error)``; a host without OVS has none.
    """
    if not os.path.exists(socket_path):
        return [], None
    try:
        bridges, interfaces = ovsdb_select(socket_path, [('Bridge', ['name', 'external_ids']),
                                                         ('Interface', ['name', 'external_ids'])])
    except (OSError, socket.error, ValueError) as exc:
        return [], 'cannot read OVSDB at %s: %s' % (socket_path, exc)
    underlay = set(b['name'] for b in bridges if _names.OVS_UNDERLAY_NIC_KEY in _map(b.get('external_ids')))
    names = sorted(i['name'] for i in interfaces
                   if _names.ovs_is_owned(_map(i.get('external_ids'))) and i['name'] not in underlay)
    return names, None


def gather(ovsdb_socket):
    ovs, error = owned_ovs_interfaces(ovsdb_socket)
    facts = {
        'listening': listening(),
        'owned_interfaces': sorted(set(owned_links()) | set(ovs)),
    }
    if error:
        facts['ovs_error'] = error
    return facts
