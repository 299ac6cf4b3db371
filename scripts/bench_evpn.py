"""Objects changed on the existing hosts when one host joins a kernel VXLAN network: static mesh vs BGP EVPN.

Pure (the model's plans, no lab): for n = 3..10, one network over host1..hostn, then over host1..hostn+1 (every
host is in the inventory from the start, as when a host is added to a running fabric). Counts, on the hosts that
were there before: the hosts whose applied plan changes, and the objects that change there (flood entries,
BGP neighbours, firewall tunnel peers). The EVPN column has one route reflector (host1).

    .venv/bin/python scripts/bench_evpn.py        (docs/benchmarks.md)
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '.build', 'collections'))

from ansible_collections.netwire.fabric.plugins.module_utils._host import kinds as _kinds  # noqa: E402
from ansible_collections.netwire.fabric.plugins.plugin_utils import model as m  # noqa: E402

MAX = 10


def hosts():
    return dict(('host%d' % i, {'netwire_host': {'index': i, 'underlay_address': '198.19.0.%d/24' % (10 + i),
                                                 'underlay_interface': 'eth1'}}) for i in range(1, MAX + 1))


def model(n, control):
    out = {'netwire_zones': {'app': {}},
           'netwire_networks': {'net': {'subnet': '10.60.0.0/24', 'zone': 'app', 'overlay': 'vxlan', 'key': 160,
                                        'control': control, 'hosts': ['host%d' % i for i in range(1, n + 1)]}},
           'netwire_containers': {}}
    if control == 'evpn':
        out['netwire_control_plane'] = {'type': 'evpn', 'asn': 65010, 'route_reflectors': ['host1']}
    return out


def objects(plan):
    """The objects of a plan a joining host can change: flood entries, BGP neighbours, firewall tunnel peers."""
    out = set()
    for t in plan['linux_tunnels']:
        out.update(('flood', t['name'], r) for r in t['remotes'])
    out.update(('bgp neighbor', r) for r in (plan.get('frr') or {}).get('neighbors', []))
    for t in plan['firewall']['tunnels']:
        out.update(('tunnel peer', t['network'], t['device'], p) for p in t['peers'])
    return out


def applied(plan):
    return dict((k.key, plan.get(k.key)) for k in _kinds.KINDS)


def row(n, control):
    before, after = m.plan(model(n, control), hosts()), m.plan(model(n + 1, control), hosts())
    old = ['host%d' % i for i in range(1, n + 1)]
    changed_hosts = [h for h in old if applied(before[h]) != applied(after[h])]
    changed = sum(len(objects(before[h]) ^ objects(after[h])) for h in old)
    return len(changed_hosts), changed


def main():
    print('| hosts before | static: hosts changed | static: objects changed | EVPN: hosts changed | '
          'EVPN: objects changed |')
    print('|---|---|---|---|---|')
    for n in range(3, MAX):
        s, e = row(n, 'static'), row(n, 'evpn')
        print('| %d -> %d | %d | %d | %d | %d |' % (n, n + 1, s[0], s[1], e[0], e[1]))


if __name__ == '__main__':
    main()
