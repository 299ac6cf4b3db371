"""Make ``ansible_collections.netwire.fabric`` importable in unit tests (no root, no lab)."""

import sys

from tests.lab.modrun import ensure_collection_link

_path = str(ensure_collection_link())
if _path not in sys.path:
    sys.path.insert(0, _path)
