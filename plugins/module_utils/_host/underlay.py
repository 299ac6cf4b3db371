# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""host_network's underlay bridge: the underlay address moves onto an OVS bridge, and back.

With the OVS userspace datapath, tunnels need the underlay address on an OVS
bridge that owns the underlay NIC. The address (and the default route through
it) move from the NIC to the bridge's internal port; what was there is recorded
in the bridge's external_ids so that removing the bridge puts it back exactly.
The NIC itself is never deleted or renamed.

The bridge keeps a MAC of its own, not the NIC's: the userspace datapath reads the
NIC with a packet socket, and the kernel still sees every frame the NIC receives;
frames to the NIC's own MAC would then be delivered twice, once by the NIC and once
through OVS (test_hostile counted 6 echo requests for 3 sent). The peers learn the
bridge's MAC by gratuitous ARP when the address moves onto it, and the NIC's when
it moves back (:meth:`Underlay._announce`). For the same reason the NIC must not
answer ARP for the bridge's address with its own MAC (peers would send tunnel traffic
past OVS): it gets ``arp_ignore=1`` while the bridge holds the address, and its own
value back afterwards (recorded in the bridge's external_ids; _linux/sysctl.py).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.module_utils._errors import InvalidParameter, NetwireError
from ansible_collections.netwire.fabric.plugins.module_utils._linux import sysctl as _sysctl


class Underlay(object):
    """Mixed into host_network's runner (uses its ``check_mode`` and ``record``)."""

    check_mode = False

    def record(self, key, label, result):
        raise NotImplementedError

    def _underlay_migration(self, ctx, underlay):
        nic = ctx.link(underlay['interface'])
        if nic is None:
            raise InvalidParameter("Failed to prepare underlay bridge '%s': no interface '%s' on this host"
                                   % (underlay['bridge'], underlay['interface']))
        address = '%s/%s' % (underlay['address'], underlay['prefix'])
        gateway = None
        br = ctx.link(underlay['bridge'])
        for route in ctx.routes():
            if route['dst'] == '0.0.0.0/0' and route['gateway'] and route['oif'] in (
                    nic['index'], br and br['index']):
                gateway = route['gateway']
        ids = {_names.OVS_UNDERLAY_NIC_KEY: underlay['interface'], _names.OVS_UNDERLAY_ADDRESS_KEY: address}
        if gateway:
            ids[_names.OVS_UNDERLAY_GATEWAY_KEY] = gateway
        # the NIC's arp_ignore before we took it over, kept from the first run (later runs read ours)
        recorded = self._underlay_ids(ctx, underlay['bridge']).get(_names.OVS_UNDERLAY_ARP_IGNORE_KEY)
        if recorded is None:
            value = _sysctl.read_ipv4_conf(nic['ifname'], _sysctl.ARP_IGNORE)
            recorded = None if value is None else str(value)
        if recorded is not None:
            ids[_names.OVS_UNDERLAY_ARP_IGNORE_KEY] = recorded
        return {'ids': ids, 'nic': nic, 'address': address, 'gateway': gateway}

    @staticmethod
    def _underlay_ids(ctx, bridge):
        """external_ids of our underlay bridge as OVS has them now ({} before it exists)."""
        try:
            if not ctx.ovs.socket_exists():
                return {}
            return dict(ctx.ovs.snapshot()['bridges'].get(bridge, {}).get('external_ids') or {})
        except NetwireError:
            return {}

    def _finish_underlay_migration(self, ctx, underlay, migrate):
        nic = migrate['nic']
        address = migrate['address']
        actions = []
        if address in ctx.link_addresses(nic['index']):
            actions.append('move %s from %s to %s' % (address, nic['ifname'], underlay['bridge']))
            if not self.check_mode:
                ip, prefix = address.split('/')
                ctx.call('move', 'underlay address', address, 'addr', 'del', index=nic['index'],
                         address=ip, prefixlen=int(prefix))
        ctx.invalidate()
        br = ctx.link(underlay['bridge'])
        gw = migrate['gateway']
        if gw and (br is None or not any(r['dst'] == '0.0.0.0/0' and r['oif'] == br['index']
                                         for r in ctx.routes())):
            actions.append('default route via %s dev %s' % (gw, underlay['bridge']))
            if br is not None and not self.check_mode:
                ctx.call('move', 'default route', gw, 'route', 'replace', dst='0.0.0.0/0', gateway=gw,
                         oif=br['index'])
        if _sysctl.answers_foreign_arp(nic['ifname']):
            # the NIC stays a live interface of this host's IP stack (the userspace datapath reads it
            # with a packet socket): it must not answer ARP for the address the bridge now holds
            actions.append('answer ARP on %s only for its own addresses (arp_ignore=1; %s holds %s)'
                           % (nic['ifname'], underlay['bridge'], address))
            if not self.check_mode:
                _sysctl.answer_own_arp_only(nic['ifname'])
        if actions and not self.check_mode:
            self._announce(ctx, underlay['bridge'], address)
        if actions:
            self.record('underlay', underlay['bridge'], {
                'changed': True, 'actions': actions,
                'diff': {'before': {'nic_address': address}, 'after': {'bridge_address': address}}})

    @staticmethod
    def _announce(ctx, ifname, address):
        """The underlay address changed hands (and MAC): forget what was learnt on
        the new holder while the address lived elsewhere, and tell the segment
        with gratuitous ARP, so that peers do not wait for stale entries to expire."""
        from ansible_collections.netwire.fabric.plugins.module_utils._linux.netlink import send_gratuitous_arp
        ctx.invalidate()
        link = ctx.link(ifname)
        if link is None:
            return
        ipr = ctx.ipr()
        for neigh in ipr.get_neighbours(ifindex=link['index']):
            if neigh['state'] & 0x80:  # NUD_PERMANENT: not learnt, not ours to drop
                continue
            dst = neigh.get_attr('NDA_DST')
            if dst and ':' not in dst:
                ctx.call('refresh', 'neighbour', dst, 'neigh', 'del', dst=dst, ifindex=link['index'])
        send_gratuitous_arp('/proc/self/ns/net', ifname, link['mac'], [address.split('/')[0]])

    def _restore_underlay(self, ctx, bridges_ids):
        """After our underlay bridge is gone: the NIC gets its address and default route back."""
        for ids in bridges_ids:
            nic_name = ids.get(_names.OVS_UNDERLAY_NIC_KEY)
            address = ids.get(_names.OVS_UNDERLAY_ADDRESS_KEY)
            if not nic_name or not address:
                continue
            actions = ['restore %s on %s' % (address, nic_name)]
            gw = ids.get(_names.OVS_UNDERLAY_GATEWAY_KEY)
            if gw:
                actions.append('default route via %s dev %s' % (gw, nic_name))
            recorded = ids.get(_names.OVS_UNDERLAY_ARP_IGNORE_KEY) or ''
            arp_ignore = int(recorded) if recorded.isdigit() else None
            if arp_ignore is not None:
                actions.append('arp_ignore=%d on %s' % (arp_ignore, nic_name))
            if not self.check_mode:
                ctx.invalidate()
                nic = ctx.link(nic_name)
                if nic is None:
                    continue
                ip, prefix = address.split('/')
                if address not in ctx.link_addresses(nic['index']):
                    ctx.call('restore', 'underlay address', address, 'addr', 'add', index=nic['index'],
                             address=ip, prefixlen=int(prefix))
                ctx.call('restore', 'underlay interface', nic_name, 'link', 'set', index=nic['index'], state='up')
                if gw:
                    ctx.call('restore', 'default route', gw, 'route', 'replace', dst='0.0.0.0/0', gateway=gw,
                             oif=nic['index'])
                if arp_ignore is not None and _sysctl.read_ipv4_conf(nic_name, _sysctl.ARP_IGNORE) != arp_ignore:
                    _sysctl.write_ipv4_conf(nic_name, _sysctl.ARP_IGNORE, arp_ignore)
                self._announce(ctx, nic_name, address)
            self.record('underlay', nic_name, {
                'changed': True, 'actions': actions, 'diff': {'before': None, 'after': {'nic_address': address}}})
