"""playbooks/validate.yml end to end: it reports findings and plans without ever contacting a host.

The inventory's hosts are unreachable on purpose (SSH to an unused management address with a 1 s
timeout): validation must run and report anyway, because it never connects. Nothing is sent: with
-vvv, Ansible would log an SSH connection attempt, and the output must hold none.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.unit.model_cases import EXAMPLE, REPO

VENV_BIN = os.path.dirname(sys.executable)

UNREACHABLE = textwrap.dedent("""\
    [lab]
    host1 ansible_host=198.18.0.250 netwire_lab_underlay_ip=198.19.0.11
    host2 ansible_host=198.18.0.250 netwire_lab_underlay_ip=198.19.0.12
    host3 ansible_host=198.18.0.250 netwire_lab_underlay_ip=198.19.0.13

    [lab:vars]
    ansible_connection=ssh
    ansible_user=nobody
    ansible_timeout=1
    ansible_ssh_common_args='-o ConnectTimeout=1 -o BatchMode=yes'
    """)

BROKEN = textwrap.dedent("""\
    netwire_containers:
      web1:
        host: host1
        interfaces:
          - network: dmz
            address: 10.99.0.5
      web9:
        host: host9
        interfaces:
          - network: dmz
    """)


def playbook(*args):
    env = dict(os.environ, PATH=VENV_BIN + os.pathsep + os.environ.get("PATH", ""), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0", ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_RETRY_FILES_ENABLED="0")
    proc = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-vvv"] + list(args)
                          + [str(REPO / "playbooks" / "validate.yml")],
                          cwd=str(REPO), env=env, capture_output=True, text=True, timeout=120, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def assert_no_connection(output):
    assert "ESTABLISH SSH CONNECTION" not in output
    assert "unreachable=1" not in output and "UNREACHABLE" not in output


@pytest.fixture
def unreachable(tmp_path):
    path = tmp_path / "hosts.ini"
    path.write_text(UNREACHABLE)
    return path


def test_example_model_validates_without_contacting_hosts(unreachable):
    rc, out = playbook("-i", str(unreachable), "-i", str(EXAMPLE))
    assert rc == 0, out
    assert "The netwire model is valid: 3 zones, 3 networks, 5 containers over 3 hosts" in out
    assert "host2: bridges nw-app, nwu-eth1, nw-backend, nw-dmz" in out
    assert_no_connection(out)


def test_example_inventory_alone_is_enough_to_validate():
    rc, out = playbook("-i", str(EXAMPLE))
    assert rc == 0, out
    assert "The netwire model is valid" in out


def test_broken_model_fails_before_touching_any_host(unreachable, tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(BROKEN)
    rc, out = playbook("-i", str(unreachable), "-i", str(EXAMPLE), "-e", "@%s" % broken)
    assert rc != 0
    assert "netwire_containers.web1.interfaces[0].address: address 10.99.0.5 is outside the subnet 10.10.0.0/24" \
        in out
    assert "netwire_containers.web9.host: unknown host 'host9' (not in the inventory)" in out
    assert "Summarize the plans" not in out
    assert_no_connection(out)


def test_broken_model_in_an_inventory_directory(tmp_path):
    inventory = tmp_path / "inventory"
    (inventory / "group_vars").mkdir(parents=True)
    (inventory / "hosts.ini").write_text(UNREACHABLE)
    (inventory / "group_vars" / "all.yml").write_text(textwrap.dedent("""\
        netwire_zones: {web: {allow_to: [db]}}
        netwire_networks:
          front: {subnet: 10.1.0.0/16, zone: web}
          back: {subnet: 10.1.2.0/24, zone: web, overlay: vxlan, key: 5, mtu: 1480}
        netwire_containers:
          web1: {host: host1, interfaces: [{network: front}], publish: [{host_port: 80}, {host_port: 80}]}
        """))
    rc, out = playbook("-i", str(inventory))
    assert rc != 0
    for line in ("netwire_zones.web.allow_to[0]: unknown zone 'db'",
                 "netwire_networks.front.subnet: subnet 10.1.0.0/16 overlaps subnet 10.1.2.0/24 of network back",
                 "netwire_containers.web1.publish[1].host_port: tcp port 80 on 198.19.0.11 of host host1 is also "
                 "published by netwire_containers.web1.publish[0]"):
        assert line in out, out
    assert_no_connection(out)


def test_host_specific_model_is_a_finding(tmp_path):
    inventory = tmp_path / "inventory"
    (inventory / "host_vars").mkdir(parents=True)
    (inventory / "hosts.ini").write_text(UNREACHABLE)
    (inventory / "host_vars" / "host2.yml").write_text("netwire_zones: {other: {}}\n")
    rc, out = playbook("-i", str(inventory), "-i", str(EXAMPLE))
    assert rc != 0
    assert "hostvars.host2.netwire_zones: differs from netwire_zones as host host1 sees it" in out
    assert_no_connection(out)


def adhoc(*args):
    env = dict(os.environ, PATH=VENV_BIN + os.pathsep + os.environ.get("PATH", ""), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run([os.path.join(VENV_BIN, "ansible"), "-vvv"] + list(args),
                          cwd=str(REPO), env=env, capture_output=True, text=True, timeout=120, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def test_inline_model_and_hosts_outside_the_inventory(unreachable):
    args = json.dumps({"hosts": ["h1", "h2"], "zones": {"web": {}},
                       "networks": {"front": {"subnet": "10.1.0.0/24", "zone": "web"}},
                       "containers": {"web1": {"host": "h1", "interfaces": [{"network": "front"}]},
                                      "web2": {"host": "h2", "interfaces": [{"network": "front"}]}}})
    rc, out = adhoc("-i", str(unreachable), "host1", "-m", "netwire.fabric.netwire_validate", "-a", args)
    assert rc != 0
    assert "netwire_networks.front.overlay: network front spans 2 hosts (h1, h2) but has no overlay" in out
    assert_no_connection(out)
    small = json.loads(args)
    del small["containers"]["web2"]
    rc, out = adhoc("-i", str(unreachable), "host1", "-m", "netwire.fabric.netwire_validate", "-a", json.dumps(small))
    assert rc == 0, out
    assert "The netwire model is valid: 1 zones, 1 networks, 1 containers over 2 hosts" in out


def test_the_connection_detector_sees_a_connection_attempt(unreachable):
    """Positive control for assert_no_connection, with an ssh that is /bin/false (no packet leaves)."""
    _rc, out = adhoc("-i", str(unreachable), "host1", "-m", "ansible.builtin.ping", "-e",
                     "ansible_ssh_executable=/bin/false")
    with pytest.raises(AssertionError):
        assert_no_connection(out)
