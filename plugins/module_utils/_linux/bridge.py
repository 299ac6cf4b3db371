# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manager of one owned Linux bridge (netwire.fabric.linux_bridge)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.module_utils import _validate as v
from ansible_collections.netwire.fabric.plugins.module_utils._errors import (
    InvalidParameter,
    MissingDependency,
    NotOwned,
    refuse_foreign_ports,
)
from ansible_collections.netwire.fabric.plugins.module_utils._linux.linkops import (
    LinkManager,
    fabric_owned,
    index_of,
    plan_addresses,
    sort_addresses,
)
from ansible_collections.netwire.fabric.plugins.module_utils._linux.garp import announce_or_warning, ipv4_addresses
from ansible_collections.netwire.fabric.plugins.module_utils._linux.netlink import probe_link_kind

BRIDGE_ALIAS = _names.BRIDGE_ALIAS
# Ports of other modules (container attachments, tunnels) are managed there;
# purge_ports never releases them.
FOREIGN_OWNED_PREFIXES = (_names.owner_alias(_names.ATTACH_KIND), _names.TUNNEL_ALIAS)
HZ = 100  # bridge timers are exchanged in 1/100 s


def bridge_state(ctx, link, netns=None):
    """The comparable view of a bridge (what diff and return values show)."""
    if link is None:
        return {}
    data = link['data']
    ports = sorted(l['ifname'] for l in ctx.links(netns).values() if l['master'] == link['index'])
    return {
        'name': link['ifname'],
        'mtu': link['mtu'],
        'mac': link['mac'],
        'stp': bool(data.get('stp_state')),
        'forward_delay': int(data.get('forward_delay', 0)) // HZ,
        'vlan_filtering': bool(data.get('vlan_filtering')),
        'addresses': sort_addresses(ctx.link_addresses(link['index'], netns)),
        'ports': ports,
        'up': link['up'],
        'owned': _names.is_owned(link['alias']),
    }


def foreign_ports(ctx, keep=(), netns=None):
    """``{bridge: [port, ...]}``: ports without a netwire alias on the Linux bridges of ours not in ``keep``."""
    links = ctx.links(netns)
    found = {}
    for br in links.values():
        if br.get('kind') != 'bridge' or br['ifname'] in keep or not fabric_owned(br):
            continue
        ports = sorted(l['ifname'] for l in links.values()
                       if l.get('master') == br['index'] and not _names.is_owned(l.get('alias')))
        if ports:
            found[br['ifname']] = ports
    return found


def normalize_params(params):
    """Validate and canonicalize the module parameters (pure)."""
    p, present = v.named_params(params, 'bridge name')
    if not present:
        return p
    if p.get('mtu') is not None:
        v.int_range(p['mtu'], 68, 65535, 'mtu')
    if p.get('forward_delay') is not None:
        low = 2 if p.get('stp') else 0
        v.int_range(p['forward_delay'], low, 30, 'forward_delay')
    if p.get('mac'):
        p['mac'] = v.mac(p['mac'])
    if p.get('addresses') is not None:
        p['addresses'] = v.interface_addresses(p['addresses'])
    if p.get('ports') is not None:
        ports = []
        for port in p['ports']:
            v.ifname(port, 'port name')
            if port == p['name']:
                raise InvalidParameter("bridge '%s' cannot be a port of itself" % port)
            if port not in ports:
                ports.append(port)
        p['ports'] = ports
    elif p.get('purge_ports'):
        raise InvalidParameter('purge_ports needs ports (give an empty list to release every port)')
    return p


class LinuxBridgeManager(LinkManager):
    kind = 'Linux bridge'
    what = 'bridge'
    view = 'bridge'
    bridges = True
    normalize = staticmethod(normalize_params)
    read_state = staticmethod(bridge_state)

    @classmethod
    def purge(cls, ctx, keep=None):
        """Delete our bridges not in ``keep``; a port that is not ours on one of them refuses it all first."""
        refuse_foreign_ports({}, linux=foreign_ports(ctx, keep or ()))
        return super(LinuxBridgeManager, cls).purge(ctx, keep)

    # present -----------------------------------------------------------------

    def plan_present(self, link, before=None):
        p = self.params
        name = p['name']
        ctx, netns = self.ctx, self.netns
        if link is not None:
            if not _names.is_owned(link['alias']):
                raise self._fail('manage', 'an interface of that name exists but netwire did not create it'
                                 ' (no netwire alias); it is left alone', NotOwned)
            if link['kind'] != 'bridge':
                raise self._fail('manage', "the existing interface is a %s, not a bridge" % (link['kind'] or 'device'))
        # Check inputs that depend on host state before queueing anything.
        links = ctx.links(netns)
        for port in p.get('ports') or []:
            port_link = links.get(port)
            if port_link is None:
                raise self._fail('manage', "port '%s' does not exist" % port)
            if port_link['kind'] == 'bridge':
                raise self._fail('manage', "port '%s' is itself a bridge" % port)
        want_vf = p.get('vlan_filtering')
        current_vf = bool(link['data'].get('vlan_filtering')) if link else False
        if want_vf and not current_vf and probe_link_kind('bridge', br_vlan_filtering=1) is False:
            raise self._fail('manage', 'this kernel has no bridge VLAN filtering support'
                             ' (CONFIG_BRIDGE_VLAN_FILTERING)', MissingDependency)

        current = bridge_state(ctx, link, netns)
        predicted = dict(current) if current else {
            'name': name, 'mtu': 1500, 'mac': None, 'stp': False, 'forward_delay': 15,
            'vlan_filtering': False, 'addresses': [], 'ports': [], 'up': False, 'owned': True}

        br_attrs = {}
        if p.get('stp') is not None and predicted['stp'] != p['stp']:
            br_attrs['br_stp_state'] = 1 if p['stp'] else 0
            predicted['stp'] = p['stp']
        if p.get('forward_delay') is not None and predicted['forward_delay'] != p['forward_delay']:
            br_attrs['br_forward_delay'] = p['forward_delay'] * HZ
            predicted['forward_delay'] = p['forward_delay']
        if want_vf is not None and predicted['vlan_filtering'] != want_vf:
            br_attrs['br_vlan_filtering'] = 1 if want_vf else 0
            predicted['vlan_filtering'] = want_vf
        link_attrs = {}
        if p.get('mtu') is not None and predicted['mtu'] != p['mtu']:
            link_attrs['mtu'] = p['mtu']
            predicted['mtu'] = p['mtu']
        if p.get('mac') and predicted['mac'] != p['mac']:
            link_attrs['address'] = p['mac']
            predicted['mac'] = p['mac']

        described = dict(br_attrs)
        if 'br_forward_delay' in described:
            described['br_forward_delay'] = p['forward_delay']
        if link is None:
            create = dict(br_attrs)
            if not want_vf:
                # kernels without VLAN filtering refuse even vlan_filtering=0
                create.pop('br_vlan_filtering', None)
            if 'address' in link_attrs:
                create['address'] = link_attrs['address']
            self.plan.step('create bridge %s' % name, self._create, create)
        elif br_attrs:
            self.plan.step('set bridge %s %s' % (name, self._describe(described)), ctx.call, 'configure',
                           'bridge', name, 'link', 'set', index=link['index'], kind='bridge', netns=netns,
                           **br_attrs)

        index_ref = index_of(ctx, name, netns)
        # member ports
        if p.get('ports') is not None:
            for port in p['ports']:
                if port not in predicted['ports']:
                    self.plan.step('add port %s to %s' % (port, name), self._enslave, port, index_ref)
            if p.get('purge_ports'):
                for port in current.get('ports', []):
                    port_alias = links[port]['alias'] or ''
                    if port not in p['ports'] and not port_alias.startswith(FOREIGN_OWNED_PREFIXES):
                        self.plan.step('release port %s from %s' % (port, name), ctx.call, 'release', 'port',
                                       port, 'link', 'set', index=links[port]['index'], master=0, netns=netns)
            kept = [x for x in predicted['ports'] if x in p['ports'] or not p.get('purge_ports')
                    or (links[x]['alias'] or '').startswith(FOREIGN_OWNED_PREFIXES)]
            predicted['ports'] = sorted(set(kept) | set(p['ports']))
        # MTU after the ports: a bridge follows its ports' MTU until one is set explicitly
        if link_attrs and not (link is None and list(link_attrs) == ['address']):
            self.plan.step('set %s %s' % (name, self._describe(link_attrs)), self._set_link, index_ref, link_attrs)
        # addresses
        if p.get('addresses') is not None:
            plan_addresses(self.plan, name, index_ref, predicted['addresses'], p['addresses'], netns)
            predicted['addresses'] = sort_addresses(p['addresses'])
        # admin state last, so the bridge comes up fully configured
        if p.get('up') is not None and predicted['up'] != p['up']:
            self.plan.step('set %s %s' % (name, 'up' if p['up'] else 'down'), self._set_state, index_ref, p['up'])
            predicted['up'] = p['up']
        if link is not None and 'address' in link_attrs and predicted['up'] and ipv4_addresses(predicted['addresses']):
            # the containers' neighbor entry for their gateway still holds the old MAC
            self.plan.step('announce the new MAC of %s (gratuitous ARP)' % name, self._announce,
                           predicted['mac'], predicted['addresses'])
        self.predicted = predicted
        if link is None:
            ctx.expect(name, 'bridge', netns, mtu=predicted['mtu'], alias=BRIDGE_ALIAS, up=predicted['up'])

    @staticmethod
    def _describe(attrs):
        return ' '.join('%s %s' % (k.replace('br_', ''), val) for k, val in sorted(attrs.items()))

    def _create(self, attrs):
        name = self.params['name']
        self.ctx.call('create', 'bridge', name, 'link', 'add', ifname=name, kind='bridge', netns=self.netns, **attrs)
        index = self.ctx.link(name, self.netns)['index']
        # IFLA_IFALIAS is only accepted on an existing link
        self.ctx.call('mark', 'bridge', name, 'link', 'set', index=index, ifalias=BRIDGE_ALIAS, netns=self.netns)

    def _announce(self, mac, addresses):
        warning = announce_or_warning(self.params['name'], mac, addresses, self.netns)
        if warning:
            self.warnings.append(warning)

    def _set_link(self, index_ref, attrs):
        self.ctx.call('configure', 'bridge', self.params['name'], 'link', 'set', index=index_ref(),
                      netns=self.netns, **attrs)

    def _enslave(self, port, index_ref):
        link = self.ctx.link(port, self.netns)
        self.ctx.call('add port %s to' % port, 'bridge', self.params['name'], 'link', 'set', index=link['index'],
                      master=index_ref(), netns=self.netns)

    def _set_state(self, index_ref, up):
        self.ctx.call('set state of', 'bridge', self.params['name'], 'link', 'set', index=index_ref(),
                      state='up' if up else 'down', netns=self.netns)
