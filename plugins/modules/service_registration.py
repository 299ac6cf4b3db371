#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: service_registration
short_description: Register this host's services in the netwire catalog, under one lease kept alive
version_added: 0.2.0
description:
  - The declarative registrator of the catalog (an etcd 3.4 cluster, see M(netwire.fabric.etcd_member)). Each
    service of this host's containers becomes the key C(<prefix>/services/<service>/<host>/<container>) with
    the value C(address:port).
  - Every key of the host is held by ONE lease of the host (its ID derived from O(prefix) and O(host), so each
    run finds it), kept alive by C(etcdctl lease keep-alive) run by the collection's daemon helper (pidfile
    C(/run/netwire/keepalive-<host>.pid), record C(/etc/netwire/registration/<host>.json)). When the host or
    its keep-alive dies, the lease expires after O(ttl) seconds and etcd removes all the host's keys at once.
  - A host only writes keys under its own path, and deletes only keys there that its own lease holds; a service
    no longer declared (a container removed from the model) loses its key on the next run. Keys of other hosts
    are never touched.
  - The catalog is spoken to through etcd's v3 JSON gateway on the members' client URLs, each request bounded
    (2 s); the puts and deletes of a run are one transaction. A catalog without quorum fails the task with a
    clear error and nothing is written.
  - O(names) runs the host's names watch (the entry point's watch program, run with the host's C(python3) by the
    daemon helper, pidfile C(/run/netwire/svcnames-<host>.pid)), which writes each service's live members as A
    records C(<service>.svc.<domain>) into C(/etc/netwire/dnsmasq/<bridge>.hosts.d/svc-<service>) of each bridge
    given, and follows the catalog. Without O(names) it is stopped and its record files removed.
  - O(state=absent) stops the keep-alive and the names watch, revokes the lease (the host's keys go with it) and
    removes the files.
extends_documentation_fragment:
  - netwire.fabric.attributes
attributes:
  diff_mode:
    description: Shows the host's keys and whether its keep-alive runs, before and after.
options:
  host:
    description:
      - The host's name in the catalog (the inventory host).
    type: str
    required: true
  state:
    description:
      - V(present) registers O(services) (and only them) under the host's lease; V(absent) revokes it.
    type: str
    choices: [present, absent]
    default: present
  prefix:
    description:
      - The catalog prefix of the keys.
    type: str
    default: /netwire
  ttl:
    description:
      - Seconds the host's lease lives without its keep-alive (5 to 3600).
    type: int
    default: 10
  endpoints:
    description:
      - The catalog members' client URLs (C(http://address:2379)); required with O(state=present).
    type: list
    elements: str
    default: []
  services:
    description:
      - The host's services, one per container and service name. An empty list removes every key of the host.
    type: list
    elements: dict
    default: []
    suboptions:
      service:
        description: The service name (a DNS label).
        type: str
        required: true
      container:
        description: The container that serves it.
        type: str
        required: true
      address:
        description: The container's address on the service's network.
        type: str
        required: true
      port:
        description: The port the service listens on in the container.
        type: int
        required: true
  names:
    description:
      - The services whose names this host's dnsmasq instances answer (the model gives each bridge whose
        network's zone may reach the service's network).
    type: list
    elements: dict
    default: []
    suboptions:
      service:
        description: The service name.
        type: str
        required: true
      fqdn:
        description: Its DNS name (C(<service>.svc.<domain>)).
        type: str
        required: true
      bridges:
        description: The bridges (dnsmasq instances) of this host that answer it.
        type: list
        elements: str
        default: []
requirements:
  - etcdctl 3.4 (Debian package etcd-client) on the managed host; python3 for O(names)
seealso:
  - module: netwire.fabric.etcd_member
"""

EXAMPLES = r"""
- name: Register web on this host's container web2
  netwire.fabric.service_registration:
    host: "{{ inventory_hostname }}"
    endpoints: [http://198.19.0.11:2379, http://198.19.0.12:2379, http://198.19.0.13:2379]
    services:
      - {service: web, container: web2, address: 10.1.0.40, port: 80}
    names:
      - {service: web, fqdn: web.svc.netwire.internal, bridges: [nw-apps]}

- name: Deregister everything of this host
  netwire.fabric.service_registration:
    host: "{{ inventory_hostname }}"
    state: absent
"""

RETURN = r"""
registration:
  description: The host's registration after the run.
  returned: always
  type: dict
  sample:
    host: host2
    prefix: /netwire
    lease: 3a1f0c2d4e5b697
    ttl: 10
    keys: {/netwire/services/web/host2/web2: 10.1.0.40:80}
    endpoint: http://198.19.0.11:2379
    keepalive_pid: 4242
    names: [{service: web, fqdn: web.svc.netwire.internal, bridges: [nw-apps]}]
    names_pid: 4243
actions:
  description: What was done (or would be done in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: ["grant lease 3a1f0c2d4e5b697 (ttl 10 s)", "put /netwire/services/web/host2/web2 = 10.1.0.40:80 (lease 3a1f0c2d4e5b697)"]
"""

from ansible_collections.netwire.fabric.plugins.module_utils._runner import manager_work, run_module
from ansible_collections.netwire.fabric.plugins.module_utils._specs import SERVICE_REGISTRATION
from ansible_collections.netwire.fabric.plugins.module_utils._catalog.manager import ServiceRegistrationManager


def main():
    run_module(SERVICE_REGISTRATION, manager_work(ServiceRegistrationManager), lock='service_registration')


if __name__ == '__main__':
    main()
