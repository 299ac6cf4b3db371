"""A managed host with its own Python (docs/hosts.md).

host1 is managed like a stock Debian host: Ansible uses its /usr/bin/python3, which is
externally managed (PEP 668) and has none of the modules' libraries, and the host reaches no
package index (lab hosts route nowhere but the lab). host_prep gives the modules a virtualenv
of their own in the host's private /opt/netwire, from wheels the controller downloaded;
the roles run the modules with it. host2 and host3 keep the checkout's virtualenv.

The example model is built, rebuilt (0 changed, no pip), checked and taken down.
"""

import json
import os
import re

import pytest
import yaml

from tests.lab.core import REPO, SYSTEM_PYTHON, render_inventory, venv_python
from tests.integration.site_helpers import Containers, copy_example, ok, owned_state

pytestmark = pytest.mark.lab

VENV = "/opt/netwire/venv"
PINS = dict(line.split("==") for line in (REPO / "requirements" / "hosts.txt").read_text().split()
            if "==" in line)
INSTALL_TASK = "TASK [netwire.fabric.host_prep : Install the modules' libraries into their virtualenv]"


class Ctx(object):
    pass


def task_hosts(run, title):
    """The hosts a task did something for (ok or changed, not skipped) in a playbook run."""
    out = run.stdout
    if title not in out:
        return set()
    block = out.split(title, 1)[1].split("\nTASK [", 1)[0].split("\nPLAY ", 1)[0]
    return set(re.findall(r"^(?:ok|changed): \[([^\]]+)\]", block, re.M))


@pytest.fixture(scope="module")
def ctx(lab, tmp_path_factory):
    host1 = lab.host("host1")
    # Only ever clear host1's own /opt/netwire, never the machine's.
    assert host1.run(["mountpoint", "-q", "/opt/netwire"], check=False).returncode == 0, \
        "host1 has no private /opt/netwire: this lab predates it, bring it down and up again"
    host1.run(["rm", "-rf", VENV])
    c = Ctx()
    c.lab, c.host1 = lab, host1
    tmp = tmp_path_factory.mktemp("hostpy")
    c.inventory = tmp / "inventory.ini"
    c.inventory.write_text(render_inventory(lab.hosts, lab.ssh_dir / "id_ed25519", lab.ssh_dir / "known_hosts",
                                            venv_python(), system_python=("host1",)))
    c.model = tmp / "model"
    c.docker = Containers()
    copy_example(c.model, c.docker, lab.instance, prefix="hp-")
    c.play = lambda playbook, **kw: lab.playbook(playbook, [c.model], inventory=c.inventory, **kw)
    c.prep_only = tmp / "prep.yml"
    c.prep_only.write_text(yaml.safe_dump([{"name": "Prepare host1", "hosts": "host1", "gather_facts": True,
                                            "roles": [{"role": "netwire.fabric.host_prep"}]}]))
    c.prep_twice = tmp / "prep_twice.yml"
    c.prep_twice.write_text(yaml.safe_dump([{"name": "Prepare host1 (%s)" % n, "hosts": "host1", "gather_facts": False,
                                             "roles": [{"role": "netwire.fabric.host_prep"}]}
                                            for n in ("first", "again")]))
    yield c
    c.play("playbooks/down.yml")
    c.docker.remove()
    host1.run(["rm", "-rf", VENV])


def test_host1_is_a_stock_debian_host(ctx):
    """The premise: host1's interpreter is the system's, PEP 668, without the libraries."""
    assert "host1 ansible_host=%s netwire_lab_underlay_ip=%s ansible_python_interpreter=%s" % (
        ctx.host1.mgmt_ip, ctx.host1.underlay_ip, SYSTEM_PYTHON) in ctx.inventory.read_text()
    marker = ctx.host1.run([SYSTEM_PYTHON, "-c", "import os, sysconfig; print(os.path.join("
                            "sysconfig.get_path('stdlib'), 'EXTERNALLY-MANAGED'))"]).stdout.strip()
    assert ctx.host1.run(["test", "-f", marker], check=False).returncode == 0, "%s is not externally managed" % marker
    for lib in ("pyroute2", "ovsdbapp"):
        assert ctx.host1.run([SYSTEM_PYTHON, "-c", "import " + lib], check=False).returncode != 0, \
            "%s already has %s: the test would prove nothing" % (SYSTEM_PYTHON, lib)


def test_check_mode_on_a_fresh_host_changes_nothing(ctx):
    run = ok(ctx.play(str(ctx.prep_only), check=True), "host_prep --check")
    assert run.changed()["host1"] > 0, run.recap
    assert ctx.host1.run(["test", "-e", VENV], check=False).returncode != 0, "check mode made the virtualenv"


def test_site_converges_with_the_modules_in_their_own_virtualenv(ctx):
    first = ok(ctx.play("playbooks/site.yml"), "site.yml")
    assert first.changed()["host1"] > 0, first.recap
    assert task_hosts(first, INSTALL_TASK) == {"host1"}, first
    # The libraries, at their pins, in host1's own virtualenv ...
    versions = json.loads(ctx.host1.run([VENV + "/bin/python", "-c", "import json\nfrom importlib.metadata import "
                                         "version\nprint(json.dumps({p: version(p) for p in %r}))"
                                         % sorted(PINS)]).stdout)
    assert versions == PINS
    # ... which is private to host1: neither host2 nor the machine sees it.
    assert ctx.lab.host("host2").run(["test", "-e", VENV], check=False).returncode != 0
    assert not os.path.exists(VENV), "the machine's own %s exists" % VENV
    # The modules ran on host1: web1 (there) reaches web2 (host2) over the dmz network.
    web2 = ctx.docker.address("web2")
    assert web2, "web2 has no address on eth1"
    assert ctx.docker.ping("web1", web2)


def test_rerun_changes_nothing_and_runs_no_pip(ctx):
    again = ok(ctx.play("playbooks/site.yml"), "site.yml rerun")
    assert set(again.changed().values()) == {0}, again.recap
    assert task_hosts(again, INSTALL_TASK) == set(), "pip ran although the stamp matches:\n%s" % again.stdout


def test_check_diff_on_the_converged_host_changes_nothing(ctx):
    check = ok(ctx.play("playbooks/site.yml", check=True, diff=True), "site.yml --check --diff")
    assert set(check.changed().values()) == {0}, check.recap


def test_the_spec_suites_drift_check_runs_the_modules_with_their_python(ctx, monkeypatch):
    """verify.yml's drift check calls a module through testinfra, with the interpreter the roles use."""
    import testinfra

    from tests.spec.conftest import MODULE_PYTHON
    monkeypatch.setenv("ANSIBLE_CONFIG", str(REPO / "ansible.cfg"))
    monkeypatch.setenv("PATH", "%s:%s" % (REPO / ".venv" / "bin", os.environ.get("PATH", "")))
    host = testinfra.get_host("ansible://host1", ansible_inventory=str(ctx.inventory))
    result = host.ansible("netwire.fabric.net_info", None, check=True,
                          extra_vars={"ansible_python_interpreter": MODULE_PYTHON})
    assert not result.get("failed") and "links" in result, result
    # and without it, host1's own Python cannot run the modules (what the extra var is for)
    from testinfra.modules.ansible import AnsibleException
    try:
        bad = host.ansible("netwire.fabric.net_info", None, check=True)
    except AnsibleException as exc:
        bad = exc.result
    assert "links" not in bad and "pyroute2" in bad.get("msg", ""), bad


def test_a_changed_requirement_rebuilds_the_virtualenv(ctx):
    """A stamp that does not match (another pin set) installs again, then reruns are quiet."""
    ctx.host1.run("echo stale > %s/netwire-requirements.txt" % VENV)
    run = ok(ctx.play(str(ctx.prep_only)), "host_prep with a stale stamp")
    assert run.changed()["host1"] > 0 and task_hosts(run, INSTALL_TASK) == {"host1"}, run
    again = ok(ctx.play(str(ctx.prep_only)), "host_prep rerun")
    assert again.changed()["host1"] == 0 and task_hosts(again, INSTALL_TASK) == set(), again


def test_the_role_run_twice_in_one_playbook_reads_the_host_again(ctx):
    """host_prep twice in one ansible-playbook run (two plays): with forwarding off, the first turns it on and
    the second reads the host again, finds it on and reports nothing; a second read that reused the first would
    turn forwarding on again and report that as a change."""
    enable = "TASK [netwire.fabric.host_prep : Enable IPv4 forwarding]"
    read = "TASK [netwire.fabric.host_prep : Read what the host has (interfaces, forwarding, Open vSwitch, packages)]"
    ctx.host1.run(["sysctl", "-qw", "net.ipv4.ip_forward=0"])
    run = ok(ctx.play(str(ctx.prep_twice)), "host_prep twice in one run")
    assert run.stdout.count(read) == 2, run.stdout
    blocks = [b.split("\nTASK [", 1)[0].split("\nPLAY ", 1)[0] for b in run.stdout.split(enable)[1:]]
    assert [re.findall(r"^(changed|ok|skipping): \[host1\]", b, re.M) for b in blocks] == [["changed"]], run.stdout
    assert ctx.host1.run(["sysctl", "-n", "net.ipv4.ip_forward"]).stdout.strip() == "1"


def test_down_removes_everything_with_the_modules_virtualenv(ctx):
    down = ok(ctx.play("playbooks/down.yml"), "down.yml")
    assert down.changed()["host1"] > 0, down.recap
    for host in ctx.lab.hosts:
        assert owned_state(host) == {"links": [], "ovs_bridges": [], "nft_tables": []}, host.name
    again = ok(ctx.play("playbooks/down.yml"), "down.yml rerun")
    assert set(again.changed().values()) == {0}, again.recap
