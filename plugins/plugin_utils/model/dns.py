# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Names and addresses by DHCP: ``netwire_dns``, a network's ``dhcp``/``dhcp_range``, and the plan's ``dns``.

With ``netwire_dns`` every network gets a DNS server on each host that carries it
(the ``dnsmasq`` module, plan key ``dns``): authoritative for
``<container>.<network>.<domain>``, answering only for the networks its zone may
reach (the zone view). A network with ``dhcp: true`` also hands this host's
``address: dhcp`` containers their model address (static reservations).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.netwire.fabric.plugins.module_utils._names import DEFAULT_DNS_DOMAIN
from ansible_collections.netwire.fabric.plugins.plugin_utils.model.fields import (
    _as_dict,
    _as_list,
    _at,
    _ipv4,
    _kind,
    _path,
    _section,
    _str,
    _unknown_keys,
    _usable,
)
from ansible_collections.netwire.fabric.plugins.plugin_utils.model.schema import (
    DHCP_RANGE_KEYS,
    DNS_KEYS,
    DNS_LABEL_RE,
    MAX_DNS_NAME,
)


def dns_domain_problem(name):
    """Why ``name`` (without a trailing dot) is not a DNS domain name, or None."""
    if not name:
        return 'is empty'
    if len(name) > MAX_DNS_NAME:
        return 'is longer than %d characters' % MAX_DNS_NAME
    for label in name.split('.'):
        if not label:
            return 'has an empty label (a leading dot or two dots in a row)'
        if not DNS_LABEL_RE.match(label):
            return ("has the label '%s', which is not a DNS label (RFC 1123: letters, digits and '-', not at "
                    "either end, at most 63 characters)" % label)
    if name.rsplit('.', 1)[-1].isdigit():
        return 'ends in a numeric label (it would read as an address)'
    return None


def _forward_server(f, path, value):
    """One upstream DNS server, ``ip`` or ``ip#port``, in normal form (or a finding)."""
    text = value.strip() if isinstance(value, str) else None
    if not text:
        f.add(path, "a forward server must be an address, 'ip' or 'ip#port', got %s" % _kind(value))
        return None
    host, sep, port = text.partition('#')
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        f.add(path, "forward server '%s' is not an IP address or 'ip#port' (e.g. 192.0.2.53#5353)" % text)
        return None
    if not sep:
        return str(addr)
    number = int(port) if port.isdigit() and len(port) < 6 else 0
    if not 1 <= number <= 65535:
        f.add(path, "forward server '%s': the port after '#' must be a number in 1..65535" % text)
        return None
    return '%s#%d' % (addr, number)


def _dns(f, raw):
    """``netwire_dns``: None when absent (no names, no DHCP), else ``{domain, forward}``."""
    path = 'netwire_dns'
    dns, body = _section(f, path, raw, DNS_KEYS, {'domain': DEFAULT_DNS_DOMAIN, 'forward': []})
    if body is None:
        return dns
    if body.get('domain') is not None:
        dpath = _path(path, 'domain')
        text = _str(f, dpath, body['domain'], 'domain')
        if text is not None:
            name = text.strip().lower()
            name = name[:-1] if name.endswith('.') and not name.endswith('..') else name
            why = dns_domain_problem(name)
            if why:
                f.add(dpath, "domain '%s' is not a valid DNS name: it %s" % (text, why))
            else:
                dns['domain'] = name
    fpath = _path(path, 'forward')
    for i, item in enumerate(_as_list(f, fpath, body.get('forward'), 'forward') or []):
        server = _forward_server(f, _path(fpath, i), item)
        if server is not None and server not in dns['forward']:
            dns['forward'].append(server)
    return dns


def _dhcp_range(f, path, value, net):
    """``dhcp_range: {start, end}`` of a network: both usable addresses of the subnet above its host range."""
    body = _as_dict(f, path, value, 'dhcp_range', allow_none=False)
    if body is None:
        return None
    _unknown_keys(f, path, body, DHCP_RANGE_KEYS)
    ends = {}
    for key in DHCP_RANGE_KEYS:
        kpath = _path(path, key)
        if body.get(key) is None:
            f.add(kpath, 'dhcp_range needs %s (an address of the subnet)' % key)
            continue
        text = _str(f, kpath, body[key], 'dhcp_range %s' % key)
        addr = _ipv4(text.strip()) if text else None
        if text is not None and addr is None:
            f.add(kpath, "dhcp_range %s '%s' is not an IPv4 address" % (key, text))
        if addr is None or net['net'] is None:
            continue
        why = _usable(net['net'], addr)
        if why:
            f.add(kpath, 'dhcp_range %s %s %s' % (key, addr, why))
        elif int(addr) - int(net['net'].network_address) <= (net['host_slots'] or 0):
            f.add(kpath, 'dhcp_range %s %s is in the host range of network %s (the first %d addresses): the '
                  'hosts hold those' % (key, addr, net['name'], net['host_slots']))
        else:
            ends[key] = addr
    if len(ends) < 2:
        return None
    if ends['start'] > ends['end']:
        f.add(_path(path, 'end'), 'dhcp_range end %s is before its start %s' % (ends['end'], ends['start']))
        return None
    return {'start': str(ends['start']), 'end': str(ends['end'])}


# ---------------------------------------------------------------- cross-checks

_LABEL_RULE = "RFC 1123: letters, digits and '-', not at either end, at most 63 characters"


def dns_checks(f, dns, nets, containers):
    """DHCP where it can be served, ranges clear of the model's addresses, names that are DNS names."""
    for name in sorted(nets):
        net = nets[name]
        path = _at('netwire_networks', name, 'dhcp')
        if net['dhcp'] and net['backend'] == 'ovs':
            f.add(path, 'DHCP is served on Linux-bridge networks only: the DHCP guard for OVS tunnel ports is not '
                  'built yet')
        elif net['dhcp'] and dns is None:
            f.add(path, 'dhcp needs netwire_dns: the DHCP server of a network is its DNS server (dnsmasq); set '
                  'netwire_dns: {} for the defaults')
        if net['dhcp_range'] and net['net'] is not None:
            _range_clear(f, net, containers)
    if dns is None:
        return
    seen = {}
    for name in sorted(nets):
        if not DNS_LABEL_RE.match(name):
            f.add(_path('netwire_networks', name), "network name '%s' is not a DNS label (%s): with netwire_dns it "
                  "is part of every name on the network (<container>.<network>.<domain>)" % (name, _LABEL_RULE))
        elif name.lower() in seen:
            f.add(_path('netwire_networks', name), "network name '%s' is network %s in DNS (names ignore case)"
                  % (name, seen[name.lower()]))
        seen.setdefault(name.lower(), name)
    seen = {}
    for cname in sorted(containers):
        path = _path('netwire_containers', cname)
        if not DNS_LABEL_RE.match(cname):
            f.add(path, "container name '%s' is not a DNS label (%s): with netwire_dns it becomes the name "
                  "<container>.<network>.<domain>" % (cname, _LABEL_RULE))
            continue
        if cname.lower() in seen:
            f.add(path, "container name '%s' is container %s in DNS (names ignore case)" % (cname, seen[cname.lower()]))
        seen.setdefault(cname.lower(), cname)
        for itf in containers[cname]['interfaces']:
            full = '%s.%s.%s' % (cname, itf['network'], dns['domain'])
            if itf['network'] and len(full) > MAX_DNS_NAME:
                f.add(path, "the DNS name '%s' is longer than %d characters: shorten the container, network or "
                      "domain name" % (full, MAX_DNS_NAME))


def _range_clear(f, net, containers):
    """No address the model gives out on ``net`` may lie in its ``dhcp_range`` (host slots are checked on read)."""
    low = ipaddress.IPv4Address(net['dhcp_range']['start'])
    high = ipaddress.IPv4Address(net['dhcp_range']['end'])
    hits = []
    for cname in sorted(containers):
        for i, itf in enumerate(containers[cname]['interfaces']):
            if itf['network'] != net['name']:
                continue
            for what, addr in (('address', itf['address']), ('gateway', itf['gateway'])):
                if addr and addr != 'auto' and low <= ipaddress.IPv4Address(addr) <= high:
                    auto = ' (auto)' if what == 'address' and itf['auto'] else ''
                    hits.append('%s %s of %s interfaces[%d]%s' % (what, addr, cname, i, auto))
    if hits:
        f.add(_at('netwire_networks', net['name'], 'dhcp_range'),
              'dhcp_range %s-%s overlaps the model\'s addresses on network %s: %s (a dynamic lease could take '
              'them: move the range, or pin the addresses outside it)' % (low, high, net['name'], ', '.join(hits)))


# ---------------------------------------------------------------- the plan

def search_path(dns, network):
    """The resolver's search path on ``network``: its own names first, then the domain."""
    return ['%s.%s' % (network, dns['domain']), dns['domain']]


def zone_view(zones, nets, network):
    """The networks whose names the DNS server on ``network`` answers: its own, its zone's, and the
    zones its zone may open connections to (``allow_to``), as the firewall lets connections through."""
    zone = nets[network]['zone']
    reach = set([zone]) | set(zones.get(zone, {}).get('allow_to') or [])
    return sorted(n for n in nets if n == network or nets[n]['zone'] in reach)


def dns_entries(normalized, host, address_of):
    """The ``dns`` plan entries (module dnsmasq) of ``host``: one per network it carries.

    ``address_of(net)`` is the host's address on a network (no prefix).
    """
    dns = normalized.get('dns')
    if dns is None:
        return []
    nets, containers, zones = normalized['networks'], normalized['containers'], normalized['zones']
    entries = []
    for name in sorted(nets):
        net = nets[name]
        if host not in net['hosts']:
            continue
        view = set(zone_view(zones, nets, name))
        records, reservations = [], []
        for cname in sorted(containers):
            c = containers[cname]
            for itf in c['interfaces']:
                if itf['network'] in view:
                    records.append({'name': '%s.%s.%s' % (cname, itf['network'], dns['domain']),
                                    'address': itf['address']})
                if itf['network'] == name and itf.get('dhcp') and c['host'] == host:
                    reservations.append({'mac': itf['mac'], 'address': itf['address'], 'name': cname})
        entries.append({
            'name': net['bridge'], 'state': 'present', 'network': name, 'interface': net['bridge'],
            'address': address_of(net), 'subnet': net['subnet'], 'domain': dns['domain'],
            'forward': list(dns['forward']), 'search': search_path(dns, name),
            'records': sorted(records, key=lambda r: (r['name'], ipaddress.IPv4Address(r['address']))),
            'dhcp': bool(net['dhcp']), 'dhcp_range': dict(net['dhcp_range']) if net['dhcp_range'] else None,
            'reservations': sorted(reservations, key=lambda r: r['mac']),
        })
    return entries
