# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The per-host plan compiler: one host's share of a sound model, as module arguments."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.netwire.fabric.plugins.module_utils._names import (
    bridge_mac,
    linux_tunnel_name,
    ovs_tunnel_port_name,
    underlay_bridge_name,
    veth_host_name,
)
from ansible_collections.netwire.fabric.plugins.plugin_utils.model.checks import analyze
from ansible_collections.netwire.fabric.plugins.plugin_utils.model.direct import direct_attachments
from ansible_collections.netwire.fabric.plugins.plugin_utils.model.dns import dns_entries, search_path
from ansible_collections.netwire.fabric.plugins.plugin_utils.model.evpn import frr_entry
from ansible_collections.netwire.fabric.plugins.plugin_utils.model.encryption import tunnel_address, wireguard_entries
from ansible_collections.netwire.fabric.plugins.plugin_utils.model.policy import attach_policy
from ansible_collections.netwire.fabric.plugins.plugin_utils.model.trunk import fake_bridge_entry, trunk_entries
from ansible_collections.netwire.fabric.plugins.plugin_utils.model.services import catalog_entries, lb_host_services
from ansible_collections.netwire.fabric.plugins.plugin_utils.model.schema import (
    DEFAULT_UDP_PORT,
    KEY_RANGE,
    LINUX_TUNNEL_KIND,
    ModelInvalid,
    host_address,
)


def plan(model, hosts):
    """Per-host plans ``{host: plan}`` of a sound model; raises :class:`ModelInvalid` otherwise."""
    normalized, findings, _warnings = analyze(model, hosts)
    if findings:
        raise ModelInvalid(findings)
    return plans_of(normalized)


def plans_of(normalized):
    """Per-host plans of an already normalized, finding-free model."""
    return dict((name, host_plan(normalized, name)) for name in sorted(normalized['hosts']))


def _host_addresses(h):
    """The addresses a host of the fabric is known by: underlay and management."""
    return [a for a in (h.get('underlay_address'), h.get('management_address')) if a]


def _cidr(address, prefix):
    return '%s/%d' % (address, prefix)


def host_plan(normalized, host):
    """One host's plan: plain data, each entry the arguments of the module that builds it.

    ``linux_bridges`` -> linux_bridge, ``ovs_bridges`` -> ovs_bridge,
    ``linux_tunnels`` -> linux_tunnel, ``ovs_tunnels`` -> ovs_tunnel,
    ``attachments`` -> container_attach, ``firewall`` -> firewall, and with
    ``netwire_dns`` only: ``dns`` -> dnsmasq (one per network this host carries), with
    ``netwire_control_plane`` on a host that runs a speaker: ``frr`` -> frr, and ``wireguard`` ->
    wireguard (this host's device when an encrypted network spans it and another host; its peers name
    their ``host``: host_network adds their public keys).
    ``networks`` summarizes what this host carries; ``names`` lists every
    interface name the plan creates on the host.
    """
    h = normalized['hosts'][host]
    nets, containers, zones = normalized['networks'], normalized['containers'], normalized['zones']
    hosts = normalized['hosts']
    dns = normalized.get('dns')
    local = [nets[n] for n in sorted(nets) if host in nets[n]['hosts']]
    trunks = normalized.get('trunks') or {}
    needs_underlay_bridge = h['ovs_datapath'] == 'netdev' and any(
        n['overlay'] in KEY_RANGE and len(n['hosts']) > 1 and host in n['hosts']
        for n in [n for n in local if n['backend'] == 'ovs'] + list(trunks.values()))
    underlay_bridge = underlay_bridge_name(h['underlay_interface']) if needs_underlay_bridge else None
    p = {
        'host': host,
        'index': h['index'],
        'underlay': {'interface': h['underlay_interface'], 'address': h['underlay_address'],
                     'prefix': h['underlay_prefix'], 'mtu': h['underlay_mtu'], 'ovs_datapath': h['ovs_datapath'],
                     'bridge': underlay_bridge},
        'networks': {},
        'linux_bridges': [], 'ovs_bridges': [], 'linux_tunnels': [], 'ovs_tunnels': [], 'attachments': [],
        'firewall': {'networks': [], 'flows': [], 'publications': [], 'tunnels': [],
                     'host_addresses': [], 'host_services': []},
        'names': [],
        'wireguard': wireguard_entries(normalized, host),
    }
    p['names'].extend(e['name'] for e in p['wireguard'])
    enc = normalized.get('encryption')

    def endpoint_of(name, net):
        """A host's tunnel endpoint on ``net``: its underlay address, or its WireGuard address when encrypted."""
        if net.get('encrypt') and p['wireguard']:
            return tunnel_address(enc, hosts[name]['index'])
        return hosts[name]['underlay_address']

    if underlay_bridge:
        p['ovs_bridges'].append({
            'name': underlay_bridge, 'datapath_type': 'netdev',
            'ports': [{'name': h['underlay_interface'], 'type': 'system'},
                      {'name': underlay_bridge, 'type': 'internal',
                       'addresses': [_cidr(h['underlay_address'], h['underlay_prefix'])]}]})
        p['names'].append(underlay_bridge)
    # issue 19: the trunks' bridges (before their networks' fake VLAN bridges: the parent first) and meshes
    bridges, tunnels, endpoints, names = trunk_entries(
        normalized, host, [d for d in (underlay_bridge, h['underlay_interface']) if d] or [None])
    p['ovs_bridges'].extend(bridges)
    p['ovs_tunnels'].extend(tunnels)
    p['firewall']['tunnels'].extend(endpoints)
    p['names'].extend(names + [ovs_tunnel_port_name(t['type'], t['network'], r) for t in tunnels for r in t['remotes']])
    for net in local:
        prefix = int(net['subnet'].split('/')[1])
        address = _cidr(host_address(net['subnet'], h['index']), prefix)
        # the containers' gateway keeps its MAC when the port with the lowest MAC leaves the bridge
        mac = bridge_mac(h['underlay_address'], net['bridge'])
        p['networks'][net['name']] = {'bridge': net['bridge'], 'backend': net['backend'], 'subnet': net['subnet'],
                                      'address': address, 'mac': mac, 'mtu': net['mtu'], 'zone': net['zone'],
                                      'overlay': net['overlay'], 'nat': net['nat'], 'icc': net['icc'],
                                      'control': net.get('control', 'static')}
        p['names'].append(net['bridge'])
        if net.get('trunk'):
            p['networks'][net['name']].update(trunk=net['trunk'], vlan=net['vlan'])
            p['ovs_bridges'].append(fake_bridge_entry(net, trunks, address, mac))
        elif net['backend'] == 'linux':
            p['linux_bridges'].append({'name': net['bridge'], 'mtu': net['mtu'], 'addresses': [address],
                                       'mac': mac, 'stp': False})
        else:
            # The internal port is the containers' gateway: on a VLAN network it is an access
            # port of that VLAN like theirs (tunnel ports stay trunks).
            p['ovs_bridges'].append({'name': net['bridge'], 'datapath_type': h['ovs_datapath'],
                                     'other_config': {'hwaddr': mac},
                                     'ports': [{'name': net['bridge'], 'type': 'internal', 'tag': net['vlan'],
                                                'mtu': net['mtu'], 'addresses': [address]}]})
        remotes = [endpoint_of(r, net) for r in net['hosts'] if r != host]
        local_address = endpoint_of(host, net)
        encrypted = bool(net.get('encrypt') and p['wireguard'])
        if net['overlay'] in KEY_RANGE and remotes:
            if net['backend'] == 'linux':
                dev = p['wireguard'][0]['name'] if encrypted else underlay_bridge or h['underlay_interface']
                base = {'kind': LINUX_TUNNEL_KIND[net['overlay']], 'vni': net['key'],
                        'local': local_address, 'master': net['bridge'], 'mtu': net['mtu'],
                        'learning': False}
                if dev:
                    base['dev'] = dev
                if net['overlay'] in DEFAULT_UDP_PORT:
                    base['port'] = net['port']
                if net['overlay'] == 'vxlan' and net.get('control') == 'evpn':
                    # FRR's zebra installs the flood entries (the remote VTEPs) and the remote MACs: none of ours
                    entry = dict(base, name=linux_tunnel_name('vxlan', net['name']), remotes=[], control='evpn')
                    p['networks'][net['name']]['vteps'] = sorted(remotes)
                    p['linux_tunnels'].append(entry)
                    p['names'].append(entry['name'])
                elif net['overlay'] == 'vxlan':
                    entry = dict(base, name=linux_tunnel_name('vxlan', net['name']), remotes=remotes)
                    p['linux_tunnels'].append(entry)
                    p['names'].append(entry['name'])
                else:
                    for remote in remotes:
                        entry = dict(base, name=linux_tunnel_name(net['overlay'], net['name'], remote),
                                     remotes=[remote])
                        p['linux_tunnels'].append(entry)
                        p['names'].append(entry['name'])
            else:
                entry = {'bridge': net['bridge'], 'network': net['name'], 'type': net['overlay'],
                         'key': net['key'], 'local_ip': h['underlay_address'], 'remotes': remotes}
                if net['overlay'] in DEFAULT_UDP_PORT:
                    entry['dst_port'] = net['port']
                p['ovs_tunnels'].append(entry)
                p['names'].extend(ovs_tunnel_port_name(net['overlay'], net['name'], r) for r in remotes)
        p['firewall']['networks'].append({'name': net['name'], 'subnet': net['subnet'], 'bridge': net['bridge'],
                                          'nat': net['nat'], 'icc': net['icc'], 'zone': net['zone']})
        if net.get('dhcp'):
            p['firewall']['networks'][-1]['dhcp'] = True
        if net['overlay'] in KEY_RANGE and remotes:
            # With a netdev underlay bridge the kernel receives the peers' packets on the bridge's internal
            # port or, when a peer resolved the address to the NIC's MAC, on the NIC itself: both are the underlay.
            devices = [d for d in (underlay_bridge, h['underlay_interface']) if d] or [None]
            if encrypted:
                devices = [p['wireguard'][0]['name']]  # only through WireGuard; the firewall drops it elsewhere
            peers = remotes
            if net.get('control') == 'evpn':
                # BGP decides the VTEPs at run time: the endpoint admits every host of the fabric (so a host
                # joining the network changes only itself and the reflectors), never anyone else
                peers = [hosts[r]['underlay_address'] for r in sorted(hosts)
                         if r != host and hosts[r]['underlay_address']]
            for device in devices:
                endpoint = {'network': net['name'], 'type': net['overlay'], 'local_address': local_address,
                            'device': device, 'peers': sorted(peers)}
                if net['overlay'] in DEFAULT_UDP_PORT:
                    endpoint['port'] = net['port']
                if encrypted:
                    endpoint['encrypted'] = True
                p['firewall']['tunnels'].append(endpoint)
    if local:
        p['firewall']['host_addresses'] = sorted(set(a for name in hosts for a in _host_addresses(hosts[name])))
        for cname in sorted(containers):
            c = containers[cname]
            if c['host'] == host or c['host'] not in hosts:
                continue
            for pub in c['publish']:
                if pub['bind'] == '0.0.0.0':
                    targets = _host_addresses(hosts[c['host']])
                else:
                    targets = [a for a in [pub['bind']] if a in _host_addresses(hosts[c['host']])]
                for address in targets:
                    service = {'address': address, 'proto': pub['proto'], 'port': pub['host_port']}
                    if service not in p['firewall']['host_services']:
                        p['firewall']['host_services'].append(service)
    frr = frr_entry(normalized, host)
    if frr is not None:
        # this host's BGP EVPN speaker (module frr): router ID = underlay address, neighbours = the reflectors
        p['frr'] = frr
    if dns is not None:
        # the DNS server on each network's bridge address (module dnsmasq), reached by the network's containers
        p['dns'] = dns_entries(normalized, host, lambda n: host_address(n['subnet'], h['index']))
        for entry in p['dns']:
            for proto in ('udp', 'tcp'):
                p['firewall']['host_services'].append({'address': entry['address'], 'proto': proto, 'port': 53})
    # issue 17: the catalog member, this host's registration and the entry point (with netwire_catalog only)
    p.update(catalog_entries(normalized, host))
    # the entry point: its frontends for the zones that may reach their service's network, no other container
    p['firewall']['host_services'].extend(lb_host_services(normalized, host, local, _host_addresses))
    here = set(n['zone'] for n in local)
    for zone in sorted(zones):
        for target in zones[zone]['allow_to']:
            if zone in here and target in here and zone != target:
                p['firewall']['flows'].append({'from': zone, 'to': target})
    for cname in sorted(containers):
        c = containers[cname]
        if c['host'] != host:
            continue
        for itf in c['interfaces']:
            net = nets[itf['network']]
            prefix = int(net['subnet'].split('/')[1])
            attach = {'container': c['ref'], 'container_type': c['ref_type'], 'ifname': itf['ifname'],
                      'host_ifname': veth_host_name(cname, itf['ifname']), 'bridge': net['bridge'],
                      'bridge_type': net['backend'], 'network': net['name'],
                      'addresses': [_cidr(itf['address'], prefix)], 'mac': itf['mac'], 'mtu': net['mtu']}
            if itf['gateway']:
                attach['gateway'] = itf['gateway']
                if itf['gateway_takeover']:
                    attach['gateway_takeover'] = True
            if net['backend'] == 'ovs' and net['vlan']:
                attach['vlan_tag'] = net['vlan']
            if itf.get('dhcp'):
                attach['dhcp'] = True
            attach_policy(attach, itf, c)
            if dns is not None and itf is c['interfaces'][0]:
                # the interface with the default route: the container asks its network's DNS server here
                attach['resolver'] = {'servers': [host_address(net['subnet'], h['index'])],
                                      'search': search_path(dns, net['name'])}
            p['attachments'].append(attach)
            p['names'].append(attach['host_ifname'])
            if net['backend'] == 'ovs':
                # the kernel also receives the frames of a host end on an OVS bridge (netdev datapath)
                fw_net = [n for n in p['firewall']['networks'] if n['name'] == net['name']][0]
                fw_net.setdefault('ports', []).append(attach['host_ifname'])
        p['attachments'].extend(direct_attachments(c))  # issue 19: macvlan, VLAN, NIC and dummy interfaces
        for pub in c['publish']:
            address = [i['address'] for i in c['interfaces'] if i['network'] == pub['network']][0]
            p['firewall']['publications'].append({
                'name': '%s:%s/%d' % (cname, pub['proto'], pub['port']), 'network': pub['network'],
                'proto': pub['proto'], 'host_port': pub['host_port'], 'bind_address': pub['bind'],
                'container_address': address, 'container_port': pub['port']})
    return p
