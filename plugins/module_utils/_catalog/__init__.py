# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The catalog's clients (issue 17): etcd's v3 JSON gateway (etcdv3.py), registration (registration.py: pure;
manager.py: the service_registration module)."""
