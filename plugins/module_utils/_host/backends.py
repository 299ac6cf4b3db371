# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""container_attach's bridge backends: how a host end gets onto one type of bridge.

Everything that depends on the bridge type lives behind :class:`BridgeBackend`:
detecting the type, the bridge's MTU, reading the port's current state and
queueing the steps that plug the host end in. The Linux bridge backend is
here; the Open vSwitch backend (``_ovs/attach.py``) registers itself with
:func:`register_backend` and is picked by ``bridge_type`` or detected.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.netwire.fabric.plugins.module_utils._errors import InvalidParameter, MissingDependency
from ansible_collections.netwire.fabric.plugins.module_utils._linux.netlink import probe_link_kind

BRPORT_HAIRPIN = 1


class BridgeBackend(object):
    """How a host end gets onto one type of bridge. Subclass and register."""

    name = None

    def detect(self, ctx, bridge, netns=None):
        """True when ``bridge`` is a bridge of this type."""
        raise NotImplementedError

    def bridge_mtu(self, ctx, bridge, netns=None):
        raise NotImplementedError

    def port_state(self, ctx, host_link, netns=None):
        """The backend's view of the host end, merged into the attachment state."""
        raise NotImplementedError

    def plan_attach(self, plan, ctx, host_ifname, index_ref, bridge, params, current, netns=None):
        """Queue the steps that make the host end a port of ``bridge`` as ``params`` asks.

        ``current`` is :meth:`port_state` of the existing host end, or ``{}``
        when the host end is (re)created by this plan. Returns the predicted
        port state.
        """
        raise NotImplementedError

    def plan_detach(self, plan, ctx, host_ifname, host_link, netns=None):
        """Queue what removing the host end leaves behind (nothing for Linux)."""
        return None

    def plan_detach_orphans(self, plan, ctx, container, ifname, netns=None):
        """Queue the removal of what is left of (container, ifname) without a host end (nothing for Linux)."""
        return None

    @staticmethod
    def after_attach(ctx, func, *args):
        """Run a step that needs the port on its bridge (gratuitous ARP): now, for Linux."""
        func(*args)


class LinuxBridgeBackend(BridgeBackend):
    name = 'linux'

    def detect(self, ctx, bridge, netns=None):
        link = ctx.link(bridge, netns)
        return link is not None and link['kind'] == 'bridge'

    def bridge_mtu(self, ctx, bridge, netns=None):
        return ctx.link(bridge, netns)['mtu']

    def port_state(self, ctx, host_link, netns=None):
        master = ctx.link_by_index(host_link['master'], netns) if host_link.get('master') else None
        return {'bridge': master['ifname'] if master else None,
                'hairpin': bool(host_link['slave'].get('mode')) if master else False}

    def plan_attach(self, plan, ctx, host_ifname, index_ref, bridge, params, current, netns=None):
        if params.get('vlan_tag') is not None:
            self._refuse_vlan(ctx, bridge, params['vlan_tag'], netns)
        if current.get('bridge') != bridge:
            plan.step('plug %s into bridge %s' % (host_ifname, bridge), self._enslave, ctx, host_ifname, index_ref,
                      bridge, netns)
        hairpin = bool(params.get('hairpin'))
        if bool(current.get('hairpin')) != hairpin:
            plan.step('set hairpin %s on %s' % ('on' if hairpin else 'off', host_ifname), self._hairpin, ctx,
                      host_ifname, index_ref, hairpin, netns)
        return {'bridge': bridge, 'hairpin': hairpin}

    @staticmethod
    def _refuse_vlan(ctx, bridge, tag, netns):
        """A VLAN tag on a Linux bridge port is refused, never ignored.

        Ignoring it would put the container on the bridge's untagged LAN: an
        isolation breach. Whether the kernel can filter VLANs on a bridge at all
        is probed (a bridge with IFLA_BR_VLAN_FILTERING=1 in a throwaway
        namespace: EOPNOTSUPP without CONFIG_BRIDGE_VLAN_FILTERING).
        """
        if probe_link_kind('bridge', br_vlan_filtering=1) is False:
            raise MissingDependency("vlan_tag %s on Linux bridge '%s': this kernel has no bridge VLAN filtering"
                                    " (CONFIG_BRIDGE_VLAN_FILTERING), so the port would be untagged; use an Open"
                                    " vSwitch bridge for VLANs" % (tag, bridge))
        raise InvalidParameter("vlan_tag %s on Linux bridge '%s': VLAN ports are only supported on Open vSwitch"
                               " bridges; without it the port would be untagged" % (tag, bridge))

    @staticmethod
    def _enslave(ctx, host_ifname, index_ref, bridge, netns):
        master = ctx.link(bridge, netns)
        ctx.call('plug into bridge %s' % bridge, 'interface', host_ifname, 'link', 'set', index=index_ref(),
                 master=master['index'], netns=netns)

    @staticmethod
    def _hairpin(ctx, host_ifname, index_ref, hairpin, netns):
        ctx.call('set hairpin on', 'interface', host_ifname, 'brport', 'set', index=index_ref(),
                 mode=BRPORT_HAIRPIN if hairpin else 0, netns=netns)


BRIDGE_BACKENDS = {}
_BACKEND_ORDER = []


def register_backend(backend):
    """Make a bridge backend selectable (``bridge_type``) and detectable."""
    if backend.name not in BRIDGE_BACKENDS:
        _BACKEND_ORDER.append(backend.name)
    BRIDGE_BACKENDS[backend.name] = backend


register_backend(LinuxBridgeBackend())


def _register_ovs():
    # Imported here, not at the top: _ovs_attach needs no import from this file,
    # and hosts without ovsdbapp still get the Linux backend.
    from ansible_collections.netwire.fabric.plugins.module_utils._ovs.attach import OvsBridgeBackend
    register_backend(OvsBridgeBackend())


_register_ovs()


def select_backend(ctx, bridge, bridge_type='auto', netns=None):
    """The backend that owns ``bridge``, or a clear error naming what is wrong."""
    if bridge_type and bridge_type != 'auto':
        backend = BRIDGE_BACKENDS.get(bridge_type)
        if backend is None:
            raise InvalidParameter("bridge_type '%s' is not supported here (known: %s)"
                                   % (bridge_type, ', '.join(_BACKEND_ORDER)))
        candidates = [backend]
    else:
        candidates = [BRIDGE_BACKENDS[name] for name in _BACKEND_ORDER]
    for backend in candidates:
        if backend.detect(ctx, bridge, netns):
            return backend
    link = ctx.link(bridge, netns)
    if link is not None:
        raise InvalidParameter("'%s' is a %s, not a %s bridge" % (
            bridge, link['kind'] or 'plain interface', bridge_type if bridge_type != 'auto' else 'known'))
    raise InvalidParameter("bridge '%s' does not exist" % bridge)
