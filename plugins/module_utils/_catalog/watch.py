# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A watch of the catalog: the watcher program (``_lb/watcher.py``, written out as its own source) run by the
daemon helper on a marked JSON configuration that lists, per service, the record files it writes.

Two are built on it: the entry point's backends' names (haproxy_lb, ``lbwatch-<name>``) and the services'
names on a host (service_registration, ``svcnames-<host>``). Their files are named by
``_names.watch_paths``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import inspect

from ansible_collections.netwire.fabric.plugins.module_utils._catalog import registration as reg
from ansible_collections.netwire.fabric.plugins.module_utils._daemon import Daemon, is_marked, read_text
from ansible_collections.netwire.fabric.plugins.module_utils._lb import watcher


def daemon(what, name, paths, role, conf, python, dirs, systemd=None):
    """The :class:`Daemon` ``what``-``name`` of a watch. ``paths`` holds ``<role>_script``, ``<role>_conf`` and
    ``<role>_pidfile``; ``conf`` is the configuration's text, or None for a watch that must not run (its files
    are then wanted empty: removed)."""
    script, conf_path = paths[role + '_script'], paths[role + '_conf']
    files = {script: inspect.getsource(watcher) if conf is not None else '', conf_path: conf or ''}
    return Daemon(what, name, [python, script, conf_path], paths[role + '_pidfile'], files=files, dirs=dirs,
                  forks=False, systemd=systemd)


def listed_files(text):
    """The record files a watch configuration (its text) lists, for every service."""
    data = reg.parse_record(text) or {}
    out = []
    for spec in (data.get('services') or {}).values():
        if isinstance(spec, dict):
            out.extend(str(f) for f in watcher.files_of(spec))
    return out


def ours_listed(text):
    """The record files a watch configuration of ours lists that are ours still (marked): what goes with the
    watch. None for a configuration that is not ours."""
    if not is_marked(text):
        return []
    return [f for f in listed_files(text) if is_marked(read_text(f))]
