# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The model's schema: its variables and keys, choices, defaults, and the address policy.

Overlay facts come from ``module_utils/_names.py`` (the one overlay table, with
the derived names the model gives bridges, tunnels, veth ends and MACs).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.netwire.fabric.plugins.module_utils._names import (
    OVERLAY_TYPES,
    OVERLAYS,
    WIREGUARD_OVERHEAD,
    digest as _digest,
)

NAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]*$')
IDENT_RE = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')
MAC_RE = re.compile(r'^[0-9a-f]{2}(:[0-9a-f]{2}){5}$')
# One DNS label (RFC 1123): letters, digits and '-', not at either end, at most 63 characters.
DNS_LABEL_RE = re.compile(r'^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$')
MAX_DNS_NAME = 253

# The model's variables; the first three declare objects (an empty model has none of them).
MODEL_VARS = ('netwire_zones', 'netwire_networks', 'netwire_containers', 'netwire_dns', 'netwire_control_plane',
              'netwire_catalog', 'netwire_lb', 'netwire_encryption', 'netwire_trunks')
OBJECT_VARS = MODEL_VARS[:3]
ZONE_KEYS = ('allow_to', 'description')
NETWORK_KEYS = ('subnet', 'zone', 'backend', 'overlay', 'key', 'port', 'mtu', 'nat', 'icc', 'hosts', 'vlan',
                'bridge', 'host_slots', 'dhcp', 'dhcp_range', 'control', 'encrypt', 'trunk',
                'description')
# issue 19: a trunk bridge whose VLANs carry networks (model/trunk.py)
TRUNK_KEYS = ('hosts', 'overlay', 'key', 'port', 'bridge', 'description')
DNS_KEYS = ('domain', 'forward')
ENCRYPTION_KEYS = ('subnet', 'port')
DHCP_RANGE_KEYS = ('start', 'end')
CONTAINER_KEYS = ('host', 'ref', 'ref_type', 'interfaces', 'publish', 'services', 'description')
# issue 17: the catalog, a container's services, the entry point
CATALOG_KEYS = ('members', 'address', 'prefix', 'ttl')
CATALOG_ADDRESSES = ('underlay', 'management')
SERVICE_KEYS = ('name', 'port', 'network', 'check')
SERVICE_CHECKS = ('tcp', 'http')
LB_KEYS = ('host', 'frontends')
FRONTEND_KEYS = ('port', 'service')
INTERFACE_KEYS = ('network', 'ifname', 'address', 'mac', 'gateway', 'gateway_takeover', 'routes', 'rules', 'qdisc',
                  'kind')
PUBLISH_KEYS = ('proto', 'host_port', 'port', 'bind', 'network', 'capture_host_port')
HOST_KEYS = ('index', 'underlay_interface', 'underlay_address', 'underlay_mtu', 'ovs_datapath')

BACKENDS = ('linux', 'ovs')
OVERLAY_CHOICES = ('none',) + OVERLAY_TYPES
REF_TYPES = ('auto', 'docker', 'podman', 'pid', 'netns', 'path')
DATAPATHS = ('system', 'netdev')
PROTOS = ('tcp', 'udp')

# The overlay facts (module_utils/_names.py OVERLAYS), as the model reads them.
# Bytes each encapsulation adds on the underlay (see _names.OVERLAYS):
ENCAP_OVERHEAD = dict([('none', 0)] + [(t, o.overhead) for t, o in OVERLAYS.items()])
VLAN_OVERHEAD = 4
KEY_RANGE = dict((t, (1, o.key_max)) for t, o in OVERLAYS.items())
DEFAULT_UDP_PORT = dict((t, o.udp_port) for t, o in OVERLAYS.items() if o.udp_port is not None)
LINUX_TUNNEL_KIND = dict((t, o.link_kind) for t, o in OVERLAYS.items())
DEFAULT_UNDERLAY_MTU = 1500
DEFAULT_MTU = 1500
MAX_HOST_SLOTS = 16


class ModelInvalid(ValueError):
    """The model has findings; :attr:`findings` lists them."""

    def __init__(self, findings):
        self.findings = findings
        super(ModelInvalid, self).__init__(format_findings(findings))


def format_findings(findings):
    lines = ['The netwire model has %d problem%s:' % (len(findings), '' if len(findings) == 1 else 's')]
    lines.extend('  %s: %s' % (f['path'], f['msg']) for f in findings)
    return '\n'.join(lines)


# ---------------------------------------------------------------- addresses

def default_host_slots(subnet):
    net = ipaddress.ip_network(subnet)
    return min(MAX_HOST_SLOTS, max(0, (net.num_addresses - 2) // 4))


def host_address(subnet, index):
    """Address of the host with ``index`` on the bridge of a network with ``subnet``."""
    net = ipaddress.ip_network(subnet)
    return str(net.network_address + index)


def auto_address(subnet, network, container, ifname, host_slots=None):
    """The ``auto`` address of one container interface (see the module docstring).

    A pure function of the subnet, the host slot count and the three names.
    """
    net = ipaddress.ip_network(subnet)
    slots = default_host_slots(subnet) if host_slots is None else host_slots
    pool = net.num_addresses - 2 - slots
    if pool < 1:
        raise ValueError('subnet %s has no addresses left for containers' % subnet)
    offset = int(_digest('addr', network, container, ifname)[:16], 16) % pool
    return str(net.network_address + slots + 1 + offset)


def overlay_overhead(overlay, vlan=None, encrypt=False):
    """Underlay bytes one frame of an overlay needs beyond its MTU (a VLAN tag travels inside; an encrypted
    network's tunnel packets travel inside WireGuard, which adds its own)."""
    extra = ENCAP_OVERHEAD[overlay]
    if extra and vlan:
        extra += VLAN_OVERHEAD
    if extra and encrypt:
        extra += WIREGUARD_OVERHEAD
    return extra


def is_empty(model):
    """True when the model declares no zone, network or container at all (``netwire_dns`` alone is empty)."""
    if not isinstance(model, dict):
        return model is None
    return not any(model.get(var) for var in OBJECT_VARS)


EMPTY_MODEL_MSG = ('the model declares no zones, networks or containers: site.yml would remove everything '
                   'netwire.fabric built on every host. Check the inventory (-i) holds the model. To remove '
                   'everything on purpose, run playbooks/down.yml; to converge to an empty model, set '
                   'netwire_allow_empty: true')
