# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The host lock's option; its argument spec is ``_specs.LOCK_TIMEOUT`` (``_lock.DEFAULT_TIMEOUT``)."""

    DOCUMENTATION = r"""
options:
  lock_timeout:
    description:
      - How many seconds to wait for another netwire.fabric run on the host to finish. Every module that changes a
        host holds an exclusive lock (C(flock) on C(/run/netwire/lock)) for its whole run, so concurrent plays
        serialize; after this long the module fails naming the lock and the pid that holds it.
    type: int
    default: 120
"""
