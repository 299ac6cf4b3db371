# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""host_network's registry of kinds: what a host plan may hold, and who builds it.

One :class:`Kind` per plan key. host_network (``_host/network.py``) checks every
entry against the kind's argument spec, then works section by section, in the
order of :data:`KINDS`:

* ``purge`` (owned objects the plan no longer declares) goes first for the kinds
  that act at once (netlink), in reverse order (a tunnel before its bridge);
* the kinds with ``ovs=True`` are planned on the run's OVSDB transaction, their
  purge queued after them, and the whole is committed as ONE transaction;
* then the other kinds, entry by entry: ``manager(ctx, params).run()``.

``depends(params)`` names what an entry needs (a bridge, a device): in check
mode, an entry that needs what this run would create is reported as a creation
instead of being planned against live state. ``creates`` is the link kind of
what an entry builds (``ctx.expect`` makes it visible to the later entries).

Adding a kind: write its manager (``_contract.Manager``: ``(ctx, params)``,
``run()``, ``purge(ctx, keep)``), its argument spec in ``_specs.py``, a loader
that imports it, and one entry here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import namedtuple

from ansible_collections.netwire.fabric.plugins.module_utils import _specs


# Each manager is imported when a run first needs it: a run converges one or two sections, and
# compiling the others' code from the module's zip cost about a tenth of a second a call (the
# imports stay statements, so that Ansible still ships the files with the module).

def _ovs_bridge():
    from ansible_collections.netwire.fabric.plugins.module_utils._ovs.bridge import OvsBridgeManager
    return OvsBridgeManager


def _linux_bridge():
    from ansible_collections.netwire.fabric.plugins.module_utils._linux.bridge import LinuxBridgeManager
    return LinuxBridgeManager


def _ovs_tunnel():
    from ansible_collections.netwire.fabric.plugins.module_utils._ovs.tunnel import OvsTunnelManager
    return OvsTunnelManager


def _wireguard():
    from ansible_collections.netwire.fabric.plugins.module_utils._wireguard.manager import WireguardManager
    return WireguardManager


def _linux_tunnel():
    from ansible_collections.netwire.fabric.plugins.module_utils._linux.tunnel import LinuxTunnelManager
    return LinuxTunnelManager


def _dns():
    from ansible_collections.netwire.fabric.plugins.module_utils._dns.manager import DnsmasqManager
    return DnsmasqManager


def _frr():
    from ansible_collections.netwire.fabric.plugins.module_utils._frr.manager import FrrManager
    return FrrManager


def _attach():
    from ansible_collections.netwire.fabric.plugins.module_utils._host.attach_direct import AttachManager
    return AttachManager


def _firewall():
    from ansible_collections.netwire.fabric.plugins.module_utils._firewall.manager import FirewallManager
    return FirewallManager


Kind = namedtuple('Kind', 'key spec section what load label depends creates ovs single')


def _name(p):
    return str(p.get('name'))


def _no_deps(p):
    return ()


KINDS = (
    Kind('ovs_bridges', _specs.OVS_BRIDGE, 'fabric', 'OVS bridge', _ovs_bridge,
         _name, _no_deps, 'openvswitch', True, False),
    Kind('linux_bridges', _specs.LINUX_BRIDGE, 'fabric', 'Linux bridge', _linux_bridge,
         _name, _no_deps, 'bridge', False, False),
    Kind('ovs_tunnels', _specs.OVS_TUNNEL, 'fabric', 'OVS tunnels', _ovs_tunnel,
         lambda p: '%s on %s' % (p.get('network'), p.get('bridge')), _no_deps, None, True, False),
    # issue 16: the host's WireGuard device (encrypted networks), before the tunnels that run over it
    Kind('wireguard', _specs.WIREGUARD, 'fabric', 'WireGuard device', _wireguard,
         _name, _no_deps, 'wireguard', False, False),
    Kind('linux_tunnels', _specs.LINUX_TUNNEL, 'fabric', 'Linux tunnel', _linux_tunnel,
         _name, lambda p: (p.get('dev'), p.get('master')), 'tunnel', False, False),
    # issue 14: one dnsmasq per network bridge, after the bridges and tunnels
    Kind('dns', _specs.DNSMASQ, 'fabric', 'dnsmasq', _dns,
         _name, lambda p: (p.get('interface'),), None, False, False),
    # issue 15: this host's BGP EVPN speaker (zebra and bgpd), after the VXLAN devices whose VNIs it announces;
    # one entry (a dict), absent from the plan of a host that runs none (purged then, like an undeclared object)
    Kind('frr', _specs.FRR, 'fabric', 'FRR', _frr,
         lambda p: 'bgp-evpn', _no_deps, None, False, True),
    Kind('attachments', _specs.CONTAINER_ATTACH, 'containers', 'container attachment',
         _attach,
         lambda p: '%s:%s' % (p.get('container'), p.get('ifname', 'eth1')), lambda p: (p.get('bridge'),), None,
         False, False),
    Kind('firewall', _specs.FIREWALL, 'firewall', 'firewall', _firewall,
         lambda p: str(p.get('table_name')), _no_deps, None, False, True),
)

BY_KEY = dict((k.key, k) for k in KINDS)


def manager(key):
    """The manager class of the kind ``key`` (imported on first use)."""
    return BY_KEY[key].load()


def of_section(section, ovs=None):
    """The kinds of ``section`` in build order (only the OVSDB ones, or only the others, with ``ovs``)."""
    return [k for k in KINDS if k.section == section and (ovs is None or k.ovs == ovs)]
