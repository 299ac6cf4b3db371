# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manager of one container interface (netwire.fabric.container_attach).

A veth pair: the container end is created directly inside the container's
namespace, the host end is plugged into a bridge by a *bridge backend*. Both
ends carry the ownership alias ``netwire:attach:<identity>/<ifname>``. The host
end's name and the default MAC are derived from the container's name and
``ifname`` (``_names.veth_host_name``, ``_names.container_mac``: the model's
scheme, so site.yml and this module alone name an attachment alike), and a
rerun (or a rerun after a container restart) finds them again.

Everything that depends on the bridge type lives behind a bridge backend
(``_host/backends.py``); the default route takeover's records are in
``_host/takeover.py``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import json
import os
import socket
import time

from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.module_utils._contract import Manager, Result
from ansible_collections.netwire.fabric.plugins.module_utils._errors import (
    BackendError,
    InvalidParameter,
    MissingDependency,
    NetwireError,
    NotOwned,
    failure,
)
from ansible_collections.netwire.fabric.plugins.module_utils._linux.linkops import (
    Plan,
    _addr as set_address,
    index_of,
    plan_addresses,
    purge_links,
    sort_addresses,
)
from ansible_collections.netwire.fabric.plugins.module_utils._linux.netlink import (
    MAIN_TABLE,
    send_gratuitous_arp,
)
from ansible_collections.netwire.fabric.plugins.module_utils._linux.netns import resolve
from ansible_collections.netwire.fabric.plugins.module_utils._linux import policy
from ansible_collections.netwire.fabric.plugins.module_utils._host import dhcp
from ansible_collections.netwire.fabric.plugins.module_utils._host.attach_params import (  # noqa: F401 (re-exported)
    _route_text,
    normalize_params,
    sort_routes,
    wanted_routes,
)
from ansible_collections.netwire.fabric.plugins.module_utils._host.resolver import (
    resolver_file,
    restore_after_removal as restore_resolver,
)
from ansible_collections.netwire.fabric.plugins.module_utils._host.backends import (
    BRIDGE_BACKENDS,
    _BACKEND_ORDER,
    select_backend,
)
from ansible_collections.netwire.fabric.plugins.module_utils._host.takeover import (
    TAKEOVER_DIR,
    restore_after_removal,
    restore_routes,
    takeover_record_path,
)
from ansible_collections.netwire.fabric.plugins.module_utils._names import RTPROT_NETWIRE, attach_alias
from ansible_collections.netwire.fabric.plugins.module_utils._validate import parsed_network

NETNS_READY_TIMEOUT = 5.0  # seconds to wait for a (re)starting container's own network namespace
FORWARDING_TIMEOUT = 2.0  # seconds a gratuitous ARP waits for the ends of a link just brought up to pass frames
BRPORT_DISABLED = 0
SCOPE_LINK = 253


def passes_frames(link):
    """Does ``link`` (``parse_link``'s dict, None when gone) pass frames now? (pure)

    The kernel finishes bringing a link up in a work queue (linkwatch): until it ran, the link's
    operstate is not UP, it transmits through the "noop" qdisc, which drops every frame *without an
    error*, and a bridge port stays disabled. A gratuitous ARP sent right after "set up" was lost that
    way in 6 of 80 attachments on a loaded lab host (CI saw it). Reading the link with RTM_GETLINK
    runs its pending linkwatch event on current kernels (``linkwatch_sync_dev``); older ones report
    the state as it is, and :func:`wait_passing_frames` polls. UNKNOWN: a link without carrier
    reporting, which always passes.
    """
    if link is None:
        return True  # nothing to wait for: sending reports what is wrong
    if link['operstate'] not in ('UP', 'UNKNOWN'):
        return False
    return not (link.get('slave_kind') == 'bridge' and (link.get('slave') or {}).get('state') == BRPORT_DISABLED)


def wait_passing_frames(ctx, ends, timeout=FORWARDING_TIMEOUT):
    """Wait (at most ``timeout``) until every ``(ifname, netns)`` in ``ends`` passes frames; True when they do.
    One request per end when they already do (the usual case); then polls, 1 ms doubling to 50 ms."""
    deadline = time.time() + timeout
    pause = 0.001
    while True:
        if all(passes_frames(ctx.read_link(ifname, netns)) for ifname, netns in ends):
            return True
        if time.time() >= deadline:
            return False
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def _inode(path):
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


# ---------------------------------------------------------------- manager

class ContainerAttachManager(Manager):
    kind = 'container attachment'

    def __init__(self, ctx, params, netns=None):
        super(ContainerAttachManager, self).__init__(ctx, params)
        self.netns = netns  # the host side's namespace (None: where the module runs)
        self.plan = Plan(ctx)
        self.predicted = {}
        self.foreign_qdisc = None  # (kind, handle) of a root qdisc of someone else on the container end

    @classmethod
    def purge(cls, ctx, keep=None):
        """Delete our host ends not in ``keep`` (and put back the default routes their takeover
        replaced and the resolv.conf their resolver wrote), then our OVS attachment ports not in it
        (one transaction)."""
        out = purge_links(ctx, keep, lambda link: (link.get('alias') or '').startswith(_names.ATTACH_ALIAS_PREFIX),
                          then=lambda link: (restore_after_removal(ctx, link.get('alias'), check_mode=ctx.check_mode)
                                             + restore_resolver(link.get('alias'), check_mode=ctx.check_mode)
                                             + policy.rules_after_removal(ctx, link.get('alias'), ctx.check_mode)))
        ports = cls.purge_ovs_ports(ctx, keep)
        if ports:
            out.append(Result(True, ['remove OVS port %s' % n for n in ports],
                              {'before': sorted(ports), 'after': []}, label='ovs ports'))
        return out

    @staticmethod
    def purge_ovs_ports(ctx, keep=None):
        """Our OVS attachment ports not in ``keep``, removed (their names)."""
        return BRIDGE_BACKENDS['ovs'].purge(ctx, keep) if 'ovs' in BRIDGE_BACKENDS else []

    def _fail(self, verb, reason, cls=InvalidParameter):
        name = '%s:%s' % (self.raw_params.get('container'), self.raw_params.get('ifname') or 'eth1')
        return failure(verb, 'container interface', name, reason, cls)

    def run(self):
        try:
            self.params = normalize_params(self.raw_params)
        except InvalidParameter as err:
            raise self._fail('attach', err.msg)
        if self.params['state'] == 'absent':
            before = self.plan_absent()
            after = {}
        else:
            self.ns = self._resolve_ready()
            before = self.read_state()
            self.plan_present(before)
            after = None
        resolv, warnings = self._plan_resolver(before, after), []
        if resolv is not None and resolv.skip:
            warnings.append(resolv.skip)
        try:
            self.plan.apply()
        except NetwireError as err:
            if self.params['state'] != 'absent' and self._namespace_changed():
                raise self._fail('attach', 'the container restarted while it was being attached (its network'
                                 ' namespace changed under us: %s); nothing of the new namespace is half-done'
                                 ' by design, retry' % err.msg, BackendError)
            raise
        if after is None:
            if self.ctx.check_mode:
                after = self.predicted
            elif self.plan.changed:
                after = self.read_state()
            else:  # nothing was done: read once, not twice (issue 20: the no-op per attachment)
                after = dict(before)
            if resolv is not None and not resolv.skip:
                after['resolv_conf'] = self.predicted['resolv_conf'] if self.ctx.check_mode else resolv.read()
        return Result(self.plan.changed, self.plan.actions, {'before': before, 'after': after}, warnings=warnings,
                      label='%s:%s' % (self.raw_params.get('container'), self.params['ifname']), attachment=after)

    def _plan_resolver(self, before, after):
        """Queue the container's resolv.conf (present with ``resolver``; absent: put back ours)."""
        p = self.params
        if p['state'] != 'absent' and not p.get('resolver'):
            return None
        rf = resolver_file(self.ns, p['container'], p.get('container_type') or 'auto', p['ifname'])
        if rf is None or rf.skip:
            return rf
        if p['state'] == 'absent':
            was, will = rf.plan_absent(self.plan)
            if was != will:
                before['resolv_conf'], after['resolv_conf'] = was, will
            return rf
        try:
            before['resolv_conf'], self.predicted['resolv_conf'] = rf.plan_present(self.plan, p['resolver'])
        except InvalidParameter as err:
            raise self._fail('attach', err.msg, NotOwned)
        return rf

    # ---------------------------------------------------------------- the container's namespace

    def _resolve_ready(self):
        """Resolve the container and wait (bounded) until its own network namespace is there.

        Right after ``docker restart`` the engine may report a pid whose process
        is gone again, or that does not have its own namespace yet (it still
        shares ours): re-resolve until the reference leads to a namespace that
        exists and is not the module's own, or fail with a message to retry.
        """
        deadline = time.time() + NETNS_READY_TIMEOUT
        own = _inode('/proc/self/ns/net')
        while True:
            try:
                ns = resolve(self.params['container'], self.params.get('container_type') or 'auto')
            except NetwireError as err:
                raise self._fail('attach', err.reason, type(err))
            inode = ns.inode()
            if inode is not None and (inode != own or ns.ref_type in ('netns', 'path')):
                self._ns_inode = inode
                return ns
            if time.time() >= deadline:
                raise self._fail('attach', 'the container has no network namespace of its own after %.0f s (%s'
                                 ' is the module\'s own: a container with the host network, or one still'
                                 ' starting: then retry)' % (NETNS_READY_TIMEOUT, ns.path), BackendError)
            time.sleep(0.1)

    def _namespace_changed(self):
        """After a failed step: does the reference now lead to another namespace (a restart)?"""
        try:
            ns = resolve(self.params['container'], self.params.get('container_type') or 'auto')
        except NetwireError:
            return True
        return ns.inode() != getattr(self, '_ns_inode', None)

    # ---------------------------------------------------------------- reading

    def _names(self):
        p = self.params
        host_ifname = p.get('host_ifname') or _names.veth_host_name(self.ns.name, p['ifname'])
        return host_ifname, attach_alias(self.ns.identity, p['ifname'])

    def _links(self):
        """(host end, container end, paired?) as they are now."""
        host_ifname, alias = self._names()
        host = self.ctx.link(host_ifname, self.netns)
        peer = self.ctx.link(self.params['ifname'], self.ns.path)
        paired = bool(host and peer and host['kind'] == 'veth' and peer['kind'] == 'veth'
                      and host['link'] == peer['index'] and peer['link'] == host['index'])
        if paired and host.get('link_netnsid') is not None:
            nsid = self.ctx.netnsid(self.ns.path)
            if nsid is not None and nsid != host['link_netnsid']:
                paired = False
        return host, peer, paired

    def read_state(self):
        host, peer, paired = self._links()
        if not paired:
            return {}
        host_ifname, alias = self._names()
        if host['alias'] != alias or peer['alias'] != alias:
            return {}
        backend, port = None, {'bridge': None}
        wanted_type = self.params.get('bridge_type') or 'auto'
        for name in _BACKEND_ORDER:
            if wanted_type not in ('auto', name):
                continue
            seen = BRIDGE_BACKENDS[name].port_state(self.ctx, host, self.netns)
            if seen.get('bridge'):
                backend, port = BRIDGE_BACKENDS[name], seen
                break
        state = {
            'container': self.ns.name,
            'identity': self.ns.identity,
            'netns': self.ns.path,
            'ifname': self.params['ifname'],
            'host_ifname': host['ifname'],
            'bridge_type': backend.name if backend else None,
            'mac': peer['mac'],
            'mtu': peer['mtu'],
            'host_mtu': host['mtu'],
            'up': peer['up'] and host['up'],
            'addresses': sort_addresses(self.ctx.link_addresses(peer['index'], self.ns.path)),
            'routes': self._owned_routes(peer['index']),
        }
        state.update(port)
        return self._with_policy(state, peer['index'])

    def _not_this_end(self, end):
        """The failure for a container interface named ``ifname`` that is not this attachment's ``end``."""
        if _names.is_owned(end['alias']):
            return self._fail('attach', "the container's interface '%s' belongs to another netwire attachment"
                              " (%s); refer to the container the same way, or detach that first"
                              % (self.params['ifname'], end['alias']), NotOwned)
        return self._fail('attach', "the container already has an interface '%s' that netwire did not create"
                          % self.params['ifname'], NotOwned)

    def _with_policy(self, state, index):
        """``state`` with the container's rules and the root qdisc of its end (``index``), when present is
        wanted: rules when the parameters manage them, the qdisc when there is or should be one. Keeps a
        foreign root qdisc in ``foreign_qdisc``."""
        p = self.params
        if p.get('state') != 'absent':
            if p['rules'] is not None:
                state['rules'] = [view for view, _raw in policy.read_rules(self.ctx, self.ns.path)]
            qdisc, self.foreign_qdisc = policy.read_root_qdisc(self.ctx, index, self.ns.path, p['qdisc'])
            if qdisc is not None or p['qdisc'] is not None:
                state['qdisc'] = qdisc
        return state

    def _owned_routes(self, index):
        routes = []
        for r in self.ctx.routes(self.ns.path, table=None):
            if r['oif'] == index and r['proto'] == RTPROT_NETWIRE:
                route = {'dest': str(parsed_network(r['dst'])), 'via': r['gateway']}
                if r['table'] != MAIN_TABLE:
                    route['table'] = r['table']
                routes.append(route)
        return sort_routes(routes)

    # ---------------------------------------------------------------- absent

    def _candidate_identities(self):
        """Identities to look for when the container itself is gone."""
        ref = str(self.params['container'])
        kinds = [self.params.get('container_type') or 'auto']
        if kinds == ['auto']:
            kinds = ['docker', 'podman', 'netns', 'path', 'pid']
        return ['%s:%s' % (k, ref) for k in kinds]

    def plan_absent(self):
        p = self.params
        try:
            self.ns = resolve(p['container'], p.get('container_type') or 'auto')
        except InvalidParameter:
            self.ns = None
        if self.ns is not None:
            before = self.read_state()
            identities = [self.ns.identity]
        else:
            before = {}
            identities = self._candidate_identities()
        aliases = set(attach_alias(i, p['ifname']) for i in identities)
        names = set([_names.veth_host_name(self.ns.name if self.ns else str(p['container']), p['ifname'])])
        if p.get('host_ifname'):
            names = set([p['host_ifname']])
        else:
            # A host end made with a custom host_ifname (or named by an earlier release's scheme)
            # is found by its ownership mark.
            names.update(name for name, link in self.ctx.links(self.netns).items() if link['alias'] in aliases)
        for name in sorted(names):
            link = self.ctx.link(name, self.netns)
            if link is None:
                continue
            if link['alias'] not in aliases:
                if p.get('host_ifname'):
                    raise self._fail('detach', "interface '%s' exists but is not this attachment"
                                     " (alias %r); it is left alone" % (name, link['alias']), NotOwned)
                continue
            for backend_name in _BACKEND_ORDER:
                BRIDGE_BACKENDS[backend_name].plan_detach(self.plan, self.ctx, name, link, self.netns)
            self.plan.step('delete veth pair %s' % name, self._delete, 'delete', name, link['index'], self.netns)
        if self.ns is not None:
            self._plan_restore()
            policy.plan_rules_removal(self.plan, self.ctx, self.ns.path, p['ifname'], self.ns.name)
        elif os.path.isdir(TAKEOVER_DIR):
            for identity in identities:  # the container is gone, and with it the routes to restore
                path = takeover_record_path(identity, p['ifname'])
                if os.path.exists(path):
                    self.plan.step('forget the replaced default routes of %s (the container is gone)' % identity,
                                   os.unlink, path)
        # What the backends keep for this attachment after its veth died with the container
        # (an OVS port whose interface is gone).
        for backend_name in _BACKEND_ORDER:
            BRIDGE_BACKENDS[backend_name].plan_detach_orphans(self.plan, self.ctx, str(p['container']), p['ifname'],
                                                              self.netns)
        return before

    # ---------------------------------------------------------------- present

    def plan_present(self, current):
        p, ctx, ns = self.params, self.ctx, self.ns
        host_ifname, alias = self._names()
        try:
            backend = select_backend(ctx, p['bridge'], p.get('bridge_type') or 'auto', self.netns)
        except InvalidParameter as err:
            raise self._fail('attach', err.msg)
        host, peer, paired = self._links()
        # Ownership: never touch an interface we did not create.
        if host is not None and host['alias'] != alias:
            if p.get('host_ifname') and (host['alias'] or '').startswith(_names.ATTACH_ALIAS_PREFIX):
                # The caller (a host plan) names this host end for this attachment, and it is
                # ours, from an earlier reference to the same container (its ref changed in the
                # model): replace it rather than refuse.
                self.plan.step('remove host end %s of the earlier attachment %s' % (host_ifname, host['alias']),
                               self._delete, 'remove earlier', host_ifname, host['index'], self.netns)
                host, paired = None, False
            else:
                raise self._fail('attach', "host interface '%s' exists but is not this attachment (alias %r);"
                                 " it is left alone" % (host_ifname, host['alias']), NotOwned)
        if peer is not None and peer['alias'] != alias:
            raise self._not_this_end(peer)
        if any(':' in a for a in p['addresses']) or p.get('gateway6') or any(':' in r['dest'] for r in p['routes']):
            if ctx.ipv6_disabled(p['ifname'] if peer is not None else 'lo', ns.path):
                raise self._fail('attach', 'IPv6 is disabled in the container (net.ipv6.conf.*.disable_ipv6=1);'
                                 ' give only IPv4 addresses or enable IPv6 there')
        mac = p.get('mac') or (_names.mac_from_seed(p['mac_seed']) if p.get('mac_seed')
                               else _names.container_mac(ns.name, p['ifname']))
        mtu = p.get('mtu') or backend.bridge_mtu(ctx, p['bridge'], self.netns)
        routes = wanted_routes(p)
        # (peer, if any, carries our alias by now: its routes are this attachment's own)
        replaced = self._check_route_conflicts(routes, peer['index'] if peer else None)
        if replaced:
            what = ', '.join('%s via %s' % (r['dst'], r['gateway'] or 'a link') for r in replaced)
            self.plan.step('take over the default route%s %s (recorded in %s, restored on detach)'
                           % ('s' if len(replaced) > 1 else '', what, self._record_path()),
                           self._take_over, replaced)

        fresh = not (paired and current)
        if not paired or not current:
            if host is not None:
                self.plan.step('remove stale host end %s (its container end is gone: container restarted?)'
                               % host_ifname, self._delete, 'remove stale', host_ifname, host['index'], self.netns)
            if peer is not None:
                self.plan.step('remove stale container end %s in %s' % (p['ifname'], ns.name), self._delete,
                               'remove stale', p['ifname'], peer['index'], ns.path)
            self.plan.step('create veth %s <-> %s:%s' % (host_ifname, ns.name, p['ifname']), self._create_pair,
                           host_ifname, alias, mac, mtu)
            current = {}

        host_ref = index_of(ctx, host_ifname, self.netns)
        peer_ref = index_of(ctx, p['ifname'], ns.path)
        # host end: MTU, then the bridge, then up
        if not fresh and current.get('host_mtu') != mtu:
            self.plan.step('set %s mtu %d' % (host_ifname, mtu), self._set, host_ifname, host_ref, self.netns,
                           mtu=mtu)
        try:
            port = backend.plan_attach(self.plan, ctx, host_ifname, host_ref, p['bridge'], p,
                                       {} if fresh else dict((k, current.get(k)) for k in ('bridge', 'hairpin')),
                                       self.netns)
        except (InvalidParameter, MissingDependency) as err:
            if err.verb is not None:  # it already says what failed
                raise
            raise self._fail('attach', err.msg, type(err))
        # container end: link attributes, addresses, up, routes
        if not fresh:
            if current.get('mac') != mac:
                self.plan.step('set %s mac %s' % (p['ifname'], mac), self._set, p['ifname'], peer_ref, ns.path,
                               address=mac)
            if current.get('mtu') != mtu:
                self.plan.step('set %s mtu %d' % (p['ifname'], mtu), self._set, p['ifname'], peer_ref, ns.path,
                               mtu=mtu)
        self._plan_inside(current, fresh, peer_ref, mac, mtu, routes,
                          lambda: self._up(host_ifname, host_ref, peer_ref),
                          'set %s and %s up' % (host_ifname, p['ifname']), backend.after_attach, host_ifname)
        self.predicted = {
            'container': ns.name, 'identity': ns.identity, 'netns': ns.path, 'ifname': p['ifname'],
            'host_ifname': host_ifname, 'bridge_type': backend.name, 'mac': mac, 'mtu': mtu, 'host_mtu': mtu,
            'up': True, 'addresses': sort_addresses(p['addresses']), 'routes': routes,
        }
        self.predicted.update(port)
        if p['rules'] is not None:
            self.predicted['rules'] = p['rules']
        if p['qdisc'] is not None:
            self.predicted['qdisc'] = p['qdisc']

    def _plan_inside(self, current, fresh, peer_ref, mac, mtu, routes, up, up_text, after_attach, host_end=None):
        """Queue the container end's routes, addresses (or DHCP), up, rules, qdisc and announcement: the same
        for every kind of attachment (``up`` brings the interface, and what it needs, up; ``host_end`` is
        the veth's other end, in ``self.netns``, that the announcement waits for too)."""
        p, ns = self.params, self.ns
        have_routes = current.get('routes', [])
        for route in have_routes:
            if route not in routes:
                self.plan.step('remove route %s' % _route_text(route), self._route, 'del', route, peer_ref)
        # dhcp: the first address comes from a lease that must equal it (only when it is not there yet)
        by_dhcp = p['dhcp'] and p['addresses'][0] not in current.get('addresses', [])
        if by_dhcp:
            try:
                busybox = dhcp.find_busybox()
            except MissingDependency as err:
                raise self._fail('attach', err.msg, MissingDependency)
        added, removed = plan_addresses(self.plan, p['ifname'], peer_ref, current.get('addresses', []),
                                        p['addresses'][1:] if by_dhcp else p['addresses'], ns.path)
        added = list(added) + (p['addresses'][:1] if by_dhcp else [])
        if added or removed or not current.get('up'):
            # The kernel drops IPv4 routes through an interface that loses its
            # last address or goes down: put every wanted route (back) in place.
            have_routes = []
        if not current.get('up'):
            self.plan.step(up_text, up)
        if by_dhcp:
            self.plan.step('obtain %s by DHCP on %s' % (p['addresses'][0], p['ifname']), self._dhcp, peer_ref,
                           busybox)
        # on-link routes first: a gateway outside the subnet needs its host route
        for route in sorted(routes, key=lambda r: r['via'] is not None):
            if route not in have_routes:
                self.plan.step('add route %s' % _route_text(route), self._route, 'add', route, peer_ref)
        self._plan_policy(current, fresh, peer_ref, mtu)
        v4_added = [a.split('/')[0] for a in added if ':' not in a]
        if p.get('gratuitous_arp', True) and v4_added:
            self.plan.step('announce %s with gratuitous ARP' % ', '.join(v4_added), self._garp, mac, v4_added,
                           after_attach, host_end)

    def _plan_policy(self, current, fresh, peer_ref, mtu):
        """Queue the container's rules (the namespace's, when given) and the container end's root qdisc."""
        p, ns = self.params, self.ns
        try:
            policy.check_qdisc_fits(p['qdisc'], mtu)
            policy.plan_qdisc(self.plan, self.ctx, p['ifname'], peer_ref, ns.path, current.get('qdisc'),
                              None if fresh else self.foreign_qdisc, p['qdisc'])
        except (InvalidParameter, NotOwned) as err:
            raise self._fail('attach', err.msg, type(err))
        if p['rules'] is not None:
            policy.plan_rules(self.plan, self.ctx, ns.path, policy.read_rules(self.ctx, ns.path), p['rules'],
                              ns.name)

    def _check_route_conflicts(self, routes, our_index):
        """A wanted route whose destination is already routed by something else is a conflict.

        Routes are installed with ``replace`` (idempotent), which would silently
        take over another route to the same destination: refuse instead, whether
        that route is foreign or belongs to another attachment of the container.
        """
        tables = set(route.get('table', MAIN_TABLE) for route in routes)
        theirs = [r for r in self.ctx.routes(self.ns.path, table=None if tables - set([MAIN_TABLE]) else MAIN_TABLE)
                  if r['table'] in tables and not (r['oif'] == our_index and r['proto'] == RTPROT_NETWIRE)]
        replaced = []
        for route in routes:
            for r in theirs:
                if r['table'] == route.get('table', MAIN_TABLE) and str(parsed_network(r['dst'])) == route['dest']:
                    if 'table' in route:
                        raise self._fail('attach', 'the container already has a route to %s (via %s) in table %d'
                                         ' that this attachment does not own' % (
                                             route['dest'], r['gateway'] or 'a link', route['table']))
                    if self.params['gateway_takeover'] and parsed_network(route['dest']).prefixlen == 0:
                        replaced.append(r)
                        continue
                    raise self._fail('attach', 'the container already has a route to %s (via %s) that this'
                                     ' attachment does not own%s' % (
                                         route['dest'], r['gateway'] or 'a link',
                                         ' (gateway_takeover replaces a default route)'
                                         if parsed_network(route['dest']).prefixlen == 0 else ''))
        return replaced

    # ---------------------------------------------------------------- default route takeover

    def _record_path(self):
        return takeover_record_path(self.ns.identity, self.params['ifname'])

    def _read_record(self):
        try:
            with open(self._record_path()) as f:
                return json.load(f)
        except (IOError, OSError, ValueError):
            return None

    def _take_over(self, replaced):
        """Record the default routes we replace (merged with an earlier record), then remove them."""
        record = self._read_record()
        if not record or record.get('netns_inode') != self.ns.inode():
            record = {'identity': self.ns.identity, 'ifname': self.params['ifname'], 'netns_inode': self.ns.inode(),
                      'routes': []}
        for r in replaced:
            dev = self.ctx.link_by_index(r['oif'], self.ns.path) if r['oif'] else None
            saved = {'family': r['family'], 'dst': r['dst'], 'gateway': r['gateway'],
                     'dev': dev['ifname'] if dev else None, 'proto': r['proto'], 'scope': r['scope'],
                     'table': r['table'], 'priority': r['priority']}
            if saved not in record['routes']:
                record['routes'].append(saved)
        if not os.path.isdir(TAKEOVER_DIR):
            os.makedirs(TAKEOVER_DIR, 0o700)
        tmp = self._record_path() + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(record, f, sort_keys=True)
        os.rename(tmp, self._record_path())
        for r in replaced:
            kwargs = dict((k, r[k]) for k in ('family', 'proto', 'scope', 'table') if r[k] is not None)
            kwargs['dst'] = r['dst']
            if r['gateway']:
                kwargs['gateway'] = r['gateway']
            if r['oif']:
                kwargs['oif'] = r['oif']
            if r['priority'] is not None:
                kwargs['priority'] = r['priority']
            self.ctx.call('take over', 'default route', r['dst'], 'route', 'del', netns=self.ns.path, **kwargs)

    def _plan_restore(self):
        """On detach: queue putting back the routes a takeover replaced (and forgetting the record)."""
        record = self._read_record()
        if record is None:
            return
        if record.get('netns_inode') != self.ns.inode():
            self.plan.step('forget the replaced default routes of an earlier namespace of %s (%s)'
                           % (self.ns.name, self._record_path()), os.unlink, self._record_path())
            return
        what = ', '.join('%s via %s' % (r['dst'], r['gateway'] or r['dev']) for r in record['routes'])
        self.plan.step('restore the default route%s %s replaced by the takeover'
                       % ('s' if len(record['routes']) > 1 else '', what), self._restore, record)

    def _restore(self, record):
        restore_routes(self.ctx, self.ns, record, self._record_path(),
                       lambda reason: self._fail('detach', reason, BackendError))

    # ---------------------------------------------------------------- steps

    def _delete(self, verb, name, index, netns):
        """Delete a veth end; one that is already gone is fine.

        A veth whose other end lived in a container's old namespace disappears
        when the kernel cleans that namespace up, which it does asynchronously,
        after ``docker restart`` has returned: between our read and our delete
        it may vanish (ENODEV, "No such device").
        """
        try:
            self.ctx.call(verb, 'veth', name, 'link', 'del', index=index, netns=netns)
        except BackendError as err:
            if err.errno != errno.ENODEV:
                raise

    def _create_pair(self, host_ifname, alias, mac, mtu):
        p, ctx, ns = self.params, self.ctx, self.ns
        fd = os.open(ns.path, os.O_RDONLY)
        try:
            ctx.call('create', 'veth', host_ifname, 'link', 'add', ifname=host_ifname, kind='veth', mtu=mtu,
                     peer={'ifname': p['ifname'], 'net_ns_fd': fd, 'address': mac, 'mtu': mtu},
                     netns=self.netns)
        finally:
            os.close(fd)
        ctx.invalidate(ns.path)
        host = ctx.link(host_ifname, self.netns)
        ctx.call('mark', 'veth', host_ifname, 'link', 'set', index=host['index'], ifalias=alias, netns=self.netns)
        peer = ctx.link(p['ifname'], ns.path)
        if peer is None:
            raise failure('create', 'veth', host_ifname, 'the container end did not appear in %s' % ns.path)
        ctx.call('mark', 'veth', p['ifname'], 'link', 'set', index=peer['index'], ifalias=alias,
                 address=mac, netns=ns.path)

    def _set(self, name, index_ref, netns, **attrs):
        self.ctx.call('configure', 'interface', name, 'link', 'set', index=index_ref(), netns=netns, **attrs)

    def _up(self, host_ifname, host_ref, peer_ref):
        self.ctx.call('bring up', 'interface', self.params['ifname'], 'link', 'set', index=peer_ref(),
                      state='up', netns=self.ns.path)
        self.ctx.call('bring up', 'interface', host_ifname, 'link', 'set', index=host_ref(), state='up',
                      netns=self.netns)

    def _route(self, command, route, peer_ref):
        """Add (as replace: idempotent) or delete (already gone is fine) an owned route."""
        family = socket.AF_INET6 if ':' in route['dest'] else socket.AF_INET
        kwargs = {'dst': route['dest'], 'oif': peer_ref(), 'proto': RTPROT_NETWIRE,
                  'table': route.get('table', MAIN_TABLE), 'family': family}
        if route['via']:
            kwargs['gateway'] = route['via']
        else:
            kwargs['scope'] = SCOPE_LINK
        verb = '%s route %s on' % ('add' if command == 'add' else 'remove', _route_text(route))
        try:
            self.ctx.call(verb, 'interface', self.params['ifname'], 'route',
                          'replace' if command == 'add' else command, netns=self.ns.path, **kwargs)
        except BackendError as err:
            if command == 'del' and err.errno == errno.ESRCH:
                return
            raise

    def _dhcp(self, peer_ref, busybox):
        """Ask for a lease (udhcpc configures nothing); set the address only when it is the model's."""
        p = self.params
        want = p['addresses'][0]
        lease, seconds, output = dhcp.request_lease(self.ns.path, p['ifname'], busybox=busybox)
        if lease is None:
            said = ': %s' % output[-300:] if output else ''
            raise self._fail('attach', 'no DHCP server answered on %s within %.0f s (%d discovers from %s for %s;'
                             ' no address was set)%s' % (p['bridge'], seconds, dhcp.DHCP_TRIES, p['ifname'], want,
                                                         said), BackendError)
        problem = dhcp.lease_problem(lease, want, p.get('gateway'))
        if problem:
            raise self._fail('attach', '%s on %s; no address was set' % (problem, p['bridge']), BackendError)
        self.dhcp_seconds = seconds
        set_address(self.ctx, 'add', p['ifname'], peer_ref, want, self.ns.path)

    def _garp(self, mac, addresses, after_attach, host_end=None):
        ends = [(self.params['ifname'], self.ns.path)] + ([(host_end, self.netns)] if host_end else [])

        def announce():
            wait_passing_frames(self.ctx, ends)  # when they still do not, send anyway: nothing else to do
            send_gratuitous_arp(self.ns.path, self.params['ifname'], mac, addresses)
        after_attach(self.ctx, announce)
