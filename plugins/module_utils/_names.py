# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every name netwire derives, every mark it leaves on what it owns, and the overlay table.

One home, imported by the modules on the hosts, by the model on the controller
(``plugins/plugin_utils/model``) and by the spec suite (``tests/spec``): a name
that two of them compute is computed here, once, so the plan the controller
sends and the object a module builds alone cannot disagree.

Names (all at most 15 characters, deterministic)
------------------------------------------------
:func:`bridge_name`, :func:`underlay_bridge_name`, :func:`veth_host_name`,
:func:`linux_tunnel_name`, :func:`ovs_tunnel_port_name`, :func:`container_mac`, :func:`bridge_mac`.
They are part of what is deployed: changing a formula renames live objects on
upgrade (tests/unit/test_names.py pins their values).

Marks
-----
Kernel links carry an IFLA_IFALIAS starting with :data:`OWNER_PREFIX`; OVS
rows carry :data:`OVS_OWNER_KEY` = :data:`OVS_OWNER` in ``external_ids``;
routes and policy routing rules inside containers carry the protocol
:data:`RTPROT_NETWIRE`; a container end's root qdisc of ours has the handle
:data:`QDISC_HANDLE`; the firewall is the nft table :data:`FIREWALL_TABLE`. Nothing without its mark is
changed or removed.

Overlays
--------
:data:`OVERLAYS` holds one :class:`Overlay` per overlay type, with every fact
the model, the kernel tunnel, the OVS tunnel, the firewall and net_info need.
A new overlay type starts with a row here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
from collections import namedtuple

from ansible_collections.netwire.fabric.plugins.module_utils._errors import InvalidParameter
from ansible_collections.netwire.fabric.plugins.module_utils._validate import IFNAMSIZ, ifname as _ifname

# ---------------------------------------------------------------- overlays

Overlay = namedtuple('Overlay', [
    'name',             # the model's and the modules' name: netwire_networks.*.overlay, ovs_tunnel/firewall type
    'overhead',         # underlay bytes one frame needs beyond its MTU (outer IPv4 20 + inner Ethernet 14 + ...)
    'key_max',          # the largest key (VNI, GRE key); the model's keys start at 1
    'udp_port',         # the default UDP destination port, None when the overlay is not carried in UDP
    'link_kind',        # the kernel link kind (linux_tunnel kind, IFLA_INFO_KIND)
    'kernel_module',    # the kernel module that provides link_kind
    'kernel_config',    # its kernel config option
    'ovs_type',         # the OVS Interface type
    'ovs_port_prefix',  # the prefix of OVS tunnel port names
])

# VXLAN: UDP 8 + VXLAN 8; Geneve: UDP 8 + Geneve 8 (we send no TLV options);
# GRE: base header 4 + key 4 (our GRE tunnels always carry a key: 38 is GRE without one).
OVERLAYS = dict((o.name, o) for o in (
    Overlay('vxlan', 50, 0xFFFFFF, 4789, 'vxlan', 'vxlan', 'CONFIG_VXLAN', 'vxlan', 'vxl'),
    Overlay('gre', 42, 0xFFFFFFFF, None, 'gretap', 'ip_gre', 'CONFIG_NET_IPGRE', 'gre', 'gre'),
    Overlay('geneve', 50, 0xFFFFFF, 6081, 'geneve', 'geneve', 'CONFIG_GENEVE', 'geneve', 'gnv'),
))
# The overlay types in the order messages and argument choices list them.
OVERLAY_TYPES = ('vxlan', 'gre', 'geneve')
# The same rows by kernel link kind (linux_tunnel and net_info speak kernel kinds).
BY_LINK_KIND = dict((o.link_kind, o) for o in OVERLAYS.values())
LINK_KINDS = tuple(OVERLAYS[t].link_kind for t in OVERLAY_TYPES)


def default_udp_port(overlay):
    """The default UDP destination port of ``overlay`` (a type or a kernel link kind), or None."""
    row = OVERLAYS.get(overlay) or BY_LINK_KIND[overlay]
    return row.udp_port


# ---------------------------------------------------------------- marks

OWNER_PREFIX = 'netwire:'
ATTACH_KIND = 'attach'


def owner_alias(kind, detail=None):
    """The IFLA_IFALIAS value that marks a link as ours."""
    return OWNER_PREFIX + kind + ('' if detail is None else ':' + detail)


def is_owned(alias):
    return bool(alias) and alias.startswith(OWNER_PREFIX)


BRIDGE_ALIAS = owner_alias('bridge')
TUNNEL_ALIAS = owner_alias('tunnel')
ATTACH_ALIAS_PREFIX = owner_alias(ATTACH_KIND, '')


def attach_alias(identity, ifname):
    """The mark on both veth ends of one attachment: ``netwire:attach:<identity>/<ifname>``."""
    return owner_alias(ATTACH_KIND, '%s/%s' % (identity, ifname))


def parse_attach_alias(alias):
    """The inverse of :func:`attach_alias`: ``(identity, ifname)``, or None for an alias that is not an
    attachment's ('netwire:attach:docker:web1/eth1' -> ('docker:web1', 'eth1'))."""
    if not (alias or '').startswith(ATTACH_ALIAS_PREFIX):
        return None
    identity, _sep, ifname = alias[len(ATTACH_ALIAS_PREFIX):].rpartition('/')
    return identity, ifname


# issue 19, container_attach's direct kinds. A host NIC handed to a container (kind phys) carries
# ``netwire:phys:<its host name>:<identity>/<ifname>``: the name it goes back to is on the NIC itself.
PHYS_ALIAS_PREFIX = owner_alias('phys', '')
# The links several attachments share: the host-side macvlan of a NIC (the host reaches its macvlan
# containers through it) and a NIC's VLAN sub-interface (the parent of kind vlan's macvlans).
HOST_MACVLAN_ALIAS = owner_alias('macvlan')
VLAN_ALIAS = owner_alias('vlan')


def phys_alias(original, identity, ifname):
    """The mark on a NIC in a container: its host name, the container's identity and its name there."""
    return owner_alias('phys', '%s:%s/%s' % (original, identity, ifname))


def parse_phys_alias(alias):
    """The inverse of :func:`phys_alias`: ``(original, identity, ifname)``, or None (interface names have no ':')."""
    if not (alias or '').startswith(PHYS_ALIAS_PREFIX):
        return None
    original, _sep, rest = alias[len(PHYS_ALIAS_PREFIX):].partition(':')
    identity, _sep, ifname = rest.rpartition('/')
    if not (original and identity and ifname):
        return None
    return original, identity, ifname


# Routes we add inside containers carry their own protocol number so they are recognisably ours.
# So do our policy routing rules there (FRA_PROTOCOL, Linux 4.17): the priority stays the user's.
RTPROT_NETWIRE = 110
# The root qdisc we put on a container end has this handle (major 0x4e57, "NW"; tc shows "4e57:").
QDISC_HANDLE = 0x4e570000

# OVS rows (Bridge, Port, Interface) we create carry these in external_ids.
OVS_OWNER_KEY = 'netwire-owner'
OVS_OWNER = 'netwire.fabric'
OVS_ROLE_KEY = 'netwire-role'
OVS_NETWORK_KEY = 'netwire-network'
OVS_REMOTE_KEY = 'netwire-remote'
OVS_BRIDGE_KEY = 'netwire-bridge'
OVS_CONTAINER_KEY = 'netwire-container'
OVS_INTERFACE_KEY = 'netwire-interface'
OVS_ROLE_BRIDGE = 'bridge'
OVS_ROLE_MEMBER = 'member'
OVS_ROLE_TUNNEL = 'tunnel'
OVS_ROLE_ATTACH = 'attach'
# issue 19: a fake VLAN bridge (ovs-vsctl add-br <child> <parent> <vlan>): a port of its parent, fake_bridge=true
OVS_ROLE_FAKE_BRIDGE = 'fake-bridge'
# What the underlay bridge (netdev datapath) records of the NIC it took over, to give it back.
OVS_UNDERLAY_NIC_KEY = 'nw-underlay-nic'
OVS_UNDERLAY_ADDRESS_KEY = 'nw-underlay-address'
OVS_UNDERLAY_GATEWAY_KEY = 'nw-underlay-gateway'
OVS_UNDERLAY_ARP_IGNORE_KEY = 'nw-underlay-arp-ignore'


def ovs_is_owned(external_ids):
    return (external_ids or {}).get(OVS_OWNER_KEY) == OVS_OWNER


def ovs_owner_ids(role, **extra):
    """The external_ids that mark an OVS row as ours (values must be strings)."""
    ids = {OVS_OWNER_KEY: OVS_OWNER, OVS_ROLE_KEY: role}
    for key, value in extra.items():
        if value is not None:
            ids['netwire-' + key] = str(value)
    return ids


# The nft table of the firewall (inet family).
FIREWALL_TABLE = 'netwire'

# The DNS domain of the model's names when netwire_dns gives none: <container>.<network>.<domain>.
DEFAULT_DNS_DOMAIN = 'netwire.internal'

# ---------------------------------------------------------------- derived names


def digest(kind, *parts):
    """The hex SHA-256 every derived name (and the model's auto address) is cut from."""
    return hashlib.sha256(('netwire-%s:%s' % (kind, '/'.join(str(p) for p in parts))).encode('utf-8')).hexdigest()


def _valid_ifname(name):
    try:
        _ifname(name)
    except InvalidParameter:
        return False
    return True


def _fit(prefix, text, kind):
    """``prefix + text`` when it is a valid interface name of at most 15 characters.

    Otherwise ``prefix + text[:k] + '-' + 5 hex`` of a hash of the full text, so a
    long name keeps a readable start and stays unique. A name that has to be
    shortened always ends in ``-<5 hex>``; names that fit are used as they are.
    """
    whole = prefix + text
    if _valid_ifname(whole):
        return whole
    head = ''.join(c for c in text if c.isalnum() and ord(c) < 128)[:IFNAMSIZ - len(prefix) - 6]
    return '%s%s-%s' % (prefix, head, digest(kind, text)[:5])


def bridge_name(network):
    """The bridge of ``network`` on every host: ``nw-<network>``, shortened with a hash when too long."""
    return _fit('nw-', network, 'bridge')


def trunk_bridge_name(trunk):
    """The OVS bridge of a trunk (``netwire_trunks``) on every host it spans: ``nwk-<trunk>``, shortened like
    bridges. Its networks' bridges are fake VLAN bridges on it."""
    return _fit('nwk-', trunk, 'trunk')


def trunk_overlay_id(trunk):
    """The overlay identity of a trunk's tunnel mesh (``ovs_tunnel``'s ``network``, the tunnel port names'
    seed): ``trunk:<trunk>``, which no network name can be (names have no ':')."""
    return 'trunk:%s' % trunk


def underlay_bridge_name(interface):
    """The OVS bridge owning the underlay NIC on userspace-datapath hosts: ``nwu-<interface>``."""
    return _fit('nwu-', interface, 'underlay')


def veth_host_name(container, ifname):
    """Host end of a container interface's veth: ``nw`` + 13 hex of container and in-container ifname.

    ``container`` is the container's name (the model's container name; for
    container_attach alone, the name its reference resolves to). Independent of
    the container's runtime identity, so it survives container restarts and
    re-creation, and of the network, so moving an interface to another network
    keeps its name.
    """
    return 'nw' + digest('veth', container, ifname)[:IFNAMSIZ - 2]


def linux_tunnel_name(overlay, network, remote=None):
    """Kernel tunnel device of ``network``.

    VXLAN uses one device per network with a flood entry per remote:
    ``nwx-<network>``. GRE (gretap) and Geneve devices are point to point: one per
    remote, ``nwt`` + 12 hex of overlay, network and remote address.
    """
    if overlay == 'vxlan':
        return _fit('nwx-', network, 'vxlan')
    return 'nwt' + digest('tunnel', overlay, network, remote)[:IFNAMSIZ - 3]


def ovs_tunnel_port_name(overlay, network, remote):
    """OVS tunnel port towards ``remote``: ``<gre|vxl|gnv>-<11 hex>`` of type, network and remote.

    The overlay (``network``) is part of the hash because OVS port names are
    unique per host: two overlays of the same type towards the same remote (on
    two bridges) would otherwise collide.
    """
    digest = hashlib.sha256(('%s|%s|%s' % (overlay, network, remote)).encode('utf-8')).hexdigest()
    return '%s-%s' % (OVERLAYS[overlay].ovs_port_prefix, digest[:11])


def mac_from_seed(seed):
    """A locally administered unicast MAC that depends only on ``seed``."""
    raw = bytearray(hashlib.sha256(('netwire-mac:%s' % seed).encode('utf-8')).digest()[:6])
    raw[0] = (raw[0] & 0xFC) | 0x02
    return ':'.join('%02x' % b for b in raw)


def container_mac(container, ifname):
    """The default MAC of a container interface (same inputs as its veth host end's name)."""
    return mac_from_seed('%s/%s' % (container, ifname))


def bridge_mac(underlay_address, bridge):
    """The MAC a network's bridge keeps on one host (seeded by the host's underlay address, unique in the fabric).

    A Linux or OVS bridge without a MAC of its own takes the lowest MAC of its ports and changes it
    when that port leaves (a container stops): its containers then hold a stale neighbor entry for
    their gateway and lose their routed traffic and DNS until ARP gives up on it. Pinned, it never moves.
    """
    return mac_from_seed('bridge:%s/%s' % (underlay_address, bridge))


def host_macvlan_name(parent):
    """The host-side macvlan of ``parent`` (a NIC or its VLAN sub-interface): ``nwm-<parent>``."""
    return _fit('nwm-', parent, 'macvlan')


def vlan_link_name(parent, vlan):
    """The VLAN sub-interface ``vlan`` of ``parent``: ``<parent>.<vlan>`` (as pipework and ifupdown name it),
    ``nwv`` + 12 hex when that does not fit."""
    whole = '%s.%d' % (parent, vlan)
    return whole if _valid_ifname(whole) else 'nwv' + digest('vlan', parent, vlan)[:IFNAMSIZ - 3]


def attach_record_name(identity, ifname):
    """The file name (without ``.json``) of an attachment's default-route takeover record.

    Keyed by the runtime identity, not the container name: a record written by an
    earlier release must still be found to restore the routes it holds.
    """
    digest = hashlib.sha256(('netwire-if:%s/%s' % (identity, ifname)).encode('utf-8')).hexdigest()
    return 'nw' + digest[:IFNAMSIZ - 2]


# ---------------------------------------------------------------- files we write (issue 14)

# The first line of every file netwire writes and owns (dnsmasq configs, container resolv.conf
# files): a file without it is someone else's and is never changed or removed.
FILE_MARK = '# managed by netwire.fabric'


# ---------------------------------------------------------------- daemons: their directories and files (issue 14)

# The private directories of the daemons' files (per lab host: bind-mounted by the lab).
ETC_DIR = '/etc/netwire'
RUN_DIR = '/run/netwire'
# container_attach (issue 19): who uses a shared link (<link>.json), and a NIC handed to a container:
# its record and the container's namespace pinned while the NIC is in it (<attach_record_name>.json/.netns)
SHARED_LINKS_DIR = RUN_DIR + '/shared'
PHYS_DIR = RUN_DIR + '/phys'
# ... and every attachment of a direct kind (it has no host end to find it by: host_network's purge reads these)
DIRECT_DIR = RUN_DIR + '/direct'
STATE_DIR = '/var/lib/netwire'
DNSMASQ_DIR = ETC_DIR + '/dnsmasq'


def pidfile(program, name):
    """The pidfile of our ``program`` instance ``name``."""
    return '%s/%s-%s.pid' % (RUN_DIR, program, name)


def dnsmasq_paths(name):
    """The files of the dnsmasq instance ``name`` (the bridge name of its network on this host)."""
    return {
        'conf': '%s/%s.conf' % (DNSMASQ_DIR, name),
        'hosts_dir': '%s/%s.hosts.d' % (DNSMASQ_DIR, name),
        'dhcp_dir': '%s/%s.dhcp.d' % (DNSMASQ_DIR, name),
        'pidfile': pidfile('dnsmasq', name),
        'leases': '%s/dnsmasq-%s.leases' % (STATE_DIR, name),
    }


# The catalog's etcd members (issue 17): one member per host, its config file (etcd's YAML --config-file),
# its pidfile and its data directory (ours: absent removes it).
ETCD_DIR = ETC_DIR + '/etcd'
ETCD_STATE_DIR = STATE_DIR + '/etcd'
ETCD_CLIENT_PORT = 2379
ETCD_PEER_PORT = 2380


def etcd_paths(name):
    """The files of the etcd member ``name`` (its member name, e.g. the inventory host)."""
    return {
        'conf': '%s/%s.yml' % (ETCD_DIR, name),
        'pidfile': pidfile('etcd', name),
        'data_dir': '%s/%s' % (ETCD_STATE_DIR, name),
    }


# The catalog's keys (issue 17): every host registers its containers' services under
# <prefix>/services/<service>/<host>/<container> = "address:port", under one lease of its own.
CATALOG_PREFIX = '/netwire'
CATALOG_TTL = 10  # seconds a host's lease lives without its keep-alive

# Open vSwitch's database server: the socket the modules talk to unless told otherwise, and how long they
# wait for it (seconds). Here, not in _ovs/ovsdb.py, so that the argument specs (_specs.py) name them
# without importing ovsdbapp.
OVSDB_SOCKET = "/run/openvswitch/db.sock"
OVSDB_TIMEOUT = 20
# The service names the entry point resolves: <service>.svc.<domain>
SERVICE_SUBDOMAIN = 'svc'


def services_prefix(prefix):
    """The catalog prefix every service key starts with (a trailing slash: no other prefix matches it)."""
    return '%s/services/' % prefix.rstrip('/')


def service_key(prefix, service, host, container):
    """The catalog key of one container's service on ``host``."""
    return '%s%s/%s/%s' % (services_prefix(prefix), service, host, container)


def parse_service_key(prefix, key):
    """``(service, host, container)`` of a service key under ``prefix``, or None."""
    base = services_prefix(prefix)
    if not key.startswith(base):
        return None
    parts = key[len(base):].split('/')
    return tuple(parts) if len(parts) == 3 and all(parts) else None


def service_fqdn(service, domain):
    """The name the entry point resolves for ``service``: its live members' A records."""
    return '%s.%s.%s' % (service, SERVICE_SUBDOMAIN, domain)


# A host's registration (issue 17): its record (marked, JSON: prefix, lease, endpoints) and the pidfile of
# its lease's keep-alive (etcdctl lease keep-alive, run by the daemon helper).
REGISTRATION_DIR = ETC_DIR + '/registration'


def watch_paths(role, directory, name, conf_ext, daemon):
    """The files of a watch of the catalog (a Python script run by the daemon helper): ``<role>_script``,
    ``<role>_conf`` and ``<role>_pidfile``, the first two in ``directory`` as ``<name>-<role>.py`` and
    ``<name>-<role>.<conf_ext>``."""
    return {
        role + '_script': '%s/%s-%s.py' % (directory, name, role),
        role + '_conf': '%s/%s-%s.%s' % (directory, name, role, conf_ext),
        role + '_pidfile': pidfile(daemon, name),
    }


def registration_paths(host):
    """The files of ``host``'s registration in the catalog, and of the host's watch of the catalog for its
    dnsmasq instances (``names_*``: the services' names, <service>.svc.<domain>)."""
    paths = {'conf': '%s/%s.json' % (REGISTRATION_DIR, host), 'pidfile': pidfile('keepalive', host)}
    paths.update(watch_paths('names', REGISTRATION_DIR, host, 'conf', 'svcnames'))
    return paths


def lease_id(prefix, host):
    """``host``'s lease in the catalog under ``prefix``: one per host, the same on every run (etcd lets the
    client choose it), a positive 63-bit integer."""
    return int(hashlib.sha256(('netwire-lease:%s:%s' % (prefix.rstrip('/'), host)).encode('utf-8'))
               .hexdigest()[:15], 16) or 1


# The entry point (issue 17): HAProxy of ours (master-worker), its runtime socket, and the watch of the catalog
# that writes each service's A records into the LB host's dnsmasq hosts dir (svc-<service>).
HAPROXY_DIR = ETC_DIR + '/haproxy'


def lb_paths(name):
    """The files of the entry point ``name``: HAProxy's, and its catalog watch's (``watch_*``)."""
    paths = {'conf': '%s/%s.cfg' % (HAPROXY_DIR, name), 'pidfile': pidfile('haproxy', name),
             'socket': '%s/haproxy-%s.sock' % (RUN_DIR, name)}
    paths.update(watch_paths('watch', HAPROXY_DIR, name, 'json', 'lbwatch'))
    return paths


def service_hosts_file(bridge, service):
    """The file of ``service``'s A records in the dnsmasq hosts dir of the network on ``bridge``."""
    return '%s/svc-%s' % (dnsmasq_paths(bridge)['hosts_dir'], service)


def systemd_unit_name(daemon, name):
    """The systemd unit of a daemon instance of ours on a host with systemd."""
    return 'netwire-%s-%s.service' % (daemon, name)


# FRR (issue 15): Debian's package reads /etc/frr and runs its daemons' sockets and pidfiles in /run/frr.
FRR_CONF_DIR = '/etc/frr'
FRR_RUN_DIR = '/run/frr'
FRR_SERVICE = 'frr.service'   # the package's unit, used on hosts that run systemd
FRR_PROGRAM_DIR = '/usr/lib/frr'


def frr_paths(conf_dir=FRR_CONF_DIR, run_dir=FRR_RUN_DIR):
    """The files of our FRR (one per host): its configuration, daemons file, and each daemon's pidfile."""
    return {
        'conf': '%s/frr.conf' % conf_dir,
        'daemons': '%s/daemons' % conf_dir,
        'zebra_pid': '%s/zebra.pid' % run_dir,
        'bgpd_pid': '%s/bgpd.pid' % run_dir,
        'zserv': '%s/zserv.api' % run_dir,
    }


# How host_network's purge list (``keep``) names this host's one FRR control plane when its plan declares it.
FRR_KEEP_NAME = 'frr:bgp-evpn'


def direct_keep_name(container, ifname):
    """How host_network's purge list (``keep``) names an attachment of a direct kind (it has no host end):
    by the container reference of the plan and the interface name."""
    return 'direct:%s/%s' % (container, ifname)


def dns_keep_name(name):
    """How host_network's purge list (``keep``) names the dnsmasq instance ``name``: not by the bridge name
    alone, which stays declared when a network loses its DNS."""
    return 'dns:%s' % name


# ---------------------------------------------------------------- WireGuard (issue 16)

# The mark on a WireGuard device of ours (kernel device or wireguard-go's TUN device).
WIREGUARD_ALIAS = owner_alias('wireguard')
# Its configuration and its private key (mode 0600, in a directory of mode 0700).
WIREGUARD_DIR = ETC_DIR + '/wireguard'
# WireGuard's default UDP port.
WIREGUARD_PORT = 51820
# Where wireguard-go (and wg, to reach it) keeps its UAPI sockets (a private /run per lab host).
WIREGUARD_SOCKET_DIR = '/var/run/wireguard'
# The fabric's one WireGuard device per host (the model's encrypted networks, plan key ``wireguard``).
WIREGUARD_DEVICE = 'nw-wg0'
# What WireGuard adds to a packet at most: outer IPv6 40 + UDP 8 + its header 16 + its tag 16
# (over an IPv4 underlay 60; the model counts the worst case, as wg-quick's MTU does).
WIREGUARD_OVERHEAD = 80
# The named counter of the firewall's drop of clear overlay UDP for encrypted networks (inet table).
CLEAR_OVERLAY_COUNTER = 'clear_overlay'


def wireguard_paths(name):
    """The files of the WireGuard device ``name`` of ours."""
    return {
        'conf': '%s/%s.conf' % (WIREGUARD_DIR, name),
        'key': '%s/%s.key' % (WIREGUARD_DIR, name),
        'pidfile': pidfile('wireguard-go', name),
        'socket': '%s/%s.sock' % (WIREGUARD_SOCKET_DIR, name),
    }
