#!/usr/bin/env bash
# Redraw the demo's pictures in docs/graph (docs/graph.md) with playbooks/graph.yml: the model only,
# so no lab is needed. tests/unit/test_graph.py fails when the committed .dot/.mmd are stale.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" ANSIBLE_CONFIG="$PWD/ansible.cfg"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
ANSIBLE_STDOUT_CALLBACK=minimal ansible-playbook -i examples/model playbooks/graph.yml -e "graph_dir=$out" >/dev/null
mkdir -p docs/graph
for f in topology.dot topology.mmd topology.svg zones.dot zones.mmd zones.svg; do
    cp "$out/$f" "docs/graph/demo-$f"
done
echo "graph_docs: docs/graph/demo-{topology,zones}.{dot,mmd,svg}"
