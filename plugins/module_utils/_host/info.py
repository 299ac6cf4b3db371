# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only facts about what netwire owns on a host (netwire.fabric.net_info).

Everything is read in bulk: one link, address and route dump per namespace
through the same :class:`NetlinkSession` the managers use.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.module_utils._linux.linkops import sort_addresses
from ansible_collections.netwire.fabric.plugins.module_utils._linux.bridge import bridge_state
from ansible_collections.netwire.fabric.plugins.module_utils._linux.tunnel import tunnel_state
from ansible_collections.netwire.fabric.plugins.module_utils._linux.netlink import MAIN_TABLE
from ansible_collections.netwire.fabric.plugins.module_utils._linux.netns import resolve
from ansible_collections.netwire.fabric.plugins.module_utils._linux import policy
from ansible_collections.netwire.fabric.plugins.module_utils._host import phys, shared_links

ATTACH_PREFIX = _names.ATTACH_ALIAS_PREFIX


def link_facts(ctx, link, netns=None):
    master = ctx.link_by_index(link['master'], netns) if link['master'] else None
    return {
        'name': link['ifname'],
        'index': link['index'],
        'kind': link['kind'],
        'alias': link['alias'],
        'owned': _names.is_owned(link['alias']),
        'mtu': link['mtu'],
        'mac': link['mac'],
        'up': link['up'],
        'operstate': link['operstate'],
        'master': master['ifname'] if master else None,
        'addresses': sort_addresses(ctx.link_addresses(link['index'], netns)),
    }


def namespace_facts(ctx, netns, all_links=False):
    links = sorted(ctx.links(netns).values(), key=lambda l: l['index'])
    return [link_facts(ctx, l, netns) for l in links if all_links or _names.is_owned(l['alias'])]


def gather(ctx, containers=None, container_type='auto', all_links=False):
    host_links = ctx.links()
    facts = {
        'links': namespace_facts(ctx, None, all_links),
        'bridges': {},
        'tunnels': {},
        'attachments': [],
        'containers': {},
    }
    for link in sorted(host_links.values(), key=lambda l: l['index']):
        if not _names.is_owned(link['alias']):
            continue
        if link['kind'] == 'bridge':
            facts['bridges'][link['ifname']] = bridge_state(ctx, link)
        elif link['kind'] in _names.LINK_KINDS:
            facts['tunnels'][link['ifname']] = tunnel_state(ctx, link)
        elif link['alias'].startswith(ATTACH_PREFIX):
            identity, ifname = _names.parse_attach_alias(link['alias'])
            master = ctx.link_by_index(link['master']) if link['master'] else None
            facts['attachments'].append({
                'host_ifname': link['ifname'], 'identity': identity, 'ifname': ifname,
                'bridge': master['ifname'] if master else None, 'mtu': link['mtu'], 'up': link['up'],
                'peer_netnsid': link['link_netnsid'],
            })
    facts['shared_links'] = shared_facts(ctx)
    facts['phys'] = phys_facts(ctx)
    for ref in containers or []:
        ns = resolve(ref, container_type)
        routes = [r for r in ctx.routes(ns.path, table=None) if r['proto'] == _names.RTPROT_NETWIRE]
        by_index = dict((l['index'], l['ifname']) for l in ctx.links(ns.path).values())
        facts['containers'][ref] = {
            'identity': ns.identity,
            'netns': ns.path,
            'pid': ns.pid,
            'links': namespace_facts(ctx, ns.path, all_links),
            'routes': [dict({'dest': r['dst'], 'via': r['gateway'], 'dev': by_index.get(r['oif'])},
                            **({} if r['table'] == MAIN_TABLE else {'table': r['table']})) for r in routes],
            'rules': [view for view, _raw in policy.read_rules(ctx, ns.path)],
            'qdiscs': qdisc_facts(ctx, ns.path),
        }
    return facts


def qdisc_facts(ctx, netns):
    """Our root qdiscs in ``netns``, by interface name (issue 19)."""
    out = {}
    for link in ctx.links(netns).values():
        ours, _foreign = policy.read_root_qdisc(ctx, link['index'], netns)
        if ours is not None:
            out[link['ifname']] = ours
    return out


def shared_facts(ctx):
    """The links container attachments share (a NIC's VLAN sub-interface, its host-side macvlan) and their users."""
    out = []
    for name, record in sorted(shared_links.read_records().items()):
        link = ctx.link(name)
        out.append({'name': name, 'kind': record.get('kind'), 'lower': record.get('lower'), 'users': record['users'],
                    'present': link is not None,
                    'addresses': sort_addresses(ctx.link_addresses(link['index'])) if link is not None else []})
    return out


def phys_facts(ctx):
    """Host NICs handed to containers (container_attach kind phys): their host name and where they are."""
    out = []
    try:
        names = sorted(n for n in os.listdir(_names.PHYS_DIR) if n.endswith('.json'))
    except OSError:
        names = []
    for name in names:
        record = phys.read_record_file(os.path.join(_names.PHYS_DIR, name))
        if record is None:
            continue
        out.append({'nic': record['original'], 'mac': record.get('mac'), 'identity': record.get('identity'),
                    'ifname': record.get('ifname'), 'pinned': phys.pinned_namespace(record) is not None,
                    'in_host': ctx.link(record['original']) is not None})
    return out
