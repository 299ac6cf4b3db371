# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The dnsmasq instance of one network, as text (pure: no host access).

:func:`normalize` checks the module's parameters; :func:`render` returns the
files of the instance: the configuration (a change restarts dnsmasq), the
records (``hostsdir``) and the DHCP reservations (``dhcp-hostsdir``), whose
changes dnsmasq takes on SIGHUP without a restart.

dnsmasq reads nothing of the host's: ``--conf-file`` is ours, ``no-resolv`` and
``no-hosts`` keep ``/etc/resolv.conf`` and ``/etc/hosts`` out, and it binds only
to the bridge's address (``bind-interfaces``; DHCP on the bridge alone).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.module_utils import _validate as v
from ansible_collections.netwire.fabric.plugins.module_utils._errors import InvalidParameter

RECORDS_FILE = 'records'
RESERVATIONS_FILE = 'reservations'
DYNAMIC_LEASE = '1h'  # leases of the dynamic range (dhcp_range); reservations are infinite


def program_argv(program, name):
    """The argv of instance ``name``: it is also how we recognise our process (its cmdline)."""
    return [program, '--conf-file=%s' % _names.dnsmasq_paths(name)['conf']]


def _in_subnet(address, subnet, what):
    if ipaddress.ip_address(address) not in ipaddress.ip_network(subnet):
        raise InvalidParameter("%s %s is not in the subnet %s" % (what, address, subnet))
    return address


def _forward(value):
    """An upstream server: 'ip' or 'ip#port'."""
    addr, sep, port = str(value).partition('#')
    addr = v.ip_address(addr, 'forward server')
    if sep:
        if not port.isdigit():
            raise InvalidParameter("forward server '%s': the port after '#' is not a number" % value)
        v.int_range(int(port), 1, 65535, 'forward server port')
        return '%s#%d' % (addr, int(port))
    return addr


def normalize(params):
    """Validate and canonicalize the parameters (``state: absent`` needs only ``name``)."""
    p, present = v.named_params(params, 'instance name')
    if not present:
        return p
    for key in ('interface', 'address', 'subnet'):
        if not p.get(key):
            raise InvalidParameter('%s is required with state=present' % key)
    p['interface'] = v.ifname(p['interface'], 'interface')
    p['subnet'] = v.network(p['subnet'], 'subnet', version=4)
    p['address'] = _in_subnet(v.ip_address(p['address'], 'address', version=4), p['subnet'], 'address')
    p['domain'] = v.dns_name(p.get('domain') or _names.DEFAULT_DNS_DOMAIN, 'domain')
    p['search'] = [v.dns_name(s, 'search domain') for s in p.get('search') or []]
    p['forward'] = [_forward(f) for f in p.get('forward') or []]
    records = {}
    for r in p.get('records') or []:
        name = v.dns_name(r['name'], 'record name')
        addr = v.ip_address(r['address'], "address of record '%s'" % name)
        records.setdefault(name, [])
        if addr not in records[name]:
            records[name].append(addr)
    p['records'] = [{'name': n, 'address': a} for n in sorted(records) for a in records[n]]
    reservations, macs, addrs = [], set(), {}
    for r in p.get('reservations') or []:
        mac = v.mac(r['mac'])
        addr = _in_subnet(v.ip_address(r['address'], 'reservation address', version=4), p['subnet'],
                          'reservation address')
        if mac in macs:
            raise InvalidParameter('MAC %s has more than one reservation' % mac)
        if addr in addrs:
            raise InvalidParameter('address %s is reserved for both %s and %s' % (addr, addrs[addr], mac))
        macs.add(mac)
        addrs[addr] = mac
        reservations.append({'mac': mac, 'address': addr, 'name': r.get('name')})
    p['reservations'] = sorted(reservations, key=lambda r: r['mac'])
    rng = p.get('dhcp_range')
    if rng:
        start = _in_subnet(v.ip_address(rng['start'], 'dhcp_range start', version=4), p['subnet'], 'dhcp_range start')
        end = _in_subnet(v.ip_address(rng['end'], 'dhcp_range end', version=4), p['subnet'], 'dhcp_range end')
        if ipaddress.ip_address(start) > ipaddress.ip_address(end):
            raise InvalidParameter('dhcp_range start %s is after its end %s' % (start, end))
        p['dhcp_range'] = {'start': start, 'end': end}
    if (p.get('reservations') or rng) and not p.get('dhcp'):
        raise InvalidParameter('reservations and dhcp_range need dhcp: true')
    return p


def conf_text(p, paths, user=None, group=None):
    """The configuration file of the instance (without the mark line)."""
    net = ipaddress.ip_network(p['subnet'])
    network = p.get('network') or p['name']
    lines = [
        '# dnsmasq of network %s on %s (netwire.fabric dnsmasq module)' % (network, p['interface']),
        'no-resolv',
        'no-hosts',
        # interface= binds DNS to the bridge's addresses (the model gives it one) and DHCP to the bridge
        # alone (SO_BINDTODEVICE): without it DHCP takes 0.0.0.0:67 and a second instance cannot start
        'bind-interfaces',
        'interface=%s' % p['interface'],
        'listen-address=%s' % p['address'],
        'except-interface=lo',
        'pid-file=%s' % paths['pidfile'],
    ]
    if user:
        lines.append('user=%s' % user)
    if group:
        lines.append('group=%s' % group)
    lines += [
        'domain-needed',
        'bogus-priv',
        'domain=%s' % p['domain'],
        'local=/%s/' % p['domain'],
        'hostsdir=%s' % paths['hosts_dir'],
    ]
    lines += ['server=%s' % f for f in p['forward']]
    if p.get('dhcp'):
        lines += [
            'dhcp-range=%s,static,%s,infinite' % (net.network_address, net.netmask),
        ]
        if p.get('dhcp_range'):
            lines.append('dhcp-range=%s,%s,%s,%s' % (p['dhcp_range']['start'], p['dhcp_range']['end'], net.netmask,
                                                     DYNAMIC_LEASE))
        lines += [
            'dhcp-hostsdir=%s' % paths['dhcp_dir'],
            'dhcp-authoritative',
            'dhcp-leasefile=%s' % paths['leases'],
            'dhcp-option=option:router,%s' % p['address'],
            'dhcp-option=option:dns-server,%s' % p['address'],
        ]
        if p['search']:
            lines.append('dhcp-option=option:domain-search,%s' % ','.join(p['search']))
    return '\n'.join(lines) + '\n'


def records_text(p):
    """The records, in /etc/hosts form (full names only: short names work through the search path)."""
    return ''.join('%s %s\n' % (r['address'], r['name']) for r in p['records'])


def reservations_text(p):
    """The DHCP reservations (``dhcp-host`` lines: MAC, address, infinite lease; no host name, so a lease
    never adds a name the records do not have)."""
    out = []
    for r in p['reservations']:
        if r.get('name'):
            out.append('# %s' % r['name'])
        out.append('%s,%s,infinite' % (r['mac'], r['address']))
    return ''.join(l + '\n' for l in out)


def file_paths(name):
    """``([restart-relevant paths], [reload-only paths])`` of instance ``name``: its configuration; its
    records and reservations."""
    paths = _names.dnsmasq_paths(name)
    return [paths['conf']], ['%s/%s' % (paths['hosts_dir'], RECORDS_FILE),
                             '%s/%s' % (paths['dhcp_dir'], RESERVATIONS_FILE)]


def files(p, user=None, group=None):
    """``(restart_files, reload_files)``: ``{path: text}`` of the instance."""
    (conf,), (records, reservations) = file_paths(p['name'])
    return ({conf: conf_text(p, _names.dnsmasq_paths(p['name']), user, group)},
            {records: records_text(p), reservations: reservations_text(p)})


def view(p):
    """What the module returns (and the diff shows) of a wanted instance."""
    if p.get('state', 'present') == 'absent':
        return {'name': p['name']}
    keys = ('name', 'network', 'interface', 'address', 'subnet', 'domain', 'forward', 'search', 'records', 'dhcp',
            'dhcp_range', 'reservations')
    return dict((k, p.get(k)) for k in keys)
