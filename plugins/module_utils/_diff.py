# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Before/after tracking shared by every manager.

A manager reads the current state, records every difference it is going to
converge with :meth:`DifferenceTracker.add`, and only then applies (unless in
check mode). ``changed``, the ``diff`` and the human-readable ``actions`` all
come from the same records, so they can never disagree.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy


class DifferenceTracker(object):
    def __init__(self):
        self._differences = []
        self.actions = []

    def add(self, name, before, after, action=None):
        """Record that ``name`` goes from ``before`` to ``after`` (no-op when equal)."""
        if before == after:
            return False
        self._differences.append((name, copy.deepcopy(before), copy.deepcopy(after)))
        if action:
            self.actions.append(action)
        return True

    def action(self, text):
        """Record an action that has no single before/after value (e.g. 'create veth')."""
        self.actions.append(text)

    @property
    def changed(self):
        return bool(self._differences or self.actions)

    def get_before_after(self):
        before, after = {}, {}
        for name, old, new in self._differences:
            before[name] = old
            after[name] = new
        return before, after

    def diff(self, before_state=None, after_state=None):
        """Return an Ansible ``diff`` dict.

        When full before/after states are given they are used (the natural
        choice for a whole-object view); otherwise only the differing fields.
        """
        if before_state is not None or after_state is not None:
            return {"before": before_state or {}, "after": after_state or {}}
        before, after = self.get_before_after()
        return {"before": before, "after": after}
