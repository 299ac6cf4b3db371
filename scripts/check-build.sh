#!/usr/bin/env bash
# The built collection holds the collection and nothing of the working tree's state.
set -euo pipefail
tarball=$1
entries=$(tar -tzf "$tarball")
bad=$(grep -E '(^|/)(\.venv|\.lab[^/]*|\.build|\.git|__pycache__|\.pytest_cache|\.hypothesis)(/|$)' <<<"$entries" || true)
if [ -n "$bad" ]; then
    echo "build: $tarball contains files it must not:"; head -20 <<<"$bad"; exit 1
fi
for f in MANIFEST.json FILES.json README.md meta/runtime.yml plugins/module_utils/_errors.py \
         plugins/module_utils/_names.py plugins/plugin_utils/model/__init__.py; do
    grep -qx "$f" <<<"$entries" || { echo "build: $tarball lacks $f"; exit 1; }
done
echo "build: $tarball ok ($(wc -l <<<"$entries") entries)"
