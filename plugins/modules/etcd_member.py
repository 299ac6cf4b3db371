#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: etcd_member
short_description: Run one etcd member of the netwire catalog on this host
version_added: 0.2.0
description:
  - Runs one member of an etcd 3.4 cluster (Debian packages C(etcd-server) and C(etcd-client)) on this host,
    its peer and client URLs on one address, the host's management or underlay address. The cluster is the
    set of members that every member's O(initial_cluster) names; run the module on all of them in the same
    play, so that a new cluster finds its majority.
  - The configuration is etcd's YAML C(--config-file) C(/etc/netwire/etcd/<name>.yml) (so etcd reads neither
    flags, C(ETCD_*) variables nor Debian's C(/etc/default/etcd)), the pidfile C(/run/netwire/etcd-<name>.pid),
    etcd's output C(/run/netwire/etcd-<name>.log). Every file written starts with the line
    C(# managed by netwire.fabric); a file without it is never changed or removed.
  - The bootstrap rule, C(initial-cluster-state) is C(new) only when O(data_dir) is missing or empty; once
    etcd has written its data there it is C(existing), and a rerun never bootstraps that data directory
    again. A data directory that holds anything but etcd's C(member) directory is refused.
  - A changed configuration restarts the member, except the C(initial-*) settings, which etcd reads only to
    bootstrap (a changed O(initial_cluster) rewrites the file only; membership changes of a running cluster
    are C(etcdctl member add/remove), which this module never does; it warns when the live members are not
    O(initial_cluster)).
  - Health is etcd's own (C(etcdctl endpoint health), C(endpoint status) and C(member list) with C(-w json)),
    waited for at most O(wait) seconds. A member that runs without quorum fails the task with an error that
    says so; nothing is ever re-initialized.
  - An etcd process is ours only when the pid in our pidfile runs exactly our command line; any other etcd
    is never signalled. On a host that runs systemd the member is a unit C(netwire-etcd-<name>.service)
    instead.
  - O(state=absent) stops our member and removes its files and its data directory (the one our configuration
    names, when it holds only etcd's data), and with it the member's keys.
extends_documentation_fragment:
  - netwire.fabric.attributes
attributes:
  diff_mode:
    description: Shows the member's configuration and whether it runs, before and after.
options:
  name:
    description:
      - The member name (etcd's C(name)), for example the inventory host.
    type: str
    required: true
  state:
    description:
      - V(present) writes the configuration, runs the member and checks its health; V(absent) stops our member
        and removes its files and data directory.
    type: str
    choices: [present, absent]
    default: present
  address:
    description:
      - The address the member listens on for peers and clients (required with O(state=present)), the host's
        management or underlay address.
    type: str
  client_port:
    description:
      - The client port (C(http://<address>:<client_port>)).
    type: int
    default: 2379
  peer_port:
    description:
      - The peer port (C(http://<address>:<peer_port>)).
    type: int
    default: 2380
  initial_cluster:
    description:
      - Every member of the cluster as C(name=http://address:peer_port), this member included, the same list on
        every member (from the inventory). Empty, a cluster of this member alone.
    type: list
    elements: str
    default: []
  cluster_token:
    description:
      - The C(initial-cluster-token) of the cluster (letters, digits, C(.), C(_), C(-)).
    type: str
    default: netwire
  data_dir:
    description:
      - etcd's data directory. Default C(/var/lib/netwire/etcd/<name>).
    type: path
  wait:
    description:
      - Seconds to wait at most for the member to be healthy (a quorum read answers). V(0) checks nothing.
    type: int
    default: 60
requirements:
  - etcd and etcdctl 3.4 (Debian packages etcd-server and etcd-client) on the managed host
seealso:
  - module: netwire.fabric.dnsmasq
"""

EXAMPLES = r"""
- name: The catalog's members on their underlay addresses (the same initial_cluster on all three hosts)
  netwire.fabric.etcd_member:
    name: "{{ inventory_hostname }}"
    address: "{{ netwire_underlay_ip }}"
    initial_cluster:
      - host1=http://198.19.0.11:2380
      - host2=http://198.19.0.12:2380
      - host3=http://198.19.0.13:2380

- name: Stop the member and remove its files and data
  netwire.fabric.etcd_member:
    name: "{{ inventory_hostname }}"
    state: absent
"""

RETURN = r"""
etcd_member:
  description: The member after the run (its parameters, normalized); C(health) when it was checked.
  returned: always
  type: dict
  sample:
    name: host1
    address: 198.19.0.11
    client_url: http://198.19.0.11:2379
    peer_url: http://198.19.0.11:2380
    data_dir: /var/lib/netwire/etcd/host1
    bootstrap: existing
    running: true
    pid: 4242
    health:
      healthy: true
      id: d922d5af20a6cbd1
      cluster_id: a8add9a4d0a43dae
      leader: d922d5af20a6cbd1
      is_leader: true
      raft_term: 2
      members:
        - {id: d922d5af20a6cbd1, name: host1, peer_urls: [http://198.19.0.11:2380],
           client_urls: [http://198.19.0.11:2379]}
actions:
  description: What was done (or would be done in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: ["write /etc/netwire/etcd/host1.yml", "start etcd host1"]
"""

from ansible_collections.netwire.fabric.plugins.module_utils._runner import manager_work, run_module
from ansible_collections.netwire.fabric.plugins.module_utils._specs import ETCD_MEMBER
from ansible_collections.netwire.fabric.plugins.module_utils._etcd.manager import EtcdMemberManager


def main():
    run_module(ETCD_MEMBER, manager_work(EtcdMemberManager), lock='etcd_member')


if __name__ == '__main__':
    main()
