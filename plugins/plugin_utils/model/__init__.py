# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The netwire model: schema, validation, address allocation and per-host plans (controller only).

Pure Python (standard library only, and ``module_utils/_names.py`` for derived
names, ownership marks and overlay facts, which the modules share). The action
plugin ``netwire_validate``, the spec suite and the unit tests use it; the
modules never do: they receive its plans. Nothing here touches a host.

Layout: ``schema`` (variables, keys, choices, defaults, the address policy),
``fields`` (typed field readers that yield findings), ``read`` (zones, hosts,
networks and containers in normal form), ``checks`` (cross-checks and
:func:`analyze`), ``plan`` (the per-host plan compiler). This facade exports
what callers use.

The model is four inventory variables (docs/model.md has the full reference):

``netwire_zones``
    ``{zone: {allow_to: [zone, ...], description: str}}``. ``allow_to`` lists the
    zones this zone may open connections to (replies always flow back).
``netwire_networks``
    ``{network: {subnet, zone, backend, overlay, key, port, mtu, nat, icc, hosts,
    vlan, bridge, host_slots, description}}``.
``netwire_containers``
    ``{container: {host, ref, ref_type, interfaces: [{network, ifname, address,
    mac, gateway}], publish: [{proto, host_port, port, bind, network}]}}``.
``netwire_dns`` (optional)
    ``{domain, forward}``: names on every network, and DHCP where a network has
    ``dhcp: true`` (``dns.py``).
``netwire_trunks`` (optional)
    ``{trunk: {hosts, overlay, key, port, bridge, description}}``: OVS trunk bridges whose VLANs carry
    the networks with ``trunk`` (``trunk.py``).

and, per inventory host, ``netwire_host`` (over ``netwire_host_defaults``):
``{index, underlay_interface, underlay_address, underlay_mtu, ovs_datapath}``.

Public functions
----------------
``analyze(model, hosts)`` -> ``(normalized, findings, warnings)``;
``validate(model, hosts)`` -> findings; ``plan(model, hosts)`` -> ``{host: plan}``
(raises :class:`ModelInvalid`). A finding is ``{'path': ..., 'msg': ...}``, the
path naming the offending place in the model, e.g.
``netwire_containers.web1.interfaces[0].address``. Malformed input of any shape
yields findings, never an exception.

Addresses
---------
Each host has an ``index`` (``netwire_host.index``; by default its 1-based
position among the model's hosts sorted by name: pin it when hosts may be
added). Its address on every network is ``subnet + index``; the first
``host_slots`` addresses of a subnet (default ``min(16, usable // 4)``) are
reserved for hosts. A container interface with ``address: auto`` gets
``subnet + host_slots + 1 + H mod pool`` where ``H`` is a SHA-256 of
``network/container/ifname`` and ``pool`` the rest of the subnet. The address is
a function of those three names and the subnet only, so it is the same on every
run, after a restart, and whatever other containers are added or removed. Two
interfaces that land on the same address are a finding that names a free
address to pin one of them with: we never resolve a clash by moving an address
(any probing would let a newcomer displace an existing container).

Names (all at most 15 characters, deterministic)
------------------------------------------------
:func:`bridge_name`, :func:`veth_host_name`, :func:`linux_tunnel_name`,
:func:`ovs_tunnel_port_name`, :func:`underlay_bridge_name`, :func:`derive_mac`:
defined in ``module_utils/_names.py`` (one home, the modules use the same).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.netwire.fabric.plugins.module_utils._names import (
    bridge_name,
    container_mac as derive_mac,
    linux_tunnel_name,
    ovs_tunnel_port_name,
    underlay_bridge_name,
    veth_host_name,
)
from ansible_collections.netwire.fabric.plugins.plugin_utils.model.checks import analyze, host_environment, validate
from ansible_collections.netwire.fabric.plugins.plugin_utils.model.plan import host_plan, plan, plans_of
from ansible_collections.netwire.fabric.plugins.plugin_utils.model.schema import (
    BACKENDS,
    CONTAINER_KEYS,
    DATAPATHS,
    DEFAULT_MTU,
    DEFAULT_UDP_PORT,
    DEFAULT_UNDERLAY_MTU,
    EMPTY_MODEL_MSG,
    ENCAP_OVERHEAD,
    HOST_KEYS,
    INTERFACE_KEYS,
    KEY_RANGE,
    LINUX_TUNNEL_KIND,
    MAX_HOST_SLOTS,
    MODEL_VARS,
    NETWORK_KEYS,
    OVERLAY_CHOICES,
    PROTOS,
    PUBLISH_KEYS,
    REF_TYPES,
    TRUNK_KEYS,
    VLAN_OVERHEAD,
    ZONE_KEYS,
    ModelInvalid,
    auto_address,
    default_host_slots,
    format_findings,
    host_address,
    is_empty,
    overlay_overhead,
)

__all__ = (
    'analyze', 'validate', 'plan', 'plans_of', 'host_plan', 'host_environment', 'is_empty', 'EMPTY_MODEL_MSG',
    'ModelInvalid', 'format_findings',
    'bridge_name', 'underlay_bridge_name', 'veth_host_name', 'linux_tunnel_name', 'ovs_tunnel_port_name',
    'derive_mac', 'auto_address', 'host_address', 'default_host_slots', 'overlay_overhead',
    'MODEL_VARS', 'ZONE_KEYS', 'NETWORK_KEYS', 'CONTAINER_KEYS', 'INTERFACE_KEYS', 'PUBLISH_KEYS', 'HOST_KEYS',
    'TRUNK_KEYS',
    'BACKENDS', 'OVERLAY_CHOICES', 'REF_TYPES', 'DATAPATHS', 'PROTOS', 'ENCAP_OVERHEAD', 'VLAN_OVERHEAD',
    'KEY_RANGE', 'DEFAULT_UDP_PORT', 'LINUX_TUNNEL_KIND', 'DEFAULT_UNDERLAY_MTU', 'DEFAULT_MTU', 'MAX_HOST_SLOTS',
)
