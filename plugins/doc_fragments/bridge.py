# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """What the bridge modules (linux_bridge, ovs_bridge) share: the bridge's ``name`` and what their diff shows.

    List it before ``netwire.fabric.attributes``: Ansible merges an attribute that
    two fragments document keeping the keys of the one it read first, so this
    ``diff_mode`` description replaces the generic one and keeps its ``support``.
    """

    DOCUMENTATION = r"""
attributes:
  diff_mode:
    description: Shows the bridge before and after.
options:
  name:
    description:
      - Name of the bridge, at most 15 characters.
    type: str
    required: true
"""
