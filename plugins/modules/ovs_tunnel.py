#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ovs_tunnel
short_description: Manage the tunnel ports of one overlay on an Open vSwitch bridge
version_added: 0.1.0
description:
  - Converges the set of GRE, VXLAN or Geneve tunnel ports of one overlay (O(network)) on one Open vSwitch
    bridge, one port per remote, in one OVSDB transaction per run (ovsdbapp).
  - Port names are deterministic, at most 15 characters, derived from the type, the overlay and the remote
    (for example V(gre-3f2a9c01b7e)).
  - Exclusive within what netwire owns. Tunnel ports of this overlay on this bridge whose remote is not in
    O(remotes) are removed. Other ports are never touched.
  - A changed key, destination port, remote or local address is detected and converged in place.
  - After the transaction every new or changed interface must have a valid OpenFlow port number; otherwise
    the module fails with OVS's own C(error) for that interface.
extends_documentation_fragment:
  - netwire.fabric.attributes
  - netwire.fabric.ovsdb
attributes:
  diff_mode:
    description: Shows the overlay's tunnels (by remote) before and after.
options:
  bridge:
    description:
      - The OVS bridge carrying the overlay. It must exist and be owned by netwire (M(netwire.fabric.ovs_bridge)).
    type: str
    required: true
  network:
    description:
      - Name of the overlay; recorded in C(external_ids) as V(netwire-network).
    type: str
    required: true
  type:
    description:
      - Tunnel encapsulation.
    type: str
    choices: [gre, vxlan, geneve]
    default: vxlan
  remotes:
    description:
      - Underlay addresses of the other hosts of the overlay, one tunnel port each.
    type: list
    elements: str
    default: []
  key:
    description:
      - GRE key (0 to 4294967295) or VXLAN/Geneve VNI (0 to 16777215). Omitted means no key option.
    type: int
  dst_port:
    description:
      - UDP destination port for VXLAN and Geneve (OVS defaults to 4789 and 6081). Not valid for GRE.
    type: int
  local_ip:
    description:
      - Local tunnel endpoint address. Omitted lets OVS choose by route lookup.
    type: str
  options:
    description:
      - Extra interface options (for example V(csum=true) or V(tos=inherit)). Use the dedicated parameters
        for C(remote_ip), C(key), C(dst_port) and C(local_ip).
    type: dict
    default: {}
  state:
    description:
      - V(present) converges the tunnels to O(remotes), V(absent) removes every tunnel port of the overlay on
        the bridge.
    type: str
    choices: [present, absent]
    default: present
requirements:
  - ovsdbapp on the managed host
  - a running ovsdb-server and ovs-vswitchd
notes:
  - Never put two meshes between the same hosts on one bridge (for example a GRE and a VXLAN overlay); that
    is a loop.
  - With O(netwire.fabric.ovs_bridge#module:datapath_type=netdev), the underlay address must be on an
    internal port of an OVS bridge that owns the underlay NIC (userspace tunnelling).
seealso:
  - module: netwire.fabric.ovs_bridge
  - module: netwire.fabric.net_info
"""

EXAMPLES = r"""
- name: A VXLAN mesh for the app overlay towards two other hosts
  netwire.fabric.ovs_tunnel:
    bridge: br-app
    network: app
    type: vxlan
    key: 4242
    remotes: [198.19.0.12, 198.19.0.13]

- name: A GRE overlay with a keyed tunnel
  netwire.fabric.ovs_tunnel:
    bridge: br-db
    network: db
    type: gre
    key: 77
    remotes: [198.19.0.12]

- name: Remove every tunnel of the overlay
  netwire.fabric.ovs_tunnel:
    bridge: br-app
    network: app
    state: absent
"""

RETURN = r"""
tunnels:
  description: The tunnel ports of the overlay after the run (empty when absent). C(ofport) is null in check mode
    for ports not created yet.
  returned: always
  type: list
  elements: dict
  sample:
    - port: vxl-1b2c3d4e5f6
      remote: 198.19.0.12
      type: vxlan
      options: {remote_ip: 198.19.0.12, key: "4242"}
      ofport: 2
actions:
  description: What was done (or would be done in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: ["add vxlan tunnel port vxl-1b2c3d4e5f6 to 198.19.0.12"]
"""

from ansible_collections.netwire.fabric.plugins.module_utils._runner import manager_work, run_module
from ansible_collections.netwire.fabric.plugins.module_utils._specs import OVS_TUNNEL
from ansible_collections.netwire.fabric.plugins.module_utils._ovs.tunnel import OvsTunnelManager


def main():
    run_module(OVS_TUNNEL, manager_work(OvsTunnelManager), requires=['ovsdbapp'], lock='ovs_tunnel')


if __name__ == '__main__':
    main()
