# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cross-checks of the normalized model, and :func:`analyze`, which reads and checks it.

A check looks across entries (which hosts a network spans, MTUs over the
underlay, duplicate addresses, MACs and derived names, publications, the
hosts' own networks and listening ports) and adds findings or warnings.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.netwire.fabric.plugins.module_utils._names import WIREGUARD_OVERHEAD, veth_host_name
from ansible_collections.netwire.fabric.plugins.plugin_utils.model.dns import _dns, dns_checks
from ansible_collections.netwire.fabric.plugins.plugin_utils.model.evpn import VAR as CONTROL_PLANE_VAR, evpn_checks, read_control_plane
from ansible_collections.netwire.fabric.plugins.plugin_utils.model.encryption import (
    _encryption,
    encryption_checks,
    peer_map,
)
from ansible_collections.netwire.fabric.plugins.plugin_utils.model.policy import check_container_policy
from ansible_collections.netwire.fabric.plugins.plugin_utils.model.trunk import (
    VAR as TRUNKS_VAR,
    carrier,
    public_trunk,
    read_trunks,
    trunk_checks,
)
from ansible_collections.netwire.fabric.plugins.plugin_utils.model.services import (
    read_catalog,
    read_lb,
    read_services,
    services_checks,
)
from ansible_collections.netwire.fabric.plugins.plugin_utils.model.fields import (
    _Findings, _as_dict, _at, _is_int, _path, _unknown_keys, netdev_underlay_finding,
)
from ansible_collections.netwire.fabric.plugins.plugin_utils.model.read import (
    _containers, _hosts, _networks, _resolve_gateways, _zones, network_facts,
)
from ansible_collections.netwire.fabric.plugins.plugin_utils.model.schema import (
    DEFAULT_MTU,
    DEFAULT_UNDERLAY_MTU,
    KEY_RANGE,
    MODEL_VARS,
    PROTOS,
    host_address,
    overlay_overhead,
)


def _span(f, nets, containers, hosts):
    """Which hosts each network spans, and the checks that need it."""
    users = {}
    for cname in sorted(containers):
        c = containers[cname]
        for i, itf in enumerate(c['interfaces']):
            if itf['network'] in nets and c['host']:
                users.setdefault(itf['network'], []).append((c['host'], cname, i))
    for name in sorted(nets):
        net = nets[name]
        path = _path('netwire_networks', name)
        on = sorted(set(h for h, _c, _i in users.get(name, [])))
        if net['hosts_setting'] is None:
            net['hosts'] = on
        else:
            net['hosts'] = sorted(net['hosts_setting'])
            for host, cname, i in users.get(name, []):
                if host not in net['hosts']:
                    f.add(_at('netwire_containers', cname, 'interfaces', i, 'network'),
                          'network %s does not span host %s (its hosts: %s)'
                          % (name, host, ', '.join(net['hosts']) or 'none'))
        if net['overlay'] == 'none' and len(net['hosts']) > 1 and not net.get('trunk'):  # a trunk's: trunk.py
            f.add(_path(path, 'overlay'), 'network %s spans %d hosts (%s) but has no overlay: set overlay to vxlan, '
                  'gre or geneve, or keep it on one host' % (name, len(net['hosts']), ', '.join(net['hosts'])))
        if net['net'] is not None:
            for host in net['hosts']:
                h = hosts.get(host)
                if h and h['index'] > net['host_slots']:
                    f.add(h['paths']['index'], 'host %s has index %d but network %s reserves only %d host addresses '
                          '(host_slots)' % (host, h['index'], name, net['host_slots']))
        if net['overlay'] in KEY_RANGE:
            for host in net['hosts']:
                h = hosts.get(host)
                if h and h['underlay_address'] is None and len(net['hosts']) > 1:
                    f.add(h['paths']['underlay_address'], 'host %s carries overlay network %s but has no underlay '
                          'address (set netwire_host.underlay_address)' % (host, name))
            # OVS tunnel ports are protected (split horizon) and kernel VXLAN is one device with a
            # flood list; per-remote kernel GRE/Geneve devices on a Linux bridge are not isolated.
            if len(net['hosts']) > 2 and net['backend'] == 'linux' and net['overlay'] != 'vxlan':
                f.warn(_path(path, 'overlay'), 'a full mesh of %s point-to-point tunnels over %d hosts loops '
                       'flooded frames: the Linux bridge ports of kernel %s tunnels are not split-horizon '
                       '(use vxlan, or the ovs backend)' % (net['overlay'], len(net['hosts']), net['overlay']))
        if net['backend'] == 'ovs' and net['overlay'] in KEY_RANGE and len(net['hosts']) > 1:
            for host in net['hosts']:
                if hosts.get(host):
                    netdev_underlay_finding(f, hosts[host], host, 'overlay %s' % name)
    # two overlays on one host sharing a UDP port (kernel and OVS tunnels cannot share a socket)
    for host in sorted(hosts):
        seen = {}
        for name in sorted(nets):
            net = nets[name]
            if host not in net['hosts'] or net['port'] is None or len(net['hosts']) < 2:
                continue
            ident = (net['overlay'], net['port'])
            other = seen.get(ident)
            if other is not None and nets[other]['backend'] != net['backend']:
                f.add(_path(_path('netwire_networks', name), 'port'),
                      'on host %s, %s overlays of networks %s (%s) and %s (%s) both use UDP port %d: give one '
                      'of them another port' % (host, net['overlay'], other, nets[other]['backend'], name,
                                                net['backend'], net['port']))
            seen.setdefault(ident, name)


def _routing(f, zones, nets, containers):
    """Allowed zone flows that cannot be routed: containers route through their local host.

    A connection from a container on network A (host ha) to one on network B
    (host hb) is routed by ha into B and answered by hb into A, so B must span
    ha and A must span hb. A warning, not a finding: the firewall still holds.
    """
    members = {}
    for cname in sorted(containers):
        c = containers[cname]
        for itf in c['interfaces']:
            net = nets.get(itf['network'])
            if net and net['zone'] and c['host']:
                members.setdefault(net['zone'], []).append((net['name'], c['host'], cname))
    missing = {}
    for zone in sorted(zones):
        for target in zones[zone]['allow_to']:
            if target == zone:
                continue
            for net_a, host_a, c_a in members.get(zone, []):
                for net_b, host_b, c_b in members.get(target, []):
                    if host_a not in nets[net_b]['hosts']:
                        missing.setdefault((net_b, host_a), '%s -> %s' % (c_a, c_b))
                    if host_b not in nets[net_a]['hosts']:
                        missing.setdefault((net_a, host_b), 'replies of %s to %s' % (c_b, c_a))
    for (net, host), example in sorted(missing.items()):
        f.warn(_path(_path('netwire_networks', net), 'hosts'),
               'zone flows need network %s on host %s (e.g. %s): add the host to its hosts' % (net, host, example))


def _mtus(f, nets, hosts, trunks):
    peers = peer_map(nets)
    for name in sorted(nets):
        net = nets[name]
        overlay, vlan = carrier(net, trunks)  # a network on a trunk crosses the trunk's tunnels, with its tag
        if overlay is None:
            continue
        encrypt = bool(net.get('encrypt')) and len(net['hosts']) > 1
        overhead = overlay_overhead(overlay, vlan, encrypt)
        spanned = set(h for h in net['hosts'] if h in hosts)
        if encrypt:
            # its tunnel packets go through each host's WireGuard device, whose MTU fits every peer of the host
            spanned.update(p for h in list(spanned) for p in peers.get(h, ()) if p in hosts)
        spanned = [hosts[h] for h in sorted(spanned)]
        floor = min([h['underlay_mtu'] for h in spanned] or [DEFAULT_UNDERLAY_MTU])
        low = sorted(spanned, key=lambda h: (h['underlay_mtu'], h['name']))
        if not overhead:
            net['mtu'] = DEFAULT_MTU if net['mtu_setting'] == 'auto' else net['mtu_setting']
        elif net['mtu_setting'] == 'auto':
            net['mtu'] = floor - overhead
        else:
            net['mtu'] = net['mtu_setting']
            if net['mtu'] > floor - overhead:
                what = ('%s encapsulation inside WireGuard (%d + %d bytes)'
                        % (overlay, overhead - WIREGUARD_OVERHEAD, WIREGUARD_OVERHEAD) if encrypt else
                        '%s encapsulation (%d bytes%s)' % (overlay, overhead, ', trunk %s' % net['trunk']
                                                           if net.get('trunk') in trunks else ''))
                f.add(_at('netwire_networks', name, 'mtu'),
                      'mtu %d does not fit %s over the underlay MTU %d of host %s: at most %d'
                      % (net['mtu'], what, floor, low[0]['name'] if low else '?', floor - overhead))


def _addresses(f, nets, containers, hosts):
    """Duplicate addresses and MACs: static or auto, container or host."""
    by_net = {}
    for name in sorted(nets):
        net = nets[name]
        if net['net'] is None:
            continue
        for host in net['hosts']:
            h = hosts.get(host)
            if h and h['index'] <= net['host_slots']:
                by_net.setdefault(name, {})[host_address(net['subnet'], h['index'])] = 'host %s' % host
    macs = {}
    # static addresses claim first so an auto address is reported as the one to change
    order = []
    for cname in sorted(containers):
        for i, itf in enumerate(containers[cname]['interfaces']):
            order.append((itf['auto'], cname, i, itf))
    for _auto, cname, i, itf in sorted(order, key=lambda t: (t[0], t[1], t[2])):
        path = _at('netwire_containers', cname, 'interfaces', i)
        if itf['network'] in by_net and itf['address']:
            claims = by_net[itf['network']]
            other = claims.get(itf['address'])
            if other is not None:
                hint = _free_address(nets[itf['network']], claims)
                f.add(path + '.address', 'address %s%s is also the address of %s on network %s%s'
                      % (itf['address'], ' (auto)' if itf['auto'] else '', other, itf['network'],
                         ': pin this interface to a free address, e.g. %s' % hint if itf['auto'] and hint else ''))
            else:
                claims[itf['address']] = '%s (interfaces[%d])' % (cname, i)
        if itf['mac']:
            other = macs.get(itf['mac'])
            if other is not None:
                f.add(path + '.mac', 'MAC address %s is also the MAC of %s' % (itf['mac'], other))
            else:
                macs[itf['mac']] = '%s interfaces[%d]' % (cname, i)


def _free_address(net, claims):
    """The first free address after the host range: a concrete suggestion for a pin."""
    subnet = net['net']
    start = int(subnet.network_address) + net['host_slots'] + 1
    for value in range(start, int(subnet.broadcast_address)):
        addr = str(ipaddress.IPv4Address(value))
        if addr not in claims:
            return addr
    return None


def _publications(f, containers, hosts):
    seen = {}
    for cname in sorted(containers):
        c = containers[cname]
        host = hosts.get(c['host'])
        for pub in c['publish']:
            if pub['bind'] == 'underlay':
                if host is None:
                    continue
                if host['underlay_address'] is None:
                    f.add(pub['path'] + '.bind', "bind 'underlay' (the default) needs the underlay address of "
                          "host %s: set its netwire_host.underlay_address, or bind to an address" % c['host'])
                    continue
                pub['bind'] = host['underlay_address']
            if host is None:
                continue
            for other_bind, other in seen.get((c['host'], pub['proto'], pub['host_port']), []):
                if '0.0.0.0' in (other_bind, pub['bind']) or other_bind == pub['bind']:
                    f.add(pub['path'] + '.host_port', '%s port %d on %s of host %s is also published by %s'
                          % (pub['proto'], pub['host_port'], pub['bind'], c['host'], other))
                    break
            seen.setdefault((c['host'], pub['proto'], pub['host_port']), []).append(
                (pub['bind'], pub['path']))


def _name_clashes(f, nets, containers, hosts, trunks):
    """Derived interface names must be unique on each host (a hash clash is astronomically rare)."""
    for host in sorted(hosts):
        owners = {}
        for name in sorted(nets):
            if host in nets[name]['hosts']:
                owners.setdefault(nets[name]['bridge'], _at('netwire_networks', name, 'bridge'))
        for name in sorted(trunks):
            if host in trunks[name]['hosts']:
                owners.setdefault(trunks[name]['bridge'], _at(TRUNKS_VAR, name, 'bridge'))
        for cname in sorted(containers):
            c = containers[cname]
            if c['host'] != host:
                continue
            for i, itf in enumerate(c['interfaces']):
                veth = veth_host_name(cname, itf['ifname'])
                path = _at('netwire_containers', cname, 'interfaces', i, 'ifname')
                if veth in owners:
                    f.add(path, "host end name '%s' is also the name of %s" % (veth, owners[veth]))
                owners.setdefault(veth, path)
        iface = hosts[host]['underlay_interface']
        if iface and iface in owners:
            f.add(hosts[host]['paths']['underlay_interface'], "underlay interface '%s' is also the name of %s"
                  % (iface, owners[iface]))


# ---------------------------------------------------------------- ranges and the hosts' own networks

# IPv4 ranges a container network can never use: they are not unicast, or they are the host's own.
RESERVED_RANGES = (
    ('0.0.0.0/8', "'this network' (0.0.0.0/8), not a unicast range"),
    ('127.0.0.0/8', 'loopback (127.0.0.0/8)'),
    ('169.254.0.0/16', 'link-local (169.254.0.0/16)'),
    ('224.0.0.0/4', 'multicast (224.0.0.0/4), not a unicast range'),
    ('240.0.0.0/4', 'reserved (240.0.0.0/4, with the broadcast address), not a unicast range'),
)
# Listening sockets bound to these only are not reached by a DNAT of the wire.
_WILDCARDS = ('0.0.0.0', '::')


def _subnet_ranges(f, nets):
    """A subnet must be unicast, and neither loopback nor link-local."""
    for name in sorted(nets):
        net = nets[name]['net']
        if net is None:
            continue
        for text, what in RESERVED_RANGES:
            if net.overlaps(ipaddress.ip_network(text)):
                f.add(_at('netwire_networks', name, 'subnet'), 'subnet %s overlaps %s' % (net, what))
                break


def host_environment(hvars):
    """What the gathered facts say about one host, or None when it has no network facts.

    ``{'networks': [(IPv4Network, where)], 'addresses': set of IPv4 addresses it holds,
    'listening': [{'proto', 'address', 'port'}] or None}``. The networks are every IPv4
    address and prefix of every interface (Ansible's network facts) and the default route's
    network, except interfaces netwire owns (``netwire_host_facts.owned_interfaces``: their
    subnets are the model's own) and loopback or link-local ones (a subnet there is a finding
    of its own). ``listening`` comes from ``netwire_host_facts`` (module host_facts).
    """
    facts = network_facts(hvars)
    if not isinstance(facts.get('interfaces'), list):
        return None
    extra = facts.get('netwire_host_facts') if isinstance(facts.get('netwire_host_facts'), dict) else {}
    owned = set(n for n in extra.get('owned_interfaces') or [] if isinstance(n, str))
    env = {'networks': [], 'addresses': set(), 'listening': None}

    def add(entry, where, skip, held=True):
        if not isinstance(entry, dict) or not isinstance(entry.get('address'), str):
            return
        try:
            iface = ipaddress.ip_interface('%s/%s' % (entry['address'], entry.get('prefix') or
                                                      entry.get('netmask') or 32))
        except ValueError:
            return
        if iface.version != 4:
            return
        if held:
            env['addresses'].add(str(iface.ip))
        if skip or iface.ip.is_loopback or iface.ip.is_link_local:
            return
        if not any(n == iface.network for n, _w in env['networks']):
            env['networks'].append((iface.network, where))

    for name in sorted(n for n in facts['interfaces'] if isinstance(n, str)):
        body = facts.get(name)
        if not isinstance(body, dict):
            body = facts.get(re.sub(r'[-:.]', '_', name))
        if not isinstance(body, dict):
            continue
        add(body.get('ipv4'), 'interface %s' % name, name in owned)
        for entry in body.get('ipv4_secondaries') or []:
            add(entry, 'interface %s' % name, name in owned)
    default = facts.get('default_ipv4')
    if isinstance(default, dict) and isinstance(default.get('network'), str):
        add(dict(default, address=default['network']), 'the default route (via %s)' % default.get('gateway'),
            default.get('interface') in owned, held=False)
    listening = extra.get('listening')
    if isinstance(listening, list):
        env['listening'] = [s for s in listening if isinstance(s, dict) and _is_int(s.get('port'))
                            and s.get('proto') in PROTOS and isinstance(s.get('address'), str)]
    return env


def _captures(bind, listener):
    """Would a publication on ``bind`` take the packets of a socket listening on ``listener``?"""
    try:
        addr = ipaddress.ip_address(listener)
    except ValueError:
        return True
    if addr.version == 6 and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    if str(addr) in _WILDCARDS:
        return True
    if bind == '0.0.0.0':
        return not addr.is_loopback  # the wildcard DNAT leaves 127.0.0.0/8 alone
    return str(addr) == bind


def _host_facts_checks(f, nets, containers, hosts, raw_hosts, encryption=None):
    """Checks against the hosts themselves, for the hosts whose facts were gathered."""
    if not isinstance(raw_hosts, dict):
        return
    envs = {}
    for name in sorted(hosts):
        env = host_environment(raw_hosts.get(name))
        if env is not None:
            envs[name] = env
    if not envs:
        return
    for name in sorted(nets):
        net = nets[name]['net']
        if net is None:
            continue
        for host in sorted(envs):
            hit = [(n, where) for n, where in envs[host]['networks'] if n.overlaps(net)]
            if hit:
                f.add(_at('netwire_networks', name, 'subnet'), 'subnet %s overlaps %s of host %s (%s): a network '
                      'there would cut the host off its own network' % (net, hit[0][0], host, hit[0][1]))
                break
    if encryption is not None and encryption.get('subnet') and any(n.get('encrypt') for n in nets.values()):
        tunnels = ipaddress.ip_network(encryption['subnet'])
        for host in sorted(envs):
            hit = [(n, where) for n, where in envs[host]['networks'] if n.overlaps(tunnels)]
            if hit:
                why = 'the WireGuard tunnel addresses there would cut the host off its own network'
                f.add('netwire_encryption.subnet', 'subnet %s overlaps %s of host %s (%s): %s'
                      % (tunnels, hit[0][0], host, hit[0][1], why))
                break
    for cname in sorted(containers):
        c = containers[cname]
        env = envs.get(c['host'])
        if env is None:
            continue
        for pub in c['publish']:
            bind = pub['bind']
            if bind not in (None, 'underlay', '0.0.0.0') and not ipaddress.ip_address(bind).is_loopback \
                    and bind not in env['addresses']:
                f.add(pub['path'] + '.bind', 'bind address %s is not an address of host %s (it holds %s)'
                      % (bind, c['host'], ', '.join(sorted(env['addresses'], key=ipaddress.ip_address)) or 'none'))
                continue
            if env['listening'] is None or pub['capture_host_port'] or bind in (None, 'underlay'):
                continue
            taken = sorted(set(s['address'] for s in env['listening'] if s['proto'] == pub['proto']
                               and s['port'] == pub['host_port'] and _captures(bind, s['address'])))
            if taken:
                f.add(pub['path'] + '.host_port', '%s port %d on %s would capture the port host %s itself listens '
                      'on (%s %s): the host would lose that service; set capture_host_port: true on this '
                      'publication to take it on purpose'
                      % (pub['proto'], pub['host_port'], bind, c['host'], pub['proto'], ', '.join(taken)))


def analyze(model, hosts):
    """Normalize and check ``model`` for ``hosts``: ``(normalized, findings, warnings)``.

    ``model`` holds ``netwire_zones``, ``netwire_networks``,
    ``netwire_containers`` and (optional) ``netwire_dns``, ``netwire_control_plane``, ``netwire_encryption`` and
    ``netwire_trunks``.
    ``hosts`` maps each
    inventory host to its variables
    (``netwire_host``, ``netwire_host_defaults``, ``netwire_lab_underlay_ip``,
    ``ansible_facts``; all optional), or is a list of host names.
    """
    f = _Findings()
    top = _as_dict(f, '', model, 'the model')
    if top is None:
        top = {}
    else:
        _unknown_keys(f, '', top, MODEL_VARS)
    host_map = _hosts(f, hosts)
    zones = _zones(f, top.get('netwire_zones'))
    trunks = read_trunks(f, top.get(TRUNKS_VAR), host_map)
    nets = _networks(f, top.get('netwire_networks'), zones, host_map, trunks)
    containers = _containers(f, top.get('netwire_containers'), nets, host_map)
    dns = _dns(f, top.get('netwire_dns'))
    control_plane = read_control_plane(f, top.get(CONTROL_PLANE_VAR), host_map)
    read_services(f, top.get('netwire_containers'), containers)
    catalog = read_catalog(f, top.get('netwire_catalog'), host_map)
    lb = read_lb(f, top.get('netwire_lb'), host_map)
    encryption = _encryption(f, top.get('netwire_encryption'))
    _span(f, nets, containers, host_map)
    trunk_checks(f, trunks, nets, host_map)
    encryption_checks(f, encryption, nets, host_map)
    evpn_checks(f, control_plane, nets, host_map)
    _resolve_gateways(containers, nets, host_map)
    _routing(f, zones, nets, containers)
    _mtus(f, nets, host_map, trunks)
    for c in containers.values():
        check_container_policy(f, c, nets)
    _addresses(f, nets, containers, host_map)
    _publications(f, containers, host_map)
    _name_clashes(f, nets, containers, host_map, trunks)
    _subnet_ranges(f, nets)
    dns_checks(f, dns, nets, containers)
    services_checks(f, catalog, lb, dns, nets, containers, host_map)
    _host_facts_checks(f, nets, containers, host_map, hosts, encryption)
    normalized = {
        'zones': zones,
        'networks': dict((n, _public_network(v)) for n, v in nets.items()),
        'containers': dict((n, _public_container(v)) for n, v in containers.items()),
        'hosts': dict((n, _public_host(v)) for n, v in host_map.items()),
        'dns': dns,
        'control_plane': control_plane,
        'catalog': catalog,
        'lb': dict(lb, frontends=[dict((k, v) for k, v in fe.items() if k != 'path') for fe in lb['frontends']])
        if lb is not None else None,
        'encryption': encryption,
        'trunks': dict((n, public_trunk(t)) for n, t in trunks.items()),
    }
    return normalized, f.items, f.warnings


def validate(model, hosts):
    """Every finding of ``model`` as ``[{'path': ..., 'msg': ...}]``; empty when it is sound."""
    return analyze(model, hosts)[1]


def _public_network(net):
    return dict((k, v) for k, v in net.items() if k not in ('net', 'ok', 'hosts_setting'))


def _public_container(c):
    out = dict(c)
    out['interfaces'] = [dict((k, v) for k, v in itf.items() if k not in ('path', 'ok', 'mac_auto'))
                         for itf in c['interfaces']]
    for itf in out['interfaces']:
        itf['rules'] = [dict((k, v) for k, v in rule.items() if k != 'path') for rule in itf.get('rules') or []]
    out['publish'] = [dict((k, v) for k, v in p.items() if k != 'path') for p in c['publish']]
    out['services'] = [dict((k, v) for k, v in s.items() if k != 'path') for s in c.get('services') or []]
    return out


def _public_host(h):
    return dict((k, v) for k, v in h.items() if k not in ('paths', 'index_default'))
