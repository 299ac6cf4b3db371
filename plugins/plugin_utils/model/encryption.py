# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Encrypted overlays: ``netwire_encryption``, a network's ``encrypt``, and the plan's ``wireguard`` entry.

Every host that carries an encrypted network with another host gets one WireGuard device of ours
(``_names.WIREGUARD_DEVICE``) with a tunnel address from ``netwire_encryption.subnet`` (``subnet + host
index``, like its bridge addresses: deterministic). Its peers are the other hosts sharing an encrypted
network with it: endpoint their underlay address and the port, allowed IPs their tunnel address. The
overlay tunnels of an encrypted network run between the tunnel addresses, over the WireGuard device,
so every overlay frame crosses the underlay inside WireGuard. Public keys are not the model's: the
play collects them from the hosts (``roles/fabric``) and host_network puts them in the peers.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.netwire.fabric.plugins.module_utils._names import (
    WIREGUARD_DEVICE,
    WIREGUARD_OVERHEAD,
    WIREGUARD_PORT,
)
from ansible_collections.netwire.fabric.plugins.plugin_utils.model.fields import (
    _as_dict,
    _at,
    _int,
    _path,
    _str,
    _unknown_keys,
)
from ansible_collections.netwire.fabric.plugins.plugin_utils.model.schema import (
    ENCRYPTION_KEYS,
    KEY_RANGE,
)

VAR = 'netwire_encryption'


def _encryption(f, raw):
    """``netwire_encryption``: None when absent, else ``{subnet, port}`` (subnet None when unusable)."""
    if raw is None:
        return None
    body = _as_dict(f, VAR, raw, VAR)
    if body is None:
        return None
    _unknown_keys(f, VAR, body, ENCRYPTION_KEYS)
    enc = {'subnet': None, 'port': WIREGUARD_PORT}
    spath = _path(VAR, 'subnet')
    text = _str(f, spath, body.get('subnet'), 'subnet') if body.get('subnet') is not None else None
    if body.get('subnet') is None:
        f.add(spath, 'netwire_encryption needs a subnet for the WireGuard tunnel addresses (e.g. 10.99.0.0/24)')
    elif text is not None:
        try:
            net = ipaddress.ip_network(text.strip(), strict=True)
        except ValueError:
            net = None
        if net is None or net.version != 4 or '/' not in text:
            f.add(spath, "subnet '%s' is not an IPv4 network in CIDR form without host bits (e.g. 10.99.0.0/24)"
                  % text)
        elif net.prefixlen > 29:
            f.add(spath, "subnet '%s' is too small: use a /29 or larger (a /24 holds 254 hosts)" % text)
        else:
            enc['subnet'] = str(net)
    if body.get('port') is not None:
        enc['port'] = _int(f, _path(VAR, 'port'), body['port'], 1, 65535, 'WireGuard port') or WIREGUARD_PORT
    return enc


def tunnel_address(enc, index):
    """The tunnel address of the host with ``index`` (on its WireGuard device)."""
    return str(ipaddress.ip_network(enc['subnet']).network_address + index)


def peer_map(nets):
    """``{host: set of peer hosts}``: the hosts sharing an encrypted network (of more than one host)."""
    peers = {}
    for name in sorted(nets):
        net = nets[name]
        if not net.get('encrypt') or len(net['hosts']) < 2:
            continue
        for host in net['hosts']:
            peers.setdefault(host, set()).update(h for h in net['hosts'] if h != host)
    return peers


def wireguard_mtu(hosts, host, peers):
    """The WireGuard device's MTU on ``host``: its lowest underlay MTU towards any peer, less WireGuard's 80."""
    return min(hosts[h]['underlay_mtu'] for h in [host] + sorted(peers) if h in hosts) - WIREGUARD_OVERHEAD


def encryption_checks(f, enc, nets, hosts):
    """What cannot be encrypted, and what the tunnel subnet cannot hold."""
    encrypted = [n for n in sorted(nets) if nets[n].get('encrypt')]
    for name in encrypted:
        net = nets[name]
        path = _at('netwire_networks', name, 'encrypt')
        if enc is None:
            f.add(path, 'encrypt needs netwire_encryption (the subnet of the WireGuard tunnel addresses, e.g. '
                  '{subnet: 10.99.0.0/24})')
        if net['overlay'] not in KEY_RANGE:
            f.add(path, 'network %s has no overlay: there is nothing to encrypt (encrypt protects the tunnels '
                  'between hosts; set overlay vxlan, gre or geneve)' % name)
        if net.get('control') == 'evpn':
            f.add(path, 'encrypt is not supported with control evpn (its VTEPs are learned over BGP on the underlay '
                  'addresses): network %s' % name)
        if net['backend'] == 'ovs':
            # Not proven: an OVS userspace (netdev) datapath would have to send its tunnel packets into
            # wireguard-go's TUN device and receive them from it; the lab has not shown that it routes.
            f.add(path, 'encrypt is not supported on an OVS network (its tunnels over a WireGuard device are '
                  'not proven to work, the userspace datapath included): use backend linux for network %s' % name)
    if enc is None or enc['subnet'] is None:
        return
    subnet = ipaddress.ip_network(enc['subnet'])
    spath = _path(VAR, 'subnet')
    for name in sorted(nets):
        other = nets[name].get('net')
        if other is not None and other.overlaps(subnet):
            f.add(spath, 'subnet %s overlaps subnet %s of network %s' % (subnet, other, name))
    for host in sorted(peer_map(nets)):
        h = hosts.get(host)
        if h and h['index'] > subnet.num_addresses - 2:
            f.add(h['paths']['index'], 'host %s has index %d but netwire_encryption.subnet %s holds tunnel '
                  'addresses for indexes 1 to %d' % (host, h['index'], subnet, subnet.num_addresses - 2))
        if h and h['underlay_address'] is not None and ipaddress.ip_address(h['underlay_address']) in subnet:
            f.add(spath, 'subnet %s holds the underlay address %s of host %s' % (subnet, h['underlay_address'], host))
    # A clear and an encrypted overlay of one type and port on a host: the firewall drops that port's
    # packets arriving other than through WireGuard, which would cut the clear one.
    for host in sorted(hosts):
        seen = {}
        for name in sorted(nets):
            net = nets[name]
            if host not in net['hosts'] or len(net['hosts']) < 2 or net['overlay'] not in KEY_RANGE:
                continue
            ident = (net['overlay'], net['port'])
            other = seen.setdefault(ident, name)
            if other != name and bool(nets[other].get('encrypt')) != bool(net.get('encrypt')):
                f.add(_at('netwire_networks', name, 'port' if net['port'] else 'encrypt'),
                      'on host %s, network %s (%s) and network %s (%s) are both %s%s: an encrypted and a clear '
                      'overlay cannot share a transport (the clear one\'s packets would be dropped as clear '
                      'traffic of the encrypted one)%s'
                      % (host, other, 'encrypted' if nets[other].get('encrypt') else 'clear', name,
                         'encrypted' if net.get('encrypt') else 'clear', net['overlay'],
                         ' on UDP port %d' % net['port'] if net['port'] else '',
                         ': give one of them another port' if net['port'] else ''))


def wireguard_entries(normalized, host):
    """The plan's ``wireguard`` entries of ``host``: its one device, or none when no encrypted network
    spans it and another host."""
    enc = normalized.get('encryption')
    hosts = normalized['hosts']
    peers = peer_map(normalized['networks']).get(host)
    if enc is None or not peers:
        return []
    prefix = ipaddress.ip_network(enc['subnet']).prefixlen
    entry = {
        'name': WIREGUARD_DEVICE,
        'address': '%s/%d' % (tunnel_address(enc, hosts[host]['index']), prefix),
        'listen_port': enc['port'],
        'mtu': wireguard_mtu(hosts, host, peers),
        'peers': [{'host': peer, 'endpoint': '%s:%d' % (hosts[peer]['underlay_address'], enc['port']),
                   'allowed_ips': ['%s/32' % tunnel_address(enc, hosts[peer]['index'])]}
                  for peer in sorted(peers)],
    }
    return [entry]
