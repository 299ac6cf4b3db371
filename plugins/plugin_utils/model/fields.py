# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Typed field readers: each turns one value of the inventory into its normal form or a finding.

Malformed input of any shape yields a finding (``{'path', 'msg'}``) at the
place it was read from, never an exception.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.netwire.fabric.plugins.module_utils import _validate
from ansible_collections.netwire.fabric.plugins.module_utils._errors import InvalidParameter
from ansible_collections.netwire.fabric.plugins.plugin_utils.model.schema import IDENT_RE, NAME_RE


def _path(base, key):
    if isinstance(key, int) and not isinstance(key, bool):
        return '%s[%d]' % (base, key)
    text = str(key)
    if IDENT_RE.match(text) or NAME_RE.match(text) and '.' not in text:
        return '%s.%s' % (base, text) if base else text
    return "%s[%r]" % (base, text)


def _at(*parts):
    path = ''
    for part in parts:
        path = _path(path, part)
    return path


class _Findings(object):
    def __init__(self):
        self.items = []
        self.warnings = []

    def add(self, path, msg):
        self.items.append({'path': path, 'msg': msg})

    def warn(self, path, msg):
        self.warnings.append({'path': path, 'msg': msg})


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _as_dict(f, path, value, what, allow_none=True):
    if value is None and allow_none:
        return {}
    if isinstance(value, dict):
        return value
    f.add(path, '%s must be a mapping, got %s' % (what, _kind(value)))
    return None


def _section(f, var, raw, known, default):
    """The inventory variable ``var`` (value ``raw``), a mapping of ``known`` keys: ``(value, body)``, the value
    being ``default`` (None when ``var`` is absent) and ``body`` None when there is nothing more to read (absent,
    or not a mapping: a finding). An unknown key is a finding."""
    if raw is None:
        return None, None
    body = _as_dict(f, var, raw, var, allow_none=False)
    if body is not None:
        _unknown_keys(f, var, body, known)
    return default, body


def _as_list(f, path, value, what):
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    f.add(path, '%s must be a list, got %s' % (what, _kind(value)))
    return None


def _kind(value):
    if value is None:
        return 'nothing (null)'
    if isinstance(value, bool):
        return 'a boolean'
    if _is_int(value):
        return 'a number'
    if isinstance(value, float):
        return 'a float'
    if isinstance(value, str):
        return "a string ('%s')" % (value if len(value) <= 40 else value[:37] + '...')
    if isinstance(value, dict):
        return 'a mapping'
    if isinstance(value, (list, tuple)):
        return 'a list'
    return type(value).__name__


def _unknown_keys(f, path, value, known):
    ok = True
    for key in sorted(value, key=str):
        if not isinstance(key, str) or key not in known:
            f.add(_path(path, key), "unknown key '%s' (known keys: %s)" % (key, ', '.join(known)))
            ok = False
    return ok


def _name(f, path, key, what):
    if not isinstance(key, str):
        f.add(path, '%s name %r must be a string, got %s' % (what, key, _kind(key)))
        return False
    if not NAME_RE.match(key):
        f.add(path, "%s name '%s' must start with a letter or digit and hold only letters, digits, '_', '.', '-'"
              % (what, key))
        return False
    return True


def _member(f, path, value, known, what, missing, note=''):
    """``value`` when it names one of ``known`` (zones, hosts, networks); otherwise a finding
    (``missing`` when there is no value) and None."""
    if value is None:
        f.add(path, missing)
    elif not isinstance(value, str):
        f.add(path, '%s must be a string, got %s' % (what, _kind(value)))
    elif value not in known:
        f.add(path, "unknown %s '%s'%s" % (what, value, note))
    else:
        return value
    return None


def _choice(f, path, value, choices, default, what):
    if value is None:
        return default
    if isinstance(value, str) and value in choices:
        return value
    f.add(path, '%s must be one of %s, got %s' % (what, ', '.join(choices), _kind(value)))
    return None


def _bool(f, path, value, default, what):
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ('yes', 'true', 'on', 'no', 'false', 'off'):
        return value.lower() in ('yes', 'true', 'on')
    f.add(path, '%s must be a boolean, got %s' % (what, _kind(value)))
    return None


def _int(f, path, value, low, high, what):
    """An integer in [low, high]; digit strings are accepted (templating may yield them)."""
    number = None
    if _is_int(value):
        number = value
    elif isinstance(value, str) and value.strip().isdigit() and len(value.strip()) < 20:
        number = int(value.strip())
    if number is None:
        f.add(path, '%s must be an integer, got %s' % (what, _kind(value)))
        return None
    if not low <= number <= high:
        f.add(path, '%s %d is out of range (%d..%d)' % (what, number, low, high))
        return None
    return number


def _str(f, path, value, what):
    if isinstance(value, str) and value:
        return value
    f.add(path, '%s must be a non-empty string, got %s' % (what, _kind(value)))
    return None


def _ifname(f, path, value, what):
    """An interface name by the modules' own rule (``_validate.ifname``), as a finding."""
    text = _str(f, path, value, what)
    if text is None:
        return None
    try:
        return _validate.ifname(text, what)
    except InvalidParameter as err:
        f.add(path, err.msg)
        return None


def _ipv4(text):
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    return addr if addr.version == 4 else None


def _usable(net, addr):
    """Why ``addr`` cannot be a host address in ``net``, or None."""
    if addr not in net:
        return 'is outside the subnet %s' % net
    if addr == net.network_address:
        return 'is the network address of %s' % net
    if addr == net.broadcast_address:
        return 'is the broadcast address of %s' % net
    return None


def netdev_underlay_finding(f, h, host, what):
    """A finding on ``host`` (its read host ``h``) when it runs OVS tunnels for ``what`` (an overlay, a trunk)
    with the userspace datapath but lacks what moving its underlay address onto an OVS bridge needs."""
    if h['ovs_datapath'] == 'netdev' and (not h['underlay_interface'] or h['underlay_prefix'] is None):
        f.add(h['paths']['underlay_interface' if not h['underlay_interface'] else 'underlay_address'],
              'host %s uses the OVS userspace datapath (netdev) for %s: its underlay address moves to an OVS bridge '
              'owning the underlay NIC, which needs underlay_interface and underlay_address with a prefix length'
              % (host, what))
