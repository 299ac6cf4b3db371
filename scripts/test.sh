#!/usr/bin/env bash
# Every test of the collection, cheap to expensive; non-zero if any stage fails.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
export PATH="$PWD/.venv/bin:$PATH" ANSIBLE_CONFIG="$PWD/ansible.cfg"
reports=.build/reports
rm -rf "$reports"; mkdir -p "$reports"
failed=()
started=$(date +%s)

stage() {  # stage NAME COMMAND...
    local name=$1; shift
    local t0
    t0=$(date +%s)
    echo "==> $name"
    if "$@"; then
        echo "<== $name: ok ($(( $(date +%s) - t0 ))s)"
    else
        echo "<== $name: FAILED ($(( $(date +%s) - t0 ))s)"
        failed+=("$name")
    fi
}

# A lab left running by `make demo` would stand in the way of the lifecycle test.
if .venv/bin/python -m tests.lab status >/dev/null 2>&1; then
    echo "test: taking down the lab left running (make demo / lab-up) first"
    .venv/bin/python -m tests.lab down
fi

# Stages run in the background write their output to a log, printed whole when they end.
bg_stage() {  # bg_stage NAME COMMAND...  (sets the pid in bg_pids[NAME])
    local name=$1; shift
    ( stage "$name" "$@" >"$reports/$name.log" 2>&1; grep -q "^<== $name: ok" "$reports/$name.log" ) &
    bg_pids[$name]=$!
}
declare -A bg_pids

# The lifecycle test compares the machine before and after a lab of its own: alone, first.
stage lifecycle   pytest -q -p no:cacheprovider tests/lifecycle --junitxml=$reports/lifecycle.xml
# The unit tests share nothing with the labs: in the background, where they fill the CPU the
# labs' bring-up leaves idle (run first and alone, they kept the two cores half busy for 48 s).
bg_stage unit     pytest -q -p no:cacheprovider -n 2 tests/unit --junitxml=$reports/unit.xml
# Three pytest-xdist workers, each with a lab of its own (instances 1-3, tests/lab/pytest_plugin.py);
# whole files go to one worker (--dist loadfile), as their module fixtures share a deployment, the
# longest files first (tests/integration/conftest.py; --no-loadscope-reorder keeps that order: xdist
# would otherwise hand out the files with the most tests first). Meanwhile, in the background: sanity,
# lint and the build (no lab), and molecule (lab instance 0, the example's own container names).
bg_stage static   bash -c 'scripts/sanity.sh && scripts/lint.sh && make -s build'
if [ -f molecule/default/molecule.yml ]; then
    bg_stage molecule scripts/molecule.sh
fi
# (test_evpn's host4 test needs a lab of 4 hosts: run it with LAB_HOSTS=4 NETWIRE_LAB_INSTANCE=4 pytest
# tests/integration/test_evpn.py; as a fourth lab beside the workers it put CI past 30 minutes.)
stage integration pytest -q -p no:cacheprovider -n "${NETWIRE_TEST_WORKERS:-3}" --dist loadfile --no-loadscope-reorder tests/integration \
                  --junitxml=$reports/integration.xml
for name in "${!bg_pids[@]}"; do
    wait "${bg_pids[$name]}" || failed+=("$name")
    cat "$reports/$name.log"
done

.venv/bin/python - "$reports" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
tot = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
for path in sorted(glob.glob(sys.argv[1] + "/*.xml")):
    root = ET.parse(path).getroot()
    for suite in (root.iter("testsuite")):
        for k in tot:
            tot[k] += int(suite.get(k, 0))
bad = tot["failures"] + tot["errors"]
print("pytest total: %d passed, %d failed, %d skipped" % (tot["tests"] - bad - tot["skipped"], bad, tot["skipped"]))
PY
echo "test: $(( $(date +%s) - started ))s in all"
if [ ${#failed[@]} -gt 0 ]; then
    echo "test: FAILED stages: ${failed[*]}"
    exit 1
fi
echo "test: all stages passed"
