#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: frr
short_description: Run this host's BGP EVPN control plane with FRR (zebra and bgpd)
version_added: 0.3.0
description:
  - Configures and runs FRR (Debian packages C(frr) and C(frr-pythontools)) as the BGP EVPN control plane of
    the host's kernel VXLAN devices; zebra then installs the remote VTEPs' flood entries and the remote MACs
    into the kernel, and withdraws them when a peer goes away.
  - Writes C(<conf_dir>/frr.conf) (iBGP sessions to O(neighbors) from O(router_id), address family
    C(l2vpn evpn) only, C(advertise-all-vni)) and C(<conf_dir>/daemons) (C(bgpd=yes)). Both start with the line
    C(# managed by netwire.fabric).
  - A host's existing FRR configuration for another purpose (an C(frr.conf) that configures something, or a
    daemons file that enables a daemon, without our mark) is a failure, never overwritten. The package's
    untouched default files configure nothing and are replaced.
  - On a host without systemd, zebra and bgpd of ours run with their pidfiles in O(run_dir) (a process is ours
    only when the pid in our pidfile runs exactly our command line; any other process is never signalled).
    On a host with systemd, the package's C(frr.service) runs them.
  - A changed C(frr.conf) is applied to the running daemons with C(frr-reload.py) (only the difference); a
    changed daemons file restarts them.
extends_documentation_fragment:
  - netwire.fabric.attributes
attributes:
  diff_mode:
    description: Shows the files and whether FRR runs, before and after.
options:
  state:
    description:
      - V(present) writes the files and runs the daemons; V(absent) stops our daemons and removes our files.
    type: str
    choices: [present, absent]
    default: present
  asn:
    description:
      - The private autonomous system number of the fabric (64512-65534 or 4200000000-4294967294); every host
        has the same one (iBGP). Required with O(state=present).
    type: int
  router_id:
    description:
      - This host's underlay IPv4 address, the BGP router ID and the sessions' source (and the VTEP address
        of its VXLAN devices). Required with O(state=present).
    type: str
  neighbors:
    description:
      - The underlay addresses of the iBGP peers (the route reflectors, or on a reflector its clients).
    type: list
    elements: str
    default: []
  route_reflector_client:
    description:
      - This host is a route reflector and every neighbour is its client.
    type: bool
    default: false
  advertise_all_vni:
    description:
      - Advertise every local VNI (C(advertise-all-vni)).
    type: bool
    default: true
  keepalive:
    description: BGP keepalive interval (seconds).
    type: int
    default: 3
  holdtime:
    description: BGP hold time (seconds), at least three keepalives; a silent peer's routes go after it.
    type: int
    default: 9
  connect_retry:
    description: Seconds between connection attempts to a neighbour that is not up.
    type: int
    default: 5
  conf_dir:
    description: Where FRR's configuration lives (C(frr.conf), C(daemons)).
    type: path
    default: /etc/frr
  run_dir:
    description: Where the daemons' pidfiles and vty sockets live (and the zebra socket).
    type: path
    default: /run/frr
  program_dir:
    description: Where the package installed the daemons and C(frr-reload.py).
    type: path
    default: /usr/lib/frr
requirements:
  - FRR 8.4 (Debian packages frr and frr-pythontools) on the managed host
notes:
  - The daemons read no configuration of their own at start (C(frr.conf) is FRR's integrated configuration);
    ours is applied by C(frr-reload.py) right after they start.
seealso:
  - module: netwire.fabric.linux_tunnel
  - module: netwire.fabric.net_info
"""

EXAMPLES = r"""
- name: A route reflector client
  netwire.fabric.frr:
    asn: 65010
    router_id: 198.19.0.12
    neighbors: [198.19.0.11]

- name: The route reflector
  netwire.fabric.frr:
    asn: 65010
    router_id: 198.19.0.11
    neighbors: [198.19.0.12, 198.19.0.13]
    route_reflector_client: true

- name: Stop our FRR and remove its files
  netwire.fabric.frr:
    state: absent
"""

RETURN = r"""
frr:
  description: The control plane after the run (its parameters, normalized), and the daemons' pids (no systemd).
  returned: always
  type: dict
  sample:
    asn: 65010
    router_id: 198.19.0.12
    neighbors: [198.19.0.11]
    route_reflector_client: false
    running: true
    pids: {zebra: 4242, bgpd: 4250}
actions:
  description: What was done (or would be done in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: ["write /etc/frr/daemons", "write /etc/frr/frr.conf", "start frr zebra", "start frr bgpd"]
"""

from ansible_collections.netwire.fabric.plugins.module_utils._runner import manager_work, run_module
from ansible_collections.netwire.fabric.plugins.module_utils._specs import FRR
from ansible_collections.netwire.fabric.plugins.module_utils._frr.manager import FrrManager


def main():
    run_module(FRR, manager_work(FrrManager), requires=['pyroute2'], lock='frr')


if __name__ == '__main__':
    main()
