# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pictures of the network (controller only, pure): the model's topology and zone flows, and the
same topology as the hosts report it, drift marked (docs/graph.md).

``scene`` turns the normalized model (``model.analyze``) into scenes (clusters,
nodes, edges, colours), ``observed`` marks a scene with what ``net_info``
reports, ``render`` writes a scene as Graphviz DOT or Mermaid. :func:`files`
is what ``playbooks/graph.yml`` (through the ``netwire.fabric.graph_files``
filter) writes: ``{file name: text}``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.netwire.fabric.plugins.plugin_utils.graph.observed import Observation
from ansible_collections.netwire.fabric.plugins.plugin_utils.graph.render import to_dot, to_mermaid
from ansible_collections.netwire.fabric.plugins.plugin_utils.graph.scene import (
    LARGE_NODES,
    LARGE_TUNNELS,
    NO_MARKS,
    Scene,
    is_large,
    overview,
    topology,
    zone_flows,
)

__all__ = ('scenes', 'files', 'Observation', 'Scene', 'to_dot', 'to_mermaid', 'topology', 'overview',
           'zone_flows', 'is_large', 'LARGE_NODES', 'LARGE_TUNNELS')


def scenes(normalized, marks=NO_MARKS, prefix=''):
    """The topology pictures of a model: one, or for a large model an overview and one per network."""
    if not is_large(normalized):
        title = 'netwire topology%s' % (' as observed' if prefix else '')
        return [topology(normalized, marks=marks, name=prefix + 'topology', title=title)]
    out = [overview(normalized, marks=marks, name=prefix + 'topology')]
    for n in sorted(normalized['networks']):
        scene = topology(normalized, [n], marks=marks, name='%snetwork-%s' % (prefix, n))
        if prefix:
            scene.title += ' (as observed)'
        out.append(scene)
    return out


def files(normalized, facts=None):
    """``{file name: text}``: ``topology`` (or ``topology`` and ``network-<name>`` when large) and ``zones``,
    each as ``.dot`` and ``.mmd``; with ``facts`` (``{host: net_info result}``), the same topology pictures
    prefixed ``observed-``, and ``observed-summary.txt``."""
    pictures = scenes(normalized) + [zone_flows(normalized)]
    out = {}
    if facts is not None:
        observation = Observation(normalized, facts)
        pictures += scenes(normalized, observation, prefix='observed-')
        counts = observation.counts()
        out['observed-summary.txt'] = 'missing %(missing)d, extra %(extra)d, not reported %(unknown)d\n' % counts
    for scene in pictures:
        out[scene.name + '.dot'] = to_dot(scene)
        out[scene.name + '.mmd'] = to_mermaid(scene)
    return out
