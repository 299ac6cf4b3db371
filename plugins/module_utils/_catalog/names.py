# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The services' names on one host (issue 17): ``<service>.svc.<domain>`` in each dnsmasq of the host whose
network's zone may reach the service's network.

A watch of the catalog (the entry point's program, ``_lb/watcher.py``, with a
list of files per service) writes each service's live members as A records into
``/etc/netwire/dnsmasq/<bridge>.hosts.d/svc-<service>`` of every bridge the
model names for it. It runs under the daemon helper (pidfile
``/run/netwire/svcnames-<host>.pid``; program and configuration
``/etc/netwire/registration/<host>-names.py`` and ``-names.conf``, marked), as
part of the host's registration (module service_registration), which runs on
every host of the model.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.module_utils import _validate as v
from ansible_collections.netwire.fabric.plugins.module_utils._catalog import registration as reg
from ansible_collections.netwire.fabric.plugins.module_utils._catalog import watch as catwatch
from ansible_collections.netwire.fabric.plugins.module_utils._errors import InvalidParameter

POLL = 15


def normalize(items):
    """``names`` of the module: ``[{service, fqdn, bridges}]``, sorted, each bridge a valid interface name."""
    out, seen = [], set()
    for item in items or []:
        item = dict(item)
        service = reg._name(item.get('service') or '', 'service', reg.LABEL_RE).lower()
        if service in seen:
            raise InvalidParameter('names names service %s twice' % service)
        seen.add(service)
        bridges = sorted(set(v.ifname(b, 'bridge of service %s' % service) for b in item.get('bridges') or []))
        if bridges:
            out.append({'service': service, 'fqdn': v.dns_name(item.get('fqdn'), 'fqdn of %s' % service),
                        'bridges': bridges})
    return sorted(out, key=lambda n: n['service'])


def files(names):
    """``{path: (service, fqdn)}`` of every record file the watch writes."""
    return dict((_names.service_hosts_file(b, n['service']), (n['service'], n['fqdn']))
                for n in names for b in n['bridges'])


def conf_text(p):
    services = {}
    for n in p['names']:
        services[n['service']] = {'fqdn': n['fqdn'],
                                  'files': [_names.service_hosts_file(b, n['service']) for b in n['bridges']]}
    return json.dumps({'prefix': p['prefix'], 'endpoints': p['endpoints'], 'services': services, 'poll': POLL},
                      sort_keys=True, indent=1) + '\n'


def watch(p, python, dirs, systemd=None):
    """The :class:`Daemon` of the host's names watch (``p`` normalized; ``names`` empty: absent)."""
    present = p.get('state', 'present') == 'present' and bool(p.get('names'))
    return catwatch.daemon('svcnames', p['host'], _names.registration_paths(p['host']), 'names',
                           conf_text(p) if present else None, python, dirs, systemd=systemd)
