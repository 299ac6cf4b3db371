#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: host_facts
short_description: Facts about a host that the netwire model is checked against
version_added: 0.1.0
description:
  - Reads, and never changes, what M(netwire.fabric.netwire_validate) needs to know about a host before anything is
    built on it - its interfaces with their IPv4 addresses and MTU, its default route, the TCP and UDP ports it
    listens on, which interfaces netwire.fabric owns (their addresses belong to the model, not to the host), its
    os-release and whether systemd runs it.
  - Standard library only, so it runs on a host that has not been prepared yet. Interfaces, addresses and routes
    come from three netlink dumps, listening sockets from the kernel's C(/proc/net/tcp), C(tcp6), C(udp) and
    C(udp6) tables, link marks from C(/sys/class/net/*/ifalias), owned OVS interfaces from one read-only OVSDB
    query.
  - Sets the fact C(netwire_host_facts). C(playbooks/site.yml) runs it before validation, instead of Ansible's
    fact gathering (which cost more than either converge step of a run that changes nothing). When Ansible's
    network facts were gathered too, validation reads the interfaces from C(netwire_host_facts) still.
  - With O(packages) and O(files) it also reads what role C(netwire.fabric.host_prep) decides on, so that a host
    that has everything gets no other task from it (C(playbooks/site.yml) runs this module through that role's
    C(read.yml), before validation).
options:
  packages:
    description:
      - Debian packages to look up in dpkg's database (C(/var/lib/dpkg/status)); those not installed are
        RV(ansible_facts.netwire_host_facts.missing_packages).
      - A name that is not a plain package name (C(pkg=1.2)) or a virtual package counts as missing.
    type: list
    elements: str
  files:
    description: Files whose owner, group, mode and SHA-1 to read (RV(ansible_facts.netwire_host_facts.files)).
    type: list
    elements: path
extends_documentation_fragment:
  - netwire.fabric.attributes.info
  - netwire.fabric.ovsdb.socket
attributes:
  facts:
    support: full
    description: Sets the fact C(netwire_host_facts).
notes:
  - A host without the O(ovsdb_socket) has no OVS interfaces of ours.
seealso:
  - module: netwire.fabric.netwire_validate
  - module: netwire.fabric.net_info
"""

EXAMPLES = r"""
- name: Read what validation checks the model against
  netwire.fabric.host_facts:

- name: Validate the model against the hosts
  netwire.fabric.netwire_validate:
  run_once: true
"""

RETURN = r"""
ansible_facts:
  description: The facts set.
  returned: always
  type: dict
  contains:
    netwire_host_facts:
      description: What the host holds.
      returned: always
      type: dict
      contains:
        listening:
          description: Listening TCP sockets and bound, unconnected UDP sockets, each with proto, address, port.
          type: list
          elements: dict
          returned: always
          sample: [{proto: tcp, address: 0.0.0.0, port: 22}]
        owned_interfaces:
          description:
            - Interfaces netwire.fabric made (marked links, owned OVS interfaces), but the underlay bridge's.
          type: list
          elements: str
          returned: always
        interfaces:
          description:
            - Every interface of the host by name, with its MTU and its IPv4 addresses (the primary one first).
          type: dict
          returned: always
          sample: {eth1: {mtu: 1500, ipv4: [{address: 198.19.0.11, prefix: 24}]}}
        default_ipv4:
          description:
            - The main table's IPv4 default route with the lowest metric - C(gateway), C(interface), and the
              interface's address on the gateway's network (else its first) as C(address), C(prefix), C(network).
              Null without a default route.
          type: dict
          returned: always
          sample: {gateway: 198.19.0.1, interface: eth1, address: 198.19.0.11, prefix: 24, network: 198.19.0.0}
        os_release:
          description: C(ID) and C(ID_LIKE) of the host's os-release, lowercase (C(id) null without the file).
          type: dict
          returned: always
          sample: {id: debian, id_like: []}
        service_manager:
          description: C(systemd) when systemd runs the host (C(/run/systemd/system) exists), else null.
          type: str
          returned: always
        ip_forward:
          description: The IPv4 forwarding sysctl as the kernel shows it (C(1) on), or C(unknown).
          type: str
          returned: always
          sample: "1"
        ovs_answers:
          description: Whether the OVSDB server answers on O(ovsdb_socket).
          type: bool
          returned: always
        missing_packages:
          description: Of O(packages), those dpkg does not hold installed, in their order.
          type: list
          elements: str
          returned: when O(packages) is given
          sample: [openvswitch-switch]
        files:
          description: Each of O(files) with its C(owner), C(group), C(mode) (octal) and C(sha1); null when it
            is missing, a symbolic link or not a regular file.
          type: dict
          returned: when O(files) is given
          sample: {/etc/sysctl.d/90-netwire.conf: {owner: root, group: root, mode: "644", sha1: 3b2c...}}
        ovs_error:
          description: Why OVSDB could not be read, when it could not.
          type: str
          returned: when OVSDB did not answer
"""

from ansible_collections.netwire.fabric.plugins.module_utils._host.facts import gather
from ansible_collections.netwire.fabric.plugins.module_utils._runner import run_module
from ansible_collections.netwire.fabric.plugins.module_utils._specs import OVSDB_SOCKET


def facts(module):
    p = module.params
    return {'changed': False,
            'ansible_facts': {'netwire_host_facts': gather(p['ovsdb_socket'], p['packages'], p['files'])}}


def main():
    run_module(dict(ovsdb_socket=OVSDB_SOCKET, packages=dict(type='list', elements='str'),
                    files=dict(type='list', elements='path')), facts)


if __name__ == '__main__':
    main()
