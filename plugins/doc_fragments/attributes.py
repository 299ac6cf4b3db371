# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The ``attributes:`` of the collection's modules.

    ``netwire.fabric.attributes``: a module that changes the host (check and diff
    mode supported). ``netwire.fabric.attributes.info``: a module that only reads.
    A module may add to an attribute (for example a ``diff_mode`` description
    that says what its diff holds); its own keys win. Both carry the modules'
    ``author``, so that it is written once.
    """

    DOCUMENTATION = r"""
author:
  - netwire.fabric contributors (!UNKNOWN)
attributes:
  check_mode:
    support: full
    description: Reports what would change and changes nothing.
  diff_mode:
    support: full
    description: Shows the managed objects before and after.
  platform:
    support: full
    platforms: posix
    description: Runs on Linux hosts (netlink and network namespaces).
"""

    INFO = r"""
author:
  - netwire.fabric contributors (!UNKNOWN)
attributes:
  check_mode:
    support: full
    description: The module never changes anything.
  diff_mode:
    support: none
    description: Nothing to diff.
  platform:
    support: full
    platforms: posix
    description: Runs on Linux hosts (netlink and network namespaces).
"""
