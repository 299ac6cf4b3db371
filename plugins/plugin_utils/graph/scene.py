# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Scenes: what a picture of the network shows, before it is written as DOT or Mermaid.

A :class:`Scene` is plain data in a fixed order (hosts, networks, containers by
name), so the same model always gives the same text. Every node and edge has an
id that names the model element it stands for; the observed view
(``observed.py``) gives some of them a status other than ``ok``:

``bridge:<host>:<network>``        a network's bridge on a host
``container:<container>``          a container (its interfaces are label lines)
``attach:<container>:<ifname>``    a container interface on its bridge
``tunnel:<network>:<host>:<host>`` the tunnel between two hosts of a network (hosts in name order); a
                                   trunk's mesh is the network ``trunk:<trunk>`` here (``trunk_mesh``)
``trunk:<host>:<trunk>``           a trunk's bridge on a host (``netwire_trunks``)
``vlan:<host>:<network>``          a network on a trunk: its fake VLAN bridge on the trunk's bridge
``host:<host>``                    a host (a cluster in the topology, a node in the overview)
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import itertools

from ansible_collections.netwire.fabric.plugins.module_utils._names import (
    linux_tunnel_name,
    ovs_tunnel_port_name,
    trunk_overlay_id,
)
from ansible_collections.netwire.fabric.plugins.plugin_utils.model.schema import host_address

# Zone colours (fill, line): no red and no orange, which mean missing and extra.
PALETTE = (
    ('#dbeafe', '#1d4ed8'),  # blue
    ('#dcfce7', '#15803d'),  # green
    ('#ede9fe', '#6d28d9'),  # violet
    ('#fef9c3', '#a16207'),  # amber
    ('#cffafe', '#0e7490'),  # cyan
    ('#e0e7ff', '#4338ca'),  # indigo
    ('#ecfccb', '#4d7c0f'),  # lime
    ('#fae8ff', '#a21caf'),  # fuchsia
    ('#f1f5f9', '#475569'),  # slate
    ('#ccfbf1', '#0f766e'),  # teal
)
# Status colours (fill, line) and the word added to the label.
STATUS = {
    'ok': None,
    'missing': ('#fee2e2', '#dc2626', 'MISSING'),
    'extra': ('#ffedd5', '#ea580c', 'EXTRA (not in the model)'),
    'unknown': ('#f3f4f6', '#9ca3af', 'NOT REPORTED'),
}
HOST_COLOR = '#64748b'
OUTSIDE = 'outside'

# A model is drawn as one picture up to these sizes; above either, as an overview plus one picture
# per network (docs/graph.md, "Large models").
LARGE_NODES = 40        # bridges and containers
LARGE_TUNNELS = 12      # tunnel edges
# In a picture of one network, a mesh of more tunnels than this is drawn as a star around the overlay.
STAR_TUNNELS = 10
# A topology of more hosts than this is drawn left to right, one host under the other.
WIDE_HOSTS = 4


class Scene(object):
    """One picture: clusters, nodes and edges in drawing order, and the zone colours of its legend."""

    def __init__(self, name, title, kind, zones):
        self.name = name
        self.title = title
        self.kind = kind
        self.zones = zones
        self.clusters = []
        self.nodes = []
        self.edges = []
        # top to bottom: hosts side by side; left to right: hosts one under the other (many hosts)
        self.direction = 'LR' if kind != 'topology' else 'TB'

    def cluster(self, cid, lines, status='ok'):
        self.clusters.append({'id': cid, 'lines': list(lines), 'status': status})

    def node(self, nid, lines, cluster=None, zone=None, status='ok', shape='box', tooltip=None):
        self.nodes.append({'id': nid, 'lines': list(lines), 'cluster': cluster, 'zone': zone, 'status': status,
                           'shape': shape, 'tooltip': tooltip})

    def edge(self, eid, src, dst, lines=(), zone=None, status='ok', tooltip=None, directed=False, kind='link'):
        self.edges.append({'id': eid, 'src': src, 'dst': dst, 'lines': list(lines), 'zone': zone, 'status': status,
                           'tooltip': tooltip, 'directed': directed, 'kind': kind})

    def colors(self, zone):
        """(fill, line) of ``zone``; grey for no zone."""
        return self.zones.get(zone, ('#ffffff', HOST_COLOR))


def zone_colors(zones):
    """``{zone: (fill, line)}``, by zone name order (a model's colours do not depend on its other zones' order)."""
    return dict((z, PALETTE[i % len(PALETTE)]) for i, z in enumerate(sorted(zones)))


class Marks(object):
    """The statuses a picture gives its elements: all ``ok`` for the model view (see ``observed.py``)."""

    def status(self, _eid):
        return 'ok'

    def notes(self, _eid):
        return []

    def addresses(self, _container, _ifname):
        return None

    def extras(self, _host, _network=None):
        return []

    def host_status(self, _host):
        return 'ok'


NO_MARKS = Marks()


def _with_status(lines, status, notes):
    out = list(lines) + list(notes)
    if STATUS.get(status):
        out.append(STATUS[status][2])
    return out


def _cidr(address, subnet):
    return '%s/%s' % (address, subnet.split('/')[1])


def bridge_lines(net, host):
    """The label of a network's bridge on a host: name, network and address, backend and MTU."""
    extra = ', vlan %d' % net['vlan'] if net.get('vlan') else ''
    return [net['bridge'], '%s %s' % (net['name'], _cidr(host_address(net['subnet'], host['index']), net['subnet'])),
            '%s, mtu %d%s' % (net['backend'], net['mtu'], extra)]


def tunnel_words(net):
    """What every tunnel of a network shares: type, key or VNI, UDP port."""
    key = 'vni' if net['overlay'] in ('vxlan', 'geneve') else 'key'
    words = '%s %s %s' % (net['overlay'], key, net['key'])
    if net.get('port'):
        words += ' udp %s' % net['port']
    return words


def tunnel_ends(net, hosts, a, b):
    """``[(host, port or device name, remote underlay address)]`` of the tunnel between ``a`` and ``b``."""
    ends = []
    for here, there in ((a, b), (b, a)):
        remote = hosts[there]['underlay_address']
        if net['backend'] == 'ovs':
            name = ovs_tunnel_port_name(net['overlay'], net['name'], remote)
        else:
            name = linux_tunnel_name(net['overlay'], net['name'], remote)
        ends.append((here, name, remote))
    return ends


def tunnel_pairs(net):
    """The host pairs of a network's mesh, in name order; none without an overlay."""
    if net['overlay'] == 'none':
        return []
    return list(itertools.combinations(sorted(net['hosts']), 2))


def trunk_mesh(trunk):
    """A trunk's mesh as :func:`tunnel_pairs`, :func:`tunnel_ends` and :func:`tunnel_words` take a network:
    OVS ports on the trunk's bridge, named after its overlay identity (``_names.trunk_overlay_id``)."""
    return {'name': trunk_overlay_id(trunk['name']), 'backend': 'ovs', 'bridge': trunk['bridge'],
            'overlay': trunk['overlay'], 'key': trunk['key'], 'port': trunk['port'], 'hosts': trunk['hosts']}


def trunk_lines(trunk):
    """The label of a trunk's bridge on a host: name, trunk, what its mesh is."""
    return [trunk['bridge'], 'trunk %s' % trunk['name'],
            tunnel_words(trunk) if trunk['overlay'] != 'none' else 'no overlay']


def trunks_of(normalized, networks):
    """The trunks (by name) that carry any of ``networks``."""
    trunks = normalized.get('trunks') or {}
    nets = normalized['networks']
    return sorted(set(nets[n]['trunk'] for n in networks if nets[n].get('trunk') in trunks))


def size(normalized):
    """(bridges + containers, tunnel edges) of the whole model, a trunk's bridges and mesh included."""
    nets, trunks = normalized['networks'], (normalized.get('trunks') or {}).values()
    nodes = sum(len(n['hosts']) for n in nets.values()) + len(normalized['containers'])
    nodes += sum(len(t['hosts']) for t in trunks)
    tunnels = sum(len(tunnel_pairs(n)) for n in nets.values()) + sum(len(tunnel_pairs(trunk_mesh(t))) for t in trunks)
    return nodes, tunnels


def is_large(normalized):
    nodes, tunnels = size(normalized)
    return nodes > LARGE_NODES or tunnels > LARGE_TUNNELS


def _container_zone(normalized, c, wanted):
    for itf in c['interfaces']:
        if itf['network'] in wanted:
            return normalized['networks'][itf['network']]['zone']
    return None


def _container_lines(c, wanted, nets, marks):
    lines = [c['name']]
    for itf in c['interfaces']:
        if itf['network'] not in wanted:
            continue
        seen = marks.addresses(c['name'], itf['ifname'])
        address = _cidr(itf['address'], nets[itf['network']]['subnet'])
        if seen is not None and address not in seen:
            address = '%s (model %s)' % (', '.join(seen) or 'no address', address)
        how = ' dhcp' if itf.get('dhcp') else ''
        lines.append('%s %s%s' % (itf['ifname'], address, how))
    return lines


def topology(normalized, networks=None, marks=NO_MARKS, name='topology', title=None):
    """Hosts as clusters with their bridges and containers, tunnels between hosts as edges.

    ``networks``: draw only these (a picture per network of a large model); the
    containers shown are those with an interface on one of them.
    """
    nets, hosts, containers = normalized['networks'], normalized['hosts'], normalized['containers']
    wanted = sorted(nets) if networks is None else sorted(n for n in networks if n in nets)
    scene = Scene(name, title or 'netwire topology', 'topology', zone_colors(normalized['zones']))
    one_net = nets[wanted[0]] if len(wanted) == 1 else None
    pairs = dict((n, tunnel_pairs(nets[n])) for n in wanted)
    star = one_net is not None and len(pairs[one_net['name']]) > STAR_TUNNELS
    trunks = normalized.get('trunks') or {}
    used = trunks_of(normalized, wanted)
    for hname in sorted(hosts):
        h = hosts[hname]
        carried = [n for n in wanted if hname in nets[n]['hosts']]
        # a trunk's bridge is on every host the trunk spans, carrying its networks' VLANs there or not
        trunked = [t for t in used if hname in trunks[t]['hosts']]
        here = [c for c in sorted(containers) if containers[c]['host'] == hname
                and any(i['network'] in wanted for i in containers[c]['interfaces'])]
        extras = marks.extras(hname, one_net['name'] if one_net else None)
        if not carried and not here and not extras and not trunked:
            continue
        cid = 'host:%s' % hname
        status = marks.host_status(hname)
        scene.cluster(cid, _with_status([hname, 'underlay %s' % h['underlay_address']], status, []), status)
        for t in trunked:
            kid = 'trunk:%s:%s' % (hname, t)
            scene.node(kid, _with_status(trunk_lines(trunks[t]), marks.status(kid), marks.notes(kid)), cid,
                       None, marks.status(kid))
        for n in carried:
            bid = 'bridge:%s:%s' % (hname, n)
            scene.node(bid, _with_status(bridge_lines(nets[n], h), marks.status(bid), marks.notes(bid)), cid,
                       nets[n]['zone'], marks.status(bid))
            if nets[n].get('trunk') in trunks:
                vid = 'vlan:%s:%s' % (hname, n)
                scene.edge(vid, 'trunk:%s:%s' % (hname, nets[n]['trunk']), bid,
                           _with_status(['vlan %d' % nets[n]['vlan']], marks.status(vid), marks.notes(vid)),
                           nets[n]['zone'], marks.status(vid), kind='attach')
        for cname in here:
            c = containers[cname]
            nid = 'container:%s' % cname
            scene.node(nid, _with_status(_container_lines(c, wanted, nets, marks), marks.status(nid),
                                         marks.notes(nid)),
                       cid, _container_zone(normalized, c, wanted), marks.status(nid), shape='component')
            for itf in c['interfaces']:
                if itf['network'] not in wanted:
                    continue
                aid = 'attach:%s:%s' % (cname, itf['ifname'])
                scene.edge(aid, 'bridge:%s:%s' % (hname, itf['network']), nid,
                           _with_status([], marks.status(aid), marks.notes(aid)),
                           nets[itf['network']]['zone'], marks.status(aid), kind='attach')
        for extra in extras:
            scene.node(extra['id'], _with_status(extra['lines'], 'extra', []), cid, None, 'extra',
                       shape='box', tooltip=extra.get('tooltip'))
            if extra.get('attach_to'):
                scene.edge(extra['id'] + ':link', extra['attach_to'], extra['id'], (), None, 'extra', kind='attach')
    present = set(n['id'] for n in scene.nodes)
    for n in wanted:
        net = nets[n]
        if star:
            _star(scene, net, hosts, marks, present)
            continue
        for a, b in pairs[n]:
            tid = 'tunnel:%s:%s:%s' % (n, a, b)
            ends = tunnel_ends(net, hosts, a, b)
            tip = '; '.join('%s %s -> %s' % end for end in ends)
            lines = ['%s: %s' % (n, tunnel_words(net)), 'mtu %d' % net['mtu']]
            scene.edge(tid, 'bridge:%s:%s' % (a, n), 'bridge:%s:%s' % (b, n),
                       _with_status(lines, marks.status(tid), marks.notes(tid)), net['zone'], marks.status(tid),
                       tooltip='%s %s: %s' % (n, tunnel_words(net), tip), kind='tunnel')
    for t in used:
        mesh = trunk_mesh(trunks[t])
        for a, b in tunnel_pairs(mesh):
            tid = 'tunnel:%s:%s:%s' % (mesh['name'], a, b)
            tip = '; '.join('%s %s -> %s' % end for end in tunnel_ends(mesh, hosts, a, b))
            scene.edge(tid, 'trunk:%s:%s' % (a, t), 'trunk:%s:%s' % (b, t),
                       _with_status(['trunk %s: %s' % (t, tunnel_words(mesh))], marks.status(tid), marks.notes(tid)),
                       None, marks.status(tid), tooltip='trunk %s %s: %s' % (t, tunnel_words(mesh), tip), kind='tunnel')
    if len(scene.clusters) > WIDE_HOSTS:
        scene.direction = 'LR'
    if one_net is not None and not title:
        scene.title = 'netwire network %s: %s, %s, mtu %d' % (one_net['name'], one_net['subnet'],
                                                              tunnel_words(one_net) if one_net['overlay'] != 'none'
                                                              else 'no overlay', one_net['mtu'])
    return scene


def _star(scene, net, hosts, marks, present):
    """A large mesh as a star: one overlay node, one spoke per host; a spoke is missing when one of the
    host's tunnels is (its notes say which)."""
    oid = 'overlay:%s' % net['name']
    scene.node(oid, ['%s overlay' % net['name'], tunnel_words(net), 'mtu %d, full mesh of %d hosts' % (
        net['mtu'], len(net['hosts']))], None, net['zone'], shape='ellipse')
    for hname in sorted(net['hosts']):
        bid = 'bridge:%s:%s' % (hname, net['name'])
        if bid not in present:
            continue
        status, notes, tips = 'ok', [], []
        for a, b in tunnel_pairs(net):
            if hname not in (a, b):
                continue
            tid = 'tunnel:%s:%s:%s' % (net['name'], a, b)
            tips.extend('%s %s -> %s' % end for end in tunnel_ends(net, hosts, a, b) if end[0] == hname)
            if marks.status(tid) != 'ok':
                status = marks.status(tid) if status == 'ok' else status
                notes.append('tunnel to %s %s' % (b if a == hname else a, marks.status(tid)))
        scene.edge('spoke:%s:%s' % (net['name'], hname), oid, bid, _with_status([], status, notes), net['zone'],
                   status, tooltip='; '.join(tips), kind='tunnel')


def overview(normalized, marks=NO_MARKS, name='topology'):
    """A large model at a glance: hosts and networks as nodes, an edge where a host carries a network."""
    nets, hosts, containers = normalized['networks'], normalized['hosts'], normalized['containers']
    scene = Scene(name, 'netwire overview: %d hosts, %d networks, %d containers (one picture per network '
                        'beside this one)' % (len(hosts), len(nets), len(containers)),
                  'overview', zone_colors(normalized['zones']))
    for hname in sorted(hosts):
        count = len([c for c in containers.values() if c['host'] == hname])
        extras = marks.extras(hname)
        lines = [hname, 'underlay %s' % hosts[hname]['underlay_address'], '%d containers' % count]
        status = marks.host_status(hname)
        if extras and status == 'ok':
            # the host holds objects of ours the model lacks: orange, with their count (they are not drawn here)
            status = 'extra'
            lines.append('%d extra objects' % len(extras))
        scene.node('host:%s' % hname, lines if status == 'extra' else _with_status(lines, status, []), None, None,
                   status)
    for n in sorted(nets):
        net = nets[n]
        scene.node('network:%s' % n, [n, net['subnet'], '%s, %s' % (
            net['backend'], tunnel_words(net) if net['overlay'] != 'none' else 'no overlay'), 'mtu %d' % net['mtu']],
            None, net['zone'], shape='ellipse')
        for hname in sorted(net['hosts']):
            ids = ['bridge:%s:%s' % (hname, n)] + ['tunnel:%s:%s:%s' % (n, a, b) for a, b in tunnel_pairs(net)
                                                   if hname in (a, b)]
            ids += ['attach:%s:%s' % (c['name'], i['ifname']) for c in containers.values() if c['host'] == hname
                    for i in c['interfaces'] if i['network'] == n]
            bad = sorted(set(marks.status(i) for i in ids) - set(['ok']))
            status = bad[0] if bad else 'ok'
            missing = len([i for i in ids if marks.status(i) == 'missing'])
            lines = ['%d missing' % missing] if missing else []
            scene.edge('carries:%s:%s' % (hname, n), 'host:%s' % hname, 'network:%s' % n,
                       _with_status(lines, status, []), net['zone'], status)
    return scene


def zone_flows(normalized, name='zones'):
    """The zones (with their networks) and the connections the model allows between them, to and from outside."""
    zones, nets, containers = normalized['zones'], normalized['networks'], normalized['containers']
    scene = Scene(name, 'netwire zones: allowed flows (replies always flow back)', 'zones', zone_colors(zones))
    for z in sorted(zones):
        lines = [z] + (['(%s)' % zones[z]['description']] if zones[z].get('description') else [])
        lines += ['%s %s' % (n, nets[n]['subnet']) for n in sorted(nets) if nets[n]['zone'] == z]
        scene.node('zone:%s' % z, lines, None, z)
    nat = sorted(set(nets[n]['zone'] for n in nets if nets[n]['nat']))
    published = {}
    for cname in sorted(containers):
        for pub in containers[cname]['publish']:
            zone = nets[pub['network']]['zone']
            words = '%s %s -> %s:%s' % (pub['proto'], pub['host_port'], cname, pub['port'])
            published.setdefault(zone, []).append(words)
    if nat or published:
        scene.node(OUTSIDE, [OUTSIDE, '(beyond the hosts)'], None, None, shape='ellipse')
    for z in sorted(zones):
        for target in zones[z]['allow_to']:
            if target != z:
                scene.edge('flow:%s:%s' % (z, target), 'zone:%s' % z, 'zone:%s' % target, ['may connect'], z,
                           directed=True)
    for z in nat:
        scene.edge('nat:%s' % z, 'zone:%s' % z, OUTSIDE, ['nat'], z, directed=True)
    for z in sorted(published):
        scene.edge('publish:%s' % z, OUTSIDE, 'zone:%s' % z, published[z], z, directed=True)
    return scene
