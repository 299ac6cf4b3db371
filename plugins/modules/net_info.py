#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: net_info
short_description: Facts about the network objects netwire owns on a host
version_added: 0.1.0
description:
  - Reads, and never changes, the links netwire owns in the host's network namespace (bridges, tunnels with
    their flood remotes, container attachments), and optionally the owned interfaces and routes inside
    given containers.
  - With O(all_links=true) every link is listed, owned or not.
extends_documentation_fragment:
  - netwire.fabric.attributes.info
  - netwire.fabric.ovsdb.socket
options:
  containers:
    description:
      - Containers whose namespaces are inspected too (Docker or Podman name or ID, PID, named network namespace
        or namespace path; see M(netwire.fabric.container_attach)).
    type: list
    elements: str
    default: []
  container_type:
    description: How to read each entry of O(containers).
    type: str
    choices: [auto, docker, podman, pid, netns, path]
    default: auto
  all_links:
    description: List every link, not only the owned ones.
    type: bool
    default: false
  table_name:
    description: Base name of netwire's own nftables tables (see M(netwire.fabric.firewall)).
    type: str
    default: netwire
  frr_run_dir:
    description: Where FRR's vty sockets are, for RV(evpn) (see M(netwire.fabric.frr)).
    type: path
    default: /run/frr
  frr_conf_dir:
    description: Where FRR's configuration is, for RV(evpn) (see M(netwire.fabric.frr)).
    type: path
    default: /etc/frr
requirements:
  - pyroute2 >= 0.7 on the managed host
notes:
  - O(ovsdb_socket) is read for RV(ovs); a host without Open vSwitch is reported as such, not as an error.
  - RV(evpn) is read from FRR's JSON output (C(vtysh -c 'show bgp summary json'), C(show evpn vni detail json));
    a host without FRR running is reported as such, not as an error.
seealso:
  - module: netwire.fabric.linux_bridge
  - module: netwire.fabric.linux_tunnel
  - module: netwire.fabric.container_attach
  - module: netwire.fabric.ovs_bridge
  - module: netwire.fabric.ovs_tunnel
  - module: netwire.fabric.frr
"""

EXAMPLES = r"""
- name: What netwire owns on this host, and inside web1
  netwire.fabric.net_info:
    containers: [web1]
  register: net

- name: Show the remotes of every kernel tunnel
  ansible.builtin.debug:
    msg: "{{ net.tunnels | dict2items | map(attribute='value.remotes') | list }}"
"""

RETURN = r"""
host_firewalls:
  description:
    - Every base filter chain on the IPv4 forward hook (families C(ip) and C(inet)) of a table netwire does not
      own, read with one C(nft -j list ruleset). Empty when the C(nft) command is missing.
    - C(drops_netwire_traffic) lists the traffic (C(from <subnet>), C(to <subnet>)) of netwire's networks on this
      host (the subnets of its forward table) that the chain would drop without netwire's rules; C(netwire_rules) are netwire's marked rules in that
      table (Docker's C(DOCKER-USER)); C(passes_netwire_traffic) says whether, with them, the chain lets that
      traffic through to netwire's own zone policy.
  returned: always
  type: list
  elements: dict
  sample:
    - {family: ip, table: filter, chain: FORWARD, kind: docker, priority: 0, policy: drop,
       integration: DOCKER-USER, drops_netwire_traffic: [from 10.10.0.0/24, to 10.10.0.0/24],
       passes_netwire_traffic: true,
       netwire_rules: [{chain: DOCKER-USER, comment: "netwire:netwire:from dmz",
                        expr: [{match: {op: "==", left: {payload: {protocol: ip, field: saddr}},
                                        right: {prefix: {addr: 10.10.0.0, len: 24}}}}, {accept: null}]}]}
evpn:
  description:
    - The BGP EVPN control plane (M(netwire.fabric.frr)), read from FRR's JSON output. C(available) is false,
      with a C(reason), when FRR does not run.
    - C(sessions) per address family (FRR's key, C(l2VpnEvpn)) the router ID, the AS and each peer's C(state)
      (V(Established) when up); C(vnis) per VNI the VXLAN device, the local VTEP and the remote VTEPs.
  returned: always
  type: dict
  sample:
    available: true
    reason: null
    sessions:
      l2VpnEvpn:
        router_id: 198.19.0.11
        as: 65010
        peers:
          198.19.0.12: {state: Established, remote_as: 65010, uptime: "00:01:05", prefixes_received: 1}
    vnis:
      "4100": {type: L2, vxlan_interface: vx-app, local_vtep: 198.19.0.11, remote_vteps: [198.19.0.12]}
links:
  description: Links of the host namespace (owned ones, or all with O(all_links=true)).
  returned: always
  type: list
  elements: dict
  sample:
    - {name: nw-app, index: 7, kind: bridge, alias: "netwire:bridge", owned: true, mtu: 1450,
       mac: "02:42:0a:14:00:01", up: true, operstate: UP, master: null, addresses: [10.20.0.1/24]}
bridges:
  description: Owned Linux bridges by name, as returned by M(netwire.fabric.linux_bridge).
  returned: always
  type: dict
tunnels:
  description: Owned kernel tunnels by name, with their remotes, as returned by M(netwire.fabric.linux_tunnel).
  returned: always
  type: dict
attachments:
  description: Host ends of container attachments.
  returned: always
  type: list
  elements: dict
  sample:
    - {host_ifname: nw3f0c9a1b2d4e6, identity: "docker:web1", ifname: eth1, bridge: nw-app, mtu: 1450,
       up: true, peer_netnsid: 0}
containers:
  description:
    - Per requested container, its namespace, its links and the routes netwire owns there (every table; a route
      outside the main table has its C(table)).
    - C(rules) are netwire's policy routing rules there and C(qdiscs) netwire's root qdiscs by interface, as
      M(netwire.fabric.container_attach) returns them.
  returned: always
  type: dict
  sample:
    web1:
      identity: docker:web1
      netns: /proc/4242/ns/net
      pid: 4242
      links: []
      routes:
        - {dest: 0.0.0.0/0, via: 10.50.0.1, dev: eth2, table: 150}
      rules:
        - {family: ipv4, priority: 1000, from: 10.50.0.5/32, to: null, iif: null, fwmark: null, table: 150}
      qdiscs:
        eth2: {kind: tbf, rate: 10000000, burst: 32768, limit: 95268}
shared_links:
  description:
    - The links container attachments share (M(netwire.fabric.container_attach) with
      O(netwire.fabric.container_attach#module:kind=vlan) and O(netwire.fabric.container_attach#module:host_macvlan)),
      with their users, whether they exist and their addresses.
  returned: always
  type: list
  elements: dict
  sample:
    - {name: nwm-eth2, kind: macvlan, lower: eth2, users: ["docker:web1/eth1"], present: true,
       addresses: [192.168.1.254/24]}
phys:
  description:
    - Host NICs handed to containers (M(netwire.fabric.container_attach) with
      O(netwire.fabric.container_attach#module:kind=phys)), each with the NIC's host name, its MAC, the container
      and its interface name there, whether the container's namespace is pinned and whether the NIC is in the host.
  returned: always
  type: list
  elements: dict
  sample:
    - {nic: eth3, mac: "52:54:00:12:34:56", identity: docker:router1, ifname: eth1, pinned: true, in_host: false}
ovs:
  description:
    - The Open vSwitch objects netwire owns (C(external_ids) V(netwire-owner=netwire.fabric)), from one
      OVSDB read. C(available) is false (with a C(reason)) when Open vSwitch is not running.
    - Attachments on OVS bridges also get their C(bridge) and C(vlan_tag) filled in RV(attachments).
    - C(fake_bridges) are the fake VLAN bridges (M(netwire.fabric.ovs_bridge) with
      O(netwire.fabric.ovs_bridge#module:parent) and O(netwire.fabric.ovs_bridge#module:vlan)), each with its
      C(parent) (the trunk bridge whose internal port it is) and C(vlan). A container attached to a fake bridge
      is listed in RV(attachments) on the parent with the VLAN as C(vlan_tag), as Open vSwitch stores it.
  returned: always
  type: dict
  sample:
    available: true
    bridges:
      - {name: br-app, datapath_type: netdev, fail_mode: null, external_ids: {netwire-owner: netwire.fabric},
         other_config: {}, ports: [br-app, gre-3f2a9c01b7e, nw3f0c9a1b2d4e6, br-app-v10]}
    fake_bridges:
      - {name: br-app-v10, parent: br-app, vlan: 10, ofport: 3, error: null}
    ports: []
    tunnels:
      - {name: gre-3f2a9c01b7e, bridge: br-app, type: gre, tag: null, ofport: 2, error: null, network: app,
         remote: 198.19.0.12, options: {remote_ip: 198.19.0.12, key: "100"}}
    attachments:
      - {name: nw3f0c9a1b2d4e6, bridge: br-app, type: system, tag: 10, ofport: 1, error: null, network: app,
         container: web1, interface: eth1}
"""

import ipaddress

from ansible_collections.netwire.fabric.plugins.module_utils._firewall import planner as _firewall
from ansible_collections.netwire.fabric.plugins.module_utils._firewall import host_firewalls as _host_firewalls
from ansible_collections.netwire.fabric.plugins.module_utils._errors import MissingDependency
from ansible_collections.netwire.fabric.plugins.module_utils._linux.netlink import NetlinkSession
from ansible_collections.netwire.fabric.plugins.module_utils._runner import command_runner, run_module
from ansible_collections.netwire.fabric.plugins.module_utils._specs import NET_INFO
from ansible_collections.netwire.fabric.plugins.module_utils._host.info import gather
from ansible_collections.netwire.fabric.plugins.module_utils._firewall.nft import NftClient
from ansible_collections.netwire.fabric.plugins.module_utils._ovs.facts import ovs_facts
from ansible_collections.netwire.fabric.plugins.module_utils._frr.info import evpn_facts


def add_ovs_facts(facts, socket_path):
    """Report owned OVS objects, and complete attachments whose bridge is an OVS bridge."""
    facts['ovs'] = ovs_facts(socket_path)
    ports = dict((a['name'], a) for a in facts['ovs']['attachments'])
    for attachment in facts['attachments']:
        port = ports.get(attachment['host_ifname'])
        if port is not None and not attachment.get('bridge'):
            attachment['bridge'] = port['bridge']
            attachment['bridge_type'] = 'ovs'
            attachment['vlan_tag'] = port['tag']
    return facts


def our_networks(ctx, listing, table_name):
    """(name, bridge, subnet) of our networks: the subnets of our forward table, and the link holding each."""
    subnets = set()
    for item in listing.get('nftables', []):
        nset = item.get('set') if isinstance(item, dict) else None
        if nset and (nset.get('family'), nset.get('table'), nset.get('name')) == ('inet', table_name, 'subnets'):
            elem = nset.get('elem') or []
            for e in elem if isinstance(elem, list) else [elem]:
                if isinstance(e, dict) and 'prefix' in e:
                    subnets.add(ipaddress.ip_network(u'%s/%s' % (e['prefix']['addr'], e['prefix']['len'])))
    out = []
    for link in ctx.links().values():
        for addr in ctx.link_addresses(link['index']):
            net = ipaddress.ip_interface(u'%s' % addr).network
            if net in subnets:
                out.append((str(net), link['ifname'], str(net)))
    return out


def add_host_firewall_facts(module, ctx, facts):
    """The host's other forward-hook firewalls, judged for our networks."""
    try:
        client = NftClient(command_runner(module))
    except MissingDependency:
        facts['host_firewalls'] = []
        return facts
    table_name = module.params['table_name']
    listing = client.list_ruleset()
    facts['host_firewalls'] = _host_firewalls.report(listing, _firewall.table_names(table_name),
                                                     our_networks(ctx, listing, table_name), table_name)
    return facts


def info(module):
    params = module.params
    with NetlinkSession(check_mode=True) as ctx:
        facts = gather(ctx, params['containers'], params['container_type'], params['all_links'])
        add_host_firewall_facts(module, ctx, facts)
    add_ovs_facts(facts, params['ovsdb_socket'])
    facts['evpn'] = evpn_facts(module.run_command, params['frr_run_dir'], params['frr_conf_dir'],
                               module.get_bin_path('vtysh'))
    return dict(facts, changed=False)


def main():
    run_module(NET_INFO, info, requires=['pyroute2'])


if __name__ == '__main__':
    main()
