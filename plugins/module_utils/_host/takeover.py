# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Default route takeover records (container_attach's ``gateway_takeover``).

A takeover records the default routes it replaces in
``TAKEOVER_DIR/<record name>.json`` with the container namespace's inode; a
detach (container_attach ``state: absent``) or host_network's removal of the
attachment (purge, ``state: absent``) puts them back exactly, or forgets the
record when the namespace is gone.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.module_utils._errors import BackendError, InvalidParameter, failure
from ansible_collections.netwire.fabric.plugins.module_utils._linux.netns import resolve

TAKEOVER_DIR = '/run/netwire/attach'  # records of the default routes a gateway_takeover replaced


def takeover_record_path(identity, ifname):
    """Where the default routes an attachment's gateway_takeover replaced are recorded."""
    return os.path.join(TAKEOVER_DIR, '%s.json' % _names.attach_record_name(identity, ifname))


def restore_routes(ctx, ns, record, record_path, fail):
    """Put back the default routes a takeover replaced (``record``) in ``ns``, then forget the record."""
    ctx.invalidate(ns.path)
    for r in record['routes']:
        kwargs = dict((k, r[k]) for k in ('family', 'proto', 'scope', 'table', 'gateway', 'priority')
                      if r[k] is not None)
        kwargs['dst'] = r['dst']
        if r['dev']:
            dev = ctx.link(r['dev'], ns.path)
            if dev is None:
                raise fail('cannot restore the default route %s via %s: its device %s is gone (the record stays in %s)'
                           % (r['dst'], r['gateway'], r['dev'], record_path))
            kwargs['oif'] = dev['index']
        ctx.call('restore', 'default route', r['dst'], 'route', 'add', netns=ns.path, **kwargs)
    os.unlink(record_path)


def restore_after_removal(ctx, alias, check_mode=False):
    """After host_network removed the attachment marked ``alias`` (purge or state=absent): put back the
    default routes its gateway_takeover replaced, exactly as container_attach's detach does, or forget
    the record when the container (or its namespace) is gone. Returns the actions."""
    identity, ifname = _names.parse_attach_alias(alias) or (None, None)
    if not (identity and ifname):
        return []
    path = takeover_record_path(identity, ifname)
    try:
        with open(path) as f:
            record = json.load(f)
    except (IOError, OSError, ValueError):
        return []
    ref_type, _sep, ref = identity.partition(':')
    try:
        ns = resolve(ref, ref_type)
    except InvalidParameter:
        ns = None
    if ns is None or record.get('netns_inode') != ns.inode():
        if not check_mode:
            os.unlink(path)
        return ['forget the replaced default routes of %s (its namespace is gone)' % identity]
    what = ', '.join('%s via %s' % (r['dst'], r['gateway'] or r['dev']) for r in record['routes'])
    if not check_mode:
        restore_routes(ctx, ns, record, path,
                       lambda reason: failure('detach', 'container interface', '%s:%s' % (ref, ifname), reason,
                                              BackendError))
    return ['restore the default route%s %s replaced by the takeover of %s %s'
            % ('s' if len(record['routes']) > 1 else '', what, identity, ifname)]
