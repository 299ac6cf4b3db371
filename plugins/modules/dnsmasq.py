#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: dnsmasq
short_description: Run a dnsmasq of netwire for one network (names and DHCP)
version_added: 0.2.0
description:
  - Runs one dnsmasq (Debian package C(dnsmasq-base), never the package C(dnsmasq), which starts a system
    instance on port 53) for one network on this host, bound only to the network bridge's address.
  - DNS is authoritative for O(domain) and answers the names of O(records); another name in O(domain) gets
    NXDOMAIN, and a name outside it is forwarded to O(forward) only (with no forwarders dnsmasq answers REFUSED).
    dnsmasq reads neither C(/etc/dnsmasq.conf), C(/etc/hosts) nor C(/etc/resolv.conf).
  - With O(dhcp=true), DHCP gives each MAC of O(reservations) its address with an infinite lease, with the
    router and DNS server O(address) and the search list O(search); an unknown MAC gets nothing unless
    O(dhcp_range) is set.
  - The files are C(/etc/netwire/dnsmasq/<name>.conf), C(<name>.hosts.d/records) and C(<name>.dhcp.d/reservations)
    there, the pidfile C(/run/netwire/dnsmasq-<name>.pid), the leases C(/var/lib/netwire/dnsmasq-<name>.leases).
    Every file written starts with the line C(# managed by netwire.fabric); a file without it is never changed
    or removed.
  - A changed configuration restarts dnsmasq; changed records or reservations only reload it (SIGHUP, same
    process). A dnsmasq process is ours only when the pid in our pidfile runs exactly our command line; any
    other process is never signalled.
  - On a host that runs systemd the instance is a unit C(netwire-dnsmasq-<name>.service) instead.
extends_documentation_fragment:
  - netwire.fabric.attributes
attributes:
  diff_mode:
    description: Shows the instance's files and whether it runs, before and after.
options:
  name:
    description:
      - The instance name, the bridge of the network on this host (at most 15 characters).
    type: str
    required: true
  state:
    description:
      - V(present) writes the files and runs dnsmasq; V(absent) stops our process and removes our files.
    type: str
    choices: [present, absent]
    default: present
  network:
    description:
      - The model's network name (shown in the configuration).
    type: str
  interface:
    description:
      - The bridge dnsmasq binds to (required with O(state=present)).
    type: str
  address:
    description:
      - The bridge's IPv4 address on this host, without prefix (required with O(state=present)).
      - dnsmasq listens there only; it is also the router and DNS server handed out by DHCP.
    type: str
  subnet:
    description:
      - The network's IPv4 subnet (required with O(state=present)).
    type: str
  domain:
    description:
      - The domain dnsmasq is authoritative for.
    type: str
    default: netwire.internal
  forward:
    description:
      - Upstream servers for names outside O(domain), V(ip) or V(ip#port). Empty, nothing is forwarded.
    type: list
    elements: str
    default: []
  search:
    description:
      - The DNS search list handed out by DHCP.
    type: list
    elements: str
    default: []
  records:
    description:
      - Every name the instance answers (its zone view), with its address.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Full DNS name.
        type: str
        required: true
      address:
        description: Its IPv4 or IPv6 address.
        type: str
        required: true
  dhcp:
    description:
      - Serve DHCP on O(interface).
    type: bool
    default: false
  dhcp_range:
    description:
      - Dynamic leases for unknown MACs, from O(dhcp_range.start) to O(dhcp_range.end). Omit, unknown MACs get
        nothing.
    type: dict
    suboptions:
      start:
        description: First address of the range.
        type: str
        required: true
      end:
        description: Last address of the range.
        type: str
        required: true
  reservations:
    description:
      - Static DHCP reservations (infinite leases).
    type: list
    elements: dict
    default: []
    suboptions:
      mac:
        description: The client's MAC address.
        type: str
        required: true
      address:
        description: Its IPv4 address, in O(subnet).
        type: str
        required: true
      name:
        description: The container's name (a comment in the file).
        type: str
requirements:
  - dnsmasq (Debian package dnsmasq-base) and pyroute2 on the managed host
seealso:
  - module: netwire.fabric.linux_bridge
  - module: netwire.fabric.host_network
"""

EXAMPLES = r"""
- name: Names and DHCP for the dmz network
  netwire.fabric.dnsmasq:
    name: nw-dmz
    network: dmz
    interface: nw-dmz
    address: 10.30.1.1
    subnet: 10.30.1.0/24
    search: [dmz.netwire.internal, netwire.internal]
    records:
      - {name: web1.dmz.netwire.internal, address: 10.30.1.10}
    dhcp: true
    reservations:
      - {mac: "02:12:34:56:78:9a", address: 10.30.1.10, name: web1}

- name: Stop it and remove its files
  netwire.fabric.dnsmasq:
    name: nw-dmz
    state: absent
"""

RETURN = r"""
dnsmasq:
  description: The instance after the run (its parameters, normalized); only C(name) when absent.
  returned: always
  type: dict
  sample:
    name: nw-dmz
    interface: nw-dmz
    address: 10.30.1.1
    domain: netwire.internal
    running: true
    pid: 4242
actions:
  description: What was done (or would be done in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: ["write /etc/netwire/dnsmasq/nw-dmz.conf", "start dnsmasq nw-dmz"]
"""

from ansible_collections.netwire.fabric.plugins.module_utils._runner import manager_work, run_module
from ansible_collections.netwire.fabric.plugins.module_utils._specs import DNSMASQ
from ansible_collections.netwire.fabric.plugins.module_utils._dns.manager import DnsmasqManager


def main():
    run_module(DNSMASQ, manager_work(DnsmasqManager), requires=['pyroute2'], lock='dnsmasq')


if __name__ == '__main__':
    main()
