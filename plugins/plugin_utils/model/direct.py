# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A container's direct interfaces (issue 19): ``interfaces`` entries with a ``kind`` other than ``veth``.

A macvlan (or a macvlan on a VLAN sub-interface) of a host NIC, the NIC itself (``phys``) or a dummy
interface is on no netwire network: no bridge, no subnet of the model, no DNS name, no zone. It keeps
its own address (with its prefix) and gateway, as pipework's ``eth2 $CID 192.168.1.10/24@192.168.1.1``.
The readers keep these interfaces apart (``container['direct']``), so everything that works per network
(addresses, DNS, the firewall, the spec suite) never sees them; the plan gives each one to
container_attach with the module's own parameters, checked by the module's own normalizer.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.netwire.fabric.plugins.module_utils._errors import InvalidParameter
from ansible_collections.netwire.fabric.plugins.module_utils._host.attach_params import normalize_params
from ansible_collections.netwire.fabric.plugins.plugin_utils.model.fields import (
    _ifname,
    _path,
    _unknown_keys,
)

DIRECT_KINDS = ('macvlan', 'vlan', 'phys', 'dummy')
DIRECT_KEYS = ('kind', 'parent', 'ifname', 'address', 'gateway', 'mac', 'macvlan_mode', 'vlan', 'host_macvlan')


def is_direct(body):
    return isinstance(body, dict) and body.get('kind') not in (None, 'veth')


def read_direct(f, path, index, body):
    """One direct interface in normal form: the container_attach parameters it becomes, plus ``path``/``ok``."""
    itf = {'ifname': 'eth%d' % (index + 1), 'path': path, 'ok': True}
    if not _unknown_keys(f, path, body, DIRECT_KEYS):
        itf['ok'] = False
    if body.get('kind') not in DIRECT_KINDS:
        f.add(_path(path, 'kind'), 'kind must be one of veth, %s, got %r' % (', '.join(DIRECT_KINDS), body.get('kind')))
        itf['ok'] = False
        return itf
    if body.get('ifname') is not None:
        itf['ifname'] = _ifname(f, _path(path, 'ifname'), body['ifname'], 'interface name')
        if itf['ifname'] is None:
            itf['ok'] = False
            return itf
    attach = {'kind': body['kind'], 'ifname': itf['ifname'], 'addresses': [], 'routes': []}
    if body.get('address') is not None:
        attach['addresses'] = [body['address']]
    for key in ('parent', 'gateway', 'mac', 'macvlan_mode', 'vlan', 'host_macvlan'):
        if body.get(key) is not None:
            attach[key] = body[key]
    if body['kind'] != 'dummy' and not attach['addresses']:
        f.add(_path(path, 'address'), 'a %s interface needs its address, with its prefix (it is on no netwire'
              ' network to take one from)' % body['kind'])
        itf['ok'] = False
        return itf
    try:
        normalize_params(dict(attach, container='model', state='present'))
    except InvalidParameter as err:
        f.add(path, err.msg)
        itf['ok'] = False
        return itf
    itf['attach'] = attach
    return itf


def check_direct(f, containers):
    """Across containers: one NIC (``phys``) goes to one container interface of its host."""
    taken = {}
    for name in sorted(containers):
        c = containers[name]
        for itf in c.get('direct', []):
            attach = itf.get('attach')
            if not attach or attach['kind'] != 'phys' or not c['host']:
                continue
            key = (c['host'], str(attach['parent']).lower())
            if key in taken:
                f.add(_path(itf['path'], 'parent'), 'NIC %s of host %s is already handed to %s'
                      % (attach['parent'], c['host'], taken[key]))
            else:
                taken[key] = '%s:%s' % (name, itf['ifname'])


def direct_attachments(c):
    """The container_attach entries of container ``c``'s direct interfaces, for its host's plan."""
    out = []
    for itf in c.get('direct', []):
        if itf.get('attach'):
            out.append(dict(itf['attach'], container=c['ref'], container_type=c['ref_type']))
    return out
