# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The catalog's entry point (issue 17): HAProxy's configuration (config.py, pure), the catalog watch
(watcher.py, a program of its own) and the manager (manager.py, the haproxy_lb module)."""
