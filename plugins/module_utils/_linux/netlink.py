# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pyroute2 adapter: one netlink socket per namespace per module run.

Managers never open sockets themselves. They receive a :class:`NetlinkSession`
that hands out one ``IPRoute`` per namespace (opened lazily, closed at the end
of the run) and caches bulk reads (one link dump, one address dump, one bridge
port dump per namespace) until the manager says it changed something. A run's
``_contract.Context`` holds one session, shared by every manager of the run.

Link and address messages are flattened into plain dicts here, so the managers
compare simple values and never look at netlink attributes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ctypes
import errno
import os
import socket
import traceback

from ansible_collections.netwire.fabric.plugins.module_utils._contract import Closing, link_by_index
from ansible_collections.netwire.fabric.plugins.module_utils._errors import (
    BackendError,
    MissingDependency,
    failure,
)
from ansible_collections.netwire.fabric.plugins.module_utils._names import OVERLAYS
from ansible_collections.netwire.fabric.plugins.module_utils._linux import garp
from ansible_collections.netwire.fabric.plugins.module_utils._linux.netns import in_netns

try:
    from pyroute2.netlink.exceptions import NetlinkError
    from ansible_collections.netwire.fabric.plugins.module_utils._linux.rtnl import Rtnl as IPRoute
    HAS_PYROUTE2 = True
    PYROUTE2_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - exercised by the module guard
    HAS_PYROUTE2 = False
    PYROUTE2_IMPORT_ERROR = traceback.format_exc()

    class NetlinkError(Exception):
        code = 0

IFF_UP = 0x1
CLONE_NEWNET = 0x40000000
NETLINK_ROUTE = 0
MAIN_TABLE = 254
IP_FAMILIES = (socket.AF_INET, socket.AF_INET6)


def _strip(name, prefix):
    return name[len(prefix):].lower() if name.startswith(prefix) else name.lower()


def _attrs(msg):
    return dict((k, v) for k, v in msg.get('attrs', []) if k != 'UNKNOWN')


def _ipv6_disabled(attrs):
    spec = attrs.get('IFLA_AF_SPEC')
    if not spec or not hasattr(spec, 'get'):
        return None
    inet6 = _attrs(spec).get('AF_INET6')
    if not inet6 or not hasattr(inet6, 'get'):
        return True
    conf = _attrs(inet6).get('IFLA_INET6_CONF') or {}
    return bool(conf.get('disable_ipv6')) if hasattr(conf, 'get') else None


def parse_link(msg):
    """Flatten an RTM_NEWLINK message into the dict the managers use.

    Only the attributes read here are decoded (pyroute2 decodes an attribute when
    it is asked for): a link's statistics and per-family settings (``IFLA_AF_SPEC``)
    cost more to decode than all the rest, and a dump is read again after changes.
    ``ipv6_disabled`` is :meth:`NetlinkSession.ipv6_disabled`'s, for one link.
    """
    get = msg.get_attr
    info = get('IFLA_LINKINFO')
    kind = slave_kind = None
    data_attrs = {}
    slave_attrs = {}
    if info:
        kind, slave_kind = info.get_attr('IFLA_INFO_KIND'), info.get_attr('IFLA_INFO_SLAVE_KIND')
        data = info.get_attr('IFLA_INFO_DATA')
        if data and hasattr(data, 'get'):
            for key, value in _attrs(data).items():
                data_attrs[key.split('_', 2)[-1].lower()] = value
        slave_data = info.get_attr('IFLA_INFO_SLAVE_DATA')
        if slave_data and hasattr(slave_data, 'get'):
            for key, value in _attrs(slave_data).items():
                slave_attrs[_strip(key, 'IFLA_BRPORT_')] = value
    return {
        'index': msg['index'],
        'ifname': get('IFLA_IFNAME'),
        'kind': kind,
        'slave_kind': slave_kind,
        'alias': get('IFLA_IFALIAS') or None,
        'mtu': get('IFLA_MTU'),
        'mac': get('IFLA_ADDRESS'),
        'up': bool(msg.get('flags', 0) & IFF_UP),
        'operstate': get('IFLA_OPERSTATE'),
        'master': get('IFLA_MASTER'),
        'link': get('IFLA_LINK'),
        'link_netnsid': get('IFLA_LINK_NETNSID'),
        'data': data_attrs,
        'slave': slave_attrs,
    }


def parse_addr(msg):
    attrs = _attrs(msg)
    address = attrs.get('IFA_LOCAL') or attrs.get('IFA_ADDRESS')
    return {
        'index': msg['index'],
        'family': msg['family'],
        'address': '%s/%d' % (address, msg['prefixlen']),
        'scope': msg.get('scope', 0),
        'link_local': msg['family'] == socket.AF_INET6 and address.lower().startswith('fe80:'),
    }


def parse_route(msg):
    attrs = _attrs(msg)
    dst = attrs.get('RTA_DST')
    family = msg['family']
    if dst is None:
        dst = '0.0.0.0' if family == socket.AF_INET else '::'
    return {
        'family': family,
        'dst': '%s/%d' % (dst, msg['dst_len']),
        'gateway': attrs.get('RTA_GATEWAY'),
        'oif': attrs.get('RTA_OIF'),
        'proto': msg.get('proto'),
        'scope': msg.get('scope'),
        'table': attrs.get('RTA_TABLE', msg.get('table')),
        'priority': attrs.get('RTA_PRIORITY'),
    }


def parse_rule(msg):
    """Flatten an RTM_NEWRULE message (FRA_TABLE holds tables above 255)."""
    attrs = _attrs(msg)
    family = msg['family']
    src, dst = attrs.get('FRA_SRC'), attrs.get('FRA_DST')
    return {
        'family': family,
        'priority': attrs.get('FRA_PRIORITY', 0),
        'from': '%s/%d' % (src, msg['src_len']) if src else None,
        'to': '%s/%d' % (dst, msg['dst_len']) if dst else None,
        'iif': attrs.get('FRA_IIFNAME'),
        'oif': attrs.get('FRA_OIFNAME'),
        'fwmark': attrs.get('FRA_FWMARK'),
        'fwmask': attrs.get('FRA_FWMASK'),
        'table': attrs.get('FRA_TABLE', msg.get('table')),
        'action': msg.get('action'),
        'protocol': attrs.get('FRA_PROTOCOL'),
        'tos': msg.get('tos', 0),
        'goto': attrs.get('FRA_GOTO'),
        'suppress_prefixlength': attrs.get('FRA_SUPPRESS_PREFIXLEN'),
    }


def parse_qdisc(msg):
    """Flatten an RTM_NEWQDISC message: kind, handle, parent, options (a dict of the kind's parameters)."""
    attrs = _attrs(msg)
    options = attrs.get('TCA_OPTIONS')
    parms = {}
    if options is not None and hasattr(options, 'get_attr'):
        for key, value in _attrs(options).items():
            if hasattr(value, 'items'):
                parms.update((k, v) for k, v in value.items() if not k.startswith(('peak_', 'rate_')))
            else:
                parms[key] = value
    return {'index': msg['index'], 'handle': msg['handle'], 'parent': msg['parent'], 'kind': attrs.get('TCA_KIND'),
            'options': parms}


def raise_netlink(err, verb, kind, name):
    """Turn a NetlinkError into the collection's error with the right class."""
    code = getattr(err, 'code', 0)
    reason = '%s (errno %s)' % (os.strerror(code) if code else str(err), code)
    cls = BackendError
    if code in (errno.EOPNOTSUPP, errno.EAFNOSUPPORT, errno.EPROTONOSUPPORT):
        cls = MissingDependency
    raise failure(verb, kind, name, reason, cls, errno=code or None)


def route_socket_in(netns):
    """A NETLINK_ROUTE socket of the namespace ``netns`` (a path), for ``IPRoute(fileno=)`` (``rtnl.Rtnl``).

    Opened while the calling thread is switched to the namespace (``netns.in_netns``):
    pyroute2's own ``IPRoute(netns=)`` forks a process for each namespace, which costs
    more than everything else a no-op run does in a container's namespace.
    """
    return in_netns(netns, lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_ROUTE))


class NetlinkSession(Closing):
    """One IPRoute per namespace, plus per-namespace caches of bulk reads.

    ``netns`` is ``None`` for the namespace the module runs in, or a path to a
    namespace file (``/run/netns/x``, ``/proc/<pid>/ns/net``).
    """

    def __init__(self, check_mode=False):
        self.check_mode = check_mode
        self._sockets = {}
        self._cache = {}

    def close(self):
        for ipr in self._sockets.values():
            try:
                ipr.close()
            except Exception:  # pragma: no cover - best effort on teardown
                pass
        self._sockets = {}
        self._cache = {}

    def ipr(self, netns=None):
        key = netns or ''
        if key not in self._sockets:
            if not HAS_PYROUTE2:
                raise MissingDependency('Failed to open netlink: the Python library pyroute2 is not installed')
            try:
                if netns:
                    self._sockets[key] = IPRoute(fileno=route_socket_in(netns).detach())
                else:
                    self._sockets[key] = IPRoute()
            except (OSError, NetlinkError) as err:
                raise failure('open', 'network namespace', netns or 'host', str(err), BackendError,
                              errno=getattr(err, 'errno', None) or getattr(err, 'code', None) or None)
        return self._sockets[key]

    def invalidate(self, netns=None):
        self._cache.pop(netns or '', None)

    def _ns_cache(self, netns):
        return self._cache.setdefault(netns or '', {})

    def call(self, verb, what, name, method, *args, **kwargs):
        """Run a mutating netlink request in ``netns`` (keyword, default host).

        Errors carry the collection's message shape, except the errno values
        in ``ignore`` (keyword), which return None; the cached reads the
        request made stale are dropped (:meth:`_changed`).
        """
        netns = kwargs.pop('netns', None)
        ignore = kwargs.pop('ignore', ())
        try:
            return getattr(self.ipr(netns), method)(*args, **kwargs)
        except NetlinkError as err:
            if err.code in ignore:
                return None
            raise_netlink(err, verb, what, name)
        finally:
            self._changed(netns, method, args[0] if args else None, kwargs)

    def _changed(self, netns, method, command, kwargs):
        """Forget what a request made stale, and no more: re-reading every link of a
        namespace after each change made a build quadratic in its links.

        * a link request: that link (named by ``index`` or ``ifname``) is read again,
          alone, on the next read; the namespace's addresses and routes are dropped;
        * a link created, deleted or moved (a veth's peer lives elsewhere, and
          deleting one end deletes the other): every other namespace's reads too;
        * an address request: addresses and routes (of every table); a route request: routes;
          a rule request: rules; a tc request (and a link request): qdiscs;
          a bridge-port request: that port.
        """
        key = netns or ''
        if method == 'link' and (command in ('add', 'del') or 'net_ns_fd' in kwargs or 'net_ns_pid' in kwargs):
            for other in [k for k in self._cache if k != key]:
                del self._cache[other]
        cache = self._cache.get(key)
        if not cache:
            return
        if method in ('link', 'brport'):
            named = [('index', kwargs['index'])] if kwargs.get('index') else []
            if kwargs.get('ifname'):
                named.append(('ifname', kwargs['ifname']))
            if not named:
                self.invalidate(netns)
                return
            # what changes with it: a new master (its carrier, MTU), a veth's peer in this namespace
            if isinstance(kwargs.get('master'), int) and kwargs['master'] > 0:
                named.append(('index', kwargs['master']))
            peer = kwargs.get('peer')
            if isinstance(peer, dict) and peer.get('ifname'):
                named.append(('ifname', peer['ifname']))
            elif isinstance(peer, str):
                named.append(('ifname', peer))
            if command == 'del' and 'links' in cache:
                gone = link_by_index(cache['links'], kwargs.get('index'))
                if gone is not None and gone.get('link') and gone.get('link_netnsid') is None:
                    named.append(('index', gone['link']))
            cache.setdefault('stale', set()).update(named)
        if method in ('link', 'addr', 'route'):
            for table_key in [k for k in cache if k.startswith('routes')]:
                del cache[table_key]
        if method in ('link', 'addr'):
            cache.pop('addrs', None)
        if method == 'rule':
            cache.pop('rules', None)
        if method in ('link', 'tc'):
            cache.pop('qdiscs', None)

    # bulk reads -----------------------------------------------------------

    def _read(self, netns, what, parse, **kwargs):
        """One read, flattened: by the socket (``rtnl.Rtnl.flat_*``, no pyroute2 decoding) where it
        can, else each message by ``parse`` (``get_*`` of an IPRoute)."""
        ipr = self.ipr(netns)
        flat = getattr(ipr, 'flat_' + what, None)
        if flat is not None:
            return flat(parse, **kwargs)
        return [parse(m) for m in getattr(ipr, 'get_' + what)(**kwargs)]

    def links(self, netns=None):
        """All links of a namespace, by name (one dump, cached; the links a request changed
        since are read again one by one, into a new dict: a caller's earlier dict stays as it was)."""
        cache = self._ns_cache(netns)
        stale = cache.pop('stale', None)
        if 'links' not in cache:
            try:
                links = self._read(netns, 'links', parse_link)
            except NetlinkError as err:
                raise_netlink(err, 'list', 'links in', netns or 'host')
            cache['links'] = dict((link['ifname'], link) for link in links)
            cache['names'] = dict((link['index'], link['ifname']) for link in links)
        elif stale:
            # found by name or index (not by a walk over every link: a build did that for each change)
            links, names = dict(cache['links']), dict(cache['names'])
            for how, value in stale:
                fresh = self._get_link(netns, **{how: value})
                gone = set([value if how == 'ifname' else names.get(value)])
                if fresh is not None:
                    gone.add(names.get(fresh['index']))
                for name in gone:
                    link = links.pop(name, None)
                    if link is not None and names.get(link['index']) == name:
                        del names[link['index']]
                if fresh is not None:
                    links[fresh['ifname']] = fresh
                    names[fresh['index']] = fresh['ifname']
            cache['links'], cache['names'] = links, names
        return cache['links']

    def _get_link_msg(self, netns, **which):
        """One link's message by ``index`` or ``ifname`` (one request); None when it is gone."""
        try:
            msgs = self.ipr(netns).link('get', **which)
        except NetlinkError as err:
            if err.code == errno.ENODEV:
                return None
            raise_netlink(err, 'read', 'link', str(which.get('ifname') or which.get('index')))
        return msgs[0] if msgs else None

    def _get_link(self, netns, **which):
        """One link by ``index`` or ``ifname``, parsed; None when it is gone."""
        flat = getattr(self.ipr(netns), 'flat_link', None)
        if flat is None:
            msg = self._get_link_msg(netns, **which)
            return parse_link(msg) if msg is not None else None
        try:
            links = flat(parse_link, **which)
        except NetlinkError as err:
            if err.code == errno.ENODEV:
                return None
            raise_netlink(err, 'read', 'link', str(which.get('ifname') or which.get('index')))
        return links[0] if links else None

    def link(self, name, netns=None):
        return self.links(netns).get(name)

    def read_link(self, name, netns=None):
        """``name`` as the kernel has it now (one request, not cached); None if there is no such link."""
        return self._get_link(netns, ifname=name)

    def link_by_index(self, index, netns=None):
        return link_by_index(self.links(netns), index)

    def ipv6_disabled(self, name, netns=None):
        """Is IPv6 disabled on link ``name`` (``disable_ipv6``)? None when there is no such link."""
        msg = self._get_link_msg(netns, ifname=name)
        return _ipv6_disabled({'IFLA_AF_SPEC': msg.get_attr('IFLA_AF_SPEC')}) if msg is not None else None

    def addresses(self, netns=None):
        """Addresses by link index (one dump, cached)."""
        cache = self._ns_cache(netns)
        if 'addrs' not in cache:
            by_index = {}
            for addr in self._read(netns, 'addr', parse_addr):
                by_index.setdefault(addr['index'], []).append(addr)
            cache['addrs'] = by_index
        return cache['addrs']

    def link_addresses(self, index, netns=None, include_link_local=False):
        return [a['address'] for a in self.addresses(netns).get(index, [])
                if include_link_local or not a['link_local']]

    def routes(self, netns=None, table=MAIN_TABLE):
        """The routes of one table (None: of every table), IPv4 and IPv6 (one dump, cached).

        A table's routes are taken from the dump of every table when that one was read.
        """
        cache = self._ns_cache(netns)
        key = 'routes:%s' % table
        if key not in cache:
            if 'routes:None' in cache:
                cache[key] = [r for r in cache['routes:None'] if r['table'] == table]
                return cache[key]
            # IPv4 and IPv6 in one dump (two requests an attachment were one in four of a no-op's)
            cache[key] = [route for route in self._read(netns, 'routes', parse_route, family=socket.AF_UNSPEC)
                          if route['family'] in IP_FAMILIES and (table is None or route['table'] == table)]
        return cache[key]

    def rules(self, netns=None):
        """The policy routing rules of a namespace, IPv4 and IPv6 (one dump, cached)."""
        cache = self._ns_cache(netns)
        if 'rules' not in cache:
            try:  # IPv4's and IPv6's (none where IPv6 is off) in one dump
                rules = self._read(netns, 'rules', parse_rule, family=socket.AF_UNSPEC)
            except NetlinkError as err:
                raise_netlink(err, 'list', 'rules in', netns or 'host')
            cache['rules'] = [rule for rule in rules if rule['family'] in IP_FAMILIES]
        return cache['rules']

    def qdiscs(self, netns=None):
        """The qdiscs of a namespace (one dump, cached)."""
        cache = self._ns_cache(netns)
        if 'qdiscs' not in cache:
            try:
                cache['qdiscs'] = self._read(netns, 'qdiscs', parse_qdisc)
            except NetlinkError as err:
                raise_netlink(err, 'list', 'qdiscs in', netns or 'host')
        return cache['qdiscs']

    def flood_remotes(self, index, netns=None):
        """Peers of the all-zero (flood) FDB entries of a VXLAN device."""
        remotes = []
        for msg in self.ipr(netns).fdb('dump', ifindex=index):
            attrs = _attrs(msg)
            if msg.get('ifindex') != index:
                continue
            if attrs.get('NDA_LLADDR') == '00:00:00:00:00:00' and attrs.get('NDA_DST'):
                remotes.append(attrs['NDA_DST'])
        return remotes

    def netnsid(self, netns):
        """The id the module's namespace uses for ``netns`` (None if unassigned; cached with ``netns``'s reads)."""
        cache = self._ns_cache(netns)
        if 'nsid' not in cache:
            cache['nsid'] = self._read_netnsid(netns)
        return cache['nsid']

    def _read_netnsid(self, netns):
        fd = os.open(netns, os.O_RDONLY)
        try:
            res = self.ipr().get_netnsid(fd=fd)
        except NetlinkError:
            return None
        finally:
            os.close(fd)
        nsid = res.get('nsid') if res else None
        return None if nsid is None or nsid < 0 else nsid


# helpers that need their own process ---------------------------------------

def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _in_child(func):
    """Run ``func`` in a forked child; return its exit status (0 = success).

    Namespace switches (``setns``/``unshare``) then never leak into the module
    process, and a probe namespace disappears with the child.
    """
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 1
        try:
            code = func() or 0
        except BaseException:
            code = 1
        os._exit(code)
    status = os.waitpid(pid, 0)[1]
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 255


# the exit status of a probe's child: the kernel has no such link kind (EOPNOTSUPP), it refused the link for
# another reason, the child could not make its namespace
_PROBE_UNSUPPORTED, _PROBE_REFUSED, _PROBE_CANNOT_RUN = 2, 4, 3
_LACKS = {}  # link kind -> kernel_lacks(kind), for the run


def probe_link_kind(kind, **attrs):
    """Can this kernel create a ``kind`` link (with ``attrs``)? Tried in a throwaway namespace.

    Safe in check mode: the probe link lives in a private namespace that dies
    with the forked child, so the host never sees it. Returns None when the
    probe itself cannot run (then the real request decides).
    """
    status = _probe_status(kind, attrs)
    return None if status is None else status == 0


def kernel_lacks(kind):
    """True when this kernel cannot create ``kind`` links at all (EOPNOTSUPP: no driver, and its module
    cannot be loaded), probed once a run like :func:`probe_link_kind`; None when the probe cannot run."""
    if kind not in _LACKS:
        status = _probe_status(kind, {})
        _LACKS[kind] = None if status is None else status == _PROBE_UNSUPPORTED
    return _LACKS[kind]


def _probe_status(kind, attrs):
    """The exit status of a child that creates a ``kind`` link in a namespace of its own: 0 (created),
    ``_PROBE_UNSUPPORTED``, ``_PROBE_REFUSED`` or 1 (another error); None when the probe cannot run.
    A vlan or macvlan gets a veth of the namespace as its lower link."""
    def child():
        if _libc().unshare(CLONE_NEWNET) != 0:
            return _PROBE_CANNOT_RUN
        try:
            with IPRoute() as ipr:
                kwargs = {'ifname': 'nwprobe0', 'kind': kind}
                if kind == 'vxlan':
                    kwargs.update(vxlan_id=1, vxlan_port=OVERLAYS['vxlan'].udp_port)
                elif kind == 'geneve':
                    kwargs.update(geneve_id=1, geneve_remote='198.19.0.1')
                elif kind in ('vlan', 'macvlan'):
                    ipr.link('add', ifname='nwprobe1', kind='veth', peer='nwprobe2')
                    kwargs['link'] = ipr.link('get', ifname='nwprobe1')[0]['index']
                    if kind == 'vlan':
                        kwargs['vlan_id'] = 2
                kwargs.update(attrs)
                ipr.link('add', **kwargs)
        except NetlinkError as err:
            return _PROBE_UNSUPPORTED if err.code == errno.EOPNOTSUPP else _PROBE_REFUSED
        return 0
    status = _in_child(child)
    return None if status in (_PROBE_CANNOT_RUN, 255) else status


def send_gratuitous_arp(netns, ifname, mac_text, ipv4_addresses, count=2):
    """Announce IPv4 addresses with gratuitous ARP from inside ``netns``; True when sent.

    :func:`_linux.garp.announce` does the work (with the thread switched to ``netns``:
    forking a process for it cost more than the rest of an attachment).
    """
    try:
        garp.announce(ifname, mac_text, ipv4_addresses, netns=netns, count=count)
    except BackendError:
        return False
    return True
