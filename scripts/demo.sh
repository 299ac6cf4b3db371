#!/usr/bin/env bash
# make demo: build the lab, run site.yml with the example model, audit it, and say what was built.
# Parts of the collection that do not exist yet are reported as such, never faked.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" ANSIBLE_CONFIG="$PWD/ansible.cfg"
LAB_HOSTS=${LAB_HOSTS:-3}
lab_dir=$(python -c "from tests.lab.core import state_dir; print(state_dir())")
inv=$lab_dir/inventory.ini
model=examples/model

echo "==> demo: building a lab of $LAB_HOSTS simulated hosts"
python -m tests.lab up --hosts "$LAB_HOSTS"

echo "==> demo: reaching every lab host over SSH with Ansible"
ANSIBLE_STDOUT_CALLBACK=minimal ansible all -i "$inv" -m ansible.builtin.ping

echo "==> demo: starting the example model's containers (Docker, --network none)"
# shellcheck disable=SC2046
python -m tests.lab containers $(python - "$model" <<'PY'
import sys, yaml
model = yaml.safe_load(open(sys.argv[1] + "/group_vars/all.yml"))
print(" ".join(c.get("ref") or name for name, c in sorted(model["netwire_containers"].items())))
PY
)

missing=()
echo "==> demo: ansible-playbook playbooks/site.yml with the example model ($model)"
ansible-playbook -i "$inv" -i "$model" playbooks/site.yml
echo "==> demo: running site.yml again: it must change nothing"
ansible-playbook -i "$inv" -i "$model" playbooks/site.yml | tee "$lab_dir/demo-rerun.log" | tail -n 5
if grep -Eq 'changed=[1-9]' "$lab_dir/demo-rerun.log"; then
    echo "demo: the rerun changed something: site.yml is not idempotent here" >&2
    exit 1
fi
if [ -f playbooks/verify.yml ]; then
    echo "==> demo: auditing the lab with the spec suite (playbooks/verify.yml)"
    ansible-playbook -i "$inv" -i "$model" playbooks/verify.yml
else
    missing+=("the spec audit, playbooks/verify.yml (issue: the spec suite)")
fi

echo "==> demo: drawing the network, as modelled and as the hosts report it (scripts/graph.sh)"
scripts/graph.sh > "$lab_dir/demo-graph.log"
grep -E '^ *"/|^graph:' "$lab_dir/demo-graph.log" | sed -e 's/^ *"//' -e 's/",\{0,1\}$//' -e 's/^/  /'

echo
echo "==> demo: what was built"
python -m tests.lab status
python - "$model" <<'PY'
import json, subprocess, sys, yaml
from tests.lab import Lab
lab = Lab.load()
model = yaml.safe_load(open(sys.argv[1] + "/group_vars/all.yml"))
for h in lab.hosts:
    links = h.json(["ip", "-j", "link"])
    ours = [l["ifname"] for l in links if (l.get("ifalias") or "").startswith("netwire:")]
    ovs = h.run(["ovs-vsctl", "list-br"]).stdout.split()
    tables = [t["table"]["name"] for t in json.loads(h.run(["nft", "-j", "list", "tables"]).stdout)["nftables"]
              if "table" in t]
    print("  %s: OVS bridges %s; our links %s; nft tables %s" % (
        h.name, ", ".join(ovs) or "none", ", ".join(ours) or "none", ", ".join(tables) or "none"))
for name, c in sorted(model["netwire_containers"].items()):
    ref = c.get("ref") or name
    out = subprocess.run(["docker", "exec", ref, "ip", "-o", "-4", "addr", "show", "dev", "eth1"],
                         capture_output=True, text=True).stdout.split()
    addr = out[3] if len(out) > 3 else "no address"
    print("  container %-6s on %s: eth1 %s" % (name, c["host"], addr))
PY
echo
echo "Look around:"
echo "  docker exec web1 ping -c 2 10.20.0.96             # dmz -> app: allowed"
echo "  docker exec db1 ping -c 2 -W 1 10.10.0.78         # backend -> dmz: blocked"
echo "  docker exec web1 nslookup web2                     # names: web2.dmz.netwire.internal, through the search path"
echo "  docker exec web1 nslookup db1.backend.netwire.internal   # NXDOMAIN: dmz may not reach backend"
echo "  ansible all -i $inv -m ansible.builtin.command -a 'ip -br addr'"
echo "  nsenter --net=$lab_dir/ns/host1.net --mount=$lab_dir/ns/host1.mnt --uts=$lab_dir/ns/host1.uts bash   # a shell on host1"
echo "  .build/graph/topology.svg, zones.svg, observed-topology.svg   # pictures of it (docs/graph.md); make graph redraws"
echo "  ansible-playbook -i $inv -i $model playbooks/down.yml   # remove what the collection built"
echo "  make lab-down    # remove the lab"
if [ ${#missing[@]} -gt 0 ]; then
    echo
    echo "Not built yet, so not run (the demo does not pretend):"
    for m in "${missing[@]}"; do echo "  - $m"; done
fi
