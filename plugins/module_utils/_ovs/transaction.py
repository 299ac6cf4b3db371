# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The OVSDB transaction of one run (``ctx.ovs``, see ``_contract.Context``).

Managers read :meth:`OvsTransaction.snapshot`: OVSDB as it is, plus what is
already queued (simulated forward), so a tunnel planned after its bridge sees
the bridge, in check mode too. They queue their ops with :meth:`add` and call
:meth:`commit`, which sends the queue as ONE transaction (the interfaces it
touches must get an ofport, or it is rolled back), then runs the steps
registered with :meth:`after_commit` (addresses of internal ports, gratuitous
ARP). Inside :meth:`batch` (host_network) a manager's commit is deferred to the
end of the block: every OVS change of the block is one transaction. In check
mode nothing is sent; the simulated snapshot stays for the later managers.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import os

from ansible_collections.netwire.fabric.plugins.module_utils._ovs import ovsdb as _ovsdb


class OvsTransaction(object):
    def __init__(self, client=None, socket_path=None, timeout=None, check_mode=False):
        self.check_mode = check_mode
        self.socket_path = socket_path or _ovsdb.DEFAULT_SOCKET
        self.timeout = timeout or _ovsdb.DEFAULT_TIMEOUT
        self._client = client
        self._given = client is not None
        self._open = False
        self._sim = None
        self._batches = 0
        self.made = 0  # transactions sent by this object (what the benchmarks count on next_cfg)
        self._reset()

    def _reset(self):
        self._removals = []
        self._ops = []
        self._touched = []
        self._actions = []
        self._after = []
        self._what = None

    # ------------------------------------------------------------ connection
    def available(self):
        """Is there an OVSDB to talk to? (False on a host without Open vSwitch.)"""
        if self._given or self._open:
            return True
        if not _ovsdb.HAS_OVSDBAPP:
            return False
        probe = _ovsdb.OvsdbClient(self.socket_path)
        return not probe.endpoint.startswith("unix:") or os.path.exists(self.socket_path)

    def socket_exists(self):
        return self._given or self._open or os.path.exists(self.socket_path)

    @property
    def client(self):
        if self._client is None:
            self._client = _ovsdb.OvsdbClient(self.socket_path, self.timeout)
        if not self._open:
            self._client.__enter__()
            self._open = True
        return self._client

    def close(self):
        if self._open:
            self._open = False
            self._client.__exit__(None, None, None)

    # ------------------------------------------------------------ reading and queueing
    def snapshot(self):
        """OVSDB as this run leaves it so far: the live tables plus the queued ops."""
        if self._sim is None:
            self._sim = self.client.snapshot()
        return self._sim

    def add(self, ops, touched=(), actions=None, what=None):
        """Queue ``ops``. ``touched``: interfaces that must get an ofport; ``actions`` go
        into the error of a failed commit; ``what`` is (verb, kind, name) for its message."""
        if self._what is None and what is not None:
            self._what = what
        if not ops:
            return
        self._sim = _ovsdb.simulate(self.snapshot(), ops)
        self._ops.extend(ops)
        self._touched.extend(n for n in touched if n and n not in self._touched)
        if actions:
            self._actions.extend(actions)

    def add_removal(self, ops):
        """Queue ops that go in a transaction of their own, before the others.

        ovs-vswitchd keeps its socket on a deleted device even when its port is deleted
        and added back in one transaction: a restarted container's port takes two.
        """
        if ops:
            self._sim = _ovsdb.simulate(self.snapshot(), ops)
            self._removals.extend(ops)

    def after_commit(self, func, *args):
        """Run ``func(*args)`` once the queued ops are in OVSDB (now, when nothing is queued)."""
        if self.check_mode:
            return
        if self._batches or self._ops or self._removals:
            self._after.append((func, args))
        else:
            func(*args)

    @property
    def batching(self):
        return self._batches > 0

    @contextlib.contextmanager
    def batch(self, what=None, commit_on_error=False):
        """Every commit inside the block is deferred to its end: one transaction for all."""
        self._batches += 1
        ok = False
        try:
            yield self
            ok = True
        finally:
            self._batches -= 1
            if not self._batches:
                if ok or commit_on_error:
                    self.commit(what)
                else:
                    self._reset()
                    self._sim = None

    def commit(self, what=None):
        """Send the queue; return the number of transactions made (0 in a batch, in check mode
        or with nothing queued; 2 when removals had to go first)."""
        if self._batches:
            return 0
        removals, ops, touched, actions, after = self._removals, self._ops, self._touched, self._actions, self._after
        verb, kind, name = what or self._what or ("apply", "OVSDB change", "transaction")
        self._reset()
        if self.check_mode:
            return 0
        made = 0
        if removals:
            self.client.apply(removals, "detach", "OVS port", "")
            made += 1
        if ops:
            details = {"actions": actions} if actions else {}
            client = self.client
            client.apply_checked(client.snapshot(), ops, touched, verb, kind,
                                 name if name is not None else (", ".join(touched) or "(removals)"), **details)
            made += 1
        if made:
            self._sim = None  # read back what OVSDB holds now
        self.made += made
        for func, args in after:
            func(*args)
        return made
