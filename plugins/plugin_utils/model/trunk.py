# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Trunks (issue 19; the wire tool's ``add-br <net> <trunk> <vid>``): ``netwire_trunks``, a network's ``trunk``.

A trunk is one OVS bridge per host it spans (``_names.trunk_bridge_name``), joined between hosts by one
overlay mesh of its own (``overlay``, ``key``, ``port``, as a network's; its tunnel ports carry every VLAN).
An OVS network with ``trunk: <name>`` and ``vlan: <vid>`` has no bridge and no tunnels of its own: its
bridge ``nw-<network>`` is a fake VLAN bridge of the trunk's bridge on that VLAN (an internal port of the
trunk bridge with the tag: the network's gateway, with its address, MTU and MAC), and its containers'
ports are ports of the trunk bridge with the tag. So one mesh carries many networks, each on its VLAN,
and a frame of one VLAN never reaches another (OVS access ports). The plan lists a trunk's bridge before
its networks' fake bridges (the parent first); the purge removes fake bridges first (``_ovs/bridge.py``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.netwire.fabric.plugins.module_utils._names import trunk_bridge_name, trunk_overlay_id
from ansible_collections.netwire.fabric.plugins.plugin_utils.model.fields import (
    _at,
    _ifname,
    _path,
    netdev_underlay_finding,
)
from ansible_collections.netwire.fabric.plugins.plugin_utils.model.read import _clashes, _entries, read_host_list, read_overlay
from ansible_collections.netwire.fabric.plugins.plugin_utils.model.schema import (
    DEFAULT_UDP_PORT,
    KEY_RANGE,
    TRUNK_KEYS,
)

VAR = 'netwire_trunks'


def read_trunks(f, raw, hosts):
    """``netwire_trunks`` in normal form: ``{name: {name, bridge, overlay, key, port, hosts_setting, ...}}``."""
    trunks = {}
    for name, path, body in _entries(f, VAR, raw, 'trunk', TRUNK_KEYS):
        t = {'name': name, 'bridge': trunk_bridge_name(name), 'overlay': 'none', 'key': None, 'port': None,
             'hosts_setting': None, 'hosts': [], 'description': None}
        trunks[name] = t
        if body is None:
            continue
        read_overlay(f, path, body, t, "trunk '%s'" % name)
        if body.get('bridge') is not None:
            t['bridge'] = _ifname(f, _path(path, 'bridge'), body['bridge'], 'bridge name') or t['bridge']
        if body.get('hosts') is not None:
            t['hosts_setting'] = read_host_list(f, _path(path, 'hosts'), body['hosts'], hosts) or []
        if body.get('description') is not None and not isinstance(body['description'], str):
            f.add(_path(path, 'description'), 'description must be a string')
        else:
            t['description'] = body.get('description')
    for name, bridge, other in _clashes(trunks, lambda t: t['bridge']):
        f.add(_at(VAR, name, 'bridge'), "bridge name '%s' is also the bridge of trunk %s" % (bridge, other))
    return trunks


def members(trunk, nets):
    """The networks on ``trunk``, by name."""
    return [nets[n] for n in sorted(nets) if nets[n].get('trunk') == trunk['name']]


def carrier(net, trunks):
    """What joins a network's hosts: ``(overlay, vlan)`` of its trunk when it is on one, else its own."""
    if net.get('trunk') in trunks:
        return trunks[net['trunk']]['overlay'], net['vlan']
    return net['overlay'], net['vlan'] if net['backend'] == 'ovs' else None


def trunk_checks(f, trunks, nets, hosts):
    """A trunk's hosts (given, or its networks'), and what a network on a trunk cannot be. After ``_span``."""
    for name in sorted(trunks):
        t = trunks[name]
        tpath = _path(VAR, name)
        on = members(t, nets)
        t['hosts'] = sorted(t['hosts_setting'] if t['hosts_setting'] is not None
                            else set(h for n in on for h in n['hosts']))
        vlans = {}
        for net in on:
            npath = _path('netwire_networks', net['name'])
            if net['backend'] == 'linux':
                f.add(_path(npath, 'trunk'), 'network %s is on trunk %s but has backend linux: a trunk is an OVS '
                      'bridge and its networks are its VLANs (set backend: ovs)' % (net['name'], name))
            elif net['backend'] == 'ovs' and net['vlan'] is None:
                f.add(_path(npath, 'trunk'), 'network %s on trunk %s needs a vlan (its VLAN on the trunk, 1..4094)'
                      % (net['name'], name))
            if net['overlay'] not in ('none', None):
                f.add(_path(npath, 'overlay'), 'network %s is on trunk %s, whose overlay joins its hosts: remove '
                      'overlay, key and port from the network (set them on netwire_trunks.%s)'
                      % (net['name'], name, name))
            outside = [h for h in net['hosts'] if h not in t['hosts']]
            if outside:
                f.add(_path(npath, 'hosts'), 'network %s spans %s, which trunk %s does not span (its hosts: %s): add '
                      'them to netwire_trunks.%s.hosts' % (net['name'], ', '.join(outside), name,
                                                           ', '.join(t['hosts']) or 'none', name))
            if net['vlan'] is not None:
                if net['vlan'] in vlans:
                    f.add(_path(npath, 'vlan'), 'VLAN %d of trunk %s is also the VLAN of network %s: one network '
                          'per VLAN of a trunk' % (net['vlan'], name, vlans[net['vlan']]))
                vlans.setdefault(net['vlan'], net['name'])
        if not on:
            f.warn(tpath, 'trunk %s carries no network (no network has trunk: %s)%s'
                   % (name, name, ': its bridge and tunnels are built on its hosts' if t['hosts'] else ''))
        if t['overlay'] == 'none' and len(t['hosts']) > 1:
            f.add(_path(tpath, 'overlay'), 'trunk %s spans %d hosts (%s) but has no overlay: set overlay to vxlan, '
                  'gre or geneve, or keep it on one host' % (name, len(t['hosts']), ', '.join(t['hosts'])))
        if t['overlay'] in KEY_RANGE and len(t['hosts']) > 1:
            for host in t['hosts']:
                h = hosts.get(host)
                if h and h['underlay_address'] is None:
                    f.add(h['paths']['underlay_address'], 'host %s carries trunk %s but has no underlay address '
                          '(set netwire_host.underlay_address)' % (host, name))
                elif h:
                    netdev_underlay_finding(f, h, host, 'trunk %s' % name)
    _clashes_with_networks(f, trunks, nets)


def _clashes_with_networks(f, trunks, nets):
    """A trunk's key, UDP port and bridge name against the networks' and the other trunks'."""
    keys, bridges = {}, {}
    for name in sorted(nets):
        net = nets[name]
        if net['key'] is not None and net['overlay'] in KEY_RANGE:
            keys.setdefault((net['overlay'], net['key']), 'network %s' % name)
        bridges.setdefault(net['bridge'], 'network %s' % name)
    for name in sorted(trunks):
        t = trunks[name]
        if t['key'] is not None and t['overlay'] in KEY_RANGE:
            other = keys.setdefault((t['overlay'], t['key']), 'trunk %s' % name)
            if other != 'trunk %s' % name:
                f.add(_at(VAR, name, 'key'), '%s key %d is also the key of %s' % (t['overlay'], t['key'], other))
        other = bridges.setdefault(t['bridge'], 'trunk %s' % name)
        if other != 'trunk %s' % name:
            f.add(_at(VAR, name, 'bridge'), "bridge name '%s' is also the bridge of %s" % (t['bridge'], other))
        if t['port'] is None or len(t['hosts']) < 2:
            continue
        # kernel and OVS tunnels cannot share a UDP socket: a Linux network's overlay on the same port and host
        for net_name in sorted(nets):
            net = nets[net_name]
            shared = sorted(set(net['hosts']) & set(t['hosts']))
            if net['backend'] == 'linux' and (net['overlay'], net['port']) == (t['overlay'], t['port']) \
                    and len(net['hosts']) > 1 and shared:
                f.add(_at(VAR, name, 'port'), 'on host %s, the %s overlays of trunk %s (ovs) and network %s (linux) '
                      'both use UDP port %d: give one of them another port'
                      % (shared[0], t['overlay'], name, net_name, t['port']))


def public_trunk(t):
    return dict((k, v) for k, v in t.items() if k != 'hosts_setting')


# ---------------------------------------------------------------- plan

def trunk_entries(normalized, host, endpoint_devices):
    """``host``'s share of every trunk it spans: ``(ovs_bridges, ovs_tunnels, firewall tunnels, names)``.

    The bridge has its internal port and no address (the networks' gateways are their fake bridges); the
    tunnels are one mesh towards the trunk's other hosts, admitted by the firewall from them only.
    """
    h = normalized['hosts'][host]
    hosts, trunks = normalized['hosts'], normalized.get('trunks') or {}
    bridges, tunnels, endpoints, names = [], [], [], []
    for name in sorted(trunks):
        t = trunks[name]
        if host not in t['hosts']:
            continue
        bridges.append({'name': t['bridge'], 'datapath_type': h['ovs_datapath'],
                        'ports': [{'name': t['bridge'], 'type': 'internal'}]})
        names.append(t['bridge'])
        remotes = [hosts[r]['underlay_address'] for r in t['hosts'] if r != host]
        if t['overlay'] not in KEY_RANGE or not remotes:
            continue
        ident = trunk_overlay_id(name)
        entry = {'bridge': t['bridge'], 'network': ident, 'type': t['overlay'], 'key': t['key'],
                 'local_ip': h['underlay_address'], 'remotes': remotes}
        if t['overlay'] in DEFAULT_UDP_PORT:
            entry['dst_port'] = t['port']
        tunnels.append(entry)
        for device in endpoint_devices:
            endpoint = {'network': ident, 'type': t['overlay'], 'local_address': h['underlay_address'],
                        'device': device, 'peers': sorted(remotes)}
            if t['overlay'] in DEFAULT_UDP_PORT:
                endpoint['port'] = t['port']
            endpoints.append(endpoint)
    return bridges, tunnels, endpoints, names


def fake_bridge_entry(net, trunks, address, mac):
    """The plan's ``ovs_bridges`` entry of a network on a trunk: a fake VLAN bridge of the trunk's bridge whose
    interface is the network's gateway (on the VLAN, like the containers' ports: test_vlan.py)."""
    return {'name': net['bridge'], 'parent': trunks[net['trunk']]['bridge'], 'vlan': net['vlan'],
            'other_config': {'hwaddr': mac},
            'ports': [{'name': net['bridge'], 'type': 'internal', 'tag': net['vlan'], 'mtu': net['mtu'],
                       'addresses': [address]}]}
