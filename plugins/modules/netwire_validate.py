#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: netwire_validate
short_description: Validate the netwire model and compute each host's plan, on the controller
version_added: 0.1.0
description:
  - Reads the netwire model (V(netwire_zones), V(netwire_networks), V(netwire_containers) and each host's
    V(netwire_host)), checks it, and returns the normalized model and one plan per host.
  - Runs on the controller only (an action plugin). It opens no connection to any host, so it can run first in a
    play and fail it before anything is touched.
  - Fails listing every finding with its path in the model, for example
    V(netwire_containers.web1.interfaces[0].address), when references are unknown, subnets overlap, addresses or
    MACs are duplicated, an address or gateway lies outside its subnet or is its network or broadcast address,
    overlay keys clash, a name does not fit 15 characters, an MTU does not fit the encapsulation over the
    underlay MTU, a host port is published twice, a subnet is not unicast (or is loopback or link-local), or a
    value has the wrong type or an unknown key.
  - With V(netwire_dns), also when its domain is not a valid DNS name, a forwarder is not an address, a container
    or network name is not a DNS label, DHCP is asked of a network that cannot serve it, or a V(dhcp_range)
    overlaps the model's addresses.
  - When the hosts' facts were read (M(netwire.fabric.host_facts), as C(playbooks/site.yml) does, or Ansible's
    network facts), also fails when a subnet overlaps a network of a host (its interfaces, its default
    route), a publication binds to an address its host does not hold, or a publication would capture a port its
    host listens on (unless the publication sets V(capture_host_port=true)).
  - Fails when the model declares no zones, networks or containers at all, unless O(allow_empty) is true, since converging
    to an empty model removes everything netwire.fabric built (C(playbooks/down.yml) does that on purpose).
  - The model is described in C(docs/model.md) of the collection.
extends_documentation_fragment:
  - netwire.fabric.attributes.info
attributes:
  action:
    support: full
    description: Implemented as an action plugin that runs on the controller.
  platform:
    platforms: all
    description: Runs on the controller; the target host is not contacted.
options:
  zones:
    description:
      - The zones, in the shape of V(netwire_zones). Defaults to the variable V(netwire_zones) of the host the
        task runs for.
    type: raw
  networks:
    description:
      - The networks, in the shape of V(netwire_networks). Defaults to the variable V(netwire_networks).
    type: raw
  containers:
    description:
      - The containers, in the shape of V(netwire_containers). Defaults to the variable V(netwire_containers).
    type: raw
  dns:
    description:
      - Names and DHCP, in the shape of V(netwire_dns) (V(domain), V(forward)). Defaults to the variable
        V(netwire_dns); without it, the plans have no DNS servers and no network serves DHCP.
    type: raw
  control_plane:
    description:
      - The BGP EVPN control plane, in the shape of V(netwire_control_plane) (V(type), V(asn),
        V(route_reflectors), V(keepalive), V(holdtime)). Defaults to the variable V(netwire_control_plane);
        without it, no network may have V(control=evpn) (docs/evpn.md).
    type: raw
  catalog:
    description:
      - The catalog, in the shape of V(netwire_catalog) (V(members), V(address), V(prefix), V(ttl)). Defaults to
        the variable V(netwire_catalog); without it, the plans run no etcd member and register no services.
    type: raw
  lb:
    description:
      - The entry point, in the shape of V(netwire_lb) (V(host), V(frontends)). Defaults to the variable
        V(netwire_lb).
    type: raw
  encryption:
    description:
      - Encrypted overlays, in the shape of V(netwire_encryption) (V(subnet) of the WireGuard tunnel addresses,
        V(port)). Defaults to the variable V(netwire_encryption); networks with V(encrypt=true) need it.
    type: raw
  trunks:
    description:
      - Trunk bridges, in the shape of V(netwire_trunks) (per trunk V(hosts), V(overlay), V(key), V(port),
        V(bridge)). Defaults to the variable V(netwire_trunks); a network with V(trunk) is a VLAN of one.
    type: raw
  hosts:
    description:
      - The inventory hosts the model may place networks and containers on. Their settings come from their
        variables V(netwire_host) (over V(netwire_host_defaults)), V(netwire_lab_underlay_ip) and gathered facts.
      - Defaults to every host of the inventory (group V(all)).
    type: list
    elements: str
  check_consistency:
    description:
      - Fail when a host sees different V(netwire_zones), V(netwire_networks), V(netwire_containers), V(netwire_dns) or
        V(netwire_control_plane) than the
        host the task runs for (the model must be defined once, for example in C(group_vars/all)).
    type: bool
    default: true
  allow_empty:
    description:
      - Accept a model that declares no zones, networks or containers (plans that purge everything ours).
      - Defaults to the variable V(netwire_allow_empty), else V(false).
    type: bool
notes:
  - Run it once per play (O(ignore:run_once=true)); the result covers every host.
  - Model warnings (for example an allowed zone flow that no host can route) are shown as warnings and do not
    fail the task.
seealso:
  - name: The netwire model
    description: Reference of the model's variables (docs/model.md).
    link: https://github.com/netwire/fabric/tree/main/docs/model.md
"""

EXAMPLES = r"""
- name: Check the model before touching any host
  netwire.fabric.netwire_validate:
  run_once: true
  register: netwire

- name: Show host1's bridges
  ansible.builtin.debug:
    var: netwire.plans.host1.linux_bridges

- name: Validate a model given inline, on one host
  netwire.fabric.netwire_validate:
    hosts: [host1]
    zones:
      web: {}
    networks:
      front:
        subnet: 10.1.0.0/24
        zone: web
    containers:
      web1:
        host: host1
        interfaces:
          - network: front
  run_once: true
"""

RETURN = r"""
findings:
  description: Every problem found, each with its path in the model and a message. Empty when the model is valid.
  returned: always
  type: list
  elements: dict
  sample:
    - path: netwire_containers.web1.interfaces[0].address
      msg: address 10.9.0.5 is outside the subnet 10.1.0.0/24
model_warnings:
  description: Things that are allowed but probably not meant, with their paths.
  returned: always
  type: list
  elements: dict
model:
  description:
    - The normalized model, every default filled in; keys V(zones), V(networks), V(containers), V(hosts).
    - Container interfaces carry their resolved address (V(auto) allocated), MAC and gateway.
  returned: success
  type: dict
plans:
  description:
    - One plan per host. Each plan holds V(underlay), V(networks) (what the host carries), and lists whose entries
      are the arguments of the module that builds them - V(linux_bridges) (M(netwire.fabric.linux_bridge)),
      V(ovs_bridges) (M(netwire.fabric.ovs_bridge)), V(linux_tunnels) (M(netwire.fabric.linux_tunnel)),
      V(ovs_tunnels) (M(netwire.fabric.ovs_tunnel)), V(attachments) (M(netwire.fabric.container_attach)) - plus
      V(firewall) (the arguments of M(netwire.fabric.firewall)) and V(names), every interface name the plan
      creates on the host.
  returned: success
  type: dict
  sample:
    host1:
      index: 1
      linux_bridges:
        - name: nw-app
          mtu: 1450
          addresses: [10.20.0.1/24]
          stp: false
"""
