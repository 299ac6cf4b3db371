# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One host's whole plan in one module call, composing the single-object managers.

The plan is the per-host data the model computes (``_model.host_plan``): each
entry holds the arguments of the module that builds it. Every entry is checked
against that module's argument spec before anything is touched, so bad input
fails with nothing applied. A preflight then checks the whole plan against the
host (every planned name against objects we do not own, every container the
plan attaches, every bridge or device a step needs), again before the first
change. Then, in dependency order, the same managers the single-object modules
use converge each object, sharing one netlink socket per namespace. With
``purge`` (the default), objects we own on the host that the plan no longer
declares are removed first, as they may hold what the plan needs (a VXLAN
VNI and port, a subnet, a container's default route); ``state=absent``
removes everything we own on the host, in reverse order.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.netwire.fabric.plugins.module_utils import _specs
from ansible_collections.netwire.fabric.plugins.module_utils import _validate as v
from ansible_collections.netwire.fabric.plugins.module_utils._errors import (
    InvalidParameter,
    NetwireError,
    NotOwned,
)

SECTIONS = ('fabric', 'containers', 'firewall')

# plan key -> (argument spec, section, human name)
ENTRY_KINDS = (
    ('ovs_bridges', _specs.OVS_BRIDGE, 'fabric', 'OVS bridge'),
    ('linux_bridges', _specs.LINUX_BRIDGE, 'fabric', 'Linux bridge'),
    ('ovs_tunnels', _specs.OVS_TUNNEL, 'fabric', 'OVS tunnels'),
    ('linux_tunnels', _specs.LINUX_TUNNEL, 'fabric', 'Linux tunnel'),
    ('attachments', _specs.CONTAINER_ATTACH, 'containers', 'container attachment'),
)

BRIDGE_ALIAS = v.owner_alias('bridge')
TUNNEL_ALIAS = v.owner_alias('tunnel')
ATTACH_ALIAS_PREFIX = v.owner_alias('attach', '')


def entry_label(key, entry):
    if key == 'ovs_tunnels':
        return '%s on %s' % (entry.get('network'), entry.get('bridge'))
    if key == 'attachments':
        return '%s:%s' % (entry.get('container'), entry.get('ifname', 'eth1'))
    return str(entry.get('name'))


def normalize_entries(plan, sections, state):
    """Check every entry of ``plan`` against its module's argument spec.

    Returns ``{plan key: [validated params]}`` (defaults filled in, ``state``
    set); raises :class:`InvalidParameter` naming every bad entry by its path.
    """
    if not isinstance(plan, dict):
        raise InvalidParameter("Failed to apply host plan: 'plan' must be a dict, got %s" % type(plan).__name__)
    errors = []
    out = {}
    for key, spec, section, _what in ENTRY_KINDS:
        entries = plan.get(key) or []
        if section not in sections:
            out[key] = []
            continue
        if not isinstance(entries, list):
            errors.append('plan.%s: must be a list' % key)
            continue
        validated = []
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                errors.append('plan.%s[%d]: must be a dict' % (key, i))
                continue
            params = dict(entry)
            params['state'] = state
            result = ArgumentSpecValidator(spec).validate(params)
            if result.error_messages:
                errors.extend('plan.%s[%d] (%s): %s' % (key, i, entry_label(key, entry), m)
                              for m in result.error_messages)
                continue
            validated.append(result.validated_parameters)
        out[key] = validated
    fw = plan.get('firewall') or {}
    if 'firewall' in sections:
        if not isinstance(fw, dict):
            errors.append('plan.firewall: must be a dict')
        else:
            result = ArgumentSpecValidator(_specs.FIREWALL).validate(dict(fw, state=state))
            if result.error_messages:
                errors.extend('plan.firewall: %s' % m for m in result.error_messages)
            else:
                out['firewall'] = result.validated_parameters
    if errors:
        raise InvalidParameter('Failed to apply host plan: %d invalid entr%s: %s'
                               % (len(errors), 'y' if len(errors) == 1 else 'ies', '; '.join(errors)),
                               errors=errors)
    return out


class HostNetworkManager(object):
    """Apply (or remove) one host's plan.

    ``backends`` gives the manager classes; tests may swap them, the module
    uses :func:`default_backends`.
    """

    def __init__(self, params, check_mode=False, backends=None):
        self.params = params
        self.check_mode = check_mode
        self.b = backends or default_backends()
        self.sections = params.get('sections') or list(SECTIONS)
        self.state = params.get('state') or 'present'
        self.results = []
        self.actions = []
        self.changed = False
        # In check mode nothing is created, so an entry that depends on an
        # object this same run would create (a tunnel on a new bridge) cannot be
        # planned against live state: it is reported as a creation instead.
        self.pending = set()

    # ------------------------------------------------------------ helpers
    def _record(self, key, label, result):
        changed = bool(result.get('changed'))
        self.changed = self.changed or changed
        for action in result.get('actions') or []:
            self.actions.append('%s %s: %s' % (key, label, action))
        self.results.append({'kind': key, 'name': label, 'changed': changed,
                             'actions': result.get('actions') or [],
                             'diff': result.get('diff')})

    def _common(self, params):
        p = dict(params)
        for opt in ('ovsdb_socket', 'timeout'):
            if self.params.get(opt) is not None and opt in p:
                p[opt] = self.params[opt]
        return p

    # ------------------------------------------------------------ run
    def run(self):
        plan = self.params.get('plan') or {}
        entries = normalize_entries(plan, self.sections, self.state)
        with self.b['session'](check_mode=self.check_mode) as ctx:
            if self.state == 'present':
                self._preflight(ctx, plan, entries)
                self._present(ctx, plan, entries)
            else:
                self._absent(ctx, entries)
        diff = {'before': {}, 'after': {}}
        for r in self.results:
            d = r.get('diff') or {}
            if r['changed'] and d:
                label = '%s/%s' % (r['kind'], r['name'])
                diff['before'][label] = d.get('before')
                diff['after'][label] = d.get('after')
        return {
            'changed': self.changed,
            'actions': self.actions,
            'results': self.results,
            'diff': diff,
        }

    def _present(self, ctx, plan, entries):
        purge = self.params.get('purge', True)
        # What the plan no longer declares goes first: it may hold what the plan
        # needs (a VNI and port, a subnet on a bridge, a container's default
        # route), and this run removes it anyway.
        keep = self._declared_names(plan, entries) if purge else None
        if 'fabric' in self.sections:
            if purge:
                self._purge_links(ctx, 'fabric', keep)
            underlay = plan.get('underlay') or {}
            migrate = self._underlay_migration(ctx, underlay) if underlay.get('bridge') else None
            bridges = []
            for p in entries['ovs_bridges']:
                if migrate and p['name'] == underlay['bridge']:
                    p = dict(p, external_ids=dict(p.get('external_ids') or {}, **migrate['ids']))
                bridges.append(self._common(p))
            if bridges or entries['ovs_tunnels'] or purge:
                # every OVS change of the run, purge included, in one OVSDB transaction
                removed = self.b['ovs_fabric'](self, ctx, bridges, [self._common(p) for p in entries['ovs_tunnels']],
                                               remove='undeclared' if purge else None)
                self._restore_underlay(ctx, removed)
            if migrate:
                self._finish_underlay_migration(ctx, underlay, migrate)
            for p in entries['linux_bridges']:
                self._run_entry(ctx, 'linux_bridges', p, (), lambda p=p: self.b['linux_bridge'](ctx, p).run())
            for p in entries['linux_tunnels']:
                self._run_entry(ctx, 'linux_tunnels', p, (p.get('dev'), p.get('master')),
                                lambda p=p: self.b['linux_tunnel'](ctx, p).run())
        fw_done = False
        if 'containers' in self.sections and 'firewall' in self.sections:
            # The firewall comes after the attachments, so that published ports move only once the
            # new addresses exist. On a host without any table of ours yet there is nothing to move,
            # and the attachments must not come up before the zone rules: the firewall goes first.
            fw_mgr = self._firewall_manager(entries)
            if not fw_mgr.current().get('tables'):
                self._apply_firewall(fw_mgr, entries)
                fw_done = True
        if 'containers' in self.sections:
            if purge:
                self._purge_links(ctx, 'containers', keep)
                self.b['ovs_attach_cleanup'](self, self.params.get('ovsdb_socket'), keep)
            if self.check_mode and 'fabric' not in self.sections:
                # the fabric section (an earlier call) builds the bridges: in
                # check mode they may not be there yet
                self.pending.update(n for n in self._plan_bridges(plan) if ctx.link(n) is None)
            # the OVS ports of all attachments go in one transaction, made after them
            batch = self.b['ovs_attach_batch']()
            if batch is not None and not self.check_mode:
                batch.begin_batch()
            try:
                for p in entries['attachments']:
                    self._run_entry(ctx, 'attachments', p, (p.get('bridge'),),
                                    lambda p=p: self.b['container_attach'](ctx, p).run())
            finally:
                if batch is not None and batch.batching:
                    batch.flush()
        if 'firewall' in self.sections and not fw_done:
            self._apply_firewall(self._firewall_manager(entries), entries)

    def _firewall_manager(self, entries):
        return self.b['firewall'](check_mode=self.check_mode, table_name=entries['firewall'].get('table_name'))

    def _apply_firewall(self, mgr, entries):
        fw = entries['firewall']
        self._record('firewall', mgr.table_name, mgr.present(
            fw['networks'], fw['flows'], fw['publications'], tunnels=fw.get('tunnels'),
            host_addresses=fw.get('host_addresses'), host_services=fw.get('host_services')))

    def _run_entry(self, ctx, key, params, depends_on, run):
        label = entry_label(key, params)
        waiting = sorted(d for d in depends_on if d and d in self.pending)
        if waiting:
            self._record(key, label, {
                'changed': True,
                'actions': ['create (after %s, which this run creates)' % ', '.join(waiting)
                            if 'fabric' in self.sections else
                            'create (after %s, which the fabric section creates)' % ', '.join(waiting)],
                'diff': {'before': None, 'after': dict((k, v) for k, v in params.items() if v is not None)}})
            if key in ('ovs_bridges', 'linux_bridges', 'linux_tunnels'):
                self.pending.add(params['name'])
            return
        existed = key not in ('ovs_bridges', 'linux_bridges') or ctx.link(params['name']) is not None
        self._record(key, label, run())
        if self.check_mode and not existed:
            self.pending.add(params['name'])

    # ------------------------------------------------------------ preflight
    @staticmethod
    def _plan_bridges(plan):
        """Names of every bridge the plan declares, whichever section builds it."""
        names = []
        for key in ('ovs_bridges', 'linux_bridges'):
            for entry in plan.get(key) or []:
                if isinstance(entry, dict) and entry.get('name'):
                    names.append(entry['name'])
        return names

    def _preflight(self, ctx, plan, entries):
        """Check the whole plan against the host before the first change.

        Every name the plan creates is free or ours, every container it attaches
        can be found, and every bridge or device a step needs exists or is built
        by an earlier step. All problems are reported together; nothing is changed.
        """
        problems = []
        ovs = {}

        def ovs_snapshot():
            if 'snap' not in ovs:
                ovs['snap'] = self.b['ovs_snapshot'](self.params.get('ovsdb_socket'))
            return ovs['snap']

        def ovs_owned(name):
            snap = ovs_snapshot()
            for table in ('bridges', 'ports', 'interfaces'):
                row = snap[table].get(name)
                if row is not None:
                    return _ovsdb_is_owned(row['external_ids'])
            return None  # not in OVSDB

        purge = self.params.get('purge', True)
        keep = self._declared_names(plan, entries)
        built = set()  # what this call builds before the step that needs it
        if 'fabric' in self.sections:
            underlay = plan.get('underlay') or {}
            if underlay.get('bridge'):
                built.add(underlay['bridge'])
                if ctx.link(underlay.get('interface') or '') is None:
                    problems.append("underlay interface '%s' (for bridge '%s') does not exist"
                                    % (underlay.get('interface'), underlay['bridge']))
            for p in entries['ovs_bridges']:
                built.add(p['name'])
                link = ctx.link(p['name'])
                owned = ovs_owned(p['name'])
                if owned is False or (owned is None and link is not None and not v.is_owned(link.get('alias'))):
                    problems.append("OVS bridge '%s': %s named so exists and netwire did not create it"
                                    % (p['name'], 'an OVS bridge or port' if owned is False
                                       else 'a %s interface' % (link.get('kind') or 'plain')))
            for p in entries['linux_bridges']:
                built.add(p['name'])
                link = ctx.link(p['name'])
                if link is not None and not v.is_owned(link.get('alias')):
                    problems.append("Linux bridge '%s': a %s interface named so exists and netwire did not create it"
                                    % (p['name'], link.get('kind') or 'plain'))
            for p in entries['ovs_tunnels']:
                if p['bridge'] not in built and ovs_snapshot()['bridges'].get(p['bridge']) is None:
                    problems.append("OVS tunnels of network '%s' need bridge '%s', which neither exists nor is"
                                    " in the plan" % (p.get('network'), p['bridge']))
            for p in entries['linux_tunnels']:
                link = ctx.link(p['name'])
                if link is not None and not v.is_owned(link.get('alias')):
                    problems.append("Linux tunnel '%s': a %s interface named so exists and netwire did not create"
                                    " it" % (p['name'], link.get('kind') or 'plain'))
                for what, dep in (('master bridge', p.get('master')), ('underlay device', p.get('dev'))):
                    if dep and dep not in built and ctx.link(dep) is None:
                        problems.append("Linux tunnel '%s' needs %s '%s', which neither exists nor is in the plan"
                                        % (p['name'], what, dep))
                problems.extend(self._vni_holders(ctx, p, keep if purge else None))
        if 'containers' in self.sections:
            declared = built | set(self._plan_bridges(plan))
            for p in entries['attachments']:
                label = entry_label('attachments', p)
                name = p.get('host_ifname')
                link = ctx.link(name) if name else None
                if link is not None and not (link.get('alias') or '').startswith(ATTACH_ALIAS_PREFIX):
                    problems.append("attachment %s: host interface '%s' exists and netwire did not create it"
                                    % (label, name))
                bridge = p.get('bridge')
                if bridge and bridge not in built and ctx.link(bridge) is None \
                        and not (self.check_mode and bridge in declared):
                    problems.append("attachment %s needs bridge '%s', which does not exist%s" % (
                        label, bridge, ' (the fabric section builds it: run that first)' if bridge in declared
                        else ''))
                try:
                    self.b['resolve'](p['container'], p.get('container_type') or 'auto')
                except NetwireError as err:
                    problems.append("attachment %s: container '%s' cannot be used: %s"
                                    % (label, p['container'], err.reason))
        if problems:
            raise InvalidParameter('Failed to apply host plan: the preflight found %d problem%s, nothing was'
                                   ' changed: %s' % (len(problems), '' if len(problems) == 1 else 's',
                                                     '; '.join(problems)), errors=problems)

    @staticmethod
    def _vni_holders(ctx, p, keep):
        """Another VXLAN device on the same VNI and UDP port makes the kernel refuse a new one
        (``File exists``): name it, unless it is ours and goes first (not in ``keep``)."""
        if p.get('kind', 'vxlan') != 'vxlan' or ctx.link(p['name']) is not None:
            return []
        out = []
        for link in ctx.links().values():
            data = link.get('data') or {}
            if link.get('kind') != 'vxlan' or link['ifname'] == p['name'] or data.get('id') != p.get('vni'):
                continue
            if p.get('port') is not None and data.get('port') not in (None, p['port']):
                continue
            if v.is_owned(link.get('alias')) and keep is not None and link['ifname'] not in keep:
                continue  # ours, undeclared: purged before the tunnel is made
            out.append("Linux tunnel '%s': VNI %s%s is held by VXLAN device '%s'%s" % (
                p['name'], p.get('vni'), ' port %s' % p['port'] if p.get('port') else '', link['ifname'],
                '' if v.is_owned(link.get('alias')) else ' (not created by netwire)'))
        return out

    # ------------------------------------------------------------ underlay
    # With the OVS userspace datapath, tunnels need the underlay address on an
    # OVS bridge that owns the underlay NIC. The address (and the default route
    # through it) move from the NIC to the bridge's internal port; what was there
    # is recorded in the bridge's external_ids so that removing the bridge puts
    # it back exactly. The NIC itself is never deleted or renamed.

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
        ids = {'nw-underlay-nic': underlay['interface'], 'nw-underlay-address': address}
        if gateway:
            ids['nw-underlay-gateway'] = gateway
        return {'ids': ids, 'nic': nic, 'address': address, 'gateway': gateway}

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
        if actions and not self.check_mode:
            self._announce(ctx, underlay['bridge'], address)
        if actions:
            self._record('underlay', underlay['bridge'], {
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
            nic_name = ids.get('nw-underlay-nic')
            address = ids.get('nw-underlay-address')
            if not nic_name or not address:
                continue
            actions = ['restore %s on %s' % (address, nic_name)]
            gw = ids.get('nw-underlay-gateway')
            if gw:
                actions.append('default route via %s dev %s' % (gw, nic_name))
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
                self._announce(ctx, nic_name, address)
            self._record('underlay', nic_name, {
                'changed': True, 'actions': actions, 'diff': {'before': None, 'after': {'nic_address': address}}})

    # ------------------------------------------------------------ purge/absent
    def _declared_names(self, plan, entries):
        names = set(plan.get('names') or [])
        for key in ('ovs_bridges', 'linux_bridges', 'linux_tunnels'):
            names.update(p['name'] for p in entries[key])
        for p in entries['attachments']:
            if p.get('host_ifname'):
                names.add(p['host_ifname'])
        return names

    def _owned_links(self, ctx):
        """Our links in the host namespace, by section."""
        owned = {'fabric': [], 'containers': []}
        for link in ctx.links().values():
            alias = link.get('alias') or ''
            if not v.is_owned(alias):
                continue
            if alias.startswith(ATTACH_ALIAS_PREFIX):
                owned['containers'].append(link)
            elif alias in (BRIDGE_ALIAS, TUNNEL_ALIAS) or alias.startswith(TUNNEL_ALIAS + ':') \
                    or alias.startswith(BRIDGE_ALIAS + ':'):
                owned['fabric'].append(link)
        return owned

    def _purge_links(self, ctx, section, keep):
        """Delete our links of ``section`` that are not in ``keep``."""
        owned = self._owned_links(ctx)[section]
        if section == 'containers':
            for link in owned:
                if link['ifname'] not in keep:
                    self._delete_attachment(ctx, link)
            return
        # tunnels before bridges: a tunnel may be a bridge's port
        for link in sorted(owned, key=lambda l: l.get('kind') == 'bridge'):
            if link['ifname'] not in keep:
                self._delete_link(ctx, 'linux_bridges' if link.get('kind') == 'bridge' else 'linux_tunnels', link)

    def _delete_link(self, ctx, key, link):
        action = 'delete %s %s (owned, not declared)' % (link.get('kind') or 'link', link['ifname'])
        if not self.check_mode:
            ctx.call('delete', link.get('kind') or 'link', link['ifname'], 'link', 'del', index=link['index'])
        self._record(key, link['ifname'], {'changed': True, 'actions': [action],
                                           'diff': {'before': {'ifname': link['ifname'], 'kind': link.get('kind')},
                                                    'after': None}})

    def _delete_attachment(self, ctx, link):
        """Delete an attachment's host end, then put back the default route its takeover replaced."""
        self._delete_link(ctx, 'attachments', link)
        if self.b.get('restore_takeover'):
            restored = self.b['restore_takeover'](ctx, link.get('alias'), check_mode=self.check_mode)
            if restored:
                self._record('attachments', link['ifname'], {'changed': True, 'actions': restored})

    def _absent(self, ctx, entries):
        """Remove everything we own on this host, in reverse order of building it."""
        if 'fabric' in self.sections and self.b.get('ovs_foreign_ports'):
            # before the first removal: a bridge of ours with a port not ours stays, and so does the rest
            refuse_foreign_ports(self.b['ovs_foreign_ports'](self))
        if 'firewall' in self.sections:
            mgr = self.b['firewall'](check_mode=self.check_mode, table_name=(entries.get('firewall') or {}).get(
                'table_name'))
            self._record('firewall', mgr.table_name, mgr.absent())
        owned = self._owned_links(ctx)
        if 'containers' in self.sections:
            for link in owned['containers']:
                self._delete_attachment(ctx, link)
            self.b['ovs_attach_cleanup'](self, self.params.get('ovsdb_socket'))
        if 'fabric' in self.sections:
            for link in sorted(owned['fabric'], key=lambda l: l.get('kind') == 'bridge'):
                self._delete_link(ctx, 'linux_bridges' if link.get('kind') == 'bridge' else 'linux_tunnels', link)
            self._restore_underlay(ctx, self.b['ovs_fabric'](self, ctx, [], [], remove='all'))


# ---------------------------------------------------------------- backends

def default_backends():
    from ansible_collections.netwire.fabric.plugins.module_utils._linux.netlink import NetlinkSession
    from ansible_collections.netwire.fabric.plugins.module_utils._linux.bridge import LinuxBridgeManager
    from ansible_collections.netwire.fabric.plugins.module_utils._linux.tunnel import LinuxTunnelManager
    from ansible_collections.netwire.fabric.plugins.module_utils._host.attach import (
        ContainerAttachManager,
        restore_after_removal,
    )

    return {
        'session': NetlinkSession,
        'linux_bridge': LinuxBridgeManager,
        'linux_tunnel': LinuxTunnelManager,
        'container_attach': ContainerAttachManager,
        'restore_takeover': restore_after_removal,
        'firewall': _firewall_manager,
        'ovs_fabric': ovs_fabric,
        'ovs_attach_cleanup': _ovs_attach_cleanup,
        'ovs_attach_batch': _ovs_attach_batch,
        'ovs_foreign_ports': _ovs_foreign_ports,
        'ovs_snapshot': _ovs_snapshot,
        'resolve': _resolve_container,
    }


def _ovsdb_is_owned(external_ids):
    from ansible_collections.netwire.fabric.plugins.module_utils._ovs import ovsdb as _ovsdb
    return _ovsdb.is_owned(external_ids)


def _ovs_snapshot(socket_path=None):
    """OVSDB as it is (read only), or an empty snapshot on hosts without OVS."""
    from ansible_collections.netwire.fabric.plugins.module_utils._ovs import ovsdb as _ovsdb
    socket_path = socket_path or _ovsdb.DEFAULT_SOCKET
    if not os.path.exists(socket_path):
        return _ovsdb.empty_snapshot()
    with _ovsdb.OvsdbClient(socket_path, _ovsdb.DEFAULT_TIMEOUT) as client:
        return client.snapshot()


def _resolve_container(ref, ref_type='auto'):
    from ansible_collections.netwire.fabric.plugins.module_utils._linux.netns import resolve
    return resolve(ref, ref_type)


def _ovs_attach_batch():
    """container_attach's OVS backend (it batches for us), or None on hosts without it."""
    from ansible_collections.netwire.fabric.plugins.module_utils._host import attach as _attach
    return _attach.BRIDGE_BACKENDS.get('ovs')


def _firewall_manager(check_mode=False, table_name=None):
    """The firewall module's own manager, over the nft command (its result shape is the others')."""
    from ansible_collections.netwire.fabric.plugins.module_utils._firewall import nft as _nft
    from ansible_collections.netwire.fabric.plugins.module_utils._firewall.manager import FirewallManager
    return FirewallManager(_nft.NftClient(), table_name=table_name, check_mode=check_mode)


class _SharedIPRoute(object):
    """The host namespace's IPRoute of the run's NetlinkSession; close() leaves it open."""

    def __init__(self, ctx):
        self._ipr = ctx.ipr()

    def __getattr__(self, name):
        return getattr(self._ipr, name)

    def close(self):
        pass


def ovs_fabric(manager, ctx, bridges, tunnels, remove=None):
    """Converge OVS bridges and tunnel sets in ONE transaction; return the external_ids of removed bridges.

    Plans every bridge, then every tunnel set, on a snapshot that is simulated
    forward after each plan, so later plans see what earlier ones create.
    ``remove='undeclared'`` also removes our bridges and tunnel sets that are
    not declared; ``remove='all'`` removes every OVS object we own. Addresses of
    internal ports are set over netlink after the transaction.
    """
    from ansible_collections.netwire.fabric.plugins.module_utils._ovs import ovsdb as _ovsdb
    from ansible_collections.netwire.fabric.plugins.module_utils._ovs import bridge as _ovs_bridge
    from ansible_collections.netwire.fabric.plugins.module_utils._ovs import tunnel as _ovs_tunnel

    socket_path = manager.params.get('ovsdb_socket') or _ovsdb.DEFAULT_SOCKET
    client = _ovsdb.OvsdbClient(socket_path, _ovsdb.DEFAULT_TIMEOUT)
    if not bridges and not tunnels and not os.path.exists(socket_path):
        return []  # nothing to build and no OVS on this host: nothing of ours can be there
    check = manager.check_mode
    shared = _SharedIPRoute(ctx)
    records, address_work, touched, removed_ids = [], [], [], []
    with client:
        snap = client.snapshot()
        sim = snap
        ops = []
        for params in bridges:
            mgr = _ovs_bridge.OvsBridgeManager(params, check_mode=check, client=client, ipr_factory=lambda: shared)
            name = mgr.p['name']
            bops, tracker, internal = _ovs_bridge.plan(sim, mgr.p)
            before = _ovs_bridge.bridge_view(sim, name)
            mgr._check_system_ports(bops)
            addr_plans = mgr._plan_addresses(internal, tracker, new_bridge=sim['bridges'].get(name) is None)
            sim = _ovsdb.simulate(sim, bops)
            ops.extend(bops)
            address_work.append((mgr, addr_plans))
            records.append(('ovs_bridges', name, tracker, before, _ovs_bridge.bridge_view(sim, name)))
            if check and snap['bridges'].get(name) is None:
                manager.pending.add(name)
        declared_bridges = set(b['name'] for b in bridges)
        wanted = [_ovs_tunnel.normalize_params(t) for t in tunnels]
        if remove:
            declared_sets = set((t['bridge'], t['network']) for t in wanted)
            for key in sorted(_owned_tunnel_sets(sim)):
                if remove == 'all' or (key[0] in declared_bridges and key not in declared_sets):
                    wanted.append(_ovs_tunnel.normalize_params(dict(
                        bridge=key[0], network=key[1], state='absent', type='vxlan', remotes=[], options={},
                        key=None, dst_port=None, local_ip=None)))
        for p in wanted:
            tops, tracker, before, after, t_touched = _ovs_tunnel.plan(sim, p, check)
            sim = _ovsdb.simulate(sim, tops)
            ops.extend(tops)
            touched.extend(t_touched)
            records.append(('ovs_tunnels', '%s on %s' % (p['network'], p['bridge']), tracker, before, after))
        if remove:
            # a port that is not ours is never deleted with our bridge: refuse before any change
            refuse_foreign_ports(foreign_ports(sim, keep=() if remove == 'all' else declared_bridges))
            for name in sorted(sim['bridges']):
                br = sim['bridges'][name]
                if not _ovsdb.is_owned(br['external_ids']) or br['external_ids'].get(_ovsdb.ROLE_KEY) not in (
                        None, _ovsdb.ROLE_BRIDGE):
                    continue
                if remove == 'all' or name not in declared_bridges:
                    before = _ovs_bridge.bridge_view(sim, name)
                    bops = [_ovsdb.op('del_bridge', name=name)]
                    sim = _ovsdb.simulate(sim, bops)
                    ops.extend(bops)
                    removed_ids.append(dict(br['external_ids']))
                    records.append(('ovs_bridges', name, None, before, {'name': name, 'state': 'absent'}))
        if ops and not check:
            client.apply_checked(snap, ops, touched, 'apply', 'OVS part of the host plan', 'ovsdb',
                                 actions=[a for r in records if r[2] is not None for a in r[2].actions])
    if not check:
        for mgr, addr_plans in address_work:
            mgr._apply_addresses(addr_plans)
    for key, label, tracker, before, after in records:
        if tracker is None:
            action = 'delete OVS bridge %s (owned, not declared)' % label
            manager._record(key, label, {'changed': True, 'actions': [action],
                                         'diff': {'before': before, 'after': after}})
        else:
            manager._record(key, label, {'changed': tracker.changed, 'actions': tracker.actions,
                                         'diff': tracker.diff(before, after)})
    return removed_ids


def foreign_ports(snap, keep=()):
    """``{bridge: [port, ...]}``: ports we do not own on the bridges of ours that are not in ``keep``."""
    from ansible_collections.netwire.fabric.plugins.module_utils._ovs import ovsdb as _ovsdb
    found = {}
    for name in sorted(snap['bridges']):
        br = snap['bridges'][name]
        if name in keep or not _ovsdb.is_owned(br['external_ids']) or \
                br['external_ids'].get(_ovsdb.ROLE_KEY) not in (None, _ovsdb.ROLE_BRIDGE):
            continue
        ports = sorted(p for p in br['ports'] if not _ovsdb.is_owned(snap['ports'].get(p, {}).get('external_ids')))
        if ports:
            found[name] = ports
    return found


def refuse_foreign_ports(found):
    """Fail naming every port that is not ours on a bridge of ours that is to be removed."""
    if not found:
        return
    what = '; '.join('port%s %s on OVS bridge %s' % ('s' if len(ports) > 1 else '', ', '.join(ports), bridge)
                     for bridge, ports in sorted(found.items()))
    raise NotOwned("Failed to remove OVS bridge%s %s: %s %s not created by netwire.fabric (no netwire-owner in its "
                   "external_ids) and never deleted with a bridge of ours. Move or delete %s by hand (ovs-vsctl "
                   "del-port), then rerun; this step changed nothing"
                   % ('s' if len(found) > 1 else '', ', '.join(sorted(found)), what,
                      'are' if sum(len(p) for p in found.values()) > 1 else 'is',
                      'them' if sum(len(p) for p in found.values()) > 1 else 'it'),
                   foreign_ports=found)


def _ovs_foreign_ports(manager):
    """Preflight of state=absent: the foreign ports on every OVS bridge of ours (none without OVS)."""
    from ansible_collections.netwire.fabric.plugins.module_utils._ovs import ovsdb as _ovsdb
    socket_path = manager.params.get('ovsdb_socket') or _ovsdb.DEFAULT_SOCKET
    if not os.path.exists(socket_path):
        return {}
    client = _ovsdb.OvsdbClient(socket_path, _ovsdb.DEFAULT_TIMEOUT)
    with client:
        return foreign_ports(client.snapshot())


def _owned_tunnel_sets(snap):
    """(bridge, network) of every tunnel set we own in ``snap``."""
    from ansible_collections.netwire.fabric.plugins.module_utils._ovs import ovsdb as _ovsdb
    sets = set()
    for port in snap['ports'].values():
        ids = port['external_ids']
        if _ovsdb.is_owned(ids) and ids.get(_ovsdb.ROLE_KEY) == _ovsdb.ROLE_TUNNEL:
            sets.add((port['bridge'], ids.get(_ovsdb.NETWORK_KEY)))
    return sets


def _ovs_attach_cleanup(manager, socket_path=None, keep=None):
    """Remove our attachment ports from OVS, but those named in ``keep`` (None: all)."""
    from ansible_collections.netwire.fabric.plugins.module_utils._ovs import ovsdb as _ovsdb
    client = _ovsdb.OvsdbClient(socket_path or _ovsdb.DEFAULT_SOCKET, _ovsdb.DEFAULT_TIMEOUT)
    try:
        with client:
            snap = client.snapshot()
            ops = []
            for name, port in sorted(snap['ports'].items()):
                ids = port['external_ids']
                if _ovsdb.is_owned(ids) and ids.get(_ovsdb.ROLE_KEY) == _ovsdb.ROLE_ATTACH \
                        and (keep is None or name not in keep):
                    ops.append(_ovsdb.op('del_port', bridge=port['bridge'], name=name))
            if ops:
                if not manager.check_mode:
                    client.apply(ops, 'remove', 'OVS attachment ports', 'all')
                manager._record('attachments', 'ovs ports', {
                    'changed': True, 'actions': ['remove OVS port %s' % o['name'] for o in ops],
                    'diff': {'before': sorted(o['name'] for o in ops), 'after': []}})
    except NetwireError:
        return
