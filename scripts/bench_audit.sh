#!/usr/bin/env bash
# The audit's stability on a healthy lab: run the spec suite N times in a row (default 50) against
# the lab (make demo leaves it converged) and count the runs with any failed check. Not a test and
# not in CI: an audit that cries wolf once in twenty runs gets ignored, so this must print 0 failed.
#   scripts/bench_audit.sh [RUNS]        (after `make demo`; NETWIRE_LAB_INSTANCE picks the lab)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" ANSIBLE_CONFIG="$PWD/ansible.cfg" PYTHONDONTWRITEBYTECODE=1
runs=${1:-50}
lab_dir=$(python -c "from tests.lab.core import state_dir; print(state_dir())")
model=${NETWIRE_AUDIT_MODEL:-examples/model}
out=$(mktemp -d /tmp/netwire-audit-loop.XXXXXX)
failed=0
started=$(date +%s)
for i in $(seq 1 "$runs"); do
    t0=$(date +%s%N)
    if python -m pytest --hosts=ansible://all --ansible-inventory="$lab_dir/inventory.ini" \
            --ansible-inventory="$model" -q -rfE tests/spec >"$out/run-$i.log" 2>&1; then
        status=ok
    else
        status=FAILED; failed=$((failed + 1))
        grep -E '^(FAILED|ERROR)' "$out/run-$i.log" | sed 's/^/    /' || true
    fi
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    printf 'run %2d/%d: %s (%d.%03d s, load %s)\n' "$i" "$runs" "$status" $((ms / 1000)) $((ms % 1000)) \
        "$(cut -d' ' -f1 /proc/loadavg)"
done
echo "audit loop: $((runs - failed)) passed, $failed failed in $(( $(date +%s) - started )) s (logs: $out)"
[ "$failed" -eq 0 ]
