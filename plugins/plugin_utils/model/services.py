# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Services, the catalog and the entry point (issue 17): ``netwire_catalog``, a container's ``services``,
``netwire_lb``, their checks and the plan's ``catalog``, ``registration`` and ``lb`` entries.

``netwire_catalog: {members, address, prefix, ttl}`` names the hosts that run an
etcd member (module etcd_member). Every container may declare ``services: [{name,
port, network, check}]``; each host registers its own containers' services in the
catalog under one lease of its own (module service_registration). ``netwire_lb:
{host, frontends: [{port, service}]}`` is the entry point: HAProxy on that host,
its backends the service's live members, resolved through the host's dnsmasq on
the service's network.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.netwire.fabric.plugins.module_utils._names import (
    CATALOG_PREFIX,
    CATALOG_TTL,
    ETCD_CLIENT_PORT,
    ETCD_PEER_PORT,
    service_fqdn,
)
from ansible_collections.netwire.fabric.plugins.plugin_utils.model.dns import zone_view
from ansible_collections.netwire.fabric.plugins.plugin_utils.model.fields import (
    _as_dict,
    _as_list,
    _at,
    _choice,
    _int,
    _kind,
    _path,
    _section,
    _unknown_keys,
)
from ansible_collections.netwire.fabric.plugins.plugin_utils.model.schema import (
    CATALOG_KEYS,
    CATALOG_ADDRESSES,
    DNS_LABEL_RE,
    FRONTEND_KEYS,
    LB_KEYS,
    SERVICE_CHECKS,
    SERVICE_KEYS,
    host_address,
)

PREFIX_RE = re.compile(r'^(/[A-Za-z0-9_.-]+)+$')


# ---------------------------------------------------------------- reading

def read_services(f, raw_containers, containers):
    """Each container's ``services`` (``c['services']``: ``[{name, port, network, check, path}]``)."""
    raw = raw_containers if isinstance(raw_containers, dict) else {}
    for cname in sorted(containers):
        c = containers[cname]
        c['services'] = []
        body = raw.get(cname) if isinstance(raw.get(cname), dict) else {}
        spath = _at('netwire_containers', cname, 'services')
        items = _as_list(f, spath, body.get('services'), 'services') or []
        seen = {}
        networks = [i['network'] for i in c['interfaces'] if i.get('network')]
        for i, item in enumerate(items):
            path = _path(spath, i)
            svc = _service(f, path, item, c, networks)
            if svc is None:
                continue
            if svc['name'] in seen:
                f.add(_path(path, 'name'), "container %s declares service '%s' twice (services[%d])"
                      % (cname, svc['name'], seen[svc['name']]))
                continue
            seen[svc['name']] = i
            c['services'].append(svc)


def _service(f, path, body, c, networks):
    body = _as_dict(f, path, body, 'a service', allow_none=False)
    if body is None:
        return None
    _unknown_keys(f, path, body, SERVICE_KEYS)
    svc = {'name': None, 'port': None, 'network': None, 'check': 'tcp', 'path': path}
    name = body.get('name')
    if name is None:
        f.add(_path(path, 'name'), 'a service needs a name')
    elif not isinstance(name, str) or not DNS_LABEL_RE.match(name):
        f.add(_path(path, 'name'), "service name %s is not a DNS label (letters, digits and '-', not at either "
              "end, at most 63 characters): it becomes <service>.svc.<domain>"
              % ("'%s'" % name if isinstance(name, str) else _kind(name)))
    else:
        svc['name'] = name.lower()
    if body.get('port') is None:
        f.add(_path(path, 'port'), 'a service needs the port it listens on in the container')
    else:
        svc['port'] = _int(f, _path(path, 'port'), body['port'], 1, 65535, 'service port')
    network = body.get('network')
    if network is None:
        if networks:
            svc['network'] = networks[0]
        else:
            f.add(path, 'container %s has no interface: a service is reached on one of its networks' % c['name'])
    elif not isinstance(network, str) or network not in networks:
        f.add(_path(path, 'network'), 'container %s is not on network %s (its networks: %s)'
              % (c['name'], network if isinstance(network, str) else _kind(network), ', '.join(networks) or 'none'))
    else:
        svc['network'] = network
    svc['check'] = _choice(f, _path(path, 'check'), body.get('check'), SERVICE_CHECKS, 'tcp', 'check')
    if None in (svc['name'], svc['port'], svc['network'], svc['check']):
        return None
    return svc


def read_catalog(f, raw, hosts):
    """``netwire_catalog``: None when absent, else ``{members, address, prefix, ttl}``."""
    path = 'netwire_catalog'
    cat, body = _section(f, path, raw, CATALOG_KEYS,
                         {'members': [], 'address': 'underlay', 'prefix': CATALOG_PREFIX, 'ttl': CATALOG_TTL})
    if body is None:
        return cat
    mpath = _path(path, 'members')
    items = _as_list(f, mpath, body.get('members'), 'members') or []
    for i, item in enumerate(items):
        ipath = _path(mpath, i)
        if not isinstance(item, str):
            f.add(ipath, 'a catalog member is an inventory host name, got %s' % _kind(item))
        elif item not in hosts:
            f.add(ipath, "catalog member '%s' is not in the inventory" % item)
        elif item in cat['members']:
            f.add(ipath, "catalog member '%s' is listed twice" % item)
        else:
            cat['members'].append(item)
    if not items:
        f.add(mpath, 'the catalog needs at least one member (3 tolerate the loss of one; 1 is a demo)')
    elif cat['members'] and len(cat['members']) % 2 == 0:
        f.warn(mpath, '%d catalog members tolerate no more lost members than %d: an odd count (3, 5) is the '
               'useful one' % (len(cat['members']), len(cat['members']) - 1))
    cat['address'] = _choice(f, _path(path, 'address'), body.get('address'), CATALOG_ADDRESSES, 'underlay',
                             'address') or 'underlay'
    if body.get('prefix') is not None:
        prefix = body['prefix']
        if not isinstance(prefix, str) or not PREFIX_RE.match(prefix):
            f.add(_path(path, 'prefix'), "prefix %s is not a key path such as /netwire (a '/' before each part; "
                  "letters, digits, '_', '.', '-')" % ("'%s'" % prefix if isinstance(prefix, str) else _kind(prefix)))
        else:
            cat['prefix'] = prefix
    if body.get('ttl') is not None:
        cat['ttl'] = _int(f, _path(path, 'ttl'), body['ttl'], 5, 3600, 'ttl') or CATALOG_TTL
    for name in cat['members']:
        if member_address(cat, hosts[name]) is None:
            f.add(mpath, 'catalog member %s has no %s address (set netwire_host.underlay_address, or ansible_host '
                  'to an address with address: management)' % (name, cat['address']))
    return cat


def read_lb(f, raw, hosts):
    """``netwire_lb``: None when absent, else ``{host, frontends: [{port, service, path}]}``."""
    path = 'netwire_lb'
    lb, body = _section(f, path, raw, LB_KEYS, {'host': None, 'frontends': []})
    if body is None:
        return lb
    host = body.get('host')
    if host is None:
        f.add(_path(path, 'host'), 'netwire_lb needs host: the inventory host that runs the entry point')
    elif not isinstance(host, str) or host not in hosts:
        f.add(_path(path, 'host'), "LB host %s is not in the inventory"
              % ("'%s'" % host if isinstance(host, str) else _kind(host)))
    else:
        lb['host'] = host
    fpath = _path(path, 'frontends')
    items = _as_list(f, fpath, body.get('frontends'), 'frontends') or []
    if not items:
        f.add(fpath, 'netwire_lb needs at least one frontend {port, service}')
    ports = {}
    for i, item in enumerate(items):
        ipath = _path(fpath, i)
        fe = _as_dict(f, ipath, item, 'a frontend', allow_none=False)
        if fe is None:
            continue
        _unknown_keys(f, ipath, fe, FRONTEND_KEYS)
        port = None
        if fe.get('port') is None:
            f.add(_path(ipath, 'port'), 'a frontend needs port: the TCP port it listens on on the LB host')
        else:
            port = _int(f, _path(ipath, 'port'), fe['port'], 1, 65535, 'frontend port')
        service = fe.get('service')
        if not isinstance(service, str) or not service:
            f.add(_path(ipath, 'service'), 'a frontend needs service: the name of a service of the model')
            service = None
        if port is not None and port in ports:
            f.add(_path(ipath, 'port'), 'frontend port %d is also frontends[%d]' % (port, ports[port]))
            continue
        if port is not None and service is not None:
            ports[port] = i
            lb['frontends'].append({'port': port, 'service': service.lower(), 'path': ipath})
    return lb


def member_address(cat, h):
    """The address a catalog member listens on (underlay or management), or None."""
    return h.get('underlay_address') if cat['address'] == 'underlay' else h.get('management_address')


# ---------------------------------------------------------------- cross-checks

def service_table(containers):
    """``{service: [(container, service entry)]}`` over the model, by name."""
    table = {}
    for cname in sorted(containers):
        for svc in containers[cname].get('services') or []:
            table.setdefault(svc['name'], []).append((cname, svc))
    return table


def services_checks(f, catalog, lb, dns, nets, containers, hosts):
    """A service is one port, one check and one network; the entry point can reach and resolve it."""
    table = service_table(containers)
    for name in sorted(table):
        first_c, first = table[name][0]
        for cname, svc in table[name][1:]:
            for key in ('port', 'network', 'check'):
                if svc[key] != first[key]:
                    f.add(_path(svc['path'], key), "service '%s' has %s %s here but %s on container %s: every "
                          "member of a service shares its %s (the entry point has one backend template)"
                          % (name, key, svc[key], first[key], first_c, key))
    if table and catalog is None:
        cname, svc = table[sorted(table)[0]][0]
        f.add(svc['path'], 'services are registered in the catalog: set netwire_catalog: {members: [...]}')
    if lb is None:
        return
    if catalog is None:
        f.add('netwire_lb', 'the entry point follows the catalog: set netwire_catalog: {members: [...]}')
    if dns is None:
        f.add('netwire_lb', "the entry point resolves its backends through the LB host's dnsmasq: set "
              "netwire_dns: {} for the defaults")
    for fe in lb['frontends']:
        if fe['service'] not in table:
            f.add(_path(fe['path'], 'service'), "unknown service '%s': no container declares it (services: %s)"
                  % (fe['service'], ', '.join(sorted(table)) or 'none'))
            continue
        network = table[fe['service']][0][1]['network']
        net = nets.get(network)
        if lb['host'] and net is not None and lb['host'] not in net['hosts']:
            span = ', '.join(net['hosts']) or 'none'
            f.add(_path(fe['path'], 'service'), "service '%s' is on network %s, which does not span the LB host %s "
                  "(its hosts: %s): add %s to the network's hosts"
                  % (fe['service'], network, lb['host'], span, lb['host']))
        for cname in sorted(containers):
            c = containers[cname]
            if c['host'] != lb['host']:
                continue
            for pub in c['publish']:
                if pub['proto'] == 'tcp' and pub['host_port'] == fe['port']:
                    f.add(_path(fe['path'], 'port'), 'frontend port %d on %s is also the published port of '
                          'container %s' % (fe['port'], lb['host'], cname))
    if lb['host'] and hosts.get(lb['host']) and catalog is not None and lb['host'] in catalog['members']:
        for fe in lb['frontends']:
            if fe['port'] in (ETCD_CLIENT_PORT, ETCD_PEER_PORT):
                f.add(_path(fe['path'], 'port'), 'frontend port %d is the catalog member\'s on %s'
                      % (fe['port'], lb['host']))


# ---------------------------------------------------------------- the plan

def _endpoints(normalized):
    cat, hosts = normalized['catalog'], normalized['hosts']
    return ['http://%s:%d' % (member_address(cat, hosts[m]), ETCD_CLIENT_PORT) for m in cat['members']]


def catalog_entries(normalized, host):
    """``{key: entry}`` of ``host``'s plan: ``catalog`` (etcd_member on a member), ``registration`` (every
    host of the model, its own containers' services: an empty list removes its keys) and ``lb``."""
    cat = normalized.get('catalog')
    if cat is None:
        return {}
    hosts, containers, nets = normalized['hosts'], normalized['containers'], normalized['networks']
    out = {}
    if host in cat['members']:
        out['catalog'] = {
            'name': host, 'state': 'present', 'address': member_address(cat, hosts[host]),
            'initial_cluster': ['%s=http://%s:%d' % (m, member_address(cat, hosts[m]), ETCD_PEER_PORT)
                                for m in cat['members']],
            'cluster_token': 'netwire',
        }
    services = []
    for cname in sorted(containers):
        c = containers[cname]
        if c['host'] != host:
            continue
        for svc in c.get('services') or []:
            itf = [i for i in c['interfaces'] if i['network'] == svc['network']][0]
            services.append({'service': svc['name'], 'container': cname, 'address': itf['address'],
                             'port': svc['port']})
    out['registration'] = {'host': host, 'state': 'present', 'prefix': cat['prefix'], 'ttl': cat['ttl'],
                           'endpoints': _endpoints(normalized), 'services': services,
                           'names': names_entries(normalized, host)}
    lb, dns = normalized.get('lb'), normalized.get('dns')
    if lb is not None and lb['host'] == host and dns is not None:
        table = service_table(containers)
        frontends = []
        h = hosts[host]
        for fe in lb['frontends']:
            svc = table[fe['service']][0][1]
            net = nets[svc['network']]
            frontends.append({
                'port': fe['port'], 'service': fe['service'], 'backend_port': svc['port'], 'check': svc['check'],
                'fqdn': service_fqdn(fe['service'], dns['domain']), 'network': svc['network'],
                'bridge': net['bridge'], 'resolver': host_address(net['subnet'], h['index']),
                'max_servers': max(4, len(table[fe['service']]) * 2)})
        out['lb'] = {'name': 'lb', 'state': 'present', 'prefix': cat['prefix'], 'endpoints': _endpoints(normalized),
                     'frontends': frontends}
    return out


def names_entries(normalized, host):
    """The registration's ``names`` of ``host``: for each service, the bridges of the networks ``host`` carries
    whose dnsmasq answers ``<service>.svc.<domain>``, those whose zone view holds the service's network (the zone
    may reach it: the same rule as the containers' names, ``dns.zone_view``). On the LB host the entry point's
    own watch writes the record of a frontend's service on its network: not listed here (one writer a file)."""
    dns, cat = normalized.get('dns'), normalized.get('catalog')
    if dns is None or cat is None:
        return []
    nets, zones = normalized['networks'], normalized['zones']
    lb = normalized.get('lb')
    lb_own = set()
    if lb is not None and lb['host'] == host:
        lb_own = set(fe['service'] for fe in lb['frontends'])
    local = [n for n in sorted(nets) if host in nets[n]['hosts']]
    views = dict((n, set(zone_view(zones, nets, n))) for n in local)
    out = []
    for service, members in sorted(service_table(normalized['containers']).items()):
        network = members[0][1]['network']
        bridges = sorted(nets[n]['bridge'] for n in local if network in views[n]
                         and not (service in lb_own and n == network))
        if bridges:
            out.append({'service': service, 'fqdn': service_fqdn(service, dns['domain']), 'bridges': bridges})
    return out


def lb_zones(normalized, service):
    """The zones that may reach the entry point of ``service``: those that may reach its network (its own zone,
    and every zone whose ``allow_to`` names it), as the firewall lets connections through."""
    svc = service_table(normalized['containers'])[service][0][1]
    target = normalized['networks'][svc['network']]['zone']
    zones = normalized['zones']
    return sorted(z for z in zones if z == target or target in zones[z]['allow_to'])


def lb_host_services(normalized, host, local, addresses):
    """The firewall's ``host_services`` entries of the entry point on ``host`` (issue 17): every frontend, on
    the LB host's fabric ``addresses``, for the containers of the zones that may reach its service's network.
    ``local`` are the networks ``host`` carries; on the LB host the frontend is also on the bridge address of
    each of its networks of an allowed zone (HAProxy binds every address)."""
    lb = normalized.get('lb')
    if lb is None or normalized.get('catalog') is None or normalized.get('dns') is None or not local:
        return []
    hosts = normalized['hosts']
    out = []
    for fe in lb['frontends']:
        allowed = [z for z in lb_zones(normalized, fe['service']) if any(n['zone'] == z for n in local)]
        if not allowed:
            continue
        for address in addresses(hosts[lb['host']]):
            out.append({'address': address, 'proto': 'tcp', 'port': fe['port'], 'zones': allowed,
                        'local': host == lb['host']})
        if host == lb['host']:
            out.extend({'address': host_address(n['subnet'], hosts[host]['index']), 'proto': 'tcp',
                        'port': fe['port'], 'zones': [n['zone']]} for n in local if n['zone'] in allowed)
    return out
