# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan-then-apply plumbing shared by the Linux link managers.

A manager first reads state and validates everything, queueing each change as
a step on a :class:`Plan` (with the human-readable action). Only when planning
succeeded does :meth:`Plan.apply` run the steps, and never in check mode. So a
bad parameter can never leave a half-applied change behind.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import socket
import time

from ansible_collections.netwire.fabric.plugins.module_utils._diff import DifferenceTracker
from ansible_collections.netwire.fabric.plugins.module_utils import _names
from ansible_collections.netwire.fabric.plugins.module_utils._contract import Manager, Result
from ansible_collections.netwire.fabric.plugins.module_utils._errors import BackendError, InvalidParameter, NotOwned, failure
from ansible_collections.netwire.fabric.plugins.module_utils._validate import parsed_interface

IFA_F_NODAD = 0x02


class Plan(object):
    def __init__(self, ctx):
        self.ctx = ctx
        self.tracker = DifferenceTracker()
        self.steps = []

    def step(self, action, func, *args, **kwargs):
        """Queue ``func`` and record ``action`` (shown in ``actions``)."""
        self.tracker.action(action)
        self.steps.append((func, args, kwargs))

    @property
    def changed(self):
        return self.tracker.changed

    @property
    def actions(self):
        return list(self.tracker.actions)

    def apply(self):
        if self.ctx.check_mode:
            return
        for func, args, kwargs in self.steps:
            func(*args, **kwargs)
        self.steps = []


def addr_family(address):
    return socket.AF_INET6 if ':' in address.split('/')[0] else socket.AF_INET


def _address_key(addr):
    iface = parsed_interface(addr)
    return (iface.version, iface.ip, iface.network.prefixlen)


def sort_addresses(addresses):
    """``addresses`` ('10.1.0.5/24') by family, address and prefix, as a new list."""
    return sorted(addresses, key=_address_key) if len(addresses) > 1 else list(addresses)


def diff_addresses(current, wanted):
    """(to_add, to_remove) turning ``current`` into exactly ``wanted``."""
    current_set = set(current)
    wanted_set = set(wanted)
    return ([a for a in wanted if a not in current_set],
            sort_addresses([a for a in current if a not in wanted_set]))


def plan_addresses(plan, name, index_ref, current, wanted, netns=None):
    """Queue address changes on a link. ``index_ref`` is an int or a callable
    returning the link index at apply time (for links created by the plan)."""
    to_add, to_remove = diff_addresses(current, wanted)
    for addr in to_remove:
        plan.step('remove address %s from %s' % (addr, name), _addr, plan.ctx, 'del', name, index_ref, addr, netns)
    for addr in to_add:
        plan.step('add address %s to %s' % (addr, name), _addr, plan.ctx, 'add', name, index_ref, addr, netns)
    return to_add, to_remove


def index_of(ctx, name, netns=None):
    """A callable giving ``name``'s index at apply time (the link may be created by the plan)."""
    def current_index():
        return ctx.link(name, netns)['index']
    return current_index


def resolve_index(ctx, index_ref, name, netns=None):
    if callable(index_ref):
        return index_ref()
    if index_ref is None:
        link = ctx.link(name, netns)
        return link['index'] if link else None
    return index_ref


def _addr(ctx, command, name, index_ref, address, netns, exist_ok=False):
    ip_text, prefix = address.split('/')
    kwargs = {'index': resolve_index(ctx, index_ref, name, netns), 'address': ip_text,
              'prefixlen': int(prefix), 'netns': netns}
    if exist_ok:
        kwargs['ignore'] = (errno.EEXIST,)
    if addr_family(address) == socket.AF_INET6 and command == 'add':
        kwargs['flags'] = IFA_F_NODAD
    verb = 'add address %s to' % address if command == 'add' else 'remove address %s from' % address
    ctx.call(verb, 'interface', name, 'addr', command, **kwargs)


def purge_links(ctx, keep, owns, netns=None, then=None):
    """Delete the links ``owns(link)`` selects (ours, by their alias) that are not in ``keep``
    (None: all of them); returns one ``_contract.Result`` per link, with its name as label.
    ``then(link)``, after each deletion, returns the actions of what that deletion implies."""
    from ansible_collections.netwire.fabric.plugins.module_utils._contract import Result

    out = []
    for link in list(ctx.links(netns).values()):
        if not owns(link) or (keep is not None and link['ifname'] in keep):
            continue
        kind = link.get('kind') or 'link'
        if not ctx.check_mode:
            # a veth that went with its other end since the read (its container's namespace was cleaned up,
            # or the peer deleted) is already what this purge wants
            ctx.call('delete', kind, link['ifname'], 'link', 'del', index=link['index'], netns=netns,
                     ignore=(errno.ENODEV,))
        out.append(Result(True, ['delete %s %s (owned, not declared)' % (kind, link['ifname'])],
                          {'before': {'ifname': link['ifname'], 'kind': link.get('kind')}, 'after': None},
                          label=link['ifname']))
        implied = then(link) if then is not None else None
        if implied:
            out.append(Result(True, implied, label=link['ifname']))
    return out


# links created by someone else (ovs-vswitchd creates OVS internal ports) ---

def link_state(ctx, name, netns=None):
    """{'exists', 'up', 'addresses'} of one link; addresses without link-local ones, sorted."""
    link = ctx.link(name, netns)
    if link is None:
        return {'exists': False, 'up': False, 'addresses': []}
    return {'exists': True, 'up': link['up'], 'addresses': sorted(ctx.link_addresses(link['index'], netns))}


def wait_link(ctx, name, netns=None, timeout=5.0, until=None):
    """The link ``name``, waiting up to ``timeout`` seconds for it to appear (and, with ``until``, for
    ``until(link)`` to hold); the last read (None if it never appeared) when the time is up."""
    deadline = time.time() + timeout
    while True:
        link = ctx.read_link(name, netns)
        if (link is not None and (until is None or until(link))) or time.time() >= deadline:
            ctx.invalidate(netns)
            return link
        time.sleep(0.05)


def converge_link(ctx, name, to_add, to_remove, up=True, netns=None, what='interface', waiting_for='it'):
    """Apply an address plan (from :func:`diff_addresses`) on a link someone else creates, and bring it up.

    The link may still be on its way (``waiting_for`` names what creates it);
    an address that is already there is not an error.
    """
    link = wait_link(ctx, name, netns)
    if link is None:
        raise failure('configure', what, name, 'the link did not appear after %s' % waiting_for, BackendError)
    for addr in to_remove:
        _addr(ctx, 'del', name, link['index'], addr, netns)
    for addr in to_add:
        _addr(ctx, 'add', name, link['index'], addr, netns, exist_ok=True)
    if up and not link['up']:
        ctx.call('bring up', what, name, 'link', 'set', index=link['index'], state='up', netns=netns)


def fabric_owned(link):
    """Ours and of the fabric: a bridge or a kernel tunnel (not a container attachment)."""
    alias = link.get('alias') or ''
    bridge, tunnel = _names.BRIDGE_ALIAS, _names.TUNNEL_ALIAS
    return _names.is_owned(alias) and (alias in (bridge, tunnel) or alias.startswith(tunnel + ':')
                                       or alias.startswith(bridge + ':'))


class LinkManager(Manager):
    """A Linux link of ours named by ``params['name']`` (a bridge, a kernel tunnel): the run both share.

    A subclass sets ``what`` (its word in messages), ``view`` (its key in the result),
    ``bridges`` (what its purge removes), ``normalize`` (its pure parameter check) and
    ``read_state(ctx, link, netns)`` (the view of a link, ``{}`` for none), and implements
    ``plan_present(link, before)``, which queues steps on ``self.plan`` and sets ``self.predicted``.
    """

    what = None
    view = None
    bridges = False  # purge removes the fabric's bridges (True) or its other links: kernel tunnels (False)
    read_state = None

    @classmethod
    def purge(cls, ctx, keep=None):
        """Delete our fabric links of this kind (see ``bridges``) not in ``keep``."""
        return purge_links(ctx, keep, lambda link: (link.get('kind') == 'bridge') == cls.bridges and fabric_owned(link))

    def __init__(self, ctx, params, netns=None):
        super(LinkManager, self).__init__(ctx, params)
        self.netns = netns
        self.plan = Plan(ctx)
        self.params = None
        self.predicted = {}
        self.warnings = []

    def _fail(self, verb, reason, cls=InvalidParameter):
        return failure(verb, self.what, self.raw_params.get('name'), reason, cls)

    def normalize(self, params):
        raise NotImplementedError

    def state(self, link):
        return self.read_state(self.ctx, link, self.netns)

    def plan_present(self, link, before):
        raise NotImplementedError

    def delete_word(self, link):
        """How the delete action names the link ('bridge', 'vxlan', ...)."""
        return self.what

    def run(self):
        try:
            self.params = self.normalize(self.raw_params)
        except InvalidParameter as err:
            raise self._fail('manage', err.msg)
        link = self.ctx.link(self.params['name'], self.netns)
        before = self.state(link)
        if self.params['state'] == 'absent':
            self.plan_absent(link)
        else:
            self.plan_present(link, before)
        self.plan.apply()
        if self.ctx.check_mode:
            after = self.predicted
        else:
            after = self.state(self.ctx.link(self.params['name'], self.netns))
        view = {self.view: after}
        return Result(self.plan.changed, self.plan.actions, {'before': before, 'after': after},
                      warnings=self.warnings, label=self.params['name'], **view)

    def plan_absent(self, link):
        self.predicted = {}
        if link is None:
            return
        if not _names.is_owned(link['alias']):
            raise self._fail('remove', 'an interface of that name exists but netwire did not create it'
                             ' (no netwire alias); it is left alone', NotOwned)
        self.plan.step('delete %s %s' % (self.delete_word(link), link['ifname']), self.ctx.call, 'delete', self.what,
                       link['ifname'], 'link', 'del', index=link['index'], netns=self.netns)
