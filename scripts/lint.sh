#!/usr/bin/env bash
# ansible-lint, production profile, over roles, playbooks and molecule.
set -euo pipefail
cd "$(dirname "$0")/.."
targets=()
for d in roles playbooks molecule; do
    if find "$d" -name '*.yml' -print -quit 2>/dev/null | grep -q .; then targets+=("$d"); fi
done
if [ ${#targets[@]} -eq 0 ]; then
    echo "lint: no roles, playbooks or molecule scenarios yet: nothing to lint"
    exit 0
fi
exec .venv/bin/ansible-lint --profile production --offline "${targets[@]}"
