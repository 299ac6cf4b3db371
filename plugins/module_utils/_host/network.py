# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One host's whole plan in one module call, composing the single-object managers.

The plan is the per-host data the model computes (``plugin_utils/model``'s
``host_plan``): each entry holds the arguments of the module that builds it, under the plan key of
its kind (the registry, ``_host/kinds.py``). Every entry is checked against its
kind's argument spec before anything is touched, so bad input fails with
nothing applied. A preflight then checks the whole plan against the host (every
planned name against objects we do not own, every container the plan attaches,
every bridge or device a step needs), again before the first change. Then,
section by section in the registry's order, the same managers the
single-object modules use converge each object, sharing one
``_contract.Context``: one netlink socket per namespace, one OVSDB transaction
for the OVS part of the fabric. With ``purge`` (the default), objects we own on
the host that the plan no longer declares are removed first, as they may hold
what the plan needs (a VXLAN VNI and port, a subnet, a container's default
route); ``state=absent`` removes everything we own on the host, in reverse order.
The managers' warnings (the firewall's: forwarding off, route_localnet) are
returned in ``warnings``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.netwire.fabric.plugins.module_utils import _daemon, _names, _specs
from ansible_collections.netwire.fabric.plugins.module_utils._contract import Context, Result
from ansible_collections.netwire.fabric.plugins.module_utils._errors import (
    InvalidParameter,
    NetwireError,
    refuse_foreign_ports,
)
from ansible_collections.netwire.fabric.plugins.module_utils._frr import config as _frr_config
from ansible_collections.netwire.fabric.plugins.module_utils._host import kinds as _kinds
from ansible_collections.netwire.fabric.plugins.module_utils._host.underlay import Underlay
from ansible_collections.netwire.fabric.plugins.module_utils._linux.bridge import foreign_ports as linux_foreign_ports
from ansible_collections.netwire.fabric.plugins.module_utils._ovs.bridge import foreign_ports

SECTIONS = ('fabric', 'containers', 'firewall')
OVS_WHAT = ('apply', 'OVS part of the host plan', 'ovsdb')


def entry_label(key, entry):
    return _kinds.BY_KEY[key].label(entry)


def normalize_entries(plan, sections, state):
    """Check every entry of ``plan`` against its kind's argument spec.

    Returns ``{plan key: [validated params]}`` (``{plan key: params}`` for a
    kind with a single entry; defaults filled in, ``state`` set); raises
    :class:`InvalidParameter` naming every bad entry by its path.
    """
    if not isinstance(plan, dict):
        raise InvalidParameter("Failed to apply host plan: 'plan' must be a dict, got %s" % type(plan).__name__)
    errors = []
    out = {}
    for kind in _kinds.KINDS:
        key = kind.key
        if kind.single:
            entry = plan.get(key) or {}
            if kind.section not in sections:
                continue
            if not isinstance(entry, dict):
                errors.append('plan.%s: must be a dict' % key)
                continue
            fast = _specs.validated_fast(kind.spec, dict(entry, state=state))
            if fast is not None:
                out[key] = fast
                continue
            result = ArgumentSpecValidator(kind.spec).validate(dict(entry, state=state))
            if result.error_messages:
                errors.extend('plan.%s: %s' % (key, m) for m in result.error_messages)
            else:
                out[key] = result.validated_parameters
            continue
        entries = plan.get(key) or []
        if kind.section not in sections:
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
            fast = _specs.validated_fast(kind.spec, params)
            if fast is not None:
                validated.append(fast)
                continue
            result = ArgumentSpecValidator(kind.spec).validate(params)
            if result.error_messages:
                errors.extend('plan.%s[%d] (%s): %s' % (key, i, kind.label(entry), m)
                              for m in result.error_messages)
                continue
            validated.append(result.validated_parameters)
        out[key] = validated
    if errors:
        raise InvalidParameter('Failed to apply host plan: %d invalid entr%s: %s'
                               % (len(errors), 'y' if len(errors) == 1 else 'ies', '; '.join(errors)),
                               errors=errors)
    return out


class HostNetworkManager(Underlay):
    """Apply (or remove) one host's plan.

    ``backends`` may replace the netlink session (``session``), a kind's manager
    (by plan key), the OVS stage (``ovs_stage``) and the preflight's readers;
    tests do, the module uses :func:`default_backends`.
    """

    def __init__(self, params, check_mode=False, backends=None):
        self.params = params
        self.check_mode = check_mode
        self.b = backends or default_backends()
        self.sections = params.get('sections') or list(SECTIONS)
        self.state = params.get('state') or 'present'
        self.results = []
        self.actions = []
        self.warnings = []
        self.changed = False

    def manager(self, key):
        return self.b.get(key) or _kinds.manager(key)

    # ------------------------------------------------------------ helpers
    def record(self, key, label, result):
        if not isinstance(result, Result):
            result = Result(**result)
        self.changed = self.changed or result.changed
        for action in result.actions:
            self.actions.append('%s %s: %s' % (key, label, action))
        self.warnings.extend(w for w in result.warnings if w not in self.warnings)
        entry = {'kind': key, 'name': label, 'changed': result.changed, 'actions': result.actions}
        if result.changed:
            # an object that did not change has the same before and after: not sent twice for each of
            # 1000 attachments (issue 20: the no-op's result was 1.2 MB, and Ansible copies it to scrub it)
            entry['diff'] = result.diff
        self.results.append(entry)
        return result

    def record_all(self, key, results):
        return [self.record(key, r.label, r) for r in results]

    def _common(self, params):
        p = dict(params)
        for opt in ('ovsdb_socket', 'timeout'):
            if self.params.get(opt) is not None and opt in p:
                p[opt] = self.params[opt]
        return p

    # ------------------------------------------------------------ run
    def run(self):
        plan = self.params.get('plan') or {}
        pending_keys = []
        if self.state == 'present' and 'fabric' in self.sections:
            plan, pending_keys = fill_wireguard_keys(plan, self.params.get('wireguard_keys') or {}, self.check_mode)
        entries = normalize_entries(plan, self.sections, self.state)
        # the single-entry kinds a plan may leave out (frr: a host that runs no speaker): run only when declared
        self.declared = set(k.key for k in _kinds.KINDS if k.single and plan.get(k.key))
        for device, host in pending_keys:
            # check mode on a host whose key the key step would make: that peer comes with this run
            self.record('wireguard', device, {'changed': True, 'actions': [
                'add peer %s (its key is generated by this run)' % host], 'diff': None})
        netlink = self.b['session'](check_mode=self.check_mode)
        with netlink, Context(self.check_mode, netlink=netlink, ovsdb_socket=self.params.get('ovsdb_socket'),
                              ovsdb_timeout=self.params.get('timeout')) as ctx:
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
        out = {
            'changed': self.changed,
            'actions': self.actions,
            'results': self.results,
            'diff': diff,
        }
        if self.warnings:
            out['warnings'] = list(self.warnings)
        return out

    def _present(self, ctx, plan, entries):
        purge = self.params.get('purge', True)
        # What the plan no longer declares goes first: it may hold what the plan
        # needs (a VNI and port, a subnet on a bridge, a container's default
        # route), and this run removes it anyway.
        keep = self._declared_names(plan, entries) if purge else None
        if 'fabric' in self.sections:
            if purge:
                self._purge(ctx, 'fabric', keep)
            underlay = plan.get('underlay') or {}
            migrate = self._underlay_migration(ctx, underlay) if underlay.get('bridge') else None
            ovs = {}
            for kind in _kinds.of_section('fabric', ovs=True):
                ovs[kind.key] = [self._common(p) for p in entries[kind.key]]
            for i, p in enumerate(ovs.get('ovs_bridges', [])):
                if migrate and p['name'] == underlay['bridge']:
                    ovs['ovs_bridges'][i] = dict(p, external_ids=dict(p.get('external_ids') or {}, **migrate['ids']))
            if any(ovs.values()) or purge:
                # every OVS change of the run, purge included, in one OVSDB transaction
                ovs_keep = set(entry_label(key, p) for key, ps in ovs.items() for p in ps) if purge else False
                self._restore_underlay(ctx, self.b['ovs_stage'](self, ctx, ovs, ovs_keep))
            if migrate:
                self._finish_underlay_migration(ctx, underlay, migrate)
            self._run_kinds(ctx, 'fabric', entries)
        fw_done = False
        if 'containers' in self.sections and 'firewall' in self.sections:
            # The firewall comes after the attachments, so that published ports move only once the
            # new addresses exist. On a host without any table of ours yet there is nothing to move,
            # and the attachments must not come up before the zone rules: the firewall goes first.
            fw_mgr = self.manager('firewall')(ctx, entries['firewall'])
            if not fw_mgr.current().get('tables'):
                self.record('firewall', fw_mgr.table_name, fw_mgr.run())
                fw_done = True
        if 'containers' in self.sections:
            if purge:
                self._purge(ctx, 'containers', keep)
            if self.check_mode and 'fabric' not in self.sections:
                # the fabric section (an earlier call) builds the bridges: in
                # check mode they may not be there yet
                for name in self._plan_bridges(plan):
                    if ctx.link(name) is None:
                        ctx.expect(name, 'bridge')
            # the OVS ports of all attachments go in one transaction, made after them
            with ctx.ovs.batch(('attach', 'OVS ports', None), commit_on_error=True):
                self._run_kinds(ctx, 'containers', entries)
        if 'firewall' in self.sections and not fw_done:
            mgr = self.manager('firewall')(ctx, entries['firewall'])
            self.record('firewall', mgr.table_name, mgr.run())

    def _purge(self, ctx, section, keep):
        """Our objects of ``section`` (netlink kinds, and the single ones of the fabric) not in ``keep``, last
        kind first."""
        for kind in reversed(_kinds.of_section(section, ovs=False)):
            if not kind.single or section == 'fabric':
                self.record_all(kind.key, self.manager(kind.key).purge(ctx, keep))

    def _run_kinds(self, ctx, section, entries):
        for kind in _kinds.of_section(section, ovs=False):
            if kind.single:
                if section == 'fabric' and kind.key in getattr(self, 'declared', ()):
                    self.record(kind.key, kind.label(entries[kind.key]),
                                self.manager(kind.key)(ctx, entries[kind.key]).run())
                continue
            for p in entries[kind.key]:
                self._run_entry(ctx, kind, p)

    def _run_entry(self, ctx, kind, params):
        label = kind.label(params)
        waiting = sorted(d for d in kind.depends(params) if d and ctx.pending(d))
        if waiting:
            self.record(kind.key, label, {
                'changed': True,
                'actions': ['create (after %s, which this run creates)' % ', '.join(waiting)
                            if 'fabric' in self.sections else
                            'create (after %s, which the fabric section creates)' % ', '.join(waiting)],
                'diff': {'before': None, 'after': dict((k, v) for k, v in params.items() if v is not None)}})
            if kind.creates:
                ctx.expect(params['name'], kind.creates)
            return
        existed = not kind.creates or ctx.link(params['name']) is not None
        self.record(kind.key, label, self.manager(kind.key)(ctx, params).run())
        if not existed:
            ctx.expect(params['name'], kind.creates)

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
                ovs['snap'] = self.b['ovs_snapshot'](ctx)
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
                if owned is False or (owned is None and link is not None and not _names.is_owned(link.get('alias'))):
                    problems.append("OVS bridge '%s': %s named so exists and netwire did not create it"
                                    % (p['name'], 'an OVS bridge or port' if owned is False
                                       else 'a %s interface' % (link.get('kind') or 'plain')))
            for p in entries['linux_bridges']:
                built.add(p['name'])
                link = ctx.link(p['name'])
                if link is not None and not _names.is_owned(link.get('alias')):
                    problems.append("Linux bridge '%s': a %s interface named so exists and netwire did not create it"
                                    % (p['name'], link.get('kind') or 'plain'))
            for p in entries['ovs_tunnels']:
                if p['bridge'] not in built and ovs_snapshot()['bridges'].get(p['bridge']) is None:
                    problems.append("OVS tunnels of network '%s' need bridge '%s', which neither exists nor is"
                                    " in the plan" % (p.get('network'), p['bridge']))
            for p in entries['wireguard']:
                built.add(p['name'])
                link = ctx.link(p['name'])
                if link is not None and link.get('alias') != _names.WIREGUARD_ALIAS and \
                        not os.path.exists(_names.wireguard_paths(p['name'])['pidfile']):
                    problems.append("WireGuard device '%s': a %s interface named so exists and netwire did not"
                                    " create it" % (p['name'], link.get('kind') or 'plain'))
            for p in entries['linux_tunnels']:
                link = ctx.link(p['name'])
                if link is not None and not _names.is_owned(link.get('alias')):
                    problems.append("Linux tunnel '%s': a %s interface named so exists and netwire did not create"
                                    " it" % (p['name'], link.get('kind') or 'plain'))
                for what, dep in (('master bridge', p.get('master')), ('underlay device', p.get('dev'))):
                    if dep and dep not in built and ctx.link(dep) is None:
                        problems.append("Linux tunnel '%s' needs %s '%s', which neither exists nor is in the plan"
                                        % (p['name'], what, dep))
                problems.extend(self._vni_holders(ctx, p, keep if purge else None))
            if plan.get('frr'):
                fp = _names.frr_paths(entries['frr']['conf_dir'], entries['frr']['run_dir'])
                why = _frr_config.foreign_config(_daemon.read_text(fp['conf']), _daemon.read_text(fp['daemons']))
                if why:
                    problems.append("FRR: this host's FRR is configured for another purpose (%s); netwire never"
                                    " overwrites it" % why)
            for p in entries['dns']:
                conf = _names.dnsmasq_paths(p['name'])['conf']
                if os.path.exists(conf) and not _daemon.is_marked(_daemon.read_text(conf)):
                    problems.append("dnsmasq '%s': %s exists and netwire did not write it" % (p['name'], conf))
                if p.get('interface') and p['interface'] not in built and ctx.link(p['interface']) is None:
                    problems.append("dnsmasq '%s' needs interface '%s', which neither exists nor is in the plan"
                                    % (p['name'], p['interface']))
        if 'containers' in self.sections:
            declared = built | set(self._plan_bridges(plan))
            for p in entries['attachments']:
                label = entry_label('attachments', p)
                name = p.get('host_ifname')
                link = ctx.link(name) if name else None
                if link is not None and not (link.get('alias') or '').startswith(_names.ATTACH_ALIAS_PREFIX):
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
            if _names.is_owned(link.get('alias')) and keep is not None and link['ifname'] not in keep:
                continue  # ours, undeclared: purged before the tunnel is made
            out.append("Linux tunnel '%s': VNI %s%s is held by VXLAN device '%s'%s" % (
                p['name'], p.get('vni'), ' port %s' % p['port'] if p.get('port') else '', link['ifname'],
                '' if _names.is_owned(link.get('alias')) else ' (not created by netwire)'))
        return out

    # ------------------------------------------------------------ purge/absent
    def _declared_names(self, plan, entries):
        names = set(plan.get('names') or [])
        for key in ('ovs_bridges', 'linux_bridges', 'linux_tunnels', 'wireguard'):
            names.update(p['name'] for p in entries[key])
        for p in entries['attachments']:
            if p.get('host_ifname'):
                names.add(p['host_ifname'])
            if p.get('kind') not in (None, 'veth'):
                names.add(_names.direct_keep_name(p['container'], p.get('ifname') or 'eth1'))
        names.update(_names.dns_keep_name(p['name']) for p in entries['dns'])
        if plan.get('frr'):
            names.add(_names.FRR_KEEP_NAME)
        return names

    def _absent(self, ctx, entries):
        """Remove everything we own on this host, in reverse order of building it."""
        if 'fabric' in self.sections:
            # before the first removal: a bridge of ours with a port not ours stays, and so does the rest
            ovs = self.b['ovs_foreign_ports'](ctx) if self.b.get('ovs_foreign_ports') else {}
            refuse_foreign_ports(ovs, linux=linux_foreign_ports(ctx))
        if 'firewall' in self.sections:
            mgr = self.manager('firewall')(ctx, entries['firewall'])
            self.record('firewall', mgr.table_name, mgr.run())
        if 'containers' in self.sections:
            self._purge(ctx, 'containers', None)
        if 'fabric' in self.sections:
            self._purge(ctx, 'fabric', None)
            self._restore_underlay(ctx, self.b['ovs_stage'](self, ctx, {}, None))


def fill_wireguard_keys(plan, keys, check_mode):
    """The plan with its WireGuard peers' public keys: a peer names its ``host`` (the model does not know
    keys), ``keys`` maps hosts to the public keys the play collected. Returns ``(plan, pending)``: in check
    mode a peer whose host has no key yet (this run would make it) is left out and listed in ``pending``
    as ``(device, host)``; otherwise that is an error."""
    entries = plan.get('wireguard') if isinstance(plan, dict) else None
    if not entries or not isinstance(entries, list):
        return plan, []
    out, pending, missing = [], [], []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get('peers'), list):
            out.append(entry)
            continue
        peers = []
        for peer in entry['peers']:
            if isinstance(peer, dict) and 'host' in peer:
                peer = dict(peer)
                host = peer.pop('host')
                if not peer.get('public_key'):
                    peer['public_key'] = keys.get(host)
                if not peer['public_key']:
                    (pending if check_mode else missing).append((entry.get('name'), host))
                    continue
            peers.append(peer)
        out.append(dict(entry, peers=peers))
    if missing:
        raise InvalidParameter('Failed to apply host plan: no public key for the WireGuard peer%s %s (wireguard_keys'
                               ' holds the keys the play collects from the hosts, role fabric)'
                               % ('' if len(missing) == 1 else 's', ', '.join(sorted(h for _d, h in missing))))
    return dict(plan, wireguard=out), pending


def ovs_stage(runner, ctx, entries, keep):
    """The OVS kinds of the fabric: every entry, then (``keep`` not False) the purge of what
    is ours and not in ``keep`` (None: all), in ONE transaction; returns the external_ids of
    the removed bridges (the underlay bridge's record of what to put back)."""
    kinds = _kinds.of_section('fabric', ovs=True)
    if not any(entries.get(k.key) for k in kinds) and not ctx.ovs.socket_exists():
        return []  # nothing to build and no OVS on this host: nothing of ours can be there
    removed = []
    with ctx.ovs.batch(OVS_WHAT):
        for kind in kinds:
            for p in entries.get(kind.key) or []:
                runner.record(kind.key, kind.label(p), runner.manager(kind.key)(ctx, p).run())
        if keep is not False:
            for kind in reversed(kinds):
                for result in runner.record_all(kind.key, runner.manager(kind.key).purge(ctx, keep)):
                    if 'external_ids' in result.view:
                        removed.append(result.view['external_ids'])
    return removed


# ---------------------------------------------------------------- backends

def default_backends():
    from ansible_collections.netwire.fabric.plugins.module_utils._linux.netlink import NetlinkSession

    return {
        'session': NetlinkSession,
        'ovs_stage': ovs_stage,
        'ovs_foreign_ports': _ovs_foreign_ports,
        'ovs_snapshot': _ovs_snapshot,
        'resolve': _resolve_container,
    }


def _ovsdb_is_owned(external_ids):
    from ansible_collections.netwire.fabric.plugins.module_utils._ovs import ovsdb as _ovsdb
    return _ovsdb.is_owned(external_ids)


def _ovs_snapshot(ctx):
    """OVSDB as it is (read only), or an empty snapshot on hosts without OVS.

    Read on the run's own connection (``ctx.ovs``), which the OVS stage then uses: one
    connection per run."""
    from ansible_collections.netwire.fabric.plugins.module_utils._ovs import ovsdb as _ovsdb
    if not ctx.ovs.socket_exists():
        return _ovsdb.empty_snapshot()
    return ctx.ovs.client.snapshot()


def _resolve_container(ref, ref_type='auto'):
    from ansible_collections.netwire.fabric.plugins.module_utils._linux.netns import resolve
    return resolve(ref, ref_type)


def _ovs_foreign_ports(ctx):
    """Preflight of state=absent: the foreign ports on every OVS bridge of ours (none without OVS)."""
    return foreign_ports(_ovs_snapshot(ctx))
