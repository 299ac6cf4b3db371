#!/usr/bin/env bash
# make graph: pictures of the example model under .build/graph (docs/graph.md). With the lab up
# (make demo), also the lab's hosts as they report themselves, drift marked; without it, the model
# only (it then contacts no host).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" ANSIBLE_CONFIG="$PWD/ansible.cfg"
out=${GRAPH_DIR:-$PWD/.build/graph}
model=examples/model
lab_dir=$(python -c "from tests.lab.core import state_dir; print(state_dir())")
if python -c "import sys; from tests.lab import Lab; lab = Lab.load(); sys.exit(0 if lab and lab.is_up() else 1)"; then
    ansible-playbook -i "$lab_dir/inventory.ini" -i "$model" playbooks/graph.yml -e "graph_dir=$out" -e observed=true
else
    echo "graph: no lab is up (make demo builds one): drawing the model only"
    ansible-playbook -i "$model" playbooks/graph.yml -e "graph_dir=$out"
fi
echo "graph: the pictures are in $out (open topology.svg; docs/graph.md says what the colours mean)"
