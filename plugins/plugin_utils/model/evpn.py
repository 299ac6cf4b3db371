# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The BGP EVPN control plane (issue 15, docs/evpn.md): ``netwire_control_plane``, a network's ``control``,
their checks, and the plan's ``frr`` entry (module ``frr``).

A kernel VXLAN network with ``control: evpn`` gets no static flood entries: FRR (zebra and bgpd) on each of its
hosts announces the host's VNIs and VTEP by iBGP, and zebra installs the remote VTEPs' flood entries and the
remote MACs. The speakers are the hosts of the EVPN networks and the route reflectors. Without reflectors every
speaker peers with every other one (a full mesh), allowed up to :data:`MAX_FULL_MESH` speakers.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.netwire.fabric.plugins.plugin_utils.model.fields import (
    _as_list,
    _at,
    _int,
    _is_int,
    _kind,
    _path,
    _section,
)

VAR = 'netwire_control_plane'
CONTROL_PLANE_KEYS = ('type', 'asn', 'route_reflectors', 'keepalive', 'holdtime')
CONTROL_TYPES = ('evpn',)
CONTROLS = ('static', 'evpn')
# RFC 6996: the private 2-byte and 4-byte ASN ranges (as _frr/config.py checks them on the host)
PRIVATE_ASNS = ((64512, 65534), (4200000000, 4294967294))
# A full iBGP mesh over more speakers than this is a finding asking for route reflectors.
MAX_FULL_MESH = 4


def read_control_plane(f, raw, hosts):
    """``netwire_control_plane`` in normal form, or None when the model has none.

    ``{type, asn, route_reflectors: [host], keepalive, holdtime}``; a malformed field is a finding (its value
    None).
    """
    cp, body = _section(f, VAR, raw, CONTROL_PLANE_KEYS,
                        {'type': None, 'asn': None, 'route_reflectors': [], 'keepalive': 3, 'holdtime': 9})
    if body is None:
        return cp
    cp['type'] = 'evpn'
    kind = body.get('type', 'evpn')
    if kind not in CONTROL_TYPES:
        f.add(_path(VAR, 'type'), 'type must be one of %s, got %s' % (', '.join(CONTROL_TYPES),
                                                                      repr(kind) if isinstance(kind, str)
                                                                      else _kind(kind)))
        cp['type'] = None
    apath = _path(VAR, 'asn')
    asn = body.get('asn')
    if asn is None:
        f.add(apath, 'the control plane needs asn: a private AS number (64512-65534 or 4200000000-4294967294), '
              'the same on every host (iBGP)')
    elif not _is_int(asn) and not (isinstance(asn, str) and asn.strip().isdigit() and len(asn.strip()) < 12):
        f.add(apath, 'asn must be an integer, got %s' % _kind(asn))
    else:
        number = int(asn)
        if not any(lo <= number <= hi for lo, hi in PRIVATE_ASNS):
            f.add(apath, 'asn %d is not a private AS number (64512-65534 or 4200000000-4294967294, RFC 6996)'
                  % number)
        else:
            cp['asn'] = number
    rpath = _path(VAR, 'route_reflectors')
    for i, host in enumerate(_as_list(f, rpath, body.get('route_reflectors'), 'route_reflectors') or []):
        if not isinstance(host, str):
            f.add(_path(rpath, i), 'a host name must be a string, got %s' % _kind(host))
        elif host not in hosts:
            f.add(_path(rpath, i), "unknown host '%s' (not in the inventory)" % host)
        elif host not in cp['route_reflectors']:
            cp['route_reflectors'].append(host)
    cp['route_reflectors'].sort()
    if body.get('keepalive') is not None:
        cp['keepalive'] = _int(f, _path(VAR, 'keepalive'), body['keepalive'], 1, 65535, 'keepalive') or 3
    if body.get('holdtime') is not None:
        cp['holdtime'] = _int(f, _path(VAR, 'holdtime'), body['holdtime'], 3, 65535, 'holdtime') or 9
    if cp['holdtime'] < 3 * cp['keepalive']:
        f.add(_path(VAR, 'holdtime'), 'holdtime %d is less than three keepalives (%d)'
              % (cp['holdtime'], 3 * cp['keepalive']))
    return cp


def read_control(f, path, body, net):
    """A network's ``control`` (static, the default, or evpn) into ``net['control']``."""
    value = body.get('control')
    if value is None:
        net['control'] = 'static'
    elif isinstance(value, str) and value in CONTROLS:
        net['control'] = value
    else:
        f.add(_path(path, 'control'), 'control must be one of %s, got %s' % (
            ', '.join(CONTROLS), repr(value) if isinstance(value, str) else _kind(value)))
        net['control'] = 'static'


def speakers(cp, nets):
    """The hosts that run the control plane: every host of an EVPN network, and the reflectors."""
    if cp is None:
        return []
    out = set(cp['route_reflectors'])
    for net in nets.values():
        if net.get('control') == 'evpn':
            out.update(net['hosts'])
    return sorted(out)


def evpn_checks(f, cp, nets, hosts):
    """Findings of the control plane against the networks and hosts (after the networks' spans are known)."""
    evpn_nets = sorted(n for n in nets if nets[n].get('control') == 'evpn')
    for name in evpn_nets:
        net = nets[name]
        cpath = _at('netwire_networks', name, 'control')
        if net['backend'] == 'ovs':
            f.add(cpath, 'control evpn needs backend linux (a kernel VXLAN device, whose flood entries FRR '
                  'installs); network %s is an OVS network: use control static' % name)
        elif net['overlay'] not in (None, 'vxlan'):
            f.add(cpath, 'control evpn needs overlay vxlan (network %s has overlay %s)' % (name, net['overlay']))
        if cp is None:
            f.add(cpath, 'network %s has control evpn but the model has no %s: its hosts (%s) would run no BGP '
                  'EVPN speaker and learn no remote VTEP; declare %s: {type: evpn, asn: <private ASN>}'
                  % (name, VAR, ', '.join(net['hosts']) or 'none', VAR))
    if cp is None:
        return
    if not evpn_nets:
        f.warn(VAR, 'no network has control evpn: the control plane runs only on the route reflectors')
    members = speakers(cp, nets)
    for host in members:
        h = hosts.get(host)
        if h is not None and h['underlay_address'] is None:
            f.add(h['paths']['underlay_address'], 'host %s runs the BGP EVPN control plane but has no underlay '
                  'address (its router ID and VTEP): set netwire_host.underlay_address' % host)
    if not cp['route_reflectors'] and len(members) > MAX_FULL_MESH:
        f.add(_path(VAR, 'route_reflectors'), 'a full iBGP mesh over %d hosts (%s) is %d sessions and every '
              'added host changes every other one: name one or two route reflectors (at most %d hosts '
              'without them)' % (len(members), ', '.join(members), len(members) * (len(members) - 1) // 2,
                                 MAX_FULL_MESH))


def frr_entry(normalized, host):
    """The plan's ``frr`` entry of ``host`` (module frr's arguments), or None when it runs no speaker."""
    cp = normalized.get('control_plane')
    hosts = normalized['hosts']
    members = speakers(cp, normalized['networks'])
    if host not in members:
        return None
    reflectors = cp['route_reflectors']
    if not reflectors or host in reflectors:
        # a full mesh, or a reflector: every other speaker (a reflector's clients and the other reflectors)
        peers = [m for m in members if m != host]
    else:
        peers = list(reflectors)
    addresses = sorted((hosts[m]['underlay_address'] for m in peers), key=_ip_key)
    return {'asn': cp['asn'], 'router_id': hosts[host]['underlay_address'], 'neighbors': addresses,
            'route_reflector_client': host in reflectors, 'keepalive': cp['keepalive'], 'holdtime': cp['holdtime']}


def _ip_key(addr):
    return tuple(int(x) for x in addr.split('.'))
