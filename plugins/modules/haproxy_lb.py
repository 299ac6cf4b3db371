#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: haproxy_lb
short_description: Run the netwire catalog's entry point, HAProxy fed by DNS, on this host
version_added: 0.2.0
description:
  - Runs HAProxy 2.6 (Debian package C(haproxy)) master-worker under the collection's daemon helper, with its
    configuration C(/etc/netwire/haproxy/<name>.cfg) (marked), pidfile C(/run/netwire/haproxy-<name>.pid) and
    runtime socket C(/run/netwire/haproxy-<name>.sock). Each frontend port has a backend of
    C(server-template) servers of the service's name C(<service>.svc.<domain>), resolved through the dnsmasq
    of the service's network on this host (M(netwire.fabric.dnsmasq)).
  - A supervised watch of the catalog (a small program of ours run with the host's C(python3); it reads etcd's v3
    JSON gateway and watches the prefix) writes each service's A records into that dnsmasq's hosts dir
    (C(svc-<service>)). Membership changes therefore need no HAProxy reload (the same pid). When the catalog
    has no quorum the watch keeps the last records and the entry point keeps serving them.
  - A changed configuration is checked with C(haproxy -c) first (nothing is written when it fails), then
    reloaded gracefully (SIGUSR2 to the master, same pid). Health checks (every 1 s, out after 2 failures)
    take a dead backend out. An HTTP frontend (C(check=http)) of a service without live members answers 503.
  - O(state=absent) stops HAProxy and the watch and removes their files and the service records.
extends_documentation_fragment:
  - netwire.fabric.attributes
attributes:
  diff_mode:
    description: Shows the configuration files and whether HAProxy runs, before and after.
options:
  name:
    description: The entry point's name (its files' names).
    type: str
    default: lb
  state:
    description: V(present) runs the entry point; V(absent) stops it and removes its files.
    type: str
    choices: [present, absent]
    default: present
  prefix:
    description: The catalog prefix of the service keys.
    type: str
    default: /netwire
  endpoints:
    description: The catalog members' client URLs; required with O(state=present).
    type: list
    elements: str
    default: []
  bind:
    description: The address the frontends listen on.
    type: str
    default: 0.0.0.0
  frontends:
    description: One per published port.
    type: list
    elements: dict
    default: []
    suboptions:
      port:
        description: The port HAProxy listens on.
        type: int
        required: true
      service:
        description: The service's name.
        type: str
        required: true
      backend_port:
        description: The port the service listens on in its containers.
        type: int
        required: true
      check:
        description: The health check (and the mode, HTTP or TCP).
        type: str
        choices: [tcp, http]
        default: tcp
      fqdn:
        description: The service's DNS name (C(<service>.svc.<domain>)).
        type: str
        required: true
      resolver:
        description: The address of the dnsmasq that resolves it (this host's address on the service's network).
        type: str
        required: true
      bridge:
        description: The bridge of the service's network on this host (its dnsmasq's instance name).
        type: str
        required: true
      network:
        description: The service's network (informative).
        type: str
      max_servers:
        description: How many servers the template holds at most.
        type: int
        default: 4
requirements:
  - haproxy 2.6 and python3 on the managed host; the dnsmasq of the service's network (netwire_dns)
seealso:
  - module: netwire.fabric.service_registration
  - module: netwire.fabric.dnsmasq
"""

EXAMPLES = r"""
- name: The entry point for web on port 8080
  netwire.fabric.haproxy_lb:
    endpoints: [http://198.19.0.11:2379]
    frontends:
      - {port: 8080, service: web, backend_port: 80, check: http, fqdn: web.svc.netwire.internal,
         resolver: 10.1.0.1, bridge: nw-front}
"""

RETURN = r"""
haproxy_lb:
  description: The entry point after the run.
  returned: always
  type: dict
  sample: {name: lb, running: true, pid: 4242, watch_pid: 4243}
actions:
  description: What was done (or would be done in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: ["write /etc/netwire/haproxy/lb.cfg", "start haproxy lb"]
"""

from ansible_collections.netwire.fabric.plugins.module_utils._runner import manager_work, run_module
from ansible_collections.netwire.fabric.plugins.module_utils._specs import HAPROXY_LB
from ansible_collections.netwire.fabric.plugins.module_utils._lb.manager import HaproxyLbManager


def main():
    run_module(HAPROXY_LB, manager_work(HaproxyLbManager), lock='haproxy_lb')


if __name__ == '__main__':
    main()
