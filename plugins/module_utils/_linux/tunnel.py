# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Manager of one owned kernel tunnel device (netwire.fabric.linux_tunnel).

VXLAN is a multipoint device: its peers are all-zero FDB entries
(``00:00:00:00:00:00 dst <peer>``), one per remote, converged exactly.
gretap and geneve devices are point-to-point: exactly one remote, stored in
the device itself. A VXLAN device with ``control: evpn`` has no flood entries
of ours: FRR's zebra installs them (and the remote MACs) from BGP EVPN routes,
so they are never added, removed or compared here; its bridge port has
learning off and neigh_suppress on (docs/evpn.md). Parameters that the kernel
cannot change on a live device (VNI, local address, port, ...) are converged by
recreating the device.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.module_utils import _validate as v
from ansible_collections.netwire.fabric.plugins.module_utils._errors import (
    InvalidParameter,
    MissingDependency,
    NotOwned,
)
from ansible_collections.netwire.fabric.plugins.module_utils._linux.linkops import LinkManager, index_of
from ansible_collections.netwire.fabric.plugins.module_utils._linux.netlink import probe_link_kind

TUNNEL_ALIAS = _names.TUNNEL_ALIAS
# fields compared on a live device; any difference recreates it
IDENTITY_FIELDS = ('vni', 'local', 'dev', 'port', 'ttl', 'learning', 'udp_checksum')
FLOOD_MAC = '00:00:00:00:00:00'
CONTROLS = ('static', 'evpn')


def _ip_key(addr):
    import ipaddress
    ip = ipaddress.ip_address(addr)
    return (ip.version, ip)


def tunnel_state(ctx, link, netns=None):
    if link is None:
        return {}
    kind = link['kind']
    data = link['data']
    links = ctx.links(netns)

    def name_of(index):
        for other in links.values():
            if other['index'] == index:
                return other['ifname']
        return None

    state = {'name': link['ifname'], 'kind': kind, 'mtu': link['mtu'], 'up': link['up'],
             'master': name_of(link['master']) if link['master'] else None,
             'owned': _names.is_owned(link['alias'])}
    if kind == 'vxlan':
        state.update({
            'vni': data.get('id'),
            'local': data.get('local') or data.get('local6'),
            'dev': name_of(data['link']) if data.get('link') else None,
            'port': data.get('port'),
            'ttl': data.get('ttl'),
            'learning': bool(data.get('learning')),
            'udp_checksum': bool(data.get('udp_csum')),
            'remotes': sorted(ctx.flood_remotes(link['index'], netns), key=_ip_key),
        })
        if link['master']:
            slave = link.get('slave') or {}
            state['port_learning'] = bool(slave.get('learning', 1))
            state['neigh_suppress'] = bool(slave.get('neigh_suppress', 0))
    elif kind == 'gretap':
        remote = data.get('remote') or data.get('remote6')
        state.update({
            'vni': data.get('ikey'), 'local': data.get('local') or data.get('local6'),
            'dev': name_of(data['link']) if data.get('link') else None, 'port': None,
            'ttl': data.get('ttl'), 'learning': False, 'udp_checksum': False,
            'remotes': [remote] if remote else [],
        })
    elif kind == 'geneve':
        remote = data.get('remote') or data.get('remote6')
        state.update({
            'vni': data.get('id'), 'local': None, 'dev': None, 'port': data.get('port'),
            'ttl': data.get('ttl'), 'learning': False, 'udp_checksum': bool(data.get('udp_csum')),
            'remotes': [remote] if remote else [],
        })
    return state


def normalize_params(params):
    p, present = v.named_params(params, 'tunnel name')
    if not present:
        return p
    kind = p.get('kind') or 'vxlan'
    p['kind'] = kind
    p['control'] = p.get('control') or 'static'
    if p['control'] not in CONTROLS:
        raise InvalidParameter('control must be one of %s' % ', '.join(CONTROLS))
    if p['control'] == 'evpn':
        if kind != 'vxlan':
            raise InvalidParameter('control evpn needs a vxlan device (FRR installs its flood entries)')
        if p.get('remotes'):
            raise InvalidParameter('control evpn takes no remotes: FRR installs the flood entries')
        if p.get('learning'):
            raise InvalidParameter('control evpn needs learning off (the remote MACs come from BGP EVPN)')
        if not p.get('master'):
            raise InvalidParameter('control evpn needs a master bridge (its port has neigh_suppress on)')
    if p.get('vni') is None:
        raise InvalidParameter('vni is required with state=present')
    if kind == 'gretap':
        v.int_range(p['vni'], 0, _names.BY_LINK_KIND[kind].key_max, 'key')
    else:
        v.int_range(p['vni'], 1, _names.BY_LINK_KIND[kind].key_max, 'vni')
    if p.get('local'):
        p['local'] = v.ip_address(p['local'], 'local address')
    if p.get('dev'):
        v.ifname(p['dev'], 'underlay device name')
    if p.get('master'):
        v.ifname(p['master'], 'master bridge name')
        if p['master'] == p['name']:
            raise InvalidParameter('a tunnel cannot be its own master')
    if p.get('port') is None:
        p['port'] = _names.default_udp_port(kind)
    elif kind == 'gretap':
        raise InvalidParameter('port does not apply to gretap tunnels')
    else:
        v.int_range(p['port'], 1, 65535, 'port')
    v.int_range(p.get('ttl'), 0, 255, 'ttl')
    v.int_range(p.get('mtu'), 68, 65535, 'mtu')
    remotes = []
    for remote in p.get('remotes') or []:
        addr = v.ip_address(remote, 'remote')
        if addr == p.get('local'):
            raise InvalidParameter("remote %s is the local address" % addr)
        if addr not in remotes:
            remotes.append(addr)
    if kind != 'vxlan' and len(remotes) != 1:
        raise InvalidParameter('%s tunnels are point-to-point: give exactly one remote' % kind)
    families = set(':' in a for a in remotes + ([p['local']] if p.get('local') else []))
    if len(families) > 1:
        raise InvalidParameter('local and remote addresses mix IPv4 and IPv6')
    p['remotes'] = sorted(remotes, key=_ip_key)
    return p


def create_attrs(p, local, dev_index):
    """Netlink attributes that create the device (pure)."""
    kind = p['kind']
    six = local and ':' in local
    attrs = {'ifname': p['name'], 'kind': kind}
    if kind == 'vxlan':
        attrs.update(vxlan_id=p['vni'], vxlan_port=p['port'], vxlan_learning=1 if p.get('learning') else 0)
        if local:
            attrs['vxlan_local6' if six else 'vxlan_local'] = local
        if dev_index:
            attrs['vxlan_link'] = dev_index
        if p.get('ttl') is not None:
            attrs['vxlan_ttl'] = p['ttl']
        if p.get('udp_checksum') is not None:
            attrs['vxlan_udp_csum'] = 1 if p['udp_checksum'] else 0
    elif kind == 'gretap':
        attrs.update(gre_ikey=p['vni'], gre_okey=p['vni'], gre_iflags=0x2000, gre_oflags=0x2000,
                     gre_remote=p['remotes'][0])
        if local:
            attrs['gre_local'] = local
        if dev_index:
            attrs['gre_link'] = dev_index
        if p.get('ttl') is not None:
            attrs['gre_ttl'] = p['ttl']
    elif kind == 'geneve':
        attrs.update(geneve_id=p['vni'], geneve_port=p['port'], geneve_remote=p['remotes'][0])
        if p.get('ttl') is not None:
            attrs['geneve_ttl'] = p['ttl']
        if p.get('udp_checksum') is not None:
            attrs['geneve_udp_csum'] = 1 if p['udp_checksum'] else 0
    if p.get('mtu'):
        attrs['mtu'] = p['mtu']
    return attrs


class LinuxTunnelManager(LinkManager):
    kind = 'Linux tunnel'
    what = 'tunnel'
    view = 'tunnel'
    normalize = staticmethod(normalize_params)
    read_state = staticmethod(tunnel_state)

    def delete_word(self, link):
        return link['kind']

    def _resolve_underlay(self):
        """(local address, dev index) with the local address taken from dev when not given."""
        p = self.params
        local, dev_index = p.get('local'), None
        if p.get('dev'):
            dev = self.ctx.link(p['dev'], self.netns)
            if dev is None:
                raise self._fail('manage', "underlay device '%s' does not exist" % p['dev'])
            dev_index = dev['index']
            if not local:
                addrs = self.ctx.link_addresses(dev_index, self.netns)
                four = [a for a in addrs if ':' not in a]
                pick = (four or addrs or [None])[0]
                if pick is None:
                    raise self._fail('manage', "underlay device '%s' has no address to use as local"
                                     " address" % p['dev'])
                local = pick.split('/')[0]
        return local, dev_index

    def plan_present(self, link, before):
        current = before
        p = self.params
        ctx, netns, name = self.ctx, self.netns, p['name']
        if link is not None:
            if not _names.is_owned(link['alias']):
                raise self._fail('manage', 'an interface of that name exists but netwire did not create it'
                                 ' (no netwire alias); it is left alone', NotOwned)
            if link['kind'] != p['kind']:
                raise self._fail('manage', 'the existing interface is a %s, not a %s' % (link['kind'], p['kind']))
        local, dev_index = self._resolve_underlay()
        if local and p.get('remotes') and (':' in local) != (':' in p['remotes'][0]):
            raise self._fail('manage', 'local address %s and the remotes mix IPv4 and IPv6' % local)
        master = None
        if p.get('master'):
            master = ctx.link(p['master'], netns)
            if master is None:
                raise self._fail('manage', "master bridge '%s' does not exist" % p['master'])
            if master['kind'] != 'bridge':
                raise self._fail('manage', "master '%s' is a %s, not a bridge" % (p['master'], master['kind']))
        wanted = {'name': name, 'kind': p['kind'], 'vni': p['vni'], 'local': local, 'dev': p.get('dev'),
                  'port': p['port'], 'learning': bool(p.get('learning')), 'remotes': p['remotes'],
                  'master': p.get('master'), 'up': p.get('up', True), 'owned': True}
        if p.get('ttl') is not None:
            wanted['ttl'] = p['ttl']
        if p.get('udp_checksum') is not None:
            wanted['udp_checksum'] = p['udp_checksum']
        recreate = link is not None and any(
            f in wanted and current.get(f) != wanted[f] for f in IDENTITY_FIELDS if f != 'learning' or p['kind'] == 'vxlan')
        if link is None or recreate:
            supported = probe_link_kind(p['kind'])
            if supported is False:
                raise self._fail('create', 'this kernel cannot create %s devices (module %s missing, %s not set)'
                                 % (p['kind'], _names.BY_LINK_KIND[p['kind']].kernel_module,
                                    _names.BY_LINK_KIND[p['kind']].kernel_config),
                                 MissingDependency)
        predicted = dict(current) if current and not recreate else {
            'name': name, 'kind': p['kind'], 'mtu': p.get('mtu') or 1450, 'up': False, 'master': None,
            'remotes': [], 'ttl': p.get('ttl') or 0,
            'udp_checksum': p['udp_checksum'] if p.get('udp_checksum') is not None else True}
        attrs = create_attrs(p, local, dev_index)
        if recreate:
            changed = [f for f in IDENTITY_FIELDS if f in wanted and current.get(f) != wanted[f]]
            self.plan.step('recreate %s %s (%s changed)' % (p['kind'], name, ', '.join(changed)), self._recreate,
                           link['index'], attrs)
        elif link is None:
            self.plan.step('create %s %s' % (p['kind'], name), self._create, attrs)
        for field in ('vni', 'local', 'dev', 'port', 'learning'):
            predicted[field] = wanted[field]
        index_ref = index_of(ctx, name, netns)
        if p.get('mtu') and predicted['mtu'] != p['mtu']:
            if link is not None and not recreate:
                self.plan.step('set %s mtu %s' % (name, p['mtu']), self._set, index_ref, mtu=p['mtu'])
            predicted['mtu'] = p['mtu']
        if predicted.get('master') != wanted['master']:
            if wanted['master']:
                self.plan.step('set %s master %s' % (name, wanted['master']), self._set_master, index_ref)
            else:
                self.plan.step('release %s from %s' % (name, predicted['master']), self._set, index_ref, master=0)
            predicted['master'] = wanted['master']
        evpn = p['control'] == 'evpn'
        if evpn:
            # zebra's flood entries are not ours: never added, removed or compared (they are reported as they are)
            p['remotes'] = predicted.get('remotes', [])
            if predicted.get('port_learning', True) or not predicted.get('neigh_suppress', False):
                self.plan.step('set %s bridge port learning off, neigh_suppress on' % name, self._brport,
                               index_ref)
            predicted['port_learning'], predicted['neigh_suppress'] = False, True
        if p['kind'] == 'vxlan' and not evpn:
            have = predicted.get('remotes', [])
            for remote in have:
                if remote not in p['remotes']:
                    self.plan.step('remove flood entry for %s from %s' % (remote, name), self._fdb, 'del',
                                   index_ref, remote)
            for remote in p['remotes']:
                if remote not in have:
                    self.plan.step('add flood entry for %s to %s' % (remote, name), self._fdb, 'append',
                                   index_ref, remote)
        predicted['remotes'] = p['remotes']
        if predicted['up'] != wanted['up']:
            self.plan.step('set %s %s' % (name, 'up' if wanted['up'] else 'down'), self._set, index_ref,
                           state='up' if wanted['up'] else 'down')
            predicted['up'] = wanted['up']
        predicted['owned'] = True
        self.predicted = predicted
        if link is None:
            ctx.expect(name, p['kind'], netns, mtu=predicted['mtu'], alias=TUNNEL_ALIAS,
                       master=predicted['master'], up=predicted['up'])

    def _create(self, attrs):
        name = self.params['name']
        self.ctx.call('create', 'tunnel', name, 'link', 'add', netns=self.netns, **attrs)
        index = self.ctx.link(name, self.netns)['index']
        self.ctx.call('mark', 'tunnel', name, 'link', 'set', index=index, ifalias=TUNNEL_ALIAS, netns=self.netns)

    def _recreate(self, index, attrs):
        self.ctx.call('recreate', 'tunnel', self.params['name'], 'link', 'del', index=index, netns=self.netns)
        self._create(attrs)

    def _set(self, index_ref, **attrs):
        self.ctx.call('configure', 'tunnel', self.params['name'], 'link', 'set', index=index_ref(),
                      netns=self.netns, **attrs)

    def _set_master(self, index_ref):
        master = self.ctx.link(self.params['master'], self.netns)
        self._set(index_ref, master=master['index'])

    def _brport(self, index_ref):
        self.ctx.call('configure bridge port of', 'tunnel', self.params['name'], 'brport', 'set', index=index_ref(),
                      learning=0, neigh_suppress=1, netns=self.netns)

    def _fdb(self, command, index_ref, remote):
        verb = 'add flood entry %s to' % remote if command == 'append' else 'remove flood entry %s from' % remote
        self.ctx.call(verb, 'tunnel', self.params['name'], 'fdb', command, ifindex=index_ref(),
                      lladdr=FLOOD_MAC, dst=remote, netns=self.netns)
