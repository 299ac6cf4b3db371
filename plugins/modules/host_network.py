#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: host_network
short_description: Apply one host's whole netwire plan in one call
version_added: 0.1.0
description:
  - Builds, converges or removes everything netwire.fabric manages on one host from the host's plan, the per-host
    data that M(netwire.fabric.netwire_validate) computes from the model; that is OVS bridges (and the underlay bridge the
    userspace datapath needs), Linux bridges, OVS tunnel meshes, kernel tunnels, container attachments and the
    firewall.
  - Each plan entry holds the arguments of the module that builds that kind of object
    (M(netwire.fabric.ovs_bridge), M(netwire.fabric.linux_bridge), M(netwire.fabric.ovs_tunnel),
    M(netwire.fabric.linux_tunnel), M(netwire.fabric.container_attach), M(netwire.fabric.firewall)) and is converged
    by the same code, so a plan behaves exactly like the equivalent single-object tasks, in one module call per host
    whatever the number of networks, tunnels or containers.
  - Every entry is checked against its module's options before anything is changed; a bad entry fails the call
    naming its path in the plan, with nothing applied.
  - Then a preflight checks the whole plan against the host, again before the first change; every planned name is
    free or owned by netwire.fabric, every container to attach is found, every bridge or device a step needs
    exists or is built by an earlier step, and no other VXLAN device holds a new tunnel's VNI and port. All
    problems are reported together, with nothing applied.
  - With O(purge=true), objects netwire.fabric owns on the host that the plan does not declare (a network or
    container removed from the model) are removed, before anything is built, as they may hold what the plan
    needs (a renamed network's VNI or subnet, a renamed interface's default route). Objects netwire.fabric did
    not create are never touched.
  - In check mode, with O(sections) without V(fabric), a bridge the plan declares that does not exist yet is taken
    as one the fabric section creates, so that a check-mode run on a fresh host reports what the real run does.
  - On hosts whose OVS uses the userspace datapath (C(datapath_type=netdev)) and that carry tunnelled OVS
    networks, the plan names an underlay bridge that owns the underlay interface; its address and default route
    move onto that bridge's internal port (userspace tunnelling needs that), and are put back on the interface
    when the bridge is removed. See the collection's C(docs/ovs.md).
extends_documentation_fragment:
  - netwire.fabric.attributes
  - netwire.fabric.ovsdb.socket
  - netwire.fabric.lock
attributes:
  check_mode:
    description: Reports every change the plan would make and changes nothing.
  diff_mode:
    description: Shows the before and after of every object that changes, keyed by kind and name.
options:
  plan:
    description:
      - The host's plan, as returned for this host by M(netwire.fabric.netwire_validate) (C(plans[inventory_hostname])).
      - Keys used are C(ovs_bridges), C(linux_bridges), C(wireguard), C(ovs_tunnels), C(linux_tunnels), C(dns),
        C(attachments), C(firewall), C(underlay) and C(names). Unknown keys are ignored.
      - A C(wireguard) peer may name its C(host) instead of its C(public_key); the key is then taken from
        O(wireguard_keys).
    type: dict
    default: {}
  state:
    description:
      - V(present) builds and converges the plan.
      - V(absent) removes everything netwire.fabric owns on the host in the chosen O(sections), in reverse order;
        the plan is not needed for that.
    type: str
    choices: [present, absent]
    default: present
  sections:
    description:
      - Which parts of the plan to act on. V(fabric) is bridges and tunnels, V(containers) the attachments,
        V(firewall) the nftables tables. The collection's roles call the module once per section.
    type: list
    elements: str
    choices: [fabric, containers, firewall]
    default: [fabric, containers, firewall]
  purge:
    description:
      - With O(state=present), remove objects netwire.fabric owns in the chosen sections that the plan does not
        declare.
    type: bool
    default: true
  wireguard_keys:
    description:
      - The WireGuard public key of each host (inventory name -> key), as the hosts' own key step returned them
        (M(netwire.fabric.wireguard) with O(netwire.fabric.wireguard#module:key_only=true)); the role
        C(netwire.fabric.fabric) collects them. Only public keys; private keys never leave their host.
      - A peer of the plan whose host has no key here fails the call, except in check mode, where the key step
        would make it.
    type: dict
    default: {}
notes:
  - IPv4 forwarding is the job of the C(netwire.fabric.host_prep) role.
requirements:
  - pyroute2
  - ovsdbapp (for OVS networks)
  - nftables (the C(nft) command, for the firewall)
seealso:
  - module: netwire.fabric.netwire_validate
  - module: netwire.fabric.net_info
"""

EXAMPLES = r"""
- name: Validate the model and compute every host's plan
  netwire.fabric.netwire_validate:
  run_once: true
  register: netwire_model

- name: Build bridges and tunnels
  netwire.fabric.host_network:
    plan: "{{ netwire_model.plans[inventory_hostname] }}"
    sections: [fabric]

- name: Remove everything netwire.fabric made on the host
  netwire.fabric.host_network:
    state: absent
"""

RETURN = r"""
actions:
  description: What was done (or, in check mode, would be done), one line per change.
  returned: always
  type: list
  elements: str
  sample: ["linux_bridges nw-app: create bridge nw-app", "ovs_tunnels dmz on nw-dmz: add gre tunnel port gre-... to 198.19.0.12"]
results:
  description:
    - One entry per object acted on, with its kind, name, whether it changed, its actions and, for an object that
      changed, its diff (C(before) and C(after)).
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.netwire.fabric.plugins.module_utils._host.network import HostNetworkManager, SECTIONS
from ansible_collections.netwire.fabric.plugins.module_utils._runner import params_work, run_module
from ansible_collections.netwire.fabric.plugins.module_utils._specs import LOCK_TIMEOUT, OVSDB_SOCKET, STATE

HOST_NETWORK = dict(
    plan=dict(type='dict', default={}),
    state=STATE,
    sections=dict(type='list', elements='str', choices=list(SECTIONS), default=list(SECTIONS)),
    purge=dict(type='bool', default=True),
    wireguard_keys=dict(type='dict', default={}, no_log=False),
    ovsdb_socket=OVSDB_SOCKET,
    lock_timeout=LOCK_TIMEOUT,
)


def main():
    run_module(HOST_NETWORK, params_work(HostNetworkManager), requires=['pyroute2'], lock='host_network')


if __name__ == '__main__':
    main()
