# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The entry point as text (pure: no host access): HAProxy's configuration and the catalog watch's.

One ``frontend``/``backend`` pair per frontend port; the backend is a
``server-template`` of the service's name ``<service>.svc.<domain>``, resolved
through the dnsmasq on the service's network (one ``resolvers`` section per
nameserver, short holds): membership changes need no reload. ``check: http``
frontends run in HTTP mode (an empty service answers 503), ``check: tcp`` ones
in TCP mode (an empty service closes the connection).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.module_utils import _validate as v
from ansible_collections.netwire.fabric.plugins.module_utils._catalog import registration as reg
from ansible_collections.netwire.fabric.plugins.module_utils._errors import InvalidParameter

NAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$')
CHECK_INTER = '1s'  # how often HAProxy checks each backend: a dead one leaves within 2 intervals (fall 2)


def program_argv(program, name):
    """HAProxy master-worker in the foreground (the daemon helper keeps its pid): also how we recognise it."""
    return [program, '-W', '-f', _names.lb_paths(name)['conf']]


def normalize(params):
    p = dict(params)
    p['name'] = str(p.get('name') or 'lb').strip()
    if not NAME_RE.match(p['name']):
        raise InvalidParameter("name '%s' is not a valid name (letters, digits, '_', '-'; 32 at most)" % p['name'])
    if p.get('state', 'present') == 'absent':
        return p
    prefix = str(p.get('prefix') or _names.CATALOG_PREFIX).strip()
    if not reg.PREFIX_RE.match(prefix):
        raise InvalidParameter("prefix '%s' is not a key path such as /netwire" % prefix)
    p['prefix'] = prefix
    p['endpoints'] = [reg.endpoint(e) for e in p.get('endpoints') or []]
    if not p['endpoints']:
        raise InvalidParameter("endpoints is required with state=present: the catalog members' client URLs")
    p['bind'] = v.ip_address(p.get('bind') or '0.0.0.0', 'bind')
    frontends, ports = [], set()
    for fe in p.get('frontends') or []:
        fe = dict(fe)
        fe['service'] = reg._name(fe.get('service') or '', 'service', reg.LABEL_RE).lower()
        fe['port'] = v.int_range(fe.get('port'), 1, 65535, 'frontend port of %s' % fe['service'])
        if fe['port'] in ports:
            raise InvalidParameter('frontend port %d is given twice' % fe['port'])
        ports.add(fe['port'])
        fe['backend_port'] = v.int_range(fe.get('backend_port'), 1, 65535, 'backend_port of %s' % fe['service'])
        if fe.get('check') not in ('tcp', 'http'):
            raise InvalidParameter("check of %s must be tcp or http" % fe['service'])
        fe['resolver'] = v.ip_address(fe.get('resolver'), 'resolver of %s' % fe['service'])
        fe['fqdn'] = v.dns_name(fe.get('fqdn'), 'fqdn of %s' % fe['service'])
        fe['bridge'] = v.ifname(fe.get('bridge'), 'bridge of %s' % fe['service'])
        fe['max_servers'] = v.int_range(fe.get('max_servers') or 4, 1, 1024, 'max_servers of %s' % fe['service'])
        frontends.append(dict((k, fe[k]) for k in ('port', 'service', 'backend_port', 'check', 'resolver', 'fqdn',
                                                   'bridge', 'max_servers')))
    if not frontends:
        raise InvalidParameter('frontends is required with state=present')
    p['frontends'] = sorted(frontends, key=lambda fe: fe['port'])
    return p


def resolvers_name(address):
    return 'dns-%s' % address.replace('.', '-').replace(':', '-')


def conf_text(p):
    """HAProxy's configuration of entry point ``p`` (without the mark line)."""
    paths = _names.lb_paths(p['name'])
    lines = [
        '# the entry point %s of the netwire catalog (netwire.fabric haproxy_lb module)' % p['name'],
        'global',
        '    master-worker',
        '    stats socket %s mode 600 level admin' % paths['socket'],
        '',
        'defaults',
        '    timeout connect 2s',
        '    timeout client 30s',
        '    timeout server 30s',
        '    timeout check 2s',
        '',
    ]
    for address in sorted(set(fe['resolver'] for fe in p['frontends'])):
        lines += [
            'resolvers %s' % resolvers_name(address),
            '    nameserver dnsmasq %s:53' % address,
            '    accepted_payload_size 8192',
            '    resolve_retries 2',
            '    timeout resolve 1s',
            '    timeout retry 1s',
            '    hold valid 1s',
            '    hold obsolete 1s',
            '    hold nx 1s',
            '    hold other 1s',
            '    hold refused 1s',
            '    hold timeout 1s',
            '',
        ]
    for fe in p['frontends']:
        mode = 'http' if fe['check'] == 'http' else 'tcp'
        lines += [
            'frontend fe-%d' % fe['port'],
            '    mode %s' % mode,
            '    bind %s:%d' % ('[%s]' % p['bind'] if ':' in p['bind'] else p['bind'], fe['port']),
            '    default_backend be-%s-%d' % (fe['service'], fe['port']),
            '',
            'backend be-%s-%d' % (fe['service'], fe['port']),
            '    mode %s' % mode,
            '    balance roundrobin',
        ]
        if fe['check'] == 'http':
            lines.append('    option httpchk GET /')
        lines += [
            '    server-template %s %d %s:%d check inter %s fall 2 rise 1 resolvers %s resolve-prefer ipv4'
            ' init-addr none' % (fe['service'], fe['max_servers'], fe['fqdn'], fe['backend_port'], CHECK_INTER,
                                 resolvers_name(fe['resolver'])),
            '',
        ]
    return '\n'.join(lines)


def watch_conf_text(p):
    """The watch's configuration (JSON)."""
    services = {}
    for fe in p['frontends']:
        services[fe['service']] = {'fqdn': fe['fqdn'], 'file': _names.service_hosts_file(fe['bridge'], fe['service'])}
    return json.dumps({'prefix': p['prefix'], 'endpoints': p['endpoints'], 'services': services, 'poll': 15},
                      sort_keys=True, indent=1) + '\n'


def view(p):
    if p.get('state', 'present') == 'absent':
        return {'name': p['name']}
    return dict((k, p[k]) for k in ('name', 'prefix', 'endpoints', 'bind', 'frontends'))
