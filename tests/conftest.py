"""Shared pytest configuration.

* the lab fixtures (tests/lab/pytest_plugin.py);
* ``ansible_collections.netwire.fabric`` importable from this checkout, for
  every test (unit tests import the module_utils directly).
"""

import sys

from tests.lab.modrun import ensure_collection_link

_COLLECTIONS = str(ensure_collection_link())
if _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)

pytest_plugins = ["tests.lab.pytest_plugin"]
