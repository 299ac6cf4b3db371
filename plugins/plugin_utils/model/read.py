# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Readers of the inventory model: zones, hosts, networks and containers in normal form.

Each reader takes the raw variables and a findings accumulator and returns the
normalized objects (with what could be read of a malformed entry), adding a
finding for every problem it sees in one entry. Cross-entry checks are in
``checks.py``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.netwire.fabric.plugins.module_utils._names import bridge_name, container_mac as derive_mac
from ansible_collections.netwire.fabric.plugins.plugin_utils.model.dns import _dhcp_range
from ansible_collections.netwire.fabric.plugins.plugin_utils.model.direct import check_direct, is_direct, read_direct
from ansible_collections.netwire.fabric.plugins.plugin_utils.model.evpn import read_control
from ansible_collections.netwire.fabric.plugins.plugin_utils.model.policy import read_interface_policy
from ansible_collections.netwire.fabric.plugins.plugin_utils.model.fields import (
    _as_dict,
    _as_list,
    _at,
    _bool,
    _choice,
    _ifname,
    _int,
    _ipv4,
    _is_int,
    _kind,
    _member,
    _name,
    _path,
    _str,
    _unknown_keys,
    _usable,
)
from ansible_collections.netwire.fabric.plugins.plugin_utils.model.schema import (
    BACKENDS,
    CONTAINER_KEYS,
    DATAPATHS,
    DEFAULT_UDP_PORT,
    DEFAULT_UNDERLAY_MTU,
    HOST_KEYS,
    INTERFACE_KEYS,
    KEY_RANGE,
    MAC_RE,
    NAME_RE,
    NETWORK_KEYS,
    OVERLAY_CHOICES,
    PROTOS,
    PUBLISH_KEYS,
    REF_TYPES,
    ZONE_KEYS,
    auto_address,
    default_host_slots,
    host_address,
)


def _entries(f, var, raw, what, known):
    """The entries of the top-level mapping ``var``, in name order: ``(name, path, body)``.

    A key that is not a valid name is reported and skipped. ``body`` is the entry's
    mapping (an empty entry reads as ``{}``, its unknown keys reported), or None when
    it is not a mapping (reported).
    """
    top = _as_dict(f, var, raw, var)
    for name in sorted(top or {}, key=str):
        path = _path(var, name)
        if not _name(f, path, name, what):
            continue
        body = _as_dict(f, path, top[name], "%s '%s'" % (what, name))
        if body is not None:
            _unknown_keys(f, path, body, known)
        yield name, path, body


def _clashes(items, value_of):
    """``(name, value, first)`` for each item, in name order, whose value (not None) an earlier item holds."""
    first = {}
    for name in sorted(items):
        value = value_of(items[name])
        if value is None:
            continue
        if value in first:
            yield name, value, first[value]
        first.setdefault(value, name)


def _zones(f, raw):
    zones = {}
    for key, path, body in _entries(f, 'netwire_zones', raw, 'zone', ZONE_KEYS):
        zones[key] = {'name': key, 'allow_to': [], 'description': None}
        if body is None:
            continue
        targets = _as_list(f, _path(path, 'allow_to'), body.get('allow_to'), 'allow_to')
        for i, target in enumerate(targets or []):
            tpath = _path(_path(path, 'allow_to'), i)
            if isinstance(target, str) and target:
                if target not in zones[key]['allow_to']:
                    zones[key]['allow_to'].append(target)
            else:
                f.add(tpath, 'a zone name must be a non-empty string, got %s' % _kind(target))
        if body.get('description') is not None and not isinstance(body.get('description'), str):
            f.add(_path(path, 'description'), 'description must be a string')
        else:
            zones[key]['description'] = body.get('description')
    for zone in sorted(zones):
        for i, target in enumerate(zones[zone]['allow_to']):
            if target not in zones:
                f.add(_at('netwire_zones', zone, 'allow_to', i), "unknown zone '%s'" % target)
    return zones


def network_facts(hvars):
    """A host's network facts as Ansible's setup module names them (``interfaces``, ``<name>``:
    ``{mtu, ipv4, ipv4_secondaries}``, ``default_ipv4``): from host_facts' ``netwire_host_facts``
    when it read them (site.yml gathers no other facts), else Ansible's own."""
    facts = hvars.get('ansible_facts') if isinstance(hvars, dict) else None
    facts = facts if isinstance(facts, dict) else {}
    ours = facts.get('netwire_host_facts') if isinstance(facts.get('netwire_host_facts'), dict) else {}
    interfaces = ours.get('interfaces')
    if not isinstance(interfaces, dict):
        return facts
    out = dict(facts)
    out['interfaces'] = sorted(n for n in interfaces if isinstance(n, str))
    for name in out['interfaces']:
        body = interfaces[name] if isinstance(interfaces[name], dict) else {}
        held = [a for a in body.get('ipv4') or [] if isinstance(a, dict)]
        entry = {'mtu': body.get('mtu'), 'ipv4_secondaries': held[1:]}
        if held:
            entry['ipv4'] = held[0]
        out[name] = entry
    out['default_ipv4'] = ours.get('default_ipv4') if isinstance(ours.get('default_ipv4'), dict) else {}
    return out


def _host_settings(f, name, hvars):
    """One host's settings from its variables (netwire_host over netwire_host_defaults)."""
    base = 'hostvars.%s' % name if NAME_RE.match(name) else "hostvars[%r]" % name
    hvars = hvars if isinstance(hvars, dict) else {}
    merged, origin = {}, {}
    for var in ('netwire_host_defaults', 'netwire_host'):
        vpath = _path(base, var)
        body = _as_dict(f, vpath, hvars.get(var), var)
        if body is None:
            continue
        _unknown_keys(f, vpath, body, HOST_KEYS)
        for key in HOST_KEYS:
            if body.get(key) is not None:
                merged[key] = body[key]
                origin[key] = _path(vpath, key)

    def where(key):
        return origin.get(key, _path(_path(base, 'netwire_host'), key))

    host = {'name': name, 'index': None, 'underlay_interface': None, 'underlay_address': None,
            'underlay_prefix': None, 'underlay_mtu': DEFAULT_UNDERLAY_MTU, 'ovs_datapath': 'system',
            'paths': {k: where(k) for k in HOST_KEYS}}
    if 'index' in merged:
        host['index'] = _int(f, where('index'), merged['index'], 1, 65535, 'host index')
    if 'underlay_interface' in merged:
        host['underlay_interface'] = _ifname(f, where('underlay_interface'), merged['underlay_interface'],
                                             'underlay interface')
    host['ovs_datapath'] = _choice(f, where('ovs_datapath'), merged.get('ovs_datapath'), DATAPATHS, 'system',
                                   'ovs_datapath') or 'system'
    facts = network_facts(hvars)
    iface_facts = {}
    if host['underlay_interface']:
        # Ansible's fact names turn '-' and ':' of interface names into '_'
        key = re.sub(r'[-:]', '_', host['underlay_interface'])
        iface_facts = facts.get(host['underlay_interface']) or facts.get(key) or {}
        iface_facts = iface_facts if isinstance(iface_facts, dict) else {}
    if 'underlay_mtu' in merged:
        mtu = _int(f, where('underlay_mtu'), merged['underlay_mtu'], 576, 65535, 'underlay MTU')
        host['underlay_mtu'] = mtu or DEFAULT_UNDERLAY_MTU
    elif _is_int(iface_facts.get('mtu')) and 576 <= iface_facts['mtu'] <= 65535:
        host['underlay_mtu'] = iface_facts['mtu']
    address, apath = merged.get('underlay_address'), where('underlay_address')
    if address is None and hvars.get('netwire_lab_underlay_ip') is not None:
        address, apath = hvars.get('netwire_lab_underlay_ip'), _path(base, 'netwire_lab_underlay_ip')
    if address is None:
        ipv4 = iface_facts.get('ipv4') if isinstance(iface_facts.get('ipv4'), dict) else {}
        if not ipv4 and not host['underlay_interface'] and isinstance(facts.get('default_ipv4'), dict):
            ipv4 = facts['default_ipv4']
        if isinstance(ipv4.get('address'), str):
            address = ipv4['address']
            if _is_int(ipv4.get('prefix')) or isinstance(ipv4.get('prefix'), str) and ipv4['prefix'].isdigit():
                address = '%s/%s' % (address, ipv4['prefix'])
    if address is not None:
        text = _str(f, apath, address, 'underlay address')
        if text is not None:
            try:
                iface = ipaddress.ip_interface(text.strip())
            except ValueError:
                iface = None
            if iface is None or iface.version != 4:
                f.add(apath, "underlay address '%s' is not an IPv4 address (optionally with a prefix length)" % text)
            else:
                host['underlay_address'] = str(iface.ip)
                if '/' in text:
                    host['underlay_prefix'] = iface.network.prefixlen
    host['paths']['underlay_address'] = apath
    # The management address (how Ansible reaches the host), when the inventory gives it as an address:
    # the firewall keeps containers away from it on every host (docs/firewall.md).
    mgmt = _ipv4(hvars.get('ansible_host').strip()) if isinstance(hvars.get('ansible_host'), str) else None
    host['management_address'] = str(mgmt) if mgmt is not None else None
    return host


def _hosts(f, hosts):
    if isinstance(hosts, dict):
        items = hosts
    elif isinstance(hosts, (list, tuple)):
        items = dict((h, {}) for h in hosts if isinstance(h, str))
    else:
        items = {}
    result = {}
    for name in sorted(items, key=str):
        if not isinstance(name, str) or not name:
            continue
        result[name] = _host_settings(f, name, items[name])
    # default index: position in name order among the hosts that did not pin one
    taken = set(h['index'] for h in result.values() if h['index'] is not None)
    position = 0
    for name in sorted(result):
        host = result[name]
        if host['index'] is None:
            position += 1
            while position in taken:
                position += 1
            host['index'] = position
            host['index_default'] = True
    for name, index, other in _clashes(result, lambda h: h['index']):
        if not result[name].get('index_default'):
            f.add(result[name]['paths']['index'], 'host index %d is also the index of host %s' % (index, other))
    for name, addr, other in _clashes(result, lambda h: h['underlay_address']):
        f.add(result[name]['paths']['underlay_address'],
              'underlay address %s is also the underlay address of host %s' % (addr, other))
    return result


def read_host_list(f, path, value, hosts):
    """A ``hosts:`` setting (of a network or a trunk): its inventory hosts in order, each once, a finding for
    each entry that is not a known host name; None when it is not a list."""
    items = _as_list(f, path, value, 'hosts')
    if items is None:
        return None
    listed = []
    for i, host in enumerate(items):
        if not isinstance(host, str):
            f.add(_path(path, i), 'a host name must be a string, got %s' % _kind(host))
        elif host not in hosts:
            f.add(_path(path, i), "unknown host '%s' (not in the inventory)" % host)
        elif host not in listed:
            listed.append(host)
    return listed


def read_overlay(f, path, body, out, what):
    """``overlay``, ``key`` and ``port`` of a network or a trunk (``what``) into ``out``: how its hosts are joined."""
    out['overlay'] = overlay = _choice(f, _path(path, 'overlay'), body.get('overlay'), OVERLAY_CHOICES, 'none',
                                       'overlay')
    kpath = _path(path, 'key')
    if overlay in KEY_RANGE:
        if body.get('key') is None:
            f.add(kpath, "%s with overlay %s needs a key (the %s)"
                  % (what, overlay, 'GRE key' if overlay == 'gre' else 'VNI'))
        else:
            low, high = KEY_RANGE[overlay]
            out['key'] = _int(f, kpath, body['key'], low, high, '%s key' % overlay)
    elif body.get('key') is not None and overlay == 'none':
        f.add(kpath, 'key is only valid with an overlay (vxlan, gre or geneve)')
    ppath = _path(path, 'port')
    if body.get('port') is not None:
        if overlay in DEFAULT_UDP_PORT:
            out['port'] = _int(f, ppath, body['port'], 1, 65535, 'UDP port')
        elif overlay is not None:
            f.add(ppath, 'port (the UDP destination port) is only valid with overlay vxlan or geneve')
    if overlay in DEFAULT_UDP_PORT and out['port'] is None:
        out['port'] = DEFAULT_UDP_PORT[overlay]


def _network(f, name, path, body, zones, hosts, trunks=None):
    net = {'name': name, 'subnet': None, 'net': None, 'zone': None, 'backend': 'linux', 'overlay': 'none',
           'key': None, 'port': None, 'mtu_setting': 'auto', 'mtu': None, 'nat': True, 'icc': True,
           'hosts_setting': None, 'hosts': [], 'vlan': None, 'bridge': bridge_name(name), 'host_slots': None,
           'dhcp': False, 'dhcp_range': None, 'control': 'static', 'encrypt': False, 'description': None,
           'trunk': None, 'ok': True}
    if body is None:
        net['ok'] = False
        return net

    spath = _path(path, 'subnet')
    if 'subnet' not in body or body['subnet'] is None:
        f.add(spath, "network '%s' has no subnet (required, e.g. 10.1.0.0/24)" % name)
        net['ok'] = False
    else:
        text = _str(f, spath, body['subnet'], 'subnet')
        if text is not None:
            subnet = None
            try:
                subnet = ipaddress.ip_network(text.strip(), strict=False)
            except ValueError:
                f.add(spath, "subnet '%s' is not a network in CIDR form (e.g. 10.1.0.0/24)" % text)
            if subnet is not None and subnet.version != 4:
                f.add(spath, "subnet '%s' is not IPv4 (only IPv4 subnets are supported)" % text)
                subnet = None
            elif subnet is not None and '/' not in text:
                f.add(spath, "subnet '%s' has no prefix length (e.g. %s/24)" % (text, text.strip()))
                subnet = None
            elif subnet is not None and str(subnet.network_address) != text.strip().split('/')[0]:
                f.add(spath, "subnet '%s' has host bits set (did you mean %s?)" % (text, subnet))
                subnet = None
            elif subnet is not None and subnet.prefixlen > 29:
                f.add(spath, "subnet '%s' is too small: use a /29 or larger" % text)
                subnet = None
            if subnet is not None:
                net['subnet'], net['net'] = str(subnet), subnet
        if net['net'] is None:
            net['ok'] = False

    net['zone'] = _member(f, _path(path, 'zone'), body.get('zone'), zones, 'zone',
                          "network '%s' has no zone (required: one of the zones in netwire_zones)" % name)

    net['backend'] = _choice(f, _path(path, 'backend'), body.get('backend'), BACKENDS, 'linux', 'backend')
    read_overlay(f, path, body, net, "network '%s'" % name)
    if net['backend'] is None or net['overlay'] is None:
        net['ok'] = False

    mtu = body.get('mtu')
    if mtu is not None and mtu != 'auto':
        value = _int(f, _path(path, 'mtu'), mtu, 68, 65535, 'mtu')
        net['mtu_setting'] = value if value is not None else 'auto'
    net['nat'] = _bool(f, _path(path, 'nat'), body.get('nat'), True, 'nat')
    net['icc'] = _bool(f, _path(path, 'icc'), body.get('icc'), True, 'icc')

    if body.get('vlan') is not None:
        vpath = _path(path, 'vlan')
        if net['backend'] == 'ovs':
            net['vlan'] = _int(f, vpath, body['vlan'], 1, 4094, 'vlan')
        elif net['backend'] is not None:
            f.add(vpath, 'vlan needs backend ovs (the access tag of container ports)')
    if body.get('bridge') is not None:
        net['bridge'] = _ifname(f, _path(path, 'bridge'), body['bridge'], 'bridge name') or net['bridge']
    if body.get('trunk') is not None:  # issue 19: a VLAN of a trunk bridge (model/trunk.py checks the rest)
        net['trunk'] = _member(f, _path(path, 'trunk'), body['trunk'], trunks or {}, 'trunk', None,
                               ' (not in netwire_trunks)')
        if net['trunk'] is None:
            net['ok'] = False

    if body.get('hosts') is not None:
        listed = read_host_list(f, _path(path, 'hosts'), body['hosts'], hosts)
        if listed is not None:
            net['hosts_setting'] = listed

    if net['net'] is not None:
        usable = net['net'].num_addresses - 2
        spath = _path(path, 'host_slots')
        if body.get('host_slots') is not None:
            net['host_slots'] = _int(f, spath, body['host_slots'], 1, max(1, usable - 1), 'host_slots')
        if net['host_slots'] is None:
            net['host_slots'] = default_host_slots(net['subnet'])
    net['dhcp'] = bool(_bool(f, _path(path, 'dhcp'), body.get('dhcp'), False, 'dhcp'))
    read_control(f, path, body, net)
    net['encrypt'] = bool(_bool(f, _path(path, 'encrypt'), body.get('encrypt'), False, 'encrypt'))
    if body.get('dhcp_range') is not None:
        rpath = _path(path, 'dhcp_range')
        net['dhcp_range'] = _dhcp_range(f, rpath, body['dhcp_range'], net)
        if not net['dhcp']:
            f.add(rpath, 'dhcp_range needs dhcp: true on network %s' % name)
    if body.get('description') is not None and not isinstance(body['description'], str):
        f.add(_path(path, 'description'), 'description must be a string')
    else:
        net['description'] = body.get('description')
    return net


def _networks(f, raw, zones, hosts, trunks=None):
    nets = {}
    for key, path, body in _entries(f, 'netwire_networks', raw, 'network', NETWORK_KEYS):
        nets[key] = _network(f, key, path, body, zones, hosts, trunks)
    names = sorted(n for n in nets if nets[n]['net'] is not None)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if nets[a]['net'].overlaps(nets[b]['net']):
                f.add(_at('netwire_networks', b, 'subnet'), 'subnet %s overlaps subnet %s of network %s'
                      % (nets[b]['subnet'], nets[a]['subnet'], a))
    for name, bridge, other in _clashes(nets, lambda n: n['bridge']):
        f.add(_at('netwire_networks', name, 'bridge'), "bridge name '%s' is also the bridge of network %s"
              % (bridge, other))
    for name, (overlay, key), other in _clashes(
            nets, lambda n: (n['overlay'], n['key']) if n['key'] is not None and n['overlay'] in KEY_RANGE else None):
        f.add(_at('netwire_networks', name, 'key'), '%s key %d is also the key of network %s' % (overlay, key, other))
    return nets


def _interface(f, path, cname, index, body, nets):
    itf = {'network': None, 'ifname': 'eth%d' % (index + 1), 'address': None, 'auto': True, 'dhcp': False, 'mac': None,
           'mac_auto': True, 'gateway': 'auto', 'gateway_takeover': False, 'routes': [], 'rules': [], 'qdisc': None,
           'path': path, 'ok': True}
    body = _as_dict(f, path, body, 'an interface', allow_none=False)
    if body is None:
        itf['ok'] = False
        return itf
    _unknown_keys(f, path, body, INTERFACE_KEYS)
    itf['network'] = _member(f, _path(path, 'network'), body.get('network'), nets, 'network',
                             'an interface needs a network')
    if itf['network'] is None:
        itf['ok'] = False
    if body.get('ifname') is not None:
        ifname = _ifname(f, _path(path, 'ifname'), body['ifname'], 'interface name')
        if ifname == 'lo':
            f.add(_path(path, 'ifname'), "interface name 'lo' is the container's loopback")
            ifname = None
        if ifname is None:
            itf['ok'] = False
        else:
            itf['ifname'] = ifname
    net = nets.get(itf['network'])
    subnet = net['net'] if net else None
    apath = _path(path, 'address')
    address = body.get('address')
    if address == 'dhcp':
        # the model's address all the same (allocated as 'auto'), obtained by DHCP: the lease is predictable
        itf['dhcp'] = True
        if net is not None and not net['dhcp']:
            f.add(apath, "address: dhcp needs dhcp: true on network %s (it serves no DHCP)" % net['name'])
            itf['ok'] = False
    if address is not None and address not in ('auto', 'dhcp'):
        itf['auto'] = False
        text = _str(f, apath, address, 'address')
        addr = None
        if text is not None:
            ip_text, _sep, prefix = text.strip().partition('/')
            addr = _ipv4(ip_text)
            if addr is None:
                f.add(apath, "address '%s' is not an IPv4 address (or 'auto')" % text)
            elif prefix and subnet is not None and prefix != str(subnet.prefixlen):
                f.add(apath, "address '%s' has prefix /%s but the subnet of network %s is %s"
                      % (text, prefix, itf['network'], subnet))
                addr = None
        if addr is not None and subnet is not None:
            why = _usable(subnet, addr)
            if why:
                f.add(apath, "address %s %s" % (addr, why))
                addr = None
            elif int(addr) - int(subnet.network_address) <= (net['host_slots'] or 0):
                f.add(apath, 'address %s is in the host range of network %s (%s to %s, first %d addresses): '
                      'use a higher one' % (addr, itf['network'], subnet.network_address + 1,
                                            subnet.network_address + net['host_slots'], net['host_slots']))
                addr = None
        itf['address'] = str(addr) if addr is not None else None
        if itf['address'] is None:
            itf['ok'] = False
    elif net is not None and net['net'] is not None:
        try:
            itf['address'] = auto_address(net['subnet'], net['name'], cname, itf['ifname'], net['host_slots'])
        except ValueError as exc:
            f.add(apath, str(exc))
            itf['ok'] = False
    if body.get('mac') is not None:
        text = _str(f, _path(path, 'mac'), body['mac'], 'mac')
        if text is not None:
            mac = text.strip().lower().replace('-', ':')
            if not MAC_RE.match(mac):
                f.add(_path(path, 'mac'), "MAC address '%s' is malformed (expected six hex pairs)" % text)
            elif int(mac[:2], 16) & 1 or mac == '00:00:00:00:00:00':
                f.add(_path(path, 'mac'), "MAC address '%s' is not a unicast address" % text)
            else:
                itf['mac'], itf['mac_auto'] = mac, False
    if itf['mac'] is None:
        itf['mac'] = derive_mac(cname, itf['ifname'])
    gateway = body.get('gateway')
    gpath = _path(path, 'gateway')
    if gateway is None or gateway == 'auto':
        itf['gateway'] = 'auto'
    elif gateway is False or gateway == 'none':
        itf['gateway'] = None
    else:
        text = _str(f, gpath, gateway, 'gateway')
        addr = _ipv4(text.strip()) if text else None
        if text is not None and addr is None:
            f.add(gpath, "gateway '%s' is not an IPv4 address, 'auto' or 'none'" % text)
        elif addr is not None and subnet is not None:
            why = _usable(subnet, addr)
            if why:
                f.add(gpath, 'gateway %s %s' % (addr, why))
                addr = None
        if addr is not None and str(addr) == itf['address']:
            f.add(gpath, "gateway %s is the interface's own address" % addr)
            addr = None
        itf['gateway'] = str(addr) if addr is not None else None
        if itf['dhcp'] and addr is not None:
            f.add(gpath, 'gateway %s: an address: dhcp interface gets its router from DHCP (its host\'s bridge '
                  'address): use gateway auto or none' % addr)
    itf['gateway_takeover'] = bool(_bool(f, _path(path, 'gateway_takeover'), body.get('gateway_takeover'), False,
                                         'gateway_takeover'))
    if itf['gateway_takeover'] and itf['gateway'] is None:
        f.add(_path(path, 'gateway_takeover'), 'gateway_takeover needs a gateway on this interface')
    read_interface_policy(f, path, body, itf)
    return itf


def _publication(f, path, body, container):
    pub = {'proto': 'tcp', 'host_port': None, 'port': None, 'bind': 'underlay', 'network': None, 'path': path}
    body = _as_dict(f, path, body, 'a publication', allow_none=False)
    if body is None:
        return None
    _unknown_keys(f, path, body, PUBLISH_KEYS)
    pub['proto'] = _choice(f, _path(path, 'proto'), body.get('proto'), PROTOS, 'tcp', 'proto')
    if body.get('host_port') is None:
        f.add(_path(path, 'host_port'), 'a publication needs host_port')
    else:
        pub['host_port'] = _int(f, _path(path, 'host_port'), body['host_port'], 1, 65535, 'host_port')
    if body.get('port') is not None:
        pub['port'] = _int(f, _path(path, 'port'), body['port'], 1, 65535, 'port')
    elif pub['host_port'] is not None:
        pub['port'] = pub['host_port']
    bind = body.get('bind')
    if bind is not None and bind != 'underlay':
        text = _str(f, _path(path, 'bind'), bind, 'bind')
        addr = _ipv4(text.strip()) if text else None
        if text is not None and addr is None:
            f.add(_path(path, 'bind'), "bind '%s' is not an IPv4 address or 'underlay'" % text)
        pub['bind'] = str(addr) if addr is not None else None
    networks = [i['network'] for i in container['interfaces'] if i['network']]
    if body.get('network') is not None:
        if not isinstance(body['network'], str) or body['network'] not in networks:
            f.add(_path(path, 'network'), "container %s has no interface on network %s"
                  % (container['name'], body['network']))
        else:
            pub['network'] = body['network']
    elif networks:
        pub['network'] = networks[0]
    else:
        f.add(path, 'container %s has no interface to publish a port of' % container['name'])
    pub['capture_host_port'] = _bool(f, _path(path, 'capture_host_port'), body.get('capture_host_port'), False,
                                     'capture_host_port')
    if None in (pub['proto'], pub['host_port'], pub['port'], pub['bind'], pub['network']):
        return None
    return pub


def _containers(f, raw, nets, hosts):
    result = {}
    for name, path, body in _entries(f, 'netwire_containers', raw, 'container', CONTAINER_KEYS):
        if body is None:
            continue
        c = {'name': name, 'host': None, 'ref': name, 'ref_type': 'auto', 'interfaces': [], 'publish': [],
             'description': None, 'direct': []}
        c['host'] = _member(f, _path(path, 'host'), body.get('host'), hosts, 'host',
                            "container '%s' has no host (required: the inventory host it runs on)" % name,
                            ' (not in the inventory)')
        if body.get('ref') is not None:
            if _is_int(body['ref']) and body['ref'] > 0:
                c['ref'] = str(body['ref'])
            else:
                c['ref'] = _str(f, _path(path, 'ref'), body['ref'], 'ref') or name
        c['ref_type'] = _choice(f, _path(path, 'ref_type'), body.get('ref_type'), REF_TYPES, 'auto',
                                'ref_type') or 'auto'
        ipath = _path(path, 'interfaces')
        items = _as_list(f, ipath, body.get('interfaces'), 'interfaces')
        for i, item in enumerate(items or []):
            if is_direct(item):  # issue 19: a macvlan, VLAN, NIC or dummy interface, on no network
                c['direct'].append(read_direct(f, _path(ipath, i), i, item))
            else:
                c['interfaces'].append(_interface(f, _path(ipath, i), name, i, item, nets))
        seen = {}
        for itf in sorted(c['interfaces'] + c['direct'], key=lambda x: _position(x['path'])):
            i = _position(itf['path'])
            if itf['ifname'] in seen:
                f.add(_path(_path(ipath, i), 'ifname'), "interface name '%s' is also used by interfaces[%d]"
                      % (itf['ifname'], seen[itf['ifname']]))
                itf['ok'] = False
            seen.setdefault(itf['ifname'], i)
        explicit = sorted([_position(itf['path']) for itf in c['interfaces'] if itf['gateway'] not in ('auto', None)]
                          + [_position(itf['path']) for itf in c['direct'] if itf.get('attach', {}).get('gateway')])
        if len(explicit) > 1:
            f.add(_path(_path(ipath, explicit[1]), 'gateway'), 'a container has one default gateway; '
                  'interfaces[%d] already sets one' % explicit[0])
        ppath = _path(path, 'publish')
        pubs = _as_list(f, ppath, body.get('publish'), 'publish')
        for i, item in enumerate(pubs or []):
            pub = _publication(f, _path(ppath, i), item, c)
            if pub is not None:
                c['publish'].append(pub)
        if body.get('description') is not None and not isinstance(body['description'], str):
            f.add(_path(path, 'description'), 'description must be a string')
        result[name] = c
    for name, (host, ref), other in _clashes(result, lambda c: (c['host'], c['ref']) if c['host'] else None):
        f.add(_at('netwire_containers', name, 'ref'), "container %s on host %s is also declared as %s: one "
              "container, one entry" % (ref, host, other))
    check_direct(f, result)
    return result


def _position(path):
    """The index of ``...interfaces[<i>]``."""
    return int(path.rpartition('[')[2].rstrip(']'))


def _resolve_gateways(containers, nets, hosts):
    """``auto`` gateways: the first interface routes through the local host's bridge address."""
    for c in containers.values():
        have_explicit = (any(itf['gateway'] not in ('auto', None) for itf in c['interfaces'])
                         or any(itf.get('attach', {}).get('gateway') for itf in c.get('direct', [])))
        first = True
        for itf in c['interfaces']:
            if itf['gateway'] != 'auto':
                continue
            net, host = nets.get(itf['network']), hosts.get(c['host'])
            if first and not have_explicit and net and net['net'] is not None and host:
                itf['gateway'] = host_address(net['subnet'], host['index'])
            else:
                itf['gateway'] = None
            first = False
