"""Module files are documentation plus one runner call; shared facts have one home and their doc fragment agrees."""

import ast
from pathlib import Path

import pytest
import yaml

from ansible_collections.netwire.fabric.plugins.doc_fragments import lock as lock_fragment
from ansible_collections.netwire.fabric.plugins.doc_fragments import ovsdb as ovsdb_fragment
from ansible_collections.netwire.fabric.plugins.module_utils import _lock, _specs
from ansible_collections.netwire.fabric.plugins.module_utils._ovs import ovsdb as _ovsdb

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"
MODULES = sorted(p for p in (PLUGINS / "modules").glob("*.py") if p.name != "__init__.py")


def options(fragment, name="DOCUMENTATION"):
    return yaml.safe_load(getattr(fragment.ModuleDocFragment, name))["options"]


def test_the_ovsdb_defaults_are_the_code_s():
    socket = options(ovsdb_fragment, "SOCKET")["ovsdb_socket"]
    assert socket["default"] == _ovsdb.DEFAULT_SOCKET == _specs.OVSDB_SOCKET["default"]
    both = options(ovsdb_fragment)
    assert both["ovsdb_socket"] == socket
    assert both["timeout"]["default"] == _ovsdb.DEFAULT_TIMEOUT == _specs.OVSDB_TIMEOUT["default"]


def test_the_lock_timeout_default_is_the_lock_s():
    assert options(lock_fragment)["lock_timeout"]["default"] == _lock.DEFAULT_TIMEOUT == _specs.LOCK_TIMEOUT["default"]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.stem)
def test_no_module_file_exits_by_itself(path):
    calls = [node.func.attr for node in ast.walk(ast.parse(path.read_text()))
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)]
    assert not {"fail_json", "exit_json"} & set(calls), "%s: exit through _runner.run_module" % path.name


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.stem)
def test_no_module_file_writes_the_ovsdb_socket(path):
    assert _ovsdb.DEFAULT_SOCKET not in path.read_text()
