# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One host's registration in the catalog, as data (pure: no host, no network).

:func:`normalize` checks the module's parameters; :func:`wanted` is the keys the
host must hold (``<prefix>/services/<service>/<host>/<container>`` =
``address:port``); :func:`plan_keys` compares them with the catalog's keys and
returns the puts and deletes. Ownership: only keys under this host's own path
are ever considered, and a key there is deleted only when it is held by this
host's lease; a key of another lease is reported, never touched.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.module_utils import _validate as v
from ansible_collections.netwire.fabric.plugins.module_utils._errors import InvalidParameter

NAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$')
LABEL_RE = re.compile(r'^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$')
PREFIX_RE = re.compile(r'^(/[A-Za-z0-9_.-]+)+$')
URL_RE = re.compile(r'^http://(\[[0-9a-fA-F:.]+\]|[0-9.]+):(\d+)$')


def _name(value, what, regex=NAME_RE):
    text = str(value).strip()
    if not regex.match(text):
        raise InvalidParameter("%s '%s' is not a valid name" % (what, value))
    return text


def endpoint(value):
    m = URL_RE.match(str(value).strip())
    if not m:
        raise InvalidParameter("endpoint '%s' is not http://address:port (a catalog member's client URL)" % value)
    address = v.ip_address(m.group(1).strip('[]'), 'endpoint address')
    port = v.int_range(int(m.group(2)), 1, 65535, 'endpoint port')
    return 'http://%s:%d' % ('[%s]' % address if ':' in address else address, port)


def normalize(params):
    """Validate and canonicalize the parameters (``state: absent`` needs only ``host``)."""
    p = dict(params)
    p['host'] = _name(p.get('host') or p.get('name') or '', 'host')
    p['name'] = p['host']
    prefix = str(p.get('prefix') or _names.CATALOG_PREFIX).strip()
    if not PREFIX_RE.match(prefix):
        raise InvalidParameter("prefix '%s' is not a key path such as /netwire" % prefix)
    p['prefix'] = prefix
    p['lease'] = _names.lease_id(prefix, p['host'])
    if p.get('state', 'present') == 'absent':
        return p
    p['ttl'] = v.int_range(p.get('ttl') or _names.CATALOG_TTL, 5, 3600, 'ttl')
    endpoints = [endpoint(e) for e in p.get('endpoints') or []]
    if not endpoints:
        raise InvalidParameter('endpoints is required with state=present: the catalog members\' client URLs')
    if len(set(endpoints)) != len(endpoints):
        raise InvalidParameter('endpoints names a member twice')
    p['endpoints'] = endpoints
    services, seen = [], set()
    for s in p.get('services') or []:
        s = dict(s)
        s['service'] = _name(s.get('service') or '', 'service', LABEL_RE).lower()
        s['container'] = _name(s.get('container') or '', 'container')
        s['address'] = v.ip_address(s.get('address'), "address of %s's service %s" % (s['container'], s['service']))
        s['port'] = v.int_range(s.get('port'), 1, 65535, "port of %s's service %s" % (s['container'], s['service']))
        if (s['service'], s['container']) in seen:
            raise InvalidParameter("services names service %s of container %s twice" % (s['service'], s['container']))
        seen.add((s['service'], s['container']))
        services.append(dict((k, s[k]) for k in ('service', 'container', 'address', 'port')))
    p['services'] = sorted(services, key=lambda s: (s['service'], s['container']))
    return p


def value_of(s):
    address = '[%s]' % s['address'] if ':' in s['address'] else s['address']
    return '%s:%d' % (address, s['port'])


def wanted(p):
    """``{key: value}`` this host must hold in the catalog."""
    return dict((_names.service_key(p['prefix'], s['service'], p['host'], s['container']), value_of(s))
                for s in p['services'])


def own_keys(p, kvs):
    """The catalog's keys under this host's own path (``[{key, value, lease}]``)."""
    out = []
    for kv in kvs:
        parsed = _names.parse_service_key(p['prefix'], kv['key'])
        if parsed is not None and parsed[1] == p['host']:
            out.append(kv)
    return out


def plan_keys(p, kvs, fresh_lease=False):
    """``(puts {key: value}, deletes [key], foreign [key])`` from the catalog's ``kvs`` to :func:`wanted`.

    A wanted key is put when it is missing, holds another value or another lease (or every wanted key,
    ``fresh_lease``: a new lease holds none). A key of ours no longer wanted is deleted when our lease holds
    it; one under our path held by another lease (or none) is ``foreign``: reported, left alone.
    """
    want = wanted(p)
    have = dict((kv['key'], kv) for kv in own_keys(p, kvs))
    puts = dict((k, val) for k, val in want.items()
                if fresh_lease or k not in have or have[k]['value'] != val or have[k]['lease'] != p['lease'])
    deletes, foreign = [], []
    for k in sorted(set(have) - set(want)):
        (deletes if have[k]['lease'] == p['lease'] else foreign).append(k)
    return puts, deletes, foreign


def record_text(p):
    """The host's registration record (JSON; what ``absent`` needs to revoke the lease)."""
    return json.dumps({'host': p['host'], 'prefix': p['prefix'], 'lease': '%x' % p['lease'], 'ttl': p['ttl'],
                       'endpoints': p['endpoints']}, sort_keys=True, indent=1) + '\n'


def parse_record(text):
    """A record written by :func:`record_text` (the mark line first), or None."""
    body = '\n'.join(line for line in (text or '').splitlines() if not line.startswith('#'))
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def keepalive_argv(program, p):
    """The argv of the host's keep-alive; also how we recognise our process (its cmdline)."""
    return [program, '--endpoints=%s' % ','.join(p['endpoints']), '--dial-timeout=2s', 'lease', 'keep-alive',
            '%x' % p['lease']]
