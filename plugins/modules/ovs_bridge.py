#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ovs_bridge
short_description: Manage an Open vSwitch bridge owned by netwire
version_added: 0.1.0
description:
  - Creates, converges or removes one Open vSwitch bridge over OVSDB (ovsdbapp), in one OVSDB transaction per run.
  - The bridge, its local port and every member port it creates carry V(netwire-owner=netwire.fabric) in
    C(external_ids). A bridge or port of the same name without that mark is never changed or deleted; the
    module fails instead.
  - Addresses of internal ports are set over netlink (pyroute2) after the transaction.
extends_documentation_fragment:
  - netwire.fabric.bridge
  - netwire.fabric.attributes
  - netwire.fabric.ovsdb
options:
  state:
    description:
      - V(present) creates or converges the bridge, V(absent) deletes it with its ports.
      - Deleting fails when the bridge carries a port netwire does not own.
    type: str
    choices: [present, absent]
    default: present
  datapath_type:
    description:
      - V(system) uses the kernel datapath (needs the C(openvswitch) kernel module).
      - V(netdev) uses the userspace datapath of ovs-vswitchd; tunnels then need the underlay address on an
        internal port of an OVS bridge that owns the underlay NIC, and veths need TX checksum offload off.
    type: str
    choices: [system, netdev]
    default: system
  fail_mode:
    description:
      - What the bridge does without a controller. Left as is when omitted.
    type: str
    choices: [standalone, secure]
  external_ids:
    description:
      - Keys to set in the bridge's C(external_ids). Other keys are left as they are.
      - Keys starting with V(netwire-) are reserved for ownership marks.
    type: dict
    default: {}
  other_config:
    description:
      - Keys to set in the bridge's C(other_config). Other keys are left as they are.
      - A new C(hwaddr) on an existing bridge whose internal port has IPv4 addresses is announced by
        gratuitous ARP once OVS has applied it, so its neighbors update their entry at once.
    type: dict
    default: {}
  ports:
    description:
      - The exact list of member ports netwire manages on this bridge. Member ports netwire created earlier
        and no longer listed are removed. Tunnel and container ports (other netwire modules) and ports
        netwire does not own are never touched.
      - Omit to leave member ports unmanaged.
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - Port name, at most 15 characters. A host interface (for example an underlay NIC) for
            O(ports[].type=system), or a new internal port. The bridge's own name refers to its local port.
        type: str
        required: true
      type:
        description:
          - V(system) adds an existing host interface, V(internal) creates an OVS internal port.
          - Defaults to V(internal) for the bridge's own name, V(system) otherwise.
        type: str
        choices: [system, internal]
      tag:
        description:
          - Access VLAN tag (0 to 4095).
        type: int
      mtu:
        description:
          - MTU of an internal port, set as the interface's C(mtu_request) so that OVS keeps it (without it OVS
            gives an internal port the smallest MTU of the bridge's other ports, or 1500).
          - Omit to leave it to OVS.
        type: int
      addresses:
        description:
          - Exact list of addresses (with prefix length) of an internal port; omit to leave them unmanaged.
          - The port is set up when listed.
        type: list
        elements: str
  parent:
    description:
      - Make O(name) a fake VLAN bridge of this parent bridge (C(ovs-vsctl add-br <name> <parent> <vlan>), the
        wire tool's VLAN networks on a trunk), that is an internal port O(name) of the parent with C(fake_bridge=true) and
        the tag O(vlan), so the host has an interface O(name) on that VLAN. A container attached to O(name)
        (M(netwire.fabric.container_attach)) becomes a port of the parent with the tag O(vlan).
      - The parent must exist first (netwire's, created earlier in the run or play). A parent is not removed
        while a fake VLAN bridge of netwire's sits on it; the purge removes fake VLAN bridges first.
      - With O(parent), O(vlan) is required and O(fail_mode) is refused. O(ports) may list only O(name) itself
        (internal, on the VLAN), for its C(mtu) and C(addresses); O(other_config) may hold only C(hwaddr), the MAC
        of its interface (the Interface's C(mac) column). That is how the model makes a fake VLAN bridge the
        gateway of a network on a trunk (C(netwire_trunks)).
      - An existing bridge of netwire's named O(name) (no port that is not netwire's, no fake VLAN bridge on it)
        is replaced by the fake VLAN bridge, and an existing fake VLAN bridge of netwire's by a bridge without
        O(parent) (a network moving onto a trunk or off it).
    type: str
  vlan:
    description: The VLAN (1 to 4094) of the fake VLAN bridge O(name) on O(parent).
    type: int
requirements:
  - ovsdbapp and pyroute2 on the managed host
  - a running ovsdb-server and ovs-vswitchd
notes:
  - Fails with a clear message when Open vSwitch is not running.
  - Each new port is checked for a valid OpenFlow port number after the transaction; OVS's own
    C(error) column is reported otherwise.
seealso:
  - module: netwire.fabric.ovs_tunnel
  - module: netwire.fabric.container_attach
  - module: netwire.fabric.net_info
"""

EXAMPLES = r"""
- name: A trunk bridge, and its VLAN 10 as a fake bridge (parent first)
  netwire.fabric.ovs_bridge:
    name: "{{ item.name }}"
    parent: "{{ item.parent | default(omit) }}"
    vlan: "{{ item.vlan | default(omit) }}"
  loop:
    - {name: br-trunk}
    - {name: br-v10, parent: br-trunk, vlan: 10}

- name: An OVS bridge for containers on the userspace datapath
  netwire.fabric.ovs_bridge:
    name: br-app
    datapath_type: netdev
    fail_mode: standalone

- name: Underlay bridge owning the NIC, with the host's underlay address on its internal port
  netwire.fabric.ovs_bridge:
    name: br-underlay
    datapath_type: netdev
    ports:
      - name: eth1
      - name: br-underlay
        addresses: [198.19.0.11/24]

- name: Remove the bridge
  netwire.fabric.ovs_bridge:
    name: br-app
    state: absent
"""

RETURN = r"""
bridge:
  description: The bridge after the run (predicted in check mode).
  returned: always
  type: dict
  sample:
    name: br-app
    state: present
    owned: true
    datapath_type: netdev
    fail_mode: standalone
    external_ids: {netwire-owner: netwire.fabric, netwire-role: bridge}
    other_config: {}
    ports:
      br-app: {type: internal, tag: null, owned: true, role: bridge}
actions:
  description: What was done (or would be done in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: ["create bridge br-app (datapath netdev)"]
"""

from ansible_collections.netwire.fabric.plugins.module_utils._runner import manager_work, run_module
from ansible_collections.netwire.fabric.plugins.module_utils._specs import OVS_BRIDGE
from ansible_collections.netwire.fabric.plugins.module_utils._ovs.bridge import OvsBridgeManager


def main():
    run_module(OVS_BRIDGE, manager_work(OvsBridgeManager), requires=['ovsdbapp'], lock='ovs_bridge')


if __name__ == '__main__':
    main()
