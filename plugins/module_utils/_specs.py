# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument specs of the object modules, in one place.

The single-object modules and host_network (which checks every entry of a host
plan against the spec of the module that builds it) read them from here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.netwire.fabric.plugins.module_utils._lock import DEFAULT_TIMEOUT as LOCK_DEFAULT_TIMEOUT
from ansible_collections.netwire.fabric.plugins.module_utils._names import FIREWALL_TABLE, LINK_KINDS, OVERLAY_TYPES
from ansible_collections.netwire.fabric.plugins.module_utils._names import DEFAULT_DNS_DOMAIN, WIREGUARD_PORT
from ansible_collections.netwire.fabric.plugins.module_utils._names import ETCD_CLIENT_PORT, ETCD_PEER_PORT
from ansible_collections.netwire.fabric.plugins.module_utils._names import CATALOG_PREFIX, CATALOG_TTL
from ansible_collections.netwire.fabric.plugins.module_utils._names import OVSDB_SOCKET as DEFAULT_SOCKET, OVSDB_TIMEOUT as DEFAULT_TIMEOUT

STATE = dict(type='str', choices=['present', 'absent'], default='present')
CONTAINER_TYPE = dict(type='str', choices=['auto', 'docker', 'podman', 'pid', 'netns', 'path'], default='auto')
# the options of a link that every link module sets the same way (Linux bridge, kernel tunnel, container end)
MTU = dict(type='int')
MAC = dict(type='str')
UP = dict(type='bool', default=True)

LINUX_BRIDGE = dict(
    name=dict(type='str', required=True),
    state=STATE,
    mtu=MTU,
    stp=dict(type='bool', default=False),
    forward_delay=dict(type='int'),
    vlan_filtering=dict(type='bool', default=False),
    mac=MAC,
    addresses=dict(type='list', elements='str'),
    ports=dict(type='list', elements='str'),
    purge_ports=dict(type='bool', default=False),
    up=UP,
)

LINUX_TUNNEL = dict(
    name=dict(type='str', required=True),
    state=STATE,
    kind=dict(type='str', choices=list(LINK_KINDS), default='vxlan'),
    vni=dict(type='int'),
    local=dict(type='str'),
    dev=dict(type='str'),
    port=dict(type='int'),
    ttl=dict(type='int'),
    learning=dict(type='bool', default=False),
    udp_checksum=dict(type='bool'),
    master=dict(type='str'),
    mtu=MTU,
    remotes=dict(type='list', elements='str', default=[]),
    control=dict(type='str', choices=['static', 'evpn'], default='static'),
    up=UP,
)

CONTAINER_ATTACH = dict(
    container=dict(type='str', required=True),
    container_type=CONTAINER_TYPE,
    state=STATE,
    bridge=dict(type='str'),
    bridge_type=dict(type='str', choices=['auto', 'linux', 'ovs'], default='auto'),
    vlan_tag=dict(type='int'),
    network=dict(type='str'),
    ifname=dict(type='str', default='eth1'),
    host_ifname=dict(type='str'),
    addresses=dict(type='list', elements='str', default=[]),
    mac=MAC,
    mac_seed=dict(type='str'),
    mtu=MTU,
    gateway=dict(type='str'),
    gateway6=dict(type='str'),
    gateway_takeover=dict(type='bool', default=False),
    routes=dict(type='list', elements='dict', default=[], options=dict(
        dest=dict(type='str', required=True),
        via=dict(type='str'),
        table=dict(type='int'),
    )),
    hairpin=dict(type='bool', default=False),
    gratuitous_arp=dict(type='bool', default=True),
)
# issue 19: policy routing rules in the container (the namespace's, marked with protocol 110) and the
# root qdisc of the container end (handle 4e57:)
CONTAINER_ATTACH.update(
    rules=dict(type='list', elements='dict', options={
        'priority': dict(type='int', required=True),
        'family': dict(type='str', choices=['ipv4', 'ipv6']),
        'from': dict(type='str'),
        'to': dict(type='str'),
        'iif': dict(type='str'),
        'fwmark': dict(type='int'),
        'table': dict(type='int', required=True),
    }),
    qdisc=dict(type='dict', options=dict(
        kind=dict(type='str', choices=['tbf'], default='tbf'),
        rate=dict(type='raw', required=True),
        burst=dict(type='raw', required=True),
        limit=dict(type='raw'),
        latency=dict(type='raw'),
    ), mutually_exclusive=[('limit', 'latency')], required_one_of=[('limit', 'latency')]),
)
# issue 19: the attachment kinds (veth onto a bridge; macvlan, vlan, phys and dummy in the container directly)
CONTAINER_ATTACH.update(
    kind=dict(type='str', choices=['veth', 'macvlan', 'vlan', 'phys', 'dummy']),
    parent=dict(type='str'),
    vlan=dict(type='int'),
    macvlan_mode=dict(type='str', choices=['bridge', 'private', 'vepa', 'passthru']),
    host_macvlan=dict(type='dict', options=dict(
        addresses=dict(type='list', elements='str', default=[]),
    )),
)
# issue 14, the client (container_attach): an address by DHCP, the container's resolver
CONTAINER_ATTACH.update(
    dhcp=dict(type='bool', default=False),
    resolver=dict(type='dict', options=dict(
        servers=dict(type='list', elements='str', default=[]),
        search=dict(type='list', elements='str', default=[]),
    )),
)

# documented by the doc fragments netwire.fabric.ovsdb and netwire.fabric.lock
OVSDB_SOCKET = dict(type='str', default=DEFAULT_SOCKET)
OVSDB_TIMEOUT = dict(type='int', default=DEFAULT_TIMEOUT)
LOCK_TIMEOUT = dict(type='int', default=LOCK_DEFAULT_TIMEOUT)

NET_INFO = dict(
    containers=dict(type='list', elements='str', default=[]),
    container_type=CONTAINER_TYPE,
    all_links=dict(type='bool', default=False),
    ovsdb_socket=OVSDB_SOCKET,
    table_name=dict(type='str', default=FIREWALL_TABLE),
    frr_run_dir=dict(type='path', default='/run/frr'),
    frr_conf_dir=dict(type='path', default='/etc/frr'),
)

OVS_BRIDGE = dict(
    name=dict(type='str', required=True),
    state=STATE,
    datapath_type=dict(type='str', choices=['system', 'netdev'], default='system'),
    fail_mode=dict(type='str', choices=['standalone', 'secure']),
    external_ids=dict(type='dict', default={}),
    other_config=dict(type='dict', default={}),
    ports=dict(type='list', elements='dict', options=dict(
        name=dict(type='str', required=True),
        type=dict(type='str', choices=['system', 'internal']),
        tag=dict(type='int'),
        mtu=dict(type='int'),
        addresses=dict(type='list', elements='str'),
    )),
    # issue 19: a fake VLAN bridge (ovs-vsctl add-br <name> <parent> <vlan>)
    parent=dict(type='str'),
    vlan=dict(type='int'),
    ovsdb_socket=OVSDB_SOCKET,
    timeout=OVSDB_TIMEOUT,
)

OVS_TUNNEL = dict(
    bridge=dict(type='str', required=True),
    network=dict(type='str', required=True),
    type=dict(type='str', choices=list(OVERLAY_TYPES), default='vxlan'),
    remotes=dict(type='list', elements='str', default=[]),
    key=dict(type='int', no_log=False),
    dst_port=dict(type='int'),
    local_ip=dict(type='str'),
    options=dict(type='dict', default={}),
    state=STATE,
    ovsdb_socket=OVSDB_SOCKET,
    timeout=OVSDB_TIMEOUT,
)

FIREWALL = dict(
    state=STATE,
    table_name=dict(type='str', default=FIREWALL_TABLE),
    networks=dict(type='list', elements='dict', default=[], options=dict(
        name=dict(type='str', required=True),
        subnet=dict(type='str', required=True),
        bridge=dict(type='str', required=True),
        nat=dict(type='bool', default=True),
        icc=dict(type='bool', default=True),
        zone=dict(type='str'),
        ports=dict(type='list', elements='str', default=[]),
        dhcp=dict(type='bool', default=False),
    )),
    flows=dict(type='list', elements='dict', default=[], options={
        'from': dict(type='str', required=True),
        'to': dict(type='str', required=True),
    }),
    publications=dict(type='list', elements='dict', default=[], options=dict(
        name=dict(type='str'),
        network=dict(type='str', required=True),
        proto=dict(type='str', choices=['tcp', 'udp'], default='tcp'),
        host_port=dict(type='int', required=True),
        bind_address=dict(type='str', default='127.0.0.1'),
        container_address=dict(type='str', required=True),
        container_port=dict(type='int'),
    )),
    tunnels=dict(type='list', elements='dict', default=[], options=dict(
        network=dict(type='str'),
        type=dict(type='str', choices=list(OVERLAY_TYPES), default='vxlan'),
        port=dict(type='int'),
        local_address=dict(type='str', required=True),
        device=dict(type='str'),
        peers=dict(type='list', elements='str', default=[]),
        # the network is encrypted: its overlay arrives only through WireGuard (device); a copy arriving
        # anywhere else is dropped and counted
        encrypted=dict(type='bool', default=False),
    )),
    host_addresses=dict(type='list', elements='str', default=[]),
    host_services=dict(type='list', elements='dict', default=[], options=dict(
        address=dict(type='str', required=True),
        proto=dict(type='str', choices=['tcp', 'udp'], default='tcp'),
        port=dict(type='int', required=True),
        zones=dict(type='list', elements='str'),
        local=dict(type='bool', default=False),
    )),
)

# ---------------------------------------------------------------- dnsmasq (issue 14): the params of plan key `dns`

DNSMASQ = dict(
    name=dict(type='str', required=True),
    state=STATE,
    network=dict(type='str'),
    interface=dict(type='str'),
    address=dict(type='str'),
    subnet=dict(type='str'),
    domain=dict(type='str', default=DEFAULT_DNS_DOMAIN),
    forward=dict(type='list', elements='str', default=[]),
    search=dict(type='list', elements='str', default=[]),
    records=dict(type='list', elements='dict', default=[], options=dict(
        name=dict(type='str', required=True),
        address=dict(type='str', required=True),
    )),
    dhcp=dict(type='bool', default=False),
    dhcp_range=dict(type='dict', options=dict(
        start=dict(type='str', required=True),
        end=dict(type='str', required=True),
    )),
    reservations=dict(type='list', elements='dict', default=[], options=dict(
        mac=dict(type='str', required=True),
        address=dict(type='str', required=True),
        name=dict(type='str'),
    )),
)

# ---------------------------------------------------------------- WireGuard (issue 16): one device of ours

WIREGUARD = dict(
    name=dict(type='str', required=True),
    state=STATE,
    backend=dict(type='str', choices=['auto', 'kernel', 'userspace'], default='auto'),
    address=dict(type='str'),
    listen_port=dict(type='int', default=WIREGUARD_PORT),
    mtu=MTU,
    private_key_file=dict(type='str', no_log=False),
    rotate_key=dict(type='bool', default=False, no_log=False),
    remove_key=dict(type='bool', default=False, no_log=False),
    key_only=dict(type='bool', default=False, no_log=False),
    peers=dict(type='list', elements='dict', default=[], options=dict(
        public_key=dict(type='str', required=True, no_log=False),
        endpoint=dict(type='str'),
        allowed_ips=dict(type='list', elements='str', default=[]),
        persistent_keepalive=dict(type='int'),
    )),
)

# ---------------------------------------------------------------- frr (issue 15): this host's BGP EVPN control plane

FRR = dict(
    state=STATE,
    asn=dict(type='int'),
    router_id=dict(type='str'),
    neighbors=dict(type='list', elements='str', default=[]),
    route_reflector_client=dict(type='bool', default=False),
    advertise_all_vni=dict(type='bool', default=True),
    keepalive=dict(type='int', default=3),
    holdtime=dict(type='int', default=9),
    connect_retry=dict(type='int', default=5),
    conf_dir=dict(type='path', default='/etc/frr'),
    run_dir=dict(type='path', default='/run/frr'),
    program_dir=dict(type='path', default='/usr/lib/frr'),
)

# ---------------------------------------------------------------- etcd_member (issue 17): one member of the catalog

ETCD_MEMBER = dict(
    name=dict(type='str', required=True),
    state=STATE,
    address=dict(type='str'),
    client_port=dict(type='int', default=ETCD_CLIENT_PORT),
    peer_port=dict(type='int', default=ETCD_PEER_PORT),
    initial_cluster=dict(type='list', elements='str', default=[]),
    # not a secret: etcd's initial-cluster-token only keeps two clusters' bootstraps apart (no authentication)
    cluster_token=dict(type='str', default='netwire', no_log=False),
    data_dir=dict(type='path'),
    wait=dict(type='int', default=60),
)

# issue 17: one host's registration in the catalog (service_registration)
SERVICE_REGISTRATION = dict(
    host=dict(type='str', required=True),
    state=STATE,
    prefix=dict(type='str', default=CATALOG_PREFIX),
    ttl=dict(type='int', default=CATALOG_TTL),
    endpoints=dict(type='list', elements='str', default=[]),
    services=dict(type='list', elements='dict', default=[], options=dict(
        service=dict(type='str', required=True),
        container=dict(type='str', required=True),
        address=dict(type='str', required=True),
        port=dict(type='int', required=True),
    )),
    names=dict(type='list', elements='dict', default=[], options=dict(
        service=dict(type='str', required=True),
        fqdn=dict(type='str', required=True),
        bridges=dict(type='list', elements='str', default=[]),
    )),
)

# issue 17: the entry point (haproxy_lb)
HAPROXY_LB = dict(
    name=dict(type='str', default='lb'),
    state=STATE,
    prefix=dict(type='str', default=CATALOG_PREFIX),
    endpoints=dict(type='list', elements='str', default=[]),
    bind=dict(type='str', default='0.0.0.0'),
    frontends=dict(type='list', elements='dict', default=[], options=dict(
        port=dict(type='int', required=True),
        service=dict(type='str', required=True),
        backend_port=dict(type='int', required=True),
        check=dict(type='str', choices=['tcp', 'http'], default='tcp'),
        fqdn=dict(type='str', required=True),
        resolver=dict(type='str', required=True),
        bridge=dict(type='str', required=True),
        network=dict(type='str'),
        max_servers=dict(type='int', default=4),
    )),
)


# ---------------------------------------------------------------- host_network's plan check, the common case fast

# What validated_fast() understands of an option's spec (and of the checks among a dict's suboptions, as
# qdisc's); anything else goes to Ansible's validator.
_FAST_OPTION_KEYS = frozenset(['type', 'required', 'default', 'choices', 'elements', 'options', 'no_log',
                               'mutually_exclusive', 'required_one_of'])
_FAST_SCALARS = {'str': str, 'int': int, 'bool': bool}


def validated_fast(spec, params, checks=None):
    """``params`` as Ansible's ``ArgumentSpecValidator(spec).validate(params)`` validates them, for the
    common case only: every value already of its type, every required option given, no unknown option,
    every value among its choices (a plan that netwire_validate computed). Returns the validated
    parameters (defaults filled in, in new containers), or None: then Ansible's validator decides, converts
    and words the errors. Checking 1000 attachments there cost about 0.1 s of CPU (issue 20); here it is a
    dict walk. tests/unit/test_specs_fast.py holds the two to the same answers.

    ``checks``: the option whose suboptions ``spec`` is (its ``mutually_exclusive`` and ``required_one_of``
    count the options given, as Ansible counts them)."""
    for key in params:
        if key not in spec:
            return None
    if checks is not None:
        for group in checks.get('mutually_exclusive') or ():
            if len([k for k in group if k in params]) > 1:
                return None
        for group in checks.get('required_one_of') or ():
            if not [k for k in group if k in params or spec[k].get('default') is not None]:
                return None
    out = {}
    for key, opt in spec.items():
        if not _FAST_OPTION_KEYS.issuperset(opt) or opt.get('no_log'):
            return None
        if key in params:
            value = params[key]
            if value is None:
                if opt.get('required') or opt.get('default') is not None:
                    return None  # Ansible converts it (None -> '' for a str)
                out[key] = None
                continue
        elif opt.get('required'):
            return None
        else:
            value = opt.get('default')
            if value is None:
                out[key] = None
                continue
        value = _fast_value(opt, value)
        if value is _NOT_FAST:
            return None
        out[key] = value
    # in Ansible's order: the given options, the defaults, the options left None
    defaults = [k for k in spec if k not in params and spec[k].get('default') is not None]
    rest = [k for k in spec if k not in params and spec[k].get('default') is None]
    return dict((key, out[key]) for key in list(params) + defaults + rest)


_NOT_FAST = object()


def _fast_value(opt, value):
    """One option's value, checked and copied, or _NOT_FAST."""
    kind = opt.get('type', 'str')
    if kind in _FAST_SCALARS:
        choices = opt.get('choices')
        if not isinstance(value, _FAST_SCALARS[kind]) or (choices is not None and value not in choices):
            return _NOT_FAST
        return value
    if kind == 'dict' and isinstance(value, dict):
        if opt.get('options') is not None:
            value = validated_fast(opt['options'], value, opt)
            return _NOT_FAST if value is None else value
        return _fast_copy(value)
    if kind == 'list' and isinstance(value, list) and opt.get('choices') is None:
        elements = opt.get('elements')
        if elements in _FAST_SCALARS:
            if not all(isinstance(item, _FAST_SCALARS[elements]) for item in value):
                return _NOT_FAST
            return list(value)
        if elements == 'dict' and opt.get('options') is not None:
            out = []
            for item in value:
                item = validated_fast(opt['options'], item, opt) if isinstance(item, dict) else None
                if item is None:
                    return _NOT_FAST
                out.append(item)
            return out
        return _fast_copy(value) if elements is None else _NOT_FAST
    if kind == 'raw':
        return _fast_copy(value)
    return _NOT_FAST


def _fast_copy(value):
    """A copy of a JSON value (Ansible validates a deep copy of the parameters)."""
    if isinstance(value, dict):
        return dict((k, _fast_copy(v)) for k, v in value.items())
    if isinstance(value, list):
        return [_fast_copy(v) for v in value]
    return value
