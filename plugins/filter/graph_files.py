# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""netwire.fabric.graph_files: pictures of the netwire model (and of the hosts) as file contents.

The work is in ``plugins/plugin_utils/graph`` (pure, unit-tested); playbooks/graph.yml writes the files.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.netwire.fabric.plugins.plugin_utils import graph as _graph


def graph_files(model, facts=None):
    """``{file name: text}`` of the normalized ``model``; with ``facts`` ``{host: net_info result}``, the
    observed pictures too."""
    if not isinstance(model, dict) or not all(k in model for k in ('zones', 'networks', 'containers', 'hosts')):
        raise AnsibleFilterError('graph_files: expects the model returned by netwire.fabric.netwire_validate '
                                 '(its "model" key)')
    if facts is not None and not isinstance(facts, dict):
        raise AnsibleFilterError('graph_files: facts must be a mapping of host name to net_info result')
    return _graph.files(model, facts)


class FilterModule(object):

    def filters(self):
        return {'graph_files': graph_files}
