"""playbooks/graph.yml without a lab: the model's pictures, drawn without contacting any host.

The inventory's hosts are unreachable on purpose (test_model_playbook's inventory): the model view
never connects. The filter is exercised here, in ansible-playbook, rather than imported: importing
the controller's ansible.errors into the unit test process changes how AnsibleModule reports.
"""

import json
import os
import shutil
import subprocess

import pytest

from ansible_collections.netwire.fabric.plugins.plugin_utils import graph

from tests.unit import graph_cases
from tests.unit.model_cases import EXAMPLE, REPO, demo
from tests.unit.test_model_playbook import UNREACHABLE, VENV_BIN, assert_no_connection

DOT = shutil.which("dot")


def run(argv):
    env = dict(os.environ, PATH=VENV_BIN + os.pathsep + os.environ.get("PATH", ""), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0", ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_RETRY_FILES_ENABLED="0")
    proc = subprocess.run(argv, cwd=str(REPO), env=env, capture_output=True, text=True, timeout=180, check=False)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def inventory(tmp_path_factory):
    path = tmp_path_factory.mktemp("inv") / "hosts.ini"
    path.write_text(UNREACHABLE)
    return path


def graph_playbook(inventory, out, *extra):
    return run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", str(inventory), "-i", str(EXAMPLE),
                "-e", "graph_dir=%s" % out] + list(extra) + [str(REPO / "playbooks" / "graph.yml")])


def test_graph_playbook_draws_the_model_without_contacting_a_host(inventory, tmp_path):
    out = tmp_path / "pictures"
    out.mkdir()
    # a stale picture of ours goes, a file of the user's stays
    (out / "network-gone.dot").write_text("digraph {}\n")
    (out / "network-gone.svg").write_text("<svg/>\n")
    (out / "notes.txt").write_text("mine\n")
    rc, output = graph_playbook(inventory, out, "-vvv")
    assert rc == 0, output[-3000:]
    assert_no_connection(output)
    model, host_vars = demo()
    want = graph.files(graph_cases.normalized(model, host_vars))
    rendered = ["%s.%s" % (name[:-4], ext) for name in want if name.endswith(".dot") for ext in ("svg", "png")]
    assert sorted(p.name for p in out.iterdir()) == sorted(list(want) + (rendered if DOT else []) + ["notes.txt"])
    for name, text in want.items():
        assert (out / name).read_text() == text
    assert (out / "notes.txt").read_text() == "mine\n"
    assert "%s/topology.{dot,mmd" % out in output


def test_the_filter_refuses_what_is_not_a_model():
    rc, output = run([os.path.join(VENV_BIN, "ansible"), "localhost", "-m", "ansible.builtin.debug", "-a",
                      json.dumps({"msg": "{{ {'zones': {}} | netwire.fabric.graph_files }}"})])
    assert rc != 0 and "expects the model returned by netwire.fabric.netwire_validate" in output, output[-2000:]
