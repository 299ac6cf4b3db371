# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure normalizers shared by the Linux data-plane managers.

Nothing here touches the kernel: every function takes user input and either
returns its canonical form or raises :class:`InvalidParameter`. That keeps the
bad-input paths testable without root and guarantees that a rejected request
never reaches a netlink call (nothing half-applied).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re
from functools import lru_cache

from ansible_collections.netwire.fabric.plugins.module_utils._errors import InvalidParameter

IFNAMSIZ = 15
# The one interface-name rule (bridges, ports, tunnels, veth ends, firewall devices, the model):
# - what the kernel refuses (dev_valid_name): empty, over 15 bytes, '.', '..', '/', ':' (the
#   IPv4 label syntax, eth0:1), whitespace;
# - and '"', which the kernel allows: our names are printed inside double quotes (nft text in
#   the firewall's diff, actions, error messages) and nft's text syntax cannot escape it. nft's
#   JSON, which the firewall sends, could carry it; no naming scheme needs it.
# Anything else the kernel accepts is accepted, OVS included (its ports are kernel devices).
_IFNAME_RE = re.compile(r'^[^\s/:"]+$')
_MAC_RE = re.compile(r'^[0-9a-f]{2}(:[0-9a-f]{2}){5}$')


# ``ipaddress`` parses of texts, each made once a run: its objects never change, and a no-op of 1000
# attachments parsed the same subnets, gateways and addresses about 40000 times (issue 20). Texts only.
@lru_cache(maxsize=8192)
def parsed_interface(text):
    return ipaddress.ip_interface(text)


@lru_cache(maxsize=8192)
def parsed_network(text):
    """``ipaddress.ip_network(text)`` (strict: no host bits)."""
    return ipaddress.ip_network(text)


@lru_cache(maxsize=8192)
def parsed_address(text):
    return ipaddress.ip_address(text)


def valid(normalize, value, what, **kwargs):
    """``value`` through one of the normalizers here, its message in the ovs_* modules' shape ("Invalid ...").

    Here, not in _ovs/bridge.py, so that ovs_tunnel does not ship and import the bridge manager for it.
    """
    try:
        return normalize(value, what, **kwargs)
    except InvalidParameter as exc:
        raise InvalidParameter("Invalid %s" % exc)


def ifname(value, what='interface name'):
    """Validate an interface name (at most 15 bytes, no '/', ':', '"' or blanks; see ``_IFNAME_RE``)."""
    if not isinstance(value, str) or not value:
        raise InvalidParameter('%s must be a non-empty string' % what)
    if len(value.encode('utf-8')) > IFNAMSIZ:
        raise InvalidParameter("%s '%s' is longer than %d characters (Linux allows at most %d bytes)"
                               % (what, value, IFNAMSIZ, IFNAMSIZ))
    if value in ('.', '..') or not _IFNAME_RE.match(value):
        raise InvalidParameter("%s '%s' contains characters Linux does not allow (blank, '/', ':' or '\"')"
                               % (what, value))
    return value


def named_params(params, what):
    """A copy of an object's parameters with its ``name`` checked as an interface name, and
    whether the rest needs checking (``state: absent`` needs only the name)."""
    p = dict(params)
    p['name'] = ifname(p['name'], what)
    return p, p.get('state', 'present') != 'absent'


def interface_address(value, what='address', host_prefix=False):
    """Parse 'address/prefix' into a canonical string such as '10.1.0.5/24'.

    The prefix is required, unless ``host_prefix`` (ovs_bridge's port
    addresses): then a bare IP gets /32 or /128. The network and (IPv4)
    broadcast addresses of the subnet are refused because a host cannot own
    them.
    """
    text = str(value).strip()
    if '/' not in text and not host_prefix:
        raise InvalidParameter("%s '%s' has no prefix length (write e.g. '10.1.0.5/24')" % (what, text))
    try:
        iface = parsed_interface(text)
    except ValueError as exc:
        raise InvalidParameter("%s '%s' is not a valid CIDR: %s" % (what, text, exc))
    net = iface.network
    host_bits = net.max_prefixlen - net.prefixlen
    if host_bits >= 2 or (net.version == 6 and host_bits >= 1):
        if iface.ip == net.network_address:
            raise InvalidParameter("%s '%s' is the network address of %s" % (what, text, net))
        if net.version == 4 and iface.ip == net.broadcast_address:
            raise InvalidParameter("%s '%s' is the broadcast address of %s" % (what, text, net))
    if iface.ip.is_multicast or iface.ip.is_unspecified:
        raise InvalidParameter("%s '%s' cannot be assigned to an interface" % (what, text))
    return '%s/%d' % (iface.ip.compressed, net.prefixlen)


def interface_addresses(values):
    """Normalize a list of addresses; duplicates are an error, order is kept."""
    seen = []
    for value in values or []:
        addr = interface_address(value)
        if addr.split('/')[0] in [a.split('/')[0] for a in seen]:
            raise InvalidParameter("address '%s' is listed twice" % value)
        seen.append(addr)
    return seen


def ip_address(value, what='address', version=None):
    """Parse a plain IP address (no prefix) into its compressed form; ``version=4``: IPv4 only."""
    text = str(value).strip()
    try:
        addr = parsed_address(text)
    except ValueError:
        addr = None
    if addr is None or (version is not None and addr.version != version):
        raise InvalidParameter("%s '%s' is not %s" % (what, text, 'a valid IP address' if version is None
                                                      else 'an IPv%d address' % version))
    return addr.compressed


def network(value, what='destination', version=None):
    """Parse a network in CIDR form (host bits zero), or 'default' for a route destination.

    ``version=4``: IPv4 only, and no 'default' (a firewall's subnet).
    """
    text = str(value).strip()
    if version is None and text in ('default', '0.0.0.0/0', '::/0'):
        return text if text != 'default' else '0.0.0.0/0'
    if '/' not in text:
        raise InvalidParameter("%s '%s' has no prefix length" % (what, text))
    try:
        net = parsed_network(text)
    except ValueError as exc:
        raise InvalidParameter("%s '%s' is not a valid network: %s" % (what, text, exc))
    if version is not None and net.version != version:
        raise InvalidParameter("%s '%s' is not an IPv%d network" % (what, text, version))
    return net.compressed


def mac(value):
    """Canonical lower-case colon form of a unicast MAC address."""
    text = str(value).strip().lower().replace('-', ':')
    if not _MAC_RE.match(text):
        raise InvalidParameter("MAC address '%s' is malformed (expected six hex pairs)" % value)
    if int(text[:2], 16) & 1:
        raise InvalidParameter("MAC address '%s' is a multicast address" % value)
    if text == '00:00:00:00:00:00':
        raise InvalidParameter("MAC address '%s' is the null address" % value)
    return text


def int_range(value, low, high, what):
    if value is None:
        return None
    if not low <= int(value) <= high:
        raise InvalidParameter('%s %s is out of range (%d..%d)' % (what, value, low, high))
    return int(value)


# ---------------------------------------------------------------- DNS names (issue 14)

_DNS_LABEL_RE = re.compile(r'^(?!-)[a-z0-9-]{1,63}(?<!-)$')


def dns_name(value, what='DNS name'):
    """A valid DNS name (letters, digits and hyphens in labels of 1..63, 253 at most), lower case,
    without the trailing dot."""
    text = str(value).strip().lower()
    if text.endswith('.'):
        text = text[:-1]
    if not text or len(text) > 253 or not all(_DNS_LABEL_RE.match(l) for l in text.split('.')):
        raise InvalidParameter("%s '%s' is not a valid DNS name" % (what, value))
    return text
