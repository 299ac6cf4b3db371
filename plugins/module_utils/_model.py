# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The netwire model: schema, validation, address allocation, derived names and per-host plans.

Pure Python (standard library only: ``ipaddress``, ``hashlib``, ``re``), so the
controller (the netwire_validate action plugin) and the unit tests share one
implementation; host_network applies the plans it computes. Nothing here touches a host.

The model is three inventory variables (docs/model.md has the full reference):

``netwire_zones``
    ``{zone: {allow_to: [zone, ...], description: str}}``. ``allow_to`` lists the
    zones this zone may open connections to (replies always flow back).
``netwire_networks``
    ``{network: {subnet, zone, backend, overlay, key, port, mtu, nat, icc, hosts,
    vlan, bridge, host_slots, description}}``.
``netwire_containers``
    ``{container: {host, ref, ref_type, interfaces: [{network, ifname, address,
    mac, gateway}], publish: [{proto, host_port, port, bind, network}]}}``.

and, per inventory host, ``netwire_host`` (over ``netwire_host_defaults``):
``{index, underlay_interface, underlay_address, underlay_mtu, ovs_datapath}``.

Public functions
----------------
``analyze(model, hosts)`` -> ``(normalized, findings, warnings)``;
``validate(model, hosts)`` -> findings; ``plan(model, hosts)`` -> ``{host: plan}``
(raises :class:`ModelInvalid`). A finding is ``{'path': ..., 'msg': ...}``, the
path naming the offending place in the model, e.g.
``netwire_containers.web1.interfaces[0].address``. Malformed input of any shape
yields findings, never an exception.

Addresses
---------
Each host has an ``index`` (``netwire_host.index``; by default its 1-based
position among the model's hosts sorted by name: pin it when hosts may be
added). Its address on every network is ``subnet + index``; the first
``host_slots`` addresses of a subnet (default ``min(16, usable // 4)``) are
reserved for hosts. A container interface with ``address: auto`` gets
``subnet + host_slots + 1 + H mod pool`` where ``H`` is a SHA-256 of
``network/container/ifname`` and ``pool`` the rest of the subnet. The address is
a function of those three names and the subnet only, so it is the same on every
run, after a restart, and whatever other containers are added or removed. Two
interfaces that land on the same address are a finding that names a free
address to pin one of them with: we never resolve a clash by moving an address
(any probing would let a newcomer displace an existing container).

Names (all at most 15 characters, deterministic)
------------------------------------------------
:func:`bridge_name`, :func:`veth_host_name`, :func:`linux_tunnel_name`,
:func:`ovs_tunnel_port_name`, :func:`underlay_bridge_name`, :func:`derive_mac`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.netwire.fabric.plugins.module_utils import _validate
from ansible_collections.netwire.fabric.plugins.module_utils._errors import InvalidParameter
from ansible_collections.netwire.fabric.plugins.module_utils._names import (
    OVERLAY_TYPES,
    OVERLAYS,
    bridge_name,
    container_mac as derive_mac,
    digest as _digest,
    linux_tunnel_name,
    ovs_tunnel_port_name,
    underlay_bridge_name,
    veth_host_name,
)

NAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]*$')
IDENT_RE = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')
MAC_RE = re.compile(r'^[0-9a-f]{2}(:[0-9a-f]{2}){5}$')

MODEL_VARS = ('netwire_zones', 'netwire_networks', 'netwire_containers')
ZONE_KEYS = ('allow_to', 'description')
NETWORK_KEYS = ('subnet', 'zone', 'backend', 'overlay', 'key', 'port', 'mtu', 'nat', 'icc', 'hosts', 'vlan',
                'bridge', 'host_slots', 'description')
CONTAINER_KEYS = ('host', 'ref', 'ref_type', 'interfaces', 'publish', 'description')
INTERFACE_KEYS = ('network', 'ifname', 'address', 'mac', 'gateway', 'gateway_takeover')
PUBLISH_KEYS = ('proto', 'host_port', 'port', 'bind', 'network', 'capture_host_port')
HOST_KEYS = ('index', 'underlay_interface', 'underlay_address', 'underlay_mtu', 'ovs_datapath')

BACKENDS = ('linux', 'ovs')
OVERLAY_CHOICES = ('none',) + OVERLAY_TYPES
REF_TYPES = ('auto', 'docker', 'podman', 'pid', 'netns', 'path')
DATAPATHS = ('system', 'netdev')
PROTOS = ('tcp', 'udp')

# The overlay facts (module_utils/_names.py OVERLAYS), as the model reads them.
# Bytes each encapsulation adds on the underlay (see _names.OVERLAYS):
ENCAP_OVERHEAD = dict([('none', 0)] + [(t, o.overhead) for t, o in OVERLAYS.items()])
VLAN_OVERHEAD = 4
KEY_RANGE = dict((t, (1, o.key_max)) for t, o in OVERLAYS.items())
DEFAULT_UDP_PORT = dict((t, o.udp_port) for t, o in OVERLAYS.items() if o.udp_port is not None)
LINUX_TUNNEL_KIND = dict((t, o.link_kind) for t, o in OVERLAYS.items())
DEFAULT_UNDERLAY_MTU = 1500
DEFAULT_MTU = 1500
MAX_HOST_SLOTS = 16


class ModelInvalid(ValueError):
    """The model has findings; :attr:`findings` lists them."""

    def __init__(self, findings):
        self.findings = findings
        super(ModelInvalid, self).__init__(format_findings(findings))


def format_findings(findings):
    lines = ['The netwire model has %d problem%s:' % (len(findings), '' if len(findings) == 1 else 's')]
    lines.extend('  %s: %s' % (f['path'], f['msg']) for f in findings)
    return '\n'.join(lines)


# ---------------------------------------------------------------- addresses

def default_host_slots(subnet):
    net = ipaddress.ip_network(subnet)
    return min(MAX_HOST_SLOTS, max(0, (net.num_addresses - 2) // 4))


def host_address(subnet, index):
    """Address of the host with ``index`` on the bridge of a network with ``subnet``."""
    net = ipaddress.ip_network(subnet)
    return str(net.network_address + index)


def auto_address(subnet, network, container, ifname, host_slots=None):
    """The ``auto`` address of one container interface (see the module docstring).

    A pure function of the subnet, the host slot count and the three names.
    """
    net = ipaddress.ip_network(subnet)
    slots = default_host_slots(subnet) if host_slots is None else host_slots
    pool = net.num_addresses - 2 - slots
    if pool < 1:
        raise ValueError('subnet %s has no addresses left for containers' % subnet)
    offset = int(_digest('addr', network, container, ifname)[:16], 16) % pool
    return str(net.network_address + slots + 1 + offset)


def overlay_overhead(overlay, vlan=None):
    """Underlay bytes one frame of an overlay needs beyond its MTU (a VLAN tag travels inside)."""
    extra = ENCAP_OVERHEAD[overlay]
    if extra and vlan:
        extra += VLAN_OVERHEAD
    return extra


# ---------------------------------------------------------------- reading helpers

def _path(base, key):
    if isinstance(key, int) and not isinstance(key, bool):
        return '%s[%d]' % (base, key)
    text = str(key)
    if IDENT_RE.match(text) or NAME_RE.match(text) and '.' not in text:
        return '%s.%s' % (base, text) if base else text
    return "%s[%r]" % (base, text)


def _at(*parts):
    path = ''
    for part in parts:
        path = _path(path, part)
    return path


class _Findings(object):
    def __init__(self):
        self.items = []
        self.warnings = []

    def add(self, path, msg):
        self.items.append({'path': path, 'msg': msg})

    def warn(self, path, msg):
        self.warnings.append({'path': path, 'msg': msg})


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _as_dict(f, path, value, what, allow_none=True):
    if value is None and allow_none:
        return {}
    if isinstance(value, dict):
        return value
    f.add(path, '%s must be a mapping, got %s' % (what, _kind(value)))
    return None


def _as_list(f, path, value, what):
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    f.add(path, '%s must be a list, got %s' % (what, _kind(value)))
    return None


def _kind(value):
    if value is None:
        return 'nothing (null)'
    if isinstance(value, bool):
        return 'a boolean'
    if _is_int(value):
        return 'a number'
    if isinstance(value, float):
        return 'a float'
    if isinstance(value, str):
        return "a string ('%s')" % (value if len(value) <= 40 else value[:37] + '...')
    if isinstance(value, dict):
        return 'a mapping'
    if isinstance(value, (list, tuple)):
        return 'a list'
    return type(value).__name__


def _unknown_keys(f, path, value, known):
    ok = True
    for key in sorted(value, key=str):
        if not isinstance(key, str) or key not in known:
            f.add(_path(path, key), "unknown key '%s' (known keys: %s)" % (key, ', '.join(known)))
            ok = False
    return ok


def _name(f, path, key, what):
    if not isinstance(key, str):
        f.add(path, '%s name %r must be a string, got %s' % (what, key, _kind(key)))
        return False
    if not NAME_RE.match(key):
        f.add(path, "%s name '%s' must start with a letter or digit and hold only letters, digits, '_', '.', '-'"
              % (what, key))
        return False
    return True


def _choice(f, path, value, choices, default, what):
    if value is None:
        return default
    if isinstance(value, str) and value in choices:
        return value
    f.add(path, '%s must be one of %s, got %s' % (what, ', '.join(choices), _kind(value)))
    return None


def _bool(f, path, value, default, what):
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ('yes', 'true', 'on', 'no', 'false', 'off'):
        return value.lower() in ('yes', 'true', 'on')
    f.add(path, '%s must be a boolean, got %s' % (what, _kind(value)))
    return None


def _int(f, path, value, low, high, what):
    """An integer in [low, high]; digit strings are accepted (templating may yield them)."""
    number = None
    if _is_int(value):
        number = value
    elif isinstance(value, str) and value.strip().isdigit() and len(value.strip()) < 20:
        number = int(value.strip())
    if number is None:
        f.add(path, '%s must be an integer, got %s' % (what, _kind(value)))
        return None
    if not low <= number <= high:
        f.add(path, '%s %d is out of range (%d..%d)' % (what, number, low, high))
        return None
    return number


def _str(f, path, value, what):
    if isinstance(value, str) and value:
        return value
    f.add(path, '%s must be a non-empty string, got %s' % (what, _kind(value)))
    return None


def _ifname(f, path, value, what):
    """An interface name by the modules' own rule (``_validate.ifname``), as a finding."""
    text = _str(f, path, value, what)
    if text is None:
        return None
    try:
        return _validate.ifname(text, what)
    except InvalidParameter as err:
        f.add(path, err.msg)
        return None


def _ipv4(text):
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    return addr if addr.version == 4 else None


def _usable(net, addr):
    """Why ``addr`` cannot be a host address in ``net``, or None."""
    if addr not in net:
        return 'is outside the subnet %s' % net
    if addr == net.network_address:
        return 'is the network address of %s' % net
    if addr == net.broadcast_address:
        return 'is the broadcast address of %s' % net
    return None


# ---------------------------------------------------------------- normalization

def _zones(f, raw):
    zones = {}
    top = _as_dict(f, 'netwire_zones', raw, 'netwire_zones')
    if top is None:
        return zones
    for key in sorted(top, key=str):
        path = _path('netwire_zones', key)
        if not _name(f, path, key, 'zone'):
            continue
        body = _as_dict(f, path, top[key], "zone '%s'" % key)
        zones[key] = {'name': key, 'allow_to': [], 'description': None}
        if body is None:
            continue
        _unknown_keys(f, path, body, ZONE_KEYS)
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
    facts = hvars.get('ansible_facts') if isinstance(hvars.get('ansible_facts'), dict) else {}
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
    seen = {}
    for name in sorted(result):
        index = result[name]['index']
        if index in seen and not result[name].get('index_default'):
            f.add(result[name]['paths']['index'], 'host index %d is also the index of host %s' % (index, seen[index]))
        seen.setdefault(index, name)
    seen = {}
    for name in sorted(result):
        addr = result[name]['underlay_address']
        if addr is None:
            continue
        if addr in seen:
            f.add(result[name]['paths']['underlay_address'],
                  'underlay address %s is also the underlay address of host %s' % (addr, seen[addr]))
        seen.setdefault(addr, name)
    return result


def _network(f, name, body, zones, hosts):
    path = _path('netwire_networks', name)
    net = {'name': name, 'subnet': None, 'net': None, 'zone': None, 'backend': 'linux', 'overlay': 'none',
           'key': None, 'port': None, 'mtu_setting': 'auto', 'mtu': None, 'nat': True, 'icc': True,
           'hosts_setting': None, 'hosts': [], 'vlan': None, 'bridge': bridge_name(name), 'host_slots': None,
           'description': None, 'ok': True}
    body = _as_dict(f, path, body, "network '%s'" % name)
    if body is None:
        net['ok'] = False
        return net
    _unknown_keys(f, path, body, NETWORK_KEYS)

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

    zpath = _path(path, 'zone')
    if body.get('zone') is None:
        f.add(zpath, "network '%s' has no zone (required: one of the zones in netwire_zones)" % name)
    elif not isinstance(body['zone'], str):
        f.add(zpath, 'zone must be a string, got %s' % _kind(body['zone']))
    elif body['zone'] not in zones:
        f.add(zpath, "unknown zone '%s'" % body['zone'])
    else:
        net['zone'] = body['zone']

    net['backend'] = _choice(f, _path(path, 'backend'), body.get('backend'), BACKENDS, 'linux', 'backend')
    net['overlay'] = _choice(f, _path(path, 'overlay'), body.get('overlay'), OVERLAY_CHOICES, 'none', 'overlay')
    if net['backend'] is None or net['overlay'] is None:
        net['ok'] = False
    overlay = net['overlay']
    kpath = _path(path, 'key')
    if overlay in KEY_RANGE:
        if body.get('key') is None:
            f.add(kpath, "network '%s' with overlay %s needs a key (the %s)"
                  % (name, overlay, 'GRE key' if overlay == 'gre' else 'VNI'))
        else:
            low, high = KEY_RANGE[overlay]
            net['key'] = _int(f, kpath, body['key'], low, high, '%s key' % overlay)
    elif body.get('key') is not None and overlay == 'none':
        f.add(kpath, 'key is only valid with an overlay (vxlan, gre or geneve)')
    ppath = _path(path, 'port')
    if body.get('port') is not None:
        if overlay in DEFAULT_UDP_PORT:
            net['port'] = _int(f, ppath, body['port'], 1, 65535, 'UDP port')
        elif overlay is not None:
            f.add(ppath, 'port (the UDP destination port) is only valid with overlay vxlan or geneve')
    if overlay in DEFAULT_UDP_PORT and net['port'] is None:
        net['port'] = DEFAULT_UDP_PORT[overlay]

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

    if body.get('hosts') is not None:
        hpath = _path(path, 'hosts')
        items = _as_list(f, hpath, body['hosts'], 'hosts')
        if items is not None:
            listed = []
            for i, host in enumerate(items):
                if not isinstance(host, str):
                    f.add(_path(hpath, i), 'a host name must be a string, got %s' % _kind(host))
                elif host not in hosts:
                    f.add(_path(hpath, i), "unknown host '%s' (not in the inventory)" % host)
                elif host not in listed:
                    listed.append(host)
            net['hosts_setting'] = listed

    if net['net'] is not None:
        usable = net['net'].num_addresses - 2
        spath = _path(path, 'host_slots')
        if body.get('host_slots') is not None:
            net['host_slots'] = _int(f, spath, body['host_slots'], 1, max(1, usable - 1), 'host_slots')
        if net['host_slots'] is None:
            net['host_slots'] = default_host_slots(net['subnet'])
    if body.get('description') is not None and not isinstance(body['description'], str):
        f.add(_path(path, 'description'), 'description must be a string')
    else:
        net['description'] = body.get('description')
    return net


def _networks(f, raw, zones, hosts):
    nets = {}
    top = _as_dict(f, 'netwire_networks', raw, 'netwire_networks')
    if top is None:
        return nets
    for key in sorted(top, key=str):
        path = _path('netwire_networks', key)
        if _name(f, path, key, 'network'):
            nets[key] = _network(f, key, top[key], zones, hosts)
    names = sorted(n for n in nets if nets[n]['net'] is not None)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if nets[a]['net'].overlaps(nets[b]['net']):
                f.add(_at('netwire_networks', b, 'subnet'), 'subnet %s overlaps subnet %s of network %s'
                      % (nets[b]['subnet'], nets[a]['subnet'], a))
    owners = {}
    for name in sorted(nets):
        bridge = nets[name]['bridge']
        if bridge in owners:
            f.add(_path(_path('netwire_networks', name), 'bridge'), "bridge name '%s' is also the bridge of network %s"
                  % (bridge, owners[bridge]))
        owners.setdefault(bridge, name)
    keys = {}
    for name in sorted(nets):
        net = nets[name]
        if net['key'] is None or net['overlay'] not in KEY_RANGE:
            continue
        ident = (net['overlay'], net['key'])
        if ident in keys:
            f.add(_at('netwire_networks', name, 'key'), '%s key %d is also the key of network %s'
                  % (net['overlay'], net['key'], keys[ident]))
        keys.setdefault(ident, name)
    return nets


def _interface(f, path, cname, index, body, nets):
    itf = {'network': None, 'ifname': 'eth%d' % (index + 1), 'address': None, 'auto': True, 'mac': None,
           'mac_auto': True, 'gateway': 'auto', 'gateway_takeover': False, 'path': path, 'ok': True}
    body = _as_dict(f, path, body, 'an interface', allow_none=False)
    if body is None:
        itf['ok'] = False
        return itf
    _unknown_keys(f, path, body, INTERFACE_KEYS)
    npath = _path(path, 'network')
    if body.get('network') is None:
        f.add(npath, 'an interface needs a network')
        itf['ok'] = False
    elif not isinstance(body['network'], str):
        f.add(npath, 'network must be a string, got %s' % _kind(body['network']))
        itf['ok'] = False
    elif body['network'] not in nets:
        f.add(npath, "unknown network '%s'" % body['network'])
        itf['ok'] = False
    else:
        itf['network'] = body['network']
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
    if address is not None and address != 'auto':
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
    itf['gateway_takeover'] = bool(_bool(f, _path(path, 'gateway_takeover'), body.get('gateway_takeover'), False,
                                         'gateway_takeover'))
    if itf['gateway_takeover'] and itf['gateway'] is None:
        f.add(_path(path, 'gateway_takeover'), 'gateway_takeover needs a gateway on this interface')
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
    top = _as_dict(f, 'netwire_containers', raw, 'netwire_containers')
    if top is None:
        return result
    for name in sorted(top, key=str):
        path = _path('netwire_containers', name)
        if not _name(f, path, name, 'container'):
            continue
        body = _as_dict(f, path, top[name], "container '%s'" % name)
        if body is None:
            continue
        _unknown_keys(f, path, body, CONTAINER_KEYS)
        c = {'name': name, 'host': None, 'ref': name, 'ref_type': 'auto', 'interfaces': [], 'publish': [],
             'description': None}
        hpath = _path(path, 'host')
        if body.get('host') is None:
            f.add(hpath, "container '%s' has no host (required: the inventory host it runs on)" % name)
        elif not isinstance(body['host'], str):
            f.add(hpath, 'host must be a string, got %s' % _kind(body['host']))
        elif body['host'] not in hosts:
            f.add(hpath, "unknown host '%s' (not in the inventory)" % body['host'])
        else:
            c['host'] = body['host']
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
            c['interfaces'].append(_interface(f, _path(ipath, i), name, i, item, nets))
        seen = {}
        for i, itf in enumerate(c['interfaces']):
            if itf['ifname'] in seen:
                f.add(_path(_path(ipath, i), 'ifname'), "interface name '%s' is also used by interfaces[%d]"
                      % (itf['ifname'], seen[itf['ifname']]))
                itf['ok'] = False
            seen.setdefault(itf['ifname'], i)
        explicit = [i for i, itf in enumerate(c['interfaces']) if itf['gateway'] not in ('auto', None)]
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
    refs = {}
    for name in sorted(result):
        c = result[name]
        ident = (c['host'], c['ref'])
        if c['host'] and ident in refs:
            f.add(_at('netwire_containers', name, 'ref'), "container %s on host %s is also declared as %s: one "
                  "container, one entry" % (c['ref'], c['host'], refs[ident]))
        refs.setdefault(ident, name)
    return result


def _resolve_gateways(containers, nets, hosts):
    """``auto`` gateways: the first interface routes through the local host's bridge address."""
    for c in containers.values():
        have_explicit = any(itf['gateway'] not in ('auto', None) for itf in c['interfaces'])
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
        if net['overlay'] == 'none' and len(net['hosts']) > 1:
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
                h = hosts.get(host)
                if h and h['ovs_datapath'] == 'netdev' and (not h['underlay_interface'] or
                                                            h['underlay_prefix'] is None):
                    f.add(h['paths']['underlay_interface' if not h['underlay_interface'] else 'underlay_address'],
                          'host %s uses the OVS userspace datapath (netdev) for overlay %s: its underlay address '
                          'moves to an OVS bridge owning the underlay NIC, which needs underlay_interface and '
                          'underlay_address with a prefix length' % (host, name))
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


def _mtus(f, nets, hosts):
    for name in sorted(nets):
        net = nets[name]
        if net['overlay'] is None:
            continue
        overhead = overlay_overhead(net['overlay'], net['vlan'] if net['backend'] == 'ovs' else None)
        spanned = [hosts[h] for h in net['hosts'] if h in hosts]
        floor = min([h['underlay_mtu'] for h in spanned] or [DEFAULT_UNDERLAY_MTU])
        low = sorted(spanned, key=lambda h: (h['underlay_mtu'], h['name']))
        if not overhead:
            net['mtu'] = DEFAULT_MTU if net['mtu_setting'] == 'auto' else net['mtu_setting']
        elif net['mtu_setting'] == 'auto':
            net['mtu'] = floor - overhead
        else:
            net['mtu'] = net['mtu_setting']
            if net['mtu'] > floor - overhead:
                f.add(_at('netwire_networks', name, 'mtu'),
                      'mtu %d does not fit %s encapsulation (%d bytes) over the underlay MTU %d of host %s: '
                      'at most %d' % (net['mtu'], net['overlay'], overhead, floor, low[0]['name'] if low else '?',
                                      floor - overhead))


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


def _names(f, nets, containers, hosts):
    """Derived interface names must be unique on each host (a hash clash is astronomically rare)."""
    for host in sorted(hosts):
        owners = {}
        for name in sorted(nets):
            if host in nets[name]['hosts']:
                owners.setdefault(nets[name]['bridge'], _at('netwire_networks', name, 'bridge'))
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
    facts = hvars.get('ansible_facts') if isinstance(hvars, dict) else None
    if not isinstance(facts, dict) or not isinstance(facts.get('interfaces'), list):
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


def _host_facts_checks(f, nets, containers, hosts, raw_hosts):
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


def is_empty(model):
    """True when the model declares no zone, network or container at all."""
    if not isinstance(model, dict):
        return model is None
    return not any(model.get(var) for var in MODEL_VARS)


EMPTY_MODEL_MSG = ('the model declares no zones, networks or containers: site.yml would remove everything '
                   'netwire.fabric built on every host. Check the inventory (-i) holds the model. To remove '
                   'everything on purpose, run playbooks/down.yml; to converge to an empty model, set '
                   'netwire_allow_empty: true')


def analyze(model, hosts):
    """Normalize and check ``model`` for ``hosts``: ``(normalized, findings, warnings)``.

    ``model`` holds ``netwire_zones``, ``netwire_networks`` and
    ``netwire_containers``. ``hosts`` maps each inventory host to its variables
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
    nets = _networks(f, top.get('netwire_networks'), zones, host_map)
    containers = _containers(f, top.get('netwire_containers'), nets, host_map)
    _span(f, nets, containers, host_map)
    _resolve_gateways(containers, nets, host_map)
    _routing(f, zones, nets, containers)
    _mtus(f, nets, host_map)
    _addresses(f, nets, containers, host_map)
    _publications(f, containers, host_map)
    _names(f, nets, containers, host_map)
    _subnet_ranges(f, nets)
    _host_facts_checks(f, nets, containers, host_map, hosts)
    normalized = {
        'zones': zones,
        'networks': dict((n, _public_network(v)) for n, v in nets.items()),
        'containers': dict((n, _public_container(v)) for n, v in containers.items()),
        'hosts': dict((n, _public_host(v)) for n, v in host_map.items()),
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
    out['publish'] = [dict((k, v) for k, v in p.items() if k != 'path') for p in c['publish']]
    return out


def _public_host(h):
    return dict((k, v) for k, v in h.items() if k not in ('paths', 'index_default'))


# ---------------------------------------------------------------- plans

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
    ``attachments`` -> container_attach, ``firewall`` -> firewall. ``networks``
    summarizes what this host carries; ``names`` lists every interface name the
    plan creates on the host.
    """
    h = normalized['hosts'][host]
    nets, containers, zones = normalized['networks'], normalized['containers'], normalized['zones']
    hosts = normalized['hosts']
    local = [nets[n] for n in sorted(nets) if host in nets[n]['hosts']]
    needs_underlay_bridge = h['ovs_datapath'] == 'netdev' and any(
        n['backend'] == 'ovs' and n['overlay'] in KEY_RANGE and len(n['hosts']) > 1 for n in local)
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
    }
    if underlay_bridge:
        p['ovs_bridges'].append({
            'name': underlay_bridge, 'datapath_type': 'netdev',
            'ports': [{'name': h['underlay_interface'], 'type': 'system'},
                      {'name': underlay_bridge, 'type': 'internal',
                       'addresses': [_cidr(h['underlay_address'], h['underlay_prefix'])]}]})
        p['names'].append(underlay_bridge)
    for net in local:
        prefix = int(net['subnet'].split('/')[1])
        address = _cidr(host_address(net['subnet'], h['index']), prefix)
        p['networks'][net['name']] = {'bridge': net['bridge'], 'backend': net['backend'], 'subnet': net['subnet'],
                                      'address': address, 'mtu': net['mtu'], 'zone': net['zone'],
                                      'overlay': net['overlay'], 'nat': net['nat'], 'icc': net['icc']}
        p['names'].append(net['bridge'])
        if net['backend'] == 'linux':
            p['linux_bridges'].append({'name': net['bridge'], 'mtu': net['mtu'], 'addresses': [address],
                                       'stp': False})
        else:
            # The internal port is the containers' gateway: on a VLAN network it is an access
            # port of that VLAN like theirs (tunnel ports stay trunks).
            p['ovs_bridges'].append({'name': net['bridge'], 'datapath_type': h['ovs_datapath'],
                                     'ports': [{'name': net['bridge'], 'type': 'internal', 'tag': net['vlan'],
                                                'mtu': net['mtu'], 'addresses': [address]}]})
        remotes = [hosts[r]['underlay_address'] for r in net['hosts'] if r != host]
        if net['overlay'] in KEY_RANGE and remotes:
            if net['backend'] == 'linux':
                dev = underlay_bridge or h['underlay_interface']
                base = {'kind': LINUX_TUNNEL_KIND[net['overlay']], 'vni': net['key'],
                        'local': h['underlay_address'], 'master': net['bridge'], 'mtu': net['mtu'],
                        'learning': False}
                if dev:
                    base['dev'] = dev
                if net['overlay'] in DEFAULT_UDP_PORT:
                    base['port'] = net['port']
                if net['overlay'] == 'vxlan':
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
        if net['overlay'] in KEY_RANGE and remotes:
            # With a netdev underlay bridge the kernel receives the peers' packets on the bridge's internal
            # port or, when a peer resolved the address to the NIC's MAC, on the NIC itself: both are the underlay.
            devices = [d for d in (underlay_bridge, h['underlay_interface']) if d] or [None]
            for device in devices:
                endpoint = {'network': net['name'], 'type': net['overlay'], 'local_address': h['underlay_address'],
                            'device': device, 'peers': sorted(remotes)}
                if net['overlay'] in DEFAULT_UDP_PORT:
                    endpoint['port'] = net['port']
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
            p['attachments'].append(attach)
            p['names'].append(attach['host_ifname'])
            if net['backend'] == 'ovs':
                # the kernel also receives the frames of a host end on an OVS bridge (netdev datapath)
                fw_net = [n for n in p['firewall']['networks'] if n['name'] == net['name']][0]
                fw_net.setdefault('ports', []).append(attach['host_ifname'])
        for pub in c['publish']:
            address = [i['address'] for i in c['interfaces'] if i['network'] == pub['network']][0]
            p['firewall']['publications'].append({
                'name': '%s:%s/%d' % (cname, pub['proto'], pub['port']), 'network': pub['network'],
                'proto': pub['proto'], 'host_port': pub['host_port'], 'bind_address': pub['bind'],
                'container_address': address, 'container_port': pub['port']})
    return p
