# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure part of netwire.fabric.frr: parameters, the files we write, the daemons' argv, whether a host's
existing FRR files are ours (or the package's untouched defaults), and FRR's JSON read into net_info's view.

Nothing here touches the host: the manager reads the files and processes, this module decides.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.netwire.fabric.plugins.module_utils import _names, _validate
from ansible_collections.netwire.fabric.plugins.module_utils._daemon import is_marked
from ansible_collections.netwire.fabric.plugins.module_utils._errors import InvalidParameter

# RFC 6996: the private 2-byte and 4-byte ASN ranges
PRIVATE_ASNS = ((64512, 65534), (4200000000, 4294967294))
DAEMONS = ('zebra', 'bgpd')          # started in this order, stopped in the reverse one
ZEBRA_NL_BUFSIZE = '90000000'       # Debian's daemons file default for zebra (-s)
VTY_ADDRESS = '127.0.0.1'           # the daemons' telnet vty: loopback only (Debian's default)

# Lines of the package's own frr.conf / daemons file that configure nothing: such a file is the package's
# untouched default (or an empty one), and we may replace it. Anything else is someone's FRR configuration.
_HARMLESS_CONF = re.compile(r'^(!.*|#.*|frr version .*|frr defaults .*|hostname .*|log .*|'
                            r'service integrated-vtysh-config|line vty|end|exit)$')
_DAEMON_ON = re.compile(r'^\s*([a-z0-9]+d)\s*=\s*"?(yes|[0-9,]+)"?\s*(#.*)?$')


def normalize(params):
    """Checked, normalized parameters (raises InvalidParameter)."""
    p = dict(params)
    p['state'] = p.get('state') or 'present'
    p['conf_dir'] = os.path.normpath(p.get('conf_dir') or _names.FRR_CONF_DIR)
    p['run_dir'] = os.path.normpath(p.get('run_dir') or _names.FRR_RUN_DIR)
    p['program_dir'] = os.path.normpath(p.get('program_dir') or _names.FRR_PROGRAM_DIR)
    for key in ('conf_dir', 'run_dir', 'program_dir'):
        if not os.path.isabs(p[key]):
            raise InvalidParameter("%s '%s' is not an absolute path" % (key, p[key]))
    if p['state'] == 'absent':
        return p
    for key in ('asn', 'router_id'):
        if p.get(key) in (None, ''):
            raise InvalidParameter('%s is required with state=present' % key)
    asn = int(p['asn'])
    if not any(lo <= asn <= hi for lo, hi in PRIVATE_ASNS):
        raise InvalidParameter('asn %s is not a private ASN (64512-65534 or 4200000000-4294967294)' % p['asn'])
    p['asn'] = asn
    p['router_id'] = _validate.ip_address(p['router_id'], 'router_id', version=4)
    neighbors = []
    for n in p.get('neighbors') or []:
        addr = _validate.ip_address(n, 'neighbor', version=4)
        if addr == p['router_id']:
            raise InvalidParameter('neighbor %s is this host (router_id)' % addr)
        if addr in neighbors:
            raise InvalidParameter('neighbor %s is listed twice' % addr)
        neighbors.append(addr)
    p['neighbors'] = sorted(neighbors, key=_ip_key)
    p['keepalive'] = _validate.int_range(p.get('keepalive', 3), 1, 65535, 'keepalive')
    p['holdtime'] = _validate.int_range(p.get('holdtime', 9), 3, 65535, 'holdtime')
    if p['holdtime'] < 3 * p['keepalive']:
        raise InvalidParameter('holdtime %d is less than 3 x keepalive (%d)' % (p['holdtime'], p['keepalive']))
    p['connect_retry'] = _validate.int_range(p.get('connect_retry', 5), 1, 65535, 'connect_retry')
    p['route_reflector_client'] = bool(p.get('route_reflector_client'))
    p['advertise_all_vni'] = True if p.get('advertise_all_vni') is None else bool(p['advertise_all_vni'])
    return p


def _ip_key(addr):
    return tuple(int(x) for x in addr.split('.'))


def paths(p):
    return _names.frr_paths(p['conf_dir'], p['run_dir'])


def render_conf(p):
    """Our frr.conf (the mark line first): one iBGP session per neighbour, EVPN only."""
    lines = [
        _names.FILE_MARK,
        '! netwire.fabric: BGP EVPN control plane of this host (router-id %s, AS %d)' % (p['router_id'], p['asn']),
        'frr defaults traditional',
        'service integrated-vtysh-config',
        '!',
        'router bgp %d' % p['asn'],
        ' bgp router-id %s' % p['router_id'],
        ' no bgp default ipv4-unicast',
        ' timers bgp %d %d' % (p['keepalive'], p['holdtime']),
    ]
    for n in p['neighbors']:
        lines += [
            ' neighbor %s remote-as internal' % n,
            ' neighbor %s update-source %s' % (n, p['router_id']),
            ' neighbor %s timers connect %d' % (n, p['connect_retry']),
        ]
    lines += [' !', ' address-family l2vpn evpn']
    for n in p['neighbors']:
        lines.append('  neighbor %s activate' % n)
        if p['route_reflector_client']:
            lines.append('  neighbor %s route-reflector-client' % n)
    if p['advertise_all_vni']:
        lines.append('  advertise-all-vni')
    lines += [' exit-address-family', 'exit', '!', '']
    return '\n'.join(lines)


def render_daemons(p):
    """Our daemons file (read by the package's frr.service on systemd hosts; the lab starts the same two)."""
    return '\n'.join([
        _names.FILE_MARK,
        '# netwire.fabric runs zebra (always on) and bgpd, nothing else',
        'bgpd=yes',
        'ospfd=no', 'ospf6d=no', 'ripd=no', 'ripngd=no', 'isisd=no', 'pimd=no', 'pim6d=no', 'ldpd=no',
        'nhrpd=no', 'eigrpd=no', 'babeld=no', 'sharpd=no', 'pbrd=no', 'bfdd=no', 'fabricd=no', 'vrrpd=no',
        'pathd=no',
        'vtysh_enable=yes',
        'zebra_options="  -A %s -s %s"' % (VTY_ADDRESS, ZEBRA_NL_BUFSIZE),
        'bgpd_options="   -A %s"' % VTY_ADDRESS,
        '',
    ])


def daemon_argv(p, daemon):
    """The exact argv we start ``daemon`` with (forks: -d; its pidfile, vty sockets and zebra socket in run_dir)."""
    fp = paths(p)
    argv = [os.path.join(p['program_dir'], daemon), '-d', '-A', VTY_ADDRESS]
    if daemon == 'zebra':
        argv += ['-s', ZEBRA_NL_BUFSIZE]
    return argv + ['-i', fp['%s_pid' % daemon], '--vty_socket', p['run_dir'], '-z', fp['zserv']]


def vtysh_argv(p, *commands):
    argv = ['vtysh', '--vty_socket', p['run_dir'], '--config_dir', p['conf_dir']]
    for c in commands:
        argv += ['-c', c]
    return argv


def reload_argv(p):
    """frr-reload.py applying our frr.conf to the running daemons (only the difference; logs to its output)."""
    return [os.path.join(p['program_dir'], 'frr-reload.py'), '--reload', '--stdout', '--confdir', p['conf_dir'],
            '--rundir', p['run_dir'], '--vty_socket', p['run_dir'], paths(p)['conf']]


def foreign_config(conf_text, daemons_text):
    """Why the host's existing FRR files are someone else's configuration, or None (absent, ours, or the
    package's untouched defaults, which configure nothing)."""
    reasons = []
    if conf_text is not None and not is_marked(conf_text):
        used = [l.strip() for l in conf_text.splitlines() if l.strip() and not _HARMLESS_CONF.match(l.strip())]
        if used:
            reasons.append('frr.conf configures %r' % used[0])
    if daemons_text is not None and not is_marked(daemons_text):
        on = [m.group(1) for m in (_DAEMON_ON.match(l) for l in daemons_text.splitlines()) if m]
        if on:
            reasons.append('the daemons file enables %s' % ', '.join(on))
    return '; '.join(reasons) or None


def view(p):
    """The module's ``frr`` return value."""
    if p['state'] == 'absent':
        return {'state': 'absent', 'conf_dir': p['conf_dir'], 'run_dir': p['run_dir']}
    keys = ('asn', 'router_id', 'neighbors', 'route_reflector_client', 'advertise_all_vni', 'keepalive',
            'holdtime', 'conf_dir', 'run_dir')
    return dict((k, p[k]) for k in keys)


# ---------------------------------------------------------------- FRR's JSON, read (net_info)

def bgp_sessions(summary):
    """``show bgp summary json`` -> ``{afi_safi: {router_id, as, peers: {addr: {state, ...}}}}``."""
    out = {}
    for afi, body in sorted((summary or {}).items()):
        if not isinstance(body, dict) or 'peers' not in body:
            continue
        peers = {}
        for addr, peer in sorted(body['peers'].items()):
            peers[addr] = {
                'state': peer.get('state'),
                'remote_as': peer.get('remoteAs'),
                'uptime': peer.get('peerUptime'),
                'prefixes_received': peer.get('pfxRcd', peer.get('prefixReceivedCount')),
            }
        out[afi] = {'router_id': body.get('routerId'), 'as': body.get('as'), 'peers': peers}
    return out


def evpn_vnis(detail):
    """``show evpn vni detail json`` -> ``{vni: {type, vxlan_interface, local_vtep, remote_vteps: [...]}}``.

    FRR 8.4 prints a list of VNI objects whose ``numRemoteVteps`` is the list of remote VTEPs (``show evpn
    vni json`` keys the objects by VNI and lists them in ``remoteVteps``); a single object, a dict by VNI and a
    list are all read, and a remote VTEP may be an address or an object with ``ip``.
    """
    if isinstance(detail, dict) and 'vni' in detail:
        items = [detail]
    elif isinstance(detail, dict):
        items = [v for v in detail.values() if isinstance(v, dict)]
    else:
        items = [v for v in detail or [] if isinstance(v, dict)]
    out = {}
    for v in items:
        remotes = []
        listed = v.get('remoteVteps')
        if not isinstance(listed, list):
            listed = v.get('numRemoteVteps') if isinstance(v.get('numRemoteVteps'), list) else []
        for r in listed:
            remotes.append(r.get('ip') if isinstance(r, dict) else r)
        out[str(v.get('vni'))] = {
            'type': v.get('type'),
            'vxlan_interface': v.get('vxlanInterface') or v.get('vxlanIntf'),
            'local_vtep': v.get('vtepIp') or v.get('localVtepIp'),
            'remote_vteps': sorted((r for r in remotes if r), key=_ip_key_any),
        }
    return out


def _ip_key_any(addr):
    try:
        return (0, _ip_key(addr))
    except ValueError:
        return (1, addr)
