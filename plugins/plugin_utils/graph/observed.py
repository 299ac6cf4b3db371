# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The observed view: the model's picture, marked with what the hosts report (net_info).

Each host's ``net_info`` result (owned links, kernel tunnels with their flood
remotes, attachments, and the owned OVS bridges, tunnel ports and attachments)
is compared with the host's plan:

* a declared object the host does not have is ``missing``: a bridge, a
  container interface (its host end on the right bridge), a tunnel (both ends
  of a host pair: the OVS port, the kernel device, the VXLAN flood entry), a
  trunk's bridge, a network's VLAN on its trunk (its fake bridge on the
  trunk's bridge with the network's tag); a container is missing when all its
  interfaces are;
* an owned object (ours by its mark) that the plan does not declare is
  ``extra``, drawn in its host; objects without our mark are someone else's
  and are not drawn at all (net_info does not even report them);
* a host with no report (unreachable, net_info failed) is ``unknown``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.netwire.fabric.plugins.module_utils._names import ovs_tunnel_port_name, veth_host_name
from ansible_collections.netwire.fabric.plugins.plugin_utils.graph.scene import (
    Marks,
    trunk_mesh,
    tunnel_ends,
    tunnel_pairs,
)
from ansible_collections.netwire.fabric.plugins.plugin_utils.model.plan import plans_of


def _index(facts):
    """What one host reports, indexed by name."""
    ovs = facts.get('ovs') or {}
    return {
        'bridges': set(facts.get('bridges') or {}),
        'tunnels': dict(facts.get('tunnels') or {}),
        'attachments': dict((a['host_ifname'], a) for a in facts.get('attachments') or []),
        'ovs_available': bool(ovs.get('available')),
        # a fake VLAN bridge (a network on a trunk) is a bridge of the picture too
        'ovs_bridges': set(b['name'] for b in (ovs.get('bridges') or []) + (ovs.get('fake_bridges') or [])),
        'fake_bridges': dict((b['name'], b) for b in ovs.get('fake_bridges') or []),
        'ovs_tunnels': dict((p['name'], p) for p in ovs.get('tunnels') or []),
        'ovs_attachments': dict((p['name'], p) for p in ovs.get('attachments') or []),
        'containers': dict(facts.get('containers') or {}),
    }


def reported(facts):
    """True when ``facts`` is a usable net_info result."""
    return isinstance(facts, dict) and not facts.get('failed') and not facts.get('unreachable') \
        and 'attachments' in facts


class Observation(Marks):
    """The statuses of a model's elements on the hosts that reported ``facts`` (``{host: net_info result}``)."""

    def __init__(self, normalized, facts):
        self._status = {}
        self._notes = {}
        self._extras = {}
        self._addresses = {}
        self._hosts = {}
        self._normalized = normalized
        plans = plans_of(normalized)
        seen = {}
        for host in sorted(normalized['hosts']):
            if reported((facts or {}).get(host)):
                seen[host] = _index(facts[host])
            else:
                self._hosts[host] = 'unknown'
        for host in sorted(plans):
            if host in seen:
                self._host(host, plans[host], seen[host])
            else:
                self._unknown(host)
        self._tunnels(seen)

    # -- Marks
    def status(self, eid):
        return self._status.get(eid, 'ok')

    def notes(self, eid):
        return self._notes.get(eid, [])

    def addresses(self, container, ifname):
        return self._addresses.get((container, ifname))

    def extras(self, host, network=None):
        return [e for e in self._extras.get(host, []) if network is None or e['network'] == network]

    def host_status(self, host):
        return self._hosts.get(host, 'ok')

    def counts(self):
        """``{'missing': n, 'extra': n, 'unknown': n}`` over the whole model."""
        out = {'missing': 0, 'extra': sum(len(v) for v in self._extras.values()), 'unknown': 0}
        for status in self._status.values():
            if status in out:
                out[status] += 1
        return out

    # -- comparison
    def _set(self, eid, status, note=None):
        self._status[eid] = status
        if note:
            self._notes.setdefault(eid, []).append(note)

    def _unknown(self, host):
        nets, containers = self._normalized['networks'], self._normalized['containers']
        trunks = self._normalized.get('trunks') or {}
        for t in sorted(trunks):
            if host in trunks[t]['hosts']:
                self._set('trunk:%s:%s' % (host, t), 'unknown')
        for n in sorted(nets):
            if host in nets[n]['hosts']:
                self._set('bridge:%s:%s' % (host, n), 'unknown')
                if nets[n].get('trunk') in trunks:
                    self._set('vlan:%s:%s' % (host, n), 'unknown')
        for cname in sorted(containers):
            if containers[cname]['host'] == host:
                self._set('container:%s' % cname, 'unknown')
                for itf in containers[cname]['interfaces']:
                    self._set('attach:%s:%s' % (cname, itf['ifname']), 'unknown')

    def _host(self, host, plan, seen):
        nets, containers = self._normalized['networks'], self._normalized['containers']
        by_bridge = dict((net['bridge'], name) for name, net in plan['networks'].items())
        trunks = self._normalized.get('trunks') or {}
        no_ovs = None if seen['ovs_available'] else 'Open vSwitch not running'
        for t in sorted(trunks):
            if host in trunks[t]['hosts'] and trunks[t]['bridge'] not in seen['ovs_bridges']:
                self._set('trunk:%s:%s' % (host, t), 'missing', no_ovs)
        for name in sorted(plan['networks']):
            net = plan['networks'][name]
            there = seen['bridges'] if net['backend'] == 'linux' else seen['ovs_bridges']
            if net['bridge'] not in there:
                self._set('bridge:%s:%s' % (host, name), 'missing', None if net['backend'] == 'linux' else no_ovs)
            if net.get('trunk') in trunks:
                why = self._vlan_missing(net, trunks[net['trunk']], seen)
                if why:
                    self._set('vlan:%s:%s' % (host, name), 'missing', why)
        expected_ends = set()
        # a container on a fake VLAN bridge is a port of its parent (the trunk's bridge)
        parents = dict((b['name'], b['parent']) for b in plan['ovs_bridges'] if b.get('parent'))
        for cname in sorted(containers):
            c = containers[cname]
            if c['host'] != host:
                continue
            missing = 0
            for itf in c['interfaces']:
                aid = 'attach:%s:%s' % (cname, itf['ifname'])
                end, bridge = veth_host_name(cname, itf['ifname']), nets[itf['network']]['bridge']
                bridge = parents.get(bridge, bridge)
                expected_ends.add(end)
                found = seen['attachments'].get(end) or seen['ovs_attachments'].get(end)
                if found is None:
                    self._set(aid, 'missing')
                    missing += 1
                elif found.get('bridge') != bridge:
                    self._set(aid, 'missing', 'on %s' % (found.get('bridge') or 'no bridge'))
                    missing += 1
                inside = seen['containers'].get(c['ref'])
                if inside is not None:
                    links = [l for l in inside.get('links') or [] if l.get('name') == itf['ifname']]
                    self._addresses[(cname, itf['ifname'])] = list(links[0].get('addresses') or []) if links else []
            if c['interfaces'] and missing == len(c['interfaces']):
                self._set('container:%s' % cname, 'missing')
        self._host_extras(host, plan, seen, by_bridge, expected_ends)

    def _host_extras(self, host, plan, seen, by_bridge, expected_ends):
        extras = []

        def add(kind, name, lines, bridge=None):
            network = by_bridge.get(bridge)
            extras.append({'id': 'extra:%s:%s:%s' % (host, kind, name), 'lines': lines, 'network': network,
                           'attach_to': 'bridge:%s:%s' % (host, network) if network else None})

        declared = set(b['name'] for b in plan['linux_bridges'])
        for name in sorted(seen['bridges'] - declared):
            add('bridge', name, [name, 'linux bridge'])
        declared = set(b['name'] for b in plan['ovs_bridges'])
        for name in sorted(seen['ovs_bridges'] - declared):
            add('ovs-bridge', name, [name, 'ovs bridge'])
        ends = dict(seen['ovs_attachments'])
        ends.update(seen['attachments'])
        for name in sorted(set(ends) - expected_ends):
            a = ends[name]
            who = a.get('identity') or a.get('container') or '?'
            add('attach', name, ['%s/%s' % (who, a.get('ifname') or a.get('interface') or '?'),
                                 'host end %s' % name], a.get('bridge'))
        tunnels = dict((t['name'], t) for t in plan['linux_tunnels'])
        for name in sorted(seen['tunnels']):
            t = seen['tunnels'][name]
            remotes = t.get('remotes') or []
            if name not in tunnels:
                add('tunnel', name, [name, '%s to %s' % (t.get('kind'), ', '.join(remotes) or 'nobody')],
                    t.get('master'))
                continue
            for remote in sorted(set(remotes) - set(tunnels[name]['remotes'])):
                add('remote', '%s:%s' % (name, remote), [name, 'flood to %s' % remote], t.get('master'))
        declared = set()
        for entry in plan['ovs_tunnels']:
            if entry['network'] not in self._normalized['networks']:  # a trunk's mesh (netwire_trunks)
                declared.update(ovs_tunnel_port_name(entry['type'], entry['network'], r) for r in entry['remotes'])
                continue
            net = self._normalized['networks'][entry['network']]
            for a, b in tunnel_pairs(net):
                declared.update(end[1] for end in tunnel_ends(net, self._normalized['hosts'], a, b)
                                if end[0] == host)
        for name in sorted(set(seen['ovs_tunnels']) - declared):
            p = seen['ovs_tunnels'][name]
            add('ovs-tunnel', name, [name, '%s to %s' % (p.get('type'), p.get('remote') or '?')], p.get('bridge'))
        self._extras[host] = extras

    @staticmethod
    def _vlan_missing(net, trunk, seen):
        """Why a network's VLAN on its trunk is not there (its fake bridge on the trunk's bridge with its tag),
        or None."""
        fake = seen['fake_bridges'].get(net['bridge'])
        if fake is None:
            if net['bridge'] in seen['ovs_bridges']:
                return '%s is not a VLAN of %s' % (net['bridge'], trunk['bridge'])
            return 'no %s' % net['bridge']
        if fake.get('parent') != trunk['bridge']:
            return '%s on %s' % (net['bridge'], fake.get('parent') or 'no bridge')
        if fake.get('vlan') != net['vlan']:
            if fake.get('vlan') is None:
                return '%s without a vlan' % net['bridge']
            return '%s with vlan %s' % (net['bridge'], fake.get('vlan'))
        return None

    @staticmethod
    def _end_missing(net, here, name, remote, seen):
        """Why the end of a tunnel on ``here`` is missing, or None when it is there."""
        if net['backend'] == 'ovs':
            port = seen['ovs_tunnels'].get(name)
            if port is None:
                return 'no %s on %s' % (name, here)
            if port.get('bridge') != net['bridge']:
                return '%s of %s on %s' % (name, here, port.get('bridge'))
            return None
        device = seen['tunnels'].get(name)
        if device is None:
            return 'no %s on %s' % (name, here)
        if net['overlay'] == 'vxlan' and remote not in (device.get('remotes') or []):
            return 'no flood to %s in %s on %s' % (remote, name, here)
        return None

    def _tunnels(self, seen):
        nets, hosts = self._normalized['networks'], self._normalized['hosts']
        meshes = [nets[n] for n in sorted(nets)]
        meshes += [trunk_mesh(t) for _name, t in sorted((self._normalized.get('trunks') or {}).items())]
        for net in meshes:
            n = net['name']
            for a, b in tunnel_pairs(net):
                tid = 'tunnel:%s:%s:%s' % (n, a, b)
                notes, unknown = [], False
                for here, name, remote in tunnel_ends(net, hosts, a, b):
                    if here not in seen:
                        unknown = True
                    elif self._end_missing(net, here, name, remote, seen[here]):
                        notes.append(self._end_missing(net, here, name, remote, seen[here]))
                if notes:
                    self._status[tid] = 'missing'
                    self._notes[tid] = notes
                elif unknown:
                    self._status[tid] = 'unknown'
