#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: linux_tunnel
short_description: Manage a kernel VXLAN (or gretap/geneve) tunnel device owned by netwire
version_added: 0.1.0
description:
  - Creates, converges or removes one kernel tunnel device over netlink (pyroute2).
  - For O(kind=vxlan) the peers in O(remotes) are programmed as flood entries of the device's forwarding
    database (C(00:00:00:00:00:00 dst <peer>)), exactly; a peer that leaves the list leaves the FDB.
  - O(kind=gretap) and O(kind=geneve) devices are point-to-point and take exactly one remote. When the kernel
    cannot create the requested kind, the module fails and names the missing kernel support; this is detected
    in a throwaway namespace, so it also works in check mode.
  - Parameters the kernel cannot change on a live device (VNI, local address, underlay device, port, TTL,
    learning, UDP checksum) are converged by recreating the device, its master and its flood entries.
  - The device is marked as owned with the interface alias V(netwire:tunnel); an interface of the same name
    without that mark is never changed.
extends_documentation_fragment:
  - netwire.fabric.attributes
attributes:
  diff_mode:
    description: Shows the tunnel (including its remotes) before and after.
options:
  name:
    description: Name of the tunnel device, at most 15 characters.
    type: str
    required: true
  state:
    description: V(present) creates or converges the device, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  kind:
    description: The tunnel device type.
    type: str
    choices: [vxlan, gretap, geneve]
    default: vxlan
  vni:
    description:
      - VXLAN or Geneve network identifier (1 to 16777215), or the GRE key for O(kind=gretap).
      - Required when O(state=present).
    type: int
  local:
    description:
      - Local tunnel endpoint address. When omitted and O(dev) is given, the first address of O(dev) is used
        (IPv4 preferred).
    type: str
  dev:
    description: Underlay device the tunnel is bound to.
    type: str
  port:
    description:
      - UDP destination port. Defaults to V(4789) for VXLAN and V(6081) for Geneve; not used by gretap.
    type: int
  ttl:
    description: TTL of the outer packets (V(0) inherits). Left as the kernel sets it when omitted.
    type: int
  learning:
    description: Learn remote MAC addresses from received packets (VXLAN only).
    type: bool
    default: false
  udp_checksum:
    description: Compute UDP checksums on outer IPv4 packets. Left as the kernel sets it when omitted.
    type: bool
  master:
    description:
      - Bridge the tunnel device is a port of. It must exist and be a Linux bridge.
      - Omit it for a tunnel without a master (an existing master is released).
    type: str
  mtu:
    description: MTU of the tunnel device (the kernel derives one from O(dev) when omitted).
    type: int
  remotes:
    description:
      - Peer endpoint addresses. For VXLAN, the exact set of flood entries; for gretap and geneve, exactly one.
    type: list
    elements: str
    default: []
  control:
    description:
      - Who installs a VXLAN device's flood entries. V(static) (the default) converges them to O(remotes).
      - V(evpn) leaves them to FRR's zebra (a BGP EVPN control plane, M(netwire.fabric.frr)); none are added,
        removed or compared, O(remotes) must be empty, O(learning) off and O(master) set; the bridge port gets
        C(learning off) and C(neigh_suppress on).
    type: str
    choices: [static, evpn]
    default: static
  up:
    description: Administrative state of the device.
    type: bool
    default: true
requirements:
  - pyroute2 >= 0.7 on the managed host
seealso:
  - module: netwire.fabric.linux_bridge
"""

EXAMPLES = r"""
- name: VXLAN 42 between three hosts, bridged into nw-app
  netwire.fabric.linux_tunnel:
    name: vx-app
    vni: 42
    dev: eth1
    master: nw-app
    mtu: 1450
    remotes:
      - 198.19.0.12
      - 198.19.0.13

- name: Remove the tunnel
  netwire.fabric.linux_tunnel:
    name: vx-app
    state: absent
"""

RETURN = r"""
tunnel:
  description: The tunnel after the run (predicted in check mode); empty when absent.
  returned: always
  type: dict
  sample:
    name: vx-app
    kind: vxlan
    vni: 42
    local: 198.19.0.11
    dev: eth1
    port: 4789
    ttl: 0
    learning: false
    udp_checksum: true
    master: nw-app
    mtu: 1450
    remotes: [198.19.0.12, 198.19.0.13]
    up: true
    owned: true
actions:
  description: What was done (or would be done in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: ["create vxlan vx-app", "add flood entry for 198.19.0.12 to vx-app", "set vx-app up"]
"""

from ansible_collections.netwire.fabric.plugins.module_utils._runner import manager_work, run_module
from ansible_collections.netwire.fabric.plugins.module_utils._specs import LINUX_TUNNEL
from ansible_collections.netwire.fabric.plugins.module_utils._linux.tunnel import LinuxTunnelManager


def main():
    run_module(LINUX_TUNNEL, manager_work(LinuxTunnelManager), requires=['pyroute2'], lock='linux_tunnel',
               required_if=[('state', 'present', ['vni'])])


if __name__ == '__main__':
    main()
