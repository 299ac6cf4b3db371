#!/usr/bin/env bash
# make demo: build the lab, run site.yml with the example model, audit it, and say what was built.
# Parts of the collection that do not exist yet are reported as such, never faked.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" ANSIBLE_CONFIG="$PWD/ansible.cfg"
LAB_HOSTS=${LAB_HOSTS:-3}
inv=.lab/inventory.ini
model_inv=examples/model

echo "==> demo: building a lab of $LAB_HOSTS simulated hosts"
python -m tests.lab up --hosts "$LAB_HOSTS"

echo "==> demo: reaching every lab host over SSH with Ansible"
ansible all -i "$inv" -m ansible.builtin.ping

missing=()
if [ -f playbooks/site.yml ] && [ -d "$model_inv" ]; then
    echo "==> demo: ansible-playbook playbooks/site.yml with the example model ($model_inv)"
    ansible-playbook -i "$inv" -i "$model_inv" playbooks/site.yml
else
    missing+=("playbooks/site.yml and the example model (issue: the model, roles and playbooks)")
fi
if [ -f playbooks/verify.yml ] && [ -d "$model_inv" ]; then
    echo "==> demo: auditing the lab with the spec suite (playbooks/verify.yml)"
    ansible-playbook -i "$inv" -i "$model_inv" playbooks/verify.yml
else
    missing+=("the spec audit, playbooks/verify.yml (issue: the spec suite)")
fi

echo
echo "==> demo: what is there"
python -m tests.lab status
for h in $(python -c "from tests.lab import Lab; print(' '.join(h.name for h in Lab.load().hosts))"); do
    python - "$h" <<'PY'
import sys
from tests.lab import Lab
h = Lab.load().host(sys.argv[1])
links = [l["ifname"] for l in h.json(["ip", "-j", "link"])]
bridges = h.run(["ovs-vsctl", "list-br"]).stdout.split()
print("  %s: interfaces %s; OVS bridges %s" % (h.name, ", ".join(links), ", ".join(bridges) or "none"))
PY
done
echo
echo "Look around:"
echo "  ansible all -i $inv -m ansible.builtin.command -a 'ip -br addr'"
echo "  nsenter --net=.lab/ns/host1.net --mount=.lab/ns/host1.mnt --uts=.lab/ns/host1.uts bash   # a shell on host1"
echo "  make lab-down    # remove the lab"
if [ ${#missing[@]} -gt 0 ]; then
    echo
    echo "Not built yet, so not run (the demo does not pretend):"
    for m in "${missing[@]}"; do echo "  - $m"; done
fi
