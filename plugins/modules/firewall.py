#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: firewall
short_description: NAT, published ports and the zone firewall of container networks, in nftables tables of its own
version_added: 0.1.0
description:
  - Owns a few dedicated nftables tables and replaces them atomically in one transaction
    (nftables JSON API, C(nft -j -f -)); it never reads back into, changes or deletes any other table.
  - "The tables, with O(table_name=netwire): C(table inet netwire) (zone policy between our networks),
    C(table ip netwire_nat) (masquerade, published ports, hairpin) and, only while some network has
    O(networks[].icc=false), C(table bridge netwire_icc), and, only while a network with O(networks[].dhcp=true)
    has tunnel devices on this host, C(table bridge netwire_dhcp_guard)."
  - B(Masquerade) (O(networks[].nat=true)) applies to traffic from the network's subnet leaving through any
    interface but the network's own bridge, except traffic to another of our networks.
  - "B(Published ports): DNAT in C(prerouting) (from other hosts and from containers) and in C(output)
    (from the host itself). Hairpin (a container reaching a published port of a container on its own
    bridge) works by routing through the host: the client targets the B(host address) the port is bound
    to, the packet is DNATed in C(prerouting) and routed back out of the same bridge, and it is
    masqueraded to the bridge address so the reply returns through the host. No hairpin mode on
    bridge ports and no C(br_netfilter) is needed; this also covers a container reaching its own
    published port. Reaching the port through the bridge's own address works when
    O(publications[].bind_address=0.0.0.0). Targeting the container address directly is plain
    bridged traffic, not a publication."
  - "When C(br_netfilter) is active (C(net.bridge.bridge-nf-call-iptables=1)), bridged IPv4 traffic also
    passes the IP hooks; the tables are written to give the same result (traffic inside one zone is
    accepted, the egress masquerade skips the network's own bridge). The one difference: a container
    reaching B(its own) published port then needs hairpin mode on its bridge port
    (C(container_attach) option C(hairpin))."
  - "B(Zones): every network belongs to a zone (default: a zone named like the network). Traffic between
    two networks of one zone is allowed; between zones only new connections of a declared
    O(flows) direction are allowed, and replies and related traffic (C(ct state established,related))
    pass both ways. Everything else routed between our subnets is dropped. Traffic that does not go from
    one of our subnets to another is not touched (the forward chain's policy is accept), so networks we
    do not manage are not affected. A published port is reachable from every network, like from outside."
  - "B(icc): traffic between two ports of one Linux bridge is bridged, not routed, and the C(inet) forward
    hook never sees it without C(br_netfilter). O(networks[].icc=false) therefore drops bridged IPv4
    traffic inside the network's subnet in a C(bridge) family forward chain. Traffic through the host
    (to the gateway, egress, published ports) is not affected, and published container ports of the
    network stay reachable from its other containers (they are through the host address anyway; with
    C(br_netfilter) such hairpinned packets are bridged, not routed)."
  - "B(Other firewalls on the host): a forwarded packet must be accepted by every base chain on the forward hook.
    When another table's forward chain would drop traffic from or to our networks, and it is Docker's
    C(table ip filter) with its C(DOCKER-USER) chain, the module puts two marked rules per network first in
    C(DOCKER-USER) (C(ip saddr <subnet> accept), C(ip daddr <subnet> accept), comment
    C(netwire:<table_name>:...)), in the same transaction; our own forward chain still enforces the zone
    policy on that traffic. V(absent) removes them. Any other forward drop (ufw, firewalld, a table of
    someone else) fails the run before the transaction, naming the table and chain."
  - B(IPv4 forwarding) (C(net.ipv4.ip_forward=1)) is the job of the role that prepares the host
    (host_prep), not of this module; the module warns when it is off in the target network namespace.
  - "B(Containers and this host): traffic arriving on one of our bridges for this host itself (C(input)) is
    dropped, except replies to the host's own connections and ICMP echo requests and errors to the address of
    the bridge it arrived on (the containers' gateway). Published ports are DNATed before that and stay
    reachable. Services for containers on a bridge address (DNS) are O(host_services) whose address is inside one
    of our subnets: they go into the regular chain C(services), which the input chain jumps to before its final
    drop, and only that network's own bridge (and O(networks[].ports)) reaches them."
  - "B(DHCP): for a network with O(networks[].dhcp=true), DHCP requests from its bridge to this host (UDP 68 to
    67, from V(0.0.0.0) or the subnet, to V(255.255.255.255) or the subnet) are accepted before the
    reverse-path check and the final drop (a client without a lease sends from V(0.0.0.0)). The host's replies are not
    filtered (no output chain). The B(DHCP guard) drops every DHCP packet (UDP port 67 or 68) that would enter
    or leave by one of the network's kernel tunnel devices, in C(table bridge <table_name>_dhcp_guard)
    (chains C(prerouting) and C(postrouting), so bridged frames and this host's own server are both covered),
    counted in the named counter C(dhcp_<network>). The tunnel devices are the ones the collection names for
    O(tunnels): C(nwx-<network>) for VXLAN, one C(nwt...) device per peer for GRE and Geneve (as
    C(linux_tunnel) gets them in the plan of C(host_network)). Counters restart at 0 whenever the tables
    change."
  - "B(Spoofing): routed traffic from our bridges must come from an address that routes back through that
    bridge (C(fib saddr . iif oif missing drop): strict reverse-path filtering), and zone flows are keyed on the
    ingress bridge (C(iifname @bridges_<zone>)), not only on the source address."
  - IPv4 only.
extends_documentation_fragment:
  - netwire.fabric.attributes
attributes:
  check_mode:
    details: The planned batch is validated by the kernel (C(nft -c)) but not committed.
  diff_mode:
    description: Shows our tables before and after, as nft text.
options:
  state:
    description:
      - V(present) makes our tables match the parameters; V(absent) deletes our tables (and only them).
    type: str
    choices: [present, absent]
    default: present
  table_name:
    description:
      - Base name of our tables; C(<table_name>), C(<table_name>_nat), C(<table_name>_icc) and
        C(<table_name>_dhcp_guard).
      - Two users of the module on one host must use different names.
    type: str
    default: netwire
  networks:
    description: Our container networks on this host.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Network name (letters, digits, C(_), C(.), C(-)).
        type: str
        required: true
      subnet:
        description: IPv4 subnet in CIDR form (network address, e.g. C(10.1.0.0/24)); subnets must not overlap.
        type: str
        required: true
      bridge:
        description: Name of the network's bridge on this host (Linux or OVS), at most 15 characters.
        type: str
        required: true
      nat:
        description: Masquerade the network's egress traffic.
        type: bool
        default: true
      icc:
        description: Allow traffic between containers of this network (bridged traffic).
        type: bool
        default: true
      zone:
        description: Zone of the network; defaults to the network name.
        type: str
      ports:
        description:
          - Other interfaces by which the network's container traffic may enter this host's IP stack,
            such as the host ends of containers on an Open vSwitch userspace (C(netdev)) bridge, whose frames the
            kernel receives too (the kernel answers ARP on them). They count as the network's ingress
            (zone, host policy), and their sources must be in the network's subnet.
        type: list
        elements: str
        default: []
      dhcp:
        description:
          - This host serves DHCP on the network's bridge. DHCP from the network's containers to this host is
            accepted (before the reverse-path check), and no DHCP packet crosses the network's tunnel devices
            (O(tunnels[].network) of this network), in either direction.
          - For Linux bridges; the guard does not cover Open vSwitch tunnel ports.
        type: bool
        default: false
  flows:
    description: Allowed directions of new connections between zones.
    type: list
    elements: dict
    default: []
    suboptions:
      from:
        description: Zone where connections start.
        type: str
        required: true
      to:
        description: Zone where connections end.
        type: str
        required: true
  publications:
    description: Published ports.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Label used in error messages and rule comments.
        type: str
      network:
        description: The network the container address belongs to.
        type: str
        required: true
      proto: &proto  # the same in host_services
        description: Protocol.
        type: str
        choices: [tcp, udp]
        default: tcp
      host_port:
        description: Port on the host (1-65535).
        type: int
        required: true
      bind_address:
        description:
          - Host address the port is published on.
          - The safe default V(127.0.0.1) publishes to the host itself only (it needs
            C(net.ipv4.conf.<bridge>.route_localnet=1), which the module does not set; it warns).
          - Give the host's address (e.g. its underlay address) to reach the port from other hosts and
            from containers (hairpin), or V(0.0.0.0) for every non-loopback address of the host.
        type: str
        default: 127.0.0.1
      container_address:
        description: Address of the container inside the network's subnet.
        type: str
        required: true
      container_port:
        description: Port in the container; defaults to O(publications[].host_port).
        type: int
  tunnels:
    description:
      - The overlay tunnel endpoints on this host. For each, the C(input) chain accepts the tunnel's
        traffic (UDP O(tunnels[].port), or GRE) only from O(tunnels[].peers), to O(tunnels[].local_address),
        on O(tunnels[].device), and drops it from anyone else.
      - Several tunnels on one UDP port (or several GRE tunnels) share one peer set, the union of their peers.
      - GRE has no port, so with a GRE tunnel B(all) GRE from other sources is dropped on this host.
    type: list
    elements: dict
    default: []
    suboptions:
      network:
        description:
          - Label of the tunnel (the network), used in rule comments and error messages.
          - The network's name when the network has O(networks[].dhcp=true), for the DHCP guard.
        type: str
      type:
        description: The encapsulation.
        type: str
        choices: [vxlan, geneve, gre]
        default: vxlan
      port:
        description: UDP destination port; defaults to 4789 (vxlan) or 6081 (geneve). Ignored for gre.
        type: int
      local_address:
        description: This host's tunnel endpoint (its underlay address).
        type: str
        required: true
      device:
        description: The underlay device the tunnel traffic arrives on; any device when not set.
        type: str
      peers:
        description: Underlay addresses of the peers that may send tunnel traffic.
        type: list
        elements: str
        default: []
      encrypted:
        description:
          - The network's tunnels run inside WireGuard (O(tunnels[].device) is the WireGuard device, O(tunnels[].local_address)
            and O(tunnels[].peers) are tunnel addresses). The tunnel's transport arriving on any other interface is
            clear overlay traffic; it is dropped and counted in the named counter C(clear_overlay) of the inet table.
        type: bool
        default: false
  host_addresses:
    description:
      - Addresses of the fabric's hosts (underlay and management, this host's included). Traffic that
        containers on our bridges send to them through this host (routed, and masqueraded on the way out)
        is dropped, except O(host_services). Containers so reach no host's management SSH and no tunnel
        endpoint, directly or through their host.
      - Traffic from our bridges to this host itself is always filtered by the C(input) chain (ICMP to
        the gateway only); see the module description.
    type: list
    elements: str
    default: []
  host_services:
    description:
      - Ports on O(host_addresses) that containers may reach (other hosts' published ports).
      - "An address inside the subnet of one of O(networks) is a bridge address (a service such as DNS on the
        gateway of the containers): it is reachable only from that network's bridge (and ports), on this host."
    type: list
    elements: dict
    default: []
    suboptions:
      address:
        description: The host address.
        type: str
        required: true
      proto: *proto
      port:
        description: The port (1-65535).
        type: int
        required: true
      zones:
        description:
          - Only containers of these zones (packets entering by their bridges) may reach the port; omitted, every
            container may (a published port). Each zone must be one of O(networks[].zone).
          - The entry point of the services (C(netwire_lb)) is reachable only from the zones that may reach its
            service's network.
        type: list
        elements: str
      local:
        description:
          - "The address is this host's own (not a bridge address): the rule goes into the C(services) chain
            (input), for the ingress of O(host_services[].zones), instead of the forward chain."
        type: bool
        default: false
notes:
  - Uses the C(nft) command (package nftables), or the C(nftables) Python binding when the command is missing.
  - Tables are the ownership mark; do not create tables with these names by hand.
seealso:
  - name: nftables JSON API
    description: libnftables-json(5).
    link: https://manpages.debian.org/bookworm/libnftables1/libnftables-json.5.en.html
"""

EXAMPLES = r"""
- name: Three zones, egress NAT and one published port
  netwire.fabric.firewall:
    networks:
      - {name: dmz, subnet: 10.1.0.0/24, bridge: nw-dmz, zone: dmz}
      - {name: app, subnet: 10.2.0.0/24, bridge: nw-app, zone: app, icc: false}
      - {name: db, subnet: 10.3.0.0/24, bridge: nw-db, zone: backend, nat: false}
    flows:
      - {from: dmz, to: app}
      - {from: app, to: backend}
    publications:
      - name: web
        network: dmz
        host_port: 8080
        bind_address: "{{ ansible_default_ipv4.address }}"
        container_address: 10.1.0.10
        container_port: 80

- name: Remove our tables (and nothing else)
  netwire.fabric.firewall:
    state: absent
"""

RETURN = r"""
tables:
  description: Our tables after the run, as C(<family> <name>).
  returned: always
  type: list
  elements: str
  sample: [inet netwire, ip netwire_nat, bridge netwire_dhcp_guard]
actions:
  description: What was (or, in check mode, would be) done.
  returned: always
  type: list
  elements: str
  sample: [replace table inet netwire]
ruleset:
  description: The desired content of our tables in canonical nftables JSON form.
  returned: always
  type: dict
host_firewall_rules:
  description: Our marked rules in other firewalls' chains after the run (Docker's C(DOCKER-USER)), with their chain.
  returned: always
  type: list
  elements: dict
  sample:
    - {chain: chain DOCKER-USER of table ip filter,
       rule: {comment: "netwire:netwire:from dmz", expr: [{match: {op: "==", left: {payload: {protocol: ip,
              field: saddr}}, right: {prefix: {addr: 10.10.0.0, len: 24}}}}, {accept: null}]}}
"""

from ansible_collections.netwire.fabric.plugins.module_utils._contract import Context
from ansible_collections.netwire.fabric.plugins.module_utils._firewall.manager import FirewallManager
from ansible_collections.netwire.fabric.plugins.module_utils._firewall.nft import NftClient
from ansible_collections.netwire.fabric.plugins.module_utils._runner import command_runner, run_module
from ansible_collections.netwire.fabric.plugins.module_utils._specs import FIREWALL


def converge(module):
    with Context(module.check_mode, nft=NftClient(command_runner(module))) as ctx:
        return FirewallManager(ctx, module.params).run()


def main():
    # FIREWALL is shared with host_network, which checks its plan's firewall entry against the same spec
    run_module(FIREWALL, converge, lock="firewall")


if __name__ == "__main__":
    main()
