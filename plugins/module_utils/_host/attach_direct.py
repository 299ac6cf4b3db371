# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_attach's manager for every kind (issue 19): ``veth`` (``attach.py``) and the direct kinds.

* ``macvlan``: a macvlan of a host NIC (``parent``), created directly in the container, mode
  bridge|private|vepa|passthru; with ``host_macvlan`` the NIC also gets a host-side macvlan (shared by
  the NIC's attachments, ``_host/shared_links.py``) through which the host reaches its containers.
* ``vlan``: the same on the NIC's VLAN sub-interface ``<parent>.<vlan>`` (shared: created once,
  removed when its last user goes).
* ``phys``: the NIC itself (by name or ``mac:``), renamed ``ifname`` in the container, and given back
  under its own name (``_host/phys.py``).
* ``dummy``: a dummy interface in the container.

Everything after the link (addresses, routes, rules, qdisc, gratuitous ARP) is the veth kind's
(``ContainerAttachManager._plan_inside``). A kind the kernel lacks fails before anything is queued.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.module_utils._errors import (
    MissingDependency,
    NetwireError,
    NotOwned,
)
from ansible_collections.netwire.fabric.plugins.module_utils._linux.linkops import (
    index_of,
    plan_addresses,
    sort_addresses,
)
from ansible_collections.netwire.fabric.plugins.module_utils._linux.netns import resolve
from ansible_collections.netwire.fabric.plugins.module_utils._linux.netlink import kernel_lacks
from ansible_collections.netwire.fabric.plugins.module_utils._host import phys, shared_links
from ansible_collections.netwire.fabric.plugins.module_utils._host.attach import ContainerAttachManager
from ansible_collections.netwire.fabric.plugins.module_utils._host.attach_params import wanted_routes
from ansible_collections.netwire.fabric.plugins.module_utils._host.backends import BridgeBackend

DIRECT_KINDS = ('macvlan', 'vlan', 'phys', 'dummy')
# kind -> (link kind it needs, kernel module, kernel config option)
KERNEL_FEATURES = {
    'macvlan': ('macvlan', 'macvlan', 'CONFIG_MACVLAN'),
    'vlan': ('vlan', '8021q', 'CONFIG_VLAN_8021Q'),
    'dummy': ('dummy', 'dummy', 'CONFIG_DUMMY'),
}


class AttachManager(ContainerAttachManager):
    """The manager of container_attach and of host_network's attachments: every kind."""

    # ---------------------------------------------------------------- reading

    def _kind(self):
        return (self.params or {}).get('kind') or 'veth'

    def read_state(self):
        kind = self._kind()
        if kind == 'veth' or self.params.get('state') == 'absent':
            state = super(AttachManager, self).read_state()
            if state or kind == 'veth':
                return state
        return self._read_direct()

    def _end(self):
        """The container end when it is this attachment's: (link, kind) or (None, None)."""
        end = self.ctx.link(self.params['ifname'], self.ns.path)
        if end is None:
            return None, None
        if end['alias'] == _names.attach_alias(self.ns.identity, self.params['ifname']) and end['kind'] != 'veth':
            if end['kind'] == 'macvlan':
                lower = self._lower_of(end)
                return end, 'vlan' if lower is not None and lower['kind'] == 'vlan' else 'macvlan'
            return end, end['kind']
        mark = _names.parse_phys_alias(end['alias'])
        if mark and mark[1:] == (self.ns.identity, self.params['ifname']):
            return end, 'phys'
        return None, None

    def _lower_of(self, end):
        if end.get('link_netnsid') is None or not end.get('link'):
            return None
        return self.ctx.link_by_index(end['link'], self.netns)

    def _read_direct(self):
        end, kind = self._end()
        p = self.params
        if end is None or (p.get('state') != 'absent' and kind != p['kind']):
            return {}
        state = {
            'container': self.ns.name, 'identity': self.ns.identity, 'netns': self.ns.path,
            'ifname': p['ifname'], 'kind': kind, 'mac': end['mac'], 'mtu': end['mtu'], 'up': end['up'],
            'addresses': sort_addresses(self.ctx.link_addresses(end['index'], self.ns.path)),
            'routes': self._owned_routes(end['index']),
        }
        if kind in ('macvlan', 'vlan'):
            lower = self._lower_of(end)
            state['macvlan_mode'] = end['data'].get('mode')
            if kind == 'vlan' and lower is not None:
                state['vlan'] = lower['data'].get('id')
                lower = self.ctx.link_by_index(lower['link'], self.netns) if lower.get('link') else None
            state['parent'] = lower['ifname'] if lower is not None else None
            side = self._host_macvlan_state()
            if side is not None:
                state['host_macvlan'] = side
        elif kind == 'phys':
            state['parent'] = _names.parse_phys_alias(end['alias'])[0]
        return self._with_policy(state, end['index'])

    def _me(self):
        return '%s/%s' % (self.ns.identity, self.params['ifname'])

    def _host_macvlan_state(self):
        """The host-side macvlan this attachment uses (recorded as one of its users), or None."""
        for name, record in shared_links.read_records().items():
            if record.get('kind') == 'macvlan' and self._me() in record['users']:
                link = self.ctx.link(name, self.netns)
                if link is not None:
                    addresses = self.ctx.link_addresses(link['index'], self.netns)
                    return {'ifname': name, 'addresses': sort_addresses(addresses)}
        return None

    # ---------------------------------------------------------------- present

    def plan_present(self, current):
        p, ctx, ns = self.params, self.ctx, self.ns
        kind = p['kind']
        if kind == 'veth':
            return super(AttachManager, self).plan_present(current)
        if kind in KERNEL_FEATURES and kernel_lacks(KERNEL_FEATURES[kind][0]):
            link_kind, module, config = KERNEL_FEATURES[kind]
            raise self._fail('attach', 'this kernel cannot create %s interfaces (kernel module %s, %s, is not built'
                             ' or cannot be loaded); nothing was changed' % (link_kind, module, config),
                             MissingDependency)
        alias = _names.attach_alias(ns.identity, p['ifname'])
        end = ctx.link(p['ifname'], ns.path)
        mine, _kind = self._end()
        if end is not None and mine is None:
            raise self._not_this_end(end)
        routes = wanted_routes(p)
        replaced = self._check_route_conflicts(routes, end['index'] if end else None)
        if replaced:
            self.plan.step('take over the default route%s (recorded in %s, restored on detach)'
                           % ('s' if len(replaced) > 1 else '', self._record_path()), self._take_over, replaced)
        fresh = not current
        if fresh and mine is not None and _kind == 'phys' and kind != 'phys':
            # a NIC is never deleted: it goes back to the host first
            record = phys.read_record(ns.identity, p['ifname']) or {
                'original': _names.parse_phys_alias(end['alias'])[0]}
            what = 'give NIC %s back to the host as %s (another kind is asked)' % (p['ifname'], record['original'])
            self.plan.step(what, self._phys_return, ns.path, [ns.identity], record)
        elif fresh and end is not None and kind != 'phys':
            self.plan.step('remove %s in %s (another kind or parent than asked)' % (p['ifname'], ns.name),
                           self._delete, 'remove', p['ifname'], end['index'], ns.path)
        shared = {}
        if kind in ('macvlan', 'vlan'):
            mac, mtu, lower = self._plan_macvlan(current, fresh, alias, shared)
        elif kind == 'dummy':
            mac = p.get('mac') or (_names.mac_from_seed(p['mac_seed']) if p.get('mac_seed')
                                   else _names.container_mac(ns.name, p['ifname']))
            mtu = p.get('mtu') or 1500
            if fresh:
                self.plan.step('create dummy %s in %s' % (p['ifname'], ns.name), self._create_in_container,
                               alias, mac, mtu, {'kind': 'dummy'})
        else:
            mac, mtu, original = self._plan_phys(current, end)
        self._plan_link_attrs(current, fresh, mac, mtu)
        self._plan_leave(shared_links.read_records(), set(shared))
        record = {'identity': ns.identity, 'ifname': p['ifname'], 'kind': kind, 'ref': str(p['container']),
                  'ref_type': p.get('container_type') or 'auto'}
        if not os.path.exists(shared_links.direct_record_path(ns.identity, p['ifname'])) or fresh:
            self.plan.step('record %s:%s as a %s attachment (%s)' % (ns.name, p['ifname'], kind, _names.DIRECT_DIR),
                           shared_links.write_direct_record, record)
        peer_ref = index_of(ctx, p['ifname'], ns.path)
        self._plan_inside(current, fresh, peer_ref, mac, mtu, routes, lambda: self._set(
            p['ifname'], peer_ref, ns.path, state='up'), 'set %s up' % p['ifname'], BridgeBackend.after_attach)
        self.predicted = {
            'container': ns.name, 'identity': ns.identity, 'netns': ns.path, 'ifname': p['ifname'], 'kind': kind,
            'mac': mac, 'mtu': mtu, 'up': True, 'addresses': sort_addresses(p['addresses']), 'routes': routes,
        }
        if kind in ('macvlan', 'vlan'):
            self.predicted.update(parent=p['parent'], macvlan_mode=p['macvlan_mode'])
            if kind == 'vlan':
                self.predicted['vlan'] = p['vlan']
            if p.get('host_macvlan') is not None:
                self.predicted['host_macvlan'] = {'ifname': _names.host_macvlan_name(lower),
                                                  'addresses': sort_addresses(p['host_macvlan']['addresses'])}
        elif kind == 'phys':
            self.predicted['parent'] = original
        for key in ('rules', 'qdisc'):
            if p[key] is not None:
                self.predicted[key] = p[key]

    def _plan_link_attrs(self, current, fresh, mac, mtu):
        p, ns = self.params, self.ns
        if fresh and p['kind'] != 'phys':
            return
        ref = index_of(self.ctx, p['ifname'], ns.path)
        if p['kind'] != 'phys' and current.get('mac') != mac:
            self.plan.step('set %s mac %s' % (p['ifname'], mac), self._set, p['ifname'], ref, ns.path, address=mac)
        if current.get('mtu') != mtu:
            self.plan.step('set %s mtu %d' % (p['ifname'], mtu), self._set, p['ifname'], ref, ns.path, mtu=mtu)

    def _plan_macvlan(self, current, fresh, alias, shared):
        p, ctx, ns = self.params, self.ctx, self.ns
        nic = ctx.link(p['parent'], self.netns)
        if nic is None:
            raise self._fail('attach', "host NIC '%s' does not exist" % p['parent'])
        if nic['kind'] in ('bridge', 'openvswitch') or nic['ifname'] == 'lo':
            raise self._fail('attach', "parent '%s' is a %s, not a NIC" % (p['parent'], nic['kind'] or 'loopback'))
        lower, lower_mtu = p['parent'], nic['mtu']
        if p['kind'] == 'vlan':
            lower = _names.vlan_link_name(p['parent'], p['vlan'])
            shared[lower] = ('vlan', p['parent'], {'vlan': p['vlan']})
        if p.get('host_macvlan') is not None:
            shared[_names.host_macvlan_name(lower)] = ('macvlan', lower, p['host_macvlan'])
        mac = p.get('mac') or (_names.mac_from_seed(p['mac_seed']) if p.get('mac_seed')
                               else _names.container_mac(ns.name, p['ifname']))
        mtu = p.get('mtu') or lower_mtu
        if mtu > lower_mtu:
            raise self._fail('attach', 'mtu %d is larger than the MTU %d of %s' % (mtu, lower_mtu, p['parent']))
        self._plan_shared(shared)  # the VLAN sub-interface before the macvlan on it
        if fresh:
            self.plan.step('create macvlan %s in %s on %s (mode %s)' % (p['ifname'], ns.name, lower, p['macvlan_mode']),
                           self._create_in_container, alias, mac, mtu,
                           {'kind': 'macvlan', 'macvlan_mode': p['macvlan_mode'], 'lower': lower})
        elif current.get('parent') != p['parent'] or current.get('vlan') != p.get('vlan'):
            self.plan.step('move %s onto %s (delete and create)' % (p['ifname'], lower), self._recreate, alias, mac,
                           mtu, lower)
        elif current.get('macvlan_mode') != p['macvlan_mode']:
            self.plan.step('set %s macvlan mode %s' % (p['ifname'], p['macvlan_mode']), self._set, p['ifname'],
                           index_of(ctx, p['ifname'], ns.path), ns.path, kind='macvlan',
                           macvlan_mode=p['macvlan_mode'])
        return mac, mtu, lower

    def _recreate(self, alias, mac, mtu, lower):
        end = self.ctx.link(self.params['ifname'], self.ns.path)
        self._delete('remove', self.params['ifname'], end['index'], self.ns.path)
        attrs = {'kind': 'macvlan', 'macvlan_mode': self.params['macvlan_mode'], 'lower': lower}
        self._create_in_container(alias, mac, mtu, attrs)

    def _create_in_container(self, alias, mac, mtu, attrs):
        """Create the container end directly in the container's namespace, then mark it."""
        p, ctx, ns = self.params, self.ctx, self.ns
        attrs = dict(attrs)
        lower = attrs.pop('lower', None)
        if lower is not None:
            attrs['link'] = ctx.link(lower, self.netns)['index']
        fd = os.open(ns.path, os.O_RDONLY)
        try:
            ctx.call('create', attrs['kind'], p['ifname'], 'link', 'add', ifname=p['ifname'], address=mac, mtu=mtu,
                     net_ns_fd=fd, netns=self.netns, **attrs)
        finally:
            os.close(fd)
        ctx.invalidate(ns.path)
        end = ctx.link(p['ifname'], ns.path)
        ctx.call('mark', attrs['kind'], p['ifname'], 'link', 'set', index=end['index'], ifalias=alias, netns=ns.path)

    # ---------------------------------------------------------------- shared links

    def _plan_shared(self, wanted):
        """Queue the shared links ``wanted`` ({link: (kind, lower, options)}): created when missing, this
        attachment recorded as a user (:meth:`_plan_leave` leaves the others, later)."""
        ctx, me = self.ctx, self._me()
        records = shared_links.read_records()
        for name, (kind, lower, options) in sorted(wanted.items(), key=lambda kv: kv[1][0] == 'macvlan'):
            link = ctx.link(name, self.netns)
            mark = _names.HOST_MACVLAN_ALIAS if kind == 'macvlan' else _names.VLAN_ALIAS
            users = self._live(records.get(name, {}).get('users', []))
            todo = shared_links.plan_shared(link is not None, link is not None and link['alias'] == mark, users, me,
                                            True)
            if link is not None and link['alias'] != mark and kind == 'macvlan':
                raise self._fail('attach', "host interface '%s' exists but is not netwire's host-side macvlan"
                                 " (alias %r); it is left alone" % (name, link['alias']), NotOwned)
            if todo['create']:
                what = 'host-side macvlan' if kind == 'macvlan' else 'VLAN %d sub-interface' % options['vlan']
                self.plan.step('create %s %s on %s' % (what, name, lower),
                               self._create_shared, name, kind, lower, mark, options)
            if kind == 'macvlan':
                have = [] if link is None else ctx.link_addresses(link['index'], self.netns)
                plan_addresses(self.plan, name, index_of(ctx, name, self.netns), have, options['addresses'],
                               self.netns)
            if link is None or not link['up']:
                self.plan.step('set %s up' % name, self._set, name, index_of(ctx, name, self.netns), self.netns,
                               state='up')
            if todo['users'] != sorted(records.get(name, {}).get('users', [])):
                self.plan.step('record %s as a user of %s' % (me, name), shared_links.write_record, name, kind, lower,
                               todo['users'])

    def _plan_leave(self, records, keep, identities=None):
        """Leave every shared link this attachment (any of ``identities``) uses and no longer wants (the last
        user removes one of ours: host-side macvlans before VLAN sub-interfaces)."""
        ctx = self.ctx
        mes = ['%s/%s' % (i, self.params['ifname']) for i in (identities or [self.ns.identity])]
        order = shared_links.REMOVAL_ORDER
        for name, record in sorted(records.items(), key=lambda kv: order.index(kv[1].get('kind'))
                                   if kv[1].get('kind') in order else len(order)):
            if name in keep:
                continue
            for me in mes:
                if me not in record['users']:
                    continue
                link = ctx.link(name, self.netns)
                mark = _names.HOST_MACVLAN_ALIAS if record.get('kind') == 'macvlan' else _names.VLAN_ALIAS
                todo = shared_links.plan_shared(link is not None, link is not None and link['alias'] == mark,
                                                [me] + self._live(record['users']), me, False)
                self.plan.step('forget %s as a user of %s' % (me, name), shared_links.write_record, name,
                               record.get('kind'), record.get('lower'), todo['users'])
                if todo['delete']:
                    self.plan.step('delete %s (its last user went)' % name, self._delete, 'delete', name,
                                   link['index'], self.netns)
                record = dict(record, users=todo['users'])

    def _live(self, users):
        """The users whose container still runs (a macvlan dies with its container's namespace: a user that
        stopped or was removed without a detach uses nothing any more)."""
        live = []
        for user in users:
            identity = user.rpartition('/')[0]
            if self.ns is not None and identity == self.ns.identity:
                live.append(user)
                continue
            ref_type, _sep, ref = identity.partition(':')
            try:
                ns = resolve(ref, ref_type)
            except NetwireError:
                continue
            if ns.identity == identity and ns.inode() is not None:
                live.append(user)
        return live

    def _create_shared(self, name, kind, lower, mark, options):
        ctx = self.ctx
        attrs = {'kind': kind, 'link': ctx.link(lower, self.netns)['index']}
        if kind == 'vlan':
            attrs['vlan_id'] = options['vlan']
        else:
            attrs['macvlan_mode'] = 'bridge'
        ctx.call('create', kind, name, 'link', 'add', ifname=name, netns=self.netns, **attrs)
        ctx.call('mark', kind, name, 'link', 'set', index=ctx.link(name, self.netns)['index'], ifalias=mark,
                 netns=self.netns)

    # ---------------------------------------------------------------- phys

    def _find_nic(self, identities, mark_only=False):
        """The NIC in the host: by our mark (given back by the kernel under another name), by name, by MAC."""
        p = self.params
        links = self.ctx.links(self.netns)
        for link in links.values():
            mark = _names.parse_phys_alias(link['alias'])
            if mark and mark[1] in identities and mark[2] == p['ifname']:
                return link
        if mark_only:
            return None
        if p.get('parent'):
            return links.get(p['parent'])
        found = [link for link in links.values() if (link['mac'] or '').lower() == p['parent_mac']]
        return found[0] if len(found) == 1 else None

    def _plan_phys(self, current, end):
        p, ctx, ns = self.params, self.ctx, self.ns
        if end is not None and current:
            if p.get('parent_mac') and end['mac'] != p['parent_mac']:
                raise self._fail('attach', 'the container holds another NIC (%s) as %s: detach it first'
                                 % (end['mac'], p['ifname']))
            return end['mac'], p.get('mtu') or end['mtu'], current['parent']
        record = phys.read_record(ns.identity, p['ifname'])
        held = None
        if record is not None and record.get('netns_inode') != ns.inode():
            held = phys.pinned_namespace(record)
            if held is not None:
                self.plan.step('return %s from an earlier namespace of %s to the host' % (record['original'], ns.name),
                               self._phys_return, held, [ns.identity], record)
        nic = self._find_nic([ns.identity])
        if nic is None and held is not None:
            # as it will be once given back: its own name and alias (the record goes with the return)
            nic = {'ifname': record['original'], 'mac': record.get('mac'), 'mtu': record.get('mtu') or 1500,
                   'alias': record.get('alias'), 'master': None, 'kind': None}
        if nic is None:
            raise self._fail('attach', 'host NIC %s not found' % (
                "'%s'" % p['parent'] if p.get('parent') else 'with MAC %s' % p['parent_mac']))
        mark = _names.parse_phys_alias(nic['alias'])
        ours = mark is not None and mark[1:] == (ns.identity, p['ifname'])
        if not ours and _names.is_owned(nic['alias']):
            raise self._fail('attach', "'%s' is netwire's own %s; only a NIC can be handed to a container"
                             % (nic['ifname'], nic['alias']), NotOwned)
        if nic['kind'] in ('bridge', 'openvswitch', 'vlan', 'macvlan') or nic['ifname'] == 'lo' or nic.get('master'):
            raise self._fail('attach', "'%s' is %s: only a free NIC can be handed to a container" % (
                nic['ifname'], 'a port of a bridge' if nic.get('master') else 'a %s' % (nic['kind'] or 'loopback')),
                NotOwned)
        defaults = [r for r in ctx.routes(self.netns, table=None) if r['dst'] in ('0.0.0.0/0', '::/0')]
        if not ours and nic.get('index') is not None and any(r['oif'] == nic['index'] for r in defaults):
            raise self._fail('attach', "'%s' carries the host's default route: it is not handed to a container"
                             % nic['ifname'], NotOwned)
        original = mark[0] if ours else nic['ifname']
        mtu = p.get('mtu') or nic['mtu']
        self.plan.step('move NIC %s (%s) into %s as %s' % (nic['ifname'], nic['mac'], ns.name, p['ifname']),
                       self._phys_take, nic['ifname'], original, nic['alias'] if not ours else None, nic['mac'], mtu)
        return nic['mac'], mtu, original

    def _phys_take(self, name, original, alias_before, mac, mtu):
        p, ctx, ns = self.params, self.ctx, self.ns
        nic = ctx.link(name, self.netns)
        if alias_before is None:  # ours already (given back under another name): keep what was recorded
            record = phys.read_record(ns.identity, p['ifname']) or {}
            alias_before = record.get('alias')
        mark = _names.phys_alias(original, ns.identity, p['ifname'])
        ctx.call('mark', 'NIC', name, 'link', 'set', index=nic['index'], ifalias=mark, netns=self.netns)
        record = {'identity': ns.identity, 'ifname': p['ifname'], 'original': original, 'alias': alias_before,
                  'mac': mac, 'mtu': nic['mtu']}
        phys.pin(ns.identity, p['ifname'], ns.path, record)
        fd = os.open(ns.path, os.O_RDONLY)
        try:
            ctx.call('move', 'NIC', name, 'link', 'set', index=nic['index'], net_ns_fd=fd, ifname=p['ifname'],
                     netns=self.netns)
        finally:
            os.close(fd)
        ctx.invalidate(ns.path)

    def _phys_return(self, where, identities, record):
        """Move our NIC from ``where`` (a namespace path; None: it is in the host already) back to the host
        under its original name, put its alias back and drop the pin."""
        ctx, ifname = self.ctx, self.params['ifname']
        original = record['original']
        if where is not None:
            ctx.invalidate(where)
            nic = [link for link in ctx.links(where).values()
                   if (_names.parse_phys_alias(link['alias']) or (None, None, None))[1:] in
                   [(i, ifname) for i in identities]]
            if nic:
                taken = ctx.link(original, self.netns)
                host_fd = os.open(self.netns or '/proc/self/ns/net', os.O_RDONLY)
                try:
                    ctx.call('return', 'NIC', original, 'link', 'set', index=nic[0]['index'], net_ns_fd=host_fd,
                             ifname=original if taken is None else nic[0]['ifname'], netns=where)
                finally:
                    os.close(host_fd)
                ctx.invalidate(self.netns)
        link = self._find_nic(identities, mark_only=True)
        if link is not None:
            attrs = {'ifalias': record.get('alias') or ''}
            if link['ifname'] != original and ctx.link(original, self.netns) is None:
                attrs['ifname'] = original
            if link['up']:
                ctx.call('rename', 'NIC', link['ifname'], 'link', 'set', index=link['index'], state='down',
                         netns=self.netns)
            ctx.call('give back', 'NIC', original, 'link', 'set', index=link['index'], netns=self.netns, **attrs)
        for identity in identities:
            if phys.read_record(identity, ifname) is not None:
                phys.unpin(identity, ifname)

    # ---------------------------------------------------------------- absent

    def plan_absent(self):
        before = super(AttachManager, self).plan_absent()
        p = self.params
        identities = [self.ns.identity] if self.ns is not None else self._candidate_identities()
        if self.ns is not None:
            end, kind = self._end()
            if not before and end is not None:
                before = self._read_direct()
            if kind in ('macvlan', 'vlan', 'dummy'):
                self.plan.step('delete %s %s in %s' % (kind, p['ifname'], self.ns.name), self._delete, 'delete',
                               p['ifname'], end['index'], self.ns.path)
            elif kind == 'phys':
                record = phys.read_record(self.ns.identity, p['ifname']) or {
                    'original': _names.parse_phys_alias(end['alias'])[0]}
                self.plan.step('give NIC %s back to the host as %s' % (p['ifname'], record['original']),
                               self._phys_return, self.ns.path, identities, record)
        # a NIC held by the pin of a namespace that outlived its container, or given back by the kernel
        records = dict((i, phys.read_record(i, p['ifname'])) for i in identities)
        for identity, record in sorted(records.items()):
            if record is None or (self.ns is not None and record.get('netns_inode') == self.ns.inode()):
                continue
            self.plan.step('give NIC %s back to the host (its container is gone)' % record['original'],
                           self._phys_return, phys.pinned_namespace(record), [identity], record)
        stray = None if any(records.values()) else self._find_nic(identities, mark_only=True)
        if stray is not None:
            original = _names.parse_phys_alias(stray['alias'])[0]
            self.plan.step('give NIC %s back to the host as %s (the kernel gave it back)' % (stray['ifname'], original),
                           self._phys_return, None, identities, {'original': original})
        self._plan_leave(shared_links.read_records(), set(), identities)
        for identity in identities:
            if os.path.exists(shared_links.direct_record_path(identity, p['ifname'])):
                self.plan.step('forget %s/%s (%s)' % (identity, p['ifname'], _names.DIRECT_DIR),
                               shared_links.forget_direct, identity, p['ifname'])
        return before

    @classmethod
    def purge(cls, ctx, keep=None):
        """The veth kind's purge, then every direct attachment not in ``keep`` (by
        :func:`_names.direct_keep_name`) detached as ``state: absent`` detaches it."""
        out = super(AttachManager, cls).purge(ctx, keep)
        for record in shared_links.read_direct_records():
            ref = record.get('ref') or record['identity'].partition(':')[2]
            if keep is not None and _names.direct_keep_name(ref, record['ifname']) in keep:
                continue
            result = cls(ctx, {'container': ref, 'container_type': record.get('ref_type') or 'auto',
                               'ifname': record['ifname'], 'state': 'absent'}).run()
            if result.changed:
                out.append(result)
        return out
