#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: container_attach
short_description: Attach a container by a veth pair onto a bridge, a macvlan, a host NIC or a dummy
version_added: 0.1.0
description:
  - Manages one network interface of a container, the job pipework does, declaratively and idempotently.
  - A veth pair is created with its container end directly inside the container's network namespace and its
    host end plugged into a bridge. Both ends are brought up, the container end gets its addresses, MAC, MTU,
    default gateway and routes.
  - The host end's name and the default MAC address are derived from the container and O(ifname), so reruns find
    the same interface. Both ends carry the alias V(netwire:attach:<container>/<ifname>); interfaces without it
    are never changed.
  - When the container was restarted (new network namespace), a rerun removes the stale host end and attaches
    again.
extends_documentation_fragment:
  - netwire.fabric.attributes
attributes:
  diff_mode:
    description: Shows the attachment before and after.
options:
  container:
    description:
      - The container. A Docker name or ID, a Podman name or ID, a PID, a named network namespace
        (C(/run/netns/<name>)) or the path of a network namespace file.
    type: str
    required: true
  container_type:
    description:
      - How to read O(container). V(auto) takes a path when it starts with V(/), a PID when it is a number,
        a named namespace when one exists by that name, then a Docker container, then a Podman container.
    type: str
    choices: [auto, docker, podman, pid, netns, path]
    default: auto
  state:
    description:
      - V(present) creates or converges the interface; V(absent) removes the veth pair (also when the container
        is already gone).
    type: str
    choices: [present, absent]
    default: present
  kind:
    description:
      - What the container interface is. V(veth) (the default) is a veth pair whose host end is a port of
        O(bridge).
      - V(macvlan) is a macvlan of the host NIC O(parent), created directly in the container, in O(macvlan_mode).
        Several containers share one NIC. A macvlan's frames never reach its parent NIC's own addresses, so the host
        reaches its macvlan containers only through O(host_macvlan).
      - V(vlan) is the same on the VLAN sub-interface O(vlan) of O(parent) (V(<parent>.<vlan>)), which is created
        once, shared by every attachment on it, and removed when its last user is detached (a sub-interface that
        netwire did not create is used and never removed). Needs the kernel's 8021q module (C(CONFIG_VLAN_8021Q)).
      - V(phys) hands the host NIC O(parent) itself to the container, renamed O(ifname). Its host name is kept in its
        alias (V(netwire:phys:<name>:<container>/<ifname>)) and the container's network namespace is pinned
        (C(/run/netwire/phys/)) while it holds the NIC, so the NIC is never lost when the container stops. O(state=absent),
        also after C(docker stop) or C(docker rm), gives it back to the host under its name, with its alias; a rerun
        after a container restart moves it from the old namespace into the new one. The NIC keeps its MAC.
      - V(dummy) is a dummy interface in the container (C(CONFIG_DUMMY), kernel module C(dummy)).
      - A kind the running kernel cannot create fails naming the kernel module and option, with nothing changed.
      - Omitted with O(state=absent), whatever kind the interface is, it is removed (or given back).
    type: str
    choices: [veth, macvlan, vlan, phys, dummy]
  parent:
    description:
      - The host NIC of O(kind=macvlan), O(kind=vlan) and O(kind=phys), by name. For O(kind=phys) also
        V(mac:<address>), which finds the NIC whatever it is called (also after a rename).
    type: str
  vlan:
    description: The VLAN id (1 to 4094) of O(kind=vlan).
    type: int
  macvlan_mode:
    description:
      - The macvlan mode of O(kind=macvlan) and O(kind=vlan). V(bridge) (the default) lets the NIC's macvlan
        containers reach each other; V(private) isolates them from each other; V(vepa) sends their frames to the
        switch (which may send them back); V(passthru) gives the NIC to a single macvlan. Changed in place.
    type: str
    choices: [bridge, private, vepa, passthru]
  host_macvlan:
    description:
      - For O(kind=macvlan) and O(kind=vlan) in mode V(bridge), a host-side macvlan V(nwm-<parent>) on the same
        parent with these addresses (the host's address on that network, moved from the NIC itself), so the host
        reaches its containers. It is shared by the parent's attachments (give the same addresses on each), marked
        V(netwire:macvlan), and removed when its last user is detached or omits it.
    type: dict
    suboptions:
      addresses:
        description: The exact addresses of the host-side macvlan.
        type: list
        elements: str
        default: []
  bridge:
    description:
      - The bridge the host end is plugged into. Required when O(state=present) with O(kind=veth).
    type: str
  bridge_type:
    description:
      - The kind of bridge. V(auto) detects it (a Linux bridge first, then an Open vSwitch bridge).
      - With V(ovs) the host end becomes a port of the OVS bridge whose C(external_ids) name the owner,
        container, interface and O(network); on a userspace (V(netdev)) OVS bridge TX checksum offload is
        turned off on both veth ends.
    type: str
    choices: [auto, linux, ovs]
    default: auto
  vlan_tag:
    description:
      - Access VLAN (0 to 4095) of the host end on an Open vSwitch bridge. Omit for an untagged port.
    type: int
  network:
    description:
      - Name of the network the interface belongs to, recorded in the OVS port's C(external_ids)
        (V(netwire-network)). Only used with Open vSwitch bridges.
    type: str
  ifname:
    description: Name of the interface inside the container.
    type: str
    default: eth1
  host_ifname:
    description:
      - Name of the host end. Default is V(nw) followed by a hash of the container's name and O(ifname)
        (15 characters, stable across reruns and container restarts; the name site.yml gives it).
    type: str
  addresses:
    description:
      - The exact list of addresses of the container interface, IPv4 and IPv6, each with its prefix length
        (for example V(10.20.0.5/24), V(fd00:20::5/64)). IPv6 link-local addresses are ignored.
    type: list
    elements: str
    default: []
  mac:
    description: MAC address of the container interface.
    type: str
  mac_seed:
    description:
      - Derive the MAC address from this string (a locally administered address). Without O(mac) and
        O(mac_seed) the MAC is derived from the container's name and O(ifname).
    type: str
  mtu:
    description: MTU of both ends. Defaults to the bridge's MTU.
    type: int
  gateway:
    description:
      - IPv4 default gateway of the container. When it lies outside every subnet of the interface, a host route
        to it is added first.
    type: str
  gateway6:
    description: IPv6 default gateway of the container, handled like O(gateway).
    type: str
  gateway_takeover:
    description:
      - Make O(gateway) (and O(gateway6)) the container's default route even when the container already has a
        default route that this attachment does not own (pipework's second interface as the way out).
      - The replaced default route is recorded on the host (C(/run/netwire/attach/<host end>.json)) and put back
        exactly as it was on O(state=absent). Without this option such a route is never touched and the attach
        fails.
    type: bool
    default: false
  routes:
    description:
      - Extra routes through this interface. Together with the gateway routes, the exact set of routes netwire
        owns on the interface (others are removed).
    type: list
    elements: dict
    default: []
    suboptions:
      dest:
        description: Destination network with prefix length.
        type: str
        required: true
      via:
        description: Next hop. Without it the destination is on-link.
        type: str
      table:
        description:
          - Routing table of the route (1 to 4294967295; V(254) is C(main), the default; the local table V(255)
            is refused). A route in a table of its own may be a default route (V(0.0.0.0/0)), in the table that
            O(rules) send packets to.
        type: int
  rules:
    description:
      - Policy routing rules in the container's network namespace (C(ip rule)), the exact set of netwire's
        rules there. Rules netwire adds carry the protocol number 110 (C(proto 110) in C(ip rule)), like its
        routes; rules without it are never changed or removed, also at the same priority.
      - Rules belong to the namespace, not to one interface. Omitted (the default), the container's rules are
        left as they are; a list (also an empty one) makes netwire's rules there exactly that list. Give the
        container's rules on one of its attachments (site.yml gives them on its first interface). Its rules are
        removed when the container's last netwire interface is detached.
      - Kernel 4.17 or newer (the rule's protocol field).
    type: list
    elements: dict
    suboptions:
      priority:
        description:
          - The rule's priority (1 to 4294967294; lower first). 32766 and 32767 are the kernel's C(main) and
            C(default) rules. One rule per priority and family.
        type: int
        required: true
      family:
        description: V(ipv4) or V(ipv6). Taken from O(rules[].from) and O(rules[].to) when given; default V(ipv4).
        type: str
        choices: [ipv4, ipv6]
      from:
        description: Source network with prefix length (V(10.20.0.5/32)). Omitted, any source.
        type: str
      to:
        description: Destination network with prefix length. Omitted, any destination.
        type: str
      iif:
        description: Only packets that came in on this interface of the container.
        type: str
      fwmark:
        description: Only packets with this firewall mark.
        type: int
      table:
        description: The routing table to look up (its routes are O(routes) with O(routes[].table)).
        type: int
        required: true
  qdisc:
    description:
      - The root queueing discipline of the container end (traffic the container sends on O(ifname)), with
        exactly these parameters. It is netwire's when its handle is C(4e57:); a root qdisc with another
        handle is someone else's and the attach fails, leaving it alone. The kernel's default (handle C(0:))
        is replaced.
      - A change of parameters is applied in place (C(tc qdisc replace)), so the qdisc and its counters stay.
        Omitted, netwire's root qdisc is removed (the kernel's default comes back); a qdisc of someone else
        stays.
    type: dict
    suboptions:
      kind:
        description: The qdisc. Only the token bucket filter V(tbf) is supported.
        type: str
        choices: [tbf]
        default: tbf
      rate:
        description:
          - The rate, in bits per second, or with a unit as C(tc) writes them (V(bit), V(kbit), V(mbit),
            V(gbit), 1000-based; V(bps), V(kbps), V(mbps), V(gbps) for bytes). A whole number of bytes per second.
        type: raw
        required: true
      burst:
        description:
          - The bucket size in bytes, or with a unit (V(b), V(kb) or V(k), V(mb) or V(m), 1024-based). It must
            hold a full frame (O(mtu) + 14 bytes), or every full-size packet would be dropped.
        type: raw
        required: true
      limit:
        description: Bytes that may wait for tokens (units as O(qdisc.burst)); exactly one of O(qdisc.limit) and
          O(qdisc.latency).
        type: raw
      latency:
        description:
          - The longest a packet may wait (V(us), V(ms), V(s); a number alone is microseconds), converted to
            O(qdisc.limit) as C(tc) does (rate x latency + burst); the module returns and compares the limit.
        type: raw
  hairpin:
    description: Let frames leave the bridge port they came in on (needed for NAT hairpin to the same container).
    type: bool
    default: false
  gratuitous_arp:
    description: Announce newly added IPv4 addresses with gratuitous ARP from inside the container.
    type: bool
    default: true
  dhcp:
    description:
      - Obtain the first of O(addresses) (IPv4) by DHCP instead of setting it directly. When the interface does
        not hold it yet, busybox C(udhcpc) from the host runs in the container's network namespace on O(ifname)
        (3 discovers, 2 s apart; its event script only records the lease). The lease must be exactly that
        address with that prefix, and its router must be O(gateway) when given; otherwise, or when no server
        answers, the module fails saying what was expected and what was offered, and sets no address.
      - A matching lease is applied like a static address (no lifetime) with the routes of O(gateway) and
        O(routes); the lease's router never adds a route by itself. A rerun with the address in place sends
        no DHCP packet. Check mode sends nothing.
    type: bool
    default: false
  resolver:
    description:
      - The container's own resolv.conf; the host's C(/etc/resolv.conf) is never touched. Omitted, it is left
        as it is.
      - "Docker and Podman: the file the engine binds as the container's C(/etc/resolv.conf) (its C(ResolvConfPath)),
        rewritten in place; the original is kept as C(<path>.netwire-orig). A named namespace:
        C(/etc/netns/<name>/resolv.conf) (what C(ip netns exec) uses). A pid or path reference: skipped with a
        warning."
      - The file starts with C(# managed by netwire.fabric) and names this attachment. O(state=absent) puts the
        original back (a named namespace's file is removed) only while the file still carries that mark.
    type: dict
    suboptions:
      servers:
        description: Name servers (IP addresses, at most 3).
        type: list
        elements: str
        default: []
      search:
        description: Search domains, in order.
        type: list
        elements: str
        default: []
requirements:
  - pyroute2 >= 0.7 on the managed host
  - With O(dhcp), busybox (C(udhcpc); Debian's C(busybox-static)) on the managed host
  - For Docker references, access to the Docker Engine socket (C(/run/docker.sock)); no Docker SDK is needed.
notes:
  - Routes and rules added by this module use the routing protocol number 110, which marks them as owned.
  - A container entrypoint can wait for the attachment with the shipped C(netwire-wait) helper (see the
    collection's C(docs/linux.md)).
seealso:
  - module: netwire.fabric.linux_bridge
  - module: netwire.fabric.net_info
"""

EXAMPLES = r"""
- name: Attach the web1 Docker container to nw-app
  netwire.fabric.container_attach:
    container: web1
    bridge: nw-app
    addresses:
      - 10.20.0.5/24
      - fd00:20::5/64
    gateway: 10.20.0.1

- name: A plain network namespace as a container, with an extra route
  netwire.fabric.container_attach:
    container: /run/netns/blue
    ifname: eth2
    bridge: nw-db
    addresses: [10.30.0.7/24]
    routes:
      - dest: 10.40.0.0/16
        via: 10.30.0.1

- name: A second interface that becomes the way out of a container that already has Docker's default route
  netwire.fabric.container_attach:
    container: web1
    ifname: eth2
    bridge: nw-out
    addresses: [10.50.0.5/24]
    gateway: 10.50.0.1
    gateway_takeover: true

- name: The model's address by DHCP (the lease must be exactly it), and the container's resolver
  netwire.fabric.container_attach:
    container: web1
    bridge: nw-dmz
    addresses: [10.30.1.10/24]
    gateway: 10.30.1.1
    dhcp: true
    resolver:
      servers: [10.30.1.1]
      search: [dmz.netwire.internal, netwire.internal]

- name: Source routing for a second interface, and its traffic shaped to 10 Mbit/s
  netwire.fabric.container_attach:
    container: web1
    ifname: eth2
    bridge: nw-out
    addresses: [10.50.0.5/24]
    routes:
      - dest: 0.0.0.0/0
        via: 10.50.0.1
        table: 150
    rules:
      - priority: 1000
        from: 10.50.0.5/32
        table: 150
    qdisc:
      rate: 10mbit
      burst: 32kb
      latency: 50ms

- name: Two containers on the host NIC eth2 by macvlan; the host reaches them through its own macvlan
  netwire.fabric.container_attach:
    container: "{{ item.name }}"
    kind: macvlan
    parent: eth2
    addresses: ["{{ item.address }}"]
    gateway: 192.168.1.1
    host_macvlan:
      addresses: [192.168.1.254/24]
  loop:
    - {name: web1, address: 192.168.1.10/24}
    - {name: web2, address: 192.168.1.11/24}

- name: The NIC with this MAC, handed to the container as eth1 (given back under its name on detach)
  netwire.fabric.container_attach:
    container: router1
    kind: phys
    parent: mac:52:54:00:12:34:56
    addresses: [203.0.113.10/24]
    gateway: 203.0.113.1

- name: Detach (puts back the default route that eth2 took over)
  netwire.fabric.container_attach:
    container: web1
    ifname: eth2
    state: absent
"""

RETURN = r"""
attachment:
  description:
    - The attachment after the run (predicted in check mode); empty when absent.
    - With O(resolver), C(resolv_conf) is the text of the container's resolv.conf.
    - With a O(kind) other than V(veth), C(kind) names it, C(parent) is the host NIC (for V(phys) its host name),
      C(macvlan_mode), C(vlan) and C(host_macvlan) (its name and addresses) are there for the kinds that have them,
      and there is no host end (C(host_ifname), C(bridge)).
    - With O(rules), C(rules) lists netwire's rules in the container. C(qdisc) is netwire's root qdisc of the
      container end (rate in bit/s, burst and limit in bytes), when there is or should be one.
  returned: always
  type: dict
  sample:
    container: web1
    identity: docker:web1
    netns: /proc/4242/ns/net
    ifname: eth1
    host_ifname: nw3f0c9a1b2d4e6
    bridge: nw-app
    bridge_type: linux
    hairpin: false
    mac: "9a:1c:44:02:7e:10"
    mtu: 1450
    host_mtu: 1450
    up: true
    addresses: [10.20.0.5/24]
    routes:
      - dest: 0.0.0.0/0
        via: 10.20.0.1
    rules:
      - {family: ipv4, priority: 1000, from: 10.20.0.5/32, to: null, iif: null, fwmark: null, table: 150}
    qdisc: {kind: tbf, rate: 10000000, burst: 32768, limit: 95268}
    resolv_conf: "# managed by netwire.fabric\n..."
actions:
  description: What was done (or would be done in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: ["create veth nw862b0e994f9bd <-> web1:eth1", "add address 10.20.0.5/24 to eth1"]
"""

from ansible_collections.netwire.fabric.plugins.module_utils._runner import manager_work, run_module
from ansible_collections.netwire.fabric.plugins.module_utils._specs import CONTAINER_ATTACH
from ansible_collections.netwire.fabric.plugins.module_utils._host.attach_direct import AttachManager


def main():
    run_module(CONTAINER_ATTACH, manager_work(AttachManager), requires=['pyroute2'], lock='container_attach',
               mutually_exclusive=[('mac', 'mac_seed')])


if __name__ == '__main__':
    main()
