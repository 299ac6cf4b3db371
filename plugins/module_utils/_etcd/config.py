# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One etcd member of the catalog, as text (pure: no host access).

:func:`normalize` checks the module's parameters; :func:`conf_text` renders
etcd's YAML ``--config-file`` (etcd then reads neither flags nor ``ETCD_*``
variables, so Debian's ``/etc/default/etcd`` never applies); :func:`bootstrap`
is the bootstrap rule (``new`` only for an empty data directory); the
``parse_*`` functions read ``etcdctl ... -w json``.

Once a member has a data directory etcd ignores every ``initial-*`` setting:
they are left out of the restart hash (:func:`hash_text`), so writing
``initial-cluster-state: existing`` after the bootstrap, or a changed
``initial_cluster``, rewrites the file without restarting the member.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re

from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.module_utils import _validate as v
from ansible_collections.netwire.fabric.plugins.module_utils._errors import InvalidParameter, NotOwned

MEMBER_NAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$')
DATA_ENTRIES = ('member',)  # what etcd keeps in its data directory (the WAL and snapshots are under member/)
INITIAL_PREFIX = 'initial-'


def program_argv(program, name):
    """The argv of member ``name``: it is also how we recognise our process (its cmdline)."""
    return [program, '--config-file=%s' % _names.etcd_paths(name)['conf']]


def member_name(value, what='member name'):
    text = str(value).strip()
    if not MEMBER_NAME_RE.match(text):
        raise InvalidParameter("%s '%s' is not a valid name (letters, digits, '.', '_', '-'; 63 at most,"
                               " starting with a letter or digit)" % (what, value))
    return text


def url(address, port):
    host = '[%s]' % address if ':' in address else address
    return 'http://%s:%d' % (host, port)


def _peer(entry):
    """One initial_cluster entry, 'name=http://address:port', as ``(name, url)``."""
    name, sep, peer = str(entry).strip().partition('=')
    if not sep:
        raise InvalidParameter("initial_cluster entry '%s' is not name=peer URL" % entry)
    name = member_name(name, 'initial_cluster member name')
    m = re.match(r'^http://(\[[0-9a-fA-F:.]+\]|[0-9.]+):(\d+)$', peer.strip())
    if not m:
        raise InvalidParameter("initial_cluster entry '%s': the peer URL is not http://address:port" % entry)
    address = v.ip_address(m.group(1).strip('[]'), "address of initial_cluster member '%s'" % name)
    port = v.int_range(int(m.group(2)), 1, 65535, "peer port of initial_cluster member '%s'" % name)
    return name, url(address, port)


def data_dir(value, name):
    """The data directory: absolute, normalized, never a top-level directory."""
    if not value:
        return _names.etcd_paths(name)['data_dir']
    text = os.path.normpath(str(value).strip())
    if not os.path.isabs(text) or len([p for p in text.split('/') if p]) < 2:
        raise InvalidParameter("data_dir '%s' must be an absolute path at least two levels deep" % value)
    return text


def normalize(params):
    """Validate and canonicalize the parameters (``state: absent`` needs only ``name``)."""
    p = dict(params)
    p['name'] = member_name(p['name'])
    p['data_dir'] = data_dir(p.get('data_dir'), p['name'])
    if p.get('state', 'present') == 'absent':
        return p
    if not p.get('address'):
        raise InvalidParameter('address is required with state=present')
    p['address'] = v.ip_address(p['address'], 'address')
    p['client_port'] = v.int_range(p.get('client_port') or _names.ETCD_CLIENT_PORT, 1, 65535, 'client_port')
    p['peer_port'] = v.int_range(p.get('peer_port') or _names.ETCD_PEER_PORT, 1, 65535, 'peer_port')
    if p['client_port'] == p['peer_port']:
        raise InvalidParameter('client_port and peer_port are both %d' % p['client_port'])
    p['client_url'] = url(p['address'], p['client_port'])
    p['peer_url'] = url(p['address'], p['peer_port'])
    cluster, names, urls = [], set(), set()
    for entry in p.get('initial_cluster') or ['%s=%s' % (p['name'], p['peer_url'])]:
        name, peer = _peer(entry)
        if name in names:
            raise InvalidParameter("initial_cluster names member '%s' twice" % name)
        if peer in urls:
            raise InvalidParameter('initial_cluster gives the peer URL %s twice' % peer)
        names.add(name)
        urls.add(peer)
        cluster.append((name, peer))
    own = dict(cluster).get(p['name'])
    if own is None:
        raise InvalidParameter("initial_cluster does not name this member '%s'" % p['name'])
    if own != p['peer_url']:
        raise InvalidParameter("initial_cluster gives member '%s' the peer URL %s, but it listens on %s"
                               % (p['name'], own, p['peer_url']))
    p['initial_cluster'] = ['%s=%s' % c for c in sorted(cluster)]
    token = str(p.get('cluster_token') or 'netwire').strip()
    if not re.match(r'^[A-Za-z0-9_.-]{1,64}$', token):
        raise InvalidParameter("cluster_token '%s' is not 1..64 letters, digits, '.', '_' or '-'" % token)
    p['cluster_token'] = token
    return p


def bootstrap(entries, path):
    """The bootstrap rule: ``new`` when the data directory is missing (``entries`` None) or empty,
    ``existing`` when it holds a member's data; anything else in it is not ours to start on."""
    if not entries:
        return 'new'
    foreign = sorted(e for e in entries if e not in DATA_ENTRIES)
    if foreign:
        raise NotOwned('data_dir %s holds files that are not an etcd member\'s (%s): it is left alone'
                       % (path, ', '.join(foreign)))
    return 'existing'


def _q(value):
    return json.dumps(value)  # a JSON string is a YAML string


def conf_text(p, state):
    """etcd's configuration file of the member (without the mark line); ``state``: new or existing."""
    lines = [
        '# etcd member %s of the netwire catalog (netwire.fabric etcd_member module)' % p['name'],
        'name: %s' % _q(p['name']),
        'data-dir: %s' % _q(p['data_dir']),
        'listen-peer-urls: %s' % _q(p['peer_url']),
        'listen-client-urls: %s' % _q(p['client_url']),
        'initial-advertise-peer-urls: %s' % _q(p['peer_url']),
        'advertise-client-urls: %s' % _q(p['client_url']),
        'initial-cluster: %s' % _q(','.join(p['initial_cluster'])),
        'initial-cluster-token: %s' % _q(p['cluster_token']),
        'initial-cluster-state: %s' % _q(state),
        'enable-v2: false',
        # the v3 JSON gateway (/v3/...) the registrations use; etcd's config file leaves it off unless said
        'enable-grpc-gateway: true',
        'logger: zap',
        'log-outputs: [stderr]',
        'log-level: warn',
    ]
    return '\n'.join(lines) + '\n'


def hash_text(text):
    """What of the configuration a restart depends on: all but the ``initial-*`` settings, which etcd
    reads only to bootstrap an empty data directory."""
    return ''.join(l for l in text.splitlines(True) if not l.startswith(INITIAL_PREFIX))


def conf_data_dir(text):
    """The data directory a configuration of ours names, or None."""
    for line in (text or '').splitlines():
        if line.startswith('data-dir:'):
            try:
                value = json.loads(line.partition(':')[2].strip())
            except ValueError:
                return None
            return value if isinstance(value, str) else None
    return None


# ---------------------------------------------------------------- etcdctl -w json

def _json(text):
    try:
        return json.loads(text or '')
    except ValueError:
        return None


def member_id(value):
    """etcd's member and cluster IDs (uint64 in JSON) in the hex form etcdctl's tables and logs show."""
    return '%x' % value if isinstance(value, int) else None


def parse_health(text):
    """``endpoint health -w json``: ``(healthy, error)`` of the one endpoint asked."""
    data = _json(text)
    if not isinstance(data, list) or not data or not isinstance(data[0], dict):
        return False, 'no answer'
    entry = data[0]
    return bool(entry.get('health')), entry.get('error') or None


def parse_status(text):
    """``endpoint status -w json``: the member's view (its ID, the cluster's, the leader, its errors), or None."""
    data = _json(text)
    if not isinstance(data, list) or not data or not isinstance(data[0], dict):
        return None
    status = data[0].get('Status') or {}
    header = status.get('header') or {}
    leader = status.get('leader') or 0
    return {
        'id': member_id(header.get('member_id')),
        'cluster_id': member_id(header.get('cluster_id')),
        'leader': member_id(leader) if leader else None,
        'is_leader': bool(leader) and leader == header.get('member_id'),
        'raft_term': status.get('raftTerm'),
        'revision': header.get('revision'),
        'version': status.get('version'),
        'errors': list(status.get('errors') or []),
    }


def parse_members(text):
    """``member list -w json``: ``[{id, name, peer_urls, client_urls}]`` sorted by name, or None."""
    data = _json(text)
    if not isinstance(data, dict) or not isinstance(data.get('members'), list):
        return None
    out = [{'id': member_id(m.get('ID')), 'name': m.get('name') or '', 'peer_urls': list(m.get('peerURLs') or []),
            'client_urls': list(m.get('clientURLs') or [])} for m in data['members']]
    return sorted(out, key=lambda m: (m['name'], m['id']))


def quorum(n):
    """How many of ``n`` members must run for the cluster to have a leader."""
    return n // 2 + 1


def view(p):
    """What the module returns (and the diff shows) of a wanted member."""
    if p.get('state', 'present') == 'absent':
        return {'name': p['name'], 'data_dir': p['data_dir']}
    keys = ('name', 'address', 'client_url', 'peer_url', 'initial_cluster', 'cluster_token', 'data_dir')
    return dict((k, p.get(k)) for k in keys)
