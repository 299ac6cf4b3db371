# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Links several container attachments share (issue 19), created once and removed with their last user.

A NIC's VLAN sub-interface (``eth0.100``, the parent of kind ``vlan``'s macvlans) and a NIC's host-side
macvlan (``nwm-eth0``, through which the host reaches its macvlan containers) belong to no one
attachment. Each keeps its users (``<identity>/<ifname>``) in ``/run/netwire/shared/<link>.json``
(``/run`` goes with the links at reboot). :func:`plan_shared` is the pure rule; the manager reads the
records and the links, and queues what it returns.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible_collections.netwire.fabric.plugins.module_utils import _names

# the order the kinds of shared links go in: a host-side macvlan may sit on a VLAN sub-interface
REMOVAL_ORDER = ('macvlan', 'vlan')


def plan_shared(exists, owned, users, me, want):
    """What to do with one shared link for the attachment ``me`` (pure).

    ``exists``: the link is there; ``owned``: it carries our mark; ``users``: its recorded users;
    ``want``: ``me`` needs it. Returns ``{'create', 'delete', 'users'}``: create it when wanted and
    missing; delete it when ``me`` was its last user and it is ours (a link someone else made, such
    as their own ``eth0.100``, is used and never removed).
    """
    others = sorted(set(users) - set([me]))
    after = sorted(others + [me]) if want else others
    return {
        'create': bool(want and not exists),
        'delete': bool(not want and exists and owned and me in users and not others),
        'users': after,
    }


def record_path(link):
    return os.path.join(_names.SHARED_LINKS_DIR, '%s.json' % link)


def read_records():
    """Every shared link's record: ``{link: {'kind', 'lower', 'users'}}``."""
    out = {}
    try:
        names = sorted(os.listdir(_names.SHARED_LINKS_DIR))
    except OSError:
        return out
    for name in names:
        if not name.endswith('.json'):
            continue
        try:
            with open(os.path.join(_names.SHARED_LINKS_DIR, name)) as f:
                record = json.load(f)
        except (IOError, OSError, ValueError):
            continue
        if isinstance(record, dict) and isinstance(record.get('users'), list):
            out[name[:-len('.json')]] = record
    return out


def write_record(link, kind, lower, users):
    """Record ``users`` of ``link`` (no users: the record goes)."""
    path = record_path(link)
    if not users:
        if os.path.exists(path):
            os.unlink(path)
        return
    if not os.path.isdir(_names.SHARED_LINKS_DIR):
        os.makedirs(_names.SHARED_LINKS_DIR, 0o700)
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump({'kind': kind, 'lower': lower, 'users': sorted(users)}, f, sort_keys=True)
    os.rename(tmp, path)


# ---------------------------------------------------------------- every attachment of a direct kind

def direct_record_path(identity, ifname):
    return os.path.join(_names.DIRECT_DIR, '%s.json' % _names.attach_record_name(identity, ifname))


def read_direct_records():
    """The records of the direct attachments on this host: [{'identity', 'ifname', 'kind', 'ref', 'ref_type'}]."""
    out = []
    try:
        names = sorted(os.listdir(_names.DIRECT_DIR))
    except OSError:
        return out
    for name in names:
        if name.endswith('.json'):
            try:
                with open(os.path.join(_names.DIRECT_DIR, name)) as f:
                    record = json.load(f)
            except (IOError, OSError, ValueError):
                continue
            if isinstance(record, dict) and record.get('identity') and record.get('ifname'):
                out.append(record)
    return out


def write_direct_record(record):
    if not os.path.isdir(_names.DIRECT_DIR):
        os.makedirs(_names.DIRECT_DIR, 0o700)
    path = direct_record_path(record['identity'], record['ifname'])
    with open(path + '.tmp', 'w') as f:
        json.dump(record, f, sort_keys=True)
    os.rename(path + '.tmp', path)


def forget_direct(identity, ifname):
    path = direct_record_path(identity, ifname)
    if os.path.exists(path):
        os.unlink(path)
