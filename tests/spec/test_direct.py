# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A container's direct interfaces (issue 19): macvlan, VLAN, NIC (phys) and dummy, and the host links they share."""

from __future__ import annotations

from ansible_collections.netwire.fabric.plugins.module_utils import _names

from ._state import OWNER_ALIAS_PREFIX
from .test_host import _has_addresses, _has_default_route, _kind


def _data(link):
    return (link.get("linkinfo") or {}).get("info_data") or {}


def _lower_name(st, link):
    """The name of the host link a container's macvlan hangs on (``ip -d`` gives its index there)."""
    index = link.get("link_index")
    for name, host_link in st.links().items():
        if index is not None and host_link.get("ifindex") == index:
            return name
    return link.get("link")


def test_direct_interface(spec, direct_interface):
    """Inside the container: the interface under the model's name, of the model's kind (a macvlan in the
    model's mode on the model's NIC or VLAN sub-interface; the NIC itself, by name or MAC; a dummy),
    marked as netwire's, up, with the model's address, MAC and default route."""
    item = direct_interface
    a = item["attach"]
    st = spec.states[item["host"]]
    where = "%s: %s %s in container %s on %s" % (item["path"], a["kind"], a["ifname"], item["container"],
                                                 item["host"])
    try:
        inside = st.container(item["ref"], item["ref_type"])
    except AssertionError as exc:
        raise AssertionError("%s: %s" % (where, exc))
    link = inside["links"].get(a["ifname"])
    assert link is not None, "%s does not exist (the container has %s)" % (where, ", ".join(inside["links"]))
    alias = link.get("ifalias") or ""
    if a["kind"] == "phys":
        mark = _names.parse_phys_alias(alias)
        assert mark is not None and mark[2] == a["ifname"], \
            "%s is not a NIC netwire handed over (alias %r)" % (where, alias)
        if a.get("parent_mac"):
            assert link.get("address") == a["parent_mac"], "%s: MAC %s, the model's NIC is mac:%s" % (
                where, link.get("address"), a["parent_mac"])
        else:
            assert mark[0] == a["parent"], "%s is host NIC %s, the model says %s" % (where, mark[0], a["parent"])
    else:
        assert alias.startswith(_names.ATTACH_ALIAS_PREFIX) and alias.endswith("/%s" % a["ifname"]), \
            "%s is not marked as netwire's (alias %r)" % (where, alias)
        want_kind = "dummy" if a["kind"] == "dummy" else "macvlan"
        assert _kind(link) == want_kind, "%s: kind %s, the model says %s" % (where, _kind(link), want_kind)
        if a["kind"] in ("macvlan", "vlan"):
            assert _data(link).get("mode") == a["macvlan_mode"], "%s: macvlan mode %s, the model says %s" % (
                where, _data(link).get("mode"), a["macvlan_mode"])
            lower = _lower_name(st, link)
            assert lower == item["lower"], "%s hangs on %s, the model says %s" % (where, lower, item["lower"])
        if a.get("mac"):
            assert link.get("address") == a["mac"], "%s: MAC %s, the model says %s" % (
                where, link.get("address"), a["mac"])
    _has_addresses(link, a["addresses"], where)
    assert "UP" in link.get("flags", []), "%s is down" % where
    _has_default_route(inside, a, where)


def test_direct_host_link(spec, direct_host_link):
    """On the host: the host-side macvlan of a NIC (bridge mode, the model's addresses) or a NIC's VLAN
    sub-interface, on that NIC, marked as netwire's shared link, up."""
    item = direct_host_link
    st = spec.states[item["host"]]
    where = "%s: %s %s on %s (for %s)" % (item["path"], item["kind"], item["name"], item["host"],
                                          ", ".join(item["users"]))
    link = st.links().get(item["name"])
    assert link is not None, "%s does not exist" % where
    mark = _names.HOST_MACVLAN_ALIAS if item["kind"] == "macvlan" else _names.VLAN_ALIAS
    assert (link.get("ifalias") or "") == mark, "%s: alias %r, not netwire's %r" % (
        where, link.get("ifalias"), mark)
    assert (link.get("ifalias") or "").startswith(OWNER_ALIAS_PREFIX)
    assert _kind(link) == item["kind"], "%s: kind %s" % (where, _kind(link))
    assert link.get("link") == item["link"], "%s hangs on %s, the model says %s" % (
        where, link.get("link"), item["link"])
    if item["kind"] == "macvlan":
        assert _data(link).get("mode") == item["mode"], "%s: mode %s, not %s" % (
            where, _data(link).get("mode"), item["mode"])
    else:
        assert _data(link).get("id") == item["vlan"], "%s: VLAN %s, the model says %s" % (
            where, _data(link).get("id"), item["vlan"])
    _has_addresses(link, item["addresses"], where)
    assert "UP" in link.get("flags", []), "%s is down" % where
