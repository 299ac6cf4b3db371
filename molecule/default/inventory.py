#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: netwire.fabric contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Molecule's inventory: the hosts of the lab instance in NETWIRE_LAB_INSTANCE (0 when unset).

An inventory script, so that every value is concrete (no templates): the spec audit reads the
inventory with ``ansible-inventory --list``, which renders nothing. Addresses and paths come from
the lab itself (tests/lab/core.py), so the scenario runs on whichever lab instance is chosen.
"""

import json
import os
import sys

REPO = os.environ.get("NETWIRE_REPO") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, REPO)

from tests.lab.core import OUTSIDE_IP, UNDERLAY_GW, lab_instance, mgmt_ip, state_dir, venv_python  # noqa: E402

HOSTS = ("host1", "host2", "host3")


def inventory():
    instance = lab_instance()
    lab = state_dir(instance)
    ssh = os.path.join(str(lab), "ssh")
    common = {
        "ansible_user": "root",
        "ansible_ssh_private_key_file": os.path.join(ssh, "id_ed25519"),
        "ansible_ssh_common_args": "-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes"
                                   % os.path.join(ssh, "known_hosts"),
        "ansible_python_interpreter": venv_python(),
        # the checkout's virtualenv carries the modules' libraries too (docs/hosts.md)
        "netwire_module_python": venv_python(),
        "host_prep_manage_python": False,
        "netwire_lab_outside_ip": OUTSIDE_IP,
        "netwire_lab_underlay_gateway": UNDERLAY_GW,
        # lab hosts share the machine's /etc: keep forwarding out of /etc/sysctl.d
        "host_prep_sysctl_persist": False,
    }
    hostvars = dict((name, dict(common, ansible_host=mgmt_ip(n, instance))) for n, name in enumerate(HOSTS, 1))
    return {"lab": {"hosts": list(HOSTS)}, "_meta": {"hostvars": hostvars}}


def main(argv):
    data = inventory()
    if len(argv) > 2 and argv[1] == "--host":
        print(json.dumps(data["_meta"]["hostvars"].get(argv[2], {})))
    else:
        print(json.dumps(data, indent=2, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv)
