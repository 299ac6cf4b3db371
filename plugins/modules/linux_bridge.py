#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: linux_bridge
short_description: Manage a Linux bridge owned by netwire
version_added: 0.1.0
description:
  - Creates, converges or removes one Linux bridge in the host's network namespace, over netlink (pyroute2).
  - The bridge is marked as owned with the interface alias (C(IFLA_IFALIAS)) V(netwire:bridge). An existing
    interface of the same name without that mark is never changed or deleted; the module fails instead.
  - Options that are not given are left as they are.
extends_documentation_fragment:
  - netwire.fabric.bridge
  - netwire.fabric.attributes
options:
  state:
    description:
      - V(present) creates or converges the bridge, V(absent) deletes it (its ports are released by the kernel).
    type: str
    choices: [present, absent]
    default: present
  mtu:
    description:
      - MTU of the bridge (68 to 65535).
    type: int
  stp:
    description:
      - Run the spanning tree protocol on the bridge.
    type: bool
    default: false
  forward_delay:
    description:
      - STP forward delay in seconds (2 to 30 when O(stp=true)).
    type: int
  vlan_filtering:
    description:
      - Enable VLAN filtering. Fails with a clear message on kernels built without bridge VLAN filtering.
    type: bool
    default: false
  mac:
    description:
      - Pin the bridge's MAC address (otherwise the kernel picks it, and it may follow the ports).
      - A new MAC on an existing bridge that is up is announced by gratuitous ARP from each of its IPv4
        addresses, so its neighbors (the containers whose gateway it is) update their entry at once.
    type: str
  addresses:
    description:
      - The exact list of addresses (IPv4 and IPv6, with prefix length, for example V(10.1.0.1/24)) of the bridge.
      - Addresses not in the list are removed; IPv6 link-local addresses are ignored.
      - Omit to leave addresses unmanaged.
    type: list
    elements: str
  ports:
    description:
      - Interfaces that must be ports of the bridge (for example a tunnel device or an underlay NIC).
      - Each must already exist.
    type: list
    elements: str
  purge_ports:
    description:
      - Release ports of this bridge that are not in O(ports).
      - Container attachments and tunnels created by other netwire modules are never released by this option.
    type: bool
    default: false
  up:
    description:
      - Administrative state of the bridge.
    type: bool
    default: true
requirements:
  - pyroute2 >= 0.7 on the managed host
notes:
  - Runs in the network namespace the module runs in (the host).
seealso:
  - module: netwire.fabric.linux_tunnel
  - module: netwire.fabric.container_attach
  - module: netwire.fabric.net_info
"""

EXAMPLES = r"""
- name: A bridge for the app network, with a gateway address
  netwire.fabric.linux_bridge:
    name: nw-app
    mtu: 1450
    addresses:
      - 10.20.0.1/24
      - fd00:20::1/64

- name: Keep exactly these ports (other netwire attachments stay)
  netwire.fabric.linux_bridge:
    name: nw-app
    ports: [vx-app]
    purge_ports: true

- name: Remove the bridge
  netwire.fabric.linux_bridge:
    name: nw-app
    state: absent
"""

RETURN = r"""
bridge:
  description: The bridge after the run (predicted in check mode); empty when absent.
  returned: always
  type: dict
  sample:
    name: nw-app
    mtu: 1450
    mac: "02:42:0a:14:00:01"
    stp: false
    forward_delay: 15
    vlan_filtering: false
    addresses: [10.20.0.1/24]
    ports: [vx-app]
    up: true
    owned: true
actions:
  description: What was done (or would be done in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: ["create bridge nw-app", "add address 10.20.0.1/24 to nw-app", "set nw-app up"]
"""

from ansible_collections.netwire.fabric.plugins.module_utils._runner import manager_work, run_module
from ansible_collections.netwire.fabric.plugins.module_utils._specs import LINUX_BRIDGE
from ansible_collections.netwire.fabric.plugins.module_utils._linux.bridge import LinuxBridgeManager


def main():
    run_module(LINUX_BRIDGE, manager_work(LinuxBridgeManager), requires=['pyroute2'], lock='linux_bridge')


if __name__ == '__main__':
    main()
