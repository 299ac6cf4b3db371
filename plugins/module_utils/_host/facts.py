# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the model's validation needs to know about a host, read with the standard library only.

It runs before host preparation (on a host that may not have pyroute2 or
ovsdbapp yet), so everything here is plain Python: listening sockets from the
kernel's ``/proc/net/{tcp,tcp6,udp,udp6}`` tables, link aliases from
``/sys/class/net``, the interfaces, their IPv4 addresses and MTU and the default
route from three netlink dumps (``_linux/nlwire.py``: what Ansible's network
facts gave, at a fraction of their cost), and the OVS interfaces we own from one
OVSDB ``select`` over the server's unix socket (JSON-RPC, RFC 7047). Nothing is
changed.

It also reads what host preparation (role host_prep) decides on, so that a host
that has everything gets no other task: IPv4 forwarding, whether the OVSDB server
answers, the state of given files (owner, group, mode, SHA-1) and which of given
Debian packages dpkg's database does not hold installed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import hashlib
import json
import os
import pwd
import socket
import stat
import sys

import ipaddress

from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.module_utils._linux import nlwire

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


def network_facts(links, addresses, routes):
    """``(interfaces, default_ipv4)`` from netlink's links, IPv4 addresses and IPv4 routes (pure).

    ``interfaces``: name -> ``{'mtu', 'ipv4': [{'address', 'prefix'}, ...]}``, the addresses in
    the kernel's order (the primary one first). ``default_ipv4``: the main table's default route
    with the lowest metric (``gateway``, ``interface``, and that interface's address on the
    gateway's network, else its first: ``address``, ``prefix``, ``network``), or None.
    """
    names = dict((link['index'], link['ifname']) for link in links if link.get('ifname'))
    interfaces = dict((link['ifname'], {'mtu': link['mtu'], 'ipv4': []}) for link in links if link.get('ifname'))
    for addr in addresses:
        name = names.get(addr['index'])
        if name is None or addr['family'] != socket.AF_INET:
            continue
        address, prefix = addr['address'].split('/')
        interfaces[name]['ipv4'].append({'address': address, 'prefix': int(prefix)})
    defaults = sorted((r for r in routes if r['dst'] == '0.0.0.0/0' and r['table'] == nlwire.MAIN_TABLE
                       and names.get(r['oif'])), key=lambda r: r['priority'] or 0)
    if not defaults:
        return interfaces, None
    route = defaults[0]
    name = names[route['oif']]
    default = {'gateway': route['gateway'], 'interface': name}
    held = [ipaddress.ip_interface('%s/%d' % (a['address'], a['prefix'])) for a in interfaces[name]['ipv4']]
    on_path = [i for i in held if route['gateway'] and ipaddress.ip_address(route['gateway']) in i.network]
    if held:
        chosen = (on_path or held)[0]
        default.update({'address': str(chosen.ip), 'prefix': chosen.network.prefixlen,
                        'network': str(chosen.network.network_address)})
    return interfaces, default


def read_network():
    """This namespace's :func:`network_facts`, read with three netlink dumps on one socket."""
    sock = nlwire.new_route_socket()
    try:
        return network_facts(nlwire.links(sock), nlwire.addresses(sock, socket.AF_INET),
                             nlwire.routes(sock, socket.AF_INET))
    finally:
        sock.close()


def parse_os_release(text):
    """``{'id', 'id_like'}`` of an os-release file (pure; shell-style ``KEY=value`` lines)."""
    values = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition('=')
        if sep and not key.startswith('#'):
            values[key] = value.strip().strip('"\'')
    return {'id': values.get('ID', '').lower() or None, 'id_like': values.get('ID_LIKE', '').lower().split()}


def os_release(paths=('/etc/os-release', '/usr/lib/os-release')):
    for path in paths:
        try:
            with open(path) as handle:
                return parse_os_release(handle.read())
        except (IOError, OSError):
            continue
    return {'id': None, 'id_like': []}


def service_manager(booted='/run/systemd/system'):
    """'systemd' when systemd runs the host (sd_booted(3): the directory exists), else None."""
    return 'systemd' if os.path.isdir(booted) else None


def ip_forward(path='/proc/sys/net/ipv4/ip_forward'):
    """The IPv4 forwarding sysctl as the kernel shows it (``'1'`` on), or ``'unknown'``."""
    try:
        with open(path) as f:
            return f.read().strip()
    except (IOError, OSError):
        return 'unknown'


def file_state(path):
    """A regular file's ``{owner, group, mode, sha1}`` (mode in octal, as ``644``); None for a path that is
    missing, a symbolic link or not a regular file."""
    try:
        st = os.lstat(path)
    except (IOError, OSError):
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    digest = hashlib.sha1()
    try:
        with open(path, 'rb') as f:
            digest.update(f.read())
    except (IOError, OSError):
        return None

    def _name(lookup, ident):
        try:
            return lookup(ident)[0]
        except KeyError:
            return str(ident)
    return {'owner': _name(pwd.getpwuid, st.st_uid), 'group': _name(grp.getgrgid, st.st_gid),
            'mode': '%o' % stat.S_IMODE(st.st_mode), 'sha1': digest.hexdigest()}


def installed_packages(text):
    """The packages dpkg's database (``/var/lib/dpkg/status``, its text) holds installed and configured:
    ``Status: install ok installed``."""
    out = set()
    for stanza in text.split('\n\n'):
        fields = {}
        for line in stanza.splitlines():
            if line and not line[0].isspace() and ':' in line:
                key, _sep, value = line.partition(':')
                fields[key.strip().lower()] = value.strip()
        if fields.get('package') and fields.get('status') == 'install ok installed':
            out.add(fields['package'])
    return out


def missing_packages(names, status='/var/lib/dpkg/status'):
    """Of ``names``, those dpkg does not hold installed, in their order. A name that is not a plain package
    name (``pkg=1.2``, ``pkg:arch``) or a virtual package counts as missing: apt decides then. All are
    missing on a host without dpkg's database."""
    try:
        with open(status) as f:
            installed = installed_packages(f.read())
    except (IOError, OSError):
        installed = set()
    return [n for n in names if n not in installed]


def gather(ovsdb_socket, packages=None, files=None):
    ovs, error = owned_ovs_interfaces(ovsdb_socket)
    interfaces, default = read_network()
    facts = {
        'listening': listening(),
        'owned_interfaces': sorted(set(owned_links()) | set(ovs)),
        'interfaces': interfaces,
        'default_ipv4': default,
        'os_release': os_release(),
        'service_manager': service_manager(),
        'ip_forward': ip_forward(),
        'ovs_answers': error is None and os.path.exists(ovsdb_socket),
    }
    if error:
        facts['ovs_error'] = error
    if packages is not None:
        facts['missing_packages'] = missing_packages(packages)
    if files is not None:
        facts['files'] = dict((path, file_state(path)) for path in files)
    return facts
