# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The contract every kind of host object implements.

A run builds one :class:`Context` and hands it to every manager it uses::

    with Context(check_mode=module.check_mode) as ctx:
        result = LinuxBridgeManager(ctx, module.params).run()   # a Result
    module.exit_json(**result.as_dict())

* :class:`Context` is what the managers of one run share: check mode, one
  netlink socket per namespace (:class:`NetlinkSession`, opened lazily), the
  run's OVSDB transaction (:class:`OvsTransaction`, opened only when a manager
  needs OVS), the nft client, and the objects this run *would* create (check
  mode: :meth:`Context.expect`, seen by every later manager).
* :class:`Manager` is built from ``(ctx, params)``; :meth:`Manager.run` plans,
  applies (never in check mode) and returns a :class:`Result`.
* Ownership and purge: :meth:`Manager.purge` removes the objects of the kind
  that this collection owns and that are not in ``keep`` (and only those), and
  returns one :class:`Result` per removal. host_network's registry of kinds
  (``_host/kinds.py``) calls it for every kind of a section.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def link_by_index(links, index):
    """The link of ``links`` (name -> link) with ``index``; None if there is none."""
    for link in links.values():
        if link['index'] == index:
            return link
    return None


class Closing(object):
    """Closed at the end of a ``with`` block (subclasses implement :meth:`close`)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        raise NotImplementedError


class Result(object):
    """What a manager's run (or a purge) did: ``changed``, ``actions``, ``diff``
    (``{'before', 'after'}``), ``warnings`` and the kind's own view (``bridge``,
    ``tunnels``, ``attachment``, ...). ``label`` names the object in a composed
    run (host_network); it is not part of the module's return value.
    """

    def __init__(self, changed=False, actions=None, diff=None, warnings=None, label=None, **view):
        self.changed = bool(changed)
        self.actions = list(actions or [])
        self.diff = diff
        self.warnings = list(warnings or [])
        self.label = label
        self.view = view

    def as_dict(self):
        """The module's return value. ``warnings`` only when there are some: the module
        runner sends them through ``module.warn`` (exit_json must not get the key)."""
        out = dict(self.view)
        out.update(changed=self.changed, actions=list(self.actions), diff=self.diff)
        if self.warnings:
            out['warnings'] = list(self.warnings)
        return out

    # read access by key, for callers that treat a result as the module's dict
    def _fields(self):
        return dict(self.view, changed=self.changed, actions=self.actions, diff=self.diff, warnings=self.warnings)

    def __getitem__(self, key):
        return self._fields()[key]

    def __contains__(self, key):
        return key in self._fields()

    def get(self, key, default=None):
        return self._fields().get(key, default)


class Context(Closing):
    """What the managers of one run share (see the module docstring).

    ``netlink``, ``ovs`` and ``nft`` may be given (tests, a caller that has one
    already: it closes them); otherwise each is made on first use and closed
    with the context.
    """

    def __init__(self, check_mode=False, netlink=None, ovs=None, nft=None, ovsdb_socket=None, ovsdb_timeout=None):
        self.check_mode = check_mode
        self._netlink = netlink
        self._ovs = ovs
        self._nft = nft
        self._made = set()  # what this context opened, and so closes
        self.ovsdb_socket = ovsdb_socket
        self.ovsdb_timeout = ovsdb_timeout
        self._expected = {}  # netns ('' = ours) -> {name: predicted link}

    def close(self):
        if 'ovs' in self._made:
            self._ovs.close()
        if 'netlink' in self._made:
            self._netlink.close()

    # ------------------------------------------------------------ shared backends
    @property
    def netlink(self):
        if self._netlink is None:
            from ansible_collections.netwire.fabric.plugins.module_utils._linux.netlink import NetlinkSession
            self._netlink = NetlinkSession(check_mode=self.check_mode)
            self._made.add('netlink')
        return self._netlink

    @property
    def ovs(self):
        """The run's OVSDB transaction (see ``_ovs/transaction.py``)."""
        if self._ovs is None:
            from ansible_collections.netwire.fabric.plugins.module_utils._ovs.transaction import OvsTransaction
            self._ovs = OvsTransaction(socket_path=self.ovsdb_socket, timeout=self.ovsdb_timeout,
                                       check_mode=self.check_mode)
            self._made.add('ovs')
        return self._ovs

    @property
    def nft(self):
        if self._nft is None:
            from ansible_collections.netwire.fabric.plugins.module_utils._firewall.nft import NftClient
            self._nft = NftClient()
        return self._nft

    # ------------------------------------------------------------ check mode: what this run would create
    def expect(self, name, kind, netns=None, mtu=1500, alias=None, master=None, up=True):
        """Check mode: this run would create ``name`` (a link, or an OVS bridge whose
        internal port is one). Every later manager of the run sees it through
        :meth:`link` (with a negative index) and :meth:`pending`; a real link is
        never shadowed. Outside check mode this does nothing: the real object is read back.
        """
        if not self.check_mode:
            return
        expected = self._expected.setdefault(netns or '', {})
        if name in expected:
            return
        master_link = self.link(master, netns) if master else None
        expected[name] = {
            'index': -1 - sum(len(e) for e in self._expected.values()), 'ifname': name,
            'kind': kind, 'slave_kind': None, 'alias': alias, 'mtu': mtu, 'mac': None, 'up': up,
            'operstate': 'UP' if up else 'DOWN', 'master': master_link['index'] if master_link else None,
            'link': None, 'link_netnsid': None, 'data': {}, 'slave': {},
        }

    def pending(self, name, netns=None):
        """True when ``name`` does not exist yet and this (check mode) run would create it."""
        return name in self._expected.get(netns or '', {}) and name not in self.netlink.links(netns)

    # ------------------------------------------------------------ netlink (reads see what the run would create)
    def links(self, netns=None):
        live = self.netlink.links(netns)
        expected = self._expected.get(netns or '')
        if not expected:
            return live
        merged = dict(expected)
        merged.update(live)
        return merged

    def link(self, name, netns=None):
        return self.links(netns).get(name)

    def link_by_index(self, index, netns=None):
        return link_by_index(self.links(netns), index)

    # the other reads and every request are the session's own
    NETLINK = ('addresses', 'link_addresses', 'routes', 'rules', 'qdiscs', 'flood_remotes', 'netnsid', 'ipr',
               'read_link', 'ipv6_disabled', 'call')

    def invalidate(self, netns=None):
        """Forget the netlink reads of ``netns``. Before the first read there is nothing to forget, and no
        session is opened for it (that imported pyroute2, 0.1 s, in every ovs_bridge run without addresses)."""
        if self._netlink is not None:
            self._netlink.invalidate(netns)

    def __getattr__(self, name):
        if name in Context.NETLINK:
            return getattr(self.netlink, name)
        raise AttributeError("'%s' object has no attribute '%s'" % (type(self).__name__, name))


class Manager(object):
    """Base of every kind's manager: built from ``(ctx, params)``, :meth:`run` returns a :class:`Result`."""

    kind = None  # the human name of the kind ('Linux bridge', 'OVS tunnels', ...)

    def __init__(self, ctx, params):
        self.ctx = ctx
        self.raw_params = params

    @property
    def check_mode(self):
        return self.ctx.check_mode

    def run(self):
        raise NotImplementedError

    @classmethod
    def purge(cls, ctx, keep=None):
        """Remove what this collection owns of this kind and ``keep`` does not name
        (``None``: everything of the kind). Never touches an object we do not own.
        Returns one :class:`Result` (with its ``label``) per removed object."""
        return []
